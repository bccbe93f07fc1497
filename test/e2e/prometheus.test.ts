/**
 * A real Prometheus (Debian's 2.42) in the gateway namespace scrapes the lab gateway every second, with the
 * PrometheusRule's alerts loaded (each `for` divided by 30, the expressions untouched):
 * - /metrics passes `promtool check metrics` in every mode (BGP only, EVPN, invalid input, a daemon down) but for
 *   prometheus-frr-exporter's own naming, and its FRR families have the types and labels of Debian's exporter
 *   scraping the same FRR;
 * - every counter is there at 0 from the start, so the server sees the first crash, and three crashes fire the
 *   restart-loop alert;
 * - every Grafana dashboard query returns data from this server;
 * - the external router stopped: the BGP-down alert goes pending then firing and /readyz answers 503; the router
 *   back: it resolves; an invalid input fires the config-invalid alert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { evpnRouterConf, evpnRouterDevices, gatewayInternalInterface } from '../../lab/evpn-router.ts';
import { docsBgpConf, docsEvpnConf, RT } from '../../lab/configs.ts';
import { NsHttp } from '../../lab/fault-kit.ts';
import { LabFrrExporter, LabPrometheus } from '../../lab/prometheus-server.ts';
import type { PromAlert } from '../../lab/prometheus-server.ts';
import {
  alertRules,
  dashboardQueries,
  durationMs,
  EXPORTER_WARTS,
  lintKey,
  parseExposition,
  promtoolLint,
  rulesFileText,
  sampleValue,
} from '../helpers/prometheus.ts';
import { DAEMON_NAMES } from '../../src/frr/daemon.ts';
import { RESTART_REASONS } from '../../src/observe/metrics.ts';
import { pollCommands } from '../../src/observe/poller.ts';

const VRF = `fsl${process.pid}p9`;
/** Every alert's `for` is divided by this: 2m -> 4s, 1m -> 2s, 5m -> 10s. */
const FOR_FACTOR = 30;
/** What the PodMonitor's relabelling and the Prometheus Operator put on the target. */
const TARGET = { namespace: 'lab', pod: 'gateway1-0', gateway: 'gateway1' };
const JOB = 'frr-supervisor';
const BGP = docsBgpConf({ hold: '3s', keepalive: '1s', connect: '1s' });
const GATEWAY = `advertise: [10.17.0.0/16]
internalInterface: int0
internalGateway: 10.16.0.1
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
`;
const BGP_ONLY = { 'bgp-conf.yaml': BGP, 'gateway.yaml': GATEWAY };
const EVPN = { ...BGP_ONLY, 'evpn-conf.yaml': docsEvpnConf(1016) };
const PEER_FAMILIES = [
  'state',
  'uptime_seconds',
  'prefixes_received_count_total',
  'prefixes_advertised_count_total',
  'message_received_total',
  'message_sent_total',
].map((f) => `frr_bgp_peer_${f}`);
const VTEP_FAMILY = 'frr_bgp_l2vpn_evpn_remote_vtep_count_total';

describe('a real Prometheus scrapes the lab gateway: lint, dashboard, alerts', { timeout: 300_000 }, () => {
  let lab: Lab;
  let router: RouterInstance;
  let sup: SupervisorProcess;
  let http: NsHttp;
  let prom: LabPrometheus;
  let exporter: LabFrrExporter;
  /** The allowed lint problems seen over the modes (each must be seen: no stale allowance). */
  const wartsSeen = new Set<string>();

  before(async () => {
    lab = await createLab();
    await gatewayInternalInterface(lab);
    await evpnRouterDevices(lab, 1016);
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', '10.17.0.0/16']);
    router = await lab.startRouter(evpnRouterConf(1016, undefined, undefined, { unicast: true }));
    sup = startSupervisor(lab, { files: BGP_ONLY, args: ['--poll-interval', '1s', '--vtysh-timeout', '1s', '--resync', '2s'] });
    http = await NsHttp.start(lab, 9180);
    prom = await LabPrometheus.start(lab, {
      jobName: JOB,
      targets: [{ address: '127.0.0.1:9180', labels: TARGET }],
      rules: rulesFileText({ forFactor: FOR_FACTOR }),
      interval: '1s',
    });
  });

  after(async () => {
    await exporter?.stop();
    await prom?.stop();
    await http?.stop();
    await sup?.cleanup();
    await lab?.exec('gw', ['ip', 'netns', 'del', VRF], { reject: false });
    await execa('ip', ['netns', 'del', VRF], { reject: false });
    await lab?.cleanup();
  });

  const metrics = async (): Promise<string> => (await http.get('/metrics')).body;

  async function lint(body: string, mode: string): Promise<void> {
    const r = await promtoolLint(body);
    assert.deepEqual(r.unexpected, [], `${mode}: promtool check metrics found problems that are not prometheus-frr-exporter's own naming`);
    for (const w of r.allowed) wartsSeen.add(w);
  }

  /** Our FRR families against the exporter's from the same FRR: same type, same label names. */
  async function sameAsExporter(body: string, mustShare: string[]): Promise<void> {
    const theirs = parseExposition(
      await waitFor(
        async () => {
          const b = await exporter.metrics();
          return mustShare.every((f) => (parseExposition(b).get(f)?.samples ?? 0) > 0) && b;
        },
        { timeoutMs: 15_000, intervalMs: 500, what: `the exporter's ${mustShare.join(', ')}` },
      ),
    );
    const ours = parseExposition(body);
    const shared = [...ours.keys()].filter((n) => n.startsWith('frr_') && (theirs.get(n)?.samples ?? 0) > 0);
    for (const f of mustShare) assert.ok(shared.includes(f), `both export ${f}`);
    for (const name of shared) {
      assert.equal(ours.get(name)?.type, theirs.get(name)?.type, `${name}: TYPE as prometheus-frr-exporter's`);
      if ((ours.get(name)?.samples ?? 0) > 0)
        assert.deepEqual(
          [...(ours.get(name)?.labels ?? [])].sort(),
          [...(theirs.get(name)?.labels ?? [])].sort(),
          `${name}: labels as prometheus-frr-exporter's`,
        );
    }
  }

  async function alert(name: string, labels: Record<string, string> = {}): Promise<PromAlert | undefined> {
    return (await prom.alerts()).find((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
  }

  /** Waits for an alert to fire, recording the states seen on the way. */
  async function firing(name: string, labels: Record<string, string>, timeoutMs: number): Promise<{ alert: PromAlert; states: string[] }> {
    const states: string[] = [];
    const a = await waitFor(
      async () => {
        const x = await alert(name, labels);
        if (x && states.at(-1) !== x.state) states.push(x.state);
        return x?.state === 'firing' && x;
      },
      { timeoutMs, intervalMs: 200, what: `${name} firing` },
    );
    return { alert: a, states };
  }

  test('the server loaded the PrometheusRule (for shortened, expressions untouched) and scrapes the gateway', async () => {
    const loaded = await prom.rules();
    const want = alertRules();
    assert.deepEqual(loaded.map((r) => r.name).sort(), want.map((r) => r.alert).sort());
    for (const r of want) {
      const l = loaded.find((x) => x.name === r.alert);
      assert.equal(l?.duration, durationMs(r.for ?? '0s') / 1000 / FOR_FACTOR, `${r.alert}: for`);
      // Prometheus prints the parsed expression back (label matchers without spaces): equal but for whitespace
      assert.equal(l?.query.replace(/\s+/g, ''), r.expr.replace(/\s+/g, ''), `${r.alert}: expression`);
      assert.equal(l?.health === 'err', false, `${r.alert}: ${String(l?.health)}`);
    }
    // Prometheus hands new targets to its scrapers up to 5 s after it starts: nothing below may happen before the
    // first scrape (the dashboard check needs the apply counters from before the EVPN apply).
    await waitFor(
      async () => {
        const targets = await prom.targets();
        return targets.length === 1 && targets[0]?.health === 'up' && (await prom.query(`up{job="${JOB}"}`))[0]?.value[1] === '1';
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'the gateway target scraped' },
    );
  });

  test("BGP only: /metrics passes promtool check metrics; types and labels as the exporter's; counters at 0 from the start", async () => {
    await waitFor(async () => (await http.get('/readyz')).status === 200, { timeoutMs: 30_000, what: '/readyz 200' });
    const body = await waitFor(
      async () => {
        const b = await metrics();
        return (sampleValue(b, 'frr_bgp_peer_prefixes_received_count_total', { peer: RT, afi: 'ipv4' }) ?? 0) >= 1 && b;
      },
      { timeoutMs: 15_000, what: 'the router prefix counted' },
    );
    for (const daemon of DAEMON_NAMES) {
      for (const reason of RESTART_REASONS)
        assert.equal(
          sampleValue(body, 'frr_supervisor_daemon_restarts_total', { daemon, reason }),
          0,
          `restarts ${daemon} ${reason} exported at 0`,
        );
    }
    for (const command of pollCommands(undefined))
      assert.notEqual(sampleValue(body, 'frr_supervisor_poll_errors_total', { command }), undefined, `poll errors of ${command}`);
    for (const result of ['applied', 'failed', 'invalid'])
      assert.notEqual(sampleValue(body, 'frr_supervisor_config_applies_total', { result }), undefined, `applies ${result}`);
    await lint(body, 'BGP only');
    exporter = await LabFrrExporter.start(lab, sup.paths.instanceRunDir, { logFile: `${lab.tmpDir}/exporter.log` });
    await sameAsExporter(body, PEER_FAMILIES);
  });

  test("EVPN: /metrics passes promtool check metrics; types and labels as the exporter's", async () => {
    sup.volume.update(EVPN);
    await sup.waitForEvent('config_applied', (e) => e.generation === 2, 30_000);
    const body = await waitFor(
      async () => {
        const b = await metrics();
        const ok =
          sampleValue(b, 'frr_evpn_vni_up', { vni: '1016' }) === 1 &&
          sampleValue(b, 'frr_bgp_peer_state', { peer: RT, afi: 'l2vpn', safi: 'evpn' }) === 1 &&
          (sampleValue(b, VTEP_FAMILY, { vni: '1016' }) ?? 0) >= 1 &&
          (sampleValue(b, 'frr_evpn_prefix_routes', { vni: '1016' }) ?? 0) >= 1;
        return ok && b;
      },
      {
        timeoutMs: 40_000,
        intervalMs: 250,
        what: 'VNI 1016 up, the l2vpn session Established, a remote VTEP and a type-5 route installed',
      },
    );
    for (const command of pollCommands({ vni: 1016, vrf: VRF }))
      assert.notEqual(sampleValue(body, 'frr_supervisor_poll_errors_total', { command }), undefined, `poll errors of ${command}`);
    await lint(body, 'EVPN');
    await sameAsExporter(body, [...PEER_FAMILIES, VTEP_FAMILY]);
  });

  test('every Grafana dashboard query (and variable) returns data from the server', async () => {
    // The BFD panels have data only with gateway.yaml bfd on (bfdd running), which this lab's router lacks:
    // test/e2e/bfd.test.ts checks those series on /metrics.
    const all = dashboardQueries({ namespace: TARGET.namespace, pod: TARGET.pod, rateInterval: '1m', range: '6h' });
    const queries = all.filter((q) => !q.expr.includes('frr_bfd_'));
    assert.equal(all.length - queries.length, 2, 'the two BFD panels');
    assert.ok(queries.length >= 20, `${queries.length} queries`);
    let empty: string[];
    const deadline = Date.now() + 30_000;
    for (;;) {
      empty = [];
      for (const q of queries) {
        const r = await prom.query(q.expr); // a query error throws: the panel would show an error
        if (!r.some((s) => Number.isFinite(Number(s.value[1])))) empty.push(`${q.panel} (${q.refId}): ${q.expr}`);
      }
      if (empty.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (empty.length > 0) {
      const count = await prom.query(`frr_supervisor_config_apply_duration_seconds_count{job="${JOB}"}[2m]`);
      const applied = sup.find('config_applied').map((e) => [e.time, e.generation, e.durationMs]);
      assert.fail(
        `panels without data:\n${empty.join('\n')}\napply duration count: ${JSON.stringify(count).slice(0, 3000)}\napplied: ${JSON.stringify(applied)}\nnow ${new Date().toISOString()}`,
      );
    }
    assert.ok((await prom.labelValues('namespace', `frr_supervisor_ready{job="${JOB}"}`)).includes(TARGET.namespace), 'variable namespace');
    assert.ok(
      (await prom.labelValues('pod', `frr_supervisor_ready{job="${JOB}", namespace=~"${TARGET.namespace}"}`)).includes(TARGET.pod),
      'variable pod',
    );
  });

  test('the router stopped: BGP-down alert pending then firing, /readyz 503; the router back: resolved, /readyz 200', async () => {
    await router.stopDaemon('bgpd', 'SIGKILL');
    const { alert: a, states } = await firing('FrrSupervisorBgpSessionDown', { peer: RT }, 30_000);
    assert.deepEqual(states, ['pending', 'firing']);
    assert.deepEqual(
      { ...a.labels },
      {
        alertname: 'FrrSupervisorBgpSessionDown',
        severity: 'critical',
        job: JOB,
        instance: '127.0.0.1:9180',
        ...TARGET,
        vrf: 'default',
        afi: 'l2vpn',
        safi: 'evpn',
        local_as: '65002',
        peer: RT,
        peer_as: '65001',
      },
    );
    assert.match(
      a.annotations.description ?? '',
      new RegExp(
        `^${TARGET.pod} \\(gateway ${TARGET.gateway}\\): the BGP session with ${RT.replace(/\./g, '\\.')} \\(AS 65001, VRF default, l2vpn evpn\\)`,
      ),
    );
    const ready = await http.get('/readyz');
    assert.equal(ready.status, 503, ready.body);
    assert.equal((await prom.query(`frr_supervisor_ready{job="${JOB}"}`))[0]?.value[1], '0', 'the server sees frr_supervisor_ready 0');
    await router.startDaemon('bgpd');
    await waitFor(async () => !(await alert('FrrSupervisorBgpSessionDown')), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'FrrSupervisorBgpSessionDown resolved',
    });
    await waitFor(async () => (await http.get('/readyz')).status === 200, { timeoutMs: 10_000, what: '/readyz 200 again' });
  });

  test('invalid input: the config-invalid alert fires; /metrics passes promtool check metrics; valid again: resolved', async () => {
    const after = sup.events.length;
    sup.volume.update({ ...EVPN, 'bgp-conf.yaml': BGP.replace('localASN: 65002', 'localASN: not-a-number') });
    await sup.waitForEvent('config_rejected', () => true, 15_000, after);
    const body = await waitFor(
      async () => {
        const b = await metrics();
        return sampleValue(b, 'frr_supervisor_config_valid') === 0 && b;
      },
      { timeoutMs: 10_000, what: 'frr_supervisor_config_valid 0' },
    );
    await lint(body, 'invalid input');
    const { alert: a } = await firing('FrrSupervisorConfigInvalid', {}, 20_000);
    assert.equal(a.labels.severity, 'warning');
    assert.equal(a.labels.pod, TARGET.pod);
    sup.volume.update(EVPN);
    await waitFor(async () => !(await alert('FrrSupervisorConfigInvalid')), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FrrSupervisorConfigInvalid resolved',
    });
  });

  test('a daemon down: /metrics passes promtool check metrics; the server sees the first crash; three crashes fire the restart loop', async () => {
    const crashes = `frr_supervisor_daemon_restarts_total{job="${JOB}", daemon="bgpd", reason="crash"}`;
    assert.equal((await prom.query(crashes))[0]?.value[1], '0', 'the crash counter has been at 0 on the server since the start');
    let pid = await sup.daemonPid('bgpd');
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const body = await waitFor(
      async () => {
        const b = await metrics();
        return sampleValue(b, 'frr_supervisor_daemon_up', { daemon: 'bgpd' }) === 0 && b;
      },
      { timeoutMs: 5000, intervalMs: 20, what: 'frr_supervisor_daemon_up{daemon="bgpd"} 0' },
    );
    await lint(body, 'a daemon down');
    // The series was there at 0 before: increase() counts the very first crash.
    await waitFor(async () => Number((await prom.query(`increase(${crashes}[1m])`))[0]?.value[1] ?? 0) >= 1, {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: 'increase() of the crash counter >= 1 after the first crash',
    });
    // Each crash once the supervisor has restarted bgpd (and counted it): a kill during the restart would only
    // make the supervisor retry that restart.
    for (let n = 2; n <= 3; n++) {
      const restarted = await sup.waitForEvent(
        'daemon_started',
        (e) => e.daemon === 'bgpd' && e.reason === 'crash' && e.pid !== pid,
        15_000,
      );
      pid = Number(restarted.pid);
      process.kill(pid, 'SIGKILL');
    }
    const { alert: a, states } = await firing('FrrSupervisorDaemonRestartLoop', { daemon: 'bgpd' }, 40_000).catch(async (err: unknown) => {
      const seen = (await prom.query(`${crashes}[2m]`).catch(() => [])).map((s) => JSON.stringify(s));
      const inc = (await prom.query(`increase(${crashes}[15m])`))[0]?.value[1];
      throw new Error(
        `${(err as Error).message}; increase over 15m: ${String(inc)}; daemon_started: ${JSON.stringify(sup.find('daemon_started').map((e) => [e.daemon, e.reason]))}; ${seen.join(' ').slice(0, 2000)}`,
      );
    });
    assert.deepEqual(states, ['pending', 'firing']);
    assert.match(a.annotations.description ?? '', /bgpd crashed and was restarted 3 times in 15 minutes/);
    for (const w of EXPORTER_WARTS)
      assert.ok(wartsSeen.has(lintKey(w)), `the allowed problem "${lintKey(w)}" was seen (else drop it from EXPORTER_WARTS)`);
  });
});
