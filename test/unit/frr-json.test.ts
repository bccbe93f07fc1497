// Unit tests of the FRR 8.4.4 JSON parsers, on real outputs: test/fixtures/frr-json/<lab mode>/ (the lab's
// captures: off, afi, l2vni, l3vni, l3vni-netns, manual, restart) and captured/ (see its README.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { FrrJsonError } from '../../src/state/json.ts';
import { countType5Prefixes, listType5Routes } from '../../lab/evpn-routes.ts';
import { parseBgpNeighbors, parseBgpSummary, parseEvpnSummary } from '../../src/state/bgp.ts';
import { parseEvpnVni, parseVrfVni } from '../../src/state/evpn.ts';
import { parseRunningConfig } from '../../src/frr/running-config.ts';
import type { NeighborDetail, PeerSummary } from '../../src/state/bgp.ts';

function fixture(path: string): string {
  return readFileSync(new URL(`../fixtures/frr-json/${path}`, import.meta.url), 'utf8');
}

const GARBAGE = fixture('captured/unknown_command.txt'); // "% Unknown command: show bgp summry json"

/** Every number anywhere in the value is finite (no NaN, no Infinity). */
function assertFiniteNumbers(value: unknown, where = '$'): void {
  if (typeof value === 'number') assert.ok(Number.isFinite(value), `${where} is ${value}`);
  else if (Array.isArray(value)) value.forEach((v, i) => assertFiniteNumbers(v, `${where}[${i}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) assertFiniteNumbers(v, `${where}.${k}`);
  }
}

function assertThrowsFrr(fn: () => unknown, commandPart: RegExp, messagePart?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FrrJsonError, `expected FrrJsonError, got ${String(err)}`);
    assert.match(err.message, commandPart);
    assert.match(err.command, commandPart);
    if (messagePart) assert.match(err.message, messagePart);
    return true;
  });
}

/** The lab's one peer, as every lab mode shows it. */
const LAB_PEER = { vrf: 'default', peer: '10.0.1.1', remoteAs: 65001, localAs: 65002, routerId: '10.0.1.13' };

function pick(list: PeerSummary[], afi: string): PeerSummary {
  const found = list.find((p) => p.afi === afi);
  assert.ok(found, `no ${afi} entry in ${JSON.stringify(list)}`);
  return found;
}

describe('parseBgpSummary', () => {
  it('off: show bgp summary json (AFI -> peers), IPv4 only', () => {
    const peers = parseBgpSummary(fixture('off/bgp_summary.json'));
    assert.deepEqual(peers, [
      {
        ...LAB_PEER,
        afi: 'ipv4Unicast',
        state: 'Established',
        established: true,
        adminDown: false,
        uptimeSeconds: 5,
        prefixesReceived: 1,
        prefixesSent: 2,
        messagesReceived: 6,
        messagesSent: 6,
        connectionsEstablished: 1,
        connectionsDropped: 0,
      },
    ]);
  });

  it('off: show bgp vrf all summary json (VRF -> AFI -> peers)', () => {
    const peers = parseBgpSummary(fixture('off/bgp_vrf_all_summary.json'));
    assert.equal(peers.length, 1);
    assert.deepEqual(
      { vrf: peers[0]?.vrf, afi: peers[0]?.afi, uptime: peers[0]?.uptimeSeconds, rcvd: peers[0]?.prefixesReceived },
      { vrf: 'default', afi: 'ipv4Unicast', uptime: 6, rcvd: 1 },
    );
  });

  it('afi: both AFIs, EVPN with no prefixes', () => {
    for (const file of ['afi/bgp_summary.json', 'afi/bgp_vrf_all_summary.json']) {
      const peers = parseBgpSummary(fixture(file));
      assert.deepEqual(
        peers.map((p) => [p.vrf, p.afi, p.peer, p.state, p.prefixesReceived, p.prefixesSent, p.messagesReceived]),
        [
          ['default', 'ipv4Unicast', '10.0.1.1', 'Established', 1, 2, 7],
          ['default', 'l2VpnEvpn', '10.0.1.1', 'Established', 0, 0, 7],
        ],
        file,
      );
    }
  });

  it('l2vni: EVPN carries the MAC/IMET routes', () => {
    const peers = parseBgpSummary(fixture('l2vni/bgp_vrf_all_summary.json'));
    const evpn = pick(peers, 'l2VpnEvpn');
    assert.equal(evpn.prefixesReceived, 2);
    assert.equal(evpn.prefixesSent, 4);
    assert.equal(evpn.messagesSent, 11);
    assert.equal(pick(parseBgpSummary(fixture('l2vni/bgp_summary.json')), 'ipv4Unicast').prefixesReceived, 1);
  });

  it('l3vni and l3vni-netns: EVPN counts; a VRF without peers ("labgwvrf":{}) gives nothing', () => {
    const l3 = parseBgpSummary(fixture('l3vni/bgp_vrf_all_summary.json'));
    assert.deepEqual(
      l3.map((p) => [p.afi, p.prefixesReceived, p.prefixesSent, p.messagesReceived, p.messagesSent]),
      [
        ['ipv4Unicast', 1, 2, 14, 14],
        ['l2VpnEvpn', 3, 7, 14, 14],
      ],
    );
    const netns = parseBgpSummary(fixture('l3vni-netns/bgp_vrf_all_summary.json'));
    assert.deepEqual(
      netns.map((p) => [p.vrf, p.afi, p.prefixesReceived, p.prefixesSent, p.messagesReceived, p.messagesSent]),
      [
        ['default', 'ipv4Unicast', 1, 2, 14, 13],
        ['default', 'l2VpnEvpn', 3, 6, 14, 13],
      ],
    );
    assert.equal(netns.filter((p) => p.vrf === 'labgwvrf').length, 0);
  });

  it('manual: reconnected sessions keep their counters', () => {
    const peers = parseBgpSummary(fixture('manual/evpn_l3vni_defvrf_bgp_summary_all.json'));
    assert.deepEqual(
      peers.map((p) => [p.afi, p.connectionsEstablished, p.connectionsDropped, p.messagesReceived, p.messagesSent]),
      [
        ['ipv4Unicast', 4, 3, 66, 67],
        ['l2VpnEvpn', 4, 3, 66, 67],
      ],
    );
    const ipv4 = parseBgpSummary(fixture('manual/ipv4_bgp_summary.json'));
    assert.deepEqual(
      ipv4.map((p) => [p.afi, p.uptimeSeconds, p.messagesSent]),
      [['ipv4Unicast', 9, 8]],
    );
    const netns = parseBgpSummary(fixture('manual/evpn_netnsvrf_bgp_vrf_all_summary.json'));
    assert.equal(pick(netns, 'l2VpnEvpn').prefixesReceived, 3);
  });

  it('the single-AFI form has no AFI level: the AFI comes from the options', () => {
    const text = fixture('captured/bgp_ipv4_unicast_summary_active.json');
    const peers = parseBgpSummary(text, { afi: 'ipv4Unicast' });
    assert.equal(peers.length, 1);
    assert.equal(peers[0]?.afi, 'ipv4Unicast');
    assert.equal(peers[0]?.vrf, 'default');
    assert.equal(peers[0]?.peer, '10.0.1.1');
    assert.equal(parseBgpSummary(text)[0]?.afi, 'unknown');
    assert.equal(parseBgpSummary(fixture('afi/evpn_summary.json'), { afi: 'l2VpnEvpn' })[0]?.messagesReceived, 7);
  });

  it('a peer that never came up: Active, not established, uptime 0', () => {
    const peers = parseBgpSummary(fixture('captured/bgp_summary_active.json'));
    assert.equal(peers.length, 2);
    for (const p of peers) {
      assert.equal(p.state, 'Active');
      assert.equal(p.established, false);
      assert.equal(p.adminDown, false);
      assert.equal(p.uptimeSeconds, 0);
      assert.equal(p.remoteAs, 65001);
    }
    assert.deepEqual(
      parseBgpSummary(fixture('captured/bgp_vrf_all_summary_active.json')).map((p) => `${p.vrf}/${p.afi}`),
      ['default/ipv4Unicast', 'default/l2VpnEvpn'],
    );
  });

  it('an admin-down peer: state "Idle (Admin)", peerState "Admin"', () => {
    const peers = parseBgpSummary(fixture('captured/bgp_vrf_all_summary_admin_down.json'));
    assert.equal(peers.length, 2);
    for (const p of peers) {
      assert.equal(p.state, 'Idle (Admin)');
      assert.equal(p.adminDown, true);
      assert.equal(p.established, false);
    }
    // peerState alone is enough.
    const only = parseBgpSummary('{"ipv4Unicast":{"peers":{"10.0.0.9":{"state":"Idle","peerState":"Admin"}}}}');
    assert.equal(only[0]?.adminDown, true);
  });

  it('a session that went down: peerUptimeMsec counts the down time, uptime stays 0', () => {
    const text =
      '{"ipv4Unicast":{"routerId":"1.1.1.1","as":65002,"vrfName":"default","peers":{"10.0.0.9":{"remoteAs":65001,"localAs":65002,"peerUptime":"00:02:00","peerUptimeMsec":120000,"state":"Connect","peerState":"OK"}}}}';
    assert.equal(parseBgpSummary(text)[0]?.uptimeSeconds, 0);
  });

  it('"vrf all" with one AFI: VRF -> summary, no AFI level', () => {
    const text =
      '{"default":{"routerId":"10.0.1.13","as":65002,"vrfName":"default","peers":{"10.0.1.1":{"remoteAs":65001,"localAs":65002,"state":"Established","peerUptimeMsec":61000}}},"red":{}}';
    const peers = parseBgpSummary(text, { afi: 'ipv4Unicast' });
    assert.deepEqual(
      peers.map((p) => [p.vrf, p.afi, p.peer, p.uptimeSeconds]),
      [['default', 'ipv4Unicast', '10.0.1.1', 61]],
    );
  });

  it('empty output, whitespace and {} (unknown VRF) give []', () => {
    assert.deepEqual(parseBgpSummary(''), []);
    assert.deepEqual(parseBgpSummary(' \n\t\n'), []);
    assert.deepEqual(parseBgpSummary(fixture('captured/bgp_summary_bgpd_down.txt')), []);
    assert.deepEqual(parseBgpSummary('{}'), []);
    assert.deepEqual(parseBgpSummary(fixture('captured/bgp_vrf_nosuch_summary.json')), []);
  });

  it('garbage and wrong shapes throw FrrJsonError naming the command', () => {
    assertThrowsFrr(() => parseBgpSummary(GARBAGE), /summary json/, /% Unknown command/);
    assertThrowsFrr(() => parseBgpSummary('[1,2]'), /summary json/, /array/);
    assertThrowsFrr(() => parseBgpSummary('"n/a"'), /summary json/);
  });

  it('"n/a" and string numbers: coerced, never NaN; missing fields do not throw', () => {
    const text = JSON.stringify({
      ipv4Unicast: {
        routerId: '10.0.1.13',
        as: '65002',
        peers: {
          '10.0.0.9': {
            remoteAs: '65001',
            msgRcvd: '12',
            msgSent: 'n/a',
            pfxRcd: 'n/a',
            pfxSnt: '3',
            peerUptimeMsec: 'n/a',
            state: 'Established',
            connectionsEstablished: null,
          },
          '10.0.0.10': {},
        },
      },
    });
    const [a, b] = parseBgpSummary(text);
    assert.ok(a && b);
    assert.equal(a.remoteAs, 65001);
    assert.equal(a.localAs, 65002); // falls back to the instance's "as"
    assert.equal(a.messagesReceived, 12);
    assert.equal(a.messagesSent, 0);
    assert.equal(a.prefixesReceived, 0);
    assert.equal(a.prefixesSent, 3);
    assert.equal(a.uptimeSeconds, 0);
    assert.equal(a.connectionsEstablished, 0);
    assert.equal(b.state, 'Unknown');
    assert.equal(b.established, false);
    assert.equal(b.remoteAs, 0);
    assertFiniteNumbers([a, b]);
  });
});

describe('parseEvpnSummary', () => {
  it('every lab mode with the EVPN AFI', () => {
    const cases: Array<[string, number, number, number, number]> = [
      // file, pfxRcd, pfxSnt, msgRcvd, uptime
      ['afi/evpn_summary.json', 0, 0, 7, 6],
      ['l2vni/evpn_summary.json', 2, 4, 11, 5],
      ['l3vni/evpn_summary.json', 3, 7, 14, 5],
      ['l3vni-netns/evpn_summary.json', 3, 6, 14, 5],
      ['manual/evpn_afi_only_summary.json', 0, 0, 36, 4],
      ['manual/evpn_l2vni_summary.json', 2, 4, 44, 18],
      ['manual/evpn_l3vni_defvrf_summary.json', 3, 6, 66, 5],
      ['manual/evpn_netnsvrf_summary.json', 3, 6, 16, 9],
    ];
    for (const [file, rcvd, sent, msgs, uptime] of cases) {
      const peers = parseEvpnSummary(fixture(file));
      assert.equal(peers.length, 1, file);
      const p = peers[0];
      assert.ok(p);
      assert.deepEqual(
        [p.vrf, p.afi, p.peer, p.remoteAs, p.localAs, p.routerId, p.state, p.established],
        ['default', 'l2VpnEvpn', '10.0.1.1', 65001, 65002, '10.0.1.13', 'Established', true],
        file,
      );
      assert.deepEqual([p.prefixesReceived, p.prefixesSent, p.messagesReceived, p.uptimeSeconds], [rcvd, sent, msgs, uptime], file);
    }
  });

  it('off: {} when the EVPN AFI is not active', () => {
    assert.deepEqual(parseEvpnSummary(fixture('off/evpn_summary.json')), []);
  });

  it('a neighbour not up yet', () => {
    const peers = parseEvpnSummary(fixture('captured/evpn_summary_active.json'));
    assert.deepEqual(
      peers.map((p) => [p.afi, p.state, p.established]),
      [['l2VpnEvpn', 'Active', false]],
    );
  });

  it('given the multi-AFI output, keeps only l2VpnEvpn', () => {
    const peers = parseEvpnSummary(fixture('l2vni/bgp_summary.json'));
    assert.deepEqual(
      peers.map((p) => [p.afi, p.prefixesReceived]),
      [['l2VpnEvpn', 2]],
    );
  });

  it('empty, {}, garbage, "n/a"', () => {
    assert.deepEqual(parseEvpnSummary(''), []);
    assert.deepEqual(parseEvpnSummary('{}'), []);
    assertThrowsFrr(() => parseEvpnSummary(GARBAGE), /l2vpn evpn summary json/);
    const na = parseEvpnSummary(
      '{"routerId":"1.2.3.4","as":65002,"peers":{"10.0.1.1":{"remoteAs":65001,"pfxRcd":"n/a","pfxSnt":"n/a","state":"Established","peerUptimeMsec":"7000"}}}',
    );
    assert.deepEqual(
      na.map((p) => [p.prefixesReceived, p.prefixesSent, p.uptimeSeconds]),
      [[0, 0, 7]],
    );
    assertFiniteNumbers(na);
  });
});

describe('parseBgpNeighbors', () => {
  function only(text: string): NeighborDetail {
    const list = parseBgpNeighbors(text);
    assert.equal(list.length, 1);
    const n = list[0];
    assert.ok(n);
    return n;
  }

  it('off: the full detail of an Established IPv4-only session', () => {
    assert.deepEqual(only(fixture('off/bgp_neighbors.json')), {
      peer: '10.0.1.1',
      remoteAs: 65001,
      localAs: 65002,
      state: 'Established',
      established: true,
      adminDown: false,
      uptimeSeconds: 5,
      holdTimeMsecs: 9000,
      keepaliveIntervalMsecs: 3000,
      configuredHoldTimeMsecs: 9000,
      configuredKeepaliveMsecs: 3000,
      configuredConnectRetryMsecs: 1000,
      lastResetReason: 'Waiting for peer OPEN',
      prefixLimitExceeded: false,
      gracefulRestartNegotiated: true,
      afis: ['ipv4Unicast'],
      negotiatedAfis: ['ipv4Unicast'],
      eorSentAfis: ['ipv4Unicast'],
      ebgpMultihop: 2,
    });
  });

  it('afi, l2vni, l3vni, l3vni-netns, manual: IPv4 + EVPN negotiated', () => {
    const cases: Array<[string, number]> = [
      ['afi/bgp_neighbors.json', 6],
      ['l2vni/bgp_neighbors.json', 5],
      ['l3vni/bgp_neighbors.json', 5],
      ['l3vni-netns/bgp_neighbors.json', 5],
      ['manual/evpn_afi_only_neighbor.json', 4],
    ];
    for (const [file, uptime] of cases) {
      const n = only(fixture(file));
      assert.deepEqual(n.afis, ['ipv4Unicast', 'l2VpnEvpn'], file);
      assert.deepEqual(n.negotiatedAfis, ['ipv4Unicast', 'l2VpnEvpn'], file);
      assert.deepEqual(n.eorSentAfis, ['ipv4Unicast', 'l2VpnEvpn'], file);
      assert.equal(n.uptimeSeconds, uptime, file);
      assert.equal(n.peer, '10.0.1.1', file);
      assert.equal(n.gracefulRestartNegotiated, true, file);
      assert.equal(n.vrf, undefined, file);
    }
  });

  it('maximum-prefix exceeded (FRR 8.4.4, from the limits e2e): the NOTIFICATION reason follows lastResetDueTo', () => {
    const n = only(fixture('manual/bgp_neighbors_max_prefix_exceeded.json'));
    assert.equal(n.state, 'Idle');
    assert.equal(n.established, false);
    assert.equal(n.lastResetReason, 'BGP Notification send: Cease/Maximum Number of Prefixes Reached');
    assert.equal(n.prefixLimitExceeded, true);
    assert.equal(only(fixture('manual/ipv4_bgp_neighbors.json')).prefixLimitExceeded, false);
  });

  it('manual ipv4: no ebgp-multihop shows 1 hop', () => {
    const n = only(fixture('manual/ipv4_bgp_neighbors.json'));
    assert.equal(n.ebgpMultihop, 1);
    assert.equal(n.lastResetReason, 'No AFI/SAFI activated for peer');
    assert.equal(n.uptimeSeconds, 9);
  });

  it('restart: negotiated timers (min of both sides) differ from the configured ones', () => {
    const gw = only(fixture('restart/restart_timers_2_6_gw_neighbor.json'));
    assert.deepEqual(
      [gw.holdTimeMsecs, gw.keepaliveIntervalMsecs, gw.configuredHoldTimeMsecs, gw.configuredKeepaliveMsecs],
      [6000, 2000, 6000, 2000],
    );
    const rtr = only(fixture('restart/restart_timers_2_6_rtr_neighbor.json'));
    assert.equal(rtr.peer, '10.0.1.13');
    assert.equal(rtr.remoteAs, 65002);
    assert.equal(rtr.localAs, 65001);
    assert.deepEqual(
      [rtr.holdTimeMsecs, rtr.keepaliveIntervalMsecs, rtr.configuredHoldTimeMsecs, rtr.configuredKeepaliveMsecs],
      [6000, 2000, 9000, 3000],
    );
  });

  it('a session not up: no negotiated timers, no capabilities, afis still listed', () => {
    const n = only(fixture('captured/bgp_neighbors_active.json'));
    assert.equal(n.state, 'Active');
    assert.equal(n.established, false);
    assert.equal(n.uptimeSeconds, 0);
    assert.equal(n.holdTimeMsecs, undefined);
    assert.equal(n.keepaliveIntervalMsecs, undefined);
    assert.equal(n.configuredHoldTimeMsecs, 9000);
    assert.equal(n.configuredKeepaliveMsecs, 3000);
    assert.equal(n.configuredConnectRetryMsecs, 1000);
    assert.equal(n.gracefulRestartNegotiated, undefined);
    assert.deepEqual(n.afis, ['ipv4Unicast', 'l2VpnEvpn']);
    assert.deepEqual(n.negotiatedAfis, []);
    assert.deepEqual(n.eorSentAfis, []);
    assert.equal(n.lastResetReason, 'Waiting for NHT');
    assert.equal(n.adminDown, false);
  });

  it('show bgp vrf all neighbors json: VRF level with vrfId/vrfName beside the peers', () => {
    const list = parseBgpNeighbors(fixture('captured/bgp_vrf_all_neighbors_active.json'));
    assert.deepEqual(
      list.map((n) => [n.vrf, n.peer, n.state]),
      [['default', '10.0.1.1', 'Active']],
    );
    const two = parseBgpNeighbors(
      '{"default":{"vrfId":0,"vrfName":"default","10.0.1.1":{"remoteAs":65001,"localAs":65002,"bgpState":"Established"}},"red":{"vrfId":3,"vrfName":"red","eth1":{"remoteAs":65009,"localAs":65002,"bgpState":"Connect"}},"blue":{"vrfId":4,"vrfName":"blue"}}',
    );
    assert.deepEqual(
      two.map((n) => [n.vrf, n.peer, n.state, n.remoteAs]),
      [
        ['default', '10.0.1.1', 'Established', 65001],
        ['red', 'eth1', 'Connect', 65009],
      ],
    );
  });

  it('admin down: bgpState is plain "Idle", adminShutDown true', () => {
    const n = only(fixture('captured/bgp_neighbors_admin_down.json'));
    assert.equal(n.state, 'Idle');
    assert.equal(n.adminDown, true);
    assert.equal(n.established, false);
  });

  it('unknown neighbour, {}, empty output give []', () => {
    assert.deepEqual(parseBgpNeighbors(fixture('captured/bgp_neighbor_nosuch.json')), []);
    assert.deepEqual(parseBgpNeighbors('{}'), []);
    assert.deepEqual(parseBgpNeighbors(''), []);
    assert.deepEqual(parseBgpNeighbors('\n'), []);
  });

  it('garbage and wrong shapes throw', () => {
    assertThrowsFrr(() => parseBgpNeighbors(GARBAGE), /neighbors json/, /Unknown command/);
    assertThrowsFrr(() => parseBgpNeighbors('[]'), /neighbors json/);
  });

  it('"n/a" and string numbers', () => {
    const n = only(
      '{"10.0.0.9":{"remoteAs":"65001","localAs":65002,"bgpState":"Established","bgpTimerUpMsec":"n/a","bgpTimerHoldTimeMsecs":"n/a","bgpTimerKeepAliveIntervalMsecs":"3000","bgpTimerConfiguredHoldTimeMsecs":"n/a","bgpTimerConfiguredKeepAliveIntervalMsecs":"0x10","connectRetryTimer":"5","externalBgpNbrMaxHopsAway":"n/a","neighborCapabilities":{"gracefulRestart":"advertised"}}}',
    );
    assert.equal(n.remoteAs, 65001);
    assert.equal(n.uptimeSeconds, 0);
    assert.equal(n.holdTimeMsecs, undefined);
    assert.equal(n.keepaliveIntervalMsecs, 3000);
    assert.equal(n.configuredHoldTimeMsecs, undefined);
    assert.equal(n.configuredKeepaliveMsecs, undefined); // "0x10" is not a decimal number
    assert.equal(n.configuredConnectRetryMsecs, 5000);
    assert.equal(n.ebgpMultihop, undefined);
    assert.equal(n.gracefulRestartNegotiated, false);
    assert.deepEqual(n.afis, []);
    assertFiniteNumbers(n);
  });
});

describe('parseEvpnVni', () => {
  it('off and afi: EMPTY output (no VNI) gives []', () => {
    assert.equal(fixture('off/evpn_vni.json'), '');
    assert.deepEqual(parseEvpnVni(fixture('off/evpn_vni.json')), []);
    assert.deepEqual(parseEvpnVni(fixture('afi/evpn_vni.json')), []);
    assert.deepEqual(parseEvpnVni(fixture('manual/evpn_afi_only_vni.json')), []);
  });

  it('l2vni: one L2 VNI with its remote VTEP', () => {
    assert.deepEqual(parseEvpnVni(fixture('l2vni/evpn_vni.json')), [
      { vni: 100, type: 'L2', vrf: 'default', vxlanIf: 'labvx100', remoteVteps: ['10.0.1.1'], numRemoteVteps: 1, numMacs: 2 },
    ]);
    assert.deepEqual(parseEvpnVni(fixture('manual/evpn_l2vni_vni.json')), parseEvpnVni(fixture('l2vni/evpn_vni.json')));
  });

  it('l3vni: the L3 VNI has numRemoteVteps "n/a" -> null', () => {
    const list = parseEvpnVni(fixture('l3vni/evpn_vni.json'));
    assert.deepEqual(
      list.map((v) => v.vni),
      [100, 1016],
    );
    assert.deepEqual(list[1], {
      vni: 1016,
      type: 'L3',
      vrf: 'default',
      vxlanIf: 'labvx1016',
      remoteVteps: [],
      numRemoteVteps: null,
      numMacs: 0,
    });
    assert.equal(parseEvpnVni(fixture('manual/evpn_l3vni_defvrf_vni.json'))[1]?.numMacs, 1);
  });

  it('l3vni-netns: the L3 VNI belongs to the netns VRF', () => {
    for (const file of ['l3vni-netns/evpn_vni.json', 'manual/evpn_netnsvrf_vni.json']) {
      const list = parseEvpnVni(fixture(file));
      assert.deepEqual(
        list.map((v) => [v.vni, v.type, v.vrf, v.numRemoteVteps, v.numMacs]),
        [
          [100, 'L2', 'default', 1, 2],
          [1016, 'L3', 'labgwvrf', null, 1],
        ],
        file,
      );
    }
  });

  it('detail form (8.4): the remote-VTEP ARRAY sits in numRemoteVteps', () => {
    assert.deepEqual(parseEvpnVni(fixture('manual/evpn_l2vni_vni_detail.json')), [
      { vni: 100, type: 'L2', vrf: 'default', vxlanIf: 'labvx100', remoteVteps: ['10.0.1.1'], numRemoteVteps: 1, numMacs: 2 },
    ]);
  });

  it('detail form with an L3 VNI: state and router MAC', () => {
    const list = parseEvpnVni(fixture('captured/evpn_vni_detail.json'));
    assert.deepEqual(list, [
      { vni: 100, type: 'L2', vrf: 'default', vxlanIf: 'vx100', remoteVteps: [], numRemoteVteps: 0, numMacs: 0 },
      {
        vni: 1016,
        type: 'L3',
        vrf: 'default',
        state: 'Up',
        vxlanIf: 'vx1016',
        routerMac: '32:d5:ac:8b:02:4b',
        remoteVteps: [],
        numRemoteVteps: null,
      },
    ]);
  });

  it('per-VNI form (show evpn vni N json): one object; {} for an unknown VNI', () => {
    assert.deepEqual(
      parseEvpnVni(fixture('captured/evpn_vni_1016.json')).map((v) => [v.vni, v.type, v.state, v.routerMac, v.vxlanIf]),
      [[1016, 'L3', 'Up', '32:d5:ac:8b:02:4b', 'vx1016']],
    );
    const l2 = parseEvpnVni(fixture('captured/evpn_vni_100.json'));
    assert.deepEqual(
      l2.map((v) => [v.vni, v.type, v.vxlanIf, v.numRemoteVteps, v.remoteVteps]),
      [[100, 'L2', 'vx100', 0, []]],
    );
    assert.deepEqual(parseEvpnVni(fixture('captured/evpn_vni_4242_unknown.json')), []);
    const withVteps = parseEvpnVni('{"vni":100,"type":"L2","vrf":"default","numRemoteVteps":["10.0.1.1","10.0.1.2"]}');
    assert.deepEqual(
      withVteps.map((v) => [v.remoteVteps, v.numRemoteVteps]),
      [[['10.0.1.1', '10.0.1.2'], 2]],
    );
  });

  it('list form with no remote VTEP: count 0', () => {
    const list = parseEvpnVni(fixture('captured/evpn_vni.json'));
    assert.deepEqual(
      list.map((v) => [v.vni, v.type, v.numRemoteVteps]),
      [
        [100, 'L2', 0],
        [1016, 'L3', null],
      ],
    );
  });

  it('{}, whitespace, garbage, wrong shapes', () => {
    assert.deepEqual(parseEvpnVni('{}'), []);
    assert.deepEqual(parseEvpnVni('  \n'), []);
    assertThrowsFrr(() => parseEvpnVni(GARBAGE), /show evpn vni/, /Unknown command/);
    assertThrowsFrr(() => parseEvpnVni('42'), /show evpn vni/);
    assertThrowsFrr(() => parseEvpnVni('[1]'), /show evpn vni/);
  });

  it('"n/a" numbers become null, string numbers are read', () => {
    const list = parseEvpnVni(
      '{"7":{"vni":"7","type":"L2","numMacs":"n/a","numRemoteVteps":"n/a","tenantVrf":"default"},"8":{"type":"L2","numMacs":"5","numRemoteVteps":"2"},"x":{"vni":"n/a"}}',
    );
    assert.deepEqual(
      list.map((v) => [v.vni, v.numMacs, v.numRemoteVteps]),
      [
        [7, null, null],
        [8, 5, 2],
      ],
    );
    assertFiniteNumbers(list);
  });
});

describe('parseVrfVni', () => {
  it('off, afi, l2vni: no L3VNI ({"vrfs":[]})', () => {
    for (const mode of ['off', 'afi', 'l2vni']) assert.deepEqual(parseVrfVni(fixture(`${mode}/vrf_vni.json`)), [], mode);
  });

  it('l3vni: the default VRF L3VNI', () => {
    assert.deepEqual(parseVrfVni(fixture('l3vni/vrf_vni.json')), [
      { vrf: 'default', vni: 1016, state: 'Up', routerMac: 'a2:60:2b:4e:cd:52', vxlanIf: 'labvx1016', sviIf: 'labbr1016' },
    ]);
    assert.equal(parseVrfVni(fixture('manual/evpn_l3vni_defvrf_vrf_vni.json'))[0]?.routerMac, '0e:3a:82:36:90:c2');
    assert.equal(parseVrfVni(fixture('captured/vrf_vni.json'))[0]?.routerMac, '32:d5:ac:8b:02:4b');
  });

  it('l3vni-netns: the netns VRF', () => {
    assert.deepEqual(parseVrfVni(fixture('l3vni-netns/vrf_vni.json')), [
      { vrf: 'labgwvrf', vni: 1016, state: 'Up', routerMac: '5a:e7:80:da:1e:64', vxlanIf: 'labvx1016', sviIf: 'labbr1016' },
    ]);
    assert.deepEqual(
      parseVrfVni(fixture('manual/evpn_netnsvrf_vrf_vni.json')).map((v) => [v.vrf, v.vni, v.routerMac]),
      [['labgwvrf', 1016, 'da:a9:ee:64:1a:56']],
    );
  });

  it('empty, {}, garbage, wrong shape, "n/a"', () => {
    assert.deepEqual(parseVrfVni(''), []);
    assert.deepEqual(parseVrfVni('{}'), []);
    assertThrowsFrr(() => parseVrfVni(GARBAGE), /show vrf vni json/);
    assertThrowsFrr(() => parseVrfVni('{"vrfs":{}}'), /show vrf vni json/, /array/);
    const list = parseVrfVni('{"vrfs":[{"vrf":"red","vni":"n/a","state":"Down"},{"vrf":"blue","vni":"2000"}]}');
    assert.deepEqual(list, [{ vrf: 'blue', vni: 2000, state: '' }]);
  });
});

describe('countType5Prefixes / listType5Routes', () => {
  it('off, afi, l2vni: none ({"numPrefix":0,"numPaths":0})', () => {
    for (const mode of ['off', 'afi', 'l2vni']) {
      assert.equal(countType5Prefixes(fixture(`${mode}/evpn_route_type5.json`)), 0, mode);
      assert.equal(countType5Prefixes(fixture(`${mode}/rtr_evpn_route_type5.json`)), 0, mode);
    }
    // The unfiltered route table of l2vni has type-2/3 routes only.
    assert.equal(countType5Prefixes(fixture('l2vni/evpn_route.json')), 0);
  });

  it('l3vni: 3 (RD, route) pairs but 2 distinct prefixes (ours re-advertises the peer prefix)', () => {
    const text = fixture('l3vni/evpn_route_type5.json');
    assert.equal(countType5Prefixes(text), 2);
    assert.deepEqual(listType5Routes(text), [
      { rd: '10.0.1.1:1', route: '[5]:[0]:[24]:[192.168.100.0]', local: false, prefix: '192.168.100.0/24', routerMac: '9e:f4:9a:31:5d:63' },
      { rd: '10.0.1.13:1', route: '[5]:[0]:[16]:[10.16.0.0]', local: true, prefix: '10.16.0.0/16', routerMac: 'a2:60:2b:4e:cd:52' },
      { rd: '10.0.1.13:1', route: '[5]:[0]:[24]:[192.168.100.0]', local: true, prefix: '192.168.100.0/24', routerMac: 'a2:60:2b:4e:cd:52' },
    ]);
    assert.equal(countType5Prefixes(fixture('l3vni/rtr_evpn_route_type5.json')), 2);
    // The unfiltered table: only the [5] routes count.
    assert.equal(countType5Prefixes(fixture('l3vni/evpn_route.json')), 2);
  });

  it('l3vni-netns and manual: 2', () => {
    for (const file of [
      'l3vni-netns/evpn_route_type5.json',
      'l3vni-netns/rtr_evpn_route_type5.json',
      'l3vni-netns/evpn_route.json',
      'manual/evpn_l3vni_defvrf_route_type5.json',
      'manual/evpn_netnsvrf_route_type5.json',
      'manual/evpn_netnsvrf_rtr_side_type5.json',
    ]) {
      assert.equal(countType5Prefixes(fixture(file)), 2, file);
    }
    assert.deepEqual(
      listType5Routes(fixture('l3vni-netns/evpn_route_type5.json')).map((r) => [r.rd, r.prefix, r.local, r.routerMac]),
      [
        ['10.0.1.1:1', '192.168.100.0/24', false, '76:49:55:83:b4:92'],
        ['10.0.1.13:3', '10.16.0.0/16', true, '5a:e7:80:da:1e:64'],
      ],
    );
  });

  it('only our own prefix', () => {
    assert.equal(countType5Prefixes(fixture('captured/evpn_route_type5_local_only.json')), 1);
  });

  it('empty, {}, garbage, "n/a"', () => {
    assert.equal(countType5Prefixes(''), 0);
    assert.equal(countType5Prefixes('{}'), 0);
    assertThrowsFrr(() => countType5Prefixes(GARBAGE), /route type prefix json/);
    assertThrowsFrr(() => countType5Prefixes('[]'), /route type prefix json/);
    const text =
      '{"1.1.1.1:1":{"rd":"1.1.1.1:1","[5]:[0]:[24]:[10.0.0.0]":{"paths":[[{"ip":"10.0.0.0","ipLen":"n/a","peerId":"1.1.1.1"}]]}},"numPrefix":"n/a","numPaths":"n/a"}';
    assert.equal(countType5Prefixes(text), 1);
    assert.deepEqual(listType5Routes(text), [{ rd: '1.1.1.1:1', route: '[5]:[0]:[24]:[10.0.0.0]', local: false }]);
  });
});

describe('parseRunningConfig', () => {
  const EXPECTED = [
    'vni 1016',
    'ip route 10.16.0.0/16 blackhole',
    'router bgp 65002',
    ' bgp router-id 10.0.1.13',
    ' no bgp ebgp-requires-policy',
    ' neighbor 10.0.1.1 remote-as 65001',
    ' neighbor 10.0.1.1 password s3cret',
    ' neighbor 10.0.1.1 ebgp-multihop 2',
    ' neighbor 10.0.1.1 timers 3 9',
    ' neighbor 10.0.1.1 timers connect 1',
    ' address-family ipv4 unicast',
    '  network 10.16.0.0/16',
    ' address-family l2vpn evpn',
    '  neighbor 10.0.1.1 activate',
    '  advertise-all-vni',
    '  advertise ipv4 unicast',
    '  route-target import 65000:1016',
    '  route-target export 65000:1016',
  ];

  it('real show running-config: header and noise removed, indentation kept', () => {
    assert.deepEqual(parseRunningConfig(fixture('captured/running_config.txt')), EXPECTED);
  });

  it('the frr.conf that produced it gives the same lines (vrf default / vni quirk included)', () => {
    const source = fixture('captured/running_config_source.frr.conf');
    assert.match(source, /^vrf default\n vni 1016\nexit-vrf$/m);
    assert.deepEqual(parseRunningConfig(source), EXPECTED);
  });

  it('a netns VRF block is kept as it is', () => {
    const text = 'frr version 8.4.4\n!\nvrf labgwvrf\n netns /run/netns/labgwvrf\n vni 1016\nexit-vrf\n!\nend\n';
    assert.deepEqual(parseRunningConfig(text), ['vrf labgwvrf', ' netns /run/netns/labgwvrf', ' vni 1016']);
  });

  it('CRLF, trailing spaces and comments', () => {
    assert.deepEqual(parseRunningConfig('! comment\r\n# other\r\nrouter bgp 1  \r\n neighbor x remote-as 2\r\n !\r\n'), [
      'router bgp 1',
      ' neighbor x remote-as 2',
    ]);
  });

  it('empty or header-only text gives []', () => {
    assert.deepEqual(parseRunningConfig(''), []);
    assert.deepEqual(
      parseRunningConfig(
        'Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\nhostname gw\nlog syslog informational\nno ip forwarding\nno ipv6 forwarding\nservice integrated-vtysh-config\n!\nend\n',
      ),
      [],
    );
  });

  it('a vtysh error throws', () => {
    assertThrowsFrr(() => parseRunningConfig('% Unknown command: show running-confg'), /show running-config/);
  });
});
