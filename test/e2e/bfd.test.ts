/**
 * BFD end to end, against real FRR on both sides: `frr-supervisor run` in the lab's gateway namespace with
 * gateway.yaml `bfd` on (300 ms x 3), an external-router FRR (zebra, bfdd, staticd, bgpd) with BFD towards the
 * gateway. Hold time 90 s on both sides, so a neighbour marked down within seconds was marked down by BFD.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { parseBgpNeighbors, parseBgpSummary } from '../../src/state/bgp.ts';
import { parseBfdPeers } from '../../src/state/bfd.ts';
import type { StatusDoc } from '../../src/observe/status.ts';
import { docsBgpConf, GW, GW_PREFIX, RT, RT_PREFIX } from '../../lab/configs.ts';

/**
 * The router: eBGP with hold time 90 s, graceful restart, BFD to the gateway as a configured session (it outlives
 * the gateway's BGP session going down, as on a router whose BFD is configured by hand) and `neighbor bfd`.
 */
const ROUTER_CONF = `frr defaults traditional
ip route ${RT_PREFIX} Null0
bfd
 peer ${GW}
 exit
exit
router bgp 65001
 bgp router-id ${RT}
 no bgp ebgp-requires-policy
 bgp graceful-restart
 neighbor ${GW} remote-as 65002
 neighbor ${GW} timers 30 90
 neighbor ${GW} timers connect 1
 neighbor ${GW} bfd
 address-family ipv4 unicast
  network ${RT_PREFIX}
 exit-address-family
exit
`;

const bgpConf = (hold = '90s'): string =>
  docsBgpConf({ hold, keepalive: hold === '90s' ? '30s' : '10s', connect: '1s', ebgpMultiHop: false });
const gatewayYaml = (bfd: string | undefined): string => `advertise: [${GW_PREFIX}]\n${bfd === undefined ? '' : `bfd: ${bfd}\n`}`;
const BFD_ON = '{enabled: true}';

type Neighbour = StatusDoc['neighbours'][number];

describe('BFD for the BGP neighbours against real FRR', { timeout: 600_000 }, () => {
  let lab: Lab;
  let router: RouterInstance;
  let sup: SupervisorProcess;

  before(async () => {
    lab = await createLab();
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', GW_PREFIX]);
    router = await lab.startRouter(ROUTER_CONF, { daemons: ['zebra', 'bfdd', 'staticd', 'bgpd'] });
    sup = startSupervisor(lab, { files: { 'bgp-conf.yaml': bgpConf(), 'gateway.yaml': gatewayYaml(BFD_ON) } });
    await sup.waitForEvent('config_applied', () => true, 30_000);
  });

  after(async () => {
    await cutLink(false).catch(() => undefined);
    await sup?.cleanup();
    await lab?.cleanup();
  });

  /** 100 % loss on the router's side of the link (iptables in the router namespace; the carrier stays up). */
  async function cutLink(cut: boolean): Promise<void> {
    for (const [chain, dir] of [
      ['INPUT', '-i'],
      ['OUTPUT', '-o'],
    ] as const)
      await lab.exec(lab.rtNs, ['iptables', cut ? '-I' : '-D', chain, dir, lab.rtIf, '-j', 'DROP'], { reject: cut });
  }

  async function gwEstablished(): Promise<boolean> {
    const peers = parseBgpSummary(await sup.vty.run(['show bgp ipv4 unicast summary json']), { afi: 'ipv4Unicast' });
    return peers.find((p) => p.peer === RT)?.established ?? false;
  }

  async function gwBfd(): Promise<ReturnType<typeof parseBfdPeers>[number] | undefined> {
    return parseBfdPeers(await sup.vty.run(['show bfd peers json'], { daemon: 'bfdd' })).find((p) => p.peer === RT);
  }

  async function statusNeighbour(): Promise<Neighbour | undefined> {
    return (await sup.httpJson<StatusDoc>('/status')).doc.neighbours.find((n) => n.peer === RT);
  }

  async function bfdUpEverywhere(timeoutMs = 20_000): Promise<Neighbour> {
    return waitFor(
      async () => {
        const n = await statusNeighbour();
        return n?.established && n.bfd?.up && (await gwEstablished()) && n;
      },
      { timeoutMs, what: 'Established and BFD up in /status' },
    );
  }

  async function apply(files: Record<string, string>): Promise<Record<string, unknown>> {
    const n = sup.events.length;
    sup.volume.update(files);
    return sup.waitForEvent('config_applied', () => true, 30_000, n);
  }

  test('1. sessions up: bfdd runs (daemons file too), /status, the status table and the metrics show BFD', async () => {
    const n = await bfdUpEverywhere();
    assert.equal(n.bfd?.multihop, false);
    assert.deepEqual(n.bfd?.negotiated, { transmitMs: 300, receiveMs: 300, detectTimeMs: 900 });
    const st = (await sup.httpJson<StatusDoc>('/status')).doc;
    const names = (st.daemons as Array<{ name: string; running: boolean }>).map((d) => `${d.name}:${String(d.running)}`);
    assert.deepEqual(names, ['zebra:true', 'bfdd:true', 'staticd:true', 'bgpd:true']);
    assert.match(readFileSync(join(sup.paths.instanceConfigDir, 'daemons'), 'utf8'), /^bfdd=yes$/m);
    const metrics = (await sup.http('/metrics')).body;
    assert.match(metrics, /^frr_bfd_peer_count 1$/m);
    assert.match(metrics, /^frr_supervisor_daemon_up\{daemon="bfdd"\} 1$/m);
    assert.match(
      metrics,
      new RegExp(`^frr_bfd_peer_state\\{local="[^"]*",peer="${RT.replace(/\./g, '\\.')}",iface="[^"]*",vrf="default"\\} 1$`, 'm'),
    );
    // the router's side is up too
    const rt = parseBfdPeers(await router.vtysh('show bfd peers json')).find((p) => p.peer === GW);
    assert.equal(rt?.up, true);
  });

  test('2. link cut: the gateway marks the neighbour down within ~1 s (BFD 300 ms x 3, hold time 90 s); restored, it comes back', async () => {
    await bfdUpEverywhere();
    const detail = parseBgpNeighbors(await sup.vty.run([`show bgp neighbors ${RT} json`]));
    assert.equal(detail[0]?.holdTimeMsecs, 90_000, 'the negotiated hold time is 90 s: only BFD can be this fast');
    const t0 = performance.now();
    await cutLink(true);
    try {
      await waitFor(async () => !(await gwEstablished()), { timeoutMs: 30_000, intervalMs: 50, what: 'the gateway drops the session' });
      const downMs = performance.now() - t0;
      process.stderr.write(`  BFD: neighbour marked down ${Math.round(downMs)} ms after the link cut\n`);
      assert.ok(downMs < 3000, `marked down after ${Math.round(downMs)} ms (BFD detection 900 ms; hold time would be 90 s)`);
      const down = await waitFor(
        async () => {
          const n = await statusNeighbour();
          return n && !n.established && n.bfd && !n.bfd.up && n;
        },
        { timeoutMs: 15_000, what: '/status shows the neighbour and its BFD session down' },
      );
      assert.equal(down.bfd?.diagnostic, 'control detection time expired');
      assert.match((await sup.http('/metrics')).body, /^frr_bfd_peer_state\{[^}]*\} 0$/m);
    } finally {
      await cutLink(false);
    }
    await bfdUpEverywhere(60_000);
  });

  test('3. a BGP-only change (hold time) restarts bgpd alone: bfdd keeps its pid, BFD stays up but for brief resets', async () => {
    await bfdUpEverywhere();
    const bfddPid = await sup.daemonPid('bfdd');
    const bgpdPid = await sup.daemonPid('bgpd');
    const before = await gwBfd();
    assert.ok(bfddPid && bgpdPid && before?.up);
    // sample the gateway's BFD session through the change
    const samples: Array<{ at: number; up: boolean; uptime: number }> = [];
    let sampling = true;
    const loop = (async () => {
      while (sampling) {
        const s = await gwBfd().catch(() => undefined);
        samples.push({ at: Math.round(performance.now()), up: s?.up ?? false, uptime: s?.uptimeSeconds ?? -1 });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const applied = await apply({ 'bgp-conf.yaml': bgpConf('30s'), 'gateway.yaml': gatewayYaml(BFD_ON) });
    assert.deepEqual(applied.restarted, ['bgpd']);
    await bfdUpEverywhere(30_000);
    await new Promise((r) => setTimeout(r, 3000));
    sampling = false;
    await loop;
    assert.notEqual(await sup.daemonPid('bgpd'), bgpdPid, 'bgpd was restarted');
    assert.equal(await sup.daemonPid('bfdd'), bfddPid, 'bfdd kept running');
    // Measured on FRR 8.4.4: bgpd's exit and start (its BFD client deregistered and registered again) reset even a
    // configured session (bfd / peer X) now and then: 0 to 2 brief resets per bgpd restart in our runs. Pinned here:
    // at most 2 resets, not up for at most about a second in all; bfdd itself never restarts. (bgpd naming the
    // profile too, `neighbor X bfd profile`, reset it at every bgpd start: single-hop neighbours do not name it.)
    let resets = 0;
    for (let i = 1; i < samples.length; i++)
      if (samples[i]!.uptime < samples[i - 1]!.uptime || (!samples[i]!.up && samples[i - 1]!.up)) resets++;
    const notUpMs = samples.filter((x) => !x.up).length * 100;
    process.stderr.write(`  BFD across a bgpd restart: ${resets} reset(s), ~${notUpMs} ms not up (${samples.length} samples)\n`);
    assert.ok(resets <= 2 && notUpMs <= 1000, `BFD across the bgpd restart: ${JSON.stringify(samples)}`);
    assert.ok(samples.at(-1)!.up);
  });

  test('4. a BFD profile change applies live: nothing restarts, the negotiated intervals follow', async () => {
    await bfdUpEverywhere();
    const pids = [await sup.daemonPid('bfdd'), await sup.daemonPid('bgpd')];
    const applied = await apply({
      'bgp-conf.yaml': bgpConf('30s'),
      'gateway.yaml': gatewayYaml('{enabled: true, receiveInterval: 500, transmitInterval: 500, detectMultiplier: 5}'),
    });
    assert.deepEqual(applied.restarted, []);
    const n = await waitFor(
      async () => {
        const x = await statusNeighbour();
        return x?.bfd?.negotiated?.transmitMs === 500 && x;
      },
      { timeoutMs: 15_000, what: 'negotiated 500 ms' },
    );
    assert.equal(n.bfd?.up, true);
    assert.deepEqual([await sup.daemonPid('bfdd'), await sup.daemonPid('bgpd')], pids);
  });

  test('5. BFD off, then on again, live: bfdd leaves and comes back, BGP stays or comes back Established', async () => {
    await bfdUpEverywhere();
    const bfddPid = await sup.daemonPid('bfdd');
    const off = await apply({ 'bgp-conf.yaml': bgpConf('30s'), 'gateway.yaml': gatewayYaml(undefined) });
    assert.deepEqual(off.restarted, ['bgpd']);
    assert.equal(await sup.daemonPid('bfdd'), undefined, 'bfdd stopped');
    assert.ok(bfddPid && !isAlive(bfddPid));
    const st = (await sup.httpJson<StatusDoc>('/status')).doc;
    assert.ok(!(st.daemons as Array<{ name: string }>).some((d) => d.name === 'bfdd'));
    assert.match(readFileSync(join(sup.paths.instanceConfigDir, 'daemons'), 'utf8'), /^bfdd=no$/m);
    assert.doesNotMatch((await sup.http('/metrics')).body, /^frr_supervisor_daemon_up\{daemon="bfdd"\}/m, 'no stale bfdd series');
    assert.doesNotMatch(await sup.vty.run(['show running-config']), /bfd/);
    await waitFor(async () => (await statusNeighbour())?.established && (await statusNeighbour())?.bfd === null, {
      timeoutMs: 30_000,
      what: 'Established without BFD',
    });
    assert.equal(st.poll?.errors['show bfd peers json'], undefined, 'bfdd not asked while BFD is off');
    const on = await apply({ 'bgp-conf.yaml': bgpConf('30s'), 'gateway.yaml': gatewayYaml(BFD_ON) });
    assert.deepEqual(on.restarted, ['bfdd', 'bgpd']);
    await bfdUpEverywhere(30_000);
  });

  test('6. bfdd killed: restarted by the supervisor, the sessions come back without a bgpd restart', async () => {
    await bfdUpEverywhere();
    const bfddPid = await sup.daemonPid('bfdd');
    const bgpdPid = await sup.daemonPid('bgpd');
    assert.ok(bfddPid);
    const n = sup.events.length;
    process.kill(bfddPid, 'SIGKILL');
    await sup.waitForEvent('daemon_started', (e) => e.daemon === 'bfdd' && e.reason === 'crash', 30_000, n);
    await waitFor(async () => (await gwBfd())?.up, { timeoutMs: 30_000, what: 'BFD up again' });
    assert.notEqual(await sup.daemonPid('bfdd'), bfddPid);
    assert.equal(await sup.daemonPid('bgpd'), bgpdPid, 'bgpd was not restarted');
    await bfdUpEverywhere(30_000);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
