/**
 * FRR 10.3 (Debian trixie), which the image ran before it moved to FRR 10.7.1: what `npm run test:image` proved about
 * 10.3 as the gateway's FRR, kept with the lab's FRR 10.3 image (lab/router-image: trixie's frr, iproute2 and nodejs on
 * the debian:trixie-slim base of scripts/image-base.sh; also the replica lab's EVPN router). Every golden rendering
 * passes 10.3's `vtysh --dryrun`; the supervisor from this repository's source, in a container of that image as the
 * lab's gateway (lab/supervisor-process.ts), drives FRR 10.3 against the host's FRR 8.4.4 router: mgmtd first, `-f`
 * only for the daemons that take it, BGP both ways, then EVPN type-5 both ways with the netns VRF backend (and no
 * graceful restart in the VRF instance: 10.3 has none for L2VPN EVPN).
 *
 * What the image test proved about 10.3 that this does not: the image's packaging (the image is 10.7.1 now), the
 * manifest's capabilities (the supervisor runs privileged here; the image test checks them on 10.7.1's daemons), and
 * the crash, graceful-restart and drain steps, which do not depend on the FRR version (the image test runs them on
 * 10.7.1, `npm test` on 8.4.4). FRRSUP_CAPTURE_DIR=DIR writes FRR 10.3's answers to the fixture commands into
 * DIR/10.3/off and DIR/10.3/evpn, the layout of test/fixtures/frr-json (how its 10.3/ is made again).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createLab, kernelRouteProtocol, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { bgpRouterConf, docsBgpConf, docsEvpnConf, GW_PREFIX, RT, RT_PREFIX } from '../../lab/configs.ts';
import { evpnRouterConf, evpnRouterDevices, gatewayInternalInterface } from '../../lab/evpn-router.ts';
import { listType5Routes } from '../../lab/evpn-routes.ts';
import { dryrunGoldens, ensureRouterImage, ROUTER_IMAGE } from '../../lab/router-container.ts';
import { podman, removeAll } from '../../lab/podman.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { captureFileName, fixtureCaptures } from '../../lab/fixture-captures.ts';
import { parseBgpSummary } from '../../src/state/bgp.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VRF = `fsi${process.pid}v3`;
const ANCHOR = '10.17.255.13/32';
const BGP = docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s' });
const GATEWAY_BGP = `advertise: [${GW_PREFIX}]\n`;
const GATEWAY_EVPN = `advertise: [${GW_PREFIX}]
internalInterface: int0
internalGateway: 10.16.0.1
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
changeDrain: {enabled: false, anchors: 10.17.255.0/24}
`;
const CAPTURE_DIR = process.env.FRRSUP_CAPTURE_DIR;
const CAPTURES = fixtureCaptures(VRF);

describe('FRR 10.3 (the lab image lab/router-image) as the gateway: goldens, BGP and EVPN', { timeout: 900_000 }, () => {
  let lab: Lab;
  let router: RouterInstance | undefined;
  let sup: SupervisorProcess | undefined;
  let version = '';

  before(async () => {
    const t0 = performance.now();
    version = await ensureRouterImage('10.3');
    process.stdout.write(`timing FRR 10.3 lab image (built or cached) ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    lab = await createLab();
  });

  after(async () => {
    await sup?.cleanup();
    await removeAll();
    await lab?.cleanup();
  });

  async function gwVtysh(cmd: string): Promise<string> {
    assert.ok(sup?.containerName, 'the supervisor runs in a container');
    return (await podman(['exec', sup.containerName, 'vtysh', '-N', sup.pathspace, '-c', cmd], { reject: false, timeoutMs: 30_000 }))
      .stdout;
  }

  async function capture(mode: 'off' | 'evpn'): Promise<void> {
    if (!CAPTURE_DIR) return;
    await mkdir(join(CAPTURE_DIR, '10.3', mode), { recursive: true });
    for (const cmd of CAPTURES[mode]) await writeFile(join(CAPTURE_DIR, '10.3', mode, captureFileName(cmd, VRF)), await gwVtysh(cmd));
  }

  test('the lab image runs FRR 10.3; it accepts every golden rendering (vtysh --dryrun) and rejects a bad line', async () => {
    assert.equal(version, '10.3');
    const lines = await dryrunGoldens('10.3', join(REPO, 'test/golden'));
    assert.ok(lines.filter((l) => l.startsWith('ok ')).length >= 20, lines.join('\n'));
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('ok ')),
      ['bad rejected'],
      lines.join('\n'),
    );
  });

  test('BGP-only: the supervisor drives FRR 10.3 (mgmtd first; no -f for mgmtd and staticd); prefixes go both ways', async () => {
    await lab.exec('gw', ['ip', 'route', 'add', 'blackhole', GW_PREFIX]);
    router = await lab.startRouter(bgpRouterConf());
    sup = startSupervisor(lab, {
      files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': GATEWAY_BGP },
      args: ['--resync', '2s', '--poll-interval', '1s'],
      container: { image: ROUTER_IMAGE },
    });
    const detected = await sup.waitForEvent('frr_detected', () => true, 60_000);
    assert.equal(detected.version, '10.3');
    assert.deepEqual(detected.daemons, ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    assert.deepEqual(
      detected.configFile,
      ['zebra', 'bfdd', 'bgpd'],
      'mgmtd and staticd get no -f on FRR 10.3 (bfdd, probed for BFD, does)',
    );
    await sup.waitForEvent('config_applied', (e) => e.generation === 1, 60_000);
    await waitFor(
      async () => {
        const gw = parseBgpSummary(await gwVtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' }).find((p) => p.peer === RT);
        const atRt = parseBgpSummary(await router!.vtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' });
        return gw?.established && gw.prefixesReceived === 1 && atRt[0]?.prefixesReceived === 1;
      },
      { timeoutMs: 60_000, what: 'the session Established, one prefix each way' },
    );
    await waitFor(async () => (await kernelRouteProtocol(lab, 'gw', RT_PREFIX)) === 'bgp', {
      timeoutMs: 15_000,
      what: `${RT_PREFIX} installed by bgp in the gateway namespace`,
    });
    await capture('off');
  });

  test('EVPN type-5 both ways with the netns VRF backend, applied in place; no graceful restart in the VRF instance on 10.3', async () => {
    assert.ok(sup && router, 'the BGP-only step ran');
    await gatewayInternalInterface(lab);
    await evpnRouterDevices(lab, 1016);
    await router.stop();
    router = await lab.startRouter(evpnRouterConf(1016));
    const before = sup.events.length;
    sup.volume.update({ 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': docsEvpnConf(1016), 'gateway.yaml': GATEWAY_EVPN });
    const applied = await sup.waitForEvent('config_applied', (e) => typeof e.generation === 'number' && e.generation >= 2, 90_000, before);
    const failed = sup.events.slice(before).filter((e) => e.event === 'config_apply_failed');
    assert.deepEqual(
      failed.map((e) => String(e.err)),
      [],
      'the first apply of the EVPN config succeeded',
    );
    // A change zebra must see: on FRR 10.3 mgmtd (which holds zebra's vrf/vni config) and everything after it.
    assert.deepEqual(applied.restarted, ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    const atGw = await waitFor(
      async () => {
        const text = await gwVtysh('show bgp l2vpn evpn route type prefix json');
        return listType5Routes(text).find((r) => r.prefix === RT_PREFIX && !r.local) && text;
      },
      { timeoutMs: 60_000, what: `type-5 ${RT_PREFIX} at the gateway` },
    );
    assert.match(atGw, /RT:65000:1016/);
    const route = await waitFor(
      async () => {
        const r = await podman(['exec', sup!.containerName ?? '', 'ip', '-n', VRF, '-json', 'route', 'show', RT_PREFIX], { reject: false });
        return (JSON.parse(r.stdout || '[]') as Array<{ dev?: string; protocol?: string }>)[0];
      },
      { timeoutMs: 30_000, what: `${RT_PREFIX} in the VRF namespace` },
    );
    assert.equal(route.dev, 'br-vpn');
    assert.equal(route.protocol, 'bgp');
    for (const prefix of [GW_PREFIX, ANCHOR])
      await waitFor(
        async () =>
          listType5Routes(await router!.vtysh('show bgp l2vpn evpn route type prefix json')).find((r) => r.prefix === prefix && !r.local),
        { timeoutMs: 60_000, what: `type-5 ${prefix} at the router` },
      );
    const running = await gwVtysh('show running-config');
    assert.match(running, /ip route 10\.17\.255\.13\/32 blackhole/, "the anchor's route, through mgmtd and staticd");
    const vrfInstance = running.slice(running.indexOf(`router bgp 65002 vrf ${VRF}`));
    assert.ok(vrfInstance.startsWith('router bgp'), `the running config has the VRF instance:\n${running}`);
    assert.doesNotMatch(
      vrfInstance.slice(0, vrfInstance.indexOf('\nexit')),
      /^ bgp graceful-restart$/m,
      'FRR 10.3: no graceful restart in the VRF instance (rendered only for FRR 10.6 and later)',
    );
    await capture('evpn');
  });
});
