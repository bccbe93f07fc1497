/**
 * The EVPN change drain (src/supervisor/change-drain.ts): the per-replica delay, its gateway.yaml field, and inside an
 * apply how it ends early: at once on shutdown (every wait), and when a daemon goes down (the apply goes on).
 */
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { changeDrainDelay, drainsBeforeRestart, withdrawCommands } from '../../src/supervisor/change-drain.ts';
import { Applier } from '../../src/supervisor/apply.ts';
import { Lifecycle } from '../../src/supervisor/lifecycle.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { HostFacts } from '../../src/config/facts.ts';
import { configHash, renderFrrConf, replicaAnchor, shownConfigHash } from '../../src/render/frr-conf.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { createLogger } from '../../src/log.ts';
import { docsBgpConf, docsEvpnConf } from '../../lab/configs.ts';
import { validateGateway } from '../../src/config/validate.ts';
import { Reporter } from '../../src/config/problems.ts';
import type { Problem } from '../../src/config/problems.ts';
import { GATEWAY_DEFAULTS } from '../../src/config/types.ts';
import type { Spec } from '../../src/config/types.ts';

const D = { enabled: true, slotSeconds: 10, slots: 10, settleSeconds: 1, maxWaitSeconds: 5 };

test('consecutive Pod IPs get different slots (up to `slots` of them), whatever the subnet', () => {
  for (const base of ['10.0.2.11', '10.16.255.250', '192.168.1.0']) {
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
    const start = ((a * 256 + b) * 256 + c) * 256 + d;
    const ips = Array.from({ length: 10 }, (_, k) => {
      const n = start + k;
      return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    });
    const slots = ips.map((ip) => changeDrainDelay(ip, D).slot);
    assert.equal(new Set(slots).size, 10, `${ips.join(',')} -> ${slots.join(',')}`);
  }
  assert.deepEqual(changeDrainDelay('10.0.2.13', D), { slot: 5, delayMs: 50_000 }); // 0x0a00020d = 167772685
  assert.deepEqual(changeDrainDelay('10.0.2.13', { ...D, slots: 4, slotSeconds: 6 }), { slot: 1, delayMs: 6000 });
  assert.equal(changeDrainDelay('255.255.255.255', D).slot, 4294967295 % 10);
});

test('gateway.yaml changeDrain: defaults off; a block turns it on; values parsed', () => {
  const problems: Problem[] = [];
  const off = validateGateway({}, new Reporter(problems, 'gateway.yaml'));
  assert.deepEqual(off?.changeDrain, GATEWAY_DEFAULTS.changeDrain);
  assert.equal(off?.changeDrain.enabled, false);
  const on = validateGateway(
    { changeDrain: { slot: '6s', slots: 4, settle: '0s', maxWait: '3s' } },
    new Reporter(problems, 'gateway.yaml'),
  );
  assert.deepEqual(on?.changeDrain, { enabled: true, slotSeconds: 6, slots: 4, settleSeconds: 0, maxWaitSeconds: 3 });
  assert.deepEqual(problems, []);
  const badProblems: Problem[] = [];
  const bad = validateGateway({ changeDrain: { slot: '500ms' } }, new Reporter(badProblems, 'gateway.yaml'));
  assert.equal(bad, undefined);
  assert.match(
    badProblems.map((p) => `${p.path}: ${p.message}`).join('\n'),
    /changeDrain\.slot: "500ms" is 0\.5 s: FRR takes whole seconds/,
  );
});

test('the drain runs only when the running config is in EVPN mode and the new one asks for it', () => {
  const spec = (evpn: boolean, enabled: boolean): Spec =>
    ({
      bgp: { routerId: '10.0.2.11' },
      ...(evpn && { evpn: { vni: 1016, routeTargets: [] } }),
      gateway: { ...GATEWAY_DEFAULTS, changeDrain: { ...D, enabled } },
    }) as unknown as Spec;
  assert.equal(drainsBeforeRestart(spec(true, true), spec(true, true), true), true);
  assert.equal(drainsBeforeRestart(spec(true, false), spec(false, true), true), true, 'leaving EVPN withdraws the type-5 routes too');
  assert.equal(drainsBeforeRestart(spec(false, true), spec(true, true), true), false, 'BGP-only: graceful restart keeps the routes');
  assert.equal(drainsBeforeRestart(spec(true, true), spec(true, false), true), false);
  assert.equal(drainsBeforeRestart(spec(true, true), spec(true, true), false), false, 'nothing restarts (a BFD profile change): no drain');
});

/**
 * The change drain inside an apply, driven through the Lifecycle as the supervisor drives it, on fakes: a config dir
 * (EVPN, changeDrain), an Applier whose running config is that EVPN config, a fake vtysh (the EVPN summary's routes
 * sent; `no advertise` takes them to 0 when `drops`), fake daemons and a data plane runner that fails every command
 * (no host is touched: the data plane step is reported failed and the apply goes on).
 */
async function drainHarness(o: {
  changeDrain: string;
  drops: boolean;
  down?: DaemonName[];
  unwritable?: boolean;
  /** restartFor rejects (a daemon that cannot start), this many times. */
  failRestart?: number;
  /** `show bgp l2vpn evpn summary json` times out once the routes were withdrawn. */
  confirmTimesOut?: boolean;
  /** gateway.yaml's advertise list (default [10.17.0.0/16]). */
  advertise?: string;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-cdrain-'));
  const frrConf = join(dir, 'frr.conf');
  const log: string[] = [];
  const events: Array<Record<string, unknown>> = [];
  const sink = { write: (line: string) => events.push(JSON.parse(line) as Record<string, unknown>) };
  const logger = createLogger('debug', sink as unknown as NodeJS.WritableStream);
  const write = (hold: string): void => {
    writeFileSync(join(dir, 'bgp-conf.yaml'), docsBgpConf({ hold, keepalive: '3s', connect: '1s', neighbours: ['10.0.2.1'] }));
    writeFileSync(join(dir, 'evpn-conf.yaml'), docsEvpnConf(1016));
    writeFileSync(join(dir, 'gateway.yaml'), `advertise: ${o.advertise ?? '[10.17.0.0/16]'}\nchangeDrain: ${o.changeDrain}\n`);
  };
  const vty = { sent: 3, summaries: 0, withdrawn: false };
  const vtysh = {
    run: (cmds: string[]): Promise<string> => {
      if (cmds[0] === 'show bgp l2vpn evpn summary json') {
        if (vty.withdrawn) vty.summaries++;
        if (vty.withdrawn && o.confirmTimesOut) return Promise.reject(new Error('vtysh: timed out after 1000 ms'));
        const peer = { remoteAs: 65001, localAs: 65002, pfxRcd: 1, pfxSnt: vty.sent, state: 'Established', peerState: 'OK' };
        return Promise.resolve(JSON.stringify({ routerId: ROUTER_ID, as: 65002, peers: { '10.0.2.1': peer } }));
      }
      if (cmds.includes('advertise ipv4 unicast') || cmds.some((c) => c.startsWith('network '))) log.push('advertise again');
      if (cmds.includes('no advertise ipv4 unicast') || cmds.some((c) => c.startsWith('no network '))) {
        log.push('withdraw');
        vty.withdrawn = true;
        if (o.drops) vty.sent = 0;
      }
      if (cmds[0] === 'show running-config') return Promise.resolve(readFileSync(frrConf, 'utf8'));
      return Promise.resolve('');
    },
  };
  const running = new Set<DaemonName>(['zebra', 'staticd', 'bgpd'].filter((d) => !o.down?.includes(d as DaemonName)) as DaemonName[]);
  let failRestart = o.failRestart ?? 0;
  const daemons = {
    names: ['zebra', 'staticd', 'bgpd'] as DaemonName[],
    isRunning: (d: DaemonName) => running.has(d),
    restartFor: (scope: 'bgpd' | 'zebra' | readonly DaemonName[]) => {
      log.push(`restartFor:${String(scope)}`);
      if (failRestart > 0) {
        failRestart--;
        return Promise.reject(new Error('bgpd could not start: a unit test says so'));
      }
      const set: DaemonName[] = scope === 'zebra' ? ['zebra', 'staticd', 'bgpd'] : typeof scope === 'string' ? ['bgpd'] : [...scope];
      for (const d of set) running.add(d);
      return Promise.resolve(set);
    },
    close: () => void log.push('daemons.close'),
    stopAll: () => Promise.resolve(void log.push('daemons.stopAll')),
  };
  const facts: HostFacts = { env: { POD_IP: ROUTER_ID }, interfaceIPv4: () => Promise.resolve(undefined) };
  const applier = new Applier({
    configDir: dir,
    env: false,
    facts,
    // unwritable: frr.conf "inside" a file (ENOTDIR), as a full or read-only disk fails the write
    paths: { frrConf: o.unwritable ? join(dir, 'gateway.yaml', 'frr.conf') : frrConf } as never,
    vtysh: vtysh as never,
    daemons: daemons as never,
    logger,
    runner: () => Promise.resolve({ exitCode: 1, stdout: '', stderr: 'a unit test runs no command' }),
    verifyTimeoutMs: 200,
    // as the supervisor wires it: an apply the applier asks for (its slot reached) goes through the lifecycle
    requestApply: (reason: string) => void lc.apply(reason).catch(() => undefined),
  });
  const step = (name: string) => () => Promise.resolve(void log.push(name));
  const lc = new Lifecycle({
    applier,
    daemons,
    logger,
    steps: { stopInputs: step('stopInputs'), stopObserving: step('stopObserving'), drain: step('drain'), cleanup: step('cleanup') },
    budget: { applyMs: 3000, stopEachMs: 100 },
  });
  await lc.start(); // an empty dir: rejected, nothing runs (no data plane step either)
  assert.equal(applier.last?.result, 'invalid');
  // What runs: the first config, in EVPN mode, applied and verified.
  write('9s');
  const first = await loadConfig({ configDir: dir, env: false, facts });
  assert.ok(first.spec?.evpn && first.spec.gateway.changeDrain.enabled, JSON.stringify(first.problems));
  const conf = renderFrrConf(first.spec);
  applier.running = { spec: first.spec, conf, hash: configHash(conf), shown: shownConfigHash(conf), generation: 1, appliedAt: '' };
  applier.verifiedHash = configHash(conf);
  write('12s'); // a change that restarts bgpd
  return {
    lc,
    applier,
    log,
    write,
    events,
    vty,
    running,
    find: (event: string) => events.filter((e) => e.event === event),
    /** Ends whatever still runs (the old code's drain ignored a shutdown in some waits) and removes the dir. */
    cleanup: async () => {
      await lc.shutdown('test end');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ROUTER_ID = '10.0.2.11'; // 167772683: slot 3 of 4, slot 0 of 1

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** 'done' when p settles within ms, else 'still waiting' (the waits under test are 30 s and more). */
async function within(p: Promise<unknown>, ms: number): Promise<'done' | 'still waiting'> {
  const t = new AbortController();
  const r = await Promise.race([
    p.then(() => 'done' as const),
    sleep(ms, 'still waiting' as const, { signal: t.signal }).catch(() => 'done' as const),
  ]);
  t.abort();
  return r;
}

describe('change drain inside an apply (fakes, through the Lifecycle)', () => {
  const phases = [
    // slot 3 of 4: waits 3 x 60 s
    {
      phase: 'slot wait',
      changeDrain: '{slot: 60s, slots: 4}',
      drops: true,
      reached: (h: Harness) => h.find('change_drain_wait').length > 0,
    },
    // slot 0; the routes sent never drop: waits maxWait (60 s)
    {
      phase: 'withdrawal',
      changeDrain: '{slot: 60s, slots: 1, maxWait: 60s}',
      drops: false,
      reached: (h: Harness) => h.log.includes('withdraw'),
    },
    // slot 0; the routes sent drop at once: settles 30 s
    { phase: 'settle', changeDrain: '{slot: 60s, slots: 1, settle: 30s}', drops: true, reached: (h: Harness) => h.vty.summaries > 0 },
  ];
  for (const c of phases) {
    it(`SIGTERM during the ${c.phase}: the wait ends at once, the apply stops, the shutdown drains and stops within its budget`, async () => {
      const h = await drainHarness({ changeDrain: c.changeDrain, drops: c.drops });
      try {
        const apply = h.lc.apply('change bgp-conf.yaml').then(() => h.log.push('apply ended'));
        await until(c.phase, () => c.reached(h));
        await sleep(20); // inside the wait
        assert.equal(await within(h.lc.shutdown('SIGTERM'), 2000), 'done', 'the shutdown did not wait for the drain');
        await apply;
        assert.deepEqual(h.find('shutdown_apply_abandoned'), [], 'the apply in flight ended by itself, not abandoned');
        const order = h.log.filter((l) => ['apply ended', 'drain', 'daemons.stopAll', 'cleanup'].includes(l) || l.startsWith('restartFor'));
        assert.deepEqual(
          order,
          ['apply ended', 'drain', 'daemons.stopAll', 'cleanup'],
          'nothing restarted; the BGP drain and the stop followed',
        );
        assert.equal(h.lc.state, 'stopped');
        assert.deepEqual(
          h.find('change_drain_cut').map((e) => [e.phase, e.reason]),
          [[c.phase, 'shutting down']],
        );
      } finally {
        await h.cleanup();
      }
    });
  }

  it('a daemon exits during the slot wait: the drain ends at once, the apply goes on, the crash recovery follows right after', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 60s, slots: 4}', drops: true });
    try {
      const apply = h.lc.apply('change bgp-conf.yaml').then(() => h.log.push('apply ended'));
      await until('the slot wait', () => h.find('change_drain_wait').length > 0);
      assert.equal(h.find('change_drain_wait')[0]?.delayMs, 180_000);
      // What DaemonManager does when bgpd exits: 'crash' (which the supervisor wires to cutChangeDrain), then, after
      // its backoff, a recovery attempt through the lifecycle (queued behind the apply).
      h.running.delete('bgpd');
      h.applier.cutChangeDrain('bgpd exited (signal SIGKILL)');
      const recovered = h.lc.recover('bgpd', () => {
        h.log.push('recovery attempt');
        const started: DaemonName[] = h.running.has('bgpd') ? [] : ['bgpd'];
        h.running.add('bgpd');
        return Promise.resolve(started);
      });
      assert.equal(await within(Promise.all([apply, recovered]), 3000), 'done', 'no 180 s wait');
      assert.deepEqual(
        h.find('change_drain_cut').map((e) => [e.phase, e.reason]),
        [['slot wait', 'bgpd exited (signal SIGKILL)']],
      );
      assert.ok(!h.log.includes('withdraw'), 'nothing withdrawn: the routes are going anyway');
      assert.deepEqual(
        h.log.filter((l) => l !== 'withdraw'),
        ['apply ended', 'restartFor:bgpd', 'recovery attempt'],
        'the run that met the slot ended at once; the cut asked for a run, which restarted bgpd; then the recovery found it running',
      );
      assert.equal(h.applier.last?.result, 'applied');
    } finally {
      await h.cleanup();
    }
  });

  it('frr.conf cannot be written: nothing is withdrawn, at the apply or at its retries; the old config keeps running (issue 26, defect 7)', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 1s, slots: 1, settle: 0s}', drops: true, unwritable: true });
    try {
      await h.lc.apply('change bgp-conf.yaml');
      assert.equal(h.applier.last?.result, 'failed');
      assert.match(String(h.applier.last?.error), /writing .*frr\.conf failed/);
      await h.lc.apply('change bgp-conf.yaml'); // a retry (an event retries at once)
      assert.equal(h.applier.last?.result, 'failed');
      assert.deepEqual(h.log, [], 'the write is tried before the drain: nothing withdrawn, nothing restarted');
      assert.equal(h.applier.running?.generation, 1);
    } finally {
      await h.cleanup();
    }
  });

  it('anchors and `advertise: []`: nothing to withdraw, so no wait for a withdrawal (issue 26, defect 11)', async () => {
    const h = await drainHarness({
      changeDrain: '{slot: 1s, slots: 1, settle: 0s, maxWait: 60s, anchors: 10.17.255.0/24}',
      advertise: '[]',
      drops: true,
    });
    try {
      assert.equal(await within(h.lc.apply('change bgp-conf.yaml'), 5000), 'done', 'no 60 s wait');
      assert.equal(h.applier.last?.result, 'applied');
      assert.deepEqual(h.log, ['restartFor:bgpd']);
    } finally {
      await h.cleanup();
    }
  });

  it('the restart fails after the drain: the withdrawn routes are advertised again (issue 26, defect 3)', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 1s, slots: 1, settle: 0s}', drops: true, failRestart: 1 });
    try {
      await h.lc.apply('change bgp-conf.yaml');
      assert.equal(h.applier.last?.result, 'failed');
      assert.deepEqual(h.log, ['withdraw', 'restartFor:bgpd', 'advertise again'], 'the old bgpd runs on: it advertises again');
    } finally {
      await h.cleanup();
    }
  });

  it('the withdrawal went out but its confirmation timed out, then the restart fails: advertised again (issue 26, defect 10)', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 1s, slots: 1, settle: 0s}', drops: true, failRestart: 1, confirmTimesOut: true });
    try {
      await h.lc.apply('change bgp-conf.yaml');
      assert.equal(h.applier.last?.result, 'failed');
      assert.deepEqual(h.log, ['withdraw', 'restartFor:bgpd', 'advertise again']);
    } finally {
      await h.cleanup();
    }
  });

  it('the slot wait holds nothing: a resync runs at once, an edit during the wait is applied at the slot with one drain (issue 26, defect 6)', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 2s, slots: 4, settle: 0s}', drops: true }); // slot 3: 6 s
    try {
      const t0 = Date.now();
      void h.lc.apply('change bgp-conf.yaml').catch(() => undefined);
      await until('the slot wait', () => h.find('change_drain_wait').length > 0);
      assert.equal(await within(h.lc.apply('periodic resync', { periodic: true }), 1500), 'done', 'the resync waited for the slot');
      assert.equal(h.applier.lastCheck?.result, 'slot-pending');
      assert.equal(h.applier.progress?.step, 'drain', '/status shows the drain waiting');
      assert.match(h.applier.progress?.detail ?? '', /^drain: waiting for slot 3 until /);
      h.write('15s'); // another edit during the wait
      assert.equal(await within(h.lc.apply('change bgp-conf.yaml'), 1500), 'done', 'the edit waited for the slot');
      await until('the apply', () => h.applier.last?.result === 'applied', 15_000);
      assert.ok(Date.now() - t0 >= 5500, `restarted at its slot (${Date.now() - t0} ms), not before`);
      assert.equal(h.applier.running?.spec.bgp.holdTime, 15, 'the latest input');
      assert.deepEqual(h.log, ['withdraw', 'restartFor:bgpd'], 'one drain, one restart');
      assert.equal(h.find('change_drain_wait').length, 1, 'one slot wait');
      assert.equal(h.find('apply_step').filter((e) => e.step === 'drain').length, 2, 'the drain step logged when it began and at its slot');
    } finally {
      await h.cleanup();
    }
  });

  it('staticd or bfdd exits during the slot wait: the drain goes on, bgpd is not restarted outside its slot, the recovery runs at once (issue 26, defect 9)', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 1s, slots: 4, settle: 0s}', drops: true }); // slot 3: 3 s
    try {
      const t0 = Date.now();
      void h.lc.apply('change bgp-conf.yaml').catch(() => undefined);
      await until('the slot wait', () => h.find('change_drain_wait').length > 0);
      h.running.delete('staticd');
      h.applier.cutChangeDrain('staticd exited (signal SIGKILL)', 'staticd');
      const recovered = h.lc.recover('staticd', () => {
        h.log.push('recovery attempt');
        h.running.add('staticd');
        return Promise.resolve(['staticd'] as DaemonName[]);
      });
      assert.equal(await within(recovered, 1500), 'done', 'the recovery waited for the slot');
      assert.deepEqual(h.find('change_drain_cut'), [], 'the drain was not cut');
      assert.deepEqual(h.log, ['recovery attempt'], 'nothing restarted outside the slot');
      await until('the apply', () => h.applier.last?.result === 'applied', 10_000);
      assert.ok(Date.now() - t0 >= 2500, 'at its slot');
      assert.deepEqual(h.log, ['recovery attempt', 'withdraw', 'restartFor:bgpd']);
    } finally {
      await h.cleanup();
    }
  });

  it('a daemon already down when the drain would begin: no drain, the apply goes on at once', async () => {
    const h = await drainHarness({ changeDrain: '{slot: 60s, slots: 4}', drops: true, down: ['bgpd'] });
    try {
      assert.equal(await within(h.lc.apply('change bgp-conf.yaml'), 3000), 'done', 'no 180 s wait');
      assert.deepEqual(
        h.find('change_drain_cut').map((e) => e.reason),
        ['not running: bgpd'],
      );
      assert.deepEqual(h.log, ['restartFor:bgpd']);
      assert.equal(h.applier.last?.result, 'applied');
    } finally {
      await h.cleanup();
    }
  });
});

type Harness = Awaited<ReturnType<typeof drainHarness>>;

test('changeDrain.anchors: each replica its own /32 of the range (router id mod size); strict IPv4 /8../30', () => {
  assert.equal(replicaAnchor('10.0.2.11', '10.17.255.0/24'), '10.17.255.11/32');
  assert.equal(replicaAnchor('10.0.1.13', '10.16.255.0/28'), '10.16.255.13/32');
  assert.equal(replicaAnchor('10.0.1.29', '10.16.255.0/28'), '10.16.255.13/32', '29 mod 16 = 13');
  assert.equal(replicaAnchor('192.168.3.200', '10.0.0.0/8'), '10.168.3.200/32');
  const ips = Array.from({ length: 10 }, (_, k) => `10.0.2.${250 + k > 255 ? 250 + k - 256 : 250 + k}`);
  assert.equal(new Set(ips.map((ip) => replicaAnchor(ip, '10.17.255.0/28'))).size, 10, 'consecutive Pod IPs, different anchors');
  for (const [value, message] of [
    ['fd00::/64', /must be an IPv4 range of \/8 to \/30/],
    ['10.17.255.0/31', /must be an IPv4 range of \/8 to \/30/],
    ['10.17.255.1/24', /host bits are set; the network is 10\.17\.255\.0\/24/],
    [24, /must be a CIDR string/],
  ] as const) {
    const problems: Problem[] = [];
    assert.equal(validateGateway({ changeDrain: { anchors: value } }, new Reporter(problems, 'gateway.yaml')), undefined);
    assert.match(problems.map((p) => `${p.path}: ${p.message}`).join('\n'), /changeDrain\.anchors: /);
    assert.match(problems.map((p) => p.message).join('\n'), message);
  }
});

test('withdrawal commands: everything without anchors; with anchors every prefix but the anchor, IPv6 via advertise', async () => {
  const spec = async (name: string): Promise<Spec> => {
    const dir = fileURLToPath(new URL(`../golden/${name}/input/`, import.meta.url));
    const r = await loadConfig({
      configDir: dir,
      facts: { env: { POD_IP: '10.0.1.13' }, interfaceIPv4: () => Promise.resolve(undefined) },
    });
    assert.ok(r.spec, JSON.stringify(r.problems));
    return r.spec;
  };
  const head = ['configure terminal', 'router bgp 65002 vrf vrf-vpn'];
  assert.deepEqual(withdrawCommands(await spec('docs-evpn')), [...head, 'address-family l2vpn evpn', 'no advertise ipv4 unicast']);
  assert.deepEqual(withdrawCommands(await spec('evpn-anchors')), [
    ...head,
    'address-family ipv4 unicast',
    'no network 10.16.0.0/16',
    'no network 10.17.0.0/16',
    'exit-address-family',
    'address-family l2vpn evpn',
    'no advertise ipv6 unicast',
  ]);
  assert.deepEqual(withdrawCommands(await spec('evpn-anchors-redistribute')), [
    ...head,
    'address-family ipv4 unicast',
    'no redistribute kernel route-map FRRSUP-EXPORT-V4',
    'no redistribute connected route-map FRRSUP-EXPORT-V4',
    'exit-address-family',
    'address-family l2vpn evpn',
    'no advertise ipv6 unicast',
  ]);
});
