// One FRR daemon (mgmtd, zebra, staticd or bgpd) run in the foreground as our child process.
//
// FRR facts used here (8.4.4): without `-d` the daemon stays in the foreground; `--log stdout` sends its log
// lines to stdout (format `YYYY/MM/DD HH:MM:SS DAEMON: [ID] text`); stderr carries a few startup notes
// ("Disabling MPLS support", "-z option overrides -N option ...") and fatal errors. The vty socket appears
// once the daemon is ready for vtysh. A second daemon of the same name and pathspace either exits at once
// ("Could not lock pid_file") or, with another pid file, silently takes over the first one's vty socket:
// start() therefore refuses to run when the vty socket already answers.
import { EventEmitter } from 'node:events';
import { constants as fsConstants, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { childEnv } from '../child-env.ts';
import type { FrrPaths } from './paths.ts';
import { socketAnswers } from './paths.ts';

/** The FRR daemons the supervisor runs (mgmtd from FRR 9 on: src/frr/version.ts; bfdd when BFD is on). */
export type DaemonName = 'mgmtd' | 'zebra' | 'bfdd' | 'staticd' | 'bgpd';

/**
 * The one list of daemons: every daemon the supervisor can run, in start order (which run: src/frr/version.ts).
 * bfdd comes after zebra (it is zebra's client) and before bgpd, so that bgpd's BFD registrations find it.
 */
export const ALL_DAEMON_NAMES: readonly DaemonName[] = ['mgmtd', 'zebra', 'bfdd', 'staticd', 'bgpd'];

/** FRR 8's daemons in start order (no mgmtd, no bfdd): what the lab's plain instances run. */
export const DAEMON_NAMES: readonly DaemonName[] = ALL_DAEMON_NAMES.filter((d) => d !== 'mgmtd' && d !== 'bfdd');

/** The subset of a pino logger this module uses. */
export interface FrrLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Options of {@link FrrDaemon}. */
export interface FrrDaemonOptions {
  name: DaemonName;
  paths: FrrPaths;
  /** Extra daemon flags, e.g. `['-K']` for zebra. */
  extraArgs?: string[];
  /** Pass `-f /dev/null` (default true; FRR 10's mgmtd and staticd refuse `-f`: src/frr/version.ts). */
  configFile?: boolean;
  /** argv prefix that must exec (not fork) the daemon, e.g. `['ip', 'netns', 'exec', NS]`. */
  wrapper?: string[];
  /** Added to the minimal environment (PATH, LANG=C); the parent's environment is NOT inherited. */
  env?: Record<string, string>;
  logger?: FrrLogger;
  /** How long start() waits for the vty socket to answer (default 5000 ms). */
  startTimeoutMs?: number;
  /** How long stop() waits for the exit after SIGKILL before giving up on the process (default 5000 ms). */
  killWaitMs?: number;
  /**
   * Test seam: how stop() delivers a signal (default: to the child). A process stuck in the kernel (state D)
   * cannot be made on demand; a test makes one look like that by not delivering the SIGKILL.
   */
  sendSignal?: (pid: number | undefined, signal: NodeJS.Signals) => void;
}

/** A daemon that did not exit after SIGKILL within killWaitMs: stop() gave up on it (see stop()). */
export interface Unkillable {
  pid: number | undefined;
  /** When stop() gave up. */
  since: string;
}

/** Payload of the `'exit'` event. */
export interface DaemonExit {
  name: DaemonName;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the exit was requested with stop(). */
  expected: boolean;
  /** The daemon's last output lines (stdout and stderr). */
  lastOutput: string[];
  /** How long this run lasted, from its spawn to its exit (0 when it never started). */
  uptimeMs: number;
}

/** Typed events of {@link FrrDaemon}. */
export interface FrrDaemonEvents {
  /** The process was spawned (emitted before start() resolves). */
  spawn: [pid: number];
  exit: [info: DaemonExit];
}

/** Options of {@link FrrDaemon.stop}. */
export interface StopOptions {
  signal?: NodeJS.Signals;
  /** SIGKILL after this long (default 5000 ms). */
  timeoutMs?: number;
}

const OUTPUT_LINES = 30;
const FRR_TIMESTAMP = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? /;
const HARMLESS_STDERR = [/^-z option overrides -N option/, /Disabling MPLS support/];

interface Running {
  pid: number | undefined;
  exited: Promise<DaemonExit>;
  kill: (signal: NodeJS.Signals) => boolean;
  done: boolean;
}

/** An FRR daemon run as a foreground child process; emits `'exit'` whenever it ends. */
export class FrrDaemon extends EventEmitter<FrrDaemonEvents> {
  readonly name: DaemonName;
  readonly paths: FrrPaths;
  readonly #opts: FrrDaemonOptions;
  #run: Running | undefined;
  #expected = false;
  #stopping: Promise<void> | undefined;
  /** A start() is between its call and its spawn; stop() meanwhile sets #cancelStart, so it does not spawn. */
  #starting = false;
  #cancelStart = false;
  #startedAt: Date | undefined;
  #output: string[] = [];
  #unkillable: Unkillable | undefined;

  constructor(opts: FrrDaemonOptions) {
    super();
    this.name = opts.name;
    this.paths = opts.paths;
    this.#opts = opts;
  }

  /** The executable path. */
  get binary(): string {
    return this.paths.binary(this.name);
  }

  /** The daemon's arguments (without wrapper and binary). */
  get args(): string[] {
    const configFile = this.#opts.configFile === false ? [] : ['-f', '/dev/null'];
    return [...this.paths.daemonArgs(this.name), ...configFile, '-P', '0', '--log', 'stdout', ...(this.#opts.extraArgs ?? [])];
  }

  /** Full argv that start() spawns: wrapper, binary, args. */
  get argv(): string[] {
    return [...(this.#opts.wrapper ?? []), this.binary, ...this.args];
  }

  /** Pid of the child process (the daemon itself when the wrapper execs), undefined when not running. */
  get pid(): number | undefined {
    return this.running ? this.#run?.pid : undefined;
  }

  /** True from spawn until the process has exited (or stop() gave up on it: see {@link unkillable}). */
  get running(): boolean {
    return this.#run !== undefined && !this.#run.done && this.#unkillable === undefined;
  }

  /** Set when stop() gave up on a process that SIGKILL did not end in time; cleared when it finally exits. */
  get unkillable(): Unkillable | undefined {
    return this.#unkillable;
  }

  /** When the current process was spawned; undefined when not running. */
  get startedAt(): Date | undefined {
    return this.running ? this.#startedAt : undefined;
  }

  /** The last output lines (stdout and stderr) of the current or last process. */
  recentOutput(): string[] {
    return [...this.#output];
  }

  /**
   * Spawns the daemon and resolves once its vty socket answers. Rejects (and leaves nothing running) when the
   * binary is missing, another instance already answers on the vty socket, the process exits early, or the
   * socket does not answer within the start timeout.
   */
  async start(): Promise<void> {
    if (this.#run !== undefined && !this.#run.done) {
      throw new Error(`${this.name} is already running (pid ${this.#run.pid ?? '?'})`);
    }
    this.#starting = true;
    this.#cancelStart = false;
    try {
      await this.#checkStartable();
    } finally {
      this.#starting = false;
    }
    // stop() came while the checks ran (a shutdown reaching a start in flight): no process must appear after it.
    if (this.#cancelStart) throw new Error(`${this.name}: stopped while starting; not started`);
    const bin = this.binary;
    const sock = this.paths.vtySocket(this.name);
    const argv = this.argv;
    const [file, ...args] = argv as [string, ...string[]];
    this.#expected = false;
    this.#stopping = undefined;
    this.#output = [];
    const log = this.#opts.logger;
    log?.debug({ daemon: this.name, argv }, 'starting FRR daemon');

    const child = execa(file, args, {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: true,
      extendEnv: false,
      env: childEnv(this.#opts.env),
      forceKillAfterDelay: false,
      // Not execa's exit cleanup: it installs signal-exit, which re-raises SIGTERM on our process when the
      // number of its subscribers equals the number of SIGTERM listeners, killing the supervisor before it
      // can drain. The supervisor stops its daemons itself; a daemon orphaned by a SIGKILLed supervisor is
      // taken over (stopped by pid, after checking its command line) at the next start.
      cleanup: false,
    });
    const pid = child.pid;
    this.#startedAt = new Date();
    // This run's own start, for its exit's uptime (#startedAt belongs to whichever run is current).
    const spawnedAt = pid === undefined ? undefined : this.#startedAt.getTime();
    const streamsDone = [this.#readLines(child.stdout, 'stdout'), this.#readLines(child.stderr, 'stderr')];

    const run: Running = {
      pid,
      done: false,
      kill: (signal) => (run.done ? false : child.kill(signal)),
      exited: child
        .then(
          (r) => ({ code: r.exitCode ?? 0, signal: r.signal ?? null, spawnError: undefined }),
          (e: unknown) => {
            const err = e as { exitCode?: number; signal?: string; code?: string; originalMessage?: string };
            return {
              code: err.exitCode ?? null,
              signal: (err.signal ?? null) as NodeJS.Signals | null,
              spawnError: err.exitCode === undefined && err.signal === undefined ? err : undefined,
            };
          },
        )
        .then(async (r) => {
          await Promise.allSettled(streamsDone);
          run.done = true;
          if (r.spawnError !== undefined) {
            const se = r.spawnError;
            this.#pushOutput(
              se.code === 'ENOENT' ? `binary not found: ${file}` : `spawn failed: ${se.originalMessage ?? se.code ?? 'unknown error'}`,
            );
          }
          const info: DaemonExit = {
            name: this.name,
            pid,
            code: r.code,
            signal: r.signal,
            expected: this.#expected,
            lastOutput: this.recentOutput(),
            uptimeMs: spawnedAt === undefined ? 0 : Date.now() - spawnedAt,
          };
          const fields = { daemon: this.name, pid, code: info.code, signal: info.signal };
          if (info.expected) log?.info(fields, `${this.name} exited`);
          else log?.warn({ ...fields, lastOutput: info.lastOutput.slice(-5) }, `${this.name} exited unexpectedly`);
          try {
            this.emit('exit', info);
          } catch (err) {
            log?.error({ daemon: this.name, err }, `an 'exit' listener of ${this.name} threw`);
          }
          return info;
        }),
    };
    this.#run = run;
    if (pid !== undefined) this.emit('spawn', pid);

    const timeoutMs = this.#opts.startTimeoutMs ?? defaultStartTimeoutMs();
    const deadline = Date.now() + timeoutMs;
    let exitedInfo: DaemonExit | undefined;
    run.exited.then((i) => (exitedInfo = i)).catch(() => undefined);
    for (;;) {
      if (exitedInfo !== undefined) break;
      if (await socketAnswers(sock, 250)) {
        if (exitedInfo === undefined && !run.done) {
          log?.info({ daemon: this.name, pid, ms: Date.now() - this.#startedAt.getTime() }, `${this.name} started`);
          return;
        }
        break;
      }
      if (Date.now() >= deadline) {
        await this.stop({ timeoutMs: 2000 });
        throw new Error(`${this.name} (${bin}) did not answer on ${sock} within ${timeoutMs} ms; stopped it.${this.#tail()}`);
      }
      await Promise.race([delay(25), run.exited]);
    }
    const info = await run.exited;
    const spawnMsg = info.lastOutput.find((l) => l.startsWith('binary not found: '));
    if (spawnMsg !== undefined) throw new Error(`${this.name}: ${spawnMsg}`);
    throw new Error(`${this.name} (${bin}) exited during start (${describeExit(info)}).${this.#tail()}`);
  }

  /** Before a spawn: the binary can run, and no other daemon answers on this one's vty socket. */
  async #checkStartable(): Promise<void> {
    const bin = this.binary;
    try {
      await access(bin, fsConstants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'ENOENT' ? `${this.name}: binary not found: ${bin}` : `${this.name}: cannot execute ${bin} (${code ?? String(err)})`,
        { cause: err },
      );
    }
    const sock = this.paths.vtySocket(this.name);
    if (await socketAnswers(sock)) {
      throw new Error(
        `${this.name}: another ${this.name} is already running for ${this.#where()}: its vty socket ${sock} answers; ` +
          'refusing to start a second one (it would take over the socket)',
      );
    }
  }

  /**
   * Stops the daemon: sends `signal` (default SIGTERM), SIGKILL after `timeoutMs` (default 5000), resolves once
   * the process has exited. The `'exit'` event then has expected=true. Idempotent; a no-op when not running.
   *
   * Bounded even after SIGKILL: a process stuck in the kernel (state D, e.g. on a hung NFS or a driver) does
   * not die until it leaves the kernel, and waiting for it would block every later apply and recovery. After
   * `killWaitMs` (default 5000) stop() gives up: it logs `daemon_unkillable`, sets {@link unkillable}, counts
   * the daemon as not running, and resolves. A new start is then refused while the old vty socket answers (the
   * restart backoff retries, /status shows it, /livez fails once that lasts past the backoff).
   */
  stop(opts: StopOptions = {}): Promise<void> {
    const run = this.#run;
    if (this.#starting) this.#cancelStart = true; // a start() not spawned yet: it gives up (see start())
    if (run === undefined || run.done || this.#unkillable !== undefined) return Promise.resolve();
    if (this.#stopping !== undefined) return this.#stopping;
    this.#expected = true;
    const { signal = 'SIGTERM', timeoutMs = 5000 } = opts;
    const killWaitMs = this.#opts.killWaitMs ?? 5000;
    const send = (sig: NodeJS.Signals): void => {
      if (this.#opts.sendSignal) this.#opts.sendSignal(run.pid, sig);
      else run.kill(sig);
    };
    this.#stopping = (async () => {
      send(signal);
      if (await raceTimeout(run.exited, signal === 'SIGKILL' ? killWaitMs : timeoutMs)) return;
      if (signal !== 'SIGKILL') {
        this.#opts.logger?.warn(
          { daemon: this.name, pid: run.pid, timeoutMs },
          `${this.name} did not exit after ${signal}; sending SIGKILL`,
        );
        send('SIGKILL');
        if (await raceTimeout(run.exited, killWaitMs)) return;
      }
      const unkillable: Unkillable = { pid: run.pid, since: new Date().toISOString() };
      this.#unkillable = unkillable;
      run.exited.then(
        () => {
          if (this.#unkillable === unkillable) this.#unkillable = undefined;
        },
        () => undefined, // exited never rejects
      );
      this.#opts.logger?.error(
        { event: 'daemon_unkillable', daemon: this.name, pid: run.pid, waitedMs: killWaitMs },
        `${this.name} (pid ${run.pid ?? '?'}) did not exit ${killWaitMs} ms after SIGKILL (stuck in the kernel?); going on without it`,
      );
    })();
    return this.#stopping;
  }

  /** Sends a signal without marking the exit as expected. Returns false when not running. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    const run = this.#run;
    if (run === undefined || run.done) return false;
    return run.kill(signal);
  }

  /** Resolves with the exit info of the current process (immediately with the last one when it has ended). */
  async waitExit(): Promise<DaemonExit | undefined> {
    return this.#run?.exited;
  }

  #where(): string {
    return this.paths.pathspace === undefined ? this.paths.instanceRunDir : `pathspace ${this.paths.pathspace}`;
  }

  #tail(): string {
    const lines = this.#output.slice(-8);
    return lines.length === 0 ? ' No output.' : ` Last output:\n  ${lines.join('\n  ')}`;
  }

  #pushOutput(line: string): void {
    this.#output.push(line);
    if (this.#output.length > OUTPUT_LINES) this.#output.splice(0, this.#output.length - OUTPUT_LINES);
  }

  async #readLines(stream: Readable | null, which: 'stdout' | 'stderr'): Promise<void> {
    if (stream === null) return;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    const log = this.#opts.logger;
    try {
      for await (const raw of rl) {
        const line = raw.replace(FRR_TIMESTAMP, '').trimEnd();
        if (line === '') continue;
        this.#pushOutput(line);
        if (log === undefined) continue;
        if (which === 'stdout') log.info({ daemon: this.name }, line);
        else if (HARMLESS_STDERR.some((re) => re.test(line))) log.debug({ daemon: this.name, stream: which }, line);
        else log.warn({ daemon: this.name, stream: which }, line);
      }
    } catch {
      // stream destroyed: nothing more to read
    }
  }
}

/**
 * How long a daemon may take to answer on its vty socket: 5 s, or FRRSUP_DAEMON_START_TIMEOUT_MS (the VM test
 * runs FRR under software emulation, where a start takes longer).
 */
/**
 * The process runs: it exists and is neither a zombie nor dead (the state in /proc/PID/stat). A daemon killed a
 * moment ago is a zombie until Node reaps it; the sockets it held are closed already.
 */
export function processRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X' && state !== 'x';
  } catch {
    return false;
  }
}

export function defaultStartTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.FRRSUP_DAEMON_START_TIMEOUT_MS);
  return Number.isInteger(v) && v > 0 ? v : 5000;
}

/** "exit code 1" / "signal SIGKILL". */
export function describeExit(info: Pick<DaemonExit, 'code' | 'signal'>): string {
  if (info.signal !== null) return `signal ${info.signal}`;
  return info.code === null ? 'unknown exit status' : `exit code ${info.code}`;
}

/** Resolves true when p settles within ms, false otherwise; never leaves the timer pending. */
async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([p.then(() => true), delay(ms, false, { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}
