/**
 * Live changes end to end against real FRR (8.4.4 here), both modes: an advertise-list change and a neighbour added
 * and removed are applied with vtysh, no restart (bgpd and zebra keep their pids, the router's existing session is
 * not reset), the router sees the new prefix and loses the withdrawn one, /status says applied (live), and FRR's
 * running config afterwards equals the next rendering (the property the unit tests check on a model of bgpd, here on
 * bgpd itself). A running config that differs after the commands (a line added by hand) falls back to the restart, and
 * the `live_apply_fallback` event says why.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { docsBgpConf, docsEvpnConf, GW, GW_PREFIX, RT, RT_PREFIX } from '../../lab/configs.ts';
import { evpnRouterConf, evpnRouterDevices, gatewayInternalInterface } from '../../lab/evpn-router.ts';
import { listType5Routes } from '../../lab/evpn-routes.ts';
import { runningConfigDiff } from '../../src/frr/running-config.ts';
import { parseBgpSummary } from '../../src/state/bgp.ts';

const GW6 = 'fd00:1::13';
const RT6 = 'fd00:1::1';
const PREFIX2 = '10.18.0.0/16';
const PREFIX6 = 'fd00:10:17::/64';

/** FRR's running config equals the rendering the supervisor wrote (normalised as the applier's verification does). */
async function runningEqualsRendering(s: SupervisorProcess): Promise<void> {
  const diff = runningConfigDiff(readFileSync(s.paths.frrConf, 'utf8'), await s.vty.run(['show running-config']));
  assert.equal(diff, '', 'running config vs the next rendering');
}

/** The pids of bgpd and zebra. */
async function pids(s: SupervisorProcess): Promise<{ bgpd: number | undefined; zebra: number | undefined }> {
  return { bgpd: await s.daemonPid('bgpd'), zebra: await s.daemonPid('zebra') };
}

/** How often the router's session with the gateway (IPv4) came up: a reset counts one more. */
async function routerSessions(router: RouterInstance): Promise<number> {
  const doc = JSON.parse(await router.vtysh(`show bgp neighbors ${GW} json`)) as Record<string, { connectionsEstablished?: number }>;
  return doc[GW]?.connectionsEstablished ?? -1;
}

/** Applies files and waits for the config_applied of that change; asserts it was live (nothing restarted). */
async function applyLive(s: SupervisorProcess, files: Record<string, string>): Promise<void> {
  const before = s.events.length;
  s.volume.update(files);
  const e = await s.waitForEvent('config_applied', () => true, 20_000, before);
  const fallbacks = s.events.slice(before).filter((x) => x.event === 'live_apply_fallback');
  assert.deepEqual(fallbacks, [], 'no fallback');
  assert.equal(e.live, true, `applied live: ${JSON.stringify(e)}`);
  assert.deepEqual(e.restarted, []);
  assert.equal(s.find('daemon_started').filter((x) => s.events.indexOf(x) >= before).length, 0, 'no daemon started');
  const st = (await s.httpJson<{ config: { lastApply: { result: string; live?: boolean; generation: number } } }>('/status')).doc.config;
  assert.equal(st.lastApply.result, 'applied');
  assert.equal(st.lastApply.live, true);
  assert.equal(st.lastApply.generation, e.generation);
}

/** A line added by hand to the running bgpd makes the running config differ after the live commands. */
async function forcedMismatch(s: SupervisorProcess, files: Record<string, string>): Promise<void> {
  await s.vty.run(['configure terminal', 'router bgp 65002', `neighbor ${RT} description by-hand`]);
  const bgpd = await s.daemonPid('bgpd');
  const before = s.events.length;
  s.volume.update(files);
  const fb = await s.waitForEvent('live_apply_fallback', () => true, 20_000, before);
  assert.equal(fb.stage, 'verify');
  assert.match(String(fb.reason), new RegExp(`\\+ router bgp 65002 > neighbor ${RT.replaceAll('.', '\\.')} description by-hand`));
  const e = await s.waitForEvent('config_applied', () => true, 30_000, before);
  assert.notEqual(e.live, true);
  assert.ok((e.restarted as string[]).includes('bgpd'), `restarted ${JSON.stringify(e.restarted)}`);
  assert.notEqual(await s.daemonPid('bgpd'), bgpd, 'bgpd restarted');
  await runningEqualsRendering(s);
  assert.doesNotMatch(await s.vty.run(['show running-config']), /by-hand/);
  const metrics = (await s.http('/metrics')).body;
  assert.match(metrics, /^frr_supervisor_live_apply_fallbacks_total\{stage="verify"\} 1$/m);
  assert.match(metrics, /^frr_supervisor_live_apply_fallbacks_total\{stage="vtysh"\} 0$/m);
}

const ROUTER_BGP = `frr defaults traditional
ip route ${RT_PREFIX} Null0
router bgp 65001
 bgp router-id ${RT}
 no bgp ebgp-requires-policy
 bgp graceful-restart
 neighbor ${GW} remote-as 65002
 neighbor ${GW} timers 3 9
 neighbor ${GW} timers connect 1
 neighbor ${GW6} remote-as 65002
 neighbor ${GW6} timers 3 9
 neighbor ${GW6} timers connect 1
 address-family ipv4 unicast
  network ${RT_PREFIX}
 exit-address-family
 address-family ipv6 unicast
  neighbor ${GW6} activate
 exit-address-family
exit
`;

describe('live changes, BGP-only, against real FRR', { timeout: 600_000 }, () => {
  const fx = useGatewayLab({ advertised: GW_PREFIX, routerConf: ROUTER_BGP });
  const bgp = (neighbours = [RT]): string => docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s', neighbours });
  const gw = (advertise: string[], extra = ''): string => `advertise: [${advertise.join(', ')}]\n${extra}`;
  let s: SupervisorProcess;

  /** The router's paths to a prefix (IPv4 or IPv6 unicast). */
  async function routerHas(prefix: string): Promise<boolean> {
    const afi = prefix.includes(':') ? 'ipv6' : 'ipv4';
    const doc = JSON.parse(await fx.router.vtysh(`show bgp ${afi} unicast ${prefix} json`)) as { paths?: unknown[] };
    return (doc.paths?.length ?? 0) > 0;
  }

  before(async () => {
    for (const p of [PREFIX2, PREFIX6]) await fx.lab.exec(fx.lab.gwNs, ['ip', 'route', 'add', 'blackhole', p]);
    s = await fx.start({ files: { 'bgp-conf.yaml': bgp(), 'gateway.yaml': gw([GW_PREFIX, PREFIX6]) } });
    await s.waitForEvent('config_applied', () => true, 30_000);
    await waitFor(() => routerHas(GW_PREFIX), { timeoutMs: 20_000, what: `${GW_PREFIX} at the router` });
  });

  test('an advertise-list change: the router gets the new prefix, then loses the removed one; nothing restarts', async () => {
    const p0 = await pids(s);
    const sessions = await routerSessions(fx.router);
    await applyLive(s, { 'bgp-conf.yaml': bgp(), 'gateway.yaml': gw([GW_PREFIX, PREFIX2, PREFIX6]) });
    await waitFor(() => routerHas(PREFIX2), { timeoutMs: 10_000, what: `${PREFIX2} at the router` });
    await runningEqualsRendering(s);
    await applyLive(s, { 'bgp-conf.yaml': bgp(), 'gateway.yaml': gw([PREFIX2, PREFIX6]) });
    await waitFor(async () => !(await routerHas(GW_PREFIX)), { timeoutMs: 10_000, what: `${GW_PREFIX} withdrawn at the router` });
    assert.ok(await routerHas(PREFIX2));
    await runningEqualsRendering(s);
    assert.deepEqual(await pids(s), p0, 'bgpd and zebra kept their pids');
    assert.equal(await routerSessions(fx.router), sessions, 'the session was not reset');
  });

  test('maximum-prefix changed live', async () => {
    const p0 = await pids(s);
    await applyLive(s, { 'bgp-conf.yaml': bgp(), 'gateway.yaml': gw([PREFIX2, PREFIX6], 'maximumPrefix: 500\n') });
    assert.match(await s.vty.run(['show running-config']), new RegExp(`neighbor ${RT.replaceAll('.', '\\.')} maximum-prefix 500`));
    await runningEqualsRendering(s);
    assert.deepEqual(await pids(s), p0);
  });

  test('a neighbour added (IPv6): its session comes up and carries the IPv6 prefix; removed: gone; nothing restarts', async () => {
    const p0 = await pids(s);
    const sessions = await routerSessions(fx.router);
    const files = (n: string[]): Record<string, string> => ({
      'bgp-conf.yaml': bgp(n),
      'gateway.yaml': gw([PREFIX2, PREFIX6], 'maximumPrefix: 500\n'),
    });
    await applyLive(s, files([RT, RT6]));
    await runningEqualsRendering(s);
    await waitFor(
      async () =>
        parseBgpSummary(await s.vty.run(['show bgp ipv6 unicast summary json']), { afi: 'ipv6Unicast' }).find((p) => p.peer === RT6)
          ?.established,
      { timeoutMs: 20_000, what: `the new neighbour ${RT6} Established` },
    );
    await waitFor(() => routerHas(PREFIX6), { timeoutMs: 10_000, what: `${PREFIX6} at the router over the new session` });
    await applyLive(s, files([RT]));
    await runningEqualsRendering(s);
    await waitFor(async () => !(await routerHas(PREFIX6)), { timeoutMs: 10_000, what: `${PREFIX6} gone with the neighbour` });
    assert.doesNotMatch(await s.vty.run(['show running-config']), new RegExp(RT6));
    assert.deepEqual(await pids(s), p0, 'bgpd and zebra kept their pids');
    assert.equal(await routerSessions(fx.router), sessions, 'the IPv4 session was not reset');
    assert.ok(await routerHas(PREFIX2));
  });

  test('a running config that differs after the commands falls back to the restart, and says why', async () => {
    await forcedMismatch(s, { 'bgp-conf.yaml': bgp(), 'gateway.yaml': gw([GW_PREFIX, PREFIX2, PREFIX6], 'maximumPrefix: 500\n') });
    await waitFor(() => routerHas(GW_PREFIX), { timeoutMs: 20_000, what: `${GW_PREFIX} at the router after the restart` });
  });
});

describe('live changes, EVPN (netns VRF backend, changeDrain with anchors), against real FRR', { timeout: 600_000 }, () => {
  const VRF = `fsl${process.pid}v8`;
  const ANCHOR = '10.17.255.13/32'; // 10.0.1.13 mod 256 in 10.17.255.0/24
  const bgp = (neighbours = [RT]): string => docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s', neighbours });
  const gw = (advertise: string[]): string => `advertise: [${advertise.join(', ')}]
internalInterface: int0
internalGateway: 10.16.0.1
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
changeDrain: {slots: 1, settle: 1s, anchors: 10.17.255.0/24}
`;
  const files = (advertise: string[], neighbours = [RT]): Record<string, string> => ({
    'bgp-conf.yaml': bgp(neighbours),
    'evpn-conf.yaml': docsEvpnConf(1016),
    'gateway.yaml': gw(advertise),
  });
  let lab: Lab;
  let router: RouterInstance;
  let s: SupervisorProcess;

  async function routerType5(prefix: string): Promise<boolean> {
    const routes = listType5Routes(await router.vtysh('show bgp l2vpn evpn route type prefix json'));
    return routes.some((r) => r.prefix === prefix && !r.local);
  }

  before(async () => {
    lab = await createLab();
    await gatewayInternalInterface(lab);
    await evpnRouterDevices(lab, 1016);
    router = await lab.startRouter(evpnRouterConf(1016));
    s = startSupervisor(lab, { files: files([GW_PREFIX]), args: ['--resync', '2s', '--poll-interval', '1s'] });
    await s.waitForEvent('config_applied', () => true, 30_000);
    await waitFor(() => routerType5(GW_PREFIX), { timeoutMs: 30_000, what: `type-5 ${GW_PREFIX} at the router` });
    await waitFor(() => routerType5(ANCHOR), { timeoutMs: 10_000, what: `the anchor ${ANCHOR} at the router` });
  });

  after(async () => {
    await s?.cleanup();
    await lab?.exec('gw', ['ip', 'netns', 'del', VRF], { reject: false });
    await execa('ip', ['netns', 'del', VRF], { reject: false });
    await lab?.cleanup();
  });

  test('an advertise-list change: type-5 routes come and go at the router, the anchor stays, no drain, nothing restarts', async () => {
    const p0 = await pids(s);
    const sessions = await routerSessions(router);
    const since = s.events.length;
    await applyLive(s, files([GW_PREFIX, PREFIX2]));
    await waitFor(() => routerType5(PREFIX2), { timeoutMs: 10_000, what: `type-5 ${PREFIX2} at the router` });
    await runningEqualsRendering(s);
    await applyLive(s, files([PREFIX2]));
    await waitFor(async () => !(await routerType5(GW_PREFIX)), { timeoutMs: 10_000, what: `type-5 ${GW_PREFIX} withdrawn` });
    await runningEqualsRendering(s);
    // an IPv6 prefix brings `advertise ipv6 unicast` (not routed here: the internal gateway is IPv4; the config is checked)
    await applyLive(s, files([PREFIX2, PREFIX6]));
    await runningEqualsRendering(s);
    assert.match(await s.vty.run(['show running-config']), /advertise ipv6 unicast/);
    await applyLive(s, files([PREFIX2]));
    await runningEqualsRendering(s);
    assert.ok(await routerType5(ANCHOR), 'the anchor stayed');
    assert.ok(await routerType5(PREFIX2));
    assert.deepEqual(
      s.events.slice(since).filter((e) => String(e.event).startsWith('change_drain')),
      [],
      'no change drain',
    );
    assert.deepEqual(await pids(s), p0, 'bgpd and zebra kept their pids');
    assert.equal(await routerSessions(router), sessions, 'the session was not reset');
  });

  test('a neighbour added and removed: activated in l2vpn evpn, then gone; the router session untouched', async () => {
    const p0 = await pids(s);
    const sessions = await routerSessions(router);
    await applyLive(s, files([PREFIX2], [RT, '10.0.1.2']));
    await runningEqualsRendering(s);
    assert.match(await s.vty.run(['show running-config']), /address-family l2vpn evpn\n(?:.*\n)*?\s+neighbor 10\.0\.1\.2 activate/);
    await applyLive(s, files([PREFIX2]));
    await runningEqualsRendering(s);
    assert.doesNotMatch(await s.vty.run(['show running-config']), /10\.0\.1\.2/);
    assert.deepEqual(await pids(s), p0);
    assert.equal(await routerSessions(router), sessions);
    assert.ok(await routerType5(PREFIX2));
  });

  test('a running config that differs after the commands falls back to the restart (with its drain), and says why', async () => {
    const before = s.events.length;
    await forcedMismatch(s, files([GW_PREFIX, PREFIX2]));
    assert.ok(
      s.events.slice(before).some((e) => e.event === 'change_drain_wait'),
      'the restart path drains first',
    );
    await waitFor(() => routerType5(GW_PREFIX), { timeoutMs: 30_000, what: `type-5 ${GW_PREFIX} at the router after the restart` });
  });
});
