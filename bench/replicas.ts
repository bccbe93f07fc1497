/**
 * bench:replicas: several gateway replicas behind one FRR router (ECMP), lab/replicas.ts, in packets: 12 flows
 * remote host -> VPC host at 200 probes/s each (lab/loss-meter.ts), hashed over the replicas by the router.
 *
 * Per mode (`bgp`, `evpn`), N = 3, BENCH_REPS repetitions (default 5) of each event:
 * - all_at_once_change: a hold-time change written to every replica at once (bgpd restarts; EVPN with changeDrain
 *   {slot: 5s, slots: 3, anchors: 10.17.255.0/24}; BENCH_EVPN_ANCHORS=0 leaves the anchors out);
 * - rolling_change: the same, one replica after the other, each back at the router before the next;
 * - drain_one: one replica's supervisor SIGTERMed (router convergence: SIGTERM -> its path gone from the FIB);
 * - join_one: that replica started again (router convergence: start -> its path in the FIB, EVPN with its VTEP);
 * - node_loss: one replica's link cut and its processes SIGKILLed; the black hole lasts until the router's hold
 *   time (9 s) expires; BGP-only, graceful restart then keeps the routes as stale, bounded here by the router's
 *   `bgp graceful-restart stalepath-time 5` (default: the gateway's restart time, 120 s).
 * The router: the lab's FRR 8.4.4 in BGP-only mode; in EVPN mode FRR 10.3 in a container (lab/router-container.ts;
 * FRR 8.4.4's zebra loses router MACs when an ECMP type-5 route changes), or the lab's 8.4.4 with BENCH_EVPN_ROUTER=host.
 * Then, BENCH_N10=1 (default), N = 10 in EVPN mode: start-up, convergence after a drain and a join, and per replica
 * the supervisor's RSS and idle CPU (10 s), and the FRR daemons' RSS.
 * Prints a line per figure, then one JSON object (by_event[NAME][MODE] with lost_median, lost_max, gap_ms_median,
 * gap_ms_max: lost probes summed over the 12 flows, the longest gap of any flow).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { cpus, totalmem } from 'node:os';
import { ReplicaLab, REPLICAS } from '../lab/replicas.ts';
import type { ReplicaMode } from '../lab/replicas.ts';
import { LossMeter } from '../lab/loss-meter.ts';
import type { FlowStats } from '../lab/loss-meter.ts';
import { docsBgpConf } from '../lab/configs.ts';
import { median } from './stats.ts';
import { sampleProc } from './proc.ts';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const MODES = (process.env.BENCH_MODES?.split(',') ?? ['bgp', 'evpn']).filter(Boolean) as ReplicaMode[];
const N10 = process.env.BENCH_N10 !== '0';
const EVPN_ROUTER = process.env.BENCH_EVPN_ROUTER === 'host' ? 'host' : 'frr10';
const ANCHORS = process.env.BENCH_EVPN_ANCHORS === '0' ? '' : ', anchors: 10.17.255.0/24';
const EVENTS = ['all_at_once_change', 'rolling_change', 'drain_one', 'join_one', 'node_loss'] as const;
type EventName = (typeof EVENTS)[number];
const t0 = Date.now();

interface Sample {
  lost: number;
  gapMs: number;
}

function measure(stats: Record<string, FlowStats>): Sample {
  const v = Object.values(stats);
  return { lost: v.reduce((a, s) => a + Math.max(0, s.lost - s.receiverDrops), 0), gapMs: Math.max(0, ...v.map((s) => s.longestGapMs)) };
}

async function metered(r: ReplicaLab, during: () => Promise<void>): Promise<Sample> {
  const m = await LossMeter.start(r.flows());
  try {
    await m.waitFlowing({ timeoutMs: 60_000 });
    await during();
    await sleep(1000);
    return measure(await m.stop());
  } catch (e) {
    await m.close();
    throw e;
  }
}

async function change(r: ReplicaLab, indexes: number[], hold: string): Promise<void> {
  const marks = indexes.map((i) => r.replica(i).sup.events.length);
  for (const i of indexes)
    r.replica(i).sup.volume.update({
      ...r.replica(i).files(),
      'bgp-conf.yaml': docsBgpConf({ hold, keepalive: '3s', connect: '1s', neighbours: [REPLICAS.routerAddress] }),
    });
  await Promise.all(indexes.map((i, k) => r.replica(i).sup.waitForEvent('config_applied', () => true, 180_000, marks[k])));
}

const createLab = (mode: ReplicaMode, replicas: number): Promise<ReplicaLab> =>
  ReplicaLab.create({
    mode,
    replicas,
    ...(mode === 'evpn' && {
      gatewayExtra: () => `changeDrain: {slot: 5s, slots: 3${ANCHORS}}`,
      advertiseExtra: () => [],
      router: EVPN_ROUTER,
    }),
    ...(mode === 'bgp' && { routerBgp: ['bgp graceful-restart stalepath-time 5'] }),
  });

const results: Record<string, Record<string, Record<string, number>>> = {};
const convergence: Record<string, Record<string, number>> = {};
const cost: Record<string, number> = {};
let exitCode = 0;

function record(name: string, mode: string, xs: Sample[]): void {
  const lost = xs.map((x) => x.lost);
  const gap = xs.map((x) => x.gapMs);
  const e = {
    lost_median: median(lost),
    lost_max: Math.max(...lost),
    gap_ms_median: median(gap),
    gap_ms_max: Math.max(...gap),
    runs: xs.length,
  };
  (results[name] ??= {})[mode] = e;
  console.log(
    `${name} ${mode}: lost median ${e.lost_median}, max ${e.lost_max}; longest gap median ${e.gap_ms_median} ms, max ${e.gap_ms_max} ms (n=${xs.length})`,
  );
}

async function benchMode(mode: ReplicaMode): Promise<void> {
  const r = await createLab(mode, 3);
  const all = [0, 1, 2];
  const samples: Record<EventName, Sample[]> = {
    all_at_once_change: [],
    rolling_change: [],
    drain_one: [],
    join_one: [],
    node_loss: [],
  };
  const drainMs: number[] = [];
  const joinMs: number[] = [];
  const lossMs: number[] = [];
  try {
    await r.waitNextHops(all, 90_000);
    for (let rep = 0; rep < REPS; rep++) {
      const hold = (k: number): string => `${10 + ((rep * 3 + k) % 20)}s`;
      samples.all_at_once_change.push(
        await metered(r, async () => {
          await change(r, all, hold(0));
          await r.waitNextHops(all, 90_000);
        }),
      );
      samples.rolling_change.push(
        await metered(r, async () => {
          for (const i of all) {
            await change(r, [i], hold(1));
            await r.waitNextHops(all, 90_000);
          }
        }),
      );
      const victim = rep % 3;
      const others = all.filter((i) => i !== victim);
      samples.drain_one.push(
        await metered(r, async () => {
          const ts = Date.now();
          await Promise.all([r.drain(victim), r.waitNextHops(others, 60_000)]);
          drainMs.push(Date.now() - ts);
        }),
      );
      samples.join_one.push(
        await metered(r, async () => {
          const ts = Date.now();
          await r.restart(victim);
          await r.waitNextHops(all, 90_000);
          joinMs.push(Date.now() - ts);
        }),
      );
      samples.node_loss.push(
        await metered(r, async () => {
          const ts = Date.now();
          await r.nodeLoss(victim);
          await r.waitNextHops(others, 180_000);
          lossMs.push(Date.now() - ts);
        }),
      );
      await r.restoreLink(victim);
      await r.restart(victim);
      await r.waitNextHops(all, 90_000);
      console.log(`# ${mode} rep ${rep + 1}/${REPS} done (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
    for (const name of EVENTS) record(name, mode, samples[name]);
    convergence[mode] = {
      drain_ms_median: median(drainMs),
      drain_ms_max: Math.max(...drainMs),
      join_ms_median: median(joinMs),
      join_ms_max: Math.max(...joinMs),
      node_loss_path_gone_ms_median: median(lossMs),
    };
    console.log(
      `${mode} N=3 router convergence: drain (SIGTERM -> path gone) median ${median(drainMs)} ms; join (start -> path in FIB) median ${median(joinMs)} ms; node loss -> path gone median ${median(lossMs)} ms`,
    );
  } finally {
    await r.cleanup();
  }
}

/** N = 10, EVPN: start-up, convergence after a drain and a join, per-replica cost. */
async function benchTen(): Promise<void> {
  const ts = Date.now();
  const r = await createLab('evpn', 10);
  const all = Array.from({ length: 10 }, (_, i) => i);
  try {
    await r.waitNextHops(all, 300_000);
    const startupMs = Date.now() - ts;
    await sleep(5000);
    const before = all.map((i) => sampleProc(r.replica(i).sup.pid ?? 0));
    await sleep(10_000);
    const afterS = all.map((i) => sampleProc(r.replica(i).sup.pid ?? 0));
    const rss = afterS.map((s) => s.rssMb);
    const cpuPct = afterS.map((s, i) => (100 * (s.selfMs - (before[i]?.selfMs ?? 0))) / (s.at - (before[i]?.at ?? 0)));
    const frrRss: number[] = [];
    for (const i of all) {
      let sum = 0;
      for (const d of ['zebra', 'staticd', 'bgpd'] as const) {
        const pid = await r.replica(i).sup.daemonPid(d);
        if (pid !== undefined) sum += sampleProc(pid).rssMb;
      }
      frrRss.push(sum);
    }
    cost.rss_mb_per_replica = Number(median(rss).toFixed(1));
    cost.rss_mb_max = Number(Math.max(...rss).toFixed(1));
    cost.frr_rss_mb_per_replica = Number(median(frrRss).toFixed(1));
    cost.idle_cpu_pct_per_replica = Number(median(cpuPct).toFixed(2));
    console.log(
      `per replica (N=10, idle, --poll-interval 1s --resync 2s): supervisor RSS median ${cost.rss_mb_per_replica} MB (max ${cost.rss_mb_max}), FRR daemons RSS ${cost.frr_rss_mb_per_replica} MB, supervisor CPU ${cost.idle_cpu_pct_per_replica} % of a core`,
    );
    const ten: Record<string, number> = { startup_ms: startupMs };
    convergence.evpn_n10 = ten;
    console.log(`evpn N=10: all 10 paths at the router ${startupMs} ms after the first start`);
    const d0 = Date.now();
    const stopped = await r.drain(9);
    await r.waitNextHops(all.slice(0, 9), 60_000).catch(async (e: unknown) => {
      const ev = r.replica(9).sup.events.filter((x) => /drain|stopped|shutdown|exited/.test(String(x.event)));
      console.error(`drain of replica 9 (exit ${JSON.stringify(stopped)}): ${JSON.stringify(ev)}`);
      console.error(await r.router.vtysh('show bgp l2vpn evpn summary'));
      throw e;
    });
    ten.drain_ms = Date.now() - d0;
    const j0 = Date.now();
    await r.restart(9);
    await r.waitNextHops(all, 120_000);
    ten.join_ms = Date.now() - j0;
    console.log(`evpn N=10: drain -> path gone ${ten.drain_ms} ms; join -> path in FIB ${ten.join_ms} ms`);
  } finally {
    await r.cleanup();
  }
}

try {
  for (const mode of MODES) await benchMode(mode);
  if (N10) await benchTen();
} catch (e) {
  console.error(`bench:replicas failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
}
console.log(
  JSON.stringify({
    bench: 'replicas',
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    replicas: 3,
    reps: REPS,
    flows: 12,
    rate_pps_per_flow: 200,
    note: `lost_* summed over the 12 flows of a run, gap_ms_* the longest gap of any flow; hold time 9 s; bgp: router FRR 8.4.4, stalepath-time 5 s; evpn: router ${EVPN_ROUTER === 'frr10' ? 'FRR 10.3' : 'FRR 8.4.4'}, changeDrain {slot: 5s, slots: 3${ANCHORS}}`,
    evpn_router: EVPN_ROUTER === 'frr10' ? 'FRR 10.3 (container)' : 'FRR 8.4.4',
    evpn_anchors: ANCHORS !== '',
    duration_s: Math.round((Date.now() - t0) / 1000),
    by_event: results,
    convergence_ms: convergence,
    ...cost,
  }),
);
process.exit(exitCode);
