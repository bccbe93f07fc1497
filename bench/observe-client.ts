/**
 * The HTTP side of bench:observe, run INSIDE the gateway namespace (`ip netns exec NS node --import tsx
 * bench/observe-client.ts MODE ...`): the endpoints listen on 127.0.0.1 there. Prints one JSON object on stdout.
 *
 *   load URL RATE SECONDS CONNECTIONS
 *     autocannon (programmatic API) at a fixed overall rate; a 1 s warm-up run first (discarded). Latencies are
 *     the per-response times autocannon measures (hrtime, ms, fractional), collected from its 'response' events;
 *     autocannon's own histogram percentiles (whole ms) are printed too.
 *   scrape URL COUNT NOT_BEFORE_EPOCH_MS DEADLINE_EPOCH_MS PIDS
 *     one warm-up GET, then (from NOT_BEFORE on) sequential GETs, each timed, while another fits before DEADLINE,
 *     at most COUNT; the CPU of each of PIDS (comma list: the exporter and the FRR daemons) is read from /proc
 *     right before the first and right after the last timed GET.
 *   cadence URL COUNT INTERVAL_MS PIDS
 *     GETs at the supervisor's poll cadence, as Prometheus scraping every INTERVAL_MS would: one warm-up GET, then a
 *     window of COUNT intervals with one GET in the middle of each; the CPU of each of PIDS is read at the window's
 *     start and end (the whole processes over the window, idle time between scrapes included, as for the
 *     supervisor's CPU per poll cycle).
 */
import { createRequire } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import { sampleProc } from './proc.ts';

interface AutocannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: AutocannonResult) => void) => AutocannonInstance;

const load = createRequire(import.meta.url);
const autocannon = load('autocannon') as Autocannon;

function run(opts: Record<string, unknown>, onResponse?: (ms: number, status: number) => void): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    if (onResponse) inst.on('response', (_c, status, _bytes, ms) => onResponse(ms, status));
  });
}

/** CPU (self + reaped children) of each pid, ms; a vanished pid counts 0. */
function cpu(pids: number[]): number[] {
  return pids.map((pid) => {
    try {
      const s = sampleProc(pid);
      return s.selfMs + s.childrenMs;
    } catch {
      return 0;
    }
  });
}

async function get(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = await res.text();
  return { ms: performance.now() - t0, bytes: body.length, status: res.status };
}

const [mode, url = '', ...rest] = process.argv.slice(2);
if (mode === 'load') {
  const [rate = 200, seconds = 12, connections = 10] = rest.map(Number);
  const base = { url, connections, overallRate: rate, ignoreCoordinatedOmission: true };
  await run({ ...base, duration: 1 });
  const latencies: number[] = [];
  let bad = 0;
  const r = await run({ ...base, duration: seconds }, (ms, status) => (status === 200 ? latencies.push(ms) : bad++));
  process.stdout.write(
    JSON.stringify({
      latencies,
      bad,
      requests: r.requests.total,
      rps: r.requests.total / r.duration,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      autocannon: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    }),
  );
} else if (mode === 'scrape') {
  const [countText = '10', notBeforeText = '0', deadlineText = '0', pidsText = ''] = rest;
  const count = Number(countText);
  const deadline = Number(deadlineText);
  const pids = pidsText.split(',').filter(Boolean).map(Number);
  const warm = await get(url);
  if (warm.status !== 200) throw new Error(`GET ${url}: HTTP ${warm.status}`);
  const wait = Number(notBeforeText) - Date.now();
  if (wait > 0) await delay(wait);
  const durations: number[] = [];
  let bytes = 0;
  const startedAt = Date.now();
  const cpu0 = cpu(pids);
  const t0 = performance.now();
  while (durations.length < count && Date.now() + 1.5 * Math.max(warm.ms, ...durations) < deadline) {
    const r = await get(url);
    if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
    durations.push(r.ms);
    bytes = r.bytes;
  }
  const wall = performance.now() - t0;
  const cpu1 = cpu(pids);
  process.stdout.write(
    JSON.stringify({
      durations,
      cpuMsByPid: cpu1.map((c, i) => c - (cpu0[i] ?? 0)),
      wallMs: wall,
      bytes,
      startedAt,
      endedAt: Date.now(),
      warmMs: warm.ms,
    }),
  );
} else if (mode === 'cadence') {
  const [countText = '6', intervalText = '5000', pidsText = ''] = rest;
  const count = Number(countText);
  const interval = Number(intervalText);
  const pids = pidsText.split(',').filter(Boolean).map(Number);
  const warm = await get(url);
  if (warm.status !== 200) throw new Error(`GET ${url}: HTTP ${warm.status}`);
  await delay(interval / 2);
  const cpu0 = cpu(pids);
  const t0 = performance.now();
  const durations: number[] = [];
  for (let i = 0; i < count; i++) {
    await delay(Math.max(0, t0 + (i + 0.5) * interval - performance.now()));
    const r = await get(url);
    if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
    durations.push(r.ms);
  }
  await delay(Math.max(0, t0 + count * interval - performance.now()));
  const cpu1 = cpu(pids);
  process.stdout.write(JSON.stringify({ durations, cpuMsByPid: cpu1.map((c, i) => c - (cpu0[i] ?? 0)), wallMs: performance.now() - t0 }));
} else {
  throw new Error(
    `usage: observe-client.ts load URL RATE SECONDS CONNECTIONS | scrape URL COUNT NOT_BEFORE DEADLINE PIDS | cadence URL COUNT INTERVAL_MS PIDS`,
  );
}
