/**
 * What every parser of FRR's `show ... json` output shares (src/state/bgp.ts, evpn.ts, zebra.ts): the error type,
 * the JSON helpers and the conventions below. The parsers turn FRR's outputs (FRR 8.4.4, 10.3 and 10.7.1, all tested)
 * into clean, typed structures. Pure functions, no I/O: the caller asks FRR (over a daemon's vty socket, or vtysh)
 * and hands the text in.
 *
 * Every FRR quirk the supervisor has to know about is handled in these modules, next to a comment naming it, so
 * that the rest of the code never sees `"n/a"`, numbers printed as strings, the 8.4 remote-VTEP array in
 * `numRemoteVteps`, empty output instead of `{}`, or the three shapes of `show bgp ... summary json`.
 *
 * Conventions shared by all parsers:
 * - Empty or whitespace-only text means "nothing" (an empty list / 0). FRR 8.4 really prints nothing for
 *   `show evpn vni json` when no VNI exists (or EVPN is off; 10.3 prints `{}`). Whether the daemon answered at
 *   all is the caller's to know (a refused connection, vtysh's exit status), never guessed from the text.
 * - Text that is not JSON (e.g. `% Unknown command: ...`) or JSON of the wrong shape throws
 *   {@link FrrJsonError}, whose message names the command.
 * - Numbers are coerced: JSON numbers, or strings holding a decimal number, are taken; `"n/a"` and anything
 *   else become `null` (or 0 where the type says `number`). No parser ever returns NaN.
 * - Missing optional fields never throw.
 */

/** Output that is not JSON at all, or JSON of a shape the command never prints. */
export class FrrJsonError extends Error {
  /** The vtysh command whose output could not be parsed, e.g. `show bgp vrf all summary json`. */
  readonly command: string;

  constructor(command: string, message: string, options?: ErrorOptions) {
    super(`${command}: ${message}`, options);
    this.name = 'FrrJsonError';
    this.command = command;
  }
}

/**
 * Any string, with the listed literals kept for editor completion (a plain `| string` would swallow them,
 * and lint flags it as a redundant union).
 */
export type OpenString = string & Record<never, never>;

// ---------------------------------------------------------------------------------------------------------
// Helpers.

export type JsonObject = { [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the text; `undefined` for empty / whitespace-only output; FrrJsonError for anything not JSON. */
export function parseText(text: string, command: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch (err) {
    const firstLine = trimmed.split(/\r?\n/, 1)[0] ?? '';
    const shown = firstLine.length > 120 ? `${firstLine.slice(0, 120)}...` : firstLine;
    throw new FrrJsonError(command, `output is not JSON: ${JSON.stringify(shown)}`, { cause: err });
  }
}

/** Like parseText, but the top level must be an object (or empty output, returned as `{}`). */
export function parseObject(text: string, command: string): JsonObject {
  const value = parseText(text, command);
  if (value === undefined) return {};
  if (!isObject(value)) throw new FrrJsonError(command, `expected a JSON object, got ${describe(value)}`);
  return value;
}

export function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `a ${typeof v}`;
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * A finite number from a JSON number or a string holding one (FRR prints some numbers as strings);
 * null for `"n/a"`, booleans, objects, NaN, anything else.
 */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!DECIMAL.test(s)) return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export function num0(v: unknown): number {
  return toNumber(v) ?? 0;
}

export function optNumber(v: unknown): number | undefined {
  return toNumber(v) ?? undefined;
}

/**
 * An AS number: a number, a decimal string, or asdot `X.Y` (FRR >= 9.1 can print `asdot` notation as a
 * string; 8.4 prints plain numbers). 0 when unusable.
 */
export function toAsn(v: unknown): number {
  if (typeof v === 'string') {
    const m = /^(\d+)\.(\d+)$/.exec(v.trim());
    if (m) {
      const high = Number(m[1]);
      const low = Number(m[2]);
      if (high < 65536 && low < 65536) return high * 65536 + low;
    }
  }
  const n = toNumber(v);
  return n !== null && Number.isInteger(n) && n >= 0 ? n : 0;
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function firstStr(obj: JsonObject, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const s = str(obj[k]);
    if (s !== undefined) return s;
  }
  return undefined;
}
