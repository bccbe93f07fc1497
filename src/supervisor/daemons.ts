/**
 * Owns the FRR daemons (mgmtd on FRR 9 and later, zebra, bfdd when BFD is on, staticd, bgpd) as child processes: starts them in
 * order, restarts what a config change needs, recovers from crashes with backoff (p-retry), and stops them in
 * order. Which daemons, in which order and with which arguments comes from the FRR found (src/frr/version.ts).
 *
 * Every start of a daemon is followed by `configure(name)` (push that daemon's part of frr.conf), so a
 * restarted daemon always comes back with the current config. It does not serialize anything itself: startAll and
 * restartFor run inside an apply, and a crash recovery waits for its backoff, then hands each attempt to `schedule`
 * (the lifecycle, src/supervisor/lifecycle.ts, runs it when no apply or other attempt runs).
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { ALL_DAEMON_NAMES, DAEMON_NAMES, FrrDaemon, describeExit } from '../frr/daemon.ts';
import type { DaemonExit, DaemonName, Unkillable } from '../frr/daemon.ts';
import type { FrrPaths } from '../frr/paths.ts';
import { dependentsOf, restartSetFor, withBfd } from '../frr/version.ts';
import type { FrrFlavour } from '../frr/version.ts';
import type { Logger } from '../log.ts';
import { BACKOFF, backoffDelay } from './backoff.ts';

export interface DaemonStatus {
  name: DaemonName;
  running: boolean;
  pid?: number;
  startedAt?: string;
  uptimeSeconds?: number;
  restarts: number;
  lastExit?: string;
  /** When it went down unexpectedly and is not back yet. */
  downSince?: string;
  /** The backoff before the next start attempt, while down. */
  nextAttemptMs?: number;
  lastError?: string;
  /** stop() gave up on this process: SIGKILL did not end it in time (stuck in the kernel); until it exits. */
  unkillable?: Unkillable;
}

interface Events {
  /** A daemon exited without being asked to. */
  crash: [exit: DaemonExit];
  /** A daemon (re)started; reason: initial | config | crash | dependency. */
  started: [name: DaemonName, reason: string];
}

export interface DaemonManagerOptions {
  paths: FrrPaths;
  logger: Logger;
  extraArgs: (name: DaemonName) => string[];
  /** Prepares a start (e.g. zebra's mount namespace) and returns an argv prefix to run the daemon in, if any. */
  prepare?: (name: DaemonName) => Promise<string[] | undefined>;
  /** Pushes the daemon's part of the current config after each start. */
  configure: (name: DaemonName) => Promise<void>;
  /** How bgpd is stopped for a restart (SIGKILL with graceful restart, so the peers keep the routes). */
  restartSignal?: () => NodeJS.Signals;
  /** Before bgpd is SIGKILLed (a graceful restart): bounded wait until its peers hold its routes as fresh. */
  beforeGracefulStop?: () => Promise<void>;
  /** Called when the daemon set changes (bfdd joins or leaves), e.g. to rewrite FRR's daemons file. */
  onDaemonSet?: (names: readonly DaemonName[]) => Promise<void>;
  /**
   * Runs one attempt of a crash recovery when nothing else runs (Lifecycle.recover); the attempt resolves with the
   * daemons it started. Without it the attempt runs at once (a manager used on its own).
   */
  schedule?: (daemon: DaemonName, attempt: () => Promise<DaemonName[]>) => Promise<DaemonName[]>;
  /** Test seams, passed to every FrrDaemon: how long stop() waits after SIGKILL, and how signals are sent. */
  killWaitMs?: number;
  sendSignal?: (pid: number | undefined, signal: NodeJS.Signals) => void;
  /** Test seam: how long a daemon must have run for its crash backoff to start over (BACKOFF.stableMs). */
  backoffStableMs?: number;
}

interface Slot {
  /** Created at each start, since its arguments can change between starts. */
  daemon?: FrrDaemon;
  restarts: number;
  failures: number;
  downSince?: Date;
  nextAttemptMs?: number;
  lastExit?: string;
  lastError?: string;
  recovering: boolean;
  /** It exited again while its recovery was running: recover once more when that one ends. */
  exitedDuringRecovery?: boolean;
  unkillable?: Unkillable;
}

export class DaemonManager extends EventEmitter<Events> {
  private readonly slots = new Map<DaemonName, Slot>();
  private readonly abort = new AbortController();
  /** Aborted at shutdown: recoveries waiting for their backoff give up. */
  private readonly recoveries = new AbortController();
  /** Shutting down: a crash is no longer recovered (the operation in flight may still finish). */
  private closing = false;
  private order: readonly DaemonName[] = DAEMON_NAMES;
  /** The version's daemon set (without bfdd). */
  private base: readonly DaemonName[] = DAEMON_NAMES;
  private frr: FrrFlavour | undefined;

  constructor(private readonly opts: DaemonManagerOptions) {
    super();
    for (const name of ALL_DAEMON_NAMES) this.slots.set(name, this.makeSlot(name));
  }

  /** The FRR being driven (undefined before setFrr). */
  get flavour(): FrrFlavour | undefined {
    return this.frr;
  }

  /** Drives this FRR: its daemon set and order, and which daemons take `-f` (call before startAll). */
  setFrr(frr: FrrFlavour): void {
    this.frr = frr;
    this.base = [...frr.daemons];
    this.order = withBfd(this.base, this.order.includes('bfdd'));
  }

  /**
   * BFD on or off: bfdd joins the daemon set (after zebra, before bgpd) or leaves it. With `now`, bfdd is started
   * (and given its config) or stopped at once; without, the set changes for the next startAll. Returns the
   * daemons started.
   */
  async setBfd(on: boolean, now: boolean): Promise<DaemonName[]> {
    if (this.order.includes('bfdd') === on) return [];
    this.order = withBfd(this.base, on);
    await this.opts.onDaemonSet?.(this.order);
    if (!now) return [];
    // Called by an apply, which the Lifecycle runs alone (no recovery attempt in between).
    if (!on) {
      await this.stopOne('bfdd');
      return [];
    }
    this.slot('bfdd').restarts++;
    await this.startOrRecover('bfdd', 'config');
    return ['bfdd'];
  }

  /** The daemons run, in start order. */
  get names(): readonly DaemonName[] {
    return this.order;
  }

  private makeSlot(_name: DaemonName): Slot {
    return { restarts: 0, failures: 0, recovering: false };
  }

  private newDaemon(name: DaemonName, wrapper?: string[]): FrrDaemon {
    const daemon = new FrrDaemon({
      name,
      paths: this.opts.paths,
      extraArgs: this.opts.extraArgs(name),
      configFile: this.frr?.configFile.has(name) ?? true,
      ...(wrapper && { wrapper }),
      logger: this.opts.logger,
      ...(this.opts.killWaitMs !== undefined && { killWaitMs: this.opts.killWaitMs }),
      ...(this.opts.sendSignal && { sendSignal: this.opts.sendSignal }),
    });
    daemon.on('exit', (exit) => this.onExit(exit));
    return daemon;
  }

  private slot(name: DaemonName): Slot {
    const s = this.slots.get(name);
    if (!s) throw new Error(`unknown daemon ${name}`);
    return s;
  }

  private async startOne(name: DaemonName, reason: string): Promise<void> {
    const s = this.slot(name);
    if (this.abort.signal.aborted) throw new Error('shutting down');
    if (s.daemon?.running) return;
    // Extra args can change between starts (graceful restart turned off, VRF backend changed).
    s.daemon?.removeAllListeners('exit');
    const wrapper = await this.opts.prepare?.(name);
    if (this.abort.signal.aborted) throw new Error('shutting down');
    const daemon = this.newDaemon(name, wrapper);
    s.daemon = daemon;
    await daemon.start();
    try {
      await this.opts.configure(name);
    } catch (e) {
      // A daemon that runs without its config must not count as started: stop it so the retry starts it
      // again and pushes the config (e.g. once a full disk has space again).
      await daemon.stop({ signal: 'SIGKILL', timeoutMs: 2000 }).catch(() => undefined);
      noteUnkillable(s, daemon);
      throw e;
    }
    s.downSince = undefined;
    s.nextAttemptMs = undefined;
    s.lastError = undefined;
    this.opts.logger.info({ event: 'daemon_started', daemon: name, pid: daemon.pid, reason }, `${name} started (${reason})`);
    this.emit('started', name, reason);
  }

  private async stopOne(name: DaemonName, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    const s = this.slot(name);
    const daemon = s.daemon;
    // Not while shutting down: the drain withdraws the routes anyway.
    if (name === 'bgpd' && signal === 'SIGKILL' && daemon?.running && !this.closing) await this.opts.beforeGracefulStop?.();
    await daemon?.stop({ signal, timeoutMs });
    if (daemon) noteUnkillable(s, daemon);
  }

  /** Starts every daemon in order ([mgmtd,] zebra, staticd, bgpd). On failure the daemon is retried with backoff. */
  async startAll(): Promise<void> {
    for (const name of this.order) await this.startOrRecover(name, 'initial');
  }

  /**
   * Restarts for a config change: bgpd alone, or zebra then bgpd (zebra restarted alone leaves bgpd's
   * routes out of the kernel; from FRR 9 on mgmtd and everything after it: restartSetFor). Returns what was
   * restarted.
   */
  async restartFor(scope: 'bgpd' | 'zebra' | readonly DaemonName[], stopSignal: NodeJS.Signals = 'SIGTERM'): Promise<DaemonName[]> {
    // An explicit set comes from the change planner (src/supervisor/plan.ts), in start order.
    const order = typeof scope === 'string' ? restartSetFor(scope, this.order) : this.order.filter((d) => scope.includes(d));
    for (const name of [...order].reverse()) await this.stopOne(name, stopSignal);
    for (const name of order) {
      this.slot(name).restarts++;
      await this.startOrRecover(name, 'config');
    }
    return order;
  }

  /** A daemon that cannot start (binary missing, port taken) is handed to the backoff loop, never retried in a tight loop. */
  private async startOrRecover(name: DaemonName, reason: string): Promise<void> {
    try {
      await this.startOne(name, reason);
    } catch (e) {
      const s = this.slot(name);
      s.downSince ??= new Date();
      s.lastError = (e as Error).message;
      this.opts.logger.error(
        { event: 'daemon_start_failed', daemon: name, attempt: 0, retryInMs: backoffDelay(s.failures), err: s.lastError },
        `${name} could not start: ${s.lastError}`,
      );
      this.recoverInBackground(name);
      throw e;
    }
  }

  private onExit(exit: DaemonExit): void {
    if (exit.expected || this.abort.signal.aborted) return;
    if (this.closing) {
      this.opts.logger.warn(
        { event: 'daemon_exited', daemon: exit.name, pid: exit.pid, code: exit.code, signal: exit.signal, shuttingDown: true },
        `${exit.name} exited during shutdown (${describeExit(exit)}); not restarted`,
      );
      return;
    }
    const s = this.slot(exit.name);
    s.lastExit = `${describeExit(exit)} at ${new Date().toISOString()}`;
    s.downSince ??= new Date();
    // The run's own uptime: by now the daemon counts as not running, so its startedAt is gone.
    if (exit.uptimeMs >= (this.opts.backoffStableMs ?? BACKOFF.stableMs)) s.failures = 0;
    this.opts.logger.error(
      {
        event: 'daemon_exited',
        daemon: exit.name,
        pid: exit.pid,
        code: exit.code,
        signal: exit.signal,
        lastOutput: exit.lastOutput.slice(-5),
      },
      `${exit.name} exited unexpectedly (${describeExit(exit)})`,
    );
    this.emit('crash', exit);
    this.recoverInBackground(exit.name);
  }

  private recoverInBackground(name: DaemonName): void {
    this.recover(name).catch((e: unknown) =>
      this.opts.logger.error(
        { event: 'daemon_recovery_aborted', daemon: name, err: (e as Error).message },
        `recovery of ${name} failed: ${(e as Error).message}`,
      ),
    );
  }

  /**
   * Brings a daemon back with backoff (0.5 s doubling to 30 s; reset after a stable minute), then starts
   * whatever else is not running, in order. zebra's crash restarts bgpd after it (phased restart: bgpd
   * never re-installs its routes into a new zebra by itself).
   */
  private async recover(name: DaemonName): Promise<void> {
    const s = this.slot(name);
    if (this.closing) return;
    if (s.recovering) {
      s.exitedDuringRecovery = true;
      return;
    }
    s.recovering = true;
    try {
      const first = backoffDelay(s.failures);
      s.nextAttemptMs = first;
      await sleep(first, undefined, { signal: this.recoveries.signal });
      const attempt = async (): Promise<DaemonName[]> => {
        const started: DaemonName[] = [];
        if (this.closing) return started;
        for (const dep of dependentsOf(name, this.order).reverse()) {
          if (this.slot(dep).daemon?.running)
            await this.stopOne(dep, dep === 'bgpd' ? (this.opts.restartSignal?.() ?? 'SIGTERM') : 'SIGTERM');
        }
        for (const d of this.order) {
          if (this.slot(d).daemon?.running) continue;
          this.slot(d).restarts++;
          await this.startOne(d, d === name ? 'crash' : 'dependency');
          started.push(d);
        }
        return started;
      };
      await pRetry(() => (this.opts.schedule ? this.opts.schedule(name, attempt) : attempt()), {
        retries: Number.POSITIVE_INFINITY,
        factor: BACKOFF.factor,
        minTimeout: backoffDelay(s.failures + 1),
        maxTimeout: BACKOFF.maxMs,
        randomize: false,
        signal: this.recoveries.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          s.failures++;
          s.lastError = error.message;
          s.nextAttemptMs = backoffDelay(s.failures);
          this.opts.logger.error(
            { event: 'daemon_start_failed', daemon: name, attempt: attemptNumber, retryInMs: s.nextAttemptMs, err: error.message },
            `${name} could not start: ${error.message}`,
          );
        },
      });
      s.failures++;
    } catch (e) {
      if (!this.recoveries.signal.aborted)
        this.opts.logger.error({ event: 'daemon_recovery_aborted', daemon: name, err: (e as Error).message });
    } finally {
      s.recovering = false;
      if (s.exitedDuringRecovery && !this.closing) {
        s.exitedDuringRecovery = false;
        if (!s.daemon?.running) this.recoverInBackground(name);
      }
    }
  }

  /**
   * Shutdown, first step: crashes are no longer recovered and recoveries waiting for their backoff give up; the
   * operation in flight (an apply's restart, a recovery's start) may finish: the lifecycle waits for it, bounded.
   */
  close(): void {
    this.closing = true;
    this.recoveries.abort();
  }

  /**
   * Stops every daemon in reverse order (each: SIGTERM, SIGKILL after `timeoutMs`); no more starts or restarts
   * afterwards. It does not wait for an operation in flight: stopping the processes is what ends it.
   */
  async stopAll(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    this.abort.abort();
    this.recoveries.abort();
    for (const name of [...this.order].reverse()) await this.stopOne(name, 'SIGTERM', timeoutMs).catch(() => undefined);
  }

  isRunning(name: DaemonName): boolean {
    return this.slot(name).daemon?.running ?? false;
  }

  status(): DaemonStatus[] {
    return this.order.map((name) => {
      const s = this.slot(name);
      const d = s.daemon;
      const running = d?.running ?? false;
      return {
        name,
        running,
        ...(d?.pid !== undefined && { pid: d.pid }),
        ...(running &&
          d?.startedAt && { startedAt: d.startedAt.toISOString(), uptimeSeconds: Math.round((Date.now() - d.startedAt.getTime()) / 1000) }),
        restarts: s.restarts,
        ...(s.lastExit && { lastExit: s.lastExit }),
        ...(s.downSince && { downSince: s.downSince.toISOString() }),
        ...(s.nextAttemptMs !== undefined && !running && { nextAttemptMs: s.nextAttemptMs }),
        ...(s.lastError && { lastError: s.lastError }),
        ...(s.unkillable && { unkillable: s.unkillable }),
      };
    });
  }
}

/** Keeps a daemon stop() gave up on in the slot's status until the process finally exits. */
function noteUnkillable(s: Slot, daemon: FrrDaemon): void {
  const u = daemon.unkillable;
  if (!u) return;
  s.unkillable = u;
  daemon.waitExit().then(
    () => {
      if (s.unkillable === u) s.unkillable = undefined;
    },
    () => undefined, // waitExit never rejects
  );
}
