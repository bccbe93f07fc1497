/**
 * The EVPN hold's pure parts: iproute2's text (src/dataplane/evpn-entries.ts) and the state machine
 * (src/dataplane/evpn-hold.ts). The monitor lines are real: iproute2 6.15 (trixie, in the FRR 10.7.1 lab image) as
 * zebra 10.7.1 flushed and reinstalled the entries in test/e2e/frr107.test.ts, and iproute2 6.1 (bookworm, this host)
 * for the kernel VRF backend's `table` and the IPv6 forms.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  HOLD_METRIC,
  parseFloodVteps,
  parseHoldableRoutes,
  parseMonitorLine,
  parseRemoteFdb,
  parseZebraNeighbours,
  restoreFdb,
  restoreNeighbour,
} from '../../src/dataplane/evpn-entries.ts';
import type { BatchLines, EvpnDevices, MonitorEvent } from '../../src/dataplane/evpn-entries.ts';
import { EvpnHold, NO_FLUSH_SETTLE_MS, WAIT_FDB_MS } from '../../src/dataplane/evpn-hold.ts';

const DEV: EvpnDevices = { bridge: 'br-vpn', vxlan: 'vxlan-vpn' };
const KDEV: EvpnDevices = { bridge: 'br-vpn', vxlan: 'vxlan-vpn', table: '2000' };
const MAC = '96:61:f4:48:0f:e5';

// zebra 10.7.1's flush as `ip -N monitor neigh route` printed it (iproute2 6.15), then its entries back
const FLUSH = [
  `Deleted dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE `,
  `Deleted 10.0.1.1 dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE `,
  '10.0.1.1 dev br-vpn FAILED proto 11 ',
  'Deleted 10.0.1.1 dev br-vpn FAILED proto 11 ',
];
const ZEBRA_ADDS = [
  `10.0.1.1 dev br-vpn lladdr ${MAC} extern_learn NOARP proto 11 `,
  `dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE `,
  `10.0.1.1 dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE `,
];
const ROUTE_SWEPT = 'Deleted 192.168.100.0/24 via 10.0.1.1 dev br-vpn proto 186 metric 20 onlink ';
const ROUTE_BACK = '192.168.100.0/24 via 10.0.1.1 dev br-vpn proto 186 metric 20 onlink ';

const ev = (line: string, d = DEV): MonitorEvent => {
  const e = parseMonitorLine(line, d);
  assert.ok(e, `parsed: ${line}`);
  return e;
};

describe('parseMonitorLine: iproute2 monitor text', () => {
  test('FDB entries on the VXLAN device: the bridge entry (no address) and the VXLAN entry (its VTEP first)', () => {
    assert.deepEqual(ev(FLUSH[0] ?? ''), { kind: 'fdb', deleted: true, entry: { mac: MAC, kind: 'master' }, externLearn: true });
    assert.deepEqual(ev(FLUSH[1] ?? ''), {
      kind: 'fdb',
      deleted: true,
      entry: { mac: MAC, kind: 'self', dst: '10.0.1.1' },
      externLearn: true,
    });
  });

  test("neighbours on the bridge: zebra's (proto 11 or zebra), the dying one without lladdr, an IPv4-mapped IPv6 next hop", () => {
    assert.deepEqual(ev(ZEBRA_ADDS[0] ?? ''), { kind: 'neigh', deleted: false, ip: '10.0.1.1', mac: MAC, externLearn: true, proto: '11' });
    assert.deepEqual(ev(FLUSH[3] ?? ''), { kind: 'neigh', deleted: true, ip: '10.0.1.1', externLearn: false, proto: '11' });
    const v6 = ev(`::ffff:10.0.1.1 dev br-vpn lladdr ${MAC.toUpperCase()} extern_learn NOARP proto zebra`);
    assert.deepEqual(v6, { kind: 'neigh', deleted: false, ip: '::ffff:a00:101', mac: MAC, externLearn: true, proto: 'zebra' });
  });

  test('routes: prefix, protocol, metric; host routes get their length; the kernel backend only its table', () => {
    assert.deepEqual(ev(ROUTE_SWEPT), { kind: 'route', deleted: true, prefix: '192.168.100.0/24', proto: '186', metric: 20 });
    assert.deepEqual(ev('10.1.1.1 via 10.0.1.1 dev br-vpn proto 186 metric 9999 onlink'), {
      kind: 'route',
      deleted: false,
      prefix: '10.1.1.1/32',
      proto: '186',
      metric: HOLD_METRIC,
    });
    assert.deepEqual(ev('2001:db8::/64 via ::ffff:10.0.1.1 dev br-vpn proto 186 metric 20 onlink pref medium'), {
      kind: 'route',
      deleted: false,
      prefix: '2001:db8::/64',
      proto: '186',
      metric: 20,
    });
    assert.equal(parseMonitorLine(ROUTE_BACK, KDEV), undefined, 'the main table is not the kernel VRF table');
    assert.equal(ev('192.168.100.0/24 via 10.0.1.1 dev br-vpn table 2000 proto 186 metric 20 onlink', KDEV).kind, 'route');
    assert.equal(parseMonitorLine('192.168.100.0/24 via 10.0.1.1 dev br-vpn table 2000 proto 186 metric 20 onlink', DEV), undefined);
  });

  test('what is not ours: other devices, multipath continuation lines, connected routes, timestamps stripped', () => {
    assert.equal(parseMonitorLine('10.16.0.1 dev int0 lladdr 8a:8d:8b:86:28:e9 REACHABLE', DEV), undefined);
    assert.equal(parseMonitorLine('\tnexthop via 10.0.1.2 dev br-vpn weight 1 onlink', DEV), undefined);
    assert.equal(parseMonitorLine('10.16.0.0/16 dev br-vpn proto 2 scope 253 src 10.16.0.13', DEV), undefined);
    assert.equal(parseMonitorLine('', DEV), undefined);
    assert.deepEqual(ev(`[2026-12-04T23:55:05.420453] ${FLUSH[0] ?? ''}`), ev(FLUSH[0] ?? ''));
  });
});

describe('the JSON reads', () => {
  test("zebra's neighbours: extern_learn with protocol zebra only", () => {
    const json = JSON.stringify([
      { dst: '10.0.1.1', dev: 'br-vpn', lladdr: MAC, extern_learn: null, state: ['NOARP'], protocol: '11' },
      { dst: '10.0.1.2', dev: 'br-vpn', lladdr: '62:14:ff:65:f2:cc', extern_learn: null, state: ['PERMANENT'], protocol: '4' },
      { dst: '10.16.0.1', dev: 'br-vpn', lladdr: '8a:8d:8b:86:28:e9', state: ['REACHABLE'] },
    ]);
    assert.deepEqual(parseZebraNeighbours(json), [{ ip: '10.0.1.1', mac: MAC }]);
  });

  test('remote FDB entries: extern_learn unicast MACs, self with dst, master', () => {
    const json = JSON.stringify([
      { mac: '33:33:00:00:00:01', ifname: 'br-vpn', flags: ['self'], state: 'permanent' },
      { mac: MAC, ifname: 'vxlan-vpn', flags: ['extern_learn'], master: 'br-vpn', state: '' },
      { mac: '3a:eb:a6:fd:c0:68', ifname: 'vxlan-vpn', flags: [], master: 'br-vpn', state: 'permanent' },
      { mac: MAC, ifname: 'vxlan-vpn', dst: '10.0.1.1', linkNetNsId: 0, flags: ['self', 'extern_learn'], state: '' },
    ]);
    assert.deepEqual(
      parseFloodVteps(
        JSON.stringify([{ mac: '00:00:00:00:00:00', ifname: 'vxlan-vpn', dst: '10.0.1.1', flags: ['self'], state: 'permanent' }]),
      ),
      ['10.0.1.1'],
    );
    assert.deepEqual(parseFloodVteps(json), []);
    assert.deepEqual(parseRemoteFdb(json), [
      { mac: MAC, kind: 'master' },
      { mac: MAC, kind: 'self', dst: '10.0.1.1' },
    ]);
  });

  test("holdable routes: zebra's BGP routes with every next hop on the bridge; multipath; our copies left out", () => {
    const json = JSON.stringify([
      { dst: '192.168.100.0/24', gateway: '10.0.1.1', dev: 'br-vpn', protocol: '186', metric: 20, flags: ['onlink'] },
      {
        dst: '192.168.101.0/24',
        protocol: '186',
        metric: 20,
        flags: [],
        nexthops: [
          { gateway: '10.0.1.1', dev: 'br-vpn', weight: 1, flags: ['onlink'] },
          { gateway: '10.0.1.2', dev: 'br-vpn', weight: 1, flags: ['onlink'] },
        ],
      },
      { dst: '192.168.102.0/24', gateway: '10.16.0.1', dev: 'int0', protocol: '186', metric: 20, flags: [] },
      { dst: '192.168.100.0/24', gateway: '10.0.1.1', dev: 'br-vpn', protocol: '186', metric: HOLD_METRIC, flags: ['onlink'] },
    ]);
    assert.deepEqual(parseHoldableRoutes(json, 4, 'br-vpn'), [
      { family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] },
      {
        family: 4,
        prefix: '192.168.101.0/24',
        nexthops: ['nexthop via 10.0.1.1 dev br-vpn onlink', 'nexthop via 10.0.1.2 dev br-vpn onlink'],
      },
    ]);
    assert.throws(() => parseHoldableRoutes('{"not":"an array"}', 4, 'br-vpn'), /expected a JSON array/);
  });
});

/** A hold on a fake clock; bgpd down or up as the test says. */
function harness(devices = DEV) {
  let now = 1000;
  let bgpdGone = false;
  const hold = new EvpnHold({ devices, now: () => now, bgpdGone: () => bgpdGone, maxHoldMs: 60_000, settleMs: 3000 });
  const lines: BatchLines = { ip: [], bridge: [] };
  const feed = (...ls: string[]): BatchLines => {
    const out: BatchLines = { ip: [], bridge: [] };
    for (const l of ls) {
      const e = parseMonitorLine(l, devices);
      if (!e) continue;
      const r = hold.onEvent(e);
      out.ip.push(...r.ip);
      out.bridge.push(...r.bridge);
    }
    lines.ip.push(...out.ip);
    lines.bridge.push(...out.bridge);
    return out;
  };
  return {
    hold,
    feed,
    lines,
    advance: (ms: number) => (now += ms),
    setBgpdGone: (v: boolean) => (bgpdGone = v),
  };
}

const seeded = (h: ReturnType<typeof harness>): BatchLines =>
  h.hold.seed(
    [{ ip: '10.0.1.1', mac: MAC }],
    [
      { mac: MAC, kind: 'master' },
      { mac: MAC, kind: 'self', dst: '10.0.1.1' },
    ],
  );

describe('EvpnHold', () => {
  test('each remote VTEP gets a default entry (00:00:00:00:00:00), kept through a hold; what already is there is not added again', () => {
    const h = harness();
    assert.deepEqual(seeded(h).bridge, ['fdb append 00:00:00:00:00:00 dev vxlan-vpn dst 10.0.1.1 self permanent']);
    assert.deepEqual(h.hold.floodVteps(), ['10.0.1.1']);
    h.setBgpdGone(true);
    assert.ok(!h.feed(...FLUSH).bridge.some((l) => l.includes('00:00:00:00:00:00')), 'the flush does not take it away');
    const again = new EvpnHold({ devices: DEV, bgpdGone: () => false });
    assert.deepEqual(again.seed([], [{ mac: MAC, kind: 'self', dst: '10.0.1.1' }], ['10.0.1.1', '10.0.1.9']).bridge, [
      'fdb del 00:00:00:00:00:00 dev vxlan-vpn dst 10.0.1.9 self',
    ]);
    assert.deepEqual(again.removeFloods().bridge, ['fdb del 00:00:00:00:00:00 dev vxlan-vpn dst 10.0.1.1 self']);
  });

  test("zebra's flush while bgpd is down: the VXLAN entries back at once, the neighbour once the kernel has them", () => {
    const h = harness();
    seeded(h);
    h.setBgpdGone(true);
    const out = h.feed(...FLUSH);
    assert.ok(h.hold.holding, 'the flush starts a hold');
    assert.deepEqual(out.bridge, [
      restoreFdb({ mac: MAC, kind: 'master' }, DEV),
      restoreFdb({ mac: MAC, kind: 'self', dst: '10.0.1.1' }, DEV),
    ]);
    assert.deepEqual(out.ip, [], 'the neighbour waits for its VXLAN entry');
    // our own adds, reported by the kernel: the neighbour goes back now
    const after = h.feed(
      `dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE`,
      `10.0.1.1 dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE`,
    );
    assert.deepEqual(after.ip, [restoreNeighbour({ ip: '10.0.1.1', mac: MAC }, DEV)]);
    assert.match(after.ip[0] ?? '', /nud permanent extern_learn proto 4$/);
  });

  test('a neighbour whose VXLAN entry is not reported within WAIT_FDB_MS is put back anyway', () => {
    const h = harness();
    seeded(h);
    h.setBgpdGone(true);
    h.feed(...FLUSH);
    assert.equal(h.hold.tick().lines.ip.length, 0);
    h.advance(WAIT_FDB_MS);
    assert.deepEqual(h.hold.tick().lines.ip, [restoreNeighbour({ ip: '10.0.1.1', mac: MAC }, DEV)]);
  });

  test('a removal while bgpd runs is a withdrawal: left alone and forgotten', () => {
    const h = harness();
    seeded(h);
    const out = h.feed(...FLUSH);
    assert.deepEqual(
      out,
      { ip: [], bridge: ['fdb del 00:00:00:00:00:00 dev vxlan-vpn dst 10.0.1.1 self'] },
      "the VTEP's default entry goes with its last router MAC",
    );
    assert.equal(h.hold.holding, false);
    assert.deepEqual(h.hold.tracked(), { neighbours: [], fdb: [] });
    h.setBgpdGone(true);
    assert.deepEqual(h.feed(...FLUSH), { ip: [], bridge: [] }, 'nothing tracked: nothing to put back');
  });

  test("a planned restart: route copies, zebra's route swept and back, zebra takes the entries back: released", () => {
    const h = harness();
    h.feed(...ZEBRA_ADDS); // tracked from the kernel's events
    assert.equal(h.hold.tracked().neighbours.length, 1);
    assert.equal(h.hold.tracked().fdb.length, 2);
    h.hold.arm('bgpd restarts (graceful restart)');
    const copies = h.hold.holdRoutes([{ family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] }]);
    assert.deepEqual(copies.ip, [`route replace 192.168.100.0/24 via 10.0.1.1 dev br-vpn onlink metric ${HOLD_METRIC} proto 186`]);
    h.setBgpdGone(true);
    h.feed(...FLUSH);
    h.feed(`10.0.1.1 dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE`); // our self entry back
    h.advance(1600);
    assert.deepEqual(h.feed(ROUTE_SWEPT), { ip: [], bridge: [] }, "zebra's route gone: the copy carries the traffic");
    h.setBgpdGone(false);
    h.advance(80);
    assert.deepEqual(h.feed(ZEBRA_ADDS[0] ?? '', ROUTE_BACK).ip, [`route del 192.168.100.0/24 metric ${HOLD_METRIC} proto 186`]);
    const { report } = h.hold.tick();
    assert.ok(report);
    assert.equal(report.outcome, 'released');
    assert.equal(report.restoredNeighbours, 1);
    assert.equal(report.restoredFdb, 2);
    assert.equal(report.routesHeld, 1);
    assert.equal(report.routesUsed, 1);
    assert.deepEqual(report.notTakenBack, []);
    assert.equal(h.hold.holding, false);
  });

  test('the kernel VRF backend: copies in the VRF table', () => {
    const h = harness(KDEV);
    h.hold.arm('x');
    assert.deepEqual(h.hold.holdRoutes([{ family: 6, prefix: '2001:db8::/64', nexthops: ['via ::ffff:10.0.1.1 dev br-vpn onlink'] }]).ip, [
      `route replace 2001:db8::/64 via ::ffff:10.0.1.1 dev br-vpn onlink metric ${HOLD_METRIC} proto 186 table 2000`,
    ]);
  });

  test('a route zebra removed and did not put back within settleMs is gone for good: its copy goes', () => {
    const h = harness();
    h.hold.arm('x');
    h.hold.holdRoutes([{ family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] }]);
    h.feed(ROUTE_SWEPT);
    h.advance(2999);
    assert.deepEqual(h.hold.tick().lines.ip, []);
    h.advance(2);
    const t = h.hold.tick();
    assert.deepEqual(t.lines.ip, [`route del 192.168.100.0/24 metric ${HOLD_METRIC} proto 186`]);
    assert.equal(t.report?.outcome, 'released');
  });

  test('our own copies and our own neighbour adds do not count as zebra taking anything back', () => {
    const h = harness();
    seeded(h);
    h.setBgpdGone(true);
    h.feed(...FLUSH);
    h.hold.holdRoutes([{ family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] }]);
    h.feed(
      `192.168.100.0/24 via 10.0.1.1 dev br-vpn proto 186 metric ${HOLD_METRIC} onlink`,
      `10.0.1.1 dev br-vpn lladdr ${MAC} extern_learn PERMANENT proto 4`,
    );
    h.setBgpdGone(false);
    h.advance(10_000);
    const t = h.hold.tick();
    assert.equal(t.report, undefined, 'still holding: zebra has taken nothing back');
    assert.ok(h.hold.holding);
  });

  test('expired: copies removed, and the entries zebra never took back (it installs again those it still knows)', () => {
    const h = harness();
    seeded(h);
    h.setBgpdGone(true);
    h.feed(...FLUSH);
    h.hold.holdRoutes([{ family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] }]);
    h.advance(60_001);
    const t = h.hold.tick();
    assert.equal(t.report?.outcome, 'expired');
    assert.deepEqual(t.lines.ip, [`route del 192.168.100.0/24 metric ${HOLD_METRIC} proto 186`, 'neigh del 10.0.1.1 dev br-vpn']);
    assert.deepEqual(t.lines.bridge, [`fdb del ${MAC} dev vxlan-vpn master`, `fdb del ${MAC} dev vxlan-vpn dst 10.0.1.1 self`]);
    assert.deepEqual(t.report?.notTakenBack, [`neighbour 10.0.1.1 ${MAC}`, `fdb master ${MAC}`, `fdb self ${MAC}`]);
    assert.deepEqual(h.hold.tracked(), { neighbours: [], fdb: [] });
  });

  test('stopped: copies removed, entries left; an entry removed again and again is put back at most 20 times', () => {
    const h = harness();
    seeded(h);
    h.setBgpdGone(true);
    let restores = 0;
    for (let i = 0; i < 30; i++) restores += h.feed(FLUSH[1] ?? '').bridge.length;
    assert.equal(restores, 20);
    h.hold.holdRoutes([{ family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] }]);
    const s = h.hold.stop();
    assert.equal(s.report?.outcome, 'stopped');
    assert.deepEqual(s.lines, { ip: [`route del 192.168.100.0/24 metric ${HOLD_METRIC} proto 186`], bridge: [] });
  });

  test("while holding, zebra's new entries are tracked; a next hop back with another router MAC drops the old MAC's entries", () => {
    const h = harness();
    seeded(h);
    h.setBgpdGone(true);
    h.feed(...FLUSH);
    h.feed(`10.0.1.1 dev vxlan-vpn lladdr ${MAC} extern_learn REACHABLE`);
    const NEW = '0a:0b:0c:0d:0e:0f';
    // the router's devices were recreated: zebra installs the next hop with a new router MAC
    h.feed(`dev vxlan-vpn lladdr ${NEW} extern_learn REACHABLE`, `10.0.1.1 dev vxlan-vpn lladdr ${NEW} extern_learn REACHABLE`);
    const out = h.feed(`10.0.1.1 dev br-vpn lladdr ${NEW} extern_learn NOARP proto 11`);
    assert.deepEqual(out.bridge, [`fdb del ${MAC} dev vxlan-vpn master`, `fdb del ${MAC} dev vxlan-vpn dst 10.0.1.1 self`]);
    assert.deepEqual(
      h.hold
        .tracked()
        .fdb.map((f) => `${f.kind} ${f.mac}`)
        .sort(),
      [`master ${NEW}`, `self ${NEW}`],
      "the new MAC's entries are tracked although they came during a hold",
    );
    h.setBgpdGone(false);
    assert.equal(h.hold.tick().report?.outcome, 'released');
  });

  test('no flush to undo (an FRR that keeps its entries): the copies go NO_FLUSH_SETTLE_MS after bgpd is back, released', () => {
    const h = harness();
    seeded(h);
    h.hold.arm('bgpd restarts (graceful restart)');
    h.hold.holdRoutes([{ family: 4, prefix: '192.168.100.0/24', nexthops: ['via 10.0.1.1 dev br-vpn onlink'] }]);
    h.setBgpdGone(true);
    assert.deepEqual(h.hold.tick().lines.ip, []);
    h.setBgpdGone(false);
    h.advance(200);
    assert.deepEqual(h.hold.tick().lines.ip, [], 'bgpd is back: its sweep may still come');
    h.advance(NO_FLUSH_SETTLE_MS + 1);
    const t = h.hold.tick();
    assert.deepEqual(t.lines.ip, [`route del 192.168.100.0/24 metric ${HOLD_METRIC} proto 186`]);
    assert.equal(t.report?.outcome, 'released');
  });
});
