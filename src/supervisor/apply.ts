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
import { configHash, renderFrrConf, shownConfigHash } from '../render/frr-conf.ts';
import type { RenderOptions } from '../render/frr-conf.ts';
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
import { stageFileAtomic, writeFileAtomic } from './atomic-write.ts';
import type { StagedFile } from './atomic-write.ts';
import { drainBeforeRestart, logSlotWait, withdrawCommands } from './change-drain.ts';
import type { Runner } from '../dataplane/exec.ts';
import type { ApplyCheck, ApplyProgress, ApplyRecord, DataplaneReport } from './records.ts';
import { describeStep, planChange, withDevicesRestart } from './plan.ts';
import type { ChangePlan, LiveChanges, PlanFrr, PlanStep, StepKind } from './plan.ts';
import { applyLive, liveFallback } from './live-apply.ts';
import type { LiveFallbackStage } from './live-apply.ts';

export type { ApplyCheck, ApplyProgress, ApplyRecord, ApplyResult, DataplaneReport } from './records.ts';

/** A failed apply of the same input is retried at resyncs, 10 s doubling to 5 min (a new input retries at once). */
export const APPLY_RETRY = { initialMs: 10_000, maxMs: 300_000 } as const;

/** How many runs of the pipeline /status lists. */
export const RECENT_CHECKS = 10;

/** The daemons whose loss takes this replica's routes (bgpd's; zebra's and mgmtd's restart bgpd): a crash ends a drain. */
const ROUTE_DAEMONS: readonly DaemonName[] = ['bgpd', 'zebra', 'mgmtd'];

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
  /** Facts about the FRR in use for the renderer (asked at each rendering: known once FRR is detected). */
  renderOptions?: () => RenderOptions;
  /** How the data plane's commands run (`ip`, sysctl reads; a test seam): execa by default. */
  runner?: Runner;
  /**
   * Asks for a run of the pipeline (the supervisor: through the lifecycle). With it, a change drain's slot wait holds
   * nothing: the run that meets the wait ends (resyncs, edits and crash recoveries run meanwhile), and the applier asks
   * for a run when the slot is reached; that run carries out the latest input. Without it the wait is inline.
   */
  requestApply?: (reason: string) => void;
  /**
   * Changes applied in place (the plan's `live` step): `plan` says which commands take FRR from the running spec to
   * the next (null: restart), `run` sends them (vtysh, every daemon, by default). Without it every change restarts.
   */
  live?: LiveChanges;
  /** A live change fell back to the restart (counted in frr_supervisor_live_apply_fallbacks_total). */
  onLiveFallback?: (stage: LiveFallbackStage) => void;
}

/** One apply being carried out: its plan, what it works on, and what it did so far. */
interface Execution {
  plan: ChangePlan;
  before: Running | undefined;
  next: Spec;
  conf: string;
  hash: string;
  shown: string;
  reason: string;
  t0: number;
  retry: number | undefined;
  /** The change drain withdrew this replica's routes (advertised again if the apply fails before its restart). */
  drained: boolean;
  /** frr.conf was written (the generation moved). */
  written?: boolean;
  /** The drain's slot is waited inside this run (a live change's fallback), not between runs. */
  inlineSlot?: boolean;
  /** frr.conf staged before the drain (written in full, renamed by the write step). */
  staged?: StagedFile;
  restarted: DaemonName[];
  /** The live step applied the change in place (no fallback). */
  live?: boolean;
  /** Milliseconds per step kind (and loadRender). */
  phases: Record<string, number>;
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
  /** The step of the plan being carried out (undefined between applies). */
  progress: ApplyProgress | undefined;
  /** Periodic resyncs that found the input files untouched and reused the last load (counted for the tests). */
  resyncsSkipped = 0;
  private generation = 0;
  private busy = false;
  private closed = false;
  /** The last load, the input fingerprint taken before it, and its rendering: a periodic resync reuses them. */
  private loaded: { fingerprint: string; load: LoadResult; conf?: string; hash?: string; shown?: string } | undefined;
  /** The input whose apply failed, how often it was tried, and when a periodic resync may try it again. */
  private failing: { hash: string; attempts: number; nextAt: number; error: string } | undefined;
  /**
   * The config the daemons had before an apply that failed after its write (issue 26, defect 3): the retry plans from
   * it, so that the steps that did not happen (a bfdd start, a bgpd restart) happen then. Cleared by a success.
   */
  private retryFrom: Running | undefined;
  /** The EVPN change drain in progress: aborted, with the reason, by close() and cutChangeDrain(). */
  private changeDrain: AbortController | undefined;
  /** A change drain's slot wait between runs (with requestApply): until when, and the timer that asks for the run. */
  private slotWait: { until: number; slot: number; timer: NodeJS.Timeout; progress: ApplyProgress } | undefined;
  /** The slot wait was cut (bgpd or zebra went down: the routes are gone anyway): the next run restarts at once. */
  private slotCut: string | undefined;

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
    this.endSlotWait('shutting down');
  }

  /**
   * A daemon went down (the supervisor wires DaemonManager's `crash` here). bgpd, zebra or mgmtd: this replica's routes
   * are gone or going anyway, so a change drain in progress ends at once and the apply goes on (it restarts what the
   * change needs, or fails naming the daemon that is down); the crash recovery follows instead of waiting out the
   * slot. Another daemon (staticd, bfdd; `daemon` given): the routes stay, the drain goes on, and the daemon's
   * recovery runs meanwhile (the slot wait holds nothing) (issue 26, defect 9).
   */
  cutChangeDrain(reason: string, daemon?: DaemonName): void {
    if (daemon !== undefined && !ROUTE_DAEMONS.includes(daemon)) return;
    this.changeDrain?.abort(reason);
    if (this.endSlotWait(reason)) {
      this.slotCut = reason;
      this.opts.requestApply?.(`change drain cut: ${reason}`);
    }
  }

  /** Ends a slot wait between runs (logged as change_drain_cut); true when there was one. */
  private endSlotWait(reason: string, log = true): boolean {
    const w = this.slotWait;
    if (!w) return false;
    clearTimeout(w.timer);
    this.slotWait = undefined;
    if (log)
      this.opts.logger.info(
        { event: 'change_drain_cut', reason, phase: 'slot wait', afterMs: Date.now() - Date.parse(w.progress.since) },
        `EVPN change drain cut short in its slot wait: ${reason}`,
      );
    return true;
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
        const conf = this.opts.render ? this.opts.render(load.spec) : renderFrrConf(load.spec, this.opts.renderOptions?.());
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
      this.endSlotWait('the input became invalid: nothing to apply at the slot');
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
    const version = this.opts.daemons.flavour?.version;
    const frr: PlanFrr = { daemons: this.opts.daemons.names, ...(version && { version }) };
    const planOpts = {
      // The same rendering as the one written (with the FRR's facts: RenderOptions).
      render: (spec: Spec): string => (this.opts.render ? this.opts.render(spec) : renderFrrConf(spec, this.opts.renderOptions?.())),
      ...(this.opts.live && { live: this.opts.live.plan }),
    };
    let plan = planChange(this.running?.spec, load.spec, frr, planOpts);
    let before = this.running;
    // The change that waited for its slot is gone (reverted, or it no longer restarts bgpd): no wait for it any more.
    if (!plan.steps.some((st) => st.kind === 'drain')) this.endSlotWait('the change no longer needs a drain');
    if (this.running && plan.unchanged) {
      // An apply of this config failed after its write (a daemon step failed): unless the daemons took it meanwhile (a
      // crash recovery started them with it), its plan is carried out again from the config they had.
      const from = this.retryFrom;
      const taken = from === undefined || this.verifiedHash === hash || (await this.runningMatches(this.running.conf));
      if (taken) {
        await this.resync(plan, load.spec, this.running, { reason, hash, shown, t0, retry });
        return;
      }
      before = from;
      plan = planChange(from.spec, load.spec, frr, planOpts);
    }
    if (retry === undefined)
      log.info(
        { event: 'config_changed', reason, hash: shown, previousHash: this.running?.shown ?? null, changes: plan.changes },
        `config change seen (${reason}): ${plan.steps.map((st) => st.kind).join(' -> ')}`,
      );
    else
      log.info(
        { event: 'config_apply_retry', reason, hash: shown, attempt: retry },
        `retrying the apply that failed (attempt ${retry}): ${failing?.error ?? ''}`,
      );
    const run: Execution = {
      plan,
      before,
      next: load.spec,
      conf,
      hash,
      shown,
      reason,
      t0,
      retry,
      drained: false,
      restarted: [],
      phases: { loadRender: Math.round(tLoaded - t0) },
    };
    try {
      if ((await this.execute(run, plan.steps)) === 'waiting') this.checked('slot-pending', reason);
    } finally {
      this.progress = this.slotWait?.progress;
      await run.staged?.discard().catch(() => undefined); // committed by the write step, unless the apply ended before
    }
  }

  /**
   * The input renders what runs: the devices are checked (a device deleted by hand is recreated here, every resync;
   * zebra restarts when a recreated device asks for it), and a config not verified yet is verified.
   */
  private async resync(
    plan: ChangePlan,
    next: Spec,
    running: Running,
    r: { reason: string; hash: string; shown: string; t0: number; retry: number | undefined },
  ): Promise<void> {
    const { reason, hash, shown, t0, retry } = r;
    let restarted: DaemonName[] = [];
    try {
      const dp = await this.reconcileDataplane(next, running.spec);
      if (dp.restartZebra) {
        const restart = withDevicesRestart(plan, running.spec, { daemons: this.opts.daemons.names }).steps.find(
          (st) => st.kind === 'restart',
        );
        if (restart?.kind === 'restart') restarted = await this.opts.daemons.restartFor(restart.daemons, restart.signal);
      }
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
      await this.verify(running.conf);
    } catch (e) {
      this.failed(hash, shown, reason, restarted, (e as Error).message, t0, retry);
      return;
    }
    this.succeeded(
      this.record({ result: 'applied', hash: shown, restarted, reason, ...(retry !== undefined && { retry }) }, t0, 'apply'),
      hash,
    );
  }

  /** Shows the step in progress (/status, `apply_step` log line). */
  private enter(run: Execution, step: PlanStep, steps: PlanStep[]): void {
    const index = steps.indexOf(step) + 1;
    const detail = describeStep(step);
    this.progress = { step: step.kind, index, of: steps.length, detail, since: new Date().toISOString() };
    // A resync during a slot wait meets the drain step again: logged once, when the wait began.
    if (step.kind === 'drain' && this.slotWait && Date.now() < this.slotWait.until) return;
    this.opts.logger.info(
      { event: 'apply_step', step: step.kind, index, of: steps.length, generation: this.generation + (run.written ? 0 : 1) },
      `apply step ${index}/${steps.length}: ${detail}`,
    );
  }

  /**
   * Carries out a plan's steps in order and records the outcome ('closed': a shutdown ended it, nothing recorded).
   * The first failure ends it: recorded as a failed apply naming the step, retried with backoff.
   */
  private async execute(run: Execution, steps: PlanStep[]): Promise<'done' | 'closed' | 'failed' | 'waiting'> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as PlanStep;
      this.enter(run, step, steps);
      const tStep = performance.now();
      const outcome = await this.runStep(run, step, steps.slice(i + 1));
      run.phases[step.kind] = (run.phases[step.kind] ?? 0) + Math.round(performance.now() - tStep);
      if (outcome === 'closed' || outcome === 'failed' || outcome === 'waiting') return outcome;
      if (outcome === 'fell-back') return 'done';
      if (typeof outcome === 'object') {
        // The devices asked for a zebra restart: the rest of the plan is the grown one's.
        return this.execute(run, outcome.rest);
      }
    }
    if (steps.at(-1)?.kind === 'verify' || steps.length === 0) {
      this.succeeded(
        this.record(
          {
            result: 'applied',
            hash: run.shown,
            restarted: run.restarted,
            ...(run.live === true && { live: true }),
            reason: run.reason,
            phases: run.phases,
            steps: run.plan.steps.map((st) => st.kind),
            ...(run.retry !== undefined && { retry: run.retry }),
          },
          run.t0,
          'apply',
        ),
        run.hash,
      );
    }
    return 'done';
  }

  /** One step. Returns how the plan goes on: next step, stop (closed, failed), the rest replaced, or done by a fallback. */
  private async runStep(
    run: Execution,
    step: PlanStep,
    rest: PlanStep[],
  ): Promise<'next' | 'closed' | 'failed' | 'fell-back' | 'waiting' | { rest: PlanStep[] }> {
    const log = this.opts.logger;
    const { before } = run;
    const fail = async (error: string, failedStep: StepKind = step.kind): Promise<'failed'> => {
      // The old bgpd runs on (it was not restarted): what the change drain withdrew is advertised again.
      if (run.drained && before && !run.restarted.includes('bgpd')) {
        run.drained = false;
        await this.undrain(before.spec);
      }
      // Some daemons may not have taken the written config: the retry carries out the plan from the config they had.
      if (run.written && before) this.retryFrom ??= before;
      this.failed(run.hash, run.shown, run.reason, run.restarted, error, run.t0, run.retry, failedStep);
      return 'failed';
    };
    switch (step.kind) {
      case 'drain': {
        // EVPN with several replicas: wait this replica's slot and withdraw its routes before the restart
        // (change-drain.ts). Cut short by a shutdown, or by a daemon going down (see cutChangeDrain); a daemon down
        // already (its crash recovery waits behind this apply) cuts it before it begins.
        if (!before) return 'next';
        const down = this.opts.daemons.names.filter((d) => !this.opts.daemons.isRunning(d));
        if (this.slotCut !== undefined) {
          // bgpd or zebra went down during the slot wait: the routes are gone anyway, restart now.
          this.slotCut = undefined;
          return 'next';
        }
        // The slot wait, between runs: this run ends here, what runs is kept repaired, and the run asked for at the slot
        // carries out the input of that moment (issue 26, defect 6).
        let slotWaited = false;
        if (this.opts.requestApply && !run.inlineSlot && step.delayMs > 0 && !this.closed && down.length === 0) {
          if (!this.slotWait) {
            logSlotWait(log, before.spec, run.next.gateway.changeDrain);
            const request = this.opts.requestApply;
            this.slotWait = {
              until: Date.now() + step.delayMs,
              slot: step.slot,
              timer: setTimeout(() => request('change drain: slot reached'), step.delayMs),
              progress: {
                step: 'drain',
                index: 1,
                of: run.plan.steps.length,
                detail: `drain: waiting for slot ${step.slot} until ${new Date(Date.now() + step.delayMs).toISOString()}`,
                since: new Date().toISOString(),
              },
            };
          }
          if (Date.now() < this.slotWait.until) {
            await this.reconcileDataplane(before.spec, before.spec);
            return 'waiting';
          }
          this.endSlotWait('', false);
          slotWaited = true;
        }
        // frr.conf is written in full (not yet renamed) before anything is withdrawn: a disk that cannot take it fails
        // the apply here, and its retries, without a withdrawal each time (issue 26, defect 7).
        try {
          run.staged = await stageFileAtomic(this.opts.paths.frrConf, run.conf, 0o600);
        } catch (e) {
          return fail(this.writeFailed(e, before), 'write');
        }
        const cut = new AbortController();
        this.changeDrain = cut;
        if (this.closed) cut.abort('shutting down');
        else if (down.length > 0) cut.abort(`not running: ${down.join(', ')}`);
        try {
          // Withdrawn (confirmed or not): advertised again if the apply fails before bgpd restarts.
          run.drained = (
            await drainBeforeRestart({
              running: before.spec,
              drain: run.next.gateway.changeDrain,
              vtysh: this.opts.vtysh,
              logger: log,
              signal: cut.signal,
              slotWaited,
            })
          ).withdrawn;
        } finally {
          this.changeDrain = undefined;
        }
        return this.closed ? 'closed' : 'next'; // shutting down: the shutdown's own drain follows
      }
      case 'devices': {
        // A data plane failure does not stop the apply: BGP runs with what could be set up, the failure is reported
        // (/status, /readyz) and retried every resync.
        const dp = await this.reconcileDataplane(run.next, before?.spec);
        if (!dp.restartZebra || !before) return 'next';
        const grown = withDevicesRestart({ ...run.plan, steps: rest }, before.spec, { daemons: this.opts.daemons.names });
        if (JSON.stringify(grown.steps) === JSON.stringify(rest)) return 'next';
        run.plan = { ...run.plan, steps: [...run.plan.steps.slice(0, run.plan.steps.length - rest.length), ...grown.steps] };
        return { rest: grown.steps };
      }
      case 'write': {
        try {
          if (run.staged) await run.staged.commit();
          else await writeFileAtomic(this.opts.paths.frrConf, run.conf, 0o600);
        } catch (e) {
          // The old config keeps running: what the change drain withdrew is advertised again (fail).
          return fail(this.writeFailed(e, before));
        }
        run.written = true;
        this.generation++;
        this.running = {
          spec: run.next,
          conf: run.conf,
          hash: run.hash,
          shown: run.shown,
          generation: this.generation,
          appliedAt: new Date().toISOString(),
        };
        return 'next';
      }
      default:
        try {
          return await this.runDaemonStep(run, step);
        } catch (e) {
          return fail(`apply of generation ${this.generation} failed: ${(e as Error).message}`);
        }
    }
  }

  private writeFailed(e: unknown, before: Running | undefined): string {
    return `writing ${this.opts.paths.frrConf} failed: ${(e as Error).message}; generation ${before?.generation ?? 0} keeps running`;
  }

  /** The steps after the write: the daemons, live commands, verification (a throw fails the apply). */
  private async runDaemonStep(run: Execution, step: PlanStep): Promise<'next' | 'closed' | 'failed' | 'fell-back'> {
    const d = this.opts.daemons;
    switch (step.kind) {
      case 'start':
        if (run.next.gateway.bfd !== undefined) await d.setBfd(true, false);
        await d.startAll();
        run.restarted = [...d.names];
        return 'next';
      case 'bfdd':
        // BFD turned on: bfdd first (it reads the new frr.conf), so that the restarted bgpd finds it. BFD stays on:
        // bfdd keeps running (its sessions stay up) and takes a changed profile or peer list live. BFD turned off:
        // bgpd runs without its `bfd` lines by now; bfdd goes.
        if (step.action === 'start') run.restarted.push(...(await d.setBfd(true, true)));
        else if (step.action === 'live') await this.opts.vtysh.run(step.commands, { daemon: 'bfdd' });
        else await d.setBfd(false, true);
        return 'next';
      case 'restart':
        run.restarted.push(...(await d.restartFor(step.daemons, step.signal)));
        return 'next';
      case 'push':
        // Done by each start above (DaemonManager's configure hook): nothing more to send.
        return 'next';
      case 'verify':
        await this.verify(run.conf);
        return 'next';
      case 'live': {
        // Applied in place and verified (live-apply.ts); any refusal or difference: live_apply_fallback, then the
        // restart the plan holds for it (which replaces whatever the commands left half done).
        const fb = { logger: this.opts.logger, ...(this.opts.onLiveFallback && { onFallback: this.opts.onLiveFallback }) };
        const down = this.opts.daemons.names.filter((n) => !this.opts.daemons.isRunning(n));
        const outcome =
          down.length > 0
            ? liveFallback(fb, 'precondition', `not running: ${down.join(', ')}`)
            : run.before && this.verifiedHash !== run.before.hash
              ? liveFallback(fb, 'precondition', `generation ${run.before.generation} was never verified running`)
              : await applyLive({
                  commands: step.commands,
                  conf: run.conf,
                  vtysh: this.opts.vtysh,
                  // Without a sender of its own: every daemon that takes the commands, as vtysh does by default.
                  send: this.opts.live?.run ?? ((cmds, vtysh) => vtysh.run(cmds, { timeoutMs: 10_000 }).then(() => undefined)),
                  verify: (conf, ms) => this.verify(conf, ms),
                  ...fb,
                });
        if (outcome.applied) {
          run.live = true;
          return 'next';
        }
        // The config is written and partly taken: the fallback's drain waits its slot inline, holding the apply.
        run.inlineSlot = true;
        const fellBack = await this.execute(run, step.fallback);
        // ('waiting' cannot come back: inlineSlot)
        return fellBack === 'done' || fellBack === 'waiting' ? 'fell-back' : fellBack;
      }
      default:
        throw new Error(`step ${step.kind} runs before the write`);
    }
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
    failedStep?: StepKind,
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
      {
        result: 'failed',
        hash: shown,
        restarted,
        reason,
        error,
        ...(retry !== undefined && { retry }),
        ...(failedStep && { failedStep }),
      },
      t0,
      retry === undefined ? 'apply' : 'retry',
    );
  }

  private succeeded(rec: ApplyRecord, hash: string): void {
    this.retryFrom = undefined;
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

  /** One comparison of the running config with a rendering, no wait (false when a daemon is down or vtysh fails). */
  private async runningMatches(conf: string): Promise<boolean> {
    if (this.opts.daemons.names.some((d) => !this.opts.daemons.isRunning(d))) return false;
    try {
      return runningConfigDiff(conf, await this.opts.vtysh.run(['show running-config'])) === '';
    } catch {
      return false;
    }
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
