/**
 * Value generators for the config fuzzer: valid values (with their canonical form, computed here independently
 * of src/config/net.ts) and hostile ones (injection payloads, unicode lookalikes, numeric edge cases).
 */
import { isIPv6 } from 'node:net';
import type { Rng } from './rng.ts';

// ---------------------------------------------------------------------------------------------------------------
// Addresses

export interface Addr {
  family: 4 | 6;
  bytes: number[];
}

export const addrKey = (a: Addr): string => `${a.family}/${a.bytes.join('.')}`;

/** A marker address/ASN used only by injection payloads: the valid generators never produce them. */
export const MARK_ADDR = '198.51.100.66';
export const MARK_ASN = 64666;

function groupsOf(bytes: readonly number[]): number[] {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return g;
}

/** Zero runs as [start, length], in order. */
function zeroRuns(g: readonly number[], limit = g.length): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < limit;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < limit && g[j] === 0) j++;
    runs.push([i, j - i]);
    i = j;
  }
  return runs;
}

/** RFC 5952: lowercase, no leading zeros, the first longest run of >= 2 zero groups compressed. */
export function canonical(a: Addr): string {
  if (a.family === 4) return a.bytes.join('.');
  const g = groupsOf(a.bytes);
  let best: [number, number] | undefined;
  for (const r of zeroRuns(g)) if (r[1] >= 2 && (!best || r[1] > best[1])) best = r;
  const hex = g.map((x) => x.toString(16));
  if (!best) return hex.join(':');
  return `${hex.slice(0, best[0]).join(':')}::${hex.slice(best[0] + best[1]).join(':')}`;
}

/** A usable unicast IPv4 address (what a neighbour or router id may be). */
export function randomV4(rng: Rng): Addr {
  for (;;) {
    const first = rng.pick([10, 10, 172, 192, rng.int(1, 223)]);
    if (first === 127) continue;
    const bytes = [first, rng.int(0, 255), rng.int(0, 255), rng.int(1, 254)];
    if (bytes.join('.') === MARK_ADDR) continue;
    return { family: 4, bytes };
  }
}

/** A usable global IPv6 address (not ::, ::1, multicast or link-local). */
export function randomV6(rng: Rng): Addr {
  const kind = rng.int(0, 9);
  const bytes = new Array<number>(16).fill(0);
  if (kind === 0) {
    // IPv4-mapped
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    randomV4(rng).bytes.forEach((b, i) => (bytes[12 + i] = b));
    return { family: 6, bytes };
  }
  const first = rng.pick([0x2001, 0xfd00 | rng.int(0, 255), rng.int(0x2000, 0x3fff), 0x64]);
  const g = [first];
  for (let i = 1; i < 8; i++) g.push(rng.chance(0.5) ? 0 : rng.chance(0.5) ? rng.int(1, 15) : rng.int(0, 0xffff));
  if (g.slice(1).every((x) => x === 0)) g[7] = rng.int(1, 0xffff);
  g.forEach((x, i) => {
    bytes[2 * i] = x >> 8;
    bytes[2 * i + 1] = x & 0xff;
  });
  return { family: 6, bytes };
}

export const randomAddr = (rng: Rng, p6 = 0.3): Addr => (rng.chance(p6) ? randomV6(rng) : randomV4(rng));

/** Some valid textual form of an IPv6 address: compressed anywhere or not, padded, uppercase, IPv4 tail. */
export function v6Text(rng: Rng, bytes: readonly number[]): string {
  const g = groupsOf(bytes);
  const upper = rng.chance(0.15);
  const pad = rng.chance(0.15);
  const v4tail = rng.chance(0.1);
  const n = v4tail ? 6 : 8;
  const parts = g.slice(0, n).map((x) => {
    let s = x.toString(16);
    if (pad) s = s.padStart(4, '0');
    return upper ? s.toUpperCase() : s;
  });
  const tail = v4tail ? bytes.slice(12).join('.') : undefined;
  const runs = zeroRuns(g, n);
  let text: string;
  if (runs.length > 0 && rng.chance(0.85)) {
    const longest = runs.reduce((a, b) => (b[1] > a[1] ? b : a));
    const [start, len] = rng.chance(0.6) ? longest : rng.pick(runs);
    const left = parts.slice(0, start).join(':');
    const right = parts.slice(start + len);
    if (tail) right.push(tail);
    text = `${left}::${right.join(':')}`;
  } else text = tail ? [...parts, tail].join(':') : parts.join(':');
  return isIPv6(text) ? text : canonical({ family: 6, bytes: [...bytes] });
}

export function addrText(rng: Rng, a: Addr): string {
  return a.family === 4 ? a.bytes.join('.') : v6Text(rng, a.bytes);
}

export interface Cidr {
  family: 4 | 6;
  bytes: number[];
  length: number;
}

export function randomCidr(rng: Rng, p6 = 0.3): Cidr {
  const family: 4 | 6 = rng.chance(p6) ? 6 : 4;
  const max = family === 4 ? 32 : 128;
  const length = rng.chance(0.1) ? rng.pick([0, max]) : rng.int(family === 4 ? 8 : 32, family === 4 ? 30 : 64);
  const raw = family === 4 ? [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)] : randomV6(rng).bytes;
  const bytes = raw.map((b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, length - i * 8)))) & 0xff));
  return { family, bytes, length };
}

export const cidrCanonical = (c: Cidr): string => `${canonical(c)}/${c.length}`;
export const cidrText = (rng: Rng, c: Cidr): string => `${addrText(rng, c)}/${c.length}`;

// ---------------------------------------------------------------------------------------------------------------
// Other valid values

export function randomAsn(rng: Rng): number {
  return rng.weighted<() => number>([
    [3, () => rng.int(64512, 65534)],
    [2, () => rng.int(1, 64511)],
    [2, () => rng.int(4200000000, 4294967294)],
    [1, () => rng.int(65536, 4199999999)],
    [1, () => rng.pick([1, 23456, 65535, 65536, 4294967295])],
  ])();
}

/** Whole seconds as one of the duration spellings the validator must accept (Go time.ParseDuration). */
export function durationText(rng: Rng, s: number): string {
  const forms: string[] = [`${s}s`, `${s * 1000}ms`];
  if (s === 0) forms.push('0', '0s', '0h', '0ms');
  if (s % 60 === 0) forms.push(`${s / 60}m`);
  if (s % 3600 === 0) forms.push(`${s / 3600}h`);
  if (s % 30 === 0 && s % 60 !== 0) forms.push(`${(s - 30) / 60}.5m`);
  if (s >= 60) forms.push(`${Math.floor(s / 60)}m${s % 60}s`);
  if (s >= 3600) forms.push(`${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m${s % 60}s`);
  forms.push(`${s * 1e9}ns`, `${s * 1e6}us`, `${s * 1e6}µs`, `+${s}s`, `${s}.0s`, `${s}.s`);
  return rng.pick(forms);
}

/** A route target in some accepted spelling, and its canonical form. */
export function randomRouteTarget(rng: Rng): { text: string; canonical: string } {
  const kind = rng.int(0, 2);
  const padTo = (s: string): string => (rng.chance(0.1) && s.length < 10 ? s.padStart(rng.int(s.length, 10), '0') : s);
  if (kind === 0) {
    const as = rng.chance(0.5) ? rng.int(64512, 65535) : rng.int(1, 65535);
    const nn = rng.chance(0.2) ? rng.pick([0, 4294967295]) : rng.int(0, 100000);
    return { text: `${padTo(String(as))}:${padTo(String(nn))}`, canonical: `${as}:${nn}` };
  }
  if (kind === 1) {
    const as = rng.int(65536, 4294967295);
    const nn = rng.int(0, 65535);
    return { text: `${as}:${padTo(String(nn))}`, canonical: `${as}:${nn}` };
  }
  const ip = rng.chance(0.9) ? randomV4(rng).bytes.join('.') : rng.pick(['0.0.0.0', '255.255.255.255', '127.0.0.1']);
  const nn = rng.int(0, 65535);
  return { text: `${ip}:${padTo(String(nn))}`, canonical: `${ip}:${nn}` };
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';

export function randomIfName(rng: Rng, exclude: readonly string[] = []): string {
  if (rng.chance(0.3))
    return rng.pick(
      [
        'net1',
        'eth0',
        'eth1',
        'vrf-vpn',
        'br-vpn',
        'vxlan-vpn',
        'vrf-tenant',
        'ovn0',
        'bond0.100',
        'a',
        'a-',
        '_',
        '...',
        'exit',
        'end',
        'vrf',
        'default',
        'x'.repeat(15),
        '0',
        '1.2.3.4',
      ].filter((n) => !exclude.includes(n)),
    );
  for (;;) {
    const n = rng.int(1, 15);
    let s = '';
    for (let i = 0; i < n; i++) s += NAME_CHARS[rng.int(0, NAME_CHARS.length - 1)];
    // a leading '-' is rejected (ip would read the name as an option)
    if (s !== '.' && s !== '..' && !s.startsWith('-') && !exclude.includes(s)) return s;
  }
}

/** FRR's password: one word of printable ASCII without quotes, 1..80 characters (shell metacharacters allowed). */
export const PASSWORD_RE = /^[\x21\x23-\x26\x28-\x7e]{1,80}$/;

export function randomPassword(rng: Rng): string {
  if (rng.chance(0.2))
    return rng.pick([
      'S3cr3t!pw#from-Secret',
      '!',
      '#',
      '#not-a-comment',
      '!not-a-comment',
      '$(reboot)',
      '`id`',
      ';|&<>*?~',
      '\\',
      '\\n',
      'a\\',
      '%s%n',
      '{{routerId}}',
      'x'.repeat(80),
      'end',
      'exit',
    ]);
  const n = rng.chance(0.1) ? 80 : rng.int(1, 24);
  let s = '';
  for (let i = 0; i < n; i++) {
    let c = rng.int(0x21, 0x7e);
    while (c === 0x22 || c === 0x27) c = rng.int(0x21, 0x7e);
    s += String.fromCharCode(c);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

/** Payloads that would add, end or comment out a config line, or break quoting, if they reached the output. */
export const INJECTIONS: readonly string[] = [
  `\n neighbor ${MARK_ADDR} remote-as ${MARK_ASN}`,
  `\nrouter bgp ${MARK_ASN}\n neighbor ${MARK_ADDR} remote-as ${MARK_ASN}`,
  '\nline vty\n no login',
  '\r\n!\nend\nconfigure terminal',
  '\r',
  '\n',
  '\r\n',
  '\n!',
  '\nexit',
  '\u2028',
  '\u2029',
  '\u0085',
  '\v',
  '\f',
  '\t',
  ' ',
  `  ${MARK_ADDR}`,
  ' activate',
  '!',
  '#',
  ' ! INJECTED',
  ' # INJECTED',
  '"',
  "'",
  '\\',
  '\\n',
  '\\"',
  '`reboot`',
  '$(reboot)',
  '${IFS}reboot',
  '; reboot',
  '|reboot',
  '&&reboot',
  '>/etc/frr/frr.conf',
  '{{routerId}}',
  '}}',
  '\0',
  '\x1b[31m',
  '\x07',
  '\x08',
  '\x7f',
  '\u009b',
  ',',
  '%n',
  '/24',
  '%eth0',
];

export const UNICODE: readonly string[] = [
  '\u202e', // RTL override
  '\u200f', // RTL mark
  '\u200b', // zero-width space
  '\u200d', // zero-width joiner
  '\u2060', // word joiner
  '\ufeff', // BOM / ZWNBSP
  '\u00a0', // NBSP
  '\u3000',
  '😀',
  '👨‍👩‍👧',
  '\u0301', // combining acute
  '\ud800', // lone surrogate
  '\udfff',
  '\u{10ffff}',
  'é',
  'ß',
  'İ',
  '\ufffd',
];

/** Unicode characters that look like ASCII ones the validators accept. */
const LOOKALIKES: Record<string, readonly string[]> = {
  digit: ['０', '１', '٥', '۵', '५', '৫', '𝟓', '⁵', '₅', '①', '\u0665', 'Ⅴ'],
  '.': ['․', '。', '．', '٫', '·', '\u2024'],
  ':': ['∶', '：', 'ː', '\ua789'],
  '-': ['‐', '‑', '−', '–', '﹣'],
  letter: ['а', 'е', 'о', 'р', 'с', 'х', 'ѕ', 'і', 'Α', 'Ε', 'Ο', 'ο', 'ν', 'ⅰ', 'ｆ', 'ｄ'],
  '/': ['⁄', '∕', '／'],
};

/** Replaces one character of `s` by a lookalike, or inserts an invisible/bidi character. */
export function lookalike(rng: Rng, s: string): string {
  if (s.length === 0 || rng.chance(0.3)) {
    const at = rng.int(0, s.length);
    return s.slice(0, at) + rng.pick(UNICODE) + s.slice(at);
  }
  for (let tries = 0; tries < 8; tries++) {
    const at = rng.int(0, s.length - 1);
    const ch = s[at]!;
    const key = /\d/.test(ch) ? 'digit' : /[a-zA-Z]/.test(ch) ? 'letter' : ch;
    const pool = LOOKALIKES[key];
    if (pool) return s.slice(0, at) + rng.pick(pool) + s.slice(at + 1);
  }
  return s + rng.pick(UNICODE);
}

export const NUMERIC_STRINGS: readonly string[] = [
  '65002',
  ' 65002',
  '65002 ',
  '65002\n',
  '+65002',
  '-0',
  '0',
  '-1',
  '1e400',
  '-1e400',
  '18446744073709551616',
  '0x10',
  '0xFDEA',
  '0o17',
  '017',
  '1_000',
  'NaN',
  'nan',
  '.nan',
  'Infinity',
  '-Infinity',
  '.inf',
  '1.10',
  '65535.65535',
  '65536.1',
  '4294967296',
  '9007199254740993',
  '1e3',
  '6.5002e4',
  '65002.0',
  '',
  ' ',
  'null',
  'true',
  '٦٥٠٠٢',
  '６５００２',
  '65002\u200b',
];

/** A hostile string: a payload alone, around a plausible value, long, or random characters. */
export function nastyString(rng: Rng, base?: string): string {
  const plausible = base ?? rng.pick(['10.0.1.1', 'fd00::1', '65000:1016', 'net1', '90s', 'kernel', '10.17.0.0/16', 'pw', '65002']);
  return rng.weighted<() => string>([
    [
      6,
      () => {
        const p = rng.chance(0.75) ? rng.pick(INJECTIONS) : rng.pick(UNICODE);
        const where = rng.int(0, 3);
        if (where === 0) return p;
        if (where === 1) return plausible + p;
        if (where === 2) return p + plausible;
        const at = rng.int(0, plausible.length);
        return plausible.slice(0, at) + p + plausible.slice(at);
      },
    ],
    [2, () => lookalike(rng, plausible)],
    [2, () => rng.pick(NUMERIC_STRINGS)],
    [1, () => plausible.repeat(rng.int(2, 40))],
    [1, () => (rng.chance(0.9) ? 'x'.repeat(rng.int(81, 5000)) : rng.pick(['a', '9', ':', '.']).repeat(rng.int(5000, 200000)))],
    [
      2,
      () => {
        let s = '';
        const n = rng.int(0, 30);
        for (let i = 0; i < n; i++) {
          s += rng.weighted<() => string>([
            [6, () => String.fromCharCode(rng.int(0x20, 0x7e))],
            [1, () => String.fromCharCode(rng.int(0, 0x1f))],
            [1, () => String.fromCodePoint(rng.int(0x80, 0x2fff))],
            [1, () => rng.pick(UNICODE)],
          ])();
        }
        return s;
      },
    ],
  ])();
}

export const NASTY_NUMBERS: readonly number[] = [
  0,
  -1,
  -0,
  0.5,
  1.5,
  65002.5,
  2 ** 53 + 2,
  2 ** 64,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  NaN,
  Infinity,
  -Infinity,
  4294967296,
  4294967295,
  65535,
  65536,
  16777215,
  16777216,
  252,
  253,
  254,
  255,
  67,
  68,
  1,
  2,
  3,
  21846,
  65536 * 3,
];

/** Any hostile JSON-ish value: wrong types, edge numbers, nasty strings, small nested structures. */
export function nastyValue(rng: Rng, depth = 2, base?: string): unknown {
  return rng.weighted<() => unknown>([
    [8, () => nastyString(rng, base)],
    [4, () => rng.pick(NASTY_NUMBERS)],
    [1, () => rng.chance(0.5)],
    [1, () => null],
    [1, () => []],
    [1, () => ({})],
    [2, () => (depth > 0 ? Array.from({ length: rng.int(1, 4) }, () => nastyValue(rng, depth - 1, base)) : 'leaf')],
    [1, () => (depth > 0 ? { [nastyKey(rng)]: nastyValue(rng, depth - 1, base) } : 'leaf')],
  ])();
}

/** A mapping key: a known field name, something prototype-ish, or hostile text. */
export function nastyKey(rng: Rng): string {
  return rng.weighted<() => string>([
    [
      3,
      () =>
        rng.pick([
          'localASN',
          'peerASN',
          'routerId',
          'neighbours',
          'password',
          'holdTime',
          'vni',
          'routeTargets',
          'advertise',
          'vrf',
          'spec',
          'kind',
          'apiVersion',
          'neighbors',
          'LocalASN',
          'localAsn',
        ]),
    ],
    [
      2,
      () => rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '0', '-1', 'null', '<<']),
    ],
    [3, () => nastyString(rng, 'bfd')],
  ])();
}

/** Bytes that are not valid UTF-8 (or are, but with NULs). */
export function badBytes(rng: Rng): Uint8Array {
  const pool = [
    [0xff],
    [0xfe],
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0x80],
    [0xe2, 0x82],
    [0x00],
    [0xef, 0xbb, 0xbf],
  ];
  const out: number[] = [];
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) out.push(...rng.pick(pool));
  return Uint8Array.from(out);
}
