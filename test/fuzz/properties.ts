/**
 * The properties every fuzz case must have, checked on one loadConfig outcome:
 *   no-crash     loadConfig resolves (and, for isolated cases, the process survives)
 *   time         loadConfig (+ rendering) takes less than CASE_TIME_LIMIT_MS
 *   problem-line every problem formats as one line `<severity>: <source>: ...` (no line break or control character)
 *   outcome      error problems and no spec, or a spec and no error problems
 *   sources      every source has a name and a sha256
 *   render       renderFrrConf(spec) succeeds, is deterministic, and every line has a template shape and agrees
 *                with the spec (see line-shapes.ts)
 *   expect       valid-by-construction cases load to the spec they were built from; cases with a hostile value in
 *                a field the loader reads are rejected
 */
import { formatProblem } from '../../src/config/problems.ts';
import type { Problem } from '../../src/config/problems.ts';
import type { LoadResult } from '../../src/config/load.ts';
import type { Spec } from '../../src/config/types.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { checkRendering } from './line-shapes.ts';
import type { Expected, FuzzCase } from './cases.ts';

export const CASE_TIME_LIMIT_MS = 2000;

/** Line breaks (including Unicode's), C0/C1 controls and DEL: none may appear inside a problem line. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const NOT_ONE_LINE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;

export interface Violation {
  property: 'no-crash' | 'time' | 'problem-line' | 'outcome' | 'sources' | 'render' | 'expect';
  detail: string;
  problem?: Problem;
}

export interface Checked {
  violations: Violation[];
  accepted: boolean;
  rendering?: string;
  ms: number;
}

const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** JSON.stringify, with every character outside printable ASCII escaped (so a failure message stays readable). */
export function escapeAll(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function checkProblem(p: Problem): Violation | undefined {
  const bad = (detail: string): Violation => ({ property: 'problem-line', detail, problem: p });
  if (p.severity !== 'error' && p.severity !== 'warning') return bad(`severity ${JSON.stringify(p.severity)}`);
  if (typeof p.source !== 'string' || p.source === '') return bad('empty source');
  const line = formatProblem(p);
  if (!line.startsWith(`${p.severity}: ${p.source}`))
    return bad(`does not start with "${p.severity}: <source>": ${JSON.stringify(line.slice(0, 200))}`);
  const m = NOT_ONE_LINE.exec(line);
  if (m) {
    const at = m.index;
    return bad(`character ${codePoint(m[0])} at ${at} in ${escapeAll(line.slice(Math.max(0, at - 80), at + 80))}`);
  }
  return undefined;
}

const sorted = (xs: readonly string[]): string => [...xs].sort().join(' ');

/** How a loaded spec differs from the one a valid-by-construction case was built from. */
export function compareExpected(e: Expected, spec: Spec): string[] {
  const out: string[] = [];
  const eq = (what: string, got: unknown, want: unknown): void => {
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  eq('localAsn', spec.bgp.localAsn, e.localAsn);
  eq('peerAsn', spec.bgp.peerAsn, e.peerAsn);
  eq('routerId', spec.bgp.routerId, e.routerId);
  eq('neighbours', sorted(spec.bgp.neighbours), sorted(e.neighbours));
  eq('password', spec.bgp.password, e.password);
  eq('holdTime', spec.bgp.holdTime, e.holdTime);
  eq('keepaliveTime', spec.bgp.keepaliveTime, e.keepaliveTime);
  eq('connectTime', spec.bgp.connectTime, e.connectTime);
  eq('ebgpMultiHop', spec.bgp.ebgpMultiHop, e.ebgpMultiHop);
  eq('evpn.vni', spec.evpn?.vni, e.evpn?.vni);
  eq('evpn.routeTargets', spec.evpn && sorted(spec.evpn.routeTargets), e.evpn && sorted(e.evpn.routeTargets));
  eq('advertise', spec.gateway.advertise && sorted(spec.gateway.advertise), e.advertise && sorted(e.advertise));
  eq('vrf.name', spec.gateway.vrf.name, e.vrfName);
  eq('gracefulRestart', spec.gateway.gracefulRestart, e.gracefulRestart);
  eq('maximumPrefix', spec.gateway.maximumPrefix, e.maximumPrefix);
  return out;
}

/** Checks one outcome of loadConfig on a case (`threw` set when it threw; `crash` when the process died). */
export function checkOutcome(c: FuzzCase, out: { result?: LoadResult; threw?: string; ms: number }): Checked {
  const violations: Violation[] = [];
  let ms = out.ms;
  if (out.threw !== undefined || !out.result) {
    violations.push({ property: 'no-crash', detail: `loadConfig threw: ${out.threw ?? 'no result'}` });
    return { violations, accepted: false, ms };
  }
  const { spec, problems, sources } = out.result;
  for (const p of problems) {
    const v = checkProblem(p);
    if (v) violations.push(v);
  }
  const errors = problems.filter((p) => p.severity === 'error');
  if (spec && errors.length > 0)
    violations.push({
      property: 'outcome',
      detail: `a spec AND ${errors.length} error problem(s): ${formatProblem(errors[0]!).slice(0, 200)}`,
    });
  if (!spec && errors.length === 0)
    violations.push({ property: 'outcome', detail: `no spec and no error problem (problems: ${JSON.stringify(problems).slice(0, 300)})` });
  for (const s of sources) {
    // A file holding a password is listed without a hash (an unsalted hash of a weak password could be brute-forced).
    const file = c.files[s.name];
    const text = typeof file === 'string' ? file : file instanceof Uint8Array ? Buffer.from(file).toString('utf8') : '';
    const secret = s.name === 'bgp-password' || /password/i.test(text);
    const hashOk = secret ? s.sha256 === '(holds a secret: not shown)' : /^[0-9a-f]{64}$/.test(s.sha256);
    if (typeof s.name !== 'string' || s.name === '' || !hashOk)
      violations.push({ property: 'sources', detail: JSON.stringify(s).slice(0, 200) });
  }

  let rendering: string | undefined;
  if (spec) {
    const t0 = performance.now();
    try {
      rendering = renderFrrConf(spec);
      const again = renderFrrConf(spec);
      if (again !== rendering) violations.push({ property: 'render', detail: 'rendering the same spec twice gave different text' });
    } catch (e) {
      violations.push({ property: 'render', detail: `renderFrrConf threw: ${(e as Error).message}` });
    }
    ms += performance.now() - t0;
    if (rendering !== undefined) for (const p of checkRendering(rendering, spec)) violations.push({ property: 'render', detail: p });
  }
  if (ms > CASE_TIME_LIMIT_MS) violations.push({ property: 'time', detail: `took ${ms.toFixed(0)} ms (limit ${CASE_TIME_LIMIT_MS} ms)` });

  if (c.expect && 'accepted' in c.expect) {
    if (!spec)
      violations.push({ property: 'expect', detail: `a valid input was rejected: ${errors.map(formatProblem).join(' | ').slice(0, 400)}` });
    else if (c.expect.accepted !== true)
      for (const d of compareExpected(c.expect.accepted, spec)) violations.push({ property: 'expect', detail: `accepted, but ${d}` });
  }
  if (c.expect && 'rejected' in c.expect && spec) violations.push({ property: 'expect', detail: `accepted although ${c.expect.rejected}` });

  return { violations, accepted: spec !== undefined && errors.length === 0, ...(rendering !== undefined && { rendering }), ms };
}
