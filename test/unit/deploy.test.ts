// deploy/: every manifest validated (strictly: unknown fields fail) against the Kubernetes API schemas and the
// Prometheus Operator CRD schemas; the gateway Deployment checked against the code (probe paths answered by the
// real HTTP server, the port of the --listen default, the config dir and the files the supervisor reads, which
// load without error); every alert and dashboard query parsed with Prometheus' PromQL grammar and checked
// against the metric families the code exports. Each check is also run on a broken copy, to show it fails.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { RUN_FLAGS } from '../../src/cli/run-cmd.ts';
import { envName } from '../../src/cli/usage.ts';
import { INPUT_FILES } from '../../src/config/files.ts';
import { loadConfig } from '../../src/config/load.ts';
import { hasErrors, formatProblem } from '../../src/config/problems.ts';
import type { HostFacts } from '../../src/config/facts.ts';
import { createHttpServer, parseListen } from '../../src/observe/http.ts';
import { METRIC_NAMES, Metrics } from '../../src/observe/metrics.ts';
import { execForm, parseDockerfile } from '../helpers/dockerfile.ts';
import { validateManifest } from '../helpers/k8s-schemas.ts';
import { checkExpression, parsePromql, seriesNames } from '../helpers/promql.ts';
import { ProjectedVolume } from '../../lab/projected-volume.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(REPO, 'deploy');

// ---- what the manifests must agree with -------------------------------------------------------------------

/**
 * Capabilities of the frr-supervisor container (it drops ALL and adds these). Found by running the supervisor
 * with Debian's FRR 8.4.4 under `setpriv --no-new-privs --bounding-set -all,+...` and removing one at a time:
 * - NET_ADMIN, NET_RAW, SYS_ADMIN: zebra and bgpd exit at start without them ("privs_init: initial
 *   cap_set_proc failed", "Wanted caps: cap_net_admin,cap_net_raw,cap_sys_admin=p"); NET_BIND_SERVICE: bgpd's
 *   port 179. SYS_ADMIN is also what the netns VRF backend needs (setns, mount).
 * - CHOWN: the run dir is chowned to frr; SETUID/SETGID: the daemons switch to user frr ("could not
 *   setgroups"); KILL: signalling daemons of user frr; DAC_OVERRIDE: /var/run/frr belongs to frr.
 */
const REQUIRED_CAPS = ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE', 'SYS_ADMIN', 'CHOWN', 'DAC_OVERRIDE', 'SETUID', 'SETGID', 'KILL'];
/** The supervisor's drain on SIGTERM is budgeted at 10 s; the grace period must leave margin over it. */
const DRAIN_BUDGET_SECONDS = 10;
const CONTAINER = 'frr-supervisor';
const PROBE_PATHS = { livenessProbe: '/livez', readinessProbe: '/readyz', startupProbe: '/livez' } as const;
const REQUIRED_ALERTS: Record<string, { metric: string; for?: string }> = {
  FrrSupervisorBgpSessionDown: { metric: 'frr_bgp_peer_state', for: '2m' },
  FrrSupervisorConfigInvalid: { metric: 'frr_supervisor_config_valid' },
  FrrSupervisorDaemonRestartLoop: { metric: 'frr_supervisor_daemon_restarts_total' },
  FrrSupervisorNotReady: { metric: 'frr_supervisor_ready' },
  FrrSupervisorPeerPrefixLimitExceeded: { metric: 'frr_supervisor_bgp_peer_prefix_limit_exceeded' },
};
const REQUIRED_DASHBOARD_METRICS = [
  'frr_bgp_peer_state', // sessions
  'frr_bgp_peer_prefixes_received_count_total', // prefixes
  'frr_supervisor_config_applies_total', // applies
  'frr_supervisor_config_apply_duration_seconds_sum', // apply durations (mean)
  'frr_supervisor_config_apply_duration_seconds_bucket', // apply durations (p99)
  'frr_supervisor_daemon_restarts_total', // restarts
  'frr_supervisor_poll_duration_seconds_bucket', // poll time
];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const clone = <T>(v: T): T => structuredClone(v);

interface Manifest {
  file: string;
  doc: Obj;
}

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DEPLOY)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const d of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))) {
      if ('errors' in d && d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      const doc: unknown = d.toJS();
      if (doc === null || doc === undefined) continue;
      if (!isObj(doc)) throw new Error(`${file}: a document is not a mapping`);
      out.push({ file, doc });
    }
  }
  return out;
}

const manifests = loadManifests();
const findKind = (kind: string, file?: string): Obj => {
  const m = manifests.find((x) => x.doc.kind === kind && (!file || x.file === file));
  assert.ok(m, `deploy/ has a ${kind}`);
  return m.doc;
};
const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana-dashboard.json'), 'utf8')) as Obj;
const dockerCmd = ((): string[] => {
  const df = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  const cmd = df.stages.at(-1)?.instructions.find((i) => i.keyword === 'CMD');
  return cmd ? (execForm(cmd.args) ?? []) : [];
})();

/** Every series name the process exports: METRIC_NAMES (histograms as _bucket/_sum/_count) and prom-client's defaults. */
let exported = new Set<string>();
let registryFamilies: Array<{ name: string; type: string }> = [];

// The real HTTP server of the supervisor with stub answers: which paths does it serve?
let base = '';
const server = createHttpServer({
  livez: () => ({ ok: true, reason: 'stub' }),
  readyz: () => ({ ok: true, reason: 'stub' }),
  status: () => ({}),
  metrics: () => Promise.resolve({ contentType: 'text/plain', body: Buffer.alloc(0) }),
});
async function served(path: string): Promise<boolean> {
  const res = await fetch(base + path);
  await res.arrayBuffer();
  return res.status === 200;
}

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  registryFamilies = await new Metrics().families();
  const known = registryFamilies.filter(
    (f) => (METRIC_NAMES as readonly string[]).includes(f.name) || f.name.startsWith('process_') || f.name.startsWith('nodejs_'),
  );
  exported = seriesNames(known);
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

// ---- checks (each returns problems, so the broken copies below can show that it fails) ---------------------

/** The value of a `run` flag as the container sets it: args, then FRR_SUPERVISOR_<FLAG>, then the default. */
function effectiveFlag(container: Obj, flag: string, fallback: string | undefined): string | undefined {
  const args = arr(container.args).map(String);
  const effectiveArgs = args.length > 0 || container.command !== undefined ? args : dockerCmd;
  for (let i = 0; i < effectiveArgs.length; i++) {
    const a = effectiveArgs[i] ?? '';
    if (a === `--${flag}`) return effectiveArgs[i + 1];
    if (a.startsWith(`--${flag}=`)) return a.slice(flag.length + 3);
  }
  const env = arr(container.env)
    .map(obj)
    .find((e) => e.name === envName(flag));
  if (env && typeof env.value === 'string') return env.value;
  return fallback;
}

async function checkGateway(docs: Obj[]): Promise<string[]> {
  const problems: string[] = [];
  const p = (msg: string): void => void problems.push(msg);
  const dep = docs.find((d) => d.kind === 'Deployment');
  if (!dep) return ['no Deployment'];
  const podSpec = obj(obj(obj(dep.spec).template).spec);
  const podLabels = obj(obj(obj(obj(dep.spec).template).metadata).labels);
  const selector = obj(obj(obj(dep.spec).selector).matchLabels);
  for (const [k, v] of Object.entries(selector))
    if (podLabels[k] !== v) p(`the Deployment's selector ${k}=${String(v)} does not match the Pod labels`);
  const container = arr(podSpec.containers)
    .map(obj)
    .find((c) => c.name === CONTAINER);
  if (!container) return [...problems, `no container named ${CONTAINER}`];
  if (container.command !== undefined) p('command overrides the image entrypoint (tini -- frr-supervisor run)');

  // HTTP: probes on the port and paths the code serves.
  const listen = effectiveFlag(container, 'listen', RUN_FLAGS.listen.default) ?? '';
  const { host, port } = parseListen(listen);
  if (!['0.0.0.0', '::'].includes(host)) p(`--listen ${listen}: kubelet probes the Pod IP, the server must listen on all addresses`);
  const ports = arr(container.ports).map(obj);
  if (!ports.some((cp) => cp.containerPort === port)) p(`no containerPort ${port} (the --listen port)`);
  for (const [probe, path] of Object.entries(PROBE_PATHS)) {
    const http = obj(obj(container[probe]).httpGet);
    if (!isObj(container[probe])) {
      p(`no ${probe}`);
      continue;
    }
    if (http.path !== path) p(`${probe} path ${String(http.path)}, expected ${path}`);
    else if (!(await served(path))) p(`${probe} path ${path} is not served`);
    const resolved = typeof http.port === 'number' ? http.port : ports.find((cp) => cp.name === http.port)?.containerPort;
    if (resolved !== port) p(`${probe} port ${String(http.port)} is ${String(resolved)}, the supervisor listens on ${port}`);
    if (http.scheme !== undefined && http.scheme !== 'HTTP') p(`${probe} scheme must be HTTP`);
  }
  const startup = obj(container.startupProbe);
  if (Number(startup.periodSeconds ?? 10) * Number(startup.failureThreshold ?? 3) < 30)
    p('the startupProbe allows less than 30 s to start');
  const readyWhen = effectiveFlag(container, 'ready-when', RUN_FLAGS['ready-when'].default);
  if (!['applied', 'any', 'all'].includes(readyWhen ?? '')) p(`--ready-when ${String(readyWhen)} is not applied, any or all`);

  // Config: one projected volume at the config dir, holding exactly the files the supervisor reads.
  const configDir = effectiveFlag(container, 'config-dir', undefined);
  if (!configDir) p('no --config-dir');
  if (dockerCmd.join(' ') !== `--config-dir ${configDir}`)
    p(`--config-dir ${String(configDir)} differs from the image's CMD (${dockerCmd.join(' ')})`);
  const mount = arr(container.volumeMounts)
    .map(obj)
    .find((m) => m.mountPath === configDir);
  if (!mount) p(`nothing is mounted at the config dir ${String(configDir)}`);
  else if (mount.readOnly !== true) p('the config volume should be mounted read-only');
  const volume = arr(podSpec.volumes)
    .map(obj)
    .find((v) => v.name === mount?.name);
  const sources = arr(obj(volume?.projected).sources).map(obj);
  if (mount && sources.length === 0) p('the config dir is not a projected volume');
  const projected = new Map<string, { kind: string; name: string; key: string }>();
  for (const s of sources) {
    for (const kind of ['configMap', 'secret']) {
      if (!isObj(s[kind])) continue;
      const ref = obj(s[kind]);
      const items = arr(ref.items).map(obj);
      if (items.length === 0) p(`the ${kind} ${String(ref.name)} projects no items (keys must be mapped to the file names)`);
      for (const it of items) projected.set(String(it.path), { kind, name: String(ref.name), key: String(it.key) });
    }
  }
  const wanted: Record<string, string> = {
    'bgp-conf.yaml': 'configMap',
    'evpn-conf.yaml': 'configMap',
    'gateway.yaml': 'configMap',
    'bgp-password': 'secret',
  };
  const readable = new Set<string>(Object.values(INPUT_FILES).flat());
  for (const [path, src] of projected) {
    if (!readable.has(path)) p(`the volume file ${path} is not one the supervisor reads (${[...readable].join(', ')})`);
    const target = docs.find((d) => d.kind === (src.kind === 'configMap' ? 'ConfigMap' : 'Secret') && obj(d.metadata).name === src.name);
    if (!target) p(`${src.kind} ${src.name} is not in the file`);
    else if (!(src.key in obj(target.data)) && !(src.key in obj(target.stringData))) p(`${src.kind} ${src.name} has no key ${src.key}`);
  }
  for (const [path, kind] of Object.entries(wanted)) if (projected.get(path)?.kind !== kind) p(`${path} should come from a ${kind}`);

  // The Pod IP (router id default) from the downward API.
  const podIp = arr(container.env)
    .map(obj)
    .find((e) => e.name === 'POD_IP');
  if (obj(obj(podIp?.valueFrom).fieldRef).fieldPath !== 'status.podIP') p('env POD_IP must come from fieldRef status.podIP');

  // Privileges, resources, shutdown.
  const sc = obj(container.securityContext);
  const caps = obj(sc.capabilities);
  const add = arr(caps.add).map(String);
  for (const c of REQUIRED_CAPS) if (!add.includes(c)) p(`capability ${c} is not added`);
  if (!arr(caps.drop).includes('ALL')) p('capabilities should drop ALL (and add back what FRR needs)');
  if (sc.privileged === true) p('the container must not be privileged');
  if (podSpec.hostNetwork === true) p('the gateway must not use the host network');
  const res = obj(container.resources);
  for (const r of ['cpu', 'memory']) if (obj(res.requests)[r] === undefined) p(`no ${r} request`);
  if (obj(res.limits).memory === undefined) p('no memory limit');
  const grace = Number(podSpec.terminationGracePeriodSeconds ?? 30);
  if (grace < 2 * DRAIN_BUDGET_SECONDS)
    p(`terminationGracePeriodSeconds ${grace} leaves no margin over the ${DRAIN_BUDGET_SECONDS} s drain`);
  return problems;
}

function checkPodMonitor(pm: Obj, dep: Obj): Promise<string[]> {
  const problems: string[] = [];
  const podLabels = obj(obj(obj(obj(dep.spec).template).metadata).labels);
  for (const [k, v] of Object.entries(obj(obj(obj(pm.spec).selector).matchLabels)))
    if (podLabels[k] !== v) problems.push(`selector ${k}=${String(v)} does not select the gateway Pods`);
  const container = arr(obj(obj(obj(dep.spec).template).spec).containers)
    .map(obj)
    .find((c) => c.name === CONTAINER);
  const listenPort = parseListen(RUN_FLAGS.listen.default).port;
  const endpoints = arr(obj(pm.spec).podMetricsEndpoints).map(obj);
  if (endpoints.length === 0) problems.push('no podMetricsEndpoints');
  return (async () => {
    for (const ep of endpoints) {
      const port = arr(container?.ports)
        .map(obj)
        .find((cp) => cp.name === ep.port);
      if (port?.containerPort !== listenPort) problems.push(`endpoint port ${String(ep.port)} is not the container's port ${listenPort}`);
      const path = str(ep.path) ?? '/metrics';
      if (!(await served(path))) problems.push(`endpoint path ${path} is not served`);
    }
    return problems;
  })();
}

/** job="..." in queries must be the job the PodMonitor gives the targets. */
function podMonitorJob(pm: Obj): string | undefined {
  for (const ep of arr(obj(pm.spec).podMetricsEndpoints).map(obj)) {
    for (const r of arr(ep.relabelings).map(obj)) if (r.targetLabel === 'job' && typeof r.replacement === 'string') return r.replacement;
  }
  return undefined;
}

function checkQuery(expr: string, job: string | undefined): string[] {
  const problems = checkExpression(expr, exported);
  for (const m of expr.matchAll(/\bjob\s*=\s*"([^"]*)"/g))
    if (m[1] !== job) problems.push(`job="${m[1]}" is not the PodMonitor's job (${String(job)})`);
  return problems;
}

function checkAlerts(rule: Obj, job: string | undefined): string[] {
  const problems: string[] = [];
  const rules = arr(obj(rule.spec).groups)
    .flatMap((g) => arr(obj(g).rules))
    .map(obj);
  for (const r of rules) {
    const name = str(r.alert) ?? str(r.record) ?? '?';
    const expr = typeof r.expr === 'string' ? r.expr : String(r.expr);
    for (const q of checkQuery(expr, job)) problems.push(`${name}: ${q}`);
    if (r.for !== undefined && !/^(\d+(ms|s|m|h|d|w|y))+$/.test(str(r.for) ?? ''))
      problems.push(`${name}: for ${JSON.stringify(r.for)} is not a Prometheus duration`);
  }
  for (const [name, want] of Object.entries(REQUIRED_ALERTS)) {
    const r = rules.find((x) => x.alert === name);
    if (!r) {
      problems.push(`no alert ${name}`);
      continue;
    }
    if (!parsePromql(String(r.expr)).metrics.includes(want.metric)) problems.push(`${name} does not use ${want.metric}`);
    if (want.for && r.for !== want.for) problems.push(`${name} fires after ${String(r.for)}, expected ${want.for}`);
    if (!str(obj(r.labels).severity)) problems.push(`${name} has no severity label`);
    if (!str(obj(r.annotations).summary)) problems.push(`${name} has no summary annotation`);
  }
  return problems;
}

/** Grafana's variables in a query: interval variables become a duration, label_values(...) its selector. */
function grafanaToPromql(q: string): string {
  const lv = /^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(q);
  const expr = lv?.[1] ?? q;
  return expr.replace(/\$\{?__(?:rate_interval|interval|range)\}?/g, '5m');
}

function checkDashboard(d: Obj, job: string | undefined): string[] {
  const problems: string[] = [];
  for (const k of ['title', 'uid']) if (!str(d[k])) problems.push(`no ${k}`);
  if (typeof d.schemaVersion !== 'number') problems.push('no schemaVersion');
  const panels = arr(d.panels).map(obj);
  const ids = new Set<unknown>();
  const used = new Set<string>();
  for (const p of panels) {
    if (ids.has(p.id)) problems.push(`duplicate panel id ${String(p.id)}`);
    ids.add(p.id);
    const g = obj(p.gridPos);
    if (![g.h, g.w, g.x, g.y].every((n) => typeof n === 'number') || Number(g.x) + Number(g.w) > 24)
      problems.push(`panel ${String(p.title)}: bad gridPos`);
    if (p.type === 'row') continue;
    const targets = arr(p.targets).map(obj);
    if (targets.length === 0) problems.push(`panel ${String(p.title)} has no query`);
    for (const t of targets) {
      const expr = grafanaToPromql(str(t.expr) ?? '');
      for (const q of checkQuery(expr, job)) problems.push(`panel ${String(p.title)}: ${q}`);
      for (const m of parsePromql(expr).metrics) used.add(m);
    }
  }
  const variables = arr(obj(d.templating).list).map(obj);
  if (!variables.some((v) => v.type === 'datasource' && v.query === 'prometheus')) problems.push('no Prometheus datasource variable');
  for (const v of variables.filter((x) => x.type === 'query')) {
    for (const q of checkQuery(grafanaToPromql(String(obj(v.query).query ?? v.query)), job))
      problems.push(`variable ${String(v.name)}: ${q}`);
  }
  for (const m of REQUIRED_DASHBOARD_METRICS) if (!used.has(m)) problems.push(`no panel shows ${m}`);
  return problems;
}

/** The projected volume's files, as kubelet would write them from the ConfigMap and the Secret. */
function volumeFiles(docs: Obj[]): Record<string, string> {
  const files: Record<string, string> = {};
  const dep = docs.find((d) => d.kind === 'Deployment') ?? {};
  for (const v of arr(obj(obj(obj(dep.spec).template).spec).volumes).map(obj)) {
    for (const s of arr(obj(v.projected).sources).map(obj)) {
      for (const [kind, k8sKind] of [
        ['configMap', 'ConfigMap'],
        ['secret', 'Secret'],
      ] as const) {
        if (!isObj(s[kind])) continue;
        const ref = obj(s[kind]);
        const src = docs.find((d) => d.kind === k8sKind && obj(d.metadata).name === ref.name);
        for (const it of arr(ref.items).map(obj)) {
          const text = str(obj(src?.data)[String(it.key)]) ?? str(obj(src?.stringData)[String(it.key)]);
          if (text !== undefined)
            files[String(it.path)] = k8sKind === 'Secret' && src?.data ? Buffer.from(text, 'base64').toString('utf8') : text;
        }
      }
    }
  }
  return files;
}

const facts = (env: Record<string, string>): HostFacts => ({ env, interfaceIPv4: () => Promise.resolve(undefined) });

// ---- the tests ----------------------------------------------------------------------------------------------

describe('deploy/: every manifest is valid against the Kubernetes API schemas (strict)', () => {
  it('deploy/ holds the expected resources', () => {
    const kinds = manifests.map((m) => `${m.file}:${String(m.doc.kind)}`).sort();
    assert.deepEqual(kinds, [
      'podmonitor.yaml:PodMonitor',
      'prometheusrule.yaml:PrometheusRule',
      'reference-gateway.yaml:ConfigMap',
      'reference-gateway.yaml:Deployment',
      'reference-gateway.yaml:Secret',
    ]);
  });

  for (const m of manifests) {
    it(`${m.file}: ${String(m.doc.kind)} ${String(obj(m.doc.metadata).name)}`, () => {
      const res = validateManifest(m.doc);
      assert.deepEqual(res.errors, [], `${m.file} ${String(m.doc.kind)} (${res.schemaId})`);
    });
  }

  it('fails a misspelled field, a wrong type and a missing required field', () => {
    const dep = clone(findKind('Deployment'));
    const c = obj(arr(obj(obj(obj(dep.spec).template).spec).containers)[0]);
    c.livenesProbe = c.livenessProbe;
    const typo = validateManifest(dep).errors;
    assert.ok(
      typo.some((e) => e.includes('unknown field "livenesProbe"')),
      typo.join('\n'),
    );
    const dep2 = clone(findKind('Deployment'));
    obj(arr(obj(arr(obj(obj(obj(dep2.spec).template).spec).containers)[0]).ports)[0]).containerPort = '9180';
    assert.ok(validateManifest(dep2).errors.some((e) => e.includes('containerPort: must be integer')));
    const pm = clone(findKind('PodMonitor'));
    const spec = obj(pm.spec);
    spec.podMetricEndpoints = spec.podMetricsEndpoints;
    delete spec.podMetricsEndpoints;
    const pmErrors = validateManifest(pm).errors;
    assert.ok(
      pmErrors.some((e) => e.includes('unknown field "podMetricEndpoints"')),
      pmErrors.join('\n'),
    );
    assert.ok(
      pmErrors.some((e) => e.includes("must have required property 'podMetricsEndpoints'")),
      pmErrors.join('\n'),
    );
    const cm = clone(findKind('ConfigMap'));
    cm.dat = cm.data;
    assert.ok(validateManifest(cm).errors.some((e) => e.includes('unknown field "dat"')));
  });

  it('an unknown kind has no schema (and fails)', () => {
    assert.throws(() => validateManifest({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }), /no schema/);
  });
});

describe('deploy/reference-gateway.yaml: the frr-supervisor container matches the code', () => {
  const gatewayDocs = manifests.filter((m) => m.file === 'reference-gateway.yaml').map((m) => m.doc);

  it('probes, port, config volume, POD_IP, capabilities, resources and grace period', async () => {
    assert.deepEqual(await checkGateway(gatewayDocs), []);
  });

  const broken: Array<[string, (dep: Obj, c: Obj, docs: Obj[]) => void, RegExp]> = [
    [
      'a wrong probe port',
      (_d, c) => void (obj(obj(c.livenessProbe).httpGet).port = 9181),
      /livenessProbe port 9181 is 9181, the supervisor listens on 9180/,
    ],
    [
      'a probe path the server does not serve',
      (_d, c) => void (obj(obj(c.readinessProbe).httpGet).path = '/ready'),
      /readinessProbe path \/ready, expected \/readyz/,
    ],
    ['a --listen on loopback', (_d, c) => void (c.args = [...arr(c.args), '--listen', '127.0.0.1:9180']), /must listen on all addresses/],
    [
      'a config dir the volume is not mounted at',
      (_d, c) => void (c.args = ['--config-dir', '/etc/other']),
      /nothing is mounted at the config dir \/etc\/other/,
    ],
    [
      'a projected file the supervisor does not read',
      (d) =>
        void (obj(arr(obj(arr(obj(obj(obj(d.spec).template).spec).volumes).map(obj)[0]?.projected).sources).map(obj)[0]?.configMap).items =
          [{ key: 'bgp-conf.yaml', path: 'bgp.yaml' }]),
      /bgp\.yaml is not one the supervisor reads/,
    ],
    [
      'a missing capability',
      (_d, c) => void (obj(obj(c.securityContext).capabilities).add = ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE']),
      /capability SYS_ADMIN is not added/,
    ],
    [
      'a short grace period',
      (d) => void (obj(obj(obj(d.spec).template).spec).terminationGracePeriodSeconds = 5),
      /terminationGracePeriodSeconds 5/,
    ],
    [
      'POD_IP not from the downward API',
      (_d, c) => void (c.env = [{ name: 'POD_IP', value: '10.0.0.1' }]),
      /POD_IP must come from fieldRef status\.podIP/,
    ],
  ];
  for (const [what, edit, expected] of broken) {
    it(`fails on ${what}`, async () => {
      const docs = clone(gatewayDocs);
      const dep = docs.find((d) => d.kind === 'Deployment') ?? {};
      const c = obj(
        arr(obj(obj(obj(dep.spec).template).spec).containers)
          .map(obj)
          .find((x) => x.name === CONTAINER),
      );
      edit(dep, c, docs);
      const problems = await checkGateway(docs);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${expected} in:\n${problems.join('\n')}`,
      );
    });
  }

  it('the projected files load without error: the Kube-OVN docs examples, the gateway file and the password', async () => {
    const files = volumeFiles(gatewayDocs);
    assert.deepEqual(Object.keys(files).sort(), ['bgp-conf.yaml', 'bgp-password', 'evpn-conf.yaml', 'gateway.yaml']);
    // The docs' bgp-conf-6502 / evpn-conf-1016, as the golden test (test/golden/docs-evpn) has them.
    const golden = join(REPO, 'test/golden/docs-evpn/input');
    for (const f of ['bgp-conf.yaml', 'evpn-conf.yaml', 'gateway.yaml']) {
      assert.deepEqual(
        parseAllDocuments(files[f] ?? '')[0]?.toJS(),
        parseAllDocuments(readFileSync(join(golden, f), 'utf8'))[0]?.toJS(),
        `${f} is the docs example`,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'frrsup-deploy-'));
    try {
      new ProjectedVolume(dir).update(files);
      const res = await loadConfig({ configDir: dir, facts: facts({ POD_IP: '10.0.1.13' }) });
      assert.equal(hasErrors(res.problems), false, res.problems.map(formatProblem).join('\n'));
      assert.ok(res.spec);
      assert.equal(res.spec.bgp.localAsn, 65002);
      assert.equal(res.spec.bgp.peerAsn, 65001);
      assert.equal(res.spec.bgp.routerId, '10.0.1.13');
      assert.equal(res.spec.bgp.routerIdSource, 'POD_IP');
      assert.equal(res.spec.bgp.password, 'change-me');
      assert.deepEqual(res.spec.evpn, { vni: 1016, routeTargets: ['65000:1016'] });
      assert.deepEqual(res.spec.gateway.advertise, ['10.16.0.0/16', '10.17.0.0/16']);
      assert.deepEqual(res.sources.map((s) => s.name).sort(), ['bgp-conf.yaml', 'bgp-password', 'evpn-conf.yaml', 'gateway.yaml']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an invalid ConfigMap content fails to load', async () => {
    const docs = clone(gatewayDocs);
    const cm = obj(docs.find((d) => d.kind === 'ConfigMap'));
    obj(cm.data)['gateway.yaml'] = 'advertise:\n- 10.16.0.0/33\n';
    const dir = mkdtempSync(join(tmpdir(), 'frrsup-deploy-'));
    try {
      new ProjectedVolume(dir).update(volumeFiles(docs));
      const res = await loadConfig({ configDir: dir, facts: facts({ POD_IP: '10.0.1.13' }) });
      assert.equal(hasErrors(res.problems), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/podmonitor.yaml: scrapes the gateway Pods on the metrics port', () => {
  it('selects the gateway Pods, port http-metrics = the --listen port, /metrics is served', async () => {
    assert.deepEqual(await checkPodMonitor(findKind('PodMonitor'), findKind('Deployment')), []);
  });

  it('fails on a port name the container does not have, or a path not served', async () => {
    const pm = clone(findKind('PodMonitor'));
    const ep = obj(arr(obj(pm.spec).podMetricsEndpoints)[0]);
    ep.port = 'metrics';
    ep.path = '/metric';
    const problems = await checkPodMonitor(pm, findKind('Deployment'));
    assert.ok(
      problems.some((p) => p.includes('endpoint port metrics')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('endpoint path /metric is not served')),
      problems.join('\n'),
    );
  });
});

describe('deploy/prometheusrule.yaml and grafana-dashboard.json: queries use exported metrics only', () => {
  const job = (): string | undefined => podMonitorJob(findKind('PodMonitor'));

  it('METRIC_NAMES is what the registry exports (besides prom-client defaults)', () => {
    const own = registryFamilies.map((f) => f.name).filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_'));
    assert.deepEqual([...own].sort(), [...METRIC_NAMES].sort());
    assert.ok(exported.has('frr_supervisor_poll_duration_seconds_bucket'));
    assert.ok(!exported.has('frr_supervisor_poll_duration_seconds'), 'a histogram family is not itself a series');
  });

  it('the alerts: session down for 2 min, config invalid, daemon restart loop, not ready; every expression parses and uses exported metrics', () => {
    assert.equal(job(), 'frr-supervisor');
    assert.deepEqual(checkAlerts(findKind('PrometheusRule'), job()), []);
  });

  it('fails on an alert on a metric that does not exist, a syntax error, or a missing alert', () => {
    const rule = clone(findKind('PrometheusRule'));
    const rules = arr(obj(arr(obj(rule.spec).groups)[0]).rules).map(obj);
    const first = rules[0] ?? {};
    first.expr = 'frr_bgp_peer_status{job="frr-supervisor"} == 0';
    const second = rules[1] ?? {};
    second.expr = 'sum(rate(frr_supervisor_config_valid[5m]) by (pod)';
    rules.pop();
    obj(arr(obj(rule.spec).groups)[0]).rules = rules;
    const problems = checkAlerts(rule, job());
    assert.ok(
      problems.some((p) => p.includes('metric frr_bgp_peer_status is not exported')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('syntax error')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('no alert FrrSupervisorNotReady')),
      problems.join('\n'),
    );
    assert.ok(checkQuery('up{job="frr-supervisor"} == 0', job()).some((p) => p.includes('metric up is not exported')));
    assert.ok(checkQuery('frr_supervisor_ready{job="frr"} == 0', job()).some((p) => p.includes('is not the PodMonitor')));
  });

  it('the dashboard: sessions, prefixes, applies, apply durations, restarts, poll time; every query uses exported metrics', () => {
    assert.deepEqual(checkDashboard(dashboard, job()), []);
  });

  it('fails on a dashboard query on a metric that does not exist', () => {
    const d = clone(dashboard);
    const panel =
      arr(d.panels)
        .map(obj)
        .find((p) => p.type !== 'row') ?? {};
    obj(arr(panel.targets)[0]).expr = 'frr_supervisor_up{job="frr-supervisor"}';
    const problems = checkDashboard(d, job());
    assert.ok(
      problems.some((p) => p.includes('metric frr_supervisor_up is not exported')),
      problems.join('\n'),
    );
  });
});
