/**
 * Go's time.ParseDuration, exactly (go/src/time/format.go): `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with the units
 * ns, us, µs, μs, ms, s, m, h; `0` alone is the only unit-less value; more than 2^63-1 ns overflows. Kube-OVN's
 * controller writes its duration variables as `"%ds"` (90s) and its frr-render parses them with this function,
 * so the supervisor reads them with the same grammar (and the same error cases) rather than a look-alike.
 */

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX = 1n << 63n;

/** Nanoseconds (as Go's int64 Duration), or Go's error text. */
export function parseGoDuration(text: string): { ns: bigint } | { error: string } {
  const quoted = JSON.stringify(text);
  const invalid = { error: `invalid duration ${quoted}` };
  let s = text;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ns: 0n };
  if (s === '') return invalid;
  let d = 0n;
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) return invalid;
    // [0-9]*
    let i = 0;
    let v = 0n;
    while (isDigit(s[i])) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > MAX) return invalid; // leadingInt: overflow
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // (\.[0-9]*)?  leadingFraction: digits past int64 precision are consumed and ignored
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
          if (y > MAX) overflow = true;
          else {
            f = y;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) return invalid;
    // the unit: everything up to the next digit or dot
    let k = 0;
    while (k < s.length && !(s[k] === '.' || isDigit(s[k]))) k++;
    if (k === 0) return { error: `missing unit in duration ${quoted}` };
    const u = s.slice(0, k);
    s = s.slice(k);
    const unit = UNIT_NS[u];
    if (unit === undefined) return { error: `unknown unit ${JSON.stringify(u)} in duration ${quoted}` };
    if (v > MAX / unit) return invalid;
    v *= unit;
    if (f > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)), a float computation truncated to an integer
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > MAX) return invalid;
    }
    d += v;
    if (d > MAX) return invalid;
  }
  if (neg) return { ns: -d };
  if (d > MAX - 1n) return invalid;
  return { ns: d };
}

/** Go's `int64(d.Seconds())`: the seconds of a duration, truncated toward zero (Kube-OVN's frr-render does this). */
export const truncatedSeconds = (ns: bigint): number => Number(ns / 1_000_000_000n);
