/**
 * The soak run shared by `npm run soak` (scripts/soak.ts, 500 cycles) and its short variant in
 * test/e2e/soak.test.ts: config-change cycles against real FRR in the lab, each one restarting bgpd (connectTime
 * alternating 1 s / 2 s) and waiting for `config_applied`. Every `every` cycles (a checkpoint) the session must
 * come back, and the supervisor's RSS (/proc/PID/status VmRSS), open fds (/proc/PID/fd), zombie children and the
 * FRR processes of its pathspace are measured. Fails when RSS grows more than rssLimitPct after the warm-up
 * (when checkRss), the fd count grows, a zombie or a stray FRR process shows up, or the clean stop leaves anything.
 */
import { bgpRouterConf, GW_PREFIX, RT } from './configs.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { parseBgpSummary } from '../src/state/bgp.ts';
import { createLab, waitFor } from './lab.ts';
import type { Lab } from './lab.ts';
import { startSupervisor } from './supervisor-process.ts';
import type { SupervisorProcess } from './supervisor-process.ts';
import { allProcs, auditProcesses, describeProcs, fdCount, metricSample, persistentZombies, rssKiB } from './fault-kit.ts';

const ROUTER_CONF = bgpRouterConf({ keepalive: 1, hold: 3 });

/** The docs' BgpConf with short timers; the connect timer alternates so that every cycle restarts bgpd. */
const bgpConf = (connect: number): string => `apiVersion: kubeovn.io/v1
kind: BgpConf
metadata:
  name: bgp-conf-6502
spec:
  localASN: 65002
  peerASN: 65001
  neighbours:
  - ${RT}
  holdTime: 3s
  keepaliveTime: 1s
  connectTime: ${connect}s
`;
const files = (cycle: number): Record<string, string> => ({
  'bgp-conf.yaml': bgpConf(cycle % 2 === 1 ? 2 : 1),
  'gateway.yaml': `advertise: [${GW_PREFIX}]\n`,
});

export interface SoakOptions {
  cycles: number;
  /** A checkpoint (measurement and printed line) every this many cycles. */
  every: number;
  /** Cycles before the baseline is taken (the checkpoint at or right after it). */
  warmup: number;
  /** Fail when RSS grows more than this (percent) from the baseline to the end. */
  rssLimitPct: number;
  /** The RSS check needs enough cycles after the warm-up to mean something. */
  checkRss: boolean;
  /** --poll-interval of the supervisor (default 1s: more vtysh children, more chances to leak). */
  pollInterval?: string;
  log: (line: string) => void;
}

export interface SoakSample {
  cycle: number;
  elapsedS: number;
  /** Median of several VmRSS readings. */
  rssKiB: number;
  /** Minimum of several readings (a poll's vtysh pipes come and go). */
  fds: number;
  /** V8 heap in use and external memory, from the supervisor's own /metrics (prom-client defaults; diagnostics only). */
  heapUsedKiB?: number;
  externalKiB?: number;
  zombies: number;
  /** FRR processes of the pathspace besides the three daemons, and vtysh children older than 15 s. */
  strays: number;
  daemons: number;
  established: boolean;
  /** bgpd restarts so far (daemon_started events other than the initial start). */
  restarts: number;
}

export interface SoakResult {
  ok: boolean;
  cycles: number;
  durationS: number;
  cyclesPerSecond: number;
  samples: SoakSample[];
  baseline?: SoakSample;
  final?: SoakSample;
  rssGrowthPct?: number;
  /** The same for the V8 heap in use (diagnostics: RSS also moves with V8's and the allocator's sizing). */
  heapGrowthPct?: number;
  fdGrowth?: number;
  rssChecked: boolean;
  stop?: { code: number | undefined; ms: number; leftovers: number };
  failures: string[];
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

async function gwEstablished(sup: SupervisorProcess): Promise<boolean> {
  const peers = parseBgpSummary(await sup.vty.run(['show bgp ipv4 unicast summary json']), { afi: 'ipv4Unicast' });
  return peers.find((p) => p.peer === RT)?.established ?? false;
}

async function measure(sup: SupervisorProcess, cycle: number, t0: number, failures: string[]): Promise<SoakSample> {
  const pid = sup.pid;
  if (pid === undefined) throw new Error('the supervisor is not running');
  let established = true;
  try {
    await waitFor(() => gwEstablished(sup), { timeoutMs: 30_000, intervalMs: 200, what: 'the session Established again' });
  } catch (e) {
    established = false;
    failures.push(`cycle ${cycle}: ${(e as Error).message}`);
  }
  await delay(1000);
  const rss: number[] = [];
  const fds: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = rssKiB(pid);
    const f = fdCount(pid);
    if (r !== undefined) rss.push(r);
    if (f !== undefined) fds.push(f);
    await delay(200);
  }
  rss.sort((a, b) => a - b);
  let heapUsedKiB: number | undefined;
  let externalKiB: number | undefined;
  try {
    const metrics = (await sup.http('/metrics')).body;
    const kib = (name: string): number | undefined => {
      const v = metricSample(metrics, name);
      return v === undefined ? undefined : Math.round(v / 1024);
    };
    heapUsedKiB = kib('nodejs_heap_size_used_bytes');
    externalKiB = kib('nodejs_external_memory_bytes');
  } catch {
    // diagnostics only
  }
  const zombies = await persistentZombies(pid);
  if (zombies.length > 0) failures.push(`cycle ${cycle}: zombie children of the supervisor: ${describeProcs(zombies)}`);
  const audit = await auditProcesses(sup);
  const strays = [...audit.extraDaemons, ...audit.staleVtysh];
  if (strays.length > 0) failures.push(`cycle ${cycle}: stray processes of the pathspace: ${describeProcs(strays)}`);
  if (audit.frrProcesses.length !== 3)
    failures.push(`cycle ${cycle}: ${audit.frrProcesses.length} FRR daemons instead of 3: ${describeProcs(audit.frrProcesses)}`);
  return {
    cycle,
    elapsedS: Math.round((Date.now() - t0) / 100) / 10,
    rssKiB: rss[Math.floor(rss.length / 2)] ?? 0,
    fds: Math.min(...fds),
    ...(heapUsedKiB !== undefined && { heapUsedKiB }),
    ...(externalKiB !== undefined && { externalKiB }),
    zombies: zombies.length,
    strays: strays.length,
    daemons: audit.frrProcesses.length,
    established,
    restarts: sup.find('daemon_started', (e) => e.daemon === 'bgpd' && e.reason !== 'initial').length,
  };
}

/** Runs the soak in a fresh lab and cleans everything up; never throws for a failed check (see `failures`). */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const failures: string[] = [];
  const samples: SoakSample[] = [];
  let lab: Lab | undefined;
  let sup: SupervisorProcess | undefined;
  const t0 = Date.now();
  let done = 0;
  let stop: SoakResult['stop'];
  try {
    lab = await createLab();
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', GW_PREFIX]);
    await lab.startRouter(ROUTER_CONF);
    sup = startSupervisor(lab, { files: files(0), args: ['--poll-interval', opts.pollInterval ?? '1s'] });
    await sup.waitForEvent('config_applied', (e) => e.generation === 1, 30_000);
    const s = sup;
    const first = await measure(s, 0, t0, failures);
    opts.log(
      `soak: start: supervisor pid ${String(s.pid)}, rss ${mib(first.rssKiB)} MiB, fds ${first.fds}; ${opts.cycles} cycles, a line every ${opts.every}`,
    );
    const tc = Date.now();
    for (let c = 1; c <= opts.cycles; c++) {
      const at = s.events.length;
      s.volume.update(files(c));
      await s.waitForEvent('config_applied', (e) => e.generation === c + 1, 30_000, at);
      done = c;
      if (c % opts.every === 0 || c === opts.cycles) {
        const m = await measure(s, c, t0, failures);
        samples.push(m);
        const rate = c / ((Date.now() - tc) / 1000);
        opts.log(
          `soak: cycle ${c}/${opts.cycles}: rss ${mib(m.rssKiB)} MiB (V8 heap used ${m.heapUsedKiB === undefined ? '?' : mib(m.heapUsedKiB)} MiB), fds ${m.fds}, zombies ${m.zombies}, stray processes ${m.strays}, daemons ${m.daemons}, ` +
            `session ${m.established ? 'Established' : 'NOT Established'}, bgpd restarts ${m.restarts}, ${m.elapsedS} s (${rate.toFixed(2)} cycles/s)`,
        );
      }
    }
    // the clean stop leaves nothing: exit 0, no process of the pathspace, no zombie
    const pid = s.pid;
    const r = await s.stop('SIGTERM');
    await delay(500);
    const left = allProcs().filter((p) => p.argv.includes(s.pathspace) || (pid !== undefined && p.ppid === pid));
    stop = { code: r.code, ms: r.ms, leftovers: left.length };
    if (r.code !== 0) failures.push(`SIGTERM: exit code ${String(r.code)} (signal ${String(r.signal)})`);
    if (left.length > 0) failures.push(`after the stop: ${describeProcs(left)}`);
  } catch (e) {
    failures.push(`cycle ${done + 1}: ${(e as Error).message}`);
  } finally {
    await sup?.cleanup().catch((e: unknown) => failures.push(`cleanup: ${(e as Error).message}`));
    await lab?.cleanup().catch((e: unknown) => failures.push(`lab cleanup: ${(e as Error).message}`));
  }

  const baseline = samples.find((x) => x.cycle >= opts.warmup) ?? samples[0];
  const final = samples[samples.length - 1];
  let rssGrowthPct: number | undefined;
  let fdGrowth: number | undefined;
  let heapGrowthPct: number | undefined;
  if (baseline && final && final !== baseline) {
    rssGrowthPct = Math.round(((final.rssKiB - baseline.rssKiB) / baseline.rssKiB) * 1000) / 10;
    if (baseline.heapUsedKiB && final.heapUsedKiB)
      heapGrowthPct = Math.round(((final.heapUsedKiB - baseline.heapUsedKiB) / baseline.heapUsedKiB) * 1000) / 10;
    fdGrowth = final.fds - baseline.fds;
    if (opts.checkRss && rssGrowthPct > opts.rssLimitPct) {
      failures.push(
        `RSS grew ${rssGrowthPct} % after the warm-up (${mib(baseline.rssKiB)} MiB at cycle ${baseline.cycle} -> ${mib(final.rssKiB)} MiB at cycle ${final.cycle}; limit ${opts.rssLimitPct} %)`,
      );
    }
    if (fdGrowth > 0) failures.push(`open fds grew from ${baseline.fds} (cycle ${baseline.cycle}) to ${final.fds} (cycle ${final.cycle})`);
  } else if (done === opts.cycles) failures.push('not enough checkpoints to compare (cycles <= warm-up?)');
  const durationS = Math.round((Date.now() - t0) / 100) / 10;
  return {
    ok: failures.length === 0,
    cycles: done,
    durationS,
    cyclesPerSecond: Math.round((done / durationS) * 100) / 100,
    samples,
    ...(baseline && { baseline }),
    ...(final && { final }),
    ...(rssGrowthPct !== undefined && { rssGrowthPct }),
    ...(heapGrowthPct !== undefined && { heapGrowthPct }),
    ...(fdGrowth !== undefined && { fdGrowth }),
    rssChecked: opts.checkRss,
    ...(stop && { stop }),
    failures,
  };
}
