/**
 * EVPN (L3VPN, type-5) end to end on the netns VRF backend (this kernel has no VRF devices): the Kube-OVN
 * docs' gateway1 example (evpn-conf-1016: VNI 1016, RT 65000:1016) against an external-router FRR with an
 * L3VNI 1016 in its default VRF. The supervisor owns the VRF namespace, bridge and VXLAN devices.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import { evpnRouterConf, evpnRouterDevices, gatewayInternalInterface } from '../../lab/evpn-router.ts';
import { docsBgpConf, docsEvpnConf, GW, RT } from '../../lab/configs.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { parseBgpNeighbors } from '../../src/state/bgp.ts';
import { listType5Routes } from '../../lab/evpn-routes.ts';

const VRF = `fsl${process.pid}v9`;

const BGP = docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s' });
const evpnConf = docsEvpnConf;
const GATEWAY = `advertise: [10.17.0.0/16]
internalInterface: int0
internalGateway: 10.16.0.1
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
changeDrain: {enabled: false, anchors: 10.255.255.0/24}
`;
/** This replica's changeDrain anchor: router id 10.0.1.13 -> offset 13 in 10.255.255.0/24. */
const ANCHOR = '10.255.255.13/32';

describe('EVPN type-5 on the netns VRF backend against real FRR', { timeout: 600_000 }, () => {
  let lab: Lab;
  let router: RouterInstance;
  let sup: SupervisorProcess;

  before(async () => {
    lab = await createLab();
    await gatewayInternalInterface(lab);
    await evpnRouterDevices(lab, 1016);
    router = await lab.startRouter(evpnRouterConf(1016));
    sup = startSupervisor(lab, {
      files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': evpnConf(1016), 'gateway.yaml': GATEWAY },
      args: ['--resync', '2s', '--poll-interval', '1s'],
    });
    await sup.waitForEvent('config_applied', () => true, 30_000);
  });

  after(async () => {
    await sup?.cleanup();
    await lab?.exec('gw', ['ip', 'netns', 'del', VRF], { reject: false });
    await execa('ip', ['netns', 'del', VRF], { reject: false });
    await lab?.cleanup();
  });

  /**
   * Runs a command against the VRF namespace. The supervisor runs under `ip netns exec` (a private mount
   * namespace), so the VRF's /run/netns entry it creates is a mount only there: enter its mount namespace.
   */
  async function inVrf(argv: string[], reject = true, vrf: string | null = VRF): Promise<{ stdout: string; exitCode: number | undefined }> {
    const [cmd = '', ...rest] = argv;
    const r = await execa('nsenter', ['-t', String(sup.pid), '-m', '-n', cmd, ...(vrf ? ['-n', vrf] : []), ...rest], { reject });
    return { stdout: r.stdout, exitCode: r.exitCode };
  }

  async function type5At(get: () => Promise<string>, prefix: string): Promise<{ rt: string; rmac?: string; local: boolean } | undefined> {
    const routes = listType5Routes(await get());
    const r = routes.find((x) => x.prefix === prefix && !x.local);
    return r && { rt: r.route, ...(r.routerMac && { rmac: r.routerMac }), local: r.local };
  }

  test('1. the session negotiates the l2vpn evpn address family', async () => {
    await waitFor(
      async () => parseBgpNeighbors(await sup.vty.run([`show bgp neighbors ${RT} json`]))[0]?.negotiatedAfis.includes('l2VpnEvpn'),
      { timeoutMs: 20_000, what: 'l2vpn evpn negotiated' },
    );
  });

  test('2. the router prefix arrives as a type-5 route with RT 65000:1016 and is installed in the VRF through the bridge', async () => {
    const raw = await waitFor(
      async () => {
        const text = await sup.vty.run(['show bgp l2vpn evpn route type prefix json']);
        return text.includes('192.168.100.0') && text;
      },
      { timeoutMs: 20_000, what: 'type-5 192.168.100.0/24 at the gateway' },
    );
    assert.match(raw, /RT:65000:1016/);
    const route = await waitFor(
      async () => {
        const r = await inVrf(['ip', '-json', 'route', 'show', '192.168.100.0/24']);
        const list = JSON.parse(r.stdout || '[]') as Array<{ dev?: string; protocol?: string; gateway?: string; flags?: string[] }>;
        return list[0];
      },
      { timeoutMs: 15_000, what: '192.168.100.0/24 in the VRF namespace table' },
    );
    assert.equal(route.dev, 'br-vpn');
    assert.equal(route.protocol, 'bgp');
    assert.equal(route.gateway, RT);
  });

  test('3. the gateway CIDR arrives at the router as a type-5 route with the gateway RT and router MAC', async () => {
    const r = await waitFor(() => type5At(() => router.vtysh('show bgp l2vpn evpn route type prefix json'), '10.17.0.0/16'), {
      timeoutMs: 20_000,
      what: 'type-5 10.17.0.0/16 at the router',
    });
    assert.ok(r.rmac, 'router MAC present');
    const raw = await router.vtysh('show bgp l2vpn evpn route type prefix json');
    assert.match(raw, /RT:65000:1016/);
  });

  test('3a. with changeDrain anchors: the anchor reaches the router, and the gateway is ready and stays ready across resyncs', async () => {
    await waitFor(() => type5At(() => router.vtysh('show bgp l2vpn evpn route type prefix json'), ANCHOR), {
      timeoutMs: 20_000,
      what: `the anchor ${ANCHOR} at the router`,
    });
    // The anchor's blackhole route in the VRF is staticd's (protocol 196, named `static` like the data plane's own
    // routes): the data plane must leave it alone at every resync (--resync 2s) instead of failing on it.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await sup.http('/readyz')).status);
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200], '/readyz over three resync periods');
    assert.equal(sup.events.filter((e) => e.event === 'dataplane_failed').length, 0, 'no data-plane failure');
    const blackhole = await inVrf(['ip', '-json', 'route', 'show', ANCHOR]);
    assert.equal((JSON.parse(blackhole.stdout || '[]') as unknown[]).length, 1, 'the anchor blackhole is in the VRF');
  });

  test('4. the VXLAN device matches the spec', async () => {
    const r = await inVrf(['ip', '-d', '-j', 'link', 'show', 'vxlan-vpn']);
    const link = (
      JSON.parse(r.stdout) as Array<{
        mtu: number;
        master?: string;
        operstate?: string;
        flags: string[];
        linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean }; info_slave_data?: { learning?: boolean } };
      }>
    )[0];
    assert.ok(link);
    const net1 = JSON.parse((await lab.exec('gw', ['ip', '-j', 'link', 'show', 'net1'])).stdout) as Array<{ mtu: number }>;
    assert.equal(link.linkinfo.info_data.id, 1016);
    assert.equal(link.linkinfo.info_data.port, 4789);
    assert.equal(link.linkinfo.info_data.local, GW);
    assert.equal(link.linkinfo.info_data.learning, false);
    assert.equal(link.linkinfo.info_slave_data?.learning, false);
    assert.equal(link.mtu, (net1[0]?.mtu ?? 0) - 50);
    assert.equal(link.master, 'br-vpn');
    assert.ok(link.flags.includes('UP'));
  });

  test('EVPN metrics and /status', async () => {
    const m = await waitFor(
      async () => {
        const body = (await sup.http('/metrics')).body;
        return /frr_evpn_prefix_routes\{vrf="[^"]+",vni="1016"\} [1-9]/.test(body) && body;
      },
      { timeoutMs: 15_000, what: 'frr_evpn_prefix_routes > 0' },
    );
    assert.match(m, /frr_evpn_vni_up\{vni="1016",type="L3",vrf="[^"]+"\} 1/);
    assert.match(m, /frr_bgp_l2vpn_evpn_remote_vtep_count_total\{vni="1016",type="L3",vxlanIf="vxlan-vpn",tenantVrf="[^"]+"\} 1/);
    const status = JSON.parse((await sup.http('/status')).body) as {
      evpn: Array<{ vni: number; state: string; routerMac: string; remoteVteps: string[] }>;
    };
    const v = status.evpn.find((x) => x.vni === 1016);
    assert.equal(v?.state, 'Up');
    assert.deepEqual(v?.remoteVteps, [RT]);
    assert.match(v?.routerMac ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  });

  test('4b. changeDrain.anchors on FRR 8: staticd restarts with the anchor route, the anchor reaches the router; another range replaces it (issue 26, defect 2)', async () => {
    const withAnchors = (range: string): string =>
      `${GATEWAY.replace(/^changeDrain: .*\n/m, '')}changeDrain: {enabled: false, anchors: ${range}}\n`;
    const apply = async (range: string): Promise<string[]> => {
      const before = sup.events.length;
      sup.volume.update({ 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': evpnConf(1016), 'gateway.yaml': withAnchors(range) });
      const applied = await sup.waitForEvent('config_applied', () => true, 30_000, before);
      return applied.restarted as string[];
    };
    const inGatewayVrf = async (prefix: string): Promise<boolean> =>
      (await sup.vty.run([`show ip route vrf ${VRF} ${prefix} json`])).includes('"static"');
    const atRouter = (prefix: string): Promise<unknown> =>
      type5At(() => router.vtysh('show bgp l2vpn evpn route type prefix json'), prefix);
    // GW 10.0.1.13: the /32 at offset 13 of the range
    assert.deepEqual(await apply('10.17.255.0/24'), ['staticd', 'bgpd'], "the anchor route is staticd's");
    await waitFor(() => inGatewayVrf('10.17.255.13/32'), { timeoutMs: 10_000, what: "the anchor's blackhole route in the VRF" });
    await waitFor(() => atRouter('10.17.255.13/32'), { timeoutMs: 20_000, what: 'the anchor at the router' });
    assert.deepEqual(await apply('10.17.254.0/24'), ['staticd', 'bgpd']);
    await waitFor(() => atRouter('10.17.254.13/32'), { timeoutMs: 20_000, what: 'the new anchor at the router' });
    await waitFor(async () => !(await inGatewayVrf('10.17.255.13/32')) && !(await atRouter('10.17.255.13/32')), {
      timeoutMs: 20_000,
      what: 'the old anchor gone from the VRF and the router',
    });
    // back to the suite's gateway.yaml (its anchor range) for the tests below
    const before = sup.events.length;
    sup.volume.update({ 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': evpnConf(1016), 'gateway.yaml': GATEWAY });
    await sup.waitForEvent('config_applied', () => true, 30_000, before);
    await waitFor(async () => !(await atRouter('10.17.254.13/32')) && (await atRouter(ANCHOR)), {
      timeoutMs: 20_000,
      what: "the suite's anchor back at the router, the test's gone",
    });
  });

  test('5a. deleting vxlan-vpn by hand: recreated within one reconcile period, routes back', async () => {
    await inVrf(['ip', 'link', 'del', 'vxlan-vpn']);
    await waitFor(async () => (await inVrf(['ip', 'link', 'show', 'vxlan-vpn'], false)).exitCode === 0, {
      timeoutMs: 6000,
      what: 'vxlan-vpn recreated',
    });
    await waitFor(
      async () => {
        const r = await inVrf(['ip', '-json', 'route', 'show', '192.168.100.0/24']);
        return (JSON.parse(r.stdout || '[]') as Array<{ dev?: string }>)[0]?.dev === 'br-vpn';
      },
      { timeoutMs: 20_000, what: 'the type-5 route installed again' },
    );
  });

  test("5b. changing the VNI (and the router's) moves the devices and FRR to the new VNI with type-5 routes back", async () => {
    const before = sup.events.length;
    await evpnRouterDevices(lab, 2016);
    await router.setConfig(evpnRouterConf(2016));
    await router.vtysh(['configure terminal', 'no vrf default']).catch(() => undefined);
    sup.volume.update({ 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': evpnConf(2016), 'gateway.yaml': GATEWAY });
    await sup.waitForEvent('config_applied', () => true, 20_000, before);
    const restarted = sup.events
      .slice(before)
      .filter((e) => e.event === 'daemon_started')
      .map((e) => e.daemon);
    assert.deepEqual(restarted, ['zebra', 'bgpd'], 'a VNI change restarts zebra then bgpd');
    const r = await inVrf(['ip', '-d', '-j', 'link', 'show', 'vxlan-vpn']);
    assert.equal((JSON.parse(r.stdout) as Array<{ linkinfo: { info_data: { id: number } } }>)[0]?.linkinfo.info_data.id, 2016);
    await waitFor(async () => (await sup.vty.run(['show bgp l2vpn evpn route type prefix json'])).includes('RT:65000:2016'), {
      timeoutMs: 30_000,
      what: 'type-5 with RT 65000:2016 at the gateway',
    });
    await waitFor(() => type5At(() => router.vtysh('show bgp l2vpn evpn route type prefix json'), '10.17.0.0/16'), {
      timeoutMs: 20_000,
      what: 'the gateway prefix at the router again',
    });
  });

  test('5c. removing the EvpnConf: back to BGP-only, devices and VRF namespace gone', async () => {
    const before = sup.events.length;
    sup.volume.update({ 'bgp-conf.yaml': BGP, 'gateway.yaml': GATEWAY });
    await sup.waitForEvent('config_applied', () => true, 20_000, before);
    const ns = await inVrf(['ip', 'netns', 'list'], true, null);
    assert.doesNotMatch(ns.stdout, new RegExp(`^${VRF}\\b`, 'm'));
    const running = await sup.vty.run(['show running-config']);
    assert.doesNotMatch(running, /vni \d+/);
    assert.doesNotMatch(running, /l2vpn evpn/);
    assert.match(running, /address-family ipv4 unicast/);
  });
});
