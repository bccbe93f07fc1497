/**
 * bench:probe: what one exec probe costs (`frr-supervisor probe ready`: kubelet runs it every probe period in
 * Pods it cannot reach over HTTP), against a supervisor running in the lab's gateway namespace, BGP session
 * Established. Each call is a fresh process started by a bash loop inside the namespace (as a container
 * runtime's exec starts one); wall time from bash's $EPOCHREALTIME around the call, CPU (user + system) from
 * bash's `times` (getrusage of the waited-for children, microseconds), so neither includes this driver.
 * Targets: median <= 150 ms wall and <= 60 ms CPU per call. Variants, interleaved call by call:
 *   - node -e '' : Node's own start and exit, the floor under any Node command
 *   - bin fast path : `node bin/frr-supervisor.js probe ready`, what a Pod runs (bin/probe.js, node:net only;
 *     the same code whether or not dist/ exists or matches src/: the fast path comes before that check)
 *   - full CLI, dist : `node dist/cli/main.js probe ready`, the same probe through the compiled CLI
 *   - full CLI, sources : `node --import tsx src/cli/main.ts probe ready`, the same through tsx
 * BENCH_PROBE_CALLS (default 40) calls per variant. Last line: one JSON object.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, waitFor } from '../lab/lab.ts';
import { startSupervisor } from '../lab/supervisor-process.ts';
import { bgpRouterConf, docsBgpConf, RT } from '../lab/configs.ts';
import { median, percentile, round } from './stats.ts';

const CALLS = Number(process.env.BENCH_PROBE_CALLS ?? 40);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const PORT = 9181;
const NODE = process.execPath;
const VARIANTS = [
  { key: 'node_floor', name: "node -e ''", argv: [NODE, '-e', ''] },
  { key: 'bin_fast_path', name: 'bin fast path (what a Pod runs)', argv: [NODE, join(REPO, 'bin/frr-supervisor.js')] },
  { key: 'full_cli_dist', name: 'full CLI, dist/', argv: [NODE, join(REPO, 'dist/cli/main.js')] },
  { key: 'full_cli_sources', name: 'full CLI, sources through tsx', argv: [NODE, '--import', 'tsx', join(REPO, 'src/cli/main.ts')] },
] as const;
const PROBE_ARGS = ['probe', 'ready', '--listen', `0.0.0.0:${PORT}`];

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A bash loop running every variant CALLS times, round-robin; one line per call: `KEY EXIT WALL_US CPU_CUMULATIVE_S`. */
function script(): string {
  // `times` must run in this shell (a $(...) subshell has waited for none of the calls); it prints two lines, the
  // second the children's user and system time, cumulative
  const lines = ['set -u', `T=$(mktemp)`, 'trap \'rm -f "$T"\' EXIT'];
  lines.push(`for ((i=0; i<${CALLS}; i++)); do`);
  for (const v of VARIANTS) {
    const cmd = [...v.argv, ...(v.key === 'node_floor' ? [] : PROBE_ARGS)].map(q).join(' ');
    lines.push(
      `  s=$EPOCHREALTIME; ${cmd} >/dev/null 2>&1; rc=$?; e=$EPOCHREALTIME`,
      `  times >"$T"; { read -r _; read -r cu cs; } <"$T"; echo "${v.key} $rc $s $e $cu $cs"`,
    );
  }
  lines.push('done');
  return `${lines.join('\n')}\n`;
}

/** `0m0.123s` -> seconds. */
const bashTime = (t: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  if (!m) throw new Error(`unexpected times output ${JSON.stringify(t)}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

const lab = await createLab();
let code = 0;
try {
  await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', '10.17.0.0/16']);
  await lab.startRouter(bgpRouterConf({ keepalive: 1, hold: 3 }));
  const sup = startSupervisor(lab, {
    files: {
      'bgp-conf.yaml': docsBgpConf({ hold: '3s', keepalive: '1s', connect: '1s', neighbours: [RT] }),
      'gateway.yaml': 'advertise: [10.17.0.0/16]\n',
    },
    args: ['--listen', `0.0.0.0:${PORT}`],
  });
  await waitFor(async () => (await sup.http('/readyz')).status === 200, { timeoutMs: 30_000, what: 'ready' });
  const file = join(lab.tmpDir, 'probe-bench.sh');
  writeFileSync(file, script());
  const res = await lab.exec(lab.gwNs, ['bash', file], { timeoutMs: CALLS * VARIANTS.length * 10_000 });
  const wall = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const failed = new Map<string, number>();
  let prevCpu = 0;
  for (const line of res.stdout.trim().split('\n')) {
    const [key = '', rc, s, e, user = '', sys = ''] = line.split(' ');
    const total = bashTime(user) + bashTime(sys);
    (wall.get(key) ?? wall.set(key, []).get(key)!).push((Number(e) - Number(s)) * 1000);
    (cpu.get(key) ?? cpu.set(key, []).get(key)!).push((total - prevCpu) * 1000);
    prevCpu = total;
    if (rc !== '0') failed.set(key, (failed.get(key) ?? 0) + 1);
  }
  const out: Record<string, unknown> = { calls: CALLS };
  console.log(
    `# bench:probe on ${new Date().toISOString().slice(0, 10)}: ${CALLS} calls per variant, interleaved, in the gateway namespace, supervisor ready (Node ${process.version})`,
  );
  const fmt = (xs: number[]): string => `median ${median(xs).toFixed(0)} ms, p90 ${percentile(xs, 90).toFixed(0)} ms`;
  for (const v of VARIANTS) {
    const w = wall.get(v.key) ?? [];
    const c = cpu.get(v.key) ?? [];
    const f = failed.get(v.key) ?? 0;
    console.log(`${v.name.padEnd(34)} wall ${fmt(w)}; CPU ${fmt(c)}${f > 0 ? `; ${f} calls exited non-zero` : ''}`);
    out[`${v.key}_wall_ms_median`] = round(median(w), 1);
    out[`${v.key}_wall_ms_p90`] = round(percentile(w, 90), 1);
    out[`${v.key}_cpu_ms_median`] = round(median(c), 1);
    out[`${v.key}_cpu_ms_p90`] = round(percentile(c, 90), 1);
    if (v.key !== 'node_floor' && f > 0) code = 1;
  }
  const fw = median(wall.get('bin_fast_path') ?? []);
  const fc = median(cpu.get('bin_fast_path') ?? []);
  const floorW = median(wall.get('node_floor') ?? []);
  const floorC = median(cpu.get('node_floor') ?? []);
  console.log(
    `fast path over the floor: +${(fw - floorW).toFixed(0)} ms wall, +${(fc - floorC).toFixed(0)} ms CPU; full CLI from sources / fast path: ${(median(cpu.get('full_cli_sources') ?? []) / fc).toFixed(1)}x CPU`,
  );
  console.log(`targets (median): wall <= 150 ms ${fw <= 150 ? 'met' : 'MISSED'}, CPU <= 60 ms ${fc <= 60 ? 'met' : 'MISSED'}`);
  const load = (await lab.exec(lab.gwNs, ['cat', '/proc/loadavg'])).stdout.trim();
  console.log(`load average during the run: ${load.split(' ').slice(0, 3).join(' ')} (${(await import('node:os')).cpus().length} cores)`);
  out.loadavg = load.split(' ')[0];
  await sup.stop('SIGTERM');
  await sup.cleanup();
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`bench:probe failed: ${(e as Error).stack ?? String(e)}`);
  code = 1;
} finally {
  await lab.cleanup();
}
process.exit(code);
