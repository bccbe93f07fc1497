// End-to-end test of the FRR process layer (src/frr) and the namespace lab (lab/) with real FRR 8.4.4.
// Needs root: fails (does not skip) otherwise.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { FrrDaemon } from '../../src/frr/daemon.ts';
import type { DaemonExit } from '../../src/frr/daemon.ts';
import { FrrPaths } from '../../src/frr/paths.ts';
import { createLab, listNamespaces, ownPathspaceDirs, waitFor } from '../../lab/lab.ts';
import type { FrrInstance, Lab, RouterInstance } from '../../lab/lab.ts';

const ROUTER_CONF = `frr defaults traditional
hostname ext-router
!
router bgp 65001
 bgp router-id 10.0.1.1
 no bgp ebgp-requires-policy
 bgp graceful-restart
 neighbor 10.0.1.13 remote-as 65002
!
`;

const GATEWAY_CONF = `frr defaults traditional
hostname gateway
!
router bgp 65002
 bgp router-id 10.0.1.13
 no bgp ebgp-requires-policy
 neighbor 10.0.1.1 remote-as 65001
!
`;

interface BgpSummary {
  ipv4Unicast?: { peers?: Record<string, { state?: string }> };
}

async function peerState(inst: FrrInstance, peer: string): Promise<string | undefined> {
  const s = await inst.json<BgpSummary>('show bgp summary json');
  return s.ipv4Unicast?.peers?.[peer]?.state;
}

function waitEstablished(inst: FrrInstance, peer: string, timeoutMs = 15_000): Promise<true> {
  return waitFor(async () => (await peerState(inst, peer)) === 'Established' || undefined, {
    timeoutMs,
    intervalMs: 200,
    what: `BGP session ${inst.pathspace} -> ${peer} Established`,
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('test/e2e/lab.test.ts runs real FRR daemons in network namespaces and must run as root');
  }
}

describe('lab with a router and a gateway-side FRR instance', () => {
  let lab: Lab;
  let router: RouterInstance;
  let gateway: FrrInstance;

  before(async () => {
    requireRoot();
    lab = await createLab();
  });

  after(async () => {
    await lab?.cleanup();
  });

  it('creates the namespaces, the veth pair and the addresses', async () => {
    const names = await listNamespaces();
    assert.ok(names.includes(lab.gwNs) && names.includes(lab.rtNs), `namespaces missing: ${names.join(', ')}`);
    assert.match(lab.gwNs, new RegExp(`^fsl-${process.pid}-\\d+-gw$`));
    const gwAddr = await lab.exec('gw', ['ip', '-br', 'addr', 'show', 'dev', 'net1']);
    assert.match(gwAddr.stdout, /10\.0\.1\.13\/24/);
    assert.match(gwAddr.stdout, /fd00:1::13\/64/);
    const rtAddr = await lab.exec(lab.rtNs, ['ip', '-br', 'addr', 'show', 'dev', lab.rtIf]);
    assert.match(rtAddr.stdout, /10\.0\.1\.1\/24/);
    const lo = await lab.exec('rt', ['ip', '-br', 'link', 'show', 'dev', 'lo']);
    assert.match(lo.stdout, /UNKNOWN|UP/);
  });

  it('brings a BGP session between the two instances to Established', async () => {
    router = await lab.startRouter(ROUTER_CONF);
    gateway = await lab.startFrr(lab.gwNs, GATEWAY_CONF);
    assert.notEqual(router.pathspace, gateway.pathspace);
    assert.match(router.pathspace, new RegExp(`^fsl${process.pid}r\\d+$`));
    for (const name of ['zebra', 'staticd', 'bgpd'] as const) {
      assert.equal(router.daemon(name).running, true, `router ${name} not running`);
      assert.ok(existsSync(router.paths.vtySocket(name)), `${name} vty socket missing`);
    }
    const running = await router.vtysh('show running-config');
    assert.match(running, /neighbor 10\.0\.1\.13 remote-as 65002/);
    await waitEstablished(router, '10.0.1.13');
    await waitEstablished(gateway, '10.0.1.1');
  });

  it('reports an unexpected exit when bgpd is killed with SIGKILL, and recovers after a restart', async () => {
    const bgpd = router.daemon('bgpd');
    const pid = bgpd.pid;
    assert.ok(pid !== undefined);
    const exit = new Promise<DaemonExit>((resolve) => bgpd.once('exit', resolve));
    assert.equal(bgpd.kill('SIGKILL'), true);
    const info = await exit;
    assert.equal(info.expected, false);
    assert.equal(info.signal, 'SIGKILL');
    assert.equal(bgpd.running, false);
    assert.equal(pidAlive(pid), false, 'killed bgpd still alive');

    await router.startDaemon('bgpd'); // start + push bgpd's part of frr.conf
    assert.notEqual(bgpd.pid, pid);
    assert.match(await router.vtysh('show running-config'), /router bgp 65001/);
    await waitEstablished(router, '10.0.1.13');
    await waitEstablished(gateway, '10.0.1.1');
  });

  it('marks an exit requested with stop() as expected', async () => {
    const staticd = router.daemon('staticd');
    const exit = new Promise<DaemonExit>((resolve) => staticd.once('exit', resolve));
    await router.stopDaemon('staticd');
    const info = await exit;
    assert.equal(info.expected, true);
    assert.equal(staticd.running, false);
    await router.stopDaemon('staticd'); // idempotent
    await router.startDaemon('staticd');
    assert.equal(staticd.running, true);
  });

  it('refuses a second bgpd on the same pathspace without harming the first one', async () => {
    const first = router.daemon('bgpd');
    const second = new FrrDaemon({ name: 'bgpd', paths: router.paths, wrapper: ['ip', 'netns', 'exec', lab.rtNs] });
    const t0 = Date.now();
    await assert.rejects(second.start(), (err: Error) => {
      assert.match(err.message, /already running/);
      assert.match(err.message, new RegExp(router.paths.vtySocket('bgpd').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, 'rejection took too long');
    assert.equal(second.running, false);
    assert.equal(first.running, true);
    // the first bgpd still owns its vty socket
    assert.equal(await peerState(router, '10.0.1.13'), 'Established');
  });

  it('fails with a clear error, not a hang, when bgpd cannot bind its BGP port', async () => {
    // Another bgpd would NOT conflict: FRR sets SO_REUSEPORT, so two bgpds in one namespace share port 179.
    // A non-FRR listener does conflict: bgpd exits ("bgp_socket: ... Program cannot continue") once configured.
    const listener = execa(
      'ip',
      [
        'netns',
        'exec',
        lab.rtNs,
        process.execPath,
        '-e',
        "require('net').createServer().listen(1179, '::', () => console.log('listening')); setTimeout(() => {}, 60000)",
      ],
      { stdin: 'ignore', reject: false, buffer: false },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        listener.stdout?.once('data', () => resolve());
        listener.then((r) => reject(new Error(`listener exited early: ${String(r.exitCode)}`))).catch(reject);
      });
      const t0 = Date.now();
      await assert.rejects(
        lab.startFrr(lab.rtNs, ROUTER_CONF.replace('65001', '65009'), { daemons: ['bgpd'], extraArgs: { bgpd: ['-p', '1179'] } }),
        (err: Error) => {
          assert.match(err.message, /bgpd exited \(exit code \d+\)/);
          assert.match(err.message, /port 1179/);
          return true;
        },
      );
      assert.ok(Date.now() - t0 < 10_000, 'failure took too long');
    } finally {
      listener.kill('SIGKILL');
      await listener;
    }
    assert.equal(router.daemon('bgpd').running, true);
    assert.equal(await peerState(router, '10.0.1.13'), 'Established');
  });

  it('cleanup stops every process and removes namespaces and run dirs', async () => {
    const pids = lab.instances.flatMap((i) => i.spawnedPids);
    assert.ok(pids.length >= 7, `expected at least 7 spawned daemons, got ${pids.length}`);
    const tmp = lab.tmpDir;
    const pathspaces = lab.instances.map((i) => i.pathspace);
    assert.ok(existsSync(tmp));
    const t0 = Date.now();
    await lab.cleanup();
    await lab.cleanup(); // idempotent
    assert.ok(Date.now() - t0 < 15_000);
    const names = await listNamespaces();
    assert.ok(!names.includes(lab.gwNs) && !names.includes(lab.rtNs), `namespaces left: ${names.join(', ')}`);
    for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} still alive`);
    assert.equal(existsSync(tmp), false, `${tmp} still exists`);
    for (const ps of pathspaces) assert.equal(existsSync(join('/var/run/frr', ps)), false, `/var/run/frr/${ps} still exists`);
    assert.deepEqual(ownPathspaceDirs(), []);
  });
});

describe('sweep of what killed runs left', () => {
  it("removes the name a killed run's VRF namespace left in /run/netns (fsl<dead pid>v..., 'Peer netns reference is invalid')", async () => {
    // a pid that no process has: the run that made the name is gone
    let dead = 4_000_000;
    while (pidAlive(dead)) dead--;
    const name = `fsl${dead}vq`;
    // what such a run leaves: the empty file the namespace's mount sat on (the mount went with the supervisor's
    // mount namespace)
    mkdirSync('/run/netns', { recursive: true });
    writeFileSync(`/run/netns/${name}`, '');
    let swept: Lab | undefined;
    try {
      assert.ok((await listNamespaces()).includes(name), 'ip netns list shows the leftover');
      swept = await createLab();
      assert.equal(existsSync(`/run/netns/${name}`), false, `/run/netns/${name} swept by createLab`);
    } finally {
      await swept?.cleanup();
      rmSync(`/run/netns/${name}`, { force: true });
    }
  });
});

describe('FrrDaemon start failures', () => {
  it('rejects with the path when the daemon binary does not exist', async () => {
    const d = new FrrDaemon({
      name: 'bgpd',
      paths: new FrrPaths({ binDir: '/nonexistent/frr', runDir: '/nonexistent/run', pathspace: 'nope' }),
    });
    await assert.rejects(d.start(), /binary not found: \/nonexistent\/frr\/bgpd/);
    assert.equal(d.running, false);
    assert.equal(d.pid, undefined);
  });

  it('rejects with the path when the wrapper does not exist', async () => {
    requireRoot();
    const lab = await createLab();
    try {
      const paths = new FrrPaths({
        runDir: join(lab.tmpDir, 'run'),
        configDir: join(lab.tmpDir, 'etc'),
        pathspace: `fsl${process.pid}g99`,
      });
      await paths.ensureDirs();
      const d = new FrrDaemon({ name: 'zebra', paths, wrapper: ['/nonexistent/ip', 'netns', 'exec', lab.gwNs] });
      await assert.rejects(d.start(), /binary not found: \/nonexistent\/ip/);
      assert.equal(d.running, false);
    } finally {
      await lab.cleanup();
    }
    assert.equal(existsSync(lab.tmpDir), false);
  });
});
