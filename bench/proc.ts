/**
 * CPU and memory of a process from /proc (Linux): its own CPU from the threads' schedstat (ns), falling back to
 * user+system ticks (10 ms) where the kernel has no schedstat; its reaped children's CPU in ticks (cutime+cstime).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface ProcSample {
  /** CPU of the process itself (all its threads), ms. */
  selfMs: number;
  /** CPU of its waited-for children (vtysh calls, reaped FRR daemons), ms. */
  childrenMs: number;
  rssMb: number;
  at: number;
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21)
  const n = (i: number): number => Number(f[i]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const threads = threadsCpuMs(pid);
  return {
    selfMs: Number.isFinite(threads) && threads > 0 ? threads : (n(11) + n(12)) * TICK_MS,
    childrenMs: (n(13) + n(14)) * TICK_MS,
    rssMb: rssKb / 1024,
    at: performance.now(),
  };
}

/** Total CPU (user+system) of a set of processes, ms (for the FRR daemons answering the polls). */
export function cpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const s = sampleProc(pid);
      total += s.selfMs;
    } catch {
      /* gone */
    }
  }
  return total;
}

/**
 * On-CPU time of every thread of a process, ms, with nanosecond resolution (/proc/PID/task/TID/schedstat, first
 * field): 10 ms ticks are too coarse for a few ms per poll. Threads that exited are not counted (Node's and Go's
 * threads live as long as the process). Returns NaN when the kernel has no schedstat.
 */
export function threadsCpuMs(pid: number): number {
  let ns = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ESRCH') return NaN;
      /* the thread ended */
    }
  }
  return ns / 1e6;
}
