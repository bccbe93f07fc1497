/**
 * The supervisor's lifecycle: the one serialized place every operation passes through. An apply (startup, file
 * event, periodic resync, 'daemons recovered'), a crash recovery's attempt to start daemons again, and the shutdown
 * are events; TRANSITIONS says, for each state, what each event does. One operation runs at a time; what arrives
 * meanwhile waits in one queue (applies coalesce into one with the latest reason), and the shutdown drops the queue,
 * lets the operation in flight finish within SHUTDOWN_BUDGET.applyMs, drains and stops.
 *
 *   starting   -> the startup apply runs (nothing else before it)
 *   idle       -> nothing runs
 *   applying   -> one run of the apply pipeline (Applier.request)
 *   recovering -> one attempt of a crash recovery (DaemonManager starts what is down, after its backoff)
 *   draining   -> the shutdown: inputs closed, the operation in flight finishing, BGP drained, daemons stopped
 *   stopped    -> everything stopped
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonName } from '../frr/daemon.ts';
import type { Logger } from '../log.ts';
import type { Phase } from '../observe/view.ts';

/**
 * The shutdown's time budget (run's hard limit is 20 s, the Pod's grace period 30 s): the operation in flight (an
 * apply or a recovery's start) may finish (applyMs), a just-restarted bgpd may bring its sessions up so that the drain
 * reaches the peers (sessionWaitMs; the drain's own vtysh call has 3 s), then each daemon gets stopEachMs after
 * SIGTERM before SIGKILL.
 */
export const SHUTDOWN_BUDGET = { applyMs: 6000, sessionWaitMs: 4000, stopEachMs: 2000 } as const;

export type LifecycleState = 'starting' | 'idle' | 'applying' | 'recovering' | 'draining' | 'stopped';
export type LifecycleEvent = 'apply' | 'recover' | 'shutdown';
/**
 * run: start it now. queue: after the operation in flight (an apply coalesces with an apply already queued).
 * hold: queued until start() runs the startup apply. drain: begin the shutdown. join: the shutdown under way.
 * drop: never runs (the caller's promise resolves at once).
 */
export type LifecycleAction = 'run' | 'queue' | 'hold' | 'drain' | 'join' | 'drop';

/** What each event does in each state: the one answer to "what happens if X arrives during Y". */
export const TRANSITIONS: Readonly<Record<LifecycleEvent, Readonly<Record<LifecycleState, LifecycleAction>>>> = {
  apply: { starting: 'hold', idle: 'run', applying: 'queue', recovering: 'queue', draining: 'drop', stopped: 'drop' },
  recover: { starting: 'queue', idle: 'run', applying: 'queue', recovering: 'queue', draining: 'drop', stopped: 'drop' },
  shutdown: { starting: 'drain', idle: 'drain', applying: 'drain', recovering: 'drain', draining: 'join', stopped: 'join' },
};

/** What /status shows as `phase`: a recovery is shown in the daemons' status, the phase is about the config. */
export function phaseOf(state: LifecycleState): Phase {
  switch (state) {
    case 'starting':
      return 'starting';
    case 'applying':
      return 'applying';
    case 'idle':
    case 'recovering':
      return 'idle';
    case 'draining':
    case 'stopped':
      return 'stopping';
  }
}

/** The apply pipeline as the lifecycle drives it (Applier). */
export interface LifecycleApplier {
  /** One run of the pipeline; never rejects. */
  request(reason: string, opts?: { periodic?: boolean }): Promise<void>;
  /** The apply in flight stops waiting (its verification gives up at the next mismatch). */
  close(): void;
  /** A config was applied but not verified running (a daemon failed to start): a recovery may complete it. */
  readonly unverified: boolean;
}

/** The daemons as the lifecycle drives them (DaemonManager). */
export interface LifecycleDaemons {
  readonly names: readonly DaemonName[];
  isRunning(name: DaemonName): boolean;
  /** No more crash recoveries; recoveries waiting for their backoff give up. */
  close(): void;
  stopAll(timeoutMs: number): Promise<void>;
}

/** The shutdown's steps around the daemons' stop, in the order they run. */
export interface ShutdownSteps {
  /** No more input: the watcher and the resync timer. */
  stopInputs(): Promise<void>;
  /** After the operation in flight: the probes and metrics server. */
  stopObserving(): Promise<void>;
  /** Shut the BGP sessions down administratively while bgpd still runs (drain.ts). */
  drain(): Promise<void>;
  /** After the daemons: mount namespace, pid files, sockets. */
  cleanup(): Promise<void>;
}

export interface LifecycleOptions {
  applier: LifecycleApplier;
  daemons: LifecycleDaemons;
  steps: ShutdownSteps;
  logger: Logger;
  /** SHUTDOWN_BUDGET unless given (tests). */
  budget?: { applyMs: number; stopEachMs: number };
}

type Operation =
  | { kind: 'apply'; reason: string; periodic: boolean; startup: boolean; waiters: Array<() => void> }
  | {
      kind: 'recover';
      daemon: DaemonName;
      attempt: () => Promise<DaemonName[]>;
      resolve: (started: DaemonName[]) => void;
      reject: (e: unknown) => void;
    };

/** How many changes of state {@link Lifecycle.history} keeps. */
export const HISTORY_LENGTH = 64;

export class Lifecycle {
  #state: LifecycleState = 'starting';
  readonly #queue: Operation[] = [];
  /** The operation running now (its promise never rejects). */
  #inFlight: { op: Operation; done: Promise<void> } | undefined;
  #stopping: Promise<void> | undefined;
  /** The last {@link HISTORY_LENGTH} changes of state, oldest first (every resync adds two: bounded). */
  readonly history: LifecycleState[] = ['starting'];

  constructor(private readonly opts: LifecycleOptions) {}

  get state(): LifecycleState {
    return this.#state;
  }

  get phase(): Phase {
    return phaseOf(this.#state);
  }

  /**
   * The startup apply: the first operation. An apply asked for before it (a file event while FRR was being prepared)
   * is folded into it. Resolves when it ran (whatever its outcome).
   */
  start(): Promise<void> {
    if (this.#state !== 'starting') return Promise.resolve();
    return new Promise((resolve) => {
      const held = this.#queue.find((op) => op.kind === 'apply');
      const op = held?.kind === 'apply' ? held : { kind: 'apply' as const, reason: '', periodic: false, startup: true, waiters: [] };
      if (held) this.#queue.splice(this.#queue.indexOf(held), 1);
      Object.assign(op, { reason: 'startup', periodic: false, startup: true });
      op.waiters.push(resolve);
      this.#queue.unshift(op);
      this.#kick();
    });
  }

  /**
   * Asks for an apply. Resolves when the run that covers it has finished (or at once when it is dropped). A `periodic`
   * request (the resync) stays periodic only when every request it coalesced with was periodic too.
   */
  apply(reason: string, opts: { periodic?: boolean } = {}): Promise<void> {
    const periodic = opts.periodic === true;
    return new Promise((resolve) => {
      const action = this.#act('apply');
      if (action === 'drop') return resolve();
      const queued = this.#queue.find((op) => op.kind === 'apply');
      if (queued?.kind === 'apply') {
        queued.reason = queued.startup ? queued.reason : reason;
        queued.periodic = periodic && queued.periodic;
        queued.waiters.push(resolve);
      } else {
        this.#queue.push({ kind: 'apply', reason, periodic, startup: false, waiters: [resolve] });
      }
      if (action === 'run') this.#kick();
    });
  }

  /**
   * One attempt of a crash recovery (DaemonManager, after its backoff): runs when nothing else does. Resolves with the
   * daemons it started, or rejects with its error (the recovery retries with backoff); dropped during the shutdown.
   */
  recover(daemon: DaemonName, attempt: () => Promise<DaemonName[]>): Promise<DaemonName[]> {
    return new Promise((resolve, reject) => {
      const action = this.#act('recover');
      if (action === 'drop') return resolve([]);
      this.#queue.push({ kind: 'recover', daemon, attempt, resolve, reject });
      if (action === 'run') this.#kick();
    });
  }

  /**
   * The Pod is going away. In this order, within SHUTDOWN_BUDGET: no new input, applies or crash recoveries (the
   * queue is dropped); the operation in flight finishes, bounded; drain (every neighbour shut down administratively,
   * so the peers withdraw this gateway's routes at once instead of keeping them stale for the graceful-restart time);
   * stop the daemons; clean up.
   */
  shutdown(signal: string): Promise<void> {
    if (this.#act('shutdown') === 'drain') this.#stopping = this.#drainAndStop(signal);
    return this.#stopping ?? Promise.resolve();
  }

  #act(event: LifecycleEvent): LifecycleAction {
    return TRANSITIONS[event][this.#state];
  }

  #enter(state: LifecycleState): void {
    if (state !== this.#state) {
      this.history.push(state);
      if (this.history.length > HISTORY_LENGTH) this.history.splice(0, this.history.length - HISTORY_LENGTH);
    }
    this.#state = state;
  }

  /** Runs the queue unless it runs already (#run catches every operation's error: this never rejects). */
  #kick(): void {
    this.#pump().catch((e: unknown) => this.opts.logger.error({ event: 'lifecycle_internal_error', err: (e as Error).message }));
  }

  async #pump(): Promise<void> {
    if (this.#inFlight) return;
    for (let op = this.#queue.shift(); op; op = this.#queue.shift()) {
      if (this.#stopping) break;
      this.#enter(op.kind === 'recover' ? 'recovering' : op.startup ? 'starting' : 'applying');
      this.#inFlight = { op, done: this.#run(op) };
      await this.#inFlight.done;
      this.#inFlight = undefined;
    }
    if (!this.#stopping) this.#enter('idle');
  }

  async #run(op: Operation): Promise<void> {
    const log = this.opts.logger;
    if (op.kind === 'apply') {
      try {
        await this.opts.applier.request(op.reason, { periodic: op.periodic });
      } catch (e) {
        log.error({ event: 'apply_internal_error', reason: op.reason, err: (e as Error).message });
      }
      for (const w of op.waiters) w();
      return;
    }
    let started: DaemonName[];
    try {
      started = await op.attempt();
    } catch (e) {
      op.reject(e);
      return;
    }
    op.resolve(started);
    // A failed apply completed by this recovery: verify it (and become ready) without waiting for a resync. Only a
    // recovery's starts count: the starts of an apply are verified by that apply.
    const { applier, daemons } = this.opts;
    if (started.length > 0 && applier.unverified && daemons.names.every((d) => daemons.isRunning(d))) {
      this.#queue.push({ kind: 'apply', reason: 'daemons recovered', periodic: false, startup: false, waiters: [] });
    }
  }

  async #drainAndStop(signal: string): Promise<void> {
    const log = this.opts.logger;
    const budget = this.opts.budget ?? SHUTDOWN_BUDGET;
    const t0 = performance.now();
    const was = this.#state;
    this.#enter('draining');
    log.info({ event: 'shutdown', signal, applying: was === 'applying' || was === 'starting' }, `${signal}: draining and stopping`);
    for (const op of this.#queue.splice(0)) {
      if (op.kind === 'apply') for (const w of op.waiters) w();
      else op.resolve([]);
    }
    this.opts.daemons.close();
    this.opts.applier.close();
    // A step that fails must not end the shutdown before the daemons are stopped and `stopped` is logged.
    const step = async (name: string, run: () => Promise<void>): Promise<void> => {
      try {
        await run();
      } catch (e) {
        log.error(
          { event: 'shutdown_step_failed', step: name, err: (e as Error).message },
          `shutdown: ${name} failed: ${(e as Error).message}`,
        );
      }
    };
    await step('stopInputs', () => this.opts.steps.stopInputs());
    const inFlight = this.#inFlight;
    if (inFlight) {
      const what = inFlight.op.kind === 'apply' ? `apply (${inFlight.op.reason})` : `recovery of ${inFlight.op.daemon}`;
      const cancel = new AbortController();
      const settled = await Promise.race([
        inFlight.done.then(() => true),
        sleep(budget.applyMs, false, { signal: cancel.signal }).catch(() => false),
      ]);
      cancel.abort(); // the timer must not keep the process alive
      if (!settled)
        log.warn(
          { event: 'shutdown_apply_abandoned', waitedMs: Math.round(performance.now() - t0), state: was, operation: what },
          `the ${what} in flight did not finish in time; stopping anyway`,
        );
    }
    await step('stopObserving', () => this.opts.steps.stopObserving());
    await step('drain', () => this.opts.steps.drain());
    await step('stopAll', () => this.opts.daemons.stopAll(budget.stopEachMs));
    await step('cleanup', () => this.opts.steps.cleanup());
    this.#enter('stopped');
    log.info({ event: 'stopped', durationMs: Math.round(performance.now() - t0) }, 'frr-supervisor stopped');
  }
}
