/**
 * Observability end to end against real FRR: metric families and labels, readiness following the peer,
 * liveness ignoring the peer but catching a hung bgpd, /status, the status command, HTTP semantics, and the
 * password appearing nowhere it must not.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { METRIC_NAMES } from '../../src/observe/metrics.ts';
import { bgpRouterConf, docsBgpConf, RT } from '../../lab/configs.ts';
import type { StatusDoc } from '../../src/observe/status.ts';

const PASSWORD = 'Pw-9f3b!x#lab';
const REPO = fileURLToPath(new URL('../../', import.meta.url));

const routerConf = (password?: string): string => bgpRouterConf({ keepalive: 1, hold: 3, ...(password && { password }) });

const bgpConf = (neighbours = [RT]): string => docsBgpConf({ hold: '3s', keepalive: '1s', connect: '1s', ebgpMultiHop: false, neighbours });
const BGP = bgpConf();
const FILES = { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' };
const FAST = ['--poll-interval', '1s', '--vtysh-timeout', '1s'];

function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

const PEER = { vrf: 'default', afi: 'ipv4', safi: 'unicast', local_as: '65002', peer: RT, peer_as: '65001' };

describe('observability against real FRR', { timeout: 600_000 }, () => {
  const fx = useGatewayLab({ advertised: '10.17.0.0/16', routerConf: routerConf() });

  async function ready(s: SupervisorProcess): Promise<void> {
    await waitFor(async () => (await s.http('/readyz')).status === 200, { timeoutMs: 20_000, what: '/readyz 200' });
  }

  test('every metric family is exported, with the exporter labels', async () => {
    const s = await fx.start({ files: FILES, args: FAST });
    await ready(s);
    const m = await waitFor(
      async () => {
        const r = await s.http('/metrics');
        return (sample(r.body, 'frr_bgp_peer_prefixes_received_count_total', PEER) ?? 0) >= 1 && r;
      },
      { timeoutMs: 10_000, what: 'the router prefix counted in /metrics' },
    );
    assert.equal(m.status, 200);
    assert.match(m.headers['content-type'] ?? '', /^text\/plain/);
    for (const name of METRIC_NAMES) assert.match(m.body, new RegExp(`^# TYPE ${name} `, 'm'), `family ${name}`);
    assert.equal(sample(m.body, 'frr_bgp_peer_state', PEER), 1);
    assert.ok((sample(m.body, 'frr_bgp_peer_message_received_total', PEER) ?? 0) > 0);
    assert.equal(sample(m.body, 'frr_supervisor_daemon_up', { daemon: 'bgpd' }), 1);
    assert.match(m.body, /^frr_supervisor_config_valid 1$/m);
    assert.match(m.body, /^frr_supervisor_ready 1$/m);
    assert.match(m.body, /^frr_supervisor_config_applies_total\{result="applied"\} 1$/m);
    assert.match(m.body, /^process_resident_memory_bytes /m, 'prom-client default metrics');
  });

  test('HTTP semantics: 404, 405, HEAD, /status content, the status command', async () => {
    const s = fx.sup ?? (await fx.start({ files: FILES, args: FAST }));
    await ready(s);
    assert.equal((await s.http('/nope')).status, 404);
    assert.equal((await s.http('/metrics', 'POST')).status, 405);
    const head = await s.http('/livez', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const { status, doc } = await s.httpJson<StatusDoc>('/status');
    assert.equal(status, 200);
    assert.equal(doc.config.valid, true);
    assert.equal(doc.config.running?.generation, 1);
    assert.deepEqual(doc.config.sources.map((x) => x.name).sort(), ['bgp-conf.yaml', 'gateway.yaml']);
    assert.deepEqual(
      doc.daemons.map((d) => (d as { name: string; running: boolean }).running),
      [true, true, true],
    );
    const n = doc.neighbours.find((x) => x.peer === RT);
    assert.equal(n?.state, 'Established');
    assert.ok((n?.afis['ipv4-unicast']?.prefixesReceived ?? 0) >= 1);
    const cli = await fx.lab.exec(
      fx.lab.gwNs,
      [process.execPath, '--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'status', '--url', 'http://127.0.0.1:9180/status'],
      { reject: false },
    );
    assert.equal(cli.exitCode, 0, cli.stderr);
    assert.match(cli.stdout, /^bgpd\s+up\s+\d+/m);
    assert.match(cli.stdout, new RegExp(`^${RT.replace(/\./g, '\\.')}\\s+default\\s+Established`, 'm'));
  });

  test('router bgpd stopped: /readyz 503 (any), /livez 200, peer state 0 within two polls; back: 1 and ready', async () => {
    const s = fx.sup ?? (await fx.start({ files: FILES, args: FAST }));
    await ready(s);
    await fx.router.stopDaemon('bgpd', 'SIGKILL');
    const t0 = Date.now();
    await waitFor(async () => sample((await s.http('/metrics')).body, 'frr_bgp_peer_state', PEER) === 0, {
      timeoutMs: 6000,
      intervalMs: 200,
      what: 'frr_bgp_peer_state 0',
    });
    // hold time 3 s to notice the dead peer, then at most two 1 s polls
    assert.ok(Date.now() - t0 <= 6000);
    const r = await s.httpJson<{ ok: boolean; reason: string }>('/readyz');
    assert.equal(r.status, 503);
    assert.match(r.doc.reason, /none of 1 neighbours is Established/);
    assert.equal((await s.http('/livez')).status, 200, 'an upstream outage never fails liveness');
    await fx.router.startDaemon('bgpd');
    await waitFor(async () => sample((await s.http('/metrics')).body, 'frr_bgp_peer_state', PEER) === 1, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'frr_bgp_peer_state back to 1',
    });
    await ready(s);
    await s.waitForEvent('neighbour_down', (e) => e.peer === RT);
    await s.waitForEvent(
      'neighbour_up',
      (e) => e.peer === RT,
      15_000,
      s.events.findIndex((e) => e.event === 'neighbour_down'),
    );
  });

  test('gateway bgpd SIGSTOPped: vtysh timeouts counted, /livez 503 after 3 polls; SIGCONT: 200 again', async () => {
    const s = fx.sup ?? (await fx.start({ files: FILES, args: FAST }));
    await ready(s);
    const pid = await s.daemonPid('bgpd');
    assert.ok(pid);
    const errorsBefore =
      sample((await s.http('/metrics')).body, 'frr_supervisor_poll_errors_total', { command: 'show bgp vrf all summary json' }) ?? 0;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(async () => (await s.http('/livez')).status === 503, {
        timeoutMs: 12_000,
        intervalMs: 250,
        what: '/livez 503 after 3 failed polls',
      });
      const live = await s.httpJson<{ reason: string }>('/livez');
      assert.match(live.doc.reason, /FRR did not answer \d+ polls in a row/);
      const errorsAfter =
        sample((await s.http('/metrics')).body, 'frr_supervisor_poll_errors_total', { command: 'show bgp vrf all summary json' }) ?? 0;
      assert.ok(errorsAfter >= errorsBefore + 3, `poll errors ${errorsBefore} -> ${errorsAfter}`);
      assert.ok(s.find('vtysh_timeout').length >= 3);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => (await s.http('/livez')).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: '/livez 200 after SIGCONT',
    });
  });

  test('a removed neighbour leaves no stale series', async () => {
    const s = fx.sup ?? (await fx.start({ files: FILES, args: FAST }));
    await ready(s);
    s.volume.update({ ...FILES, 'bgp-conf.yaml': bgpConf([RT, '10.0.1.2']) });
    await waitFor(async () => sample((await s.http('/metrics')).body, 'frr_bgp_peer_state', { peer: '10.0.1.2' }) === 0, {
      timeoutMs: 10_000,
      what: 'series for the added neighbour',
    });
    s.volume.update(FILES);
    await waitFor(async () => !(await s.http('/metrics')).body.includes('peer="10.0.1.2"'), {
      timeoutMs: 10_000,
      what: 'no series for the removed neighbour',
    });
  });

  test('the password appears in no log line, /status, /metrics, error, child argv or environment', async () => {
    await fx.sup?.cleanup();
    await fx.router.setConfig(routerConf(PASSWORD));
    // Kube-OVN env form: BGP_PASSWORD in the supervisor's own environment must not reach its children.
    const s = await fx.start({
      files: { 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' },
      env: {
        LOCAL_ASN: '65002',
        PEER_ASN: '65001',
        NEIGHBOURS: RT,
        BGP_HOLD_TIME: '3',
        BGP_KEEPALIVE_TIME: '1',
        BGP_CONNECT_TIME: '1',
        BGP_PASSWORD: PASSWORD,
      },
      args: [...FAST, '--env'],
    });
    await ready(s); // Established with TCP-MD5: the password was applied
    // an invalid update that mentions the password's field
    s.volume.update({ 'gateway.yaml': 'advertise: [10.17.0.0/16]\n', 'bgp-password': 'two words\n' });
    await s.waitForEvent('config_rejected');
    const places: Record<string, string> = {
      logs: JSON.stringify(s.events) + s.rawStderr.join('\n'),
      status: (await s.http('/status')).body,
      metrics: (await s.http('/metrics')).body,
      readyz: (await s.http('/readyz')).body,
    };
    for (const d of ['zebra', 'staticd', 'bgpd'] as const) {
      const pid = await s.daemonPid(d);
      assert.ok(pid);
      places[`${d} cmdline`] = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      places[`${d} environ`] = readFileSync(`/proc/${pid}/environ`, 'utf8');
    }
    for (const [where, text] of Object.entries(places)) assert.ok(!text.includes(PASSWORD), `the password leaked into ${where}`);
    assert.ok(places.logs?.includes('bgp-password'), 'the rejection names the file');
    await fx.router.setConfig(routerConf());
  });
});
