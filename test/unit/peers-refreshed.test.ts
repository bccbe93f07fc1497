// Which sessions' peers may still hold bgpd's routes as stale (src/supervisor/peers-refreshed.ts), on FRR 8.4.4's
// `show bgp neighbors json` (test/fixtures/frr-json/) and variants of it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseBgpNeighbors } from '../../src/state/bgp.ts';
import { sessionsNotRefreshed } from '../../src/supervisor/peers-refreshed.ts';

type Json = Record<string, Record<string, unknown>>;
const load = (path: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/frr-json/${path}`, import.meta.url), 'utf8')) as Json;
const pending = (doc: Json): string[] => sessionsNotRefreshed(parseBgpNeighbors(JSON.stringify(doc)));

describe('sessionsNotRefreshed', () => {
  it('an Established session that has sent End-of-RIB for every negotiated family: nothing to wait for', () => {
    assert.deepEqual(pending(load('off/bgp_neighbors.json')), []);
    assert.deepEqual(pending(load('afi/bgp_neighbors.json')), []);
  });

  it('Established, End-of-RIB not sent yet (for one family or any): waited for', () => {
    const none = load('off/bgp_neighbors.json');
    (none['10.0.1.1']?.gracefulRestartInfo as Record<string, unknown>).endOfRibSend = {};
    assert.deepEqual(pending(none), ['10.0.1.1']);
    const evpnMissing = load('afi/bgp_neighbors.json');
    (evpnMissing['10.0.1.1']?.gracefulRestartInfo as Record<string, unknown>).endOfRibSend = { ipv4Unicast: true };
    assert.deepEqual(pending(evpnMissing), ['10.0.1.1']);
  });

  it('a session still opening is waited for (the peer may count it Established already)', () => {
    for (const state of ['OpenSent', 'OpenConfirm']) {
      const doc = load('off/bgp_neighbors.json');
      (doc['10.0.1.1'] as Record<string, unknown>).bgpState = state;
      assert.deepEqual(pending(doc), ['10.0.1.1'], state);
    }
  });

  it('no graceful restart with the peer, or no session: nothing to wait for', () => {
    const noGr = load('off/bgp_neighbors.json');
    (noGr['10.0.1.1']?.neighborCapabilities as Record<string, unknown>).gracefulRestart = 'advertised';
    (noGr['10.0.1.1']?.gracefulRestartInfo as Record<string, unknown>).endOfRibSend = {};
    assert.deepEqual(pending(noGr), []);
    assert.deepEqual(pending(load('manual/bgp_neighbors_max_prefix_exceeded.json')), []);
  });
});
