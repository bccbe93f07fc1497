/**
 * Long-running helper processes of bench:observe (BIRD, prometheus-frr-exporter), started inside a lab namespace
 * with `ip netns exec` (which execs: the child's pid is the program's pid) and always stopped by that pid: SIGTERM,
 * then SIGKILL. A synchronous fallback kills what is still running when the bench process exits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const live = new Set<NsChild>();
process.on('exit', () => {
  for (const c of live) c.killSync();
});

export class NsChild {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        live.delete(this);
        resolve({ code, signal });
      });
    });
    live.add(this);
  }

  get running(): boolean {
    return !this.done;
  }

  /** SIGTERM by pid, SIGKILL after timeoutMs; resolves when the process has exited. */
  async stop(timeoutMs = 3000): Promise<void> {
    if (this.done) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  killSync(): void {
    if (!this.done) this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(this.pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** Starts argv inside network namespace ns, stdout and stderr appended to logFile. */
export async function spawnInNs(name: string, ns: string, argv: string[], logFile: string): Promise<NsChild> {
  const log = createWriteStream(logFile, { flags: 'a' });
  await new Promise<void>((resolve, reject) => log.once('open', () => resolve()).once('error', reject));
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', log, log] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return new NsChild(name, child);
}
