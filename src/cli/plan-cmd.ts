/**
 * `frr-supervisor plan --from RUNNING_DIR --config-dir NEW_DIR`: what a config change would do, before it is made. The
 * same planner as the supervisor's (src/supervisor/plan.ts): the steps, what restarts and how, what is applied live,
 * and what it costs in traffic according to the project's measurements ({@link MEASURED}).
 */
import { loadConfig } from '../config/load.ts';
import { formatProblem, hasErrors } from '../config/problems.ts';
import { hostFacts } from '../config/facts.ts';
import type { Spec } from '../config/types.ts';
import { detectFrr, flavourFor, parseFrrVersion, supportsEvpnGracefulRestart } from '../frr/version.ts';
import type { FrrFlavour } from '../frr/version.ts';
import { changeDrainDelay } from '../supervisor/change-drain.ts';
import { describeStep, planChange } from '../supervisor/plan.ts';
import type { ChangePlan } from '../supervisor/plan.ts';
import { LIVE_CHANGES } from '../supervisor/live-changes.ts';
import { UsageError, helpText, parseFlags } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

export const PLAN_FLAGS = {
  from: { type: 'string', help: 'the config directory as it runs now (a copy of the projected volume)' },
  'config-dir': { type: 'string', help: 'the config directory with the change' },
  'frr-version': { type: 'string', help: 'plan for this FRR version (e.g. 8.4.4, 10.3) instead of asking --frr-bin-dir' },
  'frr-bin-dir': { type: 'string', default: '/usr/lib/frr', help: 'the FRR to plan for (zebra --version and --help)' },
  json: { type: 'boolean', help: 'print the plan as JSON' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

/** zebra_restart (a VNI change on both sides), EVPN, FRR 10.7.1 both sides: the longer direction's gap, median of 5. */
const ZEBRA_RESTART_GAP_10_7 = 3084;

/**
 * What the restarts cost, from bench:traffic (docs/benchmarks.md "bench:traffic": 2026-11-30, FRR 8.4.4, netns VRF backend, one
 * gateway, 1000 probes/s each way, medians of 5) and the replicas e2e test (docs/design.md "Replicas"). Gaps in ms, the longer
 * direction's.
 */
export const MEASURED = {
  source: 'bench:traffic 2026-11-30 (FRR 8.4.4) and 2026-12-05 (FRR 10.7.1 both sides, EVPN), one replica, medians of 5',
  /** FRR 10.6+ on both sides, graceful restart on: EVPN graceful restart and the supervisor's EVPN hold (bench:traffic evpn@frr10.7). */
  evpnGr: { bgpdRestartLost: 0, zebraRestartGapMs: ZEBRA_RESTART_GAP_10_7 },
  bgpdRestartGr: { bgpLost: 0, evpnGapMs: 2503 },
  bgpdRestartNoGr: { bgpGapMs: 2386, evpnGapMs: 2771 },
  zebraRestart: { evpnGapMs: 4319 },
  /** kill -9 zebra (zebra then bgpd restarted, graceful restart on), BGP-only. */
  killZebraBgpLost: 0,
} as const;

const seconds = (ms: number): string => `~${(ms / 1000).toFixed(1)} s`;

/** The traffic a plan costs, in words, from {@link MEASURED}; one line per fact. */
export function trafficCost(plan: ChangePlan, running: Spec, next: Spec, frr?: FrrFlavour): string[] {
  if (plan.unchanged) return ['nothing changes: no restart, no traffic lost'];
  const evpn = running.evpn !== undefined;
  const graceful = running.gateway.gracefulRestart;
  const evpnGr = evpn && graceful && frr !== undefined && supportsEvpnGracefulRestart(frr.version);
  const lines: string[] = [];
  const restartCost = (restarts: readonly string[]): string => {
    const zebra = restarts.includes('zebra') || restarts.includes('mgmtd');
    const what = `${restarts.join(', ')} restart, ${graceful ? 'graceful' : 'not graceful (SIGTERM)'}`;
    if (!evpn) {
      if (!graceful) return `${what}: BGP-only: ${seconds(MEASURED.bgpdRestartNoGr.bgpGapMs)} lost each way (bgpd_restart_no_gr)`;
      return zebra
        ? `${what}: BGP-only: ${MEASURED.killZebraBgpLost} lost expected (kill_zebra, the same restart after a crash; not measured as a config change)`
        : `${what}: BGP-only: ${MEASURED.bgpdRestartGr.bgpLost} lost (bgpd_restart_gr)`;
    }
    if (evpnGr)
      return zebra
        ? `${what}: EVPN, FRR ${frr.version.text}: ${seconds(MEASURED.evpnGr.zebraRestartGapMs)} lost each way, one replica (zebra_restart, FRR 10.7.1 both sides)`
        : `${what}: EVPN, FRR ${frr.version.text}: ${MEASURED.evpnGr.bgpdRestartLost} lost with a router on FRR 10.6+ (bgpd_restart_gr, FRR 10.7.1 both sides: EVPN graceful restart and the EVPN hold); an older router drops the routes: ${seconds(MEASURED.bgpdRestartGr.evpnGapMs)} lost each way`;
    const gap = zebra
      ? `${seconds(MEASURED.zebraRestart.evpnGapMs)} lost each way, one replica (zebra_restart)`
      : graceful
        ? `${seconds(MEASURED.bgpdRestartGr.evpnGapMs)} lost each way, one replica (bgpd_restart_gr: graceful restart does not cover EVPN before FRR 10.6)`
        : `${seconds(MEASURED.bgpdRestartNoGr.evpnGapMs)} lost each way, one replica (bgpd_restart_no_gr)`;
    return `${what}: EVPN: ${gap}`;
  };
  if (plan.restarts.length > 0) lines.push(restartCost(plan.restarts));
  const drain = plan.steps.find((s) => s.kind === 'drain');
  if (drain?.kind === 'drain')
    lines.push(
      `changeDrain: this replica waits slot ${drain.slot} (${drain.delayMs / 1000} s) and withdraws its routes first: 0 lost while another replica carries the traffic (replicas e2e, both modes); a single replica still loses the figure above`,
    );
  else if (evpn && plan.restarts.includes('bgpd') && (running.gateway.changeDrain.enabled || next.gateway.changeDrain.enabled))
    lines.push(
      'changeDrain: not used for this change (it drains only when the running config is in EVPN mode and the new one asks for it)',
    );
  const live = plan.steps.find((s) => s.kind === 'live');
  if (live?.kind === 'live') {
    lines.push(`applied live (${live.commands.length} vtysh commands): no daemon restarts, the sessions stay up`);
    const fallback = live.fallback.find((s) => s.kind === 'restart');
    if (fallback?.kind === 'restart')
      lines.push(`if FRR does not take it exactly (live_apply_fallback), the restart instead: ${restartCost(fallback.daemons)}`);
  }
  const bfdd = plan.steps.find((s) => s.kind === 'bfdd' && s.action === 'live');
  if (bfdd && plan.restarts.length === 0 && !live) lines.push('bfdd takes it live: no restart, the BFD sessions stay up');
  if (lines.length === 0) lines.push('no daemon restarts');
  return lines;
}

/** The plan as text: FRR, the changes, the steps, what restarts, what is live, the traffic cost. */
export function formatPlan(plan: ChangePlan, running: Spec, next: Spec, frr: FrrFlavour): string {
  const out: string[] = [];
  out.push(`FRR ${frr.version.text}: ${frr.daemons.join(', ')}`);
  out.push(`changes: ${plan.changes.join('; ') || 'none'}`);
  out.push('steps:');
  plan.steps.forEach((s, i) => out.push(`  ${i + 1}. ${describeStep(s)}`));
  const live = plan.steps.find((s) => s.kind === 'live');
  out.push(`restarts: ${plan.restarts.join(', ') || 'nothing'}`);
  out.push(
    `live: ${live?.kind === 'live' ? `${live.commands.length} commands:\n${live.commands.map((c) => `    ${c}`).join('\n')}` : plan.steps.some((s) => s.kind === 'bfdd' && s.action === 'live') ? 'bfdd profile/peers' : 'nothing'}`,
  );
  out.push('traffic:');
  for (const l of trafficCost(plan, running, next, frr)) out.push(`  ${l}`);
  out.push(`  (${MEASURED.source}; docs/benchmarks.md "bench:traffic", docs/design.md "Replicas")`);
  return `${out.join('\n')}\n`;
}

async function load(dir: string, what: string, io: Io): Promise<Spec | undefined> {
  const r = await loadConfig({ configDir: dir, facts: hostFacts(io.env) });
  for (const p of r.problems) io.stderr(`${what}: ${formatProblem(p)}\n`);
  return hasErrors(r.problems) ? undefined : r.spec;
}

export async function planCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, PLAN_FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor plan --from RUNNING_DIR --config-dir NEW_DIR [--frr-version V] [--json]',
        'Prints what changing the config from RUNNING_DIR to NEW_DIR would do, before it is made: the steps, what restarts (and with which signal), what is applied live, and the traffic it costs according to the measurements in docs/benchmarks.md. Nothing is changed. Exit 0: printed; 1: an input is invalid (the supervisor would reject NEW_DIR and keep what runs); 2: usage error.',
        PLAN_FLAGS,
      ),
    );
    return 0;
  }
  const from = flags.from;
  const to = flags['config-dir'];
  if (typeof from !== 'string' || typeof to !== 'string') throw new UsageError('--from RUNNING_DIR and --config-dir NEW_DIR are required');
  let frr: FrrFlavour;
  if (typeof flags['frr-version'] === 'string') {
    try {
      frr = flavourFor(parseFrrVersion(`version ${flags['frr-version']}`));
    } catch {
      throw new UsageError(`--frr-version: ${JSON.stringify(flags['frr-version'])} is not a version like 8.4.4 or 10.3`);
    }
  } else {
    try {
      frr = await detectFrr(flags['frr-bin-dir'] as string);
    } catch (e) {
      io.stderr(`error: ${(e as Error).message}; pass --frr-version to plan without an FRR installed\n`);
      return 2;
    }
  }
  const running = await load(from, '--from', io);
  if (!running) {
    io.stderr(`error: the running config in ${from} is invalid\n`);
    return 1;
  }
  const next = await load(to, '--config-dir', io);
  if (!next) {
    io.stderr(`error: ${to} is invalid: the supervisor would reject it, and what runs keeps running\n`);
    return 1;
  }
  const plan = planChange(running, next, frr, LIVE_CHANGES ? { live: LIVE_CHANGES.plan } : {});
  if (flags.json) {
    const drain = changeDrainDelay(running.bgp.routerId, next.gateway.changeDrain);
    io.stdout(
      `${JSON.stringify({ frr: frr.version.text, ...plan, describe: plan.steps.map(describeStep), traffic: trafficCost(plan, running, next, frr), slot: drain.slot }, null, 2)}\n`,
    );
  } else io.stdout(formatPlan(plan, running, next, frr));
  return 0;
}
