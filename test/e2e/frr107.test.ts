/**
 * FRR 10.7.1 (Debian forky's frr on trixie; lab/frr107-image) on both sides of one EVPN gateway: the lab's router in a
 * container with its L3VNI in a VRF (lab/evpn-router.ts evpnVrfRouter), the supervisor from this repository's source in
 * a container of the same image in the gateway namespace (lab/supervisor-process.ts), the netns VRF backend. FRR 10.6+
 * has graceful restart for L2VPN EVPN, and the supervisor's EVPN hold (src/dataplane/evpn-hold.ts) undoes what the
 * gateway's zebra 10.7.1 still removes: this test asserts, at 1000 probes/s each way, 0 lost in both directions for a
 * graceful-restart config change and for a `kill -9 bgpd`, and that zebra did flush (so that it says when FRR fixes it).
 *
 * Builds what it needs on a fresh machine (scripts/image-base.sh's debian:trixie-slim base, then the 10.7 image: about
 * 30 s and 16 s, cached by podman afterwards). FRRSUP_CAPTURE_DIR=DIR also writes FRR 10.7.1's answers to the poller's
 * commands into DIR (how test/fixtures/frr-json/10.7/ was made).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab } from '../../lab/lab.ts';
import { docsBgpConf, docsEvpnConf } from '../../lab/configs.ts';
import { evpnVrfRouter, moveVrfRouterVni, ROUTER_VRF } from '../../lab/evpn-router.ts';
import { addHosts, hostFlows, VPC } from '../../lab/hosts.ts';
import type { LabHosts } from '../../lab/hosts.ts';
import { LossMeter } from '../../lab/loss-meter.ts';
import type { FlowStats } from '../../lab/loss-meter.ts';
import { ContainerRouter, dryrunGoldens, ensureRouterImage, FRR107_IMAGE } from '../../lab/router-container.ts';
import { podman, removeAll } from '../../lab/podman.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { captureFileName, fixtureCaptures } from '../../lab/fixture-captures.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VRF = `fsl${process.pid}v7`;
const CAPTURE_DIR = process.env.FRRSUP_CAPTURE_DIR;
const CAPTURES = fixtureCaptures(VRF).evpn;
const captureName = (cmd: string): string => captureFileName(cmd, VRF);

/** `ip monitor neigh` in the gateway's VRF: zebra removing the router's MAC (its neighbour entry on the L3VNI's bridge). */
const RMAC_DELETED = /^(?:\[[^\]]*\] )?Deleted 10\.0\.1\.1 dev \S+ lladdr/m;

const files = (keepalive: number): Record<string, string> => ({
  'bgp-conf.yaml': docsBgpConf({ hold: `${keepalive * 3}s`, keepalive: `${keepalive}s`, connect: '1s' }),
  'evpn-conf.yaml': docsEvpnConf(1016),
  'gateway.yaml': `advertise: [${VPC.connectedCidr}, ${VPC.routedCidr}]\ninternalInterface: ${VPC.gatewayIf}\ninternalGateway: ${VPC.address}\nvrfBackend: netns\nvrf: {name: ${VRF}, table: 2000}\ngracefulRestart: true\n`,
});

describe('FRR 10.7.1 on both sides: EVPN graceful restart of one gateway', { timeout: 900_000 }, () => {
  let lab: Lab;
  let hosts: LabHosts;
  let router: ContainerRouter | undefined;
  let sup: SupervisorProcess | undefined;
  let version = '';

  before(async () => {
    await execa('bash', ['scripts/image-base.sh'], { cwd: REPO, stdio: 'inherit' });
    const t0 = performance.now();
    version = await ensureRouterImage('10.7');
    process.stdout.write(`timing FRR 10.7 image (built or cached) ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    lab = await createLab();
    hosts = await addHosts(lab);
  });

  after(async () => {
    await sup?.cleanup();
    await router?.stop();
    await removeAll();
    await lab?.cleanup();
  });

  test("the image's FRR is 10.7.1 and it accepts every golden rendering (vtysh --dryrun), and rejects a bad line", async () => {
    assert.equal(version, '10.7.1');
    const lines = await dryrunGoldens('10.7', join(REPO, 'test/golden'));
    assert.ok(lines.filter((l) => l.startsWith('ok ')).length >= 20, lines.join('\n'));
    assert.ok(
      lines.some((l) => l === 'ok evpn-gr-frr10.7'),
      'the rendering with EVPN graceful restart is among them',
    );
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('ok ')),
      ['bad rejected'],
      lines.join('\n'),
    );
  });

  test('the router (L3VNI in a VRF) and the supervisor come up on FRR 10.7.1; type-5 routes both ways, traffic flows', async () => {
    router = await ContainerRouter.start({ ns: lab.rtNs, dir: lab.tmpDir, frr: '10.7', ...evpnVrfRouter(1016) });
    sup = startSupervisor(lab, { files: files(3), args: ['--resync', '2s', '--poll-interval', '1s'], container: { image: FRR107_IMAGE } });
    const detected = await sup.waitForEvent('frr_detected', () => true, 60_000);
    assert.equal(detected.version, '10.7.1');
    assert.deepEqual(detected.daemons, ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    await sup.waitForEvent('config_applied', () => true, 60_000);
    const running = await gwVtysh(['show running-config']);
    assert.match(
      running.slice(running.indexOf(`router bgp 65002 vrf ${VRF}`)),
      /^ bgp graceful-restart$/m,
      'FRR 10.7: the VRF instance has graceful restart (rendered only for FRR 10.6+)',
    );
    await waitFor(async () => (await router?.vtysh([`show ip route vrf ${ROUTER_VRF} ${VPC.routedCidr}`]))?.includes('Known via "bgp"'), {
      timeoutMs: 60_000,
      what: "the gateway's prefix in the router's VRF",
    });
    const m = await LossMeter.start(hostFlows(hosts));
    try {
      await m.waitFlowing({ timeoutMs: 60_000 });
    } finally {
      await m.close();
    }
    if (CAPTURE_DIR) {
      await mkdir(join(CAPTURE_DIR, 'evpn'), { recursive: true });
      for (const cmd of CAPTURES) await writeFile(join(CAPTURE_DIR, 'evpn', captureName(cmd)), await gwVtysh([cmd]));
    }
    // the router's GR view of the gateway: EVPN covered both ways
    const nb = JSON.parse(await router.vtysh([`show bgp neighbors 10.0.1.13 graceful-restart json`])) as Record<string, unknown>;
    process.stdout.write(`router's graceful-restart view of the gateway: ${JSON.stringify(nb).slice(0, 600)}\n`);
  });

  for (const [name, event, prepare] of [
    ['a graceful-restart config change (timers: bgpd restarts)', (s: SupervisorProcess) => change(s)],
    ['kill -9 bgpd', (s: SupervisorProcess) => killBgpd(s)],
    // bench:traffic found it: after a VNI change (zebra restarts, the VXLAN device is recreated) the hold's long-running
    // `bridge -batch` still used the old device's ifindex, and the next crash lost 2.6-10 s
    ['after a VNI change on both sides, kill -9 bgpd', (s: SupervisorProcess) => killBgpd(s), (s: SupervisorProcess) => changeVni(s, 2016)],
  ] as const) {
    const before = prepare;
    test(`${name}: 0 lost each way at 1000 probes/s (the router keeps the EVPN routes; the supervisor's EVPN hold undoes zebra's flush)`, async () => {
      assert.ok(sup, 'the gateway runs');
      const s = sup;
      await before?.(s);
      const mon = execa(
        'podman',
        ['--runtime', 'runc', 'exec', s.containerName ?? '', 'ip', '-ts', '-n', VRF, 'monitor', 'neigh', 'route'],
        {
          reject: false,
        },
      );
      const from = s.events.length;
      let stats: Record<string, FlowStats>;
      try {
        stats = await metered(s, () => event(s));
      } finally {
        mon.kill();
      }
      const kernel = String((await mon).stdout);
      const toVpc = Object.values(stats).find((f) => f.label.startsWith('remote'));
      const fromVpc = Object.values(stats).find((f) => f.label.startsWith('vpc'));
      assert.ok(toVpc && fromVpc);
      const hold = await s.waitForEvent('evpn_hold_ended', () => true, 30_000, from);
      process.stdout.write(
        `${name}: remote->vpc lost ${toVpc.lost} (gap ${toVpc.longestGapMs} ms), vpc->remote lost ${fromVpc.lost} (gap ${fromVpc.longestGapMs} ms); ` +
          `EVPN hold ${String(hold.outcome)} after ${String(hold.durationMs)} ms: ${String(hold.restoredFdb)} FDB entries and ` +
          `${String(hold.restoredNeighbours)} neighbours put back, ${String(hold.routesUsed)}/${String(hold.routesHeld)} route copies used\n`,
      );
      assert.equal(toVpc.lost, 0, 'the router (GR helper, FRR 10.7.1) keeps forwarding to the restarting gateway');
      // Towards the router: bgpd's second zebra session (its label manager's, session id 1, which never registers
      // graceful restart) closes too, and zebra flushes the router's MAC (zebra_evpn_cfg_clean_up, FRR 10.7.1 and
      // master); the new bgpd reports the VRF's routes complete before the EVPN import, and zebra sweeps the VRF's
      // route for ~80 ms. The hold puts the entries back and keeps a route copy: 0 lost.
      assert.equal(fromVpc.lost, 0, `towards the router; the kernel's events in the VRF:\n${kernel}`);
      assert.equal(hold.outcome, 'released', 'zebra took everything back');
      assert.match(kernel, RMAC_DELETED, "zebra 10.7.1 flushed the router's MAC (the hold is still needed: if this fails, FRR fixed it)");
      assert.ok(Number(hold.restoredFdb) >= 2 && Number(hold.restoredNeighbours) >= 1, 'the hold put them back');
    });
  }

  async function gwVtysh(cmds: string[]): Promise<string> {
    assert.ok(sup?.containerName);
    const r = await podman(['exec', sup.containerName, 'vtysh', '-N', sup.pathspace, ...cmds.flatMap((c) => ['-c', c])], {
      timeoutMs: 30_000,
    });
    return r.stdout;
  }

  /** A VNI change on both sides, unmetered: the router's L3VNI and route targets, then the EvpnConf; until traffic flows. */
  async function changeVni(s: SupervisorProcess, vni: number): Promise<void> {
    assert.ok(router);
    await moveVrfRouterVni(router, 1016, vni);
    const from = s.events.length;
    s.volume.update({ ...files(4), 'evpn-conf.yaml': docsEvpnConf(vni) });
    await s.waitForEvent('config_applied', () => true, 60_000, from);
    const m = await LossMeter.start(hostFlows(hosts));
    try {
      await m.waitFlowing({ timeoutMs: 60_000 });
    } finally {
      await m.close();
    }
    await sleep(3000); // End-of-RIB exchanged, the hold's copies gone
  }

  async function change(s: SupervisorProcess): Promise<void> {
    const before = s.events.length;
    s.volume.update(files(4));
    await s.waitForEvent('config_applied', () => true, 60_000, before);
  }

  async function killBgpd(s: SupervisorProcess): Promise<void> {
    const pid = await s.daemonPid('bgpd');
    assert.ok(pid, 'bgpd runs');
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => ((await s.daemonPid('bgpd')) ?? pid) !== pid, { timeoutMs: 60_000, what: 'a new bgpd' });
  }

  /** The event with the meter on; until both directions flow again (+1 s). */
  async function metered(s: SupervisorProcess, event: () => Promise<void>): Promise<Record<string, FlowStats>> {
    const m = await LossMeter.start(hostFlows(hosts));
    try {
      await m.waitFlowing({ timeoutMs: 30_000 });
      await sleep(500);
      await event();
      await sleep(300);
      await m.waitFlowing({ timeoutMs: 60_000, freshMs: 200 });
      await sleep(1000);
      const stats = await m.stop();
      await sleep(2000); // EoR exchanged, stale paths gone: the next event starts settled
      return stats;
    } catch (e) {
      await m.close();
      throw new Error(
        `${(e as Error).message}; supervisor: ${s.events
          .slice(-5)
          .map((x) => String(x.msg).slice(0, 150))
          .join(' | ')}`,
        { cause: e },
      );
    }
  }
});
