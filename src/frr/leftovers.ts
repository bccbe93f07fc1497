// FRR daemons left running by an earlier supervisor (crash, kill -9): found through the instance's pid files
// and verified through /proc/PID/cmdline before anything is signalled, so a reused pid is never touched.
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { DaemonName, FrrLogger } from './daemon.ts';
import type { FrrPaths } from './paths.ts';
import { removeStaleSockets } from './paths.ts';

/** A live FRR daemon of this instance. */
export interface Leftover {
  name: DaemonName;
  pid: number;
}

/** A pid file that did not lead to a live daemon of this instance (it has been removed). */
export interface StaleEntry {
  name: DaemonName;
  pid: number | undefined;
  reason: string;
}

/** Options of {@link findLeftovers} and {@link stopLeftovers}. */
export interface LeftoverOptions {
  /** Root of the proc filesystem (default /proc); injectable for tests. */
  procRoot?: string;
  logger?: FrrLogger;
  /** Called for each stale pid file (after it is removed). */
  onStale?: (entry: StaleEntry) => void;
}

/** Options of {@link stopLeftovers}. */
export interface StopLeftoversOptions extends LeftoverOptions {
  /** Wait this long after SIGTERM before SIGKILL (default 5000 ms). */
  timeoutMs?: number;
  /** The first signal (default SIGTERM); SIGKILL skips the wait. */
  signal?: NodeJS.Signals;
}

/** argv of a process from PROCROOT/PID/cmdline; undefined when the process does not exist (or is a zombie). */
export async function readCmdline(pid: number, procRoot = '/proc'): Promise<string[] | undefined> {
  try {
    const raw = await readFile(join(procRoot, String(pid), 'cmdline'), 'utf8');
    if (raw === '') return undefined; // zombie or kernel thread
    const argv = raw.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    return argv;
  } catch {
    return undefined;
  }
}

/** The value of `-N NAME`, `-NNAME`, `--pathspace NAME` or `--pathspace=NAME` in argv, if any. */
export function pathspaceOf(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-N' || a === '--pathspace') return argv[i + 1];
    if (a.startsWith('--pathspace=')) return a.slice('--pathspace='.length);
    if (a.startsWith('-N') && a.length > 2 && !a.startsWith('--')) return a.slice(2);
  }
  return undefined;
}

/** True when argv is the given FRR daemon of this instance: argv[0] is binDir/NAME and the pathspace matches. */
export function isInstanceDaemon(argv: readonly string[], name: DaemonName, paths: FrrPaths): boolean {
  return argv[0] === paths.binary(name) && pathspaceOf(argv) === paths.pathspace;
}

async function readPid(file: string): Promise<number | undefined | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // no pid file
    throw err;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Reads the instance's pid files and returns the daemons that are alive AND whose /proc cmdline is the
 * matching FRR binary with the same pathspace. Every other pid file (dead pid, pid reused by another program,
 * garbage) is reported as stale and removed; such pids are never signalled.
 */
export async function findLeftovers(paths: FrrPaths, names: readonly DaemonName[], opts: LeftoverOptions = {}): Promise<Leftover[]> {
  const procRoot = opts.procRoot ?? '/proc';
  const found: Leftover[] = [];
  for (const name of names) {
    const file = paths.pidFile(name);
    const pid = await readPid(file);
    if (pid === null) continue;
    let reason: string | undefined;
    if (pid === undefined) reason = 'unreadable pid file';
    else {
      const argv = await readCmdline(pid, procRoot);
      if (argv === undefined) reason = 'process not running';
      else if (!isInstanceDaemon(argv, name, paths)) reason = `pid belongs to another program: ${argv.slice(0, 4).join(' ')}`;
    }
    if (reason === undefined && pid !== undefined) {
      found.push({ name, pid });
      continue;
    }
    await removeFile(file);
    const entry: StaleEntry = { name, pid, reason: reason ?? 'unknown' };
    opts.logger?.warn({ daemon: name, pid, pidFile: file, reason: entry.reason }, 'removed stale FRR pid file');
    opts.onStale?.(entry);
  }
  return found;
}

/** Signals pid only if it is still the expected daemon (guards against pid reuse between checks). */
async function signalIfSame(l: Leftover, paths: FrrPaths, signal: NodeJS.Signals, procRoot: string): Promise<boolean> {
  const argv = await readCmdline(l.pid, procRoot);
  if (argv === undefined || !isInstanceDaemon(argv, l.name, paths)) return false;
  try {
    process.kill(l.pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(l: Leftover, paths: FrrPaths, procRoot: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const argv = await readCmdline(l.pid, procRoot);
    if (argv === undefined || !isInstanceDaemon(argv, l.name, paths)) return true;
    if (Date.now() >= deadline) return false;
    await delay(50);
  }
}

/**
 * Stops the instance's leftover daemons: SIGTERM, wait up to timeoutMs (default 5 s), SIGKILL; then removes
 * their pid files and the stale sockets of the instance run dir. Returns what was stopped.
 */
export async function stopLeftovers(paths: FrrPaths, names: readonly DaemonName[], opts: StopLeftoversOptions = {}): Promise<Leftover[]> {
  const procRoot = opts.procRoot ?? '/proc';
  const timeoutMs = opts.timeoutMs ?? 5000;
  const leftovers = await findLeftovers(paths, names, opts);
  await Promise.all(
    leftovers.map(async (l) => {
      opts.logger?.warn({ daemon: l.name, pid: l.pid }, 'stopping leftover FRR daemon');
      const first = opts.signal ?? 'SIGTERM';
      await signalIfSame(l, paths, first, procRoot);
      if (!(await waitGone(l, paths, procRoot, first === 'SIGKILL' ? 2000 : timeoutMs)) && first !== 'SIGKILL') {
        opts.logger?.warn({ daemon: l.name, pid: l.pid, timeoutMs }, 'leftover FRR daemon ignored SIGTERM; sending SIGKILL');
        await signalIfSame(l, paths, 'SIGKILL', procRoot);
        await waitGone(l, paths, procRoot, 2000);
      }
      await removeFile(paths.pidFile(l.name));
    }),
  );
  await removeStaleSockets(paths.instanceRunDir);
  return leftovers;
}
