/**
 * A tcpdump capture in a lab namespace, for proofs about what crossed a link (e.g. probes VXLAN-encapsulated on the
 * underlay veth). Started by pid, stopped with SIGINT by pid. tcpdump comes from scripts/install-test-tools.sh.
 */
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { waitFor } from './lab.ts';

export class Capture {
  readonly lines: string[] = [];
  private readonly stderr: string[] = [];
  private readonly child: ResultPromise;

  private constructor(ns: string, dev: string, filter: string[]) {
    // -l line-buffered, -nn numeric; UDP 4789 is decoded as VXLAN (the inner packet on the next line).
    this.child = execa('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-nn', '-l', ...filter], {
      reject: false,
      stdin: 'ignore',
      buffer: false,
      cleanup: true,
    });
    if (this.child.stdout) createInterface({ input: this.child.stdout }).on('line', (l) => this.lines.push(l));
    if (this.child.stderr) createInterface({ input: this.child.stderr }).on('line', (l) => this.stderr.push(l));
  }

  /** Starts tcpdump on `dev` in `ns` with a filter (`udp port 4789`) and waits until it listens. */
  static async start(ns: string, dev: string, filter: string[]): Promise<Capture> {
    const c = new Capture(ns, dev, filter);
    await waitFor(
      () => {
        if (c.child.exitCode !== null) throw new Error(`tcpdump exited: ${c.stderr.join(' ')}`);
        return c.stderr.some((l) => l.includes('listening on'));
      },
      { timeoutMs: 10_000, what: `tcpdump listening on ${dev} in ${ns}` },
    );
    return c;
  }

  /** Stops the capture (SIGINT) and returns its lines. */
  async stop(): Promise<string[]> {
    this.child.kill('SIGINT');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.child;
    clearTimeout(t);
    return this.lines;
  }

  /** Lines matching a pattern. */
  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l)).length;
  }
}
