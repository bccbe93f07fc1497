/**
 * bench:idle: CPU and RSS of the supervisor over 60 s idle at the default poll interval (5 s), BGP session
 * Established. Counts the supervisor process and, separately, its vtysh children and the FRR daemons
 * answering the polls. Target: supervisor CPU <= 2 % of one core. Last line: one JSON object.
 */
import { createLab, waitFor } from '../lab/lab.ts';
import { startSupervisor } from '../lab/supervisor-process.ts';
import { cpuMs, sampleProc } from './proc.ts';
import { round } from './stats.ts';

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const lab = await createLab();
let code = 0;
try {
  await lab.startRouter(`router bgp 65001\n no bgp ebgp-requires-policy\n neighbor 10.0.1.13 remote-as 65002\nexit\n`);
  const sup = startSupervisor(lab, {
    files: { 'bgp-conf.yaml': 'localASN: 65002\npeerASN: 65001\nneighbours: [10.0.1.1]\n' },
    args: ['--poll-interval', '5s'],
  });
  await waitFor(async () => (await sup.http('/readyz')).status === 200, { timeoutMs: 30_000, what: 'ready' });
  await new Promise((r) => setTimeout(r, 5000)); // settle after startup
  const pid = sup.pid!;
  const daemons = (await Promise.all((['zebra', 'staticd', 'bgpd'] as const).map((d) => sup.daemonPid(d)))).filter(
    (p): p is number => p !== undefined,
  );
  const a = sampleProc(pid);
  const fa = cpuMs(daemons);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const b = sampleProc(pid);
  const fb = cpuMs(daemons);
  const wall = b.at - a.at;
  const self = ((b.selfMs - a.selfMs) / wall) * 100;
  const children = ((b.childrenMs - a.childrenMs) / wall) * 100;
  const frr = ((fb - fa) / wall) * 100;
  console.log(`# bench:idle on ${new Date().toISOString().slice(0, 10)}: ${SECONDS} s idle, poll interval 5 s, 1 neighbour Established`);
  console.log(`supervisor CPU: ${self.toFixed(2)} % of one core (target <= 2 %: ${self <= 2 ? 'met' : 'MISSED'})`);
  console.log(`its vtysh children: ${children.toFixed(2)} %; FRR daemons answering: ${frr.toFixed(2)} %`);
  console.log(`supervisor RSS: ${b.rssMb.toFixed(1)} MB`);
  await sup.stop('SIGTERM');
  await sup.cleanup();
  console.log(
    JSON.stringify({
      idle_cpu_percent: round(self, 3),
      idle_rss_mb: round(b.rssMb, 1),
      idle_children_cpu_percent: round(children, 3),
      idle_frr_cpu_percent: round(frr, 3),
      seconds: SECONDS,
    }),
  );
} catch (e) {
  console.error(`bench:idle failed: ${(e as Error).stack ?? String(e)}`);
  code = 1;
} finally {
  await lab.cleanup();
}
process.exit(code);
