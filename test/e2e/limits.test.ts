/**
 * Bounds end to end against real FRR (#12 item 8): a peer that sends more prefixes than gateway.yaml's
 * maximumPrefix gets its session torn down by the gateway's bgpd, and the reason is visible in /status, in the
 * logs and in the metrics; raising the limit brings the session back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { bgpRouterConf, docsBgpConf, GW, GW_PREFIX, RT } from '../../lab/configs.ts';
import type { StatusDoc } from '../../src/observe/status.ts';

const FAST = ['--poll-interval', '1s', '--vtysh-timeout', '2s'];
const BGP = docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s', ebgpMultiHop: false });
const gatewayYaml = (maximumPrefix: number): string => `advertise: [${GW_PREFIX}]\nmaximumPrefix: ${maximumPrefix}\n`;

/** The lab router's config with `n` more /24s (198.18.i.0/24, routed to Null0) announced to the gateway. */
function leakyRouterConf(n: number): string {
  const statics = Array.from({ length: n }, (_, i) => `ip route 198.18.${i}.0/24 Null0\n`).join('');
  const networks = Array.from({ length: n }, (_, i) => `  network 198.18.${i}.0/24\n`).join('');
  return bgpRouterConf({ keepalive: 1, hold: 3 })
    .replace('router bgp 65001\n', `${statics}router bgp 65001\n`)
    .replace(' address-family ipv4 unicast\n', ` address-family ipv4 unicast\n${networks}`);
}

function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

const PEER = { vrf: 'default', afi: 'ipv4', safi: 'unicast', peer: RT };

describe('inbound prefix limit against real FRR', { timeout: 600_000 }, () => {
  const fx = useGatewayLab({ advertised: GW_PREFIX, routerConf: leakyRouterConf(2) });

  async function neighbour(s: SupervisorProcess): Promise<StatusDoc['neighbours'][number] | undefined> {
    const { doc } = await s.httpJson<StatusDoc>('/status');
    return doc.neighbours.find((n) => n.peer === RT);
  }

  test('a router sending more than maximumPrefix is torn down, with the reason in /status, logs and metrics', async () => {
    const s = await fx.start({ files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': gatewayYaml(5) }, args: FAST });
    await s.waitForEvent('config_applied', () => true, 30_000);
    // the limit is in FRR's running config (config_applied means it also passed the line-by-line verify)
    const running = await s.vty.run(['show running-config']);
    assert.match(running, new RegExp(`^  neighbor ${RT.replace(/\./g, '\\.')} maximum-prefix 5$`, 'm'), running);
    const up = await waitFor(
      async () => {
        const n = await neighbour(s);
        return n?.established && n.afis['ipv4-unicast']?.prefixesReceived === 3 && n;
      },
      { timeoutMs: 30_000, what: 'Established with 3 prefixes received (under the limit of 5)' },
    );
    assert.equal(up.state, 'Established');
    await waitFor(() => s.find('neighbour_up').length > 0, { timeoutMs: 10_000, what: 'neighbour_up logged' });
    const metricsUp = (await s.http('/metrics')).body;
    assert.equal(sample(metricsUp, 'frr_supervisor_bgp_peer_prefix_limit_exceeded', PEER), 0, 'not exceeded while under the limit');

    // The router starts leaking: 1 + 8 = 9 prefixes, more than 5.
    const before = s.events.length;
    await fx.router.setConfig(leakyRouterConf(8));
    const down = await s.waitForEvent('neighbour_down', (e) => e.peer === RT, 30_000, before);
    assert.match(String(down.state), /PfxCt/, `neighbour_down state: ${JSON.stringify(down)}`);
    assert.match(String(down.reason), /Maximum Number of Prefixes Reached/, `neighbour_down reason: ${JSON.stringify(down)}`);

    const n = await waitFor(
      async () => {
        const x = await neighbour(s);
        return x && !x.established && x.lastResetReason ? x : undefined;
      },
      { timeoutMs: 15_000, what: '/status: the neighbour down with a last reset reason' },
    );
    assert.match(n.state, /Idle \(PfxCt\)/, JSON.stringify(n));
    assert.match(String(n.lastResetReason), /Maximum Number of Prefixes Reached/, JSON.stringify(n));

    const metrics = await waitFor(
      async () => {
        const body = (await s.http('/metrics')).body;
        return sample(body, 'frr_supervisor_bgp_peer_prefix_limit_exceeded', PEER) === 1 && body;
      },
      { timeoutMs: 10_000, what: 'frr_supervisor_bgp_peer_prefix_limit_exceeded 1' },
    );
    assert.equal(sample(metrics, 'frr_bgp_peer_state', PEER), 0);
    // the router sees the gateway gone too (FRR sends a Cease NOTIFICATION, "Maximum Number of Prefixes Reached")
    const rt = JSON.parse(await fx.router.vtysh(`show bgp neighbors ${GW} json`)) as Record<string, { bgpState?: string }>;
    assert.notEqual(rt[GW]?.bgpState, 'Established');
    // it stays down (FRR does not retry on its own): still down 5 s later
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal((await neighbour(s))?.established, false);

    // Raising the limit brings the session back with all 9 prefixes: applied live, the held-down session cleared (a
    // new limit alone leaves it down on FRR 8.4.4; the restart this replaced brought it back).
    const mark = s.events.length;
    s.volume.update({ 'bgp-conf.yaml': BGP, 'gateway.yaml': gatewayYaml(100) });
    const applied = await s.waitForEvent('config_applied', () => true, 20_000, mark);
    assert.equal(applied.live, true, 'applied live');
    assert.equal((await s.waitForEvent('live_prefix_limit_cleared', () => true, 1000, mark)).peer, RT);
    await waitFor(
      async () => {
        const x = await neighbour(s);
        return x?.established && x.afis['ipv4-unicast']?.prefixesReceived === 9;
      },
      { timeoutMs: 40_000, what: 'Established again with 9 prefixes after raising maximumPrefix to 100' },
    );
    await waitFor(async () => sample((await s.http('/metrics')).body, 'frr_supervisor_bgp_peer_prefix_limit_exceeded', PEER) === 0, {
      timeoutMs: 10_000,
      what: 'limit series back to 0',
    });
  });
});
