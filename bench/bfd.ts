/**
 * bench:bfd: how long the flows of a lost gateway replica are black-holed, with BFD (300 ms x 3) and without (hold
 * time). 3 replicas (BGP-only, test/lab/replicas.ts) behind one FRR router with ECMP; 12 flows remote host -> VPC
 * host at 200 probes/s each (the loss meter, test/lab/loss-meter.ts). One replica's node is lost (its link cut at
 * the router's bridge, then its supervisor and FRR SIGKILLed): for the flows the router sent through it, the longest
 * gap and the probes lost, until the router has moved them to the other replicas. BENCH_REPS repetitions (default 3)
 * per variant, the lost replica taken in turn.
 *
 * Both variants: the gateways' and the router's hold time 9 s (keepalive 3 s), single-hop eBGP, and the router's
 * graceful restart off (`bgp graceful-restart-disable`): with it, FRR keeps a lost peer's routes as stale for the
 * gateway's restart time (120 s) after the session is gone, whatever noticed it. With BFD: gateway.yaml
 * `bfd: {enabled: true}` (300 ms x 3) and `neighbor GW bfd` on the router. Prints a line per run, then one JSON line.
 */
import { LossMeter } from '../test/lab/loss-meter.ts';
import { ReplicaLab, replicaAddress } from '../test/lab/replicas.ts';
import { waitFor } from '../test/lab/lab.ts';
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

const bfdRuns = await variant(true);
const noBfdRuns = await variant(false);
const out = { node_loss_bfd: summarize(bfdRuns), node_loss_no_bfd: summarize(noBfdRuns), reps: REPS, hold_time_s: 9, bfd: '300 ms x 3' };
log(
  `node loss, longest gap of the lost replica's flows: with BFD median ${out.node_loss_bfd.gap_ms_median} ms (max ${out.node_loss_bfd.gap_ms_max}), without BFD (hold 9 s) median ${out.node_loss_no_bfd.gap_ms_median} ms (max ${out.node_loss_no_bfd.gap_ms_max})`,
);
console.log(JSON.stringify(out));
