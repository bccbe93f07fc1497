/**
 * Property/fuzz test of the config loader: FUZZ_CASES (default 10 000) generated inputs around the golden
 * BgpConf/EvpnConf/gateway files and the Kube-OVN environment, from a seeded generator (test/fuzz/cases.ts).
 * For every case loadConfig must not throw and must finish in bounded time, and either report errors (each
 * one line, naming its source) and return no spec, or return a spec whose rendering has only template line
 * shapes that agree with the spec. Distinct renderings then go through `vtysh --dryrun`.
 *
 *   FUZZ_SEED=N       the seed (default: random; printed first as `# fuzz seed: N`)
 *   FUZZ_CASES=N      number of cases (default 10000)
 *   FUZZ_ONLY=i,j     run only these case indices (replay; same FUZZ_SEED and FUZZ_CASES)
 *   FUZZ_DRYRUN_CAP=N distinct renderings given to vtysh (default 300; a seeded sample beyond that)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.ts';
import type { Spec } from '../../src/config/types.ts';
import { renderFrrConf, TEMPLATE_DIR } from '../../src/render/frr-conf.ts';
import { Templates } from '../../src/render/template.ts';
import { goldenCases } from '../helpers/golden.ts';
import { generateCase, GENERATOR_NAMES, scheduledKind } from '../fuzz/cases.ts';
import type { FileSpec, FuzzCase } from '../fuzz/cases.ts';
import { checkRendering, LINE_SHAPES } from '../fuzz/line-shapes.ts';
import { checkOutcome, CASE_TIME_LIMIT_MS } from '../fuzz/properties.ts';
import type { Violation } from '../fuzz/properties.ts';
import { Rng } from '../fuzz/rng.ts';
import { materialize, runLoad } from '../fuzz/run-case.ts';
import type { RunOutcome } from '../fuzz/run-case.ts';

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../fuzz/isolated-child.ts', import.meta.url));

function intEnv(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer; got ${JSON.stringify(raw)}`);
  return n;
}

const SEED = intEnv('FUZZ_SEED', randomInt(0, 2 ** 31 - 1));
const CASES = intEnv('FUZZ_CASES', 10000);
const DRYRUN_CAP = intEnv('FUZZ_DRYRUN_CAP', 300);
const ONLY = (process.env.FUZZ_ONLY ?? '')
  .split(',')
  .filter((s) => s.trim() !== '')
  .map(Number);
const INDICES = ONLY.length > 0 ? ONLY : Array.from({ length: CASES }, (_, i) => i);
const REPLAY = (i: number | string): string =>
  `FUZZ_SEED=${SEED} FUZZ_CASES=${CASES} FUZZ_ONLY=${i} node --import tsx --test test/unit/config-fuzz.test.ts`;

console.log(
  `fuzz seed: ${SEED} (cases: ${INDICES.length}${ONLY.length > 0 ? ` of ${CASES}, FUZZ_ONLY` : ''}; replay a case with ${REPLAY('<index>')})`,
);

const root = mkdtempSync(join(tmpdir(), 'frrsup-fuzz-'));
const caseRoot = join(root, 'case');
mkdirSync(caseRoot);

// ---------------------------------------------------------------------------------------------------------------
// Results shared between the tests of this file

interface Failure {
  c: FuzzCase;
  v: Violation;
}

const stats = {
  cases: 0,
  accepted: 0,
  rejected: 0,
  isolated: 0,
  byKind: new Map<string, { n: number; accepted: number }>(),
  maxMs: 0,
  maxMsCase: -1,
  maxMsKind: '',
  totalMs: 0,
  dryRun: 0,
  distinct: 0,
  sampled: false,
  failures: [] as Failure[],
  slowest: [] as Array<{ ms: number; index: number; kind: string }>,
  started: performance.now(),
  loopSeconds: 0,
  finished: false,
};
/** Distinct accepted renderings: sha256 -> first case that produced it. */
const renderings = new Map<string, { index: number; kind: string; text: string }>();

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

function describeFile(spec: FileSpec): string {
  if (typeof spec === 'string') return JSON.stringify(truncate(spec, 300));
  if (spec instanceof Uint8Array) return `bytes(${spec.length}) hex ${truncate(Buffer.from(spec).toString('hex'), 200)}`;
  return 'dir' in spec ? '<directory>' : `<symlink to ${spec.symlink}>`;
}

function describeCase(c: FuzzCase): string {
  const lines = [`  kind: ${c.kind}; ${truncate(c.note, 300)}`];
  for (const [name, spec] of Object.entries(c.files)) lines.push(`  file ${name} = ${describeFile(spec)}`);
  if (Object.keys(c.env).length > 0) lines.push(`  env = ${truncate(JSON.stringify(c.env), 400)}`);
  lines.push(
    `  loadConfig({ ${c.dirMode === 'none' ? '' : `configDir: <${c.dirMode}>, `}env: ${c.useEnv} })${c.ifaceIp ? `, interface IPv4 ${c.ifaceIp}` : ''}`,
  );
  return lines.join('\n');
}

function record(c: FuzzCase, v: Violation): void {
  stats.failures.push({ c, v });
}

/** Escapes everything but printable ASCII and line feeds, so a failure message cannot garble the terminal. */
const visible = (s: string): string => s.replace(/[^\x20-\x7e\n]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

function formatFailure(f: Failure): string {
  return visible(
    [
      `seed ${SEED} case ${f.c.index}: ${f.v.property}: ${truncate(f.v.detail, 600)}`,
      describeCase(f.c),
      `  replay: ${REPLAY(f.c.index)}`,
    ].join('\n'),
  );
}

function account(c: FuzzCase, checked: { accepted: boolean; rendering?: string; ms: number }): void {
  stats.cases++;
  if (checked.accepted) stats.accepted++;
  else stats.rejected++;
  const k = stats.byKind.get(c.kind) ?? { n: 0, accepted: 0 };
  k.n++;
  if (checked.accepted) k.accepted++;
  stats.byKind.set(c.kind, k);
  stats.totalMs += checked.ms;
  stats.slowest.push({ ms: checked.ms, index: c.index, kind: c.kind });
  stats.slowest.sort((a, b) => b.ms - a.ms);
  stats.slowest.length = Math.min(stats.slowest.length, 5);
  if (checked.ms > stats.maxMs) {
    stats.maxMs = checked.ms;
    stats.maxMsCase = c.index;
    stats.maxMsKind = c.kind;
  }
  if (checked.rendering !== undefined) {
    const h = createHash('sha256').update(checked.rendering).digest('hex');
    if (!renderings.has(h)) renderings.set(h, { index: c.index, kind: c.kind, text: checked.rendering });
  }
}

/** Runs a case in a child process: `repeat` loads; a dead child is a no-crash violation. */
async function runIsolated(c: FuzzCase): Promise<void> {
  let runs: RunOutcome[];
  try {
    const { stdout } = await execFileP(
      process.execPath,
      ['--import', 'tsx', CHILD, String(SEED), String(c.index), String(CASES), '3', join(root, `isolated-${c.index}`)],
      {
        cwd: REPO,
        timeout: 60_000,
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    runs = (JSON.parse(stdout) as { runs: RunOutcome[] }).runs;
  } catch (e) {
    const err = e as { code?: number | string; signal?: string; killed?: boolean; stderr?: string; message: string };
    if (err.killed) record(c, { property: 'time', detail: 'the isolated run was killed after 60 s' });
    else {
      const fatal = (err.stderr ?? '').split('\n').find((l) => /FATAL|Error/.test(l)) ?? truncate(err.stderr ?? err.message, 300);
      record(c, {
        property: 'no-crash',
        detail: `the process running loadConfig died (exit code ${String(err.code)}, signal ${String(err.signal)}): ${fatal}`,
      });
    }
    account(c, { accepted: false, ms: 0 });
    return;
  }
  let last: ReturnType<typeof checkOutcome> | undefined;
  for (const run of runs) {
    last = checkOutcome(c, run);
    for (const v of last.violations) record(c, v);
  }
  account(c, last ?? { accepted: false, ms: 0 });
}

// ---------------------------------------------------------------------------------------------------------------
// The checkers themselves must be able to fail

test('line-shape checker: every golden rendering passes, against its spec', async () => {
  for (const g of goldenCases()) {
    const res = await loadConfig({ ...(g.configDir && { configDir: g.configDir }), facts: g.facts });
    assert.ok(res.spec, g.name);
    assert.deepEqual(checkRendering(renderFrrConf(res.spec), res.spec), [], g.name);
    assert.deepEqual(checkRendering(readFileSync(g.expectedPath, 'utf8'), res.spec), [], `${g.name}/frr.conf`);
  }
});

test('line-shape checker: every template line has a shape, and every shape comes from a template line', () => {
  for (const f of readdirSync(TEMPLATE_DIR).filter((n) => n.endsWith('.tmpl'))) {
    assert.doesNotMatch(
      readFileSync(join(TEMPLATE_DIR, f), 'utf8'),
      /\{\{\^/,
      `${f}: an inverted section; extend the all-sections view below`,
    );
  }
  // Every section on: each template line is printed at least once.
  const af = (afi: string, v: 4 | 6): Record<string, unknown> => ({
    afi,
    networks: [v === 4 ? '10.17.0.0/16' : 'fd00:10:17::/64'],
    redistribute: `FRRSUP-EXPORT-V${v}`,
    activate: [{ address: v === 4 ? '10.0.1.1' : 'fd00:1::1', maximumPrefix: 10000 }],
  });
  const view = {
    localAsn: 65002,
    routerId: '10.0.1.13',
    gracefulRestart: true,
    neighbours: [
      {
        address: '10.0.1.1',
        remoteAs: 65001,
        password: 'pw',
        ebgpMultihop: true,
        timers: { keepalive: 30, hold: 90 },
        connect: 10,
        bfd: { profile: 'FRRSUP-BFD' },
      },
    ],
    evpn: { vrf: 'vrf-vpn', vni: 1016, activate: ['10.0.1.1'], anchorRoute: '10.17.255.13/32' },
    defaultAfs: [af('ipv4', 4), af('ipv6', 6)],
    vrfInstance: {
      vrf: 'vrf-vpn',
      afs: [af('ipv4', 4), af('ipv6', 6)],
      advertiseIpv6: true,
      rd: '10.0.1.13:1016',
      routeTargets: ['65000:1016'],
    },
    v4Filter: { prefixList: 'FRRSUP-V4-NO-DEFAULT', routeMap: 'FRRSUP-EXPORT-V4' },
    v6Filter: { prefixList: 'FRRSUP-V6-NO-DEFAULT', routeMap: 'FRRSUP-EXPORT-V6' },
    bfd: {
      profile: 'FRRSUP-BFD',
      detectMultiplier: 5,
      transmitInterval: 100,
      receiveInterval: 100,
      passiveMode: true,
      echoMode: true,
      minimumTtl: 250,
      staticPeers: ['10.0.1.1'],
    },
  };
  const text = new Templates(TEMPLATE_DIR).render('frr.conf', view);
  assert.deepEqual(checkRendering(text), [], 'a template line without a shape');
  const lines = text.split('\n');
  for (const s of LINE_SHAPES)
    assert.ok(
      lines.some((l) => s.re.test(l)),
      `shape "${s.name}" matches no template line: remove it or fix it`,
    );
});

test('line-shape checker: catches injected, foreign and malformed lines', async () => {
  const g = goldenCases().find((x) => x.name === 'docs-evpn')!;
  const res = await loadConfig({ ...(g.configDir && { configDir: g.configDir }), facts: g.facts });
  const spec = res.spec!;
  const good = renderFrrConf(spec);
  const bad: Array<[string, string]> = [
    ['an injected FRR command', good.replace(' neighbor 10.0.1.1 remote-as 65001\n', ' neighbor 10.0.1.1 remote-as 65001\nline vty\n')],
    [
      'a well-formed line for a foreign neighbour',
      good.replace(' neighbor 10.0.1.1 remote-as 65001\n', ' neighbor 10.0.1.1 remote-as 65001\n neighbor 198.51.100.66 remote-as 64666\n'),
    ],
    ['a wrong remote AS', good.replace('remote-as 65001', 'remote-as 64666')],
    ['a password with a quote', good.replace(' neighbor 10.0.1.1 ebgp-multihop 255\n', ' neighbor 10.0.1.1 password a"b\n')],
    ['a password absent from the spec', good.replace(' neighbor 10.0.1.1 ebgp-multihop 255\n', ' neighbor 10.0.1.1 password x\n')],
    ['a comment with text', good.replace('!\nrouter bgp 65002 vrf', '! injected\nrouter bgp 65002 vrf')],
    ['a trailing space', good.replace('exit-vrf\n', 'exit-vrf \n')],
    ['a carriage return', good.replace('exit-vrf\n', 'exit-vrf\r\n')],
    ['a control character', good.replace('vrf vrf-vpn\n', 'vrf vrf-vpn\x1b\n')],
    ['a non-ASCII character', good.replace('vrf vrf-vpn\n', 'vrf vrf-vpn\u200b\n')],
    ['an empty line', good.replace('exit-vrf\n', 'exit-vrf\n\n')],
    ['a route target not in the spec', good.replace('route-target export 65000:1016', 'route-target export 65000:1017')],
    ['a network not in the spec', good.replace('  network 10.17.0.0/16\n', '  network 10.17.0.0/16\n  network 0.0.0.0/0\n')],
    ['a missing neighbour', good.replace(' neighbor 10.0.1.1 remote-as 65001\n', '')],
    ['a wrong rd', good.replace('rd 10.0.1.13:1016', 'rd 10.0.1.14:1016')],
    ['text after end', `${good}line vty\n`],
    ['no final end', good.replace(/end\n$/, '')],
    ['a bad IPv4 octet', good.replace('bgp router-id 10.0.1.13', 'bgp router-id 10.0.1.256')],
  ];
  for (const [what, text] of bad) {
    assert.notEqual(text, good, `the "${what}" mutation did not apply`);
    assert.ok(checkRendering(text, spec).length > 0, `not caught: ${what}`);
  }
});

test('property checker: fails a spec with an injected newline, a multi-line problem, and errors together with a spec', async () => {
  const g = goldenCases().find((x) => x.name === 'password-timers')!;
  const res = await loadConfig({ ...(g.configDir && { configDir: g.configDir }), facts: g.facts });
  const spec: Spec = structuredClone(res.spec!);
  const c = generateCase(1, 1, 100);
  delete c.expect;
  // As if a validator let a newline through: the template refuses it (renderFrrConf throws)
  spec.bgp.password = 'pw\n neighbor 198.51.100.66 remote-as 64666';
  const injected = checkOutcome(c, { result: { spec, problems: [], sources: [], readHost: false }, ms: 1 });
  assert.ok(
    injected.violations.some((v) => v.property === 'render'),
    JSON.stringify(injected.violations),
  );
  // As if the renderer let it through: the line-shape check refuses it
  assert.ok(
    checkRendering(
      renderFrrConf(res.spec!).replace('password S3cr3t!pw#from-Secret', `password pw\n neighbor 198.51.100.66 remote-as 64666`),
      res.spec,
    ).length > 0,
  );
  // A problem quoting a newline is escaped by formatProblem itself, so it stays one line...
  const multi = checkOutcome(c, {
    result: {
      problems: [{ severity: 'error', source: 'bgp-conf.yaml', path: 'neighbours[0]', message: 'bad\nerror: forged' }],
      sources: [],
      readHost: false,
    },
    ms: 1,
  });
  assert.ok(!multi.violations.some((v) => v.property === 'problem-line'), JSON.stringify(multi.violations));
  // ...and a problem that does not start with its severity and source is still caught
  const headless = checkOutcome(c, {
    result: { problems: [{ severity: 'error', source: '', path: '', message: 'm' }], sources: [], readHost: false },
    ms: 1,
  });
  assert.ok(headless.violations.some((v) => v.property === 'problem-line'));
  const both = checkOutcome(c, {
    result: { spec: res.spec!, problems: [{ severity: 'error', source: 'x', path: '', message: 'm' }], sources: [], readHost: false },
    ms: 1,
  });
  assert.ok(both.violations.some((v) => v.property === 'outcome'));
  const slow = checkOutcome(c, {
    result: { problems: [{ severity: 'error', source: 'x', path: '', message: 'm' }], sources: [], readHost: false },
    ms: CASE_TIME_LIMIT_MS + 1,
  });
  assert.ok(slow.violations.some((v) => v.property === 'time'));
  const threw = checkOutcome(c, { threw: 'TypeError: x', ms: 1 });
  assert.ok(threw.violations.some((v) => v.property === 'no-crash'));
});

test('fuzz generator: deterministic per (seed, index), every kind reachable', () => {
  const a = generateCase(SEED, 7, CASES);
  const b = generateCase(SEED, 7, CASES);
  assert.deepEqual(a, b);
  const kinds = new Set<string>();
  for (let i = 0; i < 3000; i++) if (scheduledKind(i, 3000) === undefined) kinds.add(generateCase(12345, i, 3000).kind);
  for (const k of GENERATOR_NAMES)
    if (!['invalid', 'huge', 'deep', 'many-keys'].includes(k)) assert.ok(kinds.has(k), `kind ${k} never generated`);
});

// ---------------------------------------------------------------------------------------------------------------
// The fuzz run

test(`fuzz: loadConfig on ${INDICES.length} generated inputs (seed ${SEED})`, { timeout: 30 * 60_000 }, async () => {
  const isolated: FuzzCase[] = [];
  stats.started = performance.now();
  for (const i of INDICES) {
    const c = generateCase(SEED, i, CASES);
    if (c.isolate) {
      isolated.push(c);
      continue;
    }
    const dir = materialize(caseRoot, c);
    const out = await runLoad(dir, c);
    const checked = checkOutcome(c, out);
    for (const v of checked.violations) record(c, v);
    account(c, checked);
  }
  stats.isolated = isolated.length;
  // Cases that may kill Node run in child processes, two at a time.
  const queue = [...isolated];
  await Promise.all(
    [0, 1].map(async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await runIsolated(c);
    }),
  );
  stats.loopSeconds = (performance.now() - stats.started) / 1000;
  stats.finished = true;

  const kinds = [...stats.byKind.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, s]) => `${k} ${s.n}/${s.accepted}`);
  console.log(`fuzz cases by kind (generated/accepted): ${kinds.join(', ')}`);
  console.log(`fuzz slowest cases: ${stats.slowest.map((s) => `${s.ms.toFixed(0)} ms (case ${s.index}, ${s.kind})`).join(', ')}`);
  const unknown = stats.failures;
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 15).map(formatFailure).join('\n\n');
    assert.fail(
      `${unknown.length} property violation(s) in ${new Set(unknown.map((f) => f.c.index)).size} case(s), seed ${SEED}${unknown.length > 15 ? ' (first 15 shown)' : ''}:\n\n${shown}`,
    );
  }
});

test('fuzz: distinct accepted renderings pass vtysh --dryrun', { timeout: 10 * 60_000 }, async (t) => {
  const all = [...renderings.entries()];
  stats.distinct = all.length;
  try {
    await execFileP('vtysh', ['--dryrun', '-f', goldenCases()[0]!.expectedPath]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      t.skip('vtysh is not installed');
      return;
    }
    throw e;
  }
  let chosen = all;
  if (all.length > DRYRUN_CAP) {
    chosen = new Rng(SEED, 0x7e57).shuffle([...all]).slice(0, DRYRUN_CAP);
    stats.sampled = true;
    console.log(`fuzz: ${all.length} distinct renderings; vtysh --dryrun on a seeded sample of ${DRYRUN_CAP}`);
  }
  const dir = join(root, 'dryrun');
  mkdirSync(dir, { recursive: true });
  const failures: string[] = [];
  const queue = [...chosen];
  await Promise.all(
    [0, 1].map(async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const [hash, r] = item;
        const file = join(dir, `${hash.slice(0, 16)}.conf`);
        writeFileSync(file, r.text);
        try {
          await execFileP('vtysh', ['--dryrun', '-f', file], { timeout: 30_000 });
        } catch (e) {
          const err = e as { stdout?: string; stderr?: string; message: string };
          failures.push(
            `seed ${SEED} case ${r.index} (${r.kind}): vtysh --dryrun rejected the rendering:\n${err.stdout ?? ''}${err.stderr ?? err.message}\n--- rendering:\n${truncate(r.text, 3000)}\n  replay: ${REPLAY(r.index)}`,
          );
        }
        stats.dryRun++;
      }
    }),
  );
  if (failures.length > 0)
    assert.fail(`${failures.length} rendering(s) rejected by vtysh --dryrun:\n\n${failures.slice(0, 5).join('\n\n')}`);
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  const total = (performance.now() - stats.started) / 1000;
  console.log(
    `fuzz summary: seed=${SEED} cases=${stats.cases} accepted=${stats.accepted} rejected=${stats.rejected} isolated=${stats.isolated}` +
      ` distinct-renderings=${stats.distinct} dry-run=${stats.dryRun}${stats.sampled ? ' (seeded sample)' : ''}` +
      ` max-case-ms=${stats.maxMs.toFixed(0)} (case ${stats.maxMsCase}, ${stats.maxMsKind}) load-seconds=${(stats.totalMs / 1000).toFixed(1)}` +
      ` fuzz-seconds=${stats.loopSeconds.toFixed(1)} total-seconds=${total.toFixed(1)} violations=${stats.failures.length}${stats.finished ? '' : ' (run did not finish)'}`,
  );
});
