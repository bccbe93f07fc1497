/**
 * The hardening issue's end-to-end cases, against real FRR (lab gateway run by `frr-supervisor run`, lab router):
 * liveness before the first valid config, one apply per change, a SIGTERM racing an apply, and the password's
 * leak paths. The tests share one lab and router; each starts its own supervisor and stops it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import { processAlive } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { parseBgpSummary } from '../../src/state/bgp.ts';
import { bgpRouterConf, docsBgpConf, GW, GW_PREFIX } from '../../lab/configs.ts';
import type { StatusDoc } from '../../src/observe/status.ts';

const FAST = ['--poll-interval', '1s', '--vtysh-timeout', '1s', '--resync', '1s'];
const bgpConf = (hold = '9s', keepalive = '3s'): string => docsBgpConf({ hold, keepalive, connect: '1s' });
const FILES = { 'bgp-conf.yaml': bgpConf(), 'gateway.yaml': `advertise: [${GW_PREFIX}]\n` };

describe('hardening against real FRR', { timeout: 600_000 }, () => {
  const fx = useGatewayLab({ advertised: GW_PREFIX, routerConf: bgpRouterConf() });

  async function fresh(
    files: Record<string, string>,
    extra: { args?: string[]; env?: Record<string, string> } = {},
  ): Promise<SupervisorProcess> {
    return fx.start({ files, args: [...FAST, ...(extra.args ?? [])], ...(extra.env && { env: extra.env }) });
  }

  async function status(s: SupervisorProcess): Promise<StatusDoc> {
    return (await s.httpJson<StatusDoc>('/status')).doc;
  }

  async function routerPrefixes(): Promise<number> {
    const peers = parseBgpSummary(await fx.router.vtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' });
    return peers.find((p) => p.peer === GW)?.prefixesReceived ?? 0;
  }

  test('an invalid first config: /livez stays 200 for 60 s (no daemon started, none asked); a valid one is applied and liveness follows the daemons', async () => {
    const s = await fresh({ ...FILES, 'bgp-conf.yaml': docsBgpConf({ neighbours: ['10.0.1.1/24'] }) });
    await s.waitForEvent('config_rejected');
    const t0 = Date.now();
    let probes = 0;
    while (Date.now() - t0 < 60_000) {
      const r = await s.http('/livez');
      probes++;
      assert.equal(r.status, 200, `after ${Date.now() - t0} ms: ${r.body}`);
      assert.match(r.body, /waiting for a valid config/);
      await new Promise((res) => setTimeout(res, 1000));
    }
    assert.ok(probes >= 30, `probes: ${probes}`);
    assert.equal(s.find('vtysh_timeout').length, 0);
    s.volume.update(FILES);
    await s.waitForEvent('config_applied', () => true, 20_000);
    await waitFor(async () => (await s.http('/livez')).body.includes('"alive"'), { timeoutMs: 10_000, what: '/livez alive with daemons' });
    // liveness now follows the daemons: bgpd SIGSTOPped hangs its queries, 3 polls later /livez fails
    const bgpd = await s.daemonPid('bgpd');
    assert.ok(bgpd);
    process.kill(bgpd, 'SIGSTOP');
    try {
      await waitFor(async () => (await s.http('/livez')).status === 503, { timeoutMs: 15_000, what: '/livez 503 with bgpd hung' });
    } finally {
      process.kill(bgpd, 'SIGCONT');
    }
    await waitFor(async () => (await s.http('/livez')).status === 200, { timeoutMs: 15_000, what: '/livez 200 again' });
  });

  test('one change is one apply: one config_changed, one config_applied, no second "daemons recovered" apply; resyncs keep lastApply', async () => {
    const s = await fresh(FILES);
    await waitFor(async () => (await s.http('/readyz')).status === 200, { timeoutMs: 30_000, what: '/readyz 200' });
    const from = s.events.length;
    s.volume.update({ ...FILES, 'bgp-conf.yaml': bgpConf('12s', '4s') });
    const applied = await s.waitForEvent('config_applied', () => true, 20_000, from);
    // Two resyncs after the apply, seen through /status (no sleeping and hoping).
    const appliedAt = Date.parse(String(applied.time));
    let resyncs = 0;
    let lastAt = appliedAt;
    await waitFor(
      async () => {
        for (const c of (await status(s)).config.recentChecks) {
          if (c.reason === 'periodic resync' && Date.parse(c.at) > lastAt) {
            resyncs++;
            lastAt = Date.parse(c.at);
          }
        }
        return resyncs >= 2;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'two resyncs after the apply' },
    );
    const since = s.events.slice(from);
    const count = (e: string): number => since.filter((x) => x.event === e).length;
    assert.equal(count('config_changed'), 1, 'config_changed');
    assert.equal(count('config_applied'), 1, `config_applied: ${JSON.stringify(since.filter((x) => x.event === 'config_applied'))}`);
    assert.equal(since.filter((x) => x.event === 'config_applied' && x.reason === 'daemons recovered').length, 0);
    assert.equal(since.filter((x) => x.event === 'daemon_started' && x.reason === 'config').length, 1, 'bgpd restarted once');
    const st = await status(s);
    const last = st.config.lastApply as { result: string; reason: string };
    assert.equal(last.result, 'applied', 'the resyncs did not overwrite the last apply');
    assert.ok(last.reason !== 'periodic resync' && last.reason !== 'daemons recovered', `the apply was the file event's: ${last.reason}`);
    assert.equal(st.config.recentChecks.at(-1)?.result, 'unchanged');
  });

  test('SIGTERM right after a config swap: the apply finishes, then the drain: the peer withdraws at once; exit 0; nothing left', async () => {
    const s = await fresh(FILES);
    // Ready first: the router may still hold the previous test's gateway prefix as stale (graceful restart).
    await waitFor(async () => (await s.http('/readyz')).status === 200, { timeoutMs: 30_000, what: '/readyz 200' });
    await waitFor(async () => (await routerPrefixes()) > 0, { timeoutMs: 30_000, what: 'the router has the gateway prefix' });
    const pids = await Promise.all((['zebra', 'staticd', 'bgpd'] as const).map((d) => s.daemonPid(d)));
    const from = s.events.length;
    s.volume.update({ ...FILES, 'bgp-conf.yaml': bgpConf('12s', '4s') });
    // The moment the apply has killed bgpd (graceful restart: the router now holds the prefix as stale).
    await waitFor(() => s.events.slice(from).some((e) => e.daemon === 'bgpd' && e.msg === 'bgpd exited'), {
      timeoutMs: 15_000,
      intervalMs: 20,
      what: 'the apply stopped bgpd',
    });
    const t0 = Date.now();
    const stopping = s.stop('SIGTERM', 30_000);
    await waitFor(async () => (await routerPrefixes()) === 0, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: 'the router withdrew the gateway prefix (not kept stale for 120 s)',
    });
    const withdrawnMs = Date.now() - t0;
    const res = await stopping;
    assert.equal(
      res.code,
      0,
      `exit ${JSON.stringify(res)}; stderr: ${s.rawStderr.join('\n')}; events: ${JSON.stringify(s.events.slice(from)).slice(-3000)}`,
    );
    assert.ok(res.ms < 20_000, `exit took ${res.ms} ms`);
    const order = s.events
      .slice(from)
      .map((e) => e.event)
      .filter((e) => ['config_applied', 'config_apply_failed', 'shutdown', 'drained', 'stopped'].includes(String(e)));
    assert.deepEqual(order, ['shutdown', 'config_applied', 'drained', 'stopped'], 'the apply finished, then the drain, then the stop');
    for (const pid of pids) assert.ok(pid && !processAlive(pid), `FRR daemon ${String(pid)} is still running`);
    assert.equal(await s.daemonPid('bgpd'), undefined);
    console.log(`# SIGTERM during an apply: router withdrew the prefix ${withdrawnMs} ms after the signal; exit after ${res.ms} ms`);
  });

  test('the password reaches no log line, /status, /metrics or child: a numeric password, env mode', async () => {
    const NUMERIC = '12345678';
    const s = await fresh(
      { ...FILES, 'bgp-conf.yaml': `${bgpConf()}  password: ${NUMERIC}\n` },
      { env: { BGP_PASSWORD: 'envSecretWord' } },
    );
    await s.waitForEvent('config_rejected');
    // a valid password in the bgp-conf file: /status lists that file without a hash
    s.volume.update({ ...FILES, 'bgp-conf.yaml': `${bgpConf()}  password: fileSecretWord\n` });
    await s.waitForEvent('config_applied', () => true, 20_000);
    const st = await status(s);
    assert.deepEqual(st.config.sources.find((x) => x.name === 'bgp-conf.yaml')?.sha256, '(holds a secret: not shown)');
    const places: Record<string, string> = {
      logs: JSON.stringify(s.events) + s.rawStderr.join('\n'),
      status: JSON.stringify(st),
      metrics: (await s.http('/metrics')).body,
    };
    for (const d of ['zebra', 'staticd', 'bgpd'] as const) {
      const pid = await s.daemonPid(d);
      assert.ok(pid);
      places[`${d} cmdline`] = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      places[`${d} environ`] = readFileSync(`/proc/${pid}/environ`, 'utf8');
      assert.ok(!places[`${d} environ`]?.includes('BGP_PASSWORD'), `${d} inherited BGP_PASSWORD`);
    }
    for (const [where, text] of Object.entries(places)) {
      for (const secret of [NUMERIC, 'envSecretWord', 'fileSecretWord'])
        assert.ok(!text.includes(secret), `${secret} leaked into ${where}`);
    }
    assert.ok(places.logs?.includes('password: must be a string'), 'the rejection names the field');
  });
});
