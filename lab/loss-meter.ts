/**
 * The lab's loss meter: sequenced UDP probes between lab hosts (lab/loss-meter-agent.js, one agent per
 * namespace), at a fixed rate per flow (default 1000 packets/s), reporting per flow: sent, received, lost,
 * duplicates, reordered and the longest gap (the send-time span between the last probe received before a hole and
 * the first one after it: how long the path was broken; 0 without loss).
 *
 * Each flow has a label and a fixed 5-tuple (its own source port, reported), so that with several paths (ECMP
 * over several gateways) a test can tell which path carried which flow (per-gateway counters or captures
 * filtered on the flow's source port), and the meter's counts stay per flow. Agents are started with
 * `ip netns exec NS node ...`, killed by pid at stop (and at process exit), never by name.
 */
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { waitFor } from './lab.ts';

const AGENT = fileURLToPath(new URL('./loss-meter-agent.js', import.meta.url));
/** The UDP port every agent receives on. */
export const METER_PORT = 47_999;

export interface FlowSpec {
  label: string;
  /** Sending namespace. */
  from: string;
  /** Receiving namespace (its agent counts the flow). */
  to: string;
  /** Destination address (an address of the receiving namespace). */
  dst: string;
  /** Source address to bind (default: the kernel's choice). */
  src?: string;
  /** Packets per second (default 1000). */
  rate?: number;
  /** UDP payload bytes (default 64). */
  size?: number;
  /** Fixed source port (default: ephemeral, reported in the stats). */
  srcPort?: number;
}

export interface Hole {
  /** First and last sequence numbers lost. */
  from: number;
  to: number;
  lost: number;
  gapMs: number;
  /** When the hole started, ms after the meter started. */
  atMs: number;
  /** The hole reached the end of the window (the flow had not come back when the report was taken). */
  open?: boolean;
}

export interface FlowStats {
  label: string;
  from: string;
  to: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  rate: number;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
  /** The longest hole in ms of send time (0 without loss). */
  longestGapMs: number;
  /** The longest holes, longest first (at most 10). */
  holes: Hole[];
  holeCount: number;
  sendErrors: number;
  /** Times the sender fell 200 packets behind its schedule (CPU starvation), shifting it: not counted as loss. */
  stalls: number;
  /**
   * UDP receive-buffer overflows in the receiving namespace while the meter ran (all flows to that namespace): probes
   * the receiving agent itself dropped, not the network. Non-zero means the figures overstate the network's loss.
   */
  receiverDrops: number;
  /** Per range asked for in report(): the probes received and the longest run lost among sequence numbers [from, to). */
  ranges?: RangeStats[];
}

export interface RangeStats {
  from: number;
  to: number;
  received: number;
  longestRun: number;
}

interface AgentReport {
  type: 'report';
  id: number;
  nowMs: number;
  rcvbufErrors: number;
  sent: Record<string, { sent: number; startMs: number; lastSendMs: number; sendErrors: number; stalls: number; srcPort: number }>;
  recv: Record<
    string,
    {
      received: number;
      duplicates: number;
      reordered: number;
      maxSeq: number;
      lastSendMs: number;
      lastArrivalMs: number;
      holes: Array<{ from: number; to: number; startMs: number; endMs: number }>;
      holeCount: number;
      minSeq: number;
      minSendMs: number | null;
      ranges?: RangeStats[];
    }
  >;
}

class Agent {
  private readonly child: ResultPromise;
  private readonly waiters = new Map<number, (msg: Record<string, unknown>) => void>();
  private nextId = 1;
  private readonly ready: Promise<void>;
  private readonly stderr: string[] = [];

  constructor(readonly ns: string) {
    this.child = execa('ip', ['netns', 'exec', ns, process.execPath, AGENT, String(METER_PORT)], {
      stdin: 'pipe',
      reject: false,
      cleanup: true,
      buffer: false,
    });
    live.add(this);
    let resolveReady: () => void = () => undefined;
    this.ready = new Promise<void>((resolve) => (resolveReady = resolve));
    if (!this.child.stdout || !this.child.stderr) throw new Error('loss meter agent without pipes');
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.type === 'ready') resolveReady();
      const id = typeof msg.id === 'number' ? msg.id : undefined;
      const w = id === undefined ? undefined : this.waiters.get(id);
      if (w && id !== undefined) {
        this.waiters.delete(id);
        w(msg);
      }
    });
    createInterface({ input: this.child.stderr }).on('line', (l) => this.stderr.push(l));
    this.child.finally(() => live.delete(this)).catch(() => undefined);
  }

  async started(): Promise<void> {
    await waitFor(
      async () => {
        const r = await Promise.race([this.ready.then(() => true), new Promise<false>((res) => setTimeout(() => res(false), 100))]);
        if (!r && this.child.exitCode !== null) throw new Error(`loss meter agent in ${this.ns} exited: ${this.stderr.join(' ')}`);
        return r;
      },
      { timeoutMs: 15_000, what: `loss meter agent in ${this.ns}` },
    );
  }

  request(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`loss meter agent in ${this.ns}: no answer to ${String(cmd.cmd)}; stderr: ${this.stderr.join(' ')}`)),
        10_000,
      );
      this.waiters.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.type === 'error') reject(new Error(`loss meter agent in ${this.ns}: ${String(msg.error)}`));
        else resolve(msg);
      });
      this.child.stdin?.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  async close(): Promise<void> {
    this.child.stdin?.end();
    const t = setTimeout(() => this.kill(), 2000);
    await this.child;
    clearTimeout(t);
  }

  kill(): void {
    try {
      if (this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const live = new Set<Agent>();
process.on('exit', () => {
  for (const a of live) a.kill();
});

/** Monotonic ms, the agents' clock (CLOCK_MONOTONIC is one clock for every namespace of a host). */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class LossMeter {
  private constructor(
    private readonly agents: Map<string, Agent>,
    readonly flows: readonly FlowSpec[],
    readonly startedMs: number,
    private readonly srcPorts: Record<string, number>,
  ) {}

  /** Starts an agent in every namespace involved, then every flow. */
  static async start(flows: readonly FlowSpec[]): Promise<LossMeter> {
    const labels = new Set<string>();
    for (const f of flows) {
      if (labels.has(f.label)) throw new Error(`loss meter: two flows labelled ${f.label}`);
      if (Buffer.byteLength(f.label) > 64) throw new Error(`loss meter: label ${f.label} is longer than 64 bytes`);
      labels.add(f.label);
    }
    const agents = new Map<string, Agent>();
    try {
      for (const ns of new Set(flows.flatMap((f) => [f.from, f.to]))) agents.set(ns, new Agent(ns));
      await Promise.all([...agents.values()].map((a) => a.started()));
      const startedMs = nowMs();
      const srcPorts: Record<string, number> = {};
      for (const [ns, agent] of agents) {
        const mine = flows.filter((f) => f.from === ns);
        if (mine.length === 0) continue;
        const r = await agent.request({
          cmd: 'send',
          flows: mine.map((f) => ({
            label: f.label,
            dst: f.dst,
            port: METER_PORT,
            rate: f.rate ?? 1000,
            size: f.size ?? 64,
            ...(f.src && { src: f.src }),
            ...(f.srcPort && { srcPort: f.srcPort }),
          })),
        });
        for (const [label, v] of Object.entries(r.flows as Record<string, { srcPort: number }>)) srcPorts[label] = v.srcPort;
      }
      return new LossMeter(agents, flows, startedMs, srcPorts);
    } catch (e) {
      await Promise.all([...agents.values()].map((a) => a.close().catch(() => a.kill())));
      throw e;
    }
  }

  /**
   * The statistics of every flow so far (the meter keeps running). `ranges` (per flow label, sequence-number ranges
   * [from, to)) adds, per range, the probes received and the longest run lost in it: phases of a run (before and
   * after a change) counted exactly, by sequence number, without the probes in flight at the moment of a report.
   */
  async report(opts: { ranges?: Record<string, Array<readonly [number, number]>> } = {}): Promise<Record<string, FlowStats>> {
    const reports = new Map<string, AgentReport>();
    await Promise.all(
      [...this.agents].map(async ([ns, a]) =>
        reports.set(ns, (await a.request({ cmd: 'report', ...(opts.ranges && { ranges: opts.ranges }) })) as unknown as AgentReport),
      ),
    );
    const out: Record<string, FlowStats> = {};
    for (const f of this.flows) {
      const s = reports.get(f.from)?.sent[f.label];
      const r = reports.get(f.to)?.recv[f.label];
      const sent = s?.sent ?? 0;
      const received = r?.received ?? 0;
      const rate = f.rate ?? 1000;
      const holes: Hole[] = (r?.holes ?? []).map((h) => ({
        from: h.from,
        to: h.to,
        lost: h.to - h.from + 1,
        gapMs: round(h.endMs - h.startMs),
        atMs: round(h.startMs - this.startedMs),
      }));
      if (s) {
        // Before the first probe received, and after the last one (the sender's own times bound them).
        const first = r && r.minSeq >= 0 ? r.minSeq : sent;
        if (first > 0)
          holes.push({
            from: 0,
            to: first - 1,
            lost: first,
            gapMs: round((r?.minSendMs ?? s.lastSendMs) - s.startMs),
            atMs: round(s.startMs - this.startedMs),
            ...(!r && { open: true }),
          });
        const last = r ? r.maxSeq : -1;
        if (r && last < sent - 1)
          holes.push({
            from: last + 1,
            to: sent - 1,
            lost: sent - 1 - last,
            gapMs: round(s.lastSendMs - r.lastSendMs),
            atMs: round(r.lastSendMs - this.startedMs),
            open: true,
          });
      }
      holes.sort((a, b) => b.gapMs - a.gapMs);
      out[f.label] = {
        label: f.label,
        from: f.from,
        to: f.to,
        dst: f.dst,
        srcPort: this.srcPorts[f.label] ?? 0,
        dstPort: METER_PORT,
        rate,
        sent,
        received,
        lost: Math.max(0, sent - received),
        duplicates: r?.duplicates ?? 0,
        reordered: r?.reordered ?? 0,
        longestGapMs: holes[0]?.gapMs ?? 0,
        holes: holes.slice(0, 10),
        holeCount: (r?.holeCount ?? 0) + (holes.length - (r?.holes.length ?? 0)),
        sendErrors: s?.sendErrors ?? 0,
        stalls: s?.stalls ?? 0,
        receiverDrops: reports.get(f.to)?.rcvbufErrors ?? 0,
        ...(opts.ranges?.[f.label] && {
          ranges: opts.ranges[f.label]?.map(
            ([from, to]) =>
              r?.ranges?.find((x) => x.from === from && x.to === to) ?? { from, to, received: 0, longestRun: Math.max(0, to - from) },
          ),
        }),
      };
    }
    return out;
  }

  /**
   * Waits until every flow (or the named ones) delivers: a probe sent in the last `freshMs` has arrived. Returns
   * how long that took.
   */
  async waitFlowing(opts: { labels?: string[]; timeoutMs?: number; freshMs?: number } = {}): Promise<number> {
    const t0 = Date.now();
    const labels = opts.labels ?? this.flows.map((f) => f.label);
    await waitFor(
      async () => {
        const reports = new Map<string, AgentReport>();
        for (const [ns, a] of this.agents) reports.set(ns, (await a.request({ cmd: 'report' })) as unknown as AgentReport);
        return labels.every((l) => {
          const f = this.flows.find((x) => x.label === l);
          const rep = f && reports.get(f.to);
          const r = rep?.recv[l];
          return r !== undefined && rep !== undefined && rep.nowMs - r.lastSendMs < (opts.freshMs ?? 300);
        });
      },
      { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, what: `traffic on ${labels.join(', ')}` },
    );
    return Date.now() - t0;
  }

  /** Stops sending, waits for the probes in flight, takes the final report and stops the agents. */
  async stop(drainMs = 300): Promise<Record<string, FlowStats>> {
    try {
      await Promise.all([...this.agents.values()].map((a) => a.request({ cmd: 'stop' })));
      await new Promise((r) => setTimeout(r, drainMs));
      return await this.report();
    } finally {
      await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => a.kill())));
    }
  }

  /** Kills the agents without a report (cleanup after a failure). */
  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => a.kill())));
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** One line per flow: `label: sent N, lost L (x %), reordered R, longest gap G ms`. */
/**
 * Steady-state traffic over `ms`: a first meter until every flow flows (routes converged, neighbours resolved), then
 * a fresh meter for the window, with `during` (a change, a crash) run inside it when given.
 */
export async function steadyWindow(flows: FlowSpec[], ms: number, during?: () => Promise<void>): Promise<Record<string, FlowStats>> {
  const warm = await LossMeter.start(flows);
  try {
    await warm.waitFlowing({ timeoutMs: 60_000 });
  } finally {
    await warm.close();
  }
  const m = await LossMeter.start(flows);
  try {
    await m.waitFlowing({ timeoutMs: 10_000 });
    await (during ? Promise.all([during(), sleep(ms)]) : sleep(ms));
    return await m.stop();
  } catch (e) {
    await m.close();
    throw e;
  }
}

export function formatFlow(s: FlowStats): string {
  const pct = s.sent > 0 ? ((100 * s.lost) / s.sent).toFixed(2) : '-';
  return `${s.label} (${s.from} -> ${s.dst}, sport ${s.srcPort}): sent ${s.sent}, received ${s.received}, lost ${s.lost} (${pct} %), reordered ${s.reordered}, duplicates ${s.duplicates}, longest gap ${s.longestGapMs} ms${s.stalls ? `, sender stalls ${s.stalls}` : ''}${s.receiverDrops ? `, RECEIVER DROPS ${s.receiverDrops}` : ''}`;
}
