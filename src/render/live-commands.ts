/**
 * Live changes: the vtysh commands that turn the running rendering into the next one in place, for the changes FRR
 * takes exactly without a restart, or null when the change is anything else (the restart path then applies it).
 *
 * Live kinds (gateway.yaml `advertise` as a list, BgpConf `neighbours`, gateway.yaml `maximumPrefix`), both modes:
 * - BGP-only: `network P` in the default instance's ipv4/ipv6 unicast families; neighbours (their lines in `router
 *   bgp`, their activation and prefix limit in the unicast families); `maximum-prefix`.
 * - EVPN: `network P` in the VRF instance's ipv4/ipv6 unicast families (type-5 routes through `advertise ipv4|ipv6
 *   unicast`, the latter coming and going with the VRF's IPv6 prefixes); neighbours in the default instance and
 *   their l2vpn evpn activation. The changeDrain anchor is not a live kind: it stays as it is (a change of the range
 *   or the router id is not live), so a live change never withdraws it.
 * Not live (null): anything else in the spec (including the data plane's fields, which render nothing), the
 * redistribute mode (`advertise` unset: its prefix-lists and route-maps are zebra's too), a neighbour change with BFD
 * on (bfdd's configured peers), an FRR older than 8.4.
 *
 * How: both renderings are read as context-keyed lines (as the applier's verification reads them); every line that
 * differs must be one of the live kinds' lines, else null. Commands follow the next rendering's order. A new
 * neighbour is created shut down and enabled last, once its families are activated (the boot config's reason, see
 * renderBgpdBootConf: a peer connecting in between would get an OPEN without them). A removed neighbour goes with one
 * `no neighbor X` (its other lines with it). A changed prefix limit is set over the old one (no `no` first).
 * Whatever FRR makes of the commands is checked by the same running-config comparison as a restart (live-apply.ts).
 */
import type { Spec } from '../config/types.ts';
import type { FrrVersion } from '../frr/version.ts';
import { atLeast } from '../frr/version.ts';
import { parseRunningConfig } from '../frr/running-config.ts';
import { renderFrrConf } from './frr-conf.ts';

/** The FRR the commands are for: its version (unknown: nothing is live). A FrrFlavour or the planner's PlanFrr fits. */
export interface LiveFrr {
  version?: FrrVersion;
}

/** The oldest FRR the live commands were proven on (e2e: FRR 8.4.4). */
export const LIVE_SINCE = { major: 8, minor: 4 } as const;

/** One config line with the block lines it sits in (trimmed), outermost first. */
interface Entry {
  path: string[];
  line: string;
}

const key = (e: Entry): string => [...e.path, e.line].join('\n');

/** A rendering as entries (header, comments and block ends dropped, as the verification reads it). */
export function configEntries(conf: string): Entry[] {
  const stack: Array<{ indent: number; line: string }> = [];
  return parseRunningConfig(conf).map((raw) => {
    const indent = raw.length - raw.trimStart().length;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const e = { path: stack.map((s) => s.line), line: raw.trim() };
    stack.push({ indent, line: raw.trim() });
    return e;
  });
}

const ROUTER = /^router bgp \d+(?: vrf \S+)?$/;
const UNICAST_AF = /^address-family (?:ipv4|ipv6) unicast$/;
const EVPN_AF = 'address-family l2vpn evpn';
const NEIGHBOUR_LINE = /^neighbor (\S+) /;

/** The lines a live change may add or remove, by where they sit. */
function liveLine(e: Entry): boolean {
  const [router, af, ...deeper] = e.path;
  if (router === undefined || !ROUTER.test(router) || deeper.length > 0) return false;
  if (af === undefined) return UNICAST_AF.test(e.line) || NEIGHBOUR_LINE.test(e.line);
  if (UNICAST_AF.test(af)) return /^network \S+$/.test(e.line) || /^neighbor \S+ (?:activate|maximum-prefix \d+)$/.test(e.line);
  if (af === EVPN_AF) return e.line === 'advertise ipv6 unicast' || /^neighbor \S+ activate$/.test(e.line);
  return false;
}

/** The spec with its live fields blanked: two specs that differ here differ in something not live. */
function notLive(s: Spec): string {
  const { anchors } = s.gateway.changeDrain;
  return JSON.stringify({
    bgp: { ...s.bgp, neighbours: [] },
    evpn: s.evpn ?? null,
    // changeDrain's timings render nothing and act only before a restart: only the anchor range is config.
    gateway: {
      ...s.gateway,
      advertise: s.gateway.advertise === undefined ? 'redistribute' : 'list',
      maximumPrefix: 0,
      changeDrain: { anchors },
    },
  });
}

/**
 * The vtysh commands (`configure terminal` first) that bring FRR running `running`'s rendering to `next`'s, or null
 * when the change is not only of the live kinds (or nothing differs, or the FRR version is unknown or older).
 */
export function liveCommands(running: Spec, next: Spec, frr: LiveFrr, render: (s: Spec) => string = renderFrrConf): string[] | null {
  if (!frr.version || !atLeast(frr.version, LIVE_SINCE.major, LIVE_SINCE.minor)) return null;
  if (notLive(running) !== notLive(next)) return null;
  if (running.gateway.advertise === undefined || next.gateway.advertise === undefined) return null;
  const removedNeighbours = running.bgp.neighbours.filter((n) => !next.bgp.neighbours.includes(n));
  const addedNeighbours = next.bgp.neighbours.filter((n) => !running.bgp.neighbours.includes(n));
  if (next.gateway.bfd !== undefined && removedNeighbours.length + addedNeighbours.length > 0) return null;

  const before = configEntries(render(running));
  const after = configEntries(render(next));
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  const added = after.filter((e) => !beforeKeys.has(key(e)));
  const removed = before.filter((e) => !afterKeys.has(key(e)));
  if (added.length + removed.length === 0) return null;
  if (![...added, ...removed].every(liveLine)) return null;

  const neighbourOf = (e: Entry): string | undefined => NEIGHBOUR_LINE.exec(e.line)?.[1];
  const isBlock = (e: Entry): boolean => e.path.length === 1 && UNICAST_AF.test(e.line);
  // A removed neighbour's lines go with its `no neighbor X`; a block header comes and goes with its lines.
  const toRemove = removed.filter((e) => !isBlock(e) && !removedNeighbours.includes(neighbourOf(e) ?? ''));
  // A limit changed in place: the new value replaces the old one.
  const replaced = (e: Entry): boolean => {
    const m = /^(neighbor \S+ maximum-prefix) \d+$/.exec(e.line);
    return m !== null && added.some((a) => a.path.join('\n') === e.path.join('\n') && a.line.startsWith(`${m[1]} `));
  };

  // Blocks in the next rendering's order, then any only the running one has.
  const blocks: string[][] = [];
  const blockKeys = new Set<string>();
  for (const e of [...after, ...before]) {
    if (e.path.length === 0) continue;
    const k = e.path.join('\n');
    if (blockKeys.has(k)) continue;
    blockKeys.add(k);
    blocks.push(e.path);
  }
  const defaultRouter = `router bgp ${next.bgp.localAsn}`;
  const cmds: string[] = ['configure terminal'];
  for (const path of blocks) {
    const here = (e: Entry): boolean => e.path.join('\n') === path.join('\n');
    const body: string[] = [];
    if (path.length === 1 && path[0] === defaultRouter) body.push(...removedNeighbours.map((n) => `no neighbor ${n}`));
    body.push(...toRemove.filter((e) => here(e) && !replaced(e)).map((e) => `no ${e.line}`));
    for (const e of added.filter((a) => here(a) && !isBlock(a))) {
      body.push(e.line);
      const n = neighbourOf(e);
      if (path.length === 1 && n !== undefined && addedNeighbours.includes(n) && / remote-as /.test(e.line))
        body.push(`neighbor ${n} shutdown`);
    }
    if (body.length === 0) continue;
    cmds.push(...path, ...body, ...path.map((p) => (UNICAST_AF.test(p) || p === EVPN_AF ? 'exit-address-family' : 'exit')).reverse());
  }
  if (addedNeighbours.length > 0) cmds.push(defaultRouter, ...addedNeighbours.map((n) => `no neighbor ${n} shutdown`), 'exit');
  return cmds;
}
