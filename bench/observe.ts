/**
 * bench:observe: the cost of observing FRR at 1, 50 and 200 BGP neighbours with 10 000 routes received, next to
 * Debian's prometheus-frr-exporter (1.1.4) scraping the same FRR instance in the same run.
 *
 * Per neighbour count, in a fresh lab: the supervisor (gw namespace, BgpConf with N neighbours) and N BIRD processes
 * (rt namespace, one session each from 10.0.1.1, .2, ...; the first exports 10 000 /24s). After checking that the
 * gateway has N Established neighbours and 10 000 prefixes received (vtysh, then the supervisor's /status):
 *   FRR background   CPU of zebra+staticd+bgpd over 10 s with the supervisor stopped (SIGSTOP) and no scrape
 *                    (keepalives etc.): subtracted from both sides' FRR share
 *   CPU              every process's CPU is the sum of its threads' schedstat (ns), not 10 ms ticks
 *   poll wall        Poller.pollOnce() (the supervisor's own code, same vtysh, same FRR) run by the bench in a gap,
 *                    timed; cross-checked with the supervisor's frr_supervisor_poll_duration_seconds over the window
 *   poll CPU         /proc before/after a window of K of the supervisor's own polls (mid-gap to mid-gap): supervisor
 *                    self + its reaped vtysh children (cutime/cstime) + the FRR daemons, divided by K
 *   exporter         sequential GET /metrics inside gaps between the supervisor's polls (so that FRR answers only
 *                    the exporter): wall time per scrape; CPU of the exporter + the FRR daemons over the scrapes
 *                    (back to back: warm caches). Then at the supervisor's cadence, measured like a poll cycle: a
 *                    window of K intervals, one scrape in each, whole exporter process + FRR daemons, with the
 *                    supervisor stopped (SIGSTOP) so FRR answers only the exporter: the figure the target compares
 *   /metrics load    autocannon at 200 requests/s for 12 s against the supervisor's /metrics, inside gw
 *   floor            the same load against a bare node:http server returning a buffer of the same size (the load
 *                    tool, loopback and Node's HTTP stack by themselves)
 *   RSS              VmRSS of the supervisor after the load (and its peak VmHWM); the exporter's after its scrapes
 * Everything started is stopped by pid and the lab cleaned up, also on failure. Overrides: BENCH_NEIGHBOURS=1,50,200,
 * BENCH_ROUTES, BENCH_POLL_INTERVAL (5s), BENCH_POLLS (CPU window, 6), BENCH_SCRAPES (30), BENCH_LOAD_SECONDS (12),
 * BENCH_CONNECTIONS (autocannon connections, 10 = its default). One summary line per figure; the last line is JSON.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { createLab, waitFor } from '../lab/lab.ts';
import type { Lab } from '../lab/lab.ts';
import { startSupervisor } from '../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../lab/supervisor-process.ts';
import { parseBgpSummary } from '../src/state/bgp.ts';
import { Poller } from '../src/observe/poller.ts';
import { VtySocket } from '../src/frr/vty-socket.ts';
import type { StatusDoc } from '../src/observe/status.ts';
import { cpuMs, sampleProc } from './proc.ts';
import { median, percentile, round } from './stats.ts';
import { GW_AS, RT_AS, routerAddresses, startBirds } from './observe-bird.ts';
import type { BirdSpeakers } from './observe-bird.ts';
import { spawnInNs } from './observe-child.ts';
import type { NsChild } from './observe-child.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CLIENT = join(REPO, 'bench/observe-client.ts');
const HTTP_GET = join(REPO, 'lab/http-get.js');
const FLOOR = join(REPO, 'bench/observe-floor.js');
const FLOOR_PORT = 9181;
const EXPORTER = '/usr/bin/prometheus-frr-exporter';

const env = process.env;
const COUNTS = (env.BENCH_NEIGHBOURS ?? '1,50,200').split(',').map((s) => Number(s.trim()));
const ROUTES = Number(env.BENCH_ROUTES ?? 10_000);
const POLL_INTERVAL = env.BENCH_POLL_INTERVAL ?? '5s';
const INTERVAL_MS = parseDuration(POLL_INTERVAL);
const CPU_POLLS = Number(env.BENCH_POLLS ?? 6);
const DIRECT_POLLS = 5;
const SCRAPES = Number(env.BENCH_SCRAPES ?? 30);
const RATE = 200;
const LOAD_SECONDS = Number(env.BENCH_LOAD_SECONDS ?? 12);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 10);
const SUP_PORT = 9180;
const EXP_PORT = 9342;
/** Keep this far away from the next poll's start when working "between polls". */
const GUARD_MS = 300;
const DAEMONS = ['zebra', 'staticd', 'bgpd'] as const;

for (const n of COUNTS) if (!Number.isInteger(n) || n < 1 || n > 253) throw new Error(`BENCH_NEIGHBOURS: ${n} is not 1..253`);

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m) throw new Error(`BENCH_POLL_INTERVAL: ${text} is not like 5s or 2500ms`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

interface Figures {
  poll_wall_ms_median: number;
  poll_cpu_ms_per_cycle: number;
  metrics_p50_ms: number;
  metrics_p99_ms: number;
  rss_mb: number;
  exporter_scrape_median_ms: number;
  exporter_cpu_ms_per_scrape: number;
  exporter_rss_mb: number;
  // details
  poll_wall_ms_max: number;
  poll_wall_ms_supervisor_mean: number;
  poll_cpu_ms_per_cycle_raw: number;
  poll_cpu_ms_supervisor_self: number;
  poll_cpu_ms_supervisor_user: number;
  poll_cpu_ms_supervisor_sys: number;
  poll_cpu_ms_vtysh_children: number;
  poll_cpu_ms_frr: number;
  poll_vtysh_calls: number;
  poll_output_kb: number;
  polls_in_window: number;
  frr_background_ms_per_s: number;
  metrics_requests: number;
  metrics_rps: number;
  metrics_max_ms: number;
  metrics_floor_p50_ms: number;
  metrics_floor_p99_ms: number;
  metrics_body_kb: number;
  metrics_cpu_ms_per_request: number;
  metrics_unloaded_median_ms: number;
  metrics_unloaded_cpu_ms_per_request: number;
  rss_before_metrics_mb: number;
  vtysh_calls: Record<string, { wall_ms: number; vtysh_cpu_ms: number; frr_cpu_ms: number; kb: number }>;
  rss_peak_mb: number;
  exporter_scrapes: number;
  exporter_cpu_ms_per_scrape_raw: number;
  exporter_cpu_ms_per_scrape_back_to_back: number;
  exporter_cpu_ms_per_scrape_back_to_back_raw: number;
  exporter_cadence_scrape_median_ms: number;
  exporter_cpu_ms_self: number;
  exporter_cpu_ms_frr: number;
  exporter_body_kb: number;
  exporter_rss_peak_mb: number;
  established: number;
  prefixes_received: number;
}

function memMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** User and system CPU of the process itself, ms (fork/exec of each vtysh shows up as the parent's system time). */
function userSys(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 };
}

/** Runs the in-namespace client and parses its JSON. */
async function client<T>(lab: Lab, args: string[], timeoutMs: number): Promise<T> {
  const r = await execa('ip', ['netns', 'exec', lab.gwNs, process.execPath, '--import', 'tsx', CLIENT, ...args], {
    cwd: REPO,
    stdin: 'ignore',
    timeout: timeoutMs,
  });
  return JSON.parse(String(r.stdout)) as T;
}

async function httpGet(lab: Lab, url: string): Promise<{ status: number; body: string }> {
  const r = await lab.exec(lab.gwNs, [process.execPath, HTTP_GET, url], { timeoutMs: 15_000, reject: false });
  try {
    return JSON.parse(r.stdout) as { status: number; body: string };
  } catch {
    return { status: 0, body: r.stderr };
  }
}

async function status(sup: SupervisorProcess): Promise<StatusDoc> {
  const r = await sup.httpJson<StatusDoc>('/status');
  if (r.status !== 200) throw new Error(`/status: HTTP ${r.status}`);
  return r.doc;
}

/** The supervisor's poll histogram (count, sum in s) from its /metrics. */
async function pollHistogram(sup: SupervisorProcess): Promise<{ count: number; sum: number }> {
  const body = (await sup.http('/metrics')).body;
  const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
  return { count: v('frr_supervisor_poll_duration_seconds_count'), sum: v('frr_supervisor_poll_duration_seconds_sum') };
}

/**
 * Waits for a gap between the supervisor's polls with at least needMs left before the next poll starts (it starts
 * one interval after the last one ended, `poll.at` in /status). Returns the last poll's end and the gap's end.
 */
async function gap(sup: SupervisorProcess, needMs: number): Promise<{ lastEnd: number; lastMs: number; until: number }> {
  for (let tries = 0; tries < 20; tries++) {
    const poll = (await status(sup)).poll;
    if (!poll) {
      await delay(500);
      continue;
    }
    const lastEnd = Date.parse(poll.at);
    const until = lastEnd + INTERVAL_MS - GUARD_MS;
    if (until - Date.now() >= needMs) return { lastEnd, lastMs: poll.durationMs, until };
    await delay(Math.max(0, lastEnd + INTERVAL_MS + 2 * poll.durationMs + 400 - Date.now()));
  }
  throw new Error(`no gap of ${needMs} ms between polls found`);
}

const sleepUntil = (epochMs: number): Promise<void> => delay(Math.max(0, epochMs - Date.now()));

const bgpConf = (neighbours: string[]): string =>
  `apiVersion: kubeovn.io/v1\nkind: BgpConf\nmetadata: {name: bgp-conf-bench}\nspec:\n  localASN: ${GW_AS}\n  peerASN: ${RT_AS}\n  neighbours: [${neighbours.join(', ')}]\n  connectTime: 2s\n`;

async function measure(n: number, log: (line: string) => void): Promise<Figures> {
  const lab = await createLab();
  let birds: BirdSpeakers | undefined;
  let sup: SupervisorProcess | undefined;
  let exporter: NsChild | undefined;
  const tag = `[${n} neighbour${n === 1 ? '' : 's'}]`;
  try {
    const addresses = routerAddresses(n);
    sup = startSupervisor(lab, {
      files: { 'bgp-conf.yaml': bgpConf(addresses) },
      args: ['--poll-interval', POLL_INTERVAL, '--listen', `0.0.0.0:${SUP_PORT}`],
    });
    const s = sup;
    const t0 = Date.now();
    birds = await startBirds(lab, { addresses, routes: ROUTES });
    const peers = async (): Promise<{ established: number; prefixes: number }> => {
      const p = parseBgpSummary(await s.vty.run(['show bgp ipv4 unicast summary json']), { afi: 'ipv4Unicast' });
      return { established: p.filter((x) => x.established).length, prefixes: p.reduce((a, x) => a + x.prefixesReceived, 0) };
    };
    await waitFor(
      async () => {
        const p = await peers();
        return p.established === n && p.prefixes === ROUTES;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${n} Established neighbours and ${ROUTES} prefixes received (vtysh)` },
    );
    const convergedS = (Date.now() - t0) / 1000;
    // The supervisor's own view must agree (a poll after convergence), and its daemons must be found.
    const view = await waitFor(
      async () => {
        const st = await status(s);
        const est = st.neighbours.filter((x) => x.established).length;
        const pfx = st.neighbours.reduce((a, x) => a + Object.values(x.afis).reduce((b, af) => b + af.prefixesReceived, 0), 0);
        return est === n && pfx === ROUTES ? { est, pfx } : undefined;
      },
      {
        timeoutMs: INTERVAL_MS * 3 + 10_000,
        intervalMs: 1000,
        what: 'the supervisor /status showing every neighbour Established and every prefix',
      },
    );
    log(
      `${tag} converged in ${convergedS.toFixed(1)} s: ${view.est} Established neighbours, ${view.pfx} prefixes received (vtysh and /status agree)`,
    );
    const supPid = s.pid!;
    const daemonPids = (await Promise.all(DAEMONS.map((d) => s.daemonPid(d)))).filter((p): p is number => p !== undefined);
    if (daemonPids.length !== DAEMONS.length) throw new Error(`FRR daemons not all found (${daemonPids.join(',')})`);

    exporter = await spawnInNs(
      'prometheus-frr-exporter',
      lab.gwNs,
      [
        EXPORTER,
        `--frr.socket.dir-path=${s.paths.instanceRunDir}`,
        `--web.listen-address=127.0.0.1:${EXP_PORT}`,
        // The daemons that do not run here (ospfd, bfdd) are not queried; bgp (IPv4 unicast) stays on, as by default.
        '--no-collector.ospf',
        '--no-collector.bfd',
        '--log.level=warn',
      ],
      join(lab.tmpDir, 'exporter.log'),
    );
    const expUrl = `http://127.0.0.1:${EXP_PORT}/metrics`;
    // Both sides must really report every peer: the exporter's bgp collector up, and N peer_state series equal to 1.
    const upPeers = (body: string): number =>
      body.split('\n').filter((l) => l.startsWith('frr_bgp_peer_state{') && l.endsWith(' 1')).length;
    const expBody = await waitFor(
      async () => {
        const r = await httpGet(lab, expUrl);
        return r.status === 200 ? r.body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 300, what: 'prometheus-frr-exporter answering' },
    );
    const supBody = (await s.http('/metrics')).body;
    if (!/^frr_collector_up\{collector="bgp"\} 1$/m.test(expBody) || upPeers(expBody) !== n || upPeers(supBody) !== n) {
      throw new Error(
        `peer series: exporter ${upPeers(expBody)} (bgp collector up: ${/^frr_collector_up\{collector="bgp"\} 1$/m.test(expBody)}), supervisor ${upPeers(supBody)}; expected ${n}`,
      );
    }
    log(`${tag} both /metrics report ${n} peers with frr_bgp_peer_state 1 (exporter: bgp collector up, over bgpd's vty socket)`);
    await delay(INTERVAL_MS); // settle: a poll or two after the convergence checks

    // 1. FRR background CPU (no poll, no scrape): zebra+staticd+bgpd over 10 s with the supervisor stopped (SIGSTOP:
    // its timers fire late after SIGCONT; its daemons and sessions run on).
    const frozen = async <T>(fn: () => Promise<T>): Promise<T> => {
      process.kill(supPid, 'SIGSTOP');
      try {
        return await fn();
      } finally {
        process.kill(supPid, 'SIGCONT');
      }
    };
    const bgMsPerS = await frozen(async () => {
      await delay(300);
      const b0 = cpuMs(daemonPids);
      const bt0 = performance.now();
      await delay(10_000);
      return (cpuMs(daemonPids) - b0) / ((performance.now() - bt0) / 1000);
    });
    log(
      `${tag} FRR background (keepalives, timers; supervisor stopped, no scrape, 10 s): ${bgMsPerS.toFixed(3)} ms CPU per s (subtracted below from both sides' FRR share)`,
    );

    // 2. Poll wall time: the supervisor's Poller code run by the bench, in a gap, against the same FRR.
    const calls: Array<{ cmd: string; bytes: number }> = [];
    const sockets = { bgpd: new VtySocket(s.paths.vtySocket('bgpd')), zebra: new VtySocket(s.paths.vtySocket('zebra')) };
    const counting = async (daemon: 'bgpd' | 'zebra', cmd: string, timeoutMs: number): Promise<string> => {
      const out = await sockets[daemon].query(cmd, timeoutMs);
      calls.push({ cmd, bytes: out.length });
      return out;
    };
    const poller = new Poller({
      query: (daemon, cmd, timeoutMs) => counting(daemon as 'bgpd' | 'zebra', cmd, timeoutMs),
      intervalMs: INTERVAL_MS,
      timeoutMs: 10_000,
      evpn: () => undefined,
      isRunning: (daemon) => daemon !== 'bfdd',
    });
    let g = await gap(s, 3000);
    const wall: number[] = [];
    while (wall.length < DIRECT_POLLS && Date.now() + 2 * Math.max(100, ...wall) < g.until) {
      const p0 = performance.now();
      const snap = await poller.pollOnce();
      wall.push(performance.now() - p0);
      if (Object.keys(snap.errors).length > 0) throw new Error(`poll errors: ${JSON.stringify(snap.errors)}`);
    }
    const perPoll = calls.length / wall.length;
    const kb = calls.slice(0, perPoll).reduce((a, c) => a + c.bytes, 0) / 1024;
    log(
      `${tag} poll wall (Poller.pollOnce run by the bench, between the supervisor's polls): median ${median(wall).toFixed(1)} ms, min ${Math.min(...wall).toFixed(1)}, max ${Math.max(...wall).toFixed(1)} (n=${wall.length}); ` +
        `${perPoll} vtysh calls per poll: ${calls
          .slice(0, perPoll)
          .map((c) => `"${c.cmd}" ${(c.bytes / 1024).toFixed(0)} KB`)
          .join(', ')}`,
    );

    // 2b. Where a poll's cost goes, per vtysh command (sequential calls by the bench, between polls): the vtysh
    // process's CPU (the bench's reaped children) and the FRR daemons' CPU answering.
    g = await gap(s, 3000);
    const perCommand: Record<string, { wallMs: number; vtyshCpuMs: number; frrCpuMs: number; kb: number }> = {};
    for (const cmd of ['show version', 'show bgp vrf all summary json', 'show bgp vrf all neighbors json']) {
      const reps = 6;
      const c0 = sampleProc(process.pid).childrenMs;
      const d0 = cpuMs(daemonPids);
      const w0 = performance.now();
      let bytes = 0;
      for (let i = 0; i < reps; i++) bytes = (await s.vty.run([cmd])).length;
      perCommand[cmd] = {
        wallMs: (performance.now() - w0) / reps,
        vtyshCpuMs: (sampleProc(process.pid).childrenMs - c0) / reps,
        frrCpuMs: (cpuMs(daemonPids) - d0) / reps,
        kb: bytes / 1024,
      };
    }
    if (Date.now() > g.until) log(`${tag} (the per-command figures overlapped a supervisor poll)`);
    log(
      `${tag} per vtysh call (6 sequential each, between polls): ` +
        Object.entries(perCommand)
          .map(
            ([c, v]) =>
              `"${c}" ${v.kb.toFixed(0)} KB: wall ${v.wallMs.toFixed(0)} ms, vtysh process CPU ${v.vtyshCpuMs.toFixed(1)} ms, FRR CPU ${v.frrCpuMs.toFixed(1)} ms`,
          )
          .join('; '),
    );

    // 3. The exporter: sequential scrapes inside gaps, CPU of the exporter + FRR daemons around them.
    const expPid = exporter.pid;
    const durations: number[] = [];
    let expSelf = 0;
    let expFrr = 0;
    let expWall = 0;
    let expBytes = 0;
    for (let round = 0; durations.length < SCRAPES && round < 10; round++) {
      g = await gap(s, 2500);
      const notBefore = Math.max(Date.now() + 1500, g.lastEnd + GUARD_MS); // the client starts in ~1 s (tsx)
      const r = await client<{ durations: number[]; cpuMsByPid: number[]; wallMs: number; bytes: number; endedAt: number }>(
        lab,
        ['scrape', expUrl, String(SCRAPES - durations.length), String(notBefore), String(g.until), [expPid, ...daemonPids].join(',')],
        60_000,
      );
      // Valid only if no poll of the supervisor ran meanwhile: the last poll is still the same one.
      const after = (await status(s)).poll;
      const nextStart = after ? Date.parse(after.at) - after.durationMs : 0;
      if (after && Date.parse(after.at) !== g.lastEnd && nextStart <= r.endedAt) {
        log(`${tag} (exporter round ${round + 1} overlapped a supervisor poll: discarded)`);
        continue;
      }
      durations.push(...r.durations);
      expSelf += r.cpuMsByPid[0] ?? 0;
      expFrr += r.cpuMsByPid.slice(1).reduce((a, x) => a + x, 0);
      expWall += r.wallMs;
      expBytes = r.bytes;
    }
    if (durations.length === 0) throw new Error('no exporter scrape fitted between polls');
    const expMem = memMb(expPid);
    const expFrrNet = expFrr - (bgMsPerS * expWall) / 1000;
    const expCpuRaw = (expSelf + expFrr) / durations.length;
    const expCpu = (expSelf + expFrrNet) / durations.length;
    log(
      `${tag} exporter scrape (GET /metrics, sequential, between polls): median ${median(durations).toFixed(1)} ms, min ${Math.min(...durations).toFixed(1)}, max ${Math.max(...durations).toFixed(1)} (n=${durations.length}, body ${(expBytes / 1024).toFixed(0)} KB)`,
    );
    log(
      `${tag} exporter CPU per scrape: ${expCpu.toFixed(1)} ms = exporter ${(expSelf / durations.length).toFixed(1)} + FRR daemons ${(expFrrNet / durations.length).toFixed(1)} (raw, background included: ${expCpuRaw.toFixed(1)} ms); exporter RSS ${expMem.rss.toFixed(1)} MB (peak ${expMem.hwm.toFixed(1)})`,
    );

    // 3b. The exporter at the supervisor's cadence, measured like the supervisor's poll cycle below: a window of
    // CPU_POLLS intervals with one scrape in each (Prometheus scraping every interval), whole exporter process plus
    // the FRR daemons, idle time between scrapes included; the supervisor is stopped meanwhile so FRR answers only
    // the exporter. This is the comparison the target uses: the back-to-back figure above keeps the exporter's code
    // and FRR's caches warm, while one scrape every few seconds, like one poll, starts cold.
    const cad = await frozen(() =>
      client<{ durations: number[]; cpuMsByPid: number[]; wallMs: number }>(
        lab,
        ['cadence', expUrl, String(CPU_POLLS), String(INTERVAL_MS), [expPid, ...daemonPids].join(',')],
        (CPU_POLLS + 3) * INTERVAL_MS + 30_000,
      ),
    );
    const cadSelf = (cad.cpuMsByPid[0] ?? 0) / cad.durations.length;
    const cadFrrRaw = cad.cpuMsByPid.slice(1).reduce((a, x) => a + x, 0) / cad.durations.length;
    const cadFrr = cadFrrRaw - (bgMsPerS * cad.wallMs) / 1000 / cad.durations.length;
    const expCadence = cadSelf + cadFrr;
    log(
      `${tag} exporter CPU per scrape at the supervisor's cadence (${cad.durations.length} scrapes, one every ${INTERVAL_MS / 1000} s, ${(cad.wallMs / 1000).toFixed(1)} s window, supervisor stopped): ${expCadence.toFixed(1)} ms = exporter process ${cadSelf.toFixed(1)} + FRR daemons ${cadFrr.toFixed(1)} (raw, background included: ${(cadSelf + cadFrrRaw).toFixed(1)} ms); scrape median ${median(cad.durations).toFixed(1)} ms`,
    );

    // 4. CPU per poll cycle of the supervisor itself: K of its polls, window from mid-gap to mid-gap.
    g = await gap(s, INTERVAL_MS * 0.6);
    const h0 = await pollHistogram(s);
    await sleepUntil(g.lastEnd + INTERVAL_MS * 0.45);
    const a = sampleProc(supPid);
    const ua = userSys(supPid);
    const fa = cpuMs(daemonPids);
    const period = INTERVAL_MS + median(wall) + 5;
    await delay(CPU_POLLS * period);
    const b = sampleProc(supPid);
    const ub = userSys(supPid);
    const fb = cpuMs(daemonPids);
    const h1 = await pollHistogram(s);
    const polls = h1.count - h0.count;
    if (polls !== CPU_POLLS) log(`${tag} WARNING: ${polls} polls in the CPU window instead of ${CPU_POLLS} (dividing by ${polls})`);
    const windowS = (b.at - a.at) / 1000;
    const self = (b.selfMs - a.selfMs) / polls;
    const children = (b.childrenMs - a.childrenMs) / polls;
    const frrRaw = (fb - fa) / polls;
    const frr = frrRaw - (bgMsPerS * windowS) / polls;
    const pollCpu = self + children + frr;
    const supMean = ((h1.sum - h0.sum) / polls) * 1000;
    const pc = (c: string): { vtyshCpuMs: number; frrCpuMs: number } => perCommand[c] ?? { vtyshCpuMs: NaN, frrCpuMs: NaN };
    const expectChildren = pc('show bgp vrf all summary json').vtyshCpuMs + pc('show bgp vrf all neighbors json').vtyshCpuMs;
    const expectFrr = pc('show bgp vrf all summary json').frrCpuMs + pc('show bgp vrf all neighbors json').frrCpuMs;
    log(
      `${tag} poll CPU per cycle (${polls} supervisor polls, ${windowS.toFixed(1)} s): ${pollCpu.toFixed(1)} ms = supervisor ${self.toFixed(1)} + vtysh children ${children.toFixed(1)} + FRR daemons ${frr.toFixed(1)} (raw, background included: ${(self + children + frrRaw).toFixed(1)} ms); ` +
        `the supervisor's own poll duration histogram over these polls: mean ${supMean.toFixed(1)} ms`,
    );
    log(
      `${tag} poll CPU breakdown: supervisor user ${((ub.user - ua.user) / polls).toFixed(1)} ms + system ${((ub.sys - ua.sys) / polls).toFixed(1)} ms per cycle; ` +
        `its vtysh children ${children.toFixed(1)} ms vs ${expectChildren.toFixed(1)} ms expected from the per-call figures of its 2 commands; FRR ${frr.toFixed(1)} ms vs ${expectFrr.toFixed(1)} ms expected`,
    );

    // 5. /metrics: first unloaded (sequential GETs between polls, as for the exporter), then under load, inside gw.
    const url = `http://127.0.0.1:${SUP_PORT}/metrics`;
    const memBefore = memMb(supPid);
    g = await gap(s, 2500);
    const seq = await client<{ durations: number[]; cpuMsByPid: number[]; bytes: number }>(
      lab,
      ['scrape', url, String(SCRAPES), String(Math.max(Date.now() + 1500, g.lastEnd + GUARD_MS)), String(g.until), String(supPid)],
      60_000,
    );
    const bodyKb = seq.bytes / 1024;
    const seqCpu = (seq.cpuMsByPid[0] ?? 0) / seq.durations.length;
    log(
      `${tag} our /metrics unloaded (sequential GETs between polls, same method as the exporter's): median ${median(seq.durations).toFixed(2)} ms, max ${Math.max(...seq.durations).toFixed(2)} (n=${seq.durations.length}, body ${bodyKb.toFixed(0)} KB); supervisor CPU ${seqCpu.toFixed(2)} ms per request`,
    );
    // autocannon's -R: each of the C connections gets RATE/C requests per second and sends them back-to-back from the
    // start of each second, so up to C requests wait at the server together (the tool's default C = 10 is kept); the
    // unloaded line above is the service time without that queueing.
    const la = sampleProc(supPid);
    const lh0 = await pollHistogram(s);
    const load = await client<{
      latencies: number[];
      bad: number;
      requests: number;
      rps: number;
      non2xx: number;
      errors: number;
      timeouts: number;
      autocannon: { p50: number; p99: number; max: number };
    }>(lab, ['load', url, String(RATE), String(LOAD_SECONDS), String(CONNECTIONS)], (LOAD_SECONDS + 30) * 1000);
    const lb = sampleProc(supPid);
    const lh1 = await pollHistogram(s);
    if (load.bad + load.non2xx + load.errors + load.timeouts > 0)
      throw new Error(`/metrics load: ${load.bad} non-200, ${load.errors} errors, ${load.timeouts} timeouts`);
    const lat = load.latencies;
    // The supervisor's own CPU during the load, minus its polls' share (self only: children are vtysh), per request.
    const loadPolls = lh1.count - lh0.count;
    const perReq = (lb.selfMs - la.selfMs - loadPolls * self) / Math.max(1, load.requests + RATE); // + the 1 s warm-up run
    const mem = memMb(supPid);
    log(
      `${tag} /metrics under load (autocannon, ${RATE} req/s overall, ${CONNECTIONS} connections, ${LOAD_SECONDS} s, inside gw; ${load.requests} requests = ${load.rps.toFixed(1)}/s, all 200, body ${bodyKb.toFixed(0)} KB; ${loadPolls} polls meanwhile): ` +
        `p50 ${median(lat).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms (autocannon's own whole-ms histogram: p50 ${load.autocannon.p50}, p99 ${load.autocannon.p99}); supervisor CPU ≈ ${perReq.toFixed(2)} ms per request`,
    );
    log(
      `${tag} supervisor RSS after the load: ${mem.rss.toFixed(1)} MB (peak ${mem.hwm.toFixed(1)} MB; before the /metrics requests ${memBefore.rss.toFixed(1)} MB); ${process.env.FRRSUP_USE_DIST === '1' ? 'compiled build (dist/), as in the image' : 'from source through tsx'}`,
    );

    // 5b. The floor: a bare node:http server returning a buffer of the same size, loaded the same way, in the same
    // namespace. What it shows is the load tool, the loopback and Node's HTTP stack on this machine, no supervisor.
    const floorServer = await spawnInNs(
      'floor',
      lab.gwNs,
      [process.execPath, FLOOR, String(FLOOR_PORT), String(seq.bytes)],
      join(lab.tmpDir, 'floor.log'),
    );
    let floorLat: number[];
    try {
      await waitFor(async () => (await httpGet(lab, `http://127.0.0.1:${FLOOR_PORT}/`)).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 200,
        what: 'the floor server answering',
      });
      const fl = await client<{ latencies: number[]; bad: number; non2xx: number; errors: number; timeouts: number }>(
        lab,
        ['load', `http://127.0.0.1:${FLOOR_PORT}/`, String(RATE), String(LOAD_SECONDS), String(CONNECTIONS)],
        (LOAD_SECONDS + 30) * 1000,
      );
      if (fl.bad + fl.non2xx + fl.errors + fl.timeouts > 0) throw new Error('floor server: failed requests');
      floorLat = fl.latencies;
    } finally {
      await floorServer.stop().catch(() => undefined);
    }
    log(
      `${tag} floor (a bare node:http server returning the same ${bodyKb.toFixed(0)} KB, same load, same namespace): p50 ${median(floorLat).toFixed(2)} ms, p99 ${percentile(floorLat, 99).toFixed(2)} ms, max ${Math.max(...floorLat).toFixed(2)} ms`,
    );

    const final = await status(s);
    const estAfter = final.neighbours.filter((x) => x.established).length;
    if (estAfter !== n) log(`${tag} WARNING: only ${estAfter} neighbours Established at the end`);

    return {
      poll_wall_ms_median: round(median(wall), 1),
      poll_cpu_ms_per_cycle: round(pollCpu, 1),
      metrics_p50_ms: round(median(lat), 2),
      metrics_p99_ms: round(percentile(lat, 99), 2),
      rss_mb: round(mem.rss, 1),
      exporter_scrape_median_ms: round(median(durations), 1),
      exporter_cpu_ms_per_scrape: round(expCadence, 1),
      exporter_rss_mb: round(expMem.rss, 1),
      poll_wall_ms_max: round(Math.max(...wall), 1),
      poll_wall_ms_supervisor_mean: round(supMean, 1),
      poll_cpu_ms_per_cycle_raw: round(self + children + frrRaw, 1),
      poll_cpu_ms_supervisor_self: round(self, 1),
      poll_cpu_ms_supervisor_user: round((ub.user - ua.user) / polls, 1),
      poll_cpu_ms_supervisor_sys: round((ub.sys - ua.sys) / polls, 1),
      poll_cpu_ms_vtysh_children: round(children, 1),
      poll_cpu_ms_frr: round(frr, 1),
      poll_vtysh_calls: perPoll,
      poll_output_kb: round(kb, 0),
      polls_in_window: polls,
      frr_background_ms_per_s: round(bgMsPerS, 2),
      metrics_requests: load.requests,
      metrics_rps: round(load.rps, 1),
      metrics_max_ms: round(Math.max(...lat), 2),
      metrics_floor_p50_ms: round(median(floorLat), 2),
      metrics_floor_p99_ms: round(percentile(floorLat, 99), 2),
      metrics_body_kb: round(bodyKb, 0),
      metrics_cpu_ms_per_request: round(perReq, 2),
      metrics_unloaded_median_ms: round(median(seq.durations), 2),
      metrics_unloaded_cpu_ms_per_request: round(seqCpu, 2),
      rss_before_metrics_mb: round(memBefore.rss, 1),
      vtysh_calls: Object.fromEntries(
        Object.entries(perCommand).map(([c, v]) => [
          c,
          { wall_ms: round(v.wallMs, 1), vtysh_cpu_ms: round(v.vtyshCpuMs, 1), frr_cpu_ms: round(v.frrCpuMs, 1), kb: round(v.kb, 0) },
        ]),
      ),
      rss_peak_mb: round(mem.hwm, 1),
      exporter_scrapes: durations.length,
      exporter_cpu_ms_per_scrape_raw: round(cadSelf + cadFrrRaw, 1),
      exporter_cpu_ms_per_scrape_back_to_back: round(expCpu, 1),
      exporter_cpu_ms_per_scrape_back_to_back_raw: round(expCpuRaw, 1),
      exporter_cadence_scrape_median_ms: round(median(cad.durations), 1),
      exporter_cpu_ms_self: round(expSelf / durations.length, 1),
      exporter_cpu_ms_frr: round(expFrrNet / durations.length, 1),
      exporter_body_kb: round(expBytes / 1024, 0),
      exporter_rss_peak_mb: round(expMem.hwm, 1),
      established: estAfter,
      prefixes_received: view.pfx,
    };
  } finally {
    await exporter?.stop().catch(() => undefined);
    await birds?.stop().catch(() => undefined);
    if (sup) {
      await sup.stop('SIGTERM').catch(() => undefined);
      await sup.cleanup().catch(() => undefined);
      // The (empty) pathspace dir FRR created under /var/run/frr for this supervisor: ours, named after our pid.
      await rm(sup.paths.instanceRunDir, { recursive: true, force: true }).catch(() => undefined);
    }
    await lab.cleanup().catch((e: unknown) => console.error(`lab cleanup: ${String(e)}`));
  }
}

const nproc = (await execa('nproc', { reject: false })).stdout || String(availableParallelism());
const date = new Date().toISOString();
console.log(
  `# bench:observe on ${date.slice(0, 10)} (${date}), nproc ${nproc}: ${COUNTS.join(', ')} BGP neighbours (BIRD 2, one process per session), ${ROUTES} routes received in total, ` +
    `supervisor poll interval ${POLL_INTERVAL}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        ' ',
      )} at start (shared machine); exporter: ${(await execa(EXPORTER, ['--version'], { reject: false, all: true })).all?.split('\n')[0] ?? '?'}`,
);
const byN: Record<string, Figures> = {};
let code = 0;
try {
  for (const n of COUNTS) byN[String(n)] = await measure(n, (l) => console.log(l));
} catch (e) {
  console.error(`bench:observe failed: ${(e as Error).stack ?? String(e)}`);
  code = 1;
}

const targets: Record<string, Record<string, boolean>> = {};
for (const [n, f] of Object.entries(byN)) {
  const t: Record<string, boolean> = {
    metrics_p99_le_fifth_of_exporter_median: f.metrics_p99_ms <= f.exporter_scrape_median_ms / 5,
    poll_cpu_le_exporter_cpu_per_scrape: f.poll_cpu_ms_per_cycle <= f.exporter_cpu_ms_per_scrape,
    rss_le_120_mb: f.rss_mb <= 120,
  };
  if (n === '200') t.poll_wall_le_250_ms = f.poll_wall_ms_median <= 250;
  targets[n] = t;
  const v = (ok: boolean | undefined): string => (ok ? 'met' : 'MISSED');
  console.log(
    `[${n}] ratios vs the exporter (same run): our /metrics p99 / exporter median scrape = ${(f.metrics_p99_ms / f.exporter_scrape_median_ms).toFixed(3)} (target <= 0.2: ${v(t.metrics_p99_le_fifth_of_exporter_median)}); ` +
      `our CPU per poll / exporter CPU per scrape at the same cadence = ${(f.poll_cpu_ms_per_cycle / f.exporter_cpu_ms_per_scrape).toFixed(2)} (target <= 1: ${v(t.poll_cpu_le_exporter_cpu_per_scrape)}; ` +
      `raw, FRR background not subtracted: ${(f.poll_cpu_ms_per_cycle_raw / f.exporter_cpu_ms_per_scrape_raw).toFixed(2)}; against its back-to-back scrapes: ${(f.poll_cpu_ms_per_cycle / f.exporter_cpu_ms_per_scrape_back_to_back).toFixed(2)}); ` +
      `RSS ${f.rss_mb} MB (target <= 120: ${v(t.rss_le_120_mb)})${t.poll_wall_le_250_ms === undefined ? '' : `; poll wall median ${f.poll_wall_ms_median} ms (target <= 250 at 200 neighbours: ${v(t.poll_wall_le_250_ms)})`}`,
  );
}
const missed = Object.entries(targets).flatMap(([n, t]) =>
  Object.entries(t)
    .filter(([, ok]) => !ok)
    .map(([k]) => `${k}@${n}`),
);
console.log(`targets: ${missed.length === 0 ? 'all met' : `MISSED: ${missed.join(', ')}`}${code ? ' (run incomplete)' : ''}`);
console.log(
  JSON.stringify({
    date,
    nproc: Number(nproc),
    routes: ROUTES,
    poll_interval_ms: INTERVAL_MS,
    load: { rate: RATE, connections: CONNECTIONS, seconds: LOAD_SECONDS, tool: 'autocannon' },
    by_neighbours: byN,
    targets,
    targets_met: missed.length === 0 && code === 0,
  }),
);
process.exit(code);
