// The parsers on the FRR versions the project runs: the same lab situation captured from FRR 8.4.4 (the lab's
// gateway, test/fixtures/frr-json/off and l3vni-netns), from FRR 10.3 (the image as the lab's gateway when it ran
// 10.3, test/fixtures/frr-json/10.3/off and evpn) and from FRR 10.7.1 (10.7/off from the image, 10.7/evpn from the
// lab's 10.7 gateway; see their README.md), one set of expectations for all: what the poller, /status, /metrics and
// the config verification read must not depend on the version.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { listType5Routes } from '../../lab/evpn-routes.ts';
import { parseBgpNeighbors, parseBgpSummary, parseEvpnSummary } from '../../src/state/bgp.ts';
import { parseEvpnRmac, parseEvpnVni, parseVrfVni } from '../../src/state/evpn.ts';
import { parseRouteSummary } from '../../src/state/zebra.ts';
import { parseRunningConfig } from '../../src/frr/running-config.ts';
import { canonicalConfigLine } from '../../src/frr/version.ts';

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/frr-json/${path}`, import.meta.url), 'utf8');

interface VersionFixtures {
  /** BGP-only gateway (IPv4 unicast, one peer 10.0.1.1 announcing one prefix). */
  off?: { summary: string; neighbors: string; evpnVni: string };
  /** EVPN gateway: L3VNI 1016 in a netns VRF, type-5 routes both ways. */
  evpn: { summary: string; neighbors: string; evpnSummary: string; evpnVni: string; vrfVni: string; rmac: string; type5: string };
}

const VERSIONS: Record<string, VersionFixtures> = {
  '8.4.4': {
    off: { summary: 'off/bgp_vrf_all_summary.json', neighbors: 'off/bgp_neighbors.json', evpnVni: 'off/evpn_vni.json' },
    evpn: {
      summary: 'l3vni-netns/bgp_vrf_all_summary.json',
      neighbors: 'l3vni-netns/bgp_neighbors.json',
      evpnSummary: 'l3vni-netns/evpn_summary.json',
      evpnVni: 'l3vni-netns/evpn_vni.json',
      vrfVni: 'l3vni-netns/vrf_vni.json',
      rmac: 'l3vni-netns/evpn_rmac.json',
      type5: 'l3vni-netns/evpn_route_type5.json',
    },
  },
  '10.3': {
    off: {
      summary: '10.3/off/bgp_vrf_all_summary.json',
      neighbors: '10.3/off/bgp_vrf_all_neighbors.json',
      evpnVni: '10.3/off/evpn_vni.json',
    },
    evpn: {
      summary: '10.3/evpn/bgp_vrf_all_summary.json',
      neighbors: '10.3/evpn/bgp_vrf_all_neighbors.json',
      evpnSummary: '10.3/evpn/bgp_l2vpn_evpn_summary.json',
      evpnVni: '10.3/evpn/evpn_vni.json',
      vrfVni: '10.3/evpn/vrf_vni.json',
      rmac: '10.3/evpn/evpn_rmac_vni_all.json',
      type5: '10.3/evpn/bgp_l2vpn_evpn_route_type_prefix.json',
    },
  },
  '10.7.1': {
    off: {
      summary: '10.7/off/bgp_vrf_all_summary.json',
      neighbors: '10.7/off/bgp_vrf_all_neighbors.json',
      evpnVni: '10.7/off/evpn_vni.json',
    },
    evpn: {
      summary: '10.7/evpn/bgp_vrf_all_summary.json',
      neighbors: '10.7/evpn/bgp_vrf_all_neighbors.json',
      evpnSummary: '10.7/evpn/bgp_l2vpn_evpn_summary.json',
      evpnVni: '10.7/evpn/evpn_vni.json',
      vrfVni: '10.7/evpn/vrf_vni.json',
      rmac: '10.7/evpn/evpn_rmac_vni_all.json',
      type5: '10.7/evpn/bgp_l2vpn_evpn_route_type_prefix.json',
    },
  },
};

const PEER = '10.0.1.1';
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

for (const [version, f] of Object.entries(VERSIONS)) {
  describe(`FRR ${version}: what the poller reads`, () => {
    // BGP-only: from the versions that have a capture of it
    const off = f.off;
    if (off) {
      it('BGP-only: the IPv4 unicast session Established with one prefix each way', () => {
        const peers = parseBgpSummary(fixture(off.summary));
        const v4 = peers.find((p) => p.afi === 'ipv4Unicast' && p.peer === PEER);
        assert.ok(v4, JSON.stringify(peers));
        assert.deepEqual(
          {
            vrf: v4.vrf,
            state: v4.state,
            established: v4.established,
            adminDown: v4.adminDown,
            remoteAs: v4.remoteAs,
            localAs: v4.localAs,
            routerId: v4.routerId,
            prefixesReceived: v4.prefixesReceived,
          },
          {
            vrf: 'default',
            state: 'Established',
            established: true,
            adminDown: false,
            remoteAs: 65001,
            localAs: 65002,
            routerId: '10.0.1.13',
            prefixesReceived: 1,
          },
        );
        assert.ok(v4.prefixesSent >= 1);
        assert.ok(v4.uptimeSeconds >= 0 && v4.messagesReceived > 0 && v4.connectionsEstablished >= 1);
        assert.deepEqual(
          peers.filter((p) => p.afi === 'l2VpnEvpn'),
          [],
        );
      });

      it('BGP-only: the neighbour detail (state, timers, address families)', () => {
        const [n, ...rest] = parseBgpNeighbors(fixture(off.neighbors));
        assert.deepEqual(rest, []);
        assert.ok(n);
        assert.equal(n.peer, PEER);
        assert.equal(n.state, 'Established');
        assert.equal(n.established, true);
        assert.equal(n.adminDown, false);
        assert.equal(n.remoteAs, 65001);
        assert.ok(n.negotiatedAfis.includes('ipv4Unicast'), JSON.stringify(n.negotiatedAfis));
        assert.ok((n.holdTimeMsecs ?? 0) > 0 && (n.keepaliveIntervalMsecs ?? 0) > 0);
      });

      it('BGP-only: no VNI (8.4.4 prints nothing, 10.3 and 10.7.1 print {})', () => {
        assert.deepEqual(parseEvpnVni(fixture(off.evpnVni)), []);
      });
    }

    it('EVPN: the l2vpn evpn session, in the VRF summary and the EVPN summary', () => {
      const evpn = parseBgpSummary(fixture(f.evpn.summary)).find((p) => p.afi === 'l2VpnEvpn' && p.peer === PEER);
      assert.ok(evpn?.established, 'l2VpnEvpn Established in show bgp vrf all summary');
      assert.ok((evpn?.prefixesReceived ?? 0) >= 1);
      const [s] = parseEvpnSummary(fixture(f.evpn.evpnSummary));
      assert.equal(s?.peer, PEER);
      assert.equal(s?.established, true);
      const [n] = parseBgpNeighbors(fixture(f.evpn.neighbors)).filter((x) => x.peer === PEER);
      assert.ok(n?.negotiatedAfis.includes('l2VpnEvpn'));
    });

    it('EVPN: VNI 1016 is the L3 VNI of the netns VRF, Up, with a router MAC; its remote VTEP from the router MACs', () => {
      const [vrf, ...more] = parseVrfVni(fixture(f.evpn.vrfVni));
      assert.deepEqual(more, []);
      assert.ok(vrf);
      assert.equal(vrf.vni, 1016);
      assert.equal(vrf.state, 'Up');
      assert.match(vrf.routerMac ?? '', MAC);
      const l3 = parseEvpnVni(fixture(f.evpn.evpnVni)).find((v) => v.vni === 1016);
      assert.ok(l3);
      assert.equal(l3.type, 'L3');
      assert.equal(l3.vrf, vrf.vrf, 'the VNI names the same VRF');
      assert.equal(l3.numRemoteVteps, null, '"n/a" for an L3 VNI');
      assert.deepEqual(parseEvpnRmac(fixture(f.evpn.rmac)), { 1016: [PEER] });
    });

    it("EVPN: the router's prefix arrives as a type-5 route with its router MAC; ours is advertised", () => {
      const routes = listType5Routes(fixture(f.evpn.type5));
      const remote = routes.find((r) => r.prefix === '192.168.100.0/24' && !r.local);
      assert.ok(remote, JSON.stringify(routes));
      assert.match(remote.routerMac ?? '', MAC);
      assert.ok(
        routes.some((r) => r.local),
        "the gateway's own type-5 route",
      );
    });
  });
}

describe('FRR 10.3 only (no 8.4.4 capture of these yet)', () => {
  it('the VRF route summary: one BGP route installed (ebgp), ibgp listed with 0', () => {
    assert.deepEqual(parseRouteSummary(fixture('10.3/evpn/ip_route_vrf_VRF_summary.json')), { total: 4, bgp: 1 });
  });

  it('show evpn vni detail json is a list in 10.3: VNI, type, VRF, state, router MAC', () => {
    const [v] = parseEvpnVni(fixture('10.3/evpn/evpn_vni_detail.json'));
    assert.equal(v?.vni, 1016);
    assert.equal(v?.type, 'L3');
    assert.equal(v?.state, 'Up');
    assert.match(v?.routerMac ?? '', MAC);
  });

  it('show running-config: header and noise dropped; the bare `ebgp-multihop` matches the rendered `ebgp-multihop 255`', () => {
    for (const mode of ['off', 'evpn']) {
      const lines = parseRunningConfig(fixture(`10.3/${mode}/running_config.txt`));
      assert.ok(lines.includes('router bgp 65002'), mode);
      assert.ok(lines.includes(' neighbor 10.0.1.1 ebgp-multihop'), mode);
      assert.ok(lines.map(canonicalConfigLine).includes(canonicalConfigLine(' neighbor 10.0.1.1 ebgp-multihop 255')), mode);
      assert.ok(!lines.some((l) => /^(?:frr version|hostname|Building)/.test(l)), mode);
    }
    const evpn = parseRunningConfig(fixture('10.3/evpn/running_config.txt'));
    assert.ok(evpn.some((l) => /^vrf \S+$/.test(l)) && evpn.includes(' vni 1016'), 'the VRF block with its VNI');
  });
});

describe('FRR 10.7.1 only', () => {
  it('show evpn vni detail json is a list, as in 10.3; the VRF route summary counts the BGP route', () => {
    const [v] = parseEvpnVni(fixture('10.7/evpn/evpn_vni_detail.json'));
    assert.equal(v?.vni, 1016);
    assert.equal(v?.type, 'L3');
    assert.equal(v?.state, 'Up');
    assert.match(v?.routerMac ?? '', MAC);
    assert.equal(parseRouteSummary(fixture('10.7/evpn/ip_route_vrf_VRF_summary.json')).bgp, 1);
  });

  it('show running-config: graceful restart in the VRF instance (rendered for FRR 10.6+), the bare `ebgp-multihop`', () => {
    const lines = parseRunningConfig(fixture('10.7/evpn/running_config.txt'));
    const vrfAt = lines.findIndex((l) => /^router bgp 65002 vrf \S+$/.test(l));
    assert.ok(vrfAt > 0);
    assert.deepEqual(lines.slice(vrfAt + 1, vrfAt + 4), [
      ' bgp router-id 10.0.1.13',
      ' bgp graceful-restart',
      ' bgp graceful-restart preserve-fw-state',
    ]);
    assert.ok(lines.map(canonicalConfigLine).includes(canonicalConfigLine(' neighbor 10.0.1.1 ebgp-multihop 255')));
    assert.ok(!lines.some((l) => /^(?:frr version|hostname|Building)/.test(l)));
  });

  it('show running-config, BGP-only (the image): graceful restart in the default instance, the bare `ebgp-multihop`', () => {
    const lines = parseRunningConfig(fixture('10.7/off/running_config.txt'));
    const at = lines.indexOf('router bgp 65002');
    assert.ok(at >= 0, lines.join('\n'));
    assert.deepEqual(lines.slice(at + 1, at + 6), [
      ' bgp router-id 10.0.1.13',
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' bgp graceful-restart',
      ' bgp graceful-restart preserve-fw-state',
    ]);
    assert.ok(lines.includes(' neighbor 10.0.1.1 ebgp-multihop'));
    assert.ok(lines.map(canonicalConfigLine).includes(canonicalConfigLine(' neighbor 10.0.1.1 ebgp-multihop 255')));
    assert.ok(!lines.some((l) => /^(?:frr version|hostname|Building)/.test(l)));
  });
});
