/**
 * The change planner (src/supervisor/plan.ts), without FRR: each kind of edit -> its steps, what restarts, with which
 * signal, and what is applied live. One table per FRR flavour that drives differently (FRR 8: no mgmtd; FRR 9+: mgmtd).
 */
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_DEFAULTS, BFD_DEFAULTS } from '../../src/config/types.ts';
import type { Spec } from '../../src/config/types.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { daemonArgs, describeStep, planChange, withDevicesRestart } from '../../src/supervisor/plan.ts';
import type { ChangePlan, LivePlanner, PlanFrr } from '../../src/supervisor/plan.ts';

const FRR8: PlanFrr = { daemons: ['zebra', 'staticd', 'bgpd'] };
const FRR10: PlanFrr = { daemons: ['mgmtd', 'zebra', 'staticd', 'bgpd'] };

const base: Spec = {
  bgp: { localAsn: 65002, peerAsn: 65001, routerId: '10.0.1.13', routerIdSource: 'spec', neighbours: ['10.0.1.1'], ebgpMultiHop: false },
  gateway: GATEWAY_DEFAULTS,
};
const gw = (s: Spec, g: Partial<Spec['gateway']>): Spec => ({ ...s, gateway: { ...s.gateway, ...g } });
const bgp = (s: Spec, b: Partial<Spec['bgp']>): Spec => ({ ...s, bgp: { ...s.bgp, ...b } });
const evpn: Spec = { ...base, evpn: { vni: 1016, routeTargets: ['65000:1016'] } };
const advertising = gw(base, { advertise: ['10.17.0.0/16'] });
const evpnAdv = gw(evpn, { advertise: ['10.17.0.0/16'] });
const drain = (s: Spec, anchors?: string, slots = 10): Spec =>
  gw(s, { changeDrain: { ...s.gateway.changeDrain, enabled: true, slots, settleSeconds: 1, ...(anchors && { anchors }) } });
const bfdOn = gw(advertising, { bfd: BFD_DEFAULTS });

const kinds = (p: ChangePlan): string[] => p.steps.map((s) => (s.kind === 'bfdd' ? `bfdd:${s.action}` : s.kind));
const restartOf = (p: ChangePlan): { daemons: DaemonName[]; signal: string; waits: string[] } | undefined => {
  const r = p.steps.find((s) => s.kind === 'restart');
  return r?.kind === 'restart' ? { daemons: r.daemons, signal: r.signal, waits: r.waits } : undefined;
};

describe('each kind of edit -> what restarts (FRR 8.4.4: zebra, staticd, bgpd)', () => {
  const table: Array<[string, Spec, Spec, DaemonName[]]> = [
    ['hold time', base, bgp(base, { holdTime: 9, keepaliveTime: 3 }), ['bgpd']],
    ['a neighbour added', base, bgp(base, { neighbours: ['10.0.1.1', '10.0.1.2'] }), ['bgpd']],
    ['route targets', evpn, { ...evpn, evpn: { vni: 1016, routeTargets: ['65000:1', '65000:2'] } }, ['bgpd']],
    ['advertise list changed', advertising, gw(advertising, { advertise: ['10.18.0.0/16'] }), ['bgpd']],
    ['maximum-prefix', base, gw(base, { maximumPrefix: 10 }), ['bgpd']],
    ['password', base, bgp(base, { password: 'secret' }), ['bgpd']],
    // zebra's part: zebra and its clients (phased restart)
    ['BGP-only -> EVPN', base, evpn, ['zebra', 'bgpd']],
    ['EVPN -> BGP-only', evpn, base, ['zebra', 'bgpd']],
    ['the VNI', evpn, { ...evpn, evpn: { vni: 2000, routeTargets: ['65000:1016'] } }, ['zebra', 'bgpd']],
    ['the VRF', evpn, gw(evpn, { vrf: { name: 'vrf-x', table: 2000 } }), ['zebra', 'bgpd']],
    ['graceful restart off', base, gw(base, { gracefulRestart: false }), ['zebra', 'bgpd']],
    ['redistribute -> advertise (the filters go)', base, advertising, ['zebra', 'bgpd']],
    ['advertise -> redistribute (the filters come)', advertising, base, ['zebra', 'bgpd']],
    // bfdd's part is live; BFD on or off changes bgpd's neighbours
    ['BFD profile only', bfdOn, gw(bfdOn, { bfd: { ...BFD_DEFAULTS, receiveInterval: 100 } }), []],
    ['BFD on', advertising, bfdOn, ['bgpd']],
    ['BFD off', bfdOn, advertising, ['bgpd']],
    // staticd's part: the anchor's blackhole route (FRR 8: zebra's restart would leave staticd's old route; defect 2)
    ['anchors on', drain(evpnAdv), drain(evpnAdv, '10.17.255.0/24'), ['staticd', 'bgpd']],
    ['another anchor range', drain(evpnAdv, '10.17.255.0/24'), drain(evpnAdv, '10.17.254.0/24'), ['staticd', 'bgpd']],
    [
      'anchors and the VNI',
      drain(evpnAdv, '10.17.255.0/24'),
      { ...drain(evpnAdv), evpn: { vni: 7, routeTargets: [] } },
      ['zebra', 'staticd', 'bgpd'],
    ],
    // zebra's arguments: the same frr.conf, zebra restarted with -n (defect 5)
    ['vrfBackend only (EVPN)', evpnAdv, gw(evpnAdv, { vrfBackend: 'netns' }), ['zebra', 'bgpd']],
    [
      'changeDrain slots (bgpd reads nothing of it, the rendering keeps it)',
      drain(evpnAdv, '10.17.255.0/24'),
      drain(evpnAdv, '10.17.255.0/24', 3),
      [],
    ],
  ];
  for (const [what, a, b, want] of table) {
    it(`${what}: ${want.join(', ') || 'nothing'}`, () => {
      const p = planChange(a, b, FRR8);
      assert.deepEqual(p.restarts, want, JSON.stringify(p.steps));
      assert.deepEqual(restartOf(p)?.daemons ?? [], want);
      assert.equal(p.live, false, 'no live planner plugged in: nothing is live');
    });
  }
});

test("FRR 9 and later: a change of zebra's or staticd's part restarts mgmtd and everything after it; bgpd's part bgpd alone", () => {
  assert.deepEqual(planChange(drain(evpnAdv), drain(evpnAdv, '10.17.255.0/24'), FRR10).restarts, ['mgmtd', 'zebra', 'staticd', 'bgpd']);
  assert.deepEqual(planChange(base, evpn, FRR10).restarts, ['mgmtd', 'zebra', 'staticd', 'bgpd']);
  assert.deepEqual(planChange(base, bgp(base, { holdTime: 9, keepaliveTime: 3 }), FRR10).restarts, ['bgpd']);
  assert.deepEqual(planChange(bfdOn, gw(bfdOn, { gracefulRestart: false }), FRR10).restarts, ['mgmtd', 'zebra', 'bfdd', 'staticd', 'bgpd']);
});

test('the steps, in order, per kind of edit', () => {
  assert.deepEqual(kinds(planChange(undefined, bfdOn, FRR8)), ['devices', 'write', 'start', 'push', 'verify'], 'first apply');
  const first = planChange(undefined, bfdOn, FRR8).steps.find((s) => s.kind === 'start');
  assert.deepEqual(first?.kind === 'start' && first.daemons, ['zebra', 'bfdd', 'staticd', 'bgpd']);
  assert.deepEqual(kinds(planChange(base, bgp(base, { holdTime: 9 }), FRR8)), ['devices', 'write', 'restart', 'push', 'verify']);
  assert.deepEqual(
    kinds(planChange(advertising, bfdOn, FRR8)),
    ['devices', 'write', 'bfdd:start', 'restart', 'push', 'verify'],
    'bfdd first',
  );
  assert.deepEqual(
    kinds(planChange(bfdOn, advertising, FRR8)),
    ['devices', 'write', 'restart', 'push', 'bfdd:stop', 'verify'],
    'bfdd last',
  );
  const profile = planChange(bfdOn, gw(bfdOn, { bfd: { ...BFD_DEFAULTS, receiveInterval: 100 } }), FRR8);
  assert.deepEqual(kinds(profile), ['devices', 'write', 'bfdd:live', 'verify']);
  const live = profile.steps.find((s) => s.kind === 'bfdd');
  assert.ok(live?.kind === 'bfdd' && live.commands.includes('receive-interval 100'));
  // EVPN with changeDrain: the drain comes first, before anything is touched
  const drained = planChange(drain(evpnAdv), drain(bgp(evpnAdv, { holdTime: 9 })), FRR8);
  assert.deepEqual(kinds(drained), ['drain', 'devices', 'write', 'restart', 'push', 'verify']);
  const d = drained.steps[0];
  assert.ok(d?.kind === 'drain');
  assert.deepEqual([d.slot, d.delayMs, d.settleMs], [167772429 % 10, (167772429 % 10) * 10_000, 1000]); // 10.0.1.13
  assert.deepEqual(d.withdraw.slice(-2), ['address-family l2vpn evpn', 'no advertise ipv4 unicast']);
  // no drain: BGP-only (graceful restart keeps the routes), or nothing restarts
  assert.deepEqual(kinds(planChange(drain(advertising), drain(bgp(advertising, { holdTime: 9 })), FRR8))[0], 'devices');
  const evpnBfd = drain(gw(evpnAdv, { bfd: BFD_DEFAULTS }));
  assert.ok(!kinds(planChange(evpnBfd, gw(evpnBfd, { bfd: { ...BFD_DEFAULTS, echoMode: true } }), FRR8)).includes('drain'));
  // the same rendering: unchanged, only the devices are checked
  const same = planChange(base, structuredClone(base), FRR8);
  assert.equal(same.unchanged, true);
  assert.deepEqual(kinds(same), ['devices']);
  // the netns backend matters only with EVPN: BGP-only, the same rendering and arguments, unchanged
  assert.equal(planChange(base, gw(base, { vrfBackend: 'netns' }), FRR8).unchanged, true);
  const backend = planChange(evpnAdv, gw(evpnAdv, { vrfBackend: 'netns' }), FRR8);
  assert.equal(backend.unchanged, false, 'the same frr.conf, but zebra needs -n');
  assert.deepEqual(backend.changes, ['zebra: vrfBackend']);
});

test('the restart signal and its waits: SIGKILL after the peers refreshed with graceful restart; SIGTERM without', () => {
  assert.deepEqual(restartOf(planChange(base, bgp(base, { holdTime: 9 }), FRR8)), {
    daemons: ['bgpd'],
    signal: 'SIGKILL',
    waits: ['peers-refreshed'],
  });
  const noGr = gw(base, { gracefulRestart: false });
  assert.deepEqual(restartOf(planChange(noGr, bgp(noGr, { holdTime: 9 }), FRR8)), { daemons: ['bgpd'], signal: 'SIGTERM', waits: [] });
  // the running config's graceful restart decides (the peers act on what they negotiated with the running bgpd)
  assert.equal(restartOf(planChange(base, noGr, FRR8))?.signal, 'SIGKILL');
});

test("zebra's arguments follow the spec: -K with graceful restart, -n for netns VRFs", () => {
  assert.deepEqual(daemonArgs(base, 'zebra'), ['-K', '120']);
  assert.deepEqual(daemonArgs(gw(base, { gracefulRestart: false }), 'zebra'), []);
  assert.deepEqual(daemonArgs(gw(evpn, { vrfBackend: 'netns' }), 'zebra'), ['-K', '120', '-n']);
  assert.deepEqual(daemonArgs(gw(base, { vrfBackend: 'netns' }), 'zebra'), ['-K', '120'], 'netns matters only with EVPN');
  assert.deepEqual(daemonArgs(evpn, 'bgpd'), []);
  assert.deepEqual(daemonArgs(undefined, 'zebra'), ['-K', '120']);
});

describe('live changes: a pluggable planner; none by default', () => {
  const addPrefix = gw(advertising, { advertise: ['10.17.0.0/16', '10.18.0.0/16'] });
  const cmds = ['configure terminal', 'router bgp 65002', 'address-family ipv4 unicast', 'network 10.18.0.0/16'];
  const live: LivePlanner = (a, b) => (a.gateway.advertise?.length !== b.gateway.advertise?.length ? cmds : null);
  it('a bgpd change the live planner takes: write, live (fallback: the restart), verify; nothing restarts', () => {
    const p = planChange(advertising, addPrefix, FRR8, { live });
    assert.equal(p.live, true);
    assert.deepEqual(p.restarts, []);
    assert.deepEqual(kinds(p), ['devices', 'write', 'live', 'verify']);
    const step = p.steps.find((s) => s.kind === 'live');
    assert.ok(step?.kind === 'live');
    assert.deepEqual(step.commands, cmds);
    assert.deepEqual(
      step.fallback.map((s) => s.kind),
      ['restart', 'push', 'verify'],
    );
    assert.match(describeStep(step), /^live: 4 vtysh commands/);
  });
  it('the live planner saying null: the restart', () => {
    assert.deepEqual(planChange(advertising, bgp(advertising, { holdTime: 9 }), FRR8, { live }).restarts, ['bgpd']);
  });
  it("a change of zebra's part is never offered to the live planner", () => {
    let asked = 0;
    const p = planChange(base, evpn, FRR8, { live: () => (asked++, cmds) });
    assert.equal(asked, 0);
    assert.deepEqual(p.restarts, ['zebra', 'bgpd']);
  });
  it('EVPN with changeDrain: the fallback drains before its restart; the live path does not', () => {
    const a = drain(evpnAdv);
    const b = drain(gw(evpnAdv, { advertise: ['10.17.0.0/16', '10.18.0.0/16'] }));
    const p = planChange(a, b, FRR8, { live });
    assert.deepEqual(kinds(p), ['devices', 'write', 'live', 'verify']);
    const step = p.steps.find((s) => s.kind === 'live');
    assert.deepEqual(step?.kind === 'live' && step.fallback.map((s) => s.kind), ['drain', 'restart', 'push', 'verify']);
  });
});

test("a device zebra knew was recreated: the plan grows to zebra's restart (the live step goes)", () => {
  const p = planChange(evpn, bgp(evpn, { holdTime: 9 }), FRR8);
  const grown = withDevicesRestart(p, evpn, FRR8);
  assert.deepEqual(kinds(grown), ['devices', 'write', 'restart', 'push', 'verify']);
  assert.deepEqual(grown.restarts, ['zebra', 'bgpd']);
  // what the plan restarted already stays in the set (staticd for an anchor change)
  const anchors = planChange(drain(evpnAdv), drain(evpnAdv, '10.17.255.0/24'), FRR8);
  assert.deepEqual(withDevicesRestart(anchors, drain(evpnAdv), FRR8).restarts, ['zebra', 'staticd', 'bgpd']);
  const unchanged = withDevicesRestart(planChange(evpn, evpn, FRR8), evpn, FRR8);
  assert.deepEqual(kinds(unchanged), ['devices', 'restart', 'push']);
});
