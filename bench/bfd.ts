/**
 * bench:bfd: how long the flows of a lost gateway replica are black-holed, with BFD (300 ms x 3) and without (hold
 * time). 3 replicas (BGP-only, lab/replicas.ts) behind one FRR router with ECMP; 12 flows remote host -> VPC
 * host at 200 probes/s each (the loss meter, lab/loss-meter.ts). One replica's node is lost (its link cut at
 * the router's bridge, then its supervisor and FRR SIGKILLed): for the flows the router sent through it, the longest
 * gap and the probes lost, until the router has moved them to the other replicas. BENCH_REPS repetitions (default 3)
 * per variant, the lost replica taken in turn.
 *
 * Both variants: the gateways' and the router's hold time 9 s (keepalive 3 s), single-hop eBGP, and the router's
 * graceful restart off (`bgp graceful-restart-disable`): with it, FRR keeps a lost peer's routes as stale for the
 * gateway's restart time (120 s) after the session is gone, whatever noticed it. With BFD: gateway.yaml
 * `bfd: {enabled: true}` (300 ms x 3) and `neighbor GW bfd` on the router.
 *
 * Then `gr_change_bfd`: does BFD cost the graceful restart its zero loss? The same 3 replicas with BFD, the router's
 * graceful restart on (FRR's default; `stalepath-time 5`), a BgpConf change (hold time) written to all replicas at
 * once, each restarting bgpd (bfdd keeps running): every flow's probes lost and longest gap, BENCH_REPS times.
 * `BENCH_BFD=node_loss` or `=gr_change` runs one part. Prints a line per run, then one JSON line.
 */
import { LossMeter } from '../lab/loss-meter.ts';
import { ReplicaLab, replicaAddress, REPLICAS } from '../lab/replicas.ts';
import { waitFor } from '../lab/lab.ts';
import { docsBgpConf } from '../lab/configs.ts';
import { parseBfdPeers } from '../src/state/bfd.ts';
import { median } from './stats.ts';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

interface Run {
  lostReplica: number;
  flows: number;
  gapMs: number;
  lost: number;
  /** From the cut until the router's FIB no longer has the lost replica. */
  fibMs: number;
}

async function variant(bfd: boolean): Promise<Run[]> {
  const lab = await ReplicaLab.create({
    mode: 'bgp',
    replicas: 3,
    bgp: { hold: '9s', keepalive: '3s', connect: '1s', ebgpMultiHop: false },
    routerKeepalive: 3,
    routerHold: 9,
    routerGracefulRestart: false,
    ...(bfd && { gatewayExtra: () => 'bfd: {enabled: true}', routerBgp: ['neighbor GW bfd'], routerBfd: true }),
  });
  const runs: Run[] = [];
  try {
    const all = [0, 1, 2];
    const ready = async (): Promise<void> => {
      await lab.waitNextHops(all, 90_000);
      if (bfd)
        await waitFor(async () => parseBfdPeers(await lab.router.vtysh('show bfd peers json')).filter((p) => p.up).length === 3, {
          timeoutMs: 60_000,
          what: 'the router has 3 BFD sessions up',
        });
    };
    await ready();
    for (let rep = 0; rep < REPS; rep++) {
      const lost = rep % 3;
      const flows = lab.flows(12, 200);
      const meter = await LossMeter.start(flows);
      let stats;
      const carried: string[] = [];
      let fibMs = 0;
      try {
        await meter.waitFlowing({ timeoutMs: 30_000 });
        for (const f of flows) if ((await lab.flowNextHop(f)) === replicaAddress(lost)) carried.push(f.label);
        const t0 = Date.now();
        await lab.nodeLoss(lost);
        await lab.waitNextHops(
          all.filter((i) => i !== lost),
          60_000,
        );
        fibMs = Date.now() - t0;
        await meter.waitFlowing({ labels: carried, timeoutMs: 30_000 });
        stats = await meter.stop();
      } catch (e) {
        await meter.close();
        throw e;
      }
      const mine = carried.map((l) => stats[l]!);
      const run: Run = {
        lostReplica: lost,
        flows: mine.length,
        gapMs: Math.max(0, ...mine.map((s) => s.longestGapMs)),
        lost: mine.reduce((n, s) => n + s.lost, 0),
        fibMs,
      };
      runs.push(run);
      log(
        `${bfd ? 'bfd' : 'no_bfd'} rep ${rep + 1}: replica ${lost} lost, ${run.flows} of 12 flows through it: longest gap ${Math.round(run.gapMs)} ms, ${run.lost} probes lost; router FIB without it after ${fibMs} ms`,
      );
      if (carried.length === 0) log('  (no flow hashed to that replica in this run)');
      // bring the replica back for the next run
      await lab.restoreLink(lost);
      await lab.restart(lost);
      await ready();
    }
  } finally {
    await lab.cleanup();
  }
  return runs;
}

function summarize(runs: Run[]): { gap_ms_median: number; gap_ms_max: number; lost_median: number; runs: Run[] } {
  const withFlows = runs.filter((r) => r.flows > 0);
  return {
    gap_ms_median: Math.round(median(withFlows.map((r) => r.gapMs))),
    gap_ms_max: Math.round(Math.max(...withFlows.map((r) => r.gapMs))),
    lost_median: median(withFlows.map((r) => r.lost)),
    runs,
  };
}

/** A BgpConf change written to all 3 replicas at once with BFD and graceful restart on: every flow's loss. */
async function grChangeWithBfd(): Promise<Array<{ lost: number; gapMs: number; sent: number }>> {
  const lab = await ReplicaLab.create({
    mode: 'bgp',
    replicas: 3,
    bgp: { hold: '9s', keepalive: '3s', connect: '1s', ebgpMultiHop: false },
    routerBgp: ['bgp graceful-restart stalepath-time 5', 'neighbor GW bfd'],
    gatewayExtra: () => 'bfd: {enabled: true}',
    routerBfd: true,
  });
  const all = [0, 1, 2];
  const runs: Array<{ lost: number; gapMs: number; sent: number }> = [];
  try {
    await lab.waitNextHops(all, 90_000);
    for (let rep = 0; rep < REPS; rep++) {
      const meter = await LossMeter.start(lab.flows(12, 200));
      let stats;
      try {
        await meter.waitFlowing({ timeoutMs: 30_000 });
        const marks = all.map((i) => lab.replica(i).sup.events.length);
        const hold = `${12 + 3 * rep}s`;
        const bgp = docsBgpConf({ hold, keepalive: '3s', connect: '1s', neighbours: [REPLICAS.routerAddress] });
        for (const i of all) lab.replica(i).sup.volume.update({ ...lab.replica(i).files(), 'bgp-conf.yaml': bgp });
        await Promise.all(all.map((i) => lab.replica(i).sup.waitForEvent('config_applied', () => true, 120_000, marks[i])));
        await lab.waitNextHops(all, 60_000);
        await new Promise((r) => setTimeout(r, 8000)); // a BFD reset at the router would show in this window
        stats = Object.values(await meter.stop());
      } catch (e) {
        await meter.close();
        throw e;
      }
      const run = {
        lost: stats.reduce((n, s) => n + Math.max(0, s.lost - s.receiverDrops), 0),
        gapMs: Math.max(0, ...stats.map((s) => s.longestGapMs)),
        sent: stats.reduce((n, s) => n + s.sent, 0),
      };
      runs.push(run);
      log(`gr_change_bfd rep ${rep + 1}: ${run.lost} of ${run.sent} probes lost, longest gap ${Math.round(run.gapMs)} ms`);
    }
  } finally {
    await lab.cleanup();
  }
  return runs;
}

const part = process.env.BENCH_BFD ?? 'all';
const out: Record<string, unknown> = { reps: REPS, hold_time_s: 9, bfd: '300 ms x 3' };
if (part !== 'gr_change') {
  const bfd = summarize(await variant(true));
  const noBfd = summarize(await variant(false));
  Object.assign(out, { node_loss_bfd: bfd, node_loss_no_bfd: noBfd });
  log(
    `node loss, longest gap of the lost replica's flows: with BFD median ${bfd.gap_ms_median} ms (max ${bfd.gap_ms_max}), without BFD (hold 9 s) median ${noBfd.gap_ms_median} ms (max ${noBfd.gap_ms_max})`,
  );
}
if (part !== 'node_loss') {
  const runs = await grChangeWithBfd();
  const gr = {
    lost_median: median(runs.map((r) => r.lost)),
    lost_max: Math.max(...runs.map((r) => r.lost)),
    gap_ms_median: Math.round(median(runs.map((r) => r.gapMs))),
    gap_ms_max: Math.round(Math.max(...runs.map((r) => r.gapMs))),
    runs,
  };
  out.gr_change_bfd = gr;
  log(`config change to all replicas with BFD and graceful restart: lost median ${gr.lost_median} (max ${gr.lost_max})`);
}
console.log(JSON.stringify(out));
