/**
 * bench:apply: how fast a config change takes effect on the real FRR lab, and what the peer sees meanwhile.
 * For each change (a kubelet-style atomic update of the BgpConf's connectTime, which restarts bgpd):
 *   apply overhead   file written -> new config running and verified, minus the debounce (the supervisor's cost)
 *   established      file written -> the gateway's session Established again
 *   first prefix     file written -> the gateway has the router's prefix again
 *   peer minimum     the router's received-prefix count from the gateway, sampled every 50 ms (graceful restart: never 0)
 * Reference: Kube-OVN today applies a change by replacing the gateway Pod (no in-place apply to measure).
 * Prints one line per figure, then one JSON object.
 */
import { createLab, waitFor } from '../lab/lab.ts';
import { startSupervisor } from '../lab/supervisor-process.ts';
import { parseBgpSummary } from '../src/state/bgp.ts';
import { median, round, summary } from './stats.ts';
import { bgpRouterConf, docsBgpConf, GW, RT } from '../lab/configs.ts';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 12);
const DEBOUNCE_MS = 200;

const router = bgpRouterConf();
const bgpConf = (connect: number): string => docsBgpConf({ hold: '9s', keepalive: '3s', connect: `${connect}s`, ebgpMultiHop: false });
const gateway = 'advertise: [10.17.0.0/16]\n';

const lab = await createLab();
let exitCode = 0;
try {
  await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', '10.17.0.0/16']);
  const rt = await lab.startRouter(router);
  const sup = startSupervisor(lab, { files: { 'bgp-conf.yaml': bgpConf(1), 'gateway.yaml': gateway }, debounce: `${DEBOUNCE_MS}ms` });
  const gwPeer = async (): Promise<{ established: boolean; prefixesReceived: number; uptimeSeconds: number } | undefined> =>
    parseBgpSummary(await sup.vty.run(['show bgp ipv4 unicast summary json']), { afi: 'ipv4Unicast' }).find((p) => p.peer === RT);
  const rtCount = async (): Promise<number> =>
    parseBgpSummary(await rt.vtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' }).find((p) => p.peer === GW)
      ?.prefixesReceived ?? 0;
  await sup.waitForEvent('config_applied');
  await waitFor(async () => (await gwPeer())?.prefixesReceived === 1 && (await rtCount()) === 1, {
    timeoutMs: 20_000,
    what: 'initial convergence',
  });

  const overhead: number[] = [];
  const internal: number[] = [];
  const established: number[] = [];
  const firstPrefix: number[] = [];
  let peerMin = Infinity;
  for (let i = 0; i < CHANGES; i++) {
    await new Promise((r) => setTimeout(r, 1500));
    const before = sup.events.length;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peerMin = Math.min(peerMin, await rtCount());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const t0 = Date.now();
    sup.volume.update({ 'bgp-conf.yaml': bgpConf(2 + (i % 2)), 'gateway.yaml': gateway });
    const applied = await sup.waitForEvent('config_applied', (e) => e.generation === i + 2, 10_000, before);
    overhead.push(Date.parse(String(applied.time)) - t0 - DEBOUNCE_MS);
    internal.push(Number(applied.durationMs));
    await waitFor(
      async () => {
        const p = await gwPeer();
        if (p?.established && established.length === i) established.push((Date.now() - t0) / 1000);
        if (p?.established && p.prefixesReceived >= 1) return (firstPrefix.push((Date.now() - t0) / 1000), true);
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: `convergence after change ${i + 1}` },
    );
    await new Promise((r) => setTimeout(r, 500));
    sampling = false;
    await sampler;
  }
  await sup.stop('SIGTERM');
  await sup.cleanup();

  console.log(
    `# bench:apply on ${new Date().toISOString().slice(0, 10)}, ${CHANGES} config changes (bgpd restart each), debounce ${DEBOUNCE_MS} ms excluded`,
  );
  console.log(summary('apply overhead (file -> running+verified, minus debounce)', overhead, 'ms'));
  console.log(summary('apply duration inside the supervisor (load .. verify)', internal, 'ms'));
  console.log(summary('file -> Established again', established, 's', 2));
  console.log(summary('file -> first prefix again', firstPrefix, 's', 2));
  console.log(`peer's minimum prefix count from the gateway during restarts: ${peerMin} (graceful restart keeps the routes: target > 0)`);
  console.log(
    'reference: Kube-OVN today replaces the gateway Pod for any BgpConf change (image pull aside: Pod start, init container, FRR start, session setup); not measured here',
  );
  const targets = { overhead: median(overhead) <= 300, established: median(established) <= 3, withdrawals: peerMin > 0 };
  console.log(
    `targets: overhead median <= 300 ms: ${targets.overhead ? 'met' : 'MISSED'}; Established median <= 3 s: ${targets.established ? 'met' : 'MISSED'}; 0 prefixes withdrawn: ${targets.withdrawals ? 'met' : 'MISSED'}`,
  );
  console.log(
    JSON.stringify({
      apply_overhead_ms_median: round(median(overhead), 1),
      apply_overhead_ms_min: Math.min(...overhead),
      apply_overhead_ms_max: Math.max(...overhead),
      apply_internal_ms_median: round(median(internal), 1),
      established_s_median: round(median(established)),
      established_s_min: round(Math.min(...established)),
      established_s_max: round(Math.max(...established)),
      first_prefix_s_median: round(median(firstPrefix)),
      min_peer_prefixes_during_restart: peerMin,
      changes: CHANGES,
    }),
  );
} catch (e) {
  console.error(`bench:apply failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  await lab.cleanup();
}
process.exit(exitCode);
