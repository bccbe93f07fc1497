/**
 * What a config change does, decided in one place: `planChange(running, next, frr)` returns the steps that take FRR
 * from the running spec to the next one, in order. It is pure (no FRR, no file, no clock): the Applier carries the
 * steps out (src/supervisor/apply.ts), `frr-supervisor plan` prints them, and the unit tests pin them per kind of edit.
 *
 * The steps, in the order they run:
 * - `drain`: EVPN with `changeDrain`, when bgpd restarts: wait this replica's slot, withdraw its type-5 routes, wait
 *   until they are gone, settle (src/supervisor/change-drain.ts).
 * - `devices`: reconcile the EVPN devices (VRF, bridge, VXLAN) and check IP forwarding; zebra must find them when it
 *   (re)starts. A device that had to be recreated may ask for a zebra restart: {@link withDevicesRestart}.
 * - `write`: frr.conf, atomically.
 * - `bfdd`: bfdd started (BFD turned on: before the restart, so the new bgpd finds it), its profile and peers changed
 *   live (BFD stays on), or stopped (BFD turned off: after the restart, when bgpd runs without its `bfd` lines).
 * - `live`: vtysh commands that apply the change in place (a {@link LivePlanner} decides; none by default), verified
 *   by the running-config comparison; any difference falls back to the steps in `fallback` (the restart).
 * - `restart`: the daemons stopped (reverse order) and started again (start order), the signal that stops them, and
 *   what is waited for; `start` on the first apply (every daemon).
 * - `push`: each (re)started daemon gets its part of frr.conf through vtysh (bgpd: the boot variant, then its
 *   neighbours enabled). The DaemonManager's `configure` hook does it right after each start, so that a crash recovery
 *   pushes too: the step names what is pushed.
 * - `verify`: the running config must equal the rendering, line for line.
 *
 * What restarts, per part of the config (FRR's daemons each hold their own part):
 * - zebra's part (VRF, VNI, VRF backend (`-n`), graceful restart (`-K`), the prefix-lists and route-maps every daemon
 *   holds a copy of): zebra and its clients (phased restart); from FRR 9 on, mgmtd and everything after it
 *   (restartSetFor). zebra's arguments count even when frr.conf stays the same (a `vrfBackend`-only change).
 * - staticd's part (the anchor's blackhole route, changeDrain.anchors): staticd on FRR 8 (zebra's clients do not
 *   include it: a zebra restart leaves staticd's old route); mgmtd and everything after it from FRR 9 on.
 * - bfdd's part (the BFD profile, the configured peers): live, nothing restarts.
 * - everything else is bgpd's: bgpd alone.
 */
import type { Spec } from '../config/types.ts';
import { BFD_DEFAULTS } from '../config/types.ts';
import type { DaemonName } from '../frr/daemon.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import { restartSetFor, withBfd } from '../frr/version.ts';
import type { FrrVersion } from '../frr/version.ts';
import { bfdStaticPeers, bfddLiveCommands, buildView, configHash, renderFrrConf, specAnchor } from '../render/frr-conf.ts';
import { changeDrainDelay, drainsBeforeRestart, withdrawCommands } from './change-drain.ts';

/** zebra keeps the kernel routes of its previous run this long (`-K`), when graceful restart is on. */
export const ZEBRA_GR_SECONDS = 120;

/** The FRR the plan is for: its daemon set in start order (a FrrFlavour fits; bfdd in it or not, it is ignored). */
export interface PlanFrr {
  daemons: readonly DaemonName[];
  /** The FRR version, when known: live changes are planned only for the versions they were proven on. */
  version?: FrrVersion;
}

/**
 * Commands that take FRR from `running` to `next` in place (vtysh `-c` lines, `configure terminal` first), or null
 * when the change cannot be applied exactly in place: the planner then restarts. Consulted only for a change whose
 * restart would be bgpd's alone.
 */
export type LivePlanner = (running: Spec, next: Spec, frr: PlanFrr) => string[] | null;

/** No change is applied live: every change of bgpd's part restarts bgpd. */
export const NO_LIVE: LivePlanner = () => null;

/**
 * Live changes as the supervisor uses them: `plan` decides (planChange's `live` option), `run` sends the commands
 * (default: `vtysh.run(commands)`, every daemon); the Applier then verifies by the running-config comparison and
 * falls back to the plan's restart on any difference (`live_apply_fallback`). src/supervisor/live-changes.ts says
 * which one the supervisor and `frr-supervisor plan` use.
 */
export interface LiveChanges {
  plan: LivePlanner;
  run?: (commands: string[], vtysh: Vtysh) => Promise<void>;
}

export interface PlanOptions {
  /** Which changes are applied live ({@link NO_LIVE} by default). */
  live?: LivePlanner;
  /** The renderer (the Applier's test seam); renderFrrConf by default. */
  render?: (spec: Spec) => string;
}

export type StepKind = 'drain' | 'devices' | 'write' | 'bfdd' | 'live' | 'restart' | 'start' | 'push' | 'verify';

export interface DrainStep {
  kind: 'drain';
  /** This replica's slot and the wait before the withdrawal (changeDrainDelay). */
  slot: number;
  delayMs: number;
  /** The vtysh commands that withdraw this replica's type-5 routes (from the running spec). */
  withdraw: string[];
  maxWaitMs: number;
  settleMs: number;
}

export interface DevicesStep {
  kind: 'devices';
}

export interface WriteStep {
  kind: 'write';
}

export interface BfddStep {
  kind: 'bfdd';
  /** start: BFD turned on; live: profile or peers changed, bfdd keeps running; stop: BFD turned off. */
  action: 'start' | 'live' | 'stop';
  /** The live commands (action `live`); empty otherwise. */
  commands: string[];
}

export interface LiveStep {
  kind: 'live';
  commands: string[];
  /** What runs instead when the running config does not match after the commands: the restart path. */
  fallback: PlanStep[];
}

/** Why a wait happens around a restart: bgpd SIGKILLed for a graceful restart waits for its peers' refresh first. */
export type RestartWait = 'peers-refreshed';

export interface RestartStep {
  kind: 'restart';
  /** Stopped in reverse order, started in this (start) order. */
  daemons: DaemonName[];
  signal: NodeJS.Signals;
  waits: RestartWait[];
  /** The parts of the config whose change asks for it (e.g. "zebra: vrf", "bgpd"). */
  because: string[];
}

/** The first apply: every daemon started in order (bfdd too with BFD on). */
export interface StartStep {
  kind: 'start';
  daemons: DaemonName[];
}

export interface PushStep {
  kind: 'push';
  daemons: DaemonName[];
}

export interface VerifyStep {
  kind: 'verify';
}

export type PlanStep = DrainStep | DevicesStep | WriteStep | BfddStep | LiveStep | RestartStep | StartStep | PushStep | VerifyStep;

export interface ChangePlan {
  /** The rendering and the daemons' arguments are the same: nothing to write, restart or push (the devices are still checked). */
  unchanged: boolean;
  steps: PlanStep[];
  /** The daemons the plan restarts (or starts), in order: empty when nothing restarts (a live change's fallback not counted). */
  restarts: DaemonName[];
  /** True when a `live` step applies (part of) the change in place. */
  live: boolean;
  /** What differs, per part: "zebra: vrf, vni", "bgpd", "bfdd: profile", ... (empty when unchanged). */
  changes: string[];
}

/** The extra arguments a daemon is started with for a spec: zebra's `-K` (graceful restart) and `-n` (netns VRFs). */
export function daemonArgs(spec: Spec | undefined, name: DaemonName): string[] {
  if (name !== 'zebra') return [];
  const netns = spec?.evpn !== undefined && spec.gateway.vrfBackend === 'netns';
  return [...((spec?.gateway.gracefulRestart ?? true) ? ['-K', String(ZEBRA_GR_SECONDS)] : []), ...(netns ? ['-n'] : [])];
}

/**
 * How a config change stops the daemons it restarts. With graceful restart, SIGKILL: bgpd sends nothing,
 * the peers see the session drop and keep the gateway's routes as stale until bgpd is back (RFC 4724), and
 * zebra keeps the forwarding state (`preserve-fw-state`, zebra's -K). SIGTERM would make bgpd send a Cease
 * NOTIFICATION that FRR marks as Hard Reset (`bgp hard-administrative-reset`), and the peers withdraw the
 * routes at once: the e2e test "graceful restart" pins this.
 */
export function restartSignal(running: Spec): NodeJS.Signals {
  return running.gateway.gracefulRestart ? 'SIGKILL' : 'SIGTERM';
}

/**
 * zebra's part of a spec, field by field (what a zebra-scope restart is for): what zebra sees (VRF, VNI), its
 * arguments (`-n` for the netns backend, `-K` for graceful restart: they differ even when frr.conf does not), and the
 * filters every daemon holds a copy of.
 */
function zebraPart(s: Spec): Record<string, string> {
  const view = buildView(s);
  return {
    vni: JSON.stringify(s.evpn?.vni ?? null),
    vrf: JSON.stringify(s.evpn ? s.gateway.vrf : null),
    vrfBackend: JSON.stringify(s.evpn ? s.gateway.vrfBackend : null),
    gracefulRestart: JSON.stringify(s.gateway.gracefulRestart),
    filters: JSON.stringify([view.v4Filter, view.v6Filter]),
  };
}

/** staticd's part: the anchor's blackhole route in the VRF (changeDrain.anchors). */
function staticdPart(s: Spec): string {
  return JSON.stringify(specAnchor(s));
}

/** Every daemon's arguments (zebra's only, today). */
function argsOf(s: Spec): string {
  return JSON.stringify(daemonArgs(s, 'zebra'));
}

function differing(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a).filter((k) => a[k] !== b[k]);
}

/** bfdd's part: the profile and the configured peers. */
function bfddPart(s: Spec): string {
  return JSON.stringify([s.gateway.bfd ?? null, bfdStaticPeers(s)]);
}

/**
 * The plan that takes FRR from `running` (undefined: nothing runs yet) to `next`. Pure: the same specs always give the
 * same plan.
 */
export function planChange(running: Spec | undefined, next: Spec, frr: PlanFrr, opts: PlanOptions = {}): ChangePlan {
  const render = opts.render ?? renderFrrConf;
  const base = frr.daemons.filter((d) => d !== 'bfdd');
  const bfd = next.gateway.bfd !== undefined;
  if (!running) {
    const daemons = withBfd(base, bfd);
    const steps: PlanStep[] = [
      { kind: 'devices' },
      { kind: 'write' },
      { kind: 'start', daemons },
      { kind: 'push', daemons },
      { kind: 'verify' },
    ];
    return { unchanged: false, steps, restarts: daemons, live: false, changes: ['everything: nothing runs yet'] };
  }
  const confBefore = render(running);
  const confAfter = render(next);
  if (configHash(confBefore) === configHash(confAfter) && argsOf(running) === argsOf(next)) {
    return { unchanged: true, steps: [{ kind: 'devices' }], restarts: [], live: false, changes: [] };
  }

  const hadBfd = running.gateway.bfd !== undefined;
  const changes: string[] = [];
  const because: string[] = [];
  const zebra = differing(zebraPart(running), zebraPart(next));
  if (zebra.length > 0) changes.push(`zebra: ${zebra.join(', ')}`);
  const staticd = staticdPart(running) !== staticdPart(next);
  if (staticd) changes.push('staticd: anchor route');
  if (bfddPart(running) !== bfddPart(next)) changes.push(`bfdd: ${!hadBfd ? 'on' : !bfd ? 'off' : 'profile or peers'}`);
  // bgpd's part: the rendering with the BFD profile left out (bfdd takes it live).
  const withoutProfile = (s: Spec): string => render(s.gateway.bfd ? { ...s, gateway: { ...s.gateway, bfd: BFD_DEFAULTS } } : s);
  const bgpd = !(hadBfd && bfd && withoutProfile(running) === withoutProfile(next));
  if (bgpd && zebra.length === 0) changes.push('bgpd');

  // The daemons that run while the restart happens: bfdd joins before it (turned on) and leaves after it (turned off).
  const during = withBfd(base, bfd || hadBfd);
  const restarting = new Set<DaemonName>();
  if (zebra.length > 0) {
    for (const d of restartSetFor('zebra', during)) restarting.add(d);
    because.push(`zebra: ${zebra.join(', ')}`);
  }
  if (staticd) {
    // FRR 8: staticd takes its part from vtysh at its start, alone. From FRR 9 on its config lives in mgmtd, which
    // `vtysh -b` only adds to: mgmtd and everything after it (as for zebra's part).
    for (const d of during.includes('mgmtd') ? restartSetFor('zebra', during) : (['staticd'] as DaemonName[])) restarting.add(d);
    because.push('staticd: anchor route');
  }
  if (bgpd) {
    restarting.add('bgpd');
    if (zebra.length === 0) because.push('bgpd');
  }
  const set = during.filter((d) => restarting.has(d));

  const signal = restartSignal(running);
  const restart = (daemons: DaemonName[]): PlanStep[] =>
    daemons.length === 0
      ? []
      : [
          {
            kind: 'restart',
            daemons,
            signal,
            waits: signal === 'SIGKILL' && daemons.includes('bgpd') ? ['peers-refreshed'] : [],
            because,
          },
          { kind: 'push', daemons },
        ];
  const drain = (daemons: DaemonName[]): PlanStep[] => {
    if (!drainsBeforeRestart(running, next, daemons.length > 0)) return [];
    const d = next.gateway.changeDrain;
    const { slot, delayMs } = changeDrainDelay(running.bgp.routerId, d);
    return [
      {
        kind: 'drain',
        slot,
        delayMs,
        withdraw: withdrawCommands(running),
        maxWaitMs: d.maxWaitSeconds * 1000,
        settleMs: d.settleSeconds * 1000,
      },
    ];
  };

  // A change of bgpd's part alone may be applied in place.
  const liveCommands = set.length === 1 && set[0] === 'bgpd' && hadBfd === bfd ? (opts.live ?? NO_LIVE)(running, next, frr) : null;

  const devices: PlanStep[] = [{ kind: 'devices' }];
  const bfddBefore: PlanStep[] = [];
  if (bfd && !hadBfd) bfddBefore.push({ kind: 'bfdd', action: 'start', commands: [] });
  if (bfd && hadBfd && bfddPart(running) !== bfddPart(next))
    bfddBefore.push({ kind: 'bfdd', action: 'live', commands: bfddLiveCommands(running, next) });
  const bfddAfter: PlanStep[] = !bfd && hadBfd ? [{ kind: 'bfdd', action: 'stop', commands: [] }] : [];

  if (liveCommands !== null) {
    const steps: PlanStep[] = [
      ...devices,
      { kind: 'write' },
      ...bfddBefore,
      { kind: 'live', commands: liveCommands, fallback: [...drain(set), ...restart(set), { kind: 'verify' }] },
      { kind: 'verify' },
    ];
    return { unchanged: false, steps, restarts: [], live: true, changes };
  }
  const steps: PlanStep[] = [
    ...drain(set),
    ...devices,
    { kind: 'write' },
    ...bfddBefore,
    ...restart(set),
    ...bfddAfter,
    { kind: 'verify' },
  ];
  return { unchanged: false, steps, restarts: set, live: false, changes };
}

/**
 * The plan once the `devices` step asked for a zebra restart (a device zebra knew was recreated): the restart set grows
 * to zebra's (no drain is added: the step after the devices cannot wait a slot any more).
 */
export function withDevicesRestart(plan: ChangePlan, running: Spec, frr: PlanFrr): ChangePlan {
  const base = frr.daemons.filter((d) => d !== 'bfdd');
  const during = withBfd(base, frr.daemons.includes('bfdd') || running.gateway.bfd !== undefined);
  // zebra's restart set, with what the plan restarted already (staticd for an anchor change)
  const had = plan.steps.flatMap((st) => (st.kind === 'restart' ? st.daemons : []));
  const zebra = restartSetFor('zebra', during);
  const set = during.filter((d) => zebra.includes(d) || had.includes(d));
  const signal = restartSignal(running);
  const restart: RestartStep = {
    kind: 'restart',
    daemons: set,
    signal,
    waits: signal === 'SIGKILL' ? ['peers-refreshed'] : [],
    because: [...plan.steps.flatMap((st) => (st.kind === 'restart' ? st.because : [])), 'devices: a device zebra knew was recreated'],
  };
  const steps: PlanStep[] = [];
  let placed = false;
  for (const s of plan.steps) {
    if (s.kind === 'live') {
      // The restart makes the live commands pointless: the restarted daemons read the written frr.conf.
      continue;
    }
    if (s.kind === 'restart' || s.kind === 'push') {
      if (!placed) steps.push(restart, { kind: 'push', daemons: set });
      placed = true;
      continue;
    }
    if (s.kind === 'verify' && !placed) {
      steps.push(restart, { kind: 'push', daemons: set });
      placed = true;
    }
    if (s.kind === 'bfdd' && s.action === 'stop' && !placed) {
      steps.push(restart, { kind: 'push', daemons: set });
      placed = true;
    }
    steps.push(s);
  }
  if (!placed) steps.push(restart, { kind: 'push', daemons: set });
  return { ...plan, unchanged: false, steps, restarts: set, live: false, changes: [...plan.changes, 'devices: zebra restart asked'] };
}

/** One line per step, for the logs, /status and `frr-supervisor plan`. */
export function describeStep(s: PlanStep): string {
  switch (s.kind) {
    case 'drain':
      return `drain: wait slot ${s.slot} (${s.delayMs / 1000} s), withdraw this replica's type-5 routes (${s.withdraw.length > 0 ? 'up to' : 'nothing to withdraw,'} ${s.maxWaitMs / 1000} s), settle ${s.settleMs / 1000} s`;
    case 'devices':
      return 'devices: reconcile the EVPN devices and check IP forwarding';
    case 'write':
      return 'write frr.conf';
    case 'bfdd':
      return s.action === 'live' ? `bfdd: ${s.commands.length} commands applied live` : `bfdd: ${s.action}`;
    case 'live':
      return `live: ${s.commands.length} vtysh commands, verified; fallback: ${s.fallback.map((f) => f.kind).join(', ')}`;
    case 'restart':
      return `restart ${s.daemons.join(', ')} (${s.signal}${s.signal === 'SIGKILL' ? ', graceful' : ''}${s.waits.length > 0 ? `; waits: ${s.waits.join(', ')}` : ''}) for ${s.because.join('; ')}`;
    case 'start':
      return `start ${s.daemons.join(', ')}`;
    case 'push':
      return `push the config to ${s.daemons.join(', ')}`;
    case 'verify':
      return 'verify: the running config equals the rendering';
  }
}
