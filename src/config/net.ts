/** IP address and prefix helpers: strict parsing (no zone ids, no CIDR where an address belongs) and canonical forms. */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

/** Parses an IPv4 or IPv6 address (no prefix length, no zone id); returns its family and canonical text. */
export function parseAddress(text: string): { family: Family; canonical: string; bytes: number[] } | string {
  if (text.includes('%')) return 'zone ids (%iface) are not allowed';
  if (text.includes('/')) return 'an address without a prefix length is expected (no CIDR)';
  if (isIPv4(text)) {
    const bytes = text.split('.').map(Number);
    if (text.split('.').some((o) => o.length > 1 && o.startsWith('0'))) return 'IPv4 octets must not have leading zeros';
    return { family: 4, canonical: bytes.join('.'), bytes };
  }
  if (isIPv6(text)) {
    const bytes = ipv6Bytes(text);
    return { family: 6, canonical: formatIPv6(bytes), bytes };
  }
  return 'not an IPv4 or IPv6 address';
}

function ipv6Bytes(text: string): number[] {
  let head = text;
  const tailV4: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    tailV4.push(...v4[1].split('.').map(Number));
    head = text.slice(0, -v4[1].length) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const l = parse(left);
  const r = right === undefined ? [] : parse(right);
  const groups = [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tailV4.length === 4) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

/** RFC 5952 text form (what FRR prints): lowercase, longest zero run (>= 2 groups) compressed. */
export function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Why an address cannot be a BGP neighbour or router id, or undefined when it can. */
export function unusableUnicast(addr: { family: Family; bytes: number[] }): string | undefined {
  const b = addr.bytes;
  if (addr.family === 4) {
    if (b.every((x) => x === 0)) return 'the unspecified address 0.0.0.0 is not usable';
    if (b[0] === 127) return 'a loopback address (127.0.0.0/8) is not usable';
    if ((b[0] ?? 0) >= 224 && (b[0] ?? 0) <= 239) return 'a multicast address is not usable';
    if ((b[0] ?? 0) >= 240) return 'a reserved or broadcast address (240.0.0.0/4) is not usable';
    return undefined;
  }
  if (b.every((x) => x === 0)) return 'the unspecified address :: is not usable';
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'the loopback address ::1 is not usable';
  if (b[0] === 0xff) return 'a multicast address is not usable';
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'a link-local address (fe80::/10) needs an interface; use a global address';
  return undefined;
}

/** Parses a CIDR; requires the canonical network address (no host bits set). */
export function parseCidr(text: string): { family: Family; canonical: string; bytes: number[]; length: number } | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m?.[1] || !m[2]) return 'a CIDR like 10.17.0.0/16 or fd00:10:17::/64 is expected';
  const addr = parseAddress(m[1]);
  if (typeof addr === 'string') return addr;
  const length = Number(m[2]);
  const max = addr.family === 4 ? 32 : 128;
  if (length > max || (m[2].length > 1 && m[2].startsWith('0'))) return `prefix length must be 0..${max}`;
  const masked = addr.bytes.map((byte, i) => {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    return byte & ((0xff << (8 - bits)) & 0xff);
  });
  const net = addr.family === 4 ? masked.join('.') : formatIPv6(masked);
  if (masked.some((x, i) => x !== addr.bytes[i])) return `host bits are set; the network is ${net}/${length}`;
  return { family: addr.family, canonical: `${net}/${length}`, bytes: masked, length };
}

/** Sort order of FRR's peer list and prefix tables: IPv4 before IPv6, then by address bytes (then length). */
export function compareAddresses(a: { family: Family; bytes: number[] }, b: { family: Family; bytes: number[] }): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = (a.bytes[i] ?? 0) - (b.bytes[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Sort order of CIDRs as FRR lists its `network` statements: by address ({@link compareAddresses}), then length. */
export function compareCidrs(
  a: { family: Family; bytes: number[]; length: number },
  b: { family: Family; bytes: number[]; length: number },
): number {
  return compareAddresses(a, b) || a.length - b.length;
}

/** A dotted IPv4 address as a 32-bit number (the caller has validated it). */
export function ipv4ToNumber(text: string): number {
  return text.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** A 32-bit number as a dotted IPv4 address. */
export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
}
