/** CPU and memory of a process from /proc (Linux): user+system ticks of itself and of its reaped children. */
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface ProcSample {
  /** CPU of the process itself, ms. */
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
  return { selfMs: (n(11) + n(12)) * TICK_MS, childrenMs: (n(13) + n(14)) * TICK_MS, rssMb: rssKb / 1024, at: performance.now() };
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
