/**
 * The apply pipeline: load -> validate -> render -> (unchanged? stop) -> write frr.conf atomically (0600) ->
 * restart only what must restart -> push -> verify the running config -> record.
 * Invalid input never touches what runs: the last good config keeps running.
 */
import { loadConfig } from '../config/load.ts';
import { inputFingerprint } from '../config/files.ts';
import type { LoadResult } from '../config/load.ts';
import { formatProblem, hasErrors } from '../config/problems.ts';
import type { HostFacts } from '../config/facts.ts';
import type { Spec } from '../config/types.ts';
import { configHash, renderFrrConf } from '../render/frr-conf.ts';
import type { FrrPaths } from '../frr/paths.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import type { DaemonName } from '../frr/daemon.ts';
import { parseRunningConfig } from '../state/frr-json.ts';
import type { Logger } from '../log.ts';
import type { DaemonManager } from './daemons.ts';
import { desiredFromHost } from '../dataplane/state.ts';
import { DataplaneStepError, reconcile } from '../dataplane/apply.ts';
import { ownedFromSpec } from '../dataplane/types.ts';
import { checkForwarding } from '../dataplane/forwarding.ts';
import type { ForwardingCheck } from '../dataplane/forwarding.ts';
import { writeFileAtomic } from './atomic-write.ts';

export type ApplyResult = 'applied' | 'unchanged' | 'invalid' | 'failed';

export interface ApplyRecord {
  result: ApplyResult;
  /** Increments on every config that was written and (re)started. */
  generation: number;
  hash?: string;
  at: string;
  durationMs: number;
  restarted: DaemonName[];
  reason: string;
  error?: string;
  /** Milliseconds spent in each phase (load, write, restart, verify), for the log line and /status. */
  phases?: Record<string, number>;
}

/**
 * The data plane as last reconciled and checked (every apply and resync). A failure here does not stop FRR: BGP
 * runs with what could be set up (a prefix without its route is simply not announced), and /readyz and /status
 * name the failing steps until a resync succeeds.
 */
export interface DataplaneReport {
  ok: boolean;
  checkedAt: string;
  /** The reconcile error (every failed step, or why the plan could not be made). */
  error?: string;
  failedSteps?: Array<{ argv: string[]; why: string; error: string }>;
  /** What the plan could not do (a missing internal interface). */
  warnings: string[];
  forwarding?: ForwardingCheck;
}

export interface Running {
  spec: Spec;
  conf: string;
  hash: string;
  generation: number;
  appliedAt: string;
}

export interface ApplierOptions {
  configDir?: string;
  env: boolean;
  facts: HostFacts;
  paths: FrrPaths;
  vtysh: Vtysh;
  daemons: DaemonManager;
  logger: Logger;
  /** How long verification waits for the running config to match (default 3000 ms). */
  verifyTimeoutMs?: number;
  /** Called with every record; `repeat` is true for an unchanged or an invalid input seen again. */
  onRecord?: (rec: ApplyRecord, repeat: boolean) => void;
}

/** What must restart when the spec changes: zebra sees the VRF/VNI and its own flags; everything else is bgpd's. */
export function restartScope(before: Spec, after: Spec): 'zebra' | 'bgpd' {
  const zebraView = (s: Spec): string =>
    JSON.stringify({
      vni: s.evpn?.vni ?? null,
      vrf: s.evpn ? s.gateway.vrf : null,
      backend: s.gateway.vrfBackend,
      gr: s.gateway.gracefulRestart,
    });
  return zebraView(before) === zebraView(after) ? 'bgpd' : 'zebra';
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

export class Applier {
  running: Running | undefined;
  lastLoad: LoadResult | undefined;
  last: ApplyRecord | undefined;
  lastSuccessAt: Date | undefined;
  /** The hash of the config last verified running (a failed apply can be completed later by crash recovery). */
  verifiedHash: string | undefined;
  /** The data plane's state after the last reconcile and forwarding check. */
  dataplane: DataplaneReport | undefined;
  /** Periodic resyncs that found the input files untouched and reused the last load (counted for the tests). */
  resyncsSkipped = 0;
  private generation = 0;
  private busy = false;
  private pending: { reason: string; periodic: boolean } | undefined;
  private idle: Promise<void> = Promise.resolve();
  /** The last load, the input fingerprint taken before it, and its rendering: a periodic resync reuses them. */
  private loaded: { fingerprint: string; load: LoadResult; conf?: string; hash?: string } | undefined;

  constructor(private readonly opts: ApplierOptions) {}

  /**
   * Asks for an apply; concurrent requests coalesce into one more run with the latest input. A `periodic` request
   * (the resync timer) reuses the last load when the input files were not touched since (see inputFingerprint)
   * and the load did not read the host; everything after the load (data plane check, verification, retries of a
   * failed apply) runs as for any request.
   */
  request(reason: string, opts: { periodic?: boolean } = {}): Promise<void> {
    const periodic = opts.periodic === true;
    if (this.busy) {
      this.pending = { reason, periodic: periodic && (this.pending?.periodic ?? true) };
      return this.idle;
    }
    this.busy = true;
    this.idle = (async () => {
      try {
        let next: { reason: string; periodic: boolean } | undefined = { reason, periodic };
        while (next !== undefined) {
          this.pending = undefined;
          await this.applyOnce(next.reason, { periodic: next.periodic });
          next = this.pending;
        }
      } finally {
        this.busy = false;
      }
    })();
    return this.idle;
  }

  /** Loads the input, or reuses the last load for a periodic resync when nothing it depends on changed. */
  private async load(periodic: boolean): Promise<{ load: LoadResult; conf?: string; hash?: string }> {
    const fingerprint = this.opts.configDir ? inputFingerprint(this.opts.configDir) : 'environment';
    const last = this.loaded;
    if (periodic && last && last.fingerprint === fingerprint && !last.load.readHost) {
      this.resyncsSkipped++;
      return last;
    }
    const load = await loadConfig({ ...(this.opts.configDir && { configDir: this.opts.configDir }), env: this.opts.env, facts: this.opts.facts });
    let rendered: { conf: string; hash: string } | undefined;
    if (load.spec && !hasErrors(load.problems)) {
      const conf = renderFrrConf(load.spec);
      rendered = { conf, hash: configHash(conf) };
    }
    this.loaded = { fingerprint, load, ...rendered };
    return this.loaded;
  }

  private record(rec: Omit<ApplyRecord, 'at' | 'generation' | 'durationMs'>, started: number): ApplyRecord {
    const full: ApplyRecord = { ...rec, generation: this.generation, at: new Date().toISOString(), durationMs: Math.round(performance.now() - started) };
    const repeat = full.result === 'unchanged' || (full.result === 'invalid' && this.last?.result === 'invalid' && this.last.error === full.error);
    this.last = full;
    this.opts.onRecord?.(full, repeat);
    return full;
  }

  async applyOnce(reason: string, opts: { periodic?: boolean } = {}): Promise<ApplyRecord> {
    const log = this.opts.logger;
    const t0 = performance.now();
    const { load, conf, hash } = await this.load(opts.periodic === true);
    const previousProblems = this.lastLoad?.problems.map(formatProblem).join('\n');
    this.lastLoad = load;
    const problems = load.problems.map(formatProblem);
    if (hasErrors(load.problems) || !load.spec || conf === undefined || hash === undefined) {
      // Log a rejection once per distinct input, not at every periodic resync.
      if (problems.join('\n') !== previousProblems) {
        log.error({ event: 'config_rejected', reason, errors: problems, keptGeneration: this.running?.generation ?? null }, `config rejected, ${this.running ? `generation ${this.running.generation} keeps running` : 'nothing applied yet'}: ${problems.filter((p) => p.startsWith('error')).join('; ')}`);
      }
      return this.record({ result: 'invalid', restarted: [], reason, error: problems.filter((p) => p.startsWith('error')).join('\n') }, t0);
    }
    if (problems.length > 0 && problems.join('\n') !== previousProblems) log.warn({ event: 'config_warnings', warnings: problems }, problems.join('; '));

    const tLoaded = performance.now();
    if (this.running?.hash === hash) {
      // Nothing to render, but a device deleted by hand is recreated here (every resync).
      let restarted: DaemonName[] = [];
      try {
        const dp = await this.reconcileDataplane(load.spec, this.running.spec);
        if (dp.restartZebra) restarted = await this.opts.daemons.restartFor('zebra', restartSignal(this.running.spec));
      } catch (e) {
        const error = (e as Error).message;
        return this.record({ result: 'failed', hash, restarted, reason, error }, t0);
      }
      if (restarted.length === 0 && this.verifiedHash === hash) return this.record({ result: 'unchanged', hash, restarted, reason }, t0);
      // Not verified yet (the apply failed, e.g. a daemon could not start and came back later): verify now.
      try {
        await this.verify(this.running.conf);
      } catch (e) {
        return this.record({ result: 'failed', hash, restarted, reason, error: (e as Error).message }, t0);
      }
      return this.succeeded(this.record({ result: 'applied', hash, restarted, reason }, t0));
    }
    log.info({ event: 'config_changed', reason, hash, previousHash: this.running?.hash ?? null }, `config change seen (${reason})`);

    // The devices come first: zebra must find them when it (re)starts. A data plane failure does not stop the
    // apply: BGP runs with what could be set up, the failure is reported (/status, /readyz) and retried every resync.
    const dataplaneRestart = (await this.reconcileDataplane(load.spec, this.running?.spec)).restartZebra;

    try {
      await writeFileAtomic(this.opts.paths.frrConf, conf, 0o600);
    } catch (e) {
      const error = `writing ${this.opts.paths.frrConf} failed: ${(e as Error).message}; generation ${this.running?.generation ?? 0} keeps running`;
      log.error({ event: 'config_apply_failed', reason, err: error }, error);
      return this.record({ result: 'failed', hash, restarted: [], reason, error }, t0);
    }
    const tWritten = performance.now();
    const before = this.running;
    this.generation++;
    this.running = { spec: load.spec, conf, hash, generation: this.generation, appliedAt: new Date().toISOString() };
    let restarted: DaemonName[] = [];
    let tRestarted: number;
    try {
      if (!before) {
        await this.opts.daemons.startAll();
        restarted = ['zebra', 'staticd', 'bgpd'];
      } else {
        const scope = dataplaneRestart ? 'zebra' : restartScope(before.spec, load.spec);
        restarted = await this.opts.daemons.restartFor(scope, restartSignal(before.spec));
      }
      tRestarted = performance.now();
      await this.verify(conf);
    } catch (e) {
      const error = (e as Error).message;
      log.error({ event: 'config_apply_failed', generation: this.generation, reason, restarted, err: error }, `apply of generation ${this.generation} failed: ${error}`);
      return this.record({ result: 'failed', hash, restarted, reason, error }, t0);
    }
    const phases = { loadRender: Math.round(tLoaded - t0), write: Math.round(tWritten - tLoaded), restart: Math.round(tRestarted - tWritten), verify: Math.round(performance.now() - tRestarted) };
    return this.succeeded(this.record({ result: 'applied', hash, restarted, reason, phases }, t0));
  }

  private succeeded(rec: ApplyRecord): ApplyRecord {
    this.lastSuccessAt = new Date();
    this.verifiedHash = rec.hash;
    this.opts.logger.info(
      { event: 'config_applied', generation: rec.generation, hash: rec.hash, durationMs: rec.durationMs, phases: rec.phases, restarted: rec.restarted, reason: rec.reason },
      `config generation ${rec.generation} applied in ${rec.durationMs} ms (restarted ${rec.restarted.join(', ') || 'nothing'})`,
    );
    return rec;
  }

  /**
   * Reconciles the EVPN devices (only when EVPN is or was configured) and checks IP forwarding; never throws: the
   * outcome goes to `this.dataplane` (logged when it changes), and zebra restarts when a step that ran asks for it.
   */
  private async reconcileDataplane(spec: Spec, previous: Spec | undefined): Promise<{ restartZebra: boolean }> {
    const log = this.opts.logger;
    const report: DataplaneReport = { ok: true, checkedAt: new Date().toISOString(), warnings: [] };
    let restartZebra = false;
    if (spec.evpn || previous?.evpn) {
      try {
        const desired = await desiredFromHost(spec);
        const r = await reconcile(desired, { owned: ownedFromSpec(previous?.evpn ? previous : spec), logger: log });
        restartZebra = r.restartZebra;
        report.warnings = r.warnings;
      } catch (e) {
        report.ok = false;
        report.error = (e as Error).message;
        if (e instanceof DataplaneStepError) {
          restartZebra = e.restartZebra;
          report.failedSteps = e.failures.map((f) => ({ argv: f.step.argv, why: f.step.why, error: f.stderr.trim() || `exit ${String(f.exitCode)}` }));
        }
      }
    }
    try {
      report.forwarding = await checkForwarding(spec);
      if (report.forwarding.problems.length > 0) report.ok = false;
    } catch (e) {
      report.ok = false;
      report.error = [report.error, `checking IP forwarding: ${(e as Error).message}`].filter(Boolean).join('; ');
    }
    const before = this.dataplane;
    const sameProblems = (r: DataplaneReport | undefined): string => JSON.stringify([r?.error, r?.forwarding?.problems]);
    if (sameProblems(before) !== sameProblems(report)) {
      if (report.error !== undefined) log.error({ event: 'dataplane_failed', err: report.error, failedSteps: report.failedSteps, restartZebra }, `data plane: ${report.error}; BGP keeps running, retried every resync`);
      for (const p of report.forwarding?.problems ?? []) log.error({ event: 'forwarding_off', namespace: report.forwarding?.namespace }, p);
      if (report.ok && before && !before.ok) log.info({ event: 'dataplane_recovered' }, 'data plane: every step done and forwarding on');
    }
    this.dataplane = report;
    return { restartZebra };
  }

  /** The running config (as FRR prints it) must equal what was rendered, line for line. */
  private async verify(conf: string): Promise<void> {
    const want = parseRunningConfig(conf);
    const deadline = Date.now() + (this.opts.verifyTimeoutMs ?? 3000);
    let diff: string;
    for (;;) {
      const text = await this.opts.vtysh.run(['show running-config']);
      // With the netns VRF backend FRR adds the namespace path to the VRF block.
      const have = parseRunningConfig(text).filter((l) => !/^ netns \/run\/netns\/\S+$/.test(l));
      diff = lineDiff(want, have);
      if (diff === '') return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the running config differs from the rendered one:\n${diff}`);
  }
}

/** Each config line keyed by the block it sits in (by indentation), so the same line in two blocks differs. */
export function contextKeys(lines: readonly string[]): string[] {
  const stack: Array<{ indent: number; line: string }> = [];
  return lines.map((line) => {
    const indent = line.length - line.trimStart().length;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const key = [...stack.map((s) => s.line.trim()), line.trim()].join(' > ');
    stack.push({ indent, line });
    return key;
  });
}

/** How the running config differs from the rendered one: lines missing and lines unexpected, in context. Order is not compared. */
export function lineDiff(want: readonly string[], have: readonly string[]): string {
  const w = contextKeys(want);
  const h = contextKeys(have);
  const hs = new Set(h);
  const ws = new Set(w);
  const out = [...w.filter((l) => !hs.has(l)).map((l) => `- ${l}`), ...h.filter((l) => !ws.has(l)).map((l) => `+ ${l}`)];
  return out.slice(0, 20).join('\n');
}
