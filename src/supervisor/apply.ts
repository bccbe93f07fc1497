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
import { BFD_DEFAULTS } from '../config/types.ts';
import { bfdStaticPeers, bfddLiveCommands, buildView, configHash, renderFrrConf, shownConfigHash, specAnchor } from '../render/frr-conf.ts';
import type { FrrPaths } from '../frr/paths.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import type { DaemonName } from '../frr/daemon.ts';
import { runningConfigDiff } from '../frr/running-config.ts';
import type { Logger } from '../log.ts';
import type { DaemonManager } from './daemons.ts';
import { desiredFromHost } from '../dataplane/state.ts';
import { DataplaneStepError, reconcile } from '../dataplane/apply.ts';
import { ownedFromSpec } from '../dataplane/types.ts';
import { checkForwarding } from '../dataplane/forwarding.ts';
import type { ForwardingCheck } from '../dataplane/forwarding.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { drainBeforeRestart, drainsBeforeRestart, withdrawCommands } from './change-drain.ts';
import type { Runner } from '../dataplane/exec.ts';
import type { FrrFlavour } from '../frr/version.ts';
import { liveCommands } from '../render/live-commands.ts';
import type { LiveCommandsFn } from '../render/live-commands.ts';
import { applyLive, liveFallback } from './live-apply.ts';
import type { LiveFallbackStage } from './live-apply.ts';

export type ApplyResult = 'applied' | 'unchanged' | 'invalid' | 'failed';

/** A failed apply of the same input is retried at resyncs, 10 s doubling to 5 min (a new input retries at once). */
export const APPLY_RETRY = { initialMs: 10_000, maxMs: 300_000 } as const;

/** How many runs of the pipeline /status lists. */
export const RECENT_CHECKS = 10;

/** Every run of the pipeline, real apply or not (a resync that found nothing to do, a retry still backing off). */
export interface ApplyCheck {
  at: string;
  result: ApplyResult | 'retry-pending';
  reason: string;
}

export interface ApplyRecord {
  result: ApplyResult;
  /** Increments on every config that was written and (re)started. */
  generation: number;
  /** The rendering's shown hash (password tokens redacted before hashing). */
  hash?: string;
  at: string;
  durationMs: number;
  restarted: DaemonName[];
  /** Applied in place with vtysh (a live change, src/render/live-commands.ts): nothing restarted. */
  live?: boolean;
  reason: string;
  error?: string;
  /** Milliseconds spent in each phase (load, write, restart, verify), for the log line and /status. */
  phases?: Record<string, number>;
  /** Set on a retry of an input whose apply failed before: the attempt number (1 = the first retry). */
  retry?: number;
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
  /** configHash of conf: compared with the next rendering. */
  hash: string;
  /** shownConfigHash of conf: what /status and the logs show. */
  shown: string;
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
  /**
   * Called with every record. `count` says how it counts: `apply` for a new outcome (an input applied, rejected or
   * failed for the first time), `retry` for another attempt at an input that failed before, `none` for a repeat (an
   * unchanged input, the same rejection again).
   */
  onRecord?: (rec: ApplyRecord, count: 'apply' | 'retry' | 'none') => void;
  /** The renderer (a test seam: the template's own refusal is the second line of defence behind validation). */
  render?: (spec: Spec) => string;
  /** How the data plane's commands run (`ip`, sysctl reads; a test seam): execa by default. */
  runner?: Runner;
  /** The FRR being driven (known once the supervisor detected it): live changes need it. */
  frr?: () => FrrFlavour | undefined;
  /** The live-change step's commands (default liveCommands; false: every change restarts). */
  liveCommands?: LiveCommandsFn | false;
  /** A live change fell back to the restart path (counted in frr_supervisor_live_apply_fallbacks_total). */
  onLiveFallback?: (stage: LiveFallbackStage) => void;
}

/**
 * What must restart when the spec changes: zebra sees the VRF/VNI and its own flags, and holds a copy of the
 * prefix-lists and route-maps (vtysh gives them to every daemon that takes them): a bgpd-only restart would leave a
 * removed filter behind in zebra's running config. A change of the BFD profile alone (bfdd's part) restarts nothing:
 * bfdd takes it live ({@link bfddLiveCommands}). Everything else is bgpd's.
 */
export function restartScope(before: Spec, after: Spec): 'zebra' | 'bgpd' | 'none' {
  const zebraView = (s: Spec): string => {
    const view = buildView(s);
    return JSON.stringify({
      vni: s.evpn?.vni ?? null,
      vrf: s.evpn ? s.gateway.vrf : null,
      backend: s.gateway.vrfBackend,
      gr: s.gateway.gracefulRestart,
      filters: [view.v4Filter, view.v6Filter],
      // the anchor's route in the VRF is staticd's: only a zebra-scope restart restarts staticd
      anchor: specAnchor(s),
    });
  };
  if (zebraView(before) !== zebraView(after)) return 'zebra';
  if (before.gateway.bfd && after.gateway.bfd) {
    const withoutProfile = (s: Spec): string => renderFrrConf({ ...s, gateway: { ...s.gateway, bfd: BFD_DEFAULTS } });
    if (withoutProfile(before) === withoutProfile(after)) return 'none';
  }
  return 'bgpd';
}

/** True when bfdd's part of the config differs (profile settings, configured peers). */
function bfddChanged(before: Spec, after: Spec): boolean {
  const part = (s: Spec): string => JSON.stringify([s.gateway.bfd, bfdStaticPeers(s)]);
  return part(before) !== part(after);
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
  /** The last real outcome (applied, failed, invalid); a resync that finds nothing to do does not replace it. */
  last: ApplyRecord | undefined;
  /** The last runs of the pipeline (newest last, at most RECENT_CHECKS), whatever they found. */
  readonly recentChecks: ApplyCheck[] = [];
  lastSuccessAt: Date | undefined;
  /** The hash of the config last verified running (a failed apply can be completed later by crash recovery). */
  verifiedHash: string | undefined;
  /** The data plane's state after the last reconcile and forwarding check. */
  dataplane: DataplaneReport | undefined;
  /** Periodic resyncs that found the input files untouched and reused the last load (counted for the tests). */
  resyncsSkipped = 0;
  private generation = 0;
  private busy = false;
  private closed = false;
  /** The last load, the input fingerprint taken before it, and its rendering: a periodic resync reuses them. */
  private loaded: { fingerprint: string; load: LoadResult; conf?: string; hash?: string; shown?: string } | undefined;
  /** The input whose apply failed, how often it was tried, and when a periodic resync may try it again. */
  private failing: { hash: string; attempts: number; nextAt: number; error: string } | undefined;
  /** The EVPN change drain in progress: aborted, with the reason, by close() and cutChangeDrain(). */
  private changeDrain: AbortController | undefined;

  constructor(private readonly opts: ApplierOptions) {}

  /** A config was applied but not verified running (e.g. a daemon could not start): a crash recovery may complete it. */
  get unverified(): boolean {
    return this.running !== undefined && this.verifiedHash !== this.running.hash;
  }

  /**
   * One run of the pipeline. Runs are serialized by the lifecycle (src/supervisor/lifecycle.ts), which also coalesces
   * requests; a second run while one is in progress is a programming error. A `periodic` request (the resync timer)
   * reuses the last load when the input files were not touched since (see inputFingerprint) and the load did not read
   * the host, and retries a failed apply only once its backoff has passed. The promise never rejects on the input or
   * FRR: an internal error is logged and recorded as a failed apply.
   */
  async request(reason: string, opts: { periodic?: boolean } = {}): Promise<void> {
    if (this.busy) throw new Error('Applier.request: a run is already in progress (the lifecycle serializes runs)');
    if (this.closed) return;
    this.busy = true;
    try {
      await this.applySafely(reason, opts.periodic === true);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Shutting down: a change drain in progress ends at once (and the apply with it: the shutdown drains BGP itself), a
   * verification in progress gives up at its next mismatch instead of waiting.
   */
  close(): void {
    this.closed = true;
    this.changeDrain?.abort('shutting down');
  }

  /**
   * A daemon went down (the supervisor wires DaemonManager's `crash` here): a change drain in progress ends at once,
   * since this replica's routes are gone or going anyway, and the apply goes on (it restarts what the change needs, or
   * fails naming the daemon that is down); the crash recovery, queued behind the apply, follows instead of waiting
   * out the slot.
   */
  cutChangeDrain(reason: string): void {
    this.changeDrain?.abort(reason);
  }

  private async applySafely(reason: string, periodic: boolean): Promise<void> {
    const t0 = performance.now();
    try {
      await this.applyOnce(reason, { periodic });
    } catch (e) {
      const error = `internal error: ${(e as Error).message}`;
      this.opts.logger.error(
        { event: 'apply_internal_error', reason, err: (e as Error).stack ?? error },
        `the apply failed on an internal error: ${(e as Error).message}`,
      );
      this.record({ result: 'failed', restarted: [], reason, error }, t0, 'apply');
    }
  }

  /** Loads the input, or reuses the last load for a periodic resync when nothing it depends on changed. */
  private async load(periodic: boolean): Promise<{ load: LoadResult; conf?: string; hash?: string; shown?: string }> {
    const fingerprint = this.opts.configDir ? inputFingerprint(this.opts.configDir) : 'environment';
    const last = this.loaded;
    if (periodic && last && last.fingerprint === fingerprint && !last.load.readHost) {
      this.resyncsSkipped++;
      return last;
    }
    const load = await loadConfig({
      ...(this.opts.configDir && { configDir: this.opts.configDir }),
      env: this.opts.env,
      facts: this.opts.facts,
    });
    let rendered: { conf: string; hash: string; shown: string } | undefined;
    if (load.spec && !hasErrors(load.problems)) {
      try {
        const conf = (this.opts.render ?? renderFrrConf)(load.spec);
        rendered = { conf, hash: configHash(conf), shown: shownConfigHash(conf) };
      } catch (e) {
        // Validation should make this impossible; the template refusing a value is the second line of defence.
        const { spec: _refused, ...rest } = load;
        const problem = {
          severity: 'error' as const,
          source: 'frr.conf',
          path: '',
          message: `the rendering was refused (${(e as Error).message}); nothing was applied`,
        };
        this.loaded = { fingerprint, load: { ...rest, problems: [...load.problems, problem] } };
        return this.loaded;
      }
    }
    this.loaded = { fingerprint, load, ...rendered };
    return this.loaded;
  }

  private record(
    rec: Omit<ApplyRecord, 'at' | 'generation' | 'durationMs'>,
    started: number,
    count: 'apply' | 'retry' | 'none',
  ): ApplyRecord {
    const full: ApplyRecord = {
      ...rec,
      generation: this.generation,
      at: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
    };
    this.checked(full.result, full.reason, full.at);
    this.last = full;
    this.opts.onRecord?.(full, count);
    return full;
  }

  /** A run that found nothing to do (or a retry still backing off): only the check is recorded. */
  private checked(result: ApplyCheck['result'], reason: string, at = new Date().toISOString()): void {
    this.recentChecks.push({ at, result, reason });
    if (this.recentChecks.length > RECENT_CHECKS) this.recentChecks.shift();
  }

  /** The last run of the pipeline. */
  get lastCheck(): ApplyCheck | undefined {
    return this.recentChecks.at(-1);
  }

  async applyOnce(reason: string, opts: { periodic?: boolean } = {}): Promise<void> {
    const log = this.opts.logger;
    const t0 = performance.now();
    const { load, conf, hash, shown } = await this.load(opts.periodic === true);
    const previousProblems = this.lastLoad?.problems.map(formatProblem).join('\n');
    this.lastLoad = load;
    const problems = load.problems.map(formatProblem);
    if (hasErrors(load.problems) || !load.spec || conf === undefined || hash === undefined || shown === undefined) {
      const errors = problems.filter((p) => p.startsWith('error'));
      // Logged and counted once per distinct input, not at every periodic resync.
      const repeat = this.last?.result === 'invalid' && problems.join('\n') === previousProblems;
      if (!repeat) {
        log.error(
          { event: 'config_rejected', reason, errors: problems, keptGeneration: this.running?.generation ?? null },
          `config rejected, ${this.running ? `generation ${this.running.generation} keeps running` : 'nothing applied yet'}: ${errors.join('; ')}`,
        );
      }
      this.record({ result: 'invalid', restarted: [], reason, error: errors.join('\n') }, t0, repeat ? 'none' : 'apply');
      return;
    }
    if (problems.length > 0 && problems.join('\n') !== previousProblems)
      log.warn({ event: 'config_warnings', warnings: problems }, problems.join('; '));

    // The same input failed before: a periodic resync retries it only once its backoff has passed.
    const failing = this.failing?.hash === hash ? this.failing : undefined;
    if (failing && opts.periodic === true && Date.now() < failing.nextAt) {
      this.checked('retry-pending', reason);
      return;
    }
    if (this.failing && !failing) this.failing = undefined;
    const retry = failing ? failing.attempts : undefined;

    const tLoaded = performance.now();
    if (this.running?.hash === hash) {
      // Nothing to render, but a device deleted by hand is recreated here (every resync).
      let restarted: DaemonName[] = [];
      try {
        const dp = await this.reconcileDataplane(load.spec, this.running.spec);
        if (dp.restartZebra) restarted = await this.opts.daemons.restartFor('zebra', restartSignal(this.running.spec));
      } catch (e) {
        this.failed(hash, shown, reason, restarted, `restarting zebra for the data plane failed: ${(e as Error).message}`, t0, retry);
        return;
      }
      if (restarted.length === 0 && this.verifiedHash === hash) {
        this.checked('unchanged', reason);
        return;
      }
      // Not verified yet (the apply failed, e.g. a daemon could not start and came back later): verify now. While a
      // daemon is down the running config cannot match: fail at once, its recovery asks for the verification when it
      // is back ('daemons recovered'), and it does not wait behind a verification that cannot succeed.
      try {
        const down = this.opts.daemons.names.filter((d) => !this.opts.daemons.isRunning(d));
        if (down.length > 0) throw new Error(`not running yet: ${down.join(', ')} (recovering with backoff)`);
        await this.verify(this.running.conf);
      } catch (e) {
        this.failed(hash, shown, reason, restarted, (e as Error).message, t0, retry);
        return;
      }
      this.succeeded(
        this.record({ result: 'applied', hash: shown, restarted, reason, ...(retry !== undefined && { retry }) }, t0, 'apply'),
        hash,
      );
      return;
    }
    if (retry === undefined)
      log.info(
        { event: 'config_changed', reason, hash: shown, previousHash: this.running?.shown ?? null },
        `config change seen (${reason})`,
      );
    else
      log.info(
        { event: 'config_apply_retry', reason, hash: shown, attempt: retry },
        `retrying the apply that failed (attempt ${retry}): ${failing?.error ?? ''}`,
      );

    // A change FRR takes in place: vtysh, no drain, no restart (live-apply.ts); anything else, or a fallback, goes on.
    if (await this.applyLiveChange(load.spec, { conf, hash, shown }, reason, t0, retry, tLoaded)) return;

    // EVPN with several replicas: wait this replica's slot and withdraw its routes before the restart (change-drain.ts).
    // Cut short by a shutdown, or by a daemon going down (see cutChangeDrain); a daemon down already (its crash
    // recovery waits behind this apply) cuts it before it begins.
    // Only when the change restarts bgpd (a BFD-profile-only change restarts nothing: a drain would leave the routes
    // withdrawn). A data plane change found later may still restart zebra without a drain.
    let drained = false;
    if (this.running && drainsBeforeRestart(this.running.spec, load.spec, restartScope(this.running.spec, load.spec) !== 'none')) {
      const cut = new AbortController();
      this.changeDrain = cut;
      const down = this.opts.daemons.names.filter((d) => !this.opts.daemons.isRunning(d));
      if (this.closed) cut.abort('shutting down');
      else if (down.length > 0) cut.abort(`not running: ${down.join(', ')}`);
      try {
        drained =
          (await drainBeforeRestart({
            running: this.running.spec,
            drain: load.spec.gateway.changeDrain,
            vtysh: this.opts.vtysh,
            logger: log,
            signal: cut.signal,
          })) !== 'failed';
      } finally {
        this.changeDrain = undefined;
      }
      if (this.closed) return; // shutting down: the shutdown's own drain follows
    }

    // The devices come first: zebra must find them when it (re)starts. A data plane failure does not stop the
    // apply: BGP runs with what could be set up, the failure is reported (/status, /readyz) and retried every resync.
    const dataplaneRestart = (await this.reconcileDataplane(load.spec, this.running?.spec)).restartZebra;

    try {
      await writeFileAtomic(this.opts.paths.frrConf, conf, 0o600);
    } catch (e) {
      // The old config keeps running: what the change drain withdrew is advertised again.
      if (drained && this.running) await this.undrain(this.running.spec);
      this.failed(
        hash,
        shown,
        reason,
        [],
        `writing ${this.opts.paths.frrConf} failed: ${(e as Error).message}; generation ${this.running?.generation ?? 0} keeps running`,
        t0,
        retry,
      );
      return;
    }
    const tWritten = performance.now();
    const before = this.running;
    this.generation++;
    this.running = { spec: load.spec, conf, hash, shown, generation: this.generation, appliedAt: new Date().toISOString() };
    let restarted: DaemonName[] = [];
    let tRestarted: number;
    try {
      const bfd = load.spec.gateway.bfd !== undefined;
      if (!before) {
        if (bfd) await this.opts.daemons.setBfd(true, false);
        await this.opts.daemons.startAll();
        restarted = [...this.opts.daemons.names];
      } else {
        const hadBfd = before.spec.gateway.bfd !== undefined;
        // BFD turned on: bfdd first (it reads the new frr.conf), so that the restarted bgpd finds it.
        if (bfd && !hadBfd) restarted.push(...(await this.opts.daemons.setBfd(true, true)));
        // BFD stays on: bfdd keeps running (its sessions stay up) and takes a changed profile or peer list live.
        if (bfd && hadBfd && bfddChanged(before.spec, load.spec))
          await this.opts.vtysh.run(bfddLiveCommands(before.spec, load.spec), { daemon: 'bfdd' });
        const scope = dataplaneRestart ? 'zebra' : restartScope(before.spec, load.spec);
        if (scope !== 'none') restarted.push(...(await this.opts.daemons.restartFor(scope, restartSignal(before.spec))));
        // BFD turned off: bgpd runs without its `bfd` lines by now; bfdd goes.
        if (!bfd && hadBfd) await this.opts.daemons.setBfd(false, true);
      }
      tRestarted = performance.now();
      await this.verify(conf);
    } catch (e) {
      this.failed(hash, shown, reason, restarted, `apply of generation ${this.generation} failed: ${(e as Error).message}`, t0, retry);
      return;
    }
    const phases = {
      loadRender: Math.round(tLoaded - t0),
      write: Math.round(tWritten - tLoaded),
      restart: Math.round(tRestarted - tWritten),
      verify: Math.round(performance.now() - tRestarted),
    };
    this.succeeded(
      this.record({ result: 'applied', hash: shown, restarted, reason, phases, ...(retry !== undefined && { retry }) }, t0, 'apply'),
      hash,
    );
  }

  /**
   * A live change (src/render/live-commands.ts, run and verified by live-apply.ts): true when done here (applied, or
   * failed writing frr.conf); false when the change is not live, or fell back (logged and counted): the restart path
   * takes it then. Not tried while a daemon is down or the running config is unverified, nor when the data plane
   * change needs zebra to restart.
   */
  private async applyLiveChange(
    spec: Spec,
    next: { conf: string; hash: string; shown: string },
    reason: string,
    t0: number,
    retry: number | undefined,
    tLoaded: number,
  ): Promise<boolean> {
    const running = this.running;
    const frr = this.opts.frr?.();
    const fn = this.opts.liveCommands ?? liveCommands;
    if (!running || !frr || fn === false) return false;
    const commands = fn(running.spec, spec, frr);
    if (!commands) return false;
    const fb = { logger: this.opts.logger, ...(this.opts.onLiveFallback && { onFallback: this.opts.onLiveFallback }) };
    const down = this.opts.daemons.names.filter((d) => !this.opts.daemons.isRunning(d));
    if (down.length > 0) return (liveFallback(fb, 'precondition', `not running: ${down.join(', ')}`), false);
    if (this.verifiedHash !== running.hash)
      return (liveFallback(fb, 'precondition', `generation ${running.generation} was never verified running`), false);
    // The devices and routes first (an advertised prefix's route in the VRF): as before a restart.
    if ((await this.reconcileDataplane(spec, running.spec)).restartZebra)
      return (liveFallback(fb, 'precondition', 'the data plane change restarts zebra'), false);
    try {
      await writeFileAtomic(this.opts.paths.frrConf, next.conf, 0o600);
    } catch (e) {
      const error = `writing ${this.opts.paths.frrConf} failed: ${(e as Error).message}; generation ${running.generation} keeps running`;
      this.failed(next.hash, next.shown, reason, [], error, t0, retry);
      return true;
    }
    const tWritten = performance.now();
    const outcome = await applyLive({
      commands,
      conf: next.conf,
      vtysh: this.opts.vtysh,
      verify: (c, ms) => this.verify(c, ms),
      ...fb,
    });
    if (!outcome.applied) return false;
    this.generation++;
    this.running = { spec, ...next, generation: this.generation, appliedAt: new Date().toISOString() };
    const phases = {
      loadRender: Math.round(tLoaded - t0),
      write: Math.round(tWritten - tLoaded),
      live: outcome.commandsMs,
      verify: outcome.verifyMs,
    };
    const rec = {
      result: 'applied' as const,
      hash: next.shown,
      restarted: [],
      live: true,
      reason,
      phases,
      ...(retry !== undefined && { retry }),
    };
    this.succeeded(this.record(rec, t0, 'apply'), next.hash);
    return true;
  }

  /** Advertises again what a change drain withdrew from the running bgpd (the restart it prepared did not happen). */
  private async undrain(running: Spec): Promise<void> {
    try {
      await this.opts.vtysh.run(withdrawCommands(running, true), { timeoutMs: 3000 });
      this.opts.logger.info({ event: 'change_drain_undone' }, 'the apply failed before its restart: type-5 routes advertised again');
    } catch (e) {
      this.opts.logger.warn(
        { event: 'change_drain_undo_failed', err: (e as Error).message },
        `advertising the withdrawn type-5 routes again failed: ${(e as Error).message}`,
      );
    }
  }

  /** Records a failed apply: logged and counted once per distinct input, then retried with backoff. */
  private failed(
    hash: string,
    shown: string,
    reason: string,
    restarted: DaemonName[],
    error: string,
    t0: number,
    retry: number | undefined,
  ): void {
    const attempts = (retry ?? 0) + 1;
    const delay = Math.min(APPLY_RETRY.maxMs, APPLY_RETRY.initialMs * 2 ** (attempts - 1));
    const fields = { reason, hash: shown, generation: this.generation, restarted, err: error, retryInMs: delay };
    if (retry === undefined)
      this.opts.logger.error({ event: 'config_apply_failed', ...fields }, `${error} (retrying in ${Math.round(delay / 1000)} s)`);
    else
      this.opts.logger.warn(
        { event: 'config_apply_retry_failed', attempt: retry, ...fields },
        `retry ${retry} failed: ${error} (next in ${Math.round(delay / 1000)} s)`,
      );
    this.failing = { hash, attempts, nextAt: Date.now() + delay, error };
    this.record(
      { result: 'failed', hash: shown, restarted, reason, error, ...(retry !== undefined && { retry }) },
      t0,
      retry === undefined ? 'apply' : 'retry',
    );
  }

  private succeeded(rec: ApplyRecord, hash: string): void {
    this.lastSuccessAt = new Date();
    this.verifiedHash = hash;
    this.failing = undefined;
    this.opts.logger.info(
      {
        event: 'config_applied',
        generation: rec.generation,
        hash: rec.hash,
        durationMs: rec.durationMs,
        phases: rec.phases,
        restarted: rec.restarted,
        reason: rec.reason,
        ...(rec.retry !== undefined && { retry: rec.retry }),
        ...(rec.live === true && { live: true }),
      },
      `config generation ${rec.generation} applied ${rec.live === true ? 'live ' : ''}in ${rec.durationMs} ms (restarted ${rec.restarted.join(', ') || 'nothing'})`,
    );
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
        const runner = this.opts.runner;
        const desired = await desiredFromHost(spec, { ...(runner && { runner }) });
        const r = await reconcile(desired, {
          owned: ownedFromSpec(previous?.evpn ? previous : spec),
          logger: log,
          ...(runner && { runner }),
        });
        restartZebra = r.restartZebra;
        report.warnings = r.warnings;
      } catch (e) {
        report.ok = false;
        report.error = (e as Error).message;
        if (e instanceof DataplaneStepError) {
          restartZebra = e.restartZebra;
          report.failedSteps = e.failures.map((f) => ({
            argv: f.step.argv,
            why: f.step.why,
            error: f.stderr.trim() || `exit ${String(f.exitCode)}`,
          }));
        }
      }
    }
    try {
      report.forwarding = await checkForwarding(spec, { ...(this.opts.runner && { runner: this.opts.runner }) });
      if (report.forwarding.problems.length > 0) report.ok = false;
    } catch (e) {
      report.ok = false;
      report.error = [report.error, `checking IP forwarding: ${(e as Error).message}`].filter(Boolean).join('; ');
    }
    const before = this.dataplane;
    const sameProblems = (r: DataplaneReport | undefined): string => JSON.stringify([r?.error, r?.forwarding?.problems]);
    if (sameProblems(before) !== sameProblems(report)) {
      if (report.error !== undefined)
        log.error(
          { event: 'dataplane_failed', err: report.error, failedSteps: report.failedSteps, restartZebra },
          `data plane: ${report.error}; BGP keeps running, retried every resync`,
        );
      for (const p of report.forwarding?.problems ?? []) log.error({ event: 'forwarding_off', namespace: report.forwarding?.namespace }, p);
      if (report.ok && before && !before.ok) log.info({ event: 'dataplane_recovered' }, 'data plane: every step done and forwarding on');
    }
    this.dataplane = report;
    return { restartZebra };
  }

  /** The running config (as FRR prints it) must equal what was rendered, line for line. */
  private async verify(conf: string, timeoutMs = this.opts.verifyTimeoutMs ?? 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let diff: string;
    for (;;) {
      diff = runningConfigDiff(conf, await this.opts.vtysh.run(['show running-config']));
      if (diff === '') return;
      if (Date.now() > deadline || this.closed) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the running config differs from the rendered one:\n${diff}`);
  }
}
