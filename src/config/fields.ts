/**
 * Field validators shared by the file and the environment inputs. Each takes the raw value and a Reporter,
 * reports what is wrong (naming what is allowed) and returns the normalized value, or undefined.
 */
import type { Reporter } from './problems.ts';
import { parseAddress, parseCidr, unusableUnicast } from './net.ts';

export const MAX_ASN = 4294967295;
const SAFE_TEXT = /^[\x21-\x7e]+$/;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${value}`;
  return typeof value;
}

/** An integer in [min, max]. Strings are rejected: the CRDs declare integers and the API server rejects strings. */
export function integer(value: unknown, r: Reporter, min: number, max: number, what: string): number | undefined {
  if (typeof value !== 'number') {
    const hint = typeof value === 'string' && /^\d+$/.test(value) ? ` (write ${value} without quotes: the resource declares a number)` : '';
    r.error(`must be ${what}, an integer ${min}..${max}; got ${describe(value)}${hint}`);
    return undefined;
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    r.error(`must be ${what}, an integer ${min}..${max}; got ${String(value)}`);
    return undefined;
  }
  return value;
}

export function asn(value: unknown, r: Reporter): number | undefined {
  if (typeof value === 'string') {
    const dot = /^(\d+)\.(\d+)$/.exec(value);
    if (dot) {
      const plain = Number(dot[1]) * 65536 + Number(dot[2]);
      r.error(`asdot notation ${JSON.stringify(value)} is not accepted (the resource declares uint32): write the asplain number ${plain}`);
      return undefined;
    }
  }
  return integer(value, r, 1, MAX_ASN, 'an AS number');
}

export function boolean(value: unknown, r: Reporter): boolean | undefined {
  if (typeof value !== 'boolean') {
    r.error(`must be true or false; got ${describe(value)}`);
    return undefined;
  }
  return value;
}

/** A string of printable non-space ASCII: nothing that could end, quote or comment an FRR config line. */
export function safeWord(value: unknown, r: Reporter, what: string, maxLength: number): string | undefined {
  if (typeof value !== 'string') {
    r.error(`must be ${what} (a string); got ${describe(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    r.error(`must not be empty`);
    return undefined;
  }
  if (value.length > maxLength) {
    r.error(`is ${value.length} characters long; at most ${maxLength} are allowed`);
    return undefined;
  }
  if (!SAFE_TEXT.test(value)) {
    r.error(`must be one word of printable ASCII: no spaces, newlines, control or non-ASCII characters`);
    return undefined;
  }
  return value;
}

/** FRR's `neighbor X password WORD`: one word, at most 80 characters, no quotes. */
export function password(value: unknown, r: Reporter): string | undefined {
  if (typeof value !== 'string') {
    // Never echoed, whatever its type: `password: 12345678` is a number in YAML, and still a secret.
    const kind = value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
    r.error(`must be a string (quote it: password: "..."); got ${kind} (the value is not shown)`);
    return undefined;
  }
  const word = safeWord(value, r, 'a password', 80);
  if (word === undefined) return undefined;
  if (/["']/.test(word)) {
    r.error(`must not contain quotes (FRR takes the password as one unquoted word)`);
    return undefined;
  }
  return word;
}

export function address(
  value: unknown,
  r: Reporter,
  what: string,
  family?: 4 | 6,
): { family: 4 | 6; canonical: string; bytes: number[] } | undefined {
  if (typeof value !== 'string') {
    r.error(`must be ${what} (a string); got ${describe(value)}`);
    return undefined;
  }
  const parsed = parseAddress(value.trim() === value ? value : '\0');
  if (typeof parsed === 'string') {
    r.error(`${JSON.stringify(value.slice(0, 60))} is not a valid ${what}: ${parsed}`);
    return undefined;
  }
  if (family !== undefined && parsed.family !== family) {
    r.error(`${JSON.stringify(value)} must be an IPv${family} address`);
    return undefined;
  }
  const bad = unusableUnicast(parsed);
  if (bad) {
    r.error(`${JSON.stringify(value)}: ${bad}`);
    return undefined;
  }
  return parsed;
}

export function cidr(value: unknown, r: Reporter): Exclude<ReturnType<typeof parseCidr>, string> | undefined {
  if (typeof value !== 'string') {
    r.error(`must be a CIDR string like 10.17.0.0/16; got ${describe(value)}`);
    return undefined;
  }
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') {
    r.error(`${JSON.stringify(value.slice(0, 60))} is not a valid CIDR: ${parsed}`);
    return undefined;
  }
  return parsed;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * A Kubernetes duration (Go's time.ParseDuration: `90s`, `1m30s`, `1.5m`, `500ms`) converted to whole seconds.
 * FRR's timers take whole seconds, so anything that is not a whole number of seconds is an error.
 */
export function duration(value: unknown, r: Reporter, min: number, max: number, extra = ''): number | undefined {
  if (typeof value !== 'string') {
    r.error(`must be a duration string like "90s" or "1m30s"; got ${describe(value)}`);
    return undefined;
  }
  const text = value;
  if (text.startsWith('-')) {
    r.error(`${JSON.stringify(text)}: a negative duration is not allowed`);
    return undefined;
  }
  let ns = 0;
  if (text === '0') ns = 0;
  else {
    const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
    let pos = text.startsWith('+') ? 1 : 0;
    if (pos === text.length) pos = -1;
    while (pos >= 0 && pos < text.length) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m?.[1] || !m[2]) {
        pos = -1;
        break;
      }
      ns += Number(m[1]) * (UNIT_NS[m[2]] ?? NaN);
      pos = re.lastIndex;
    }
    if (pos < 0 || !Number.isFinite(ns)) {
      r.error(`${JSON.stringify(text.slice(0, 40))} is not a duration: use a number with a unit (h, m, s, ms), e.g. "90s" or "1m30s"`);
      return undefined;
    }
  }
  const seconds = ns / 1e9;
  if (Math.abs(seconds - Math.round(seconds)) > 1e-9) {
    r.error(`${JSON.stringify(text)} is ${seconds} s: FRR takes whole seconds`);
    return undefined;
  }
  const s = Math.round(seconds);
  if (s < min || s > max) {
    r.error(`${JSON.stringify(text)} is ${s} s; allowed: ${extra || `${min}..${max} s`}`);
    return undefined;
  }
  return s;
}

/**
 * A BGP extended-community route target, as FRR's `route-target import|export` takes it:
 * `ASN2:NN32` (ASN 1..65535), `ASN4:NN16` (ASN 65536..4294967295) or `IPv4:NN16`.
 */
export function routeTarget(value: unknown, r: Reporter): string | undefined {
  if (typeof value !== 'string') {
    r.error(`must be a route target string like "65000:1016"; got ${describe(value)}`);
    return undefined;
  }
  const allowed = 'allowed: ASN2:NN32 (e.g. 65000:1016), ASN4:NN16 (e.g. 4200000000:100) or IPv4:NN16 (e.g. 10.0.1.13:100)';
  const m = /^([^:]+):(\d+)$/.exec(value);
  if (!m?.[1] || !m[2] || m[2].length > 10) {
    r.error(`${JSON.stringify(value.slice(0, 60))} is not a route target; ${allowed}`);
    return undefined;
  }
  const [, admin, numText] = m;
  const nn = Number(numText);
  if (/^\d+$/.test(admin)) {
    const as = Number(admin);
    if (admin.length > 10 || as < 1 || as > MAX_ASN) {
      r.error(`${JSON.stringify(value)}: the AS number must be 1..4294967295; ${allowed}`);
      return undefined;
    }
    const limit = as <= 65535 ? MAX_ASN : 65535;
    if (nn > limit) {
      r.error(
        `${JSON.stringify(value)}: with ${as <= 65535 ? 'a 2-byte' : 'a 4-byte'} AS number the local part must be 0..${limit}; ${allowed}`,
      );
      return undefined;
    }
    return `${as}:${nn}`;
  }
  const ip = parseAddress(admin);
  if (typeof ip === 'string' || ip.family !== 4) {
    r.error(`${JSON.stringify(value.slice(0, 60))}: the part before ':' must be an AS number or an IPv4 address; ${allowed}`);
    return undefined;
  }
  if (nn > 65535) {
    r.error(`${JSON.stringify(value)}: with an IPv4 address the local part must be 0..65535; ${allowed}`);
    return undefined;
  }
  return `${ip.canonical}:${nn}`;
}

/** A Linux interface (or VRF) name: 1..15 characters of [A-Za-z0-9_.-], not `.` or `..`, not starting with `-`. */
export function interfaceName(value: unknown, r: Reporter): string | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(value) || value === '.' || value === '..') {
    r.error(`must be a Linux interface name: 1..15 characters of letters, digits, '_', '.', '-'; got ${describe(value)}`);
    return undefined;
  }
  if (value.startsWith('-')) {
    r.error(`must not start with '-' (ip and bridge would read it as an option); got ${describe(value)}`);
    return undefined;
  }
  return value;
}

export function stringList(value: unknown, r: Reporter, what: string, max: number): unknown[] | undefined {
  if (!Array.isArray(value)) {
    r.error(`must be a list of ${what}; got ${describe(value)}`);
    return undefined;
  }
  if (value.length > max) {
    r.error(`has ${value.length} entries; at most ${max} are allowed`);
    return undefined;
  }
  return value as unknown[];
}

/** A mapping (plain object), or undefined after reporting. */
export function mapping(value: unknown, r: Reporter): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    r.error(`must be a mapping; got ${describe(value)}`);
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** Warns about keys that are not in `known` (a newer controller may add fields; they are ignored). */
export function warnUnknown(obj: Record<string, unknown>, known: readonly string[], r: Reporter): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) r.at(key).warn(`unknown field, ignored (known: ${known.join(', ')})`);
  }
}
