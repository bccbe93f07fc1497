/**
 * BFD, the pure parts: the parser of `show bfd peers json` on real FRR 8.4.4 outputs (test/fixtures/frr-json/bfd/),
 * the rendering decisions (off = unchanged, live commands for bfdd), the daemon set and restart scopes, the poller
 * asking bfdd only while it runs, /status and the status table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Spec } from '../../src/config/types.ts';
import { bfdSessionFor, parseBfdPeers } from '../../src/state/bfd.ts';
import { FrrJsonError } from '../../src/state/json.ts';
import { bfddLiveCommands, bfdStaticPeers, renderFrrConf } from '../../src/render/frr-conf.ts';
import { planChange } from '../../src/supervisor/plan.ts';
import { daemonsFor, dependentsOf, parseFrrVersion, restartSetFor, withBfd } from '../../src/frr/version.ts';
import { Poller } from '../../src/observe/poller.ts';
import type { PolledDaemon } from '../../src/observe/poller.ts';
import { renderFrrFamilies } from '../../src/observe/metrics.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/frr-json/bfd/${name}`, import.meta.url), 'utf8');

test('parseBfdPeers: sessions up (single-hop configured, multihop) and a configured one never answered', () => {
  const s = parseBfdPeers(fixture('bfd_peers.json'));
  assert.equal(s.length, 3);
  const single = s.find((p) => p.peer === '10.0.1.1' && !p.multihop);
  const multi = s.find((p) => p.peer === '10.0.1.1' && p.multihop);
  const never = s.find((p) => p.peer === '10.0.1.99');
  assert.ok(single && multi && never);
  assert.equal(single.up, true);
  assert.equal(single.status, 'up');
  assert.ok(single.uptimeSeconds >= 1);
  assert.equal(single.local, '', 'FRR prints no local address for a configured single-hop session');
  assert.equal(multi.local, '10.0.1.13');
  assert.equal(single.detectMultiplier, 4);
  assert.equal(single.receiveIntervalMs, 200);
  // negotiated: tx = max(local tx 300, remote rx 300); rx = max(local rx 200, remote tx 300); detect = 3 x 300
  assert.deepEqual(single.negotiated, { transmitMs: 300, receiveMs: 300, detectTimeMs: 900 });
  assert.equal(never.up, false);
  assert.equal(never.uptimeSeconds, 0);
  assert.ok(never.downtimeSeconds > 0);
  assert.equal(never.negotiated, undefined, 'nothing negotiated with a peer never heard');
});

test('parseBfdPeers: the link cut (control detection time expired), no session, empty text, garbage', () => {
  const down = parseBfdPeers(fixture('bfd_peers_link_down.json'));
  assert.ok(down.length === 3 && down.every((p) => !p.up && p.uptimeSeconds === 0));
  assert.ok(down.some((p) => p.diagnostic === 'control detection time expired'));
  assert.deepEqual(parseBfdPeers(fixture('bfd_peers_none.json')), []);
  assert.deepEqual(parseBfdPeers(''), []);
  assert.throws(() => parseBfdPeers('% Unknown command: show bfd peers json'), FrrJsonError);
  assert.throws(() => parseBfdPeers('{"peer":"10.0.1.1"}'), /expected a JSON array/);
  const before = parseBfdPeers(fixture('bfd_peers_empty_down.json'));
  assert.ok(before.length > 0 && before.every((p) => !p.up));
});

test('bfdSessionFor prefers the up session of a neighbour', () => {
  const s = parseBfdPeers(fixture('bfd_peers.json'));
  assert.equal(bfdSessionFor(s, '10.0.1.1')?.up, true);
  assert.equal(bfdSessionFor(s, '10.0.1.99')?.up, false);
  assert.equal(bfdSessionFor(s, '10.0.1.2'), undefined);
  assert.equal(bfdSessionFor(s, '10.0.1.1', 'vrf-vpn'), undefined);
});

async function spec(gateway: string, bgp = 'ebgpMultiHop: false\n'): Promise<Spec> {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-bfd-'));
  try {
    writeFileSync(join(dir, 'bgp-conf.yaml'), `localASN: 65002\npeerASN: 65001\nrouterId: 10.0.1.13\nneighbours: [10.0.1.1]\n${bgp}`);
    writeFileSync(join(dir, 'gateway.yaml'), gateway);
    const r = await loadConfig({ configDir: dir, facts: { env: {}, interfaceIPv4: () => Promise.resolve(undefined) } });
    assert.ok(r.spec, JSON.stringify(r.problems));
    return r.spec;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('bfd off (absent, or enabled: false with settings) renders byte for byte what no bfd renders', async () => {
  const none = renderFrrConf(await spec('advertise: [10.17.0.0/16]\n'));
  assert.equal(renderFrrConf(await spec('advertise: [10.17.0.0/16]\nbfd: {enabled: false, detectMultiplier: 5}\n')), none);
  assert.doesNotMatch(none, /bfd/);
  const on = renderFrrConf(await spec('advertise: [10.17.0.0/16]\nbfd: {enabled: true}\n'));
  assert.match(on, /^ neighbor 10\.0\.1\.1 bfd$/m);
  assert.match(on, /^ peer 10\.0\.1\.1\n {2}profile FRRSUP-BFD$/m, 'single hop: a configured session with the profile');
  assert.doesNotMatch(on, /bfd profile|check-control-plane-failure/);
  const multihop = renderFrrConf(await spec('bfd: {enabled: true}\n', 'ebgpMultiHop: true\n'));
  assert.match(multihop, /^ neighbor 10\.0\.1\.1 bfd profile FRRSUP-BFD$/m, 'multihop: bgpd names the profile');
  assert.doesNotMatch(multihop, /^ peer /m);
});

test('restart scopes: BFD profile alone -> none (bfdd live); BFD on/off or a BGP change -> bgpd', async () => {
  const base = await spec('bfd: {enabled: true}\n');
  const faster = await spec('bfd: {enabled: true, receiveInterval: 100, transmitInterval: 100, echoMode: true}\n');
  const off = await spec('{}\n');
  const timers = await spec('bfd: {enabled: true}\n', 'ebgpMultiHop: false\nholdTime: 30s\n');
  const restarts = (a: Spec, b: Spec): string[] => planChange(a, b, { daemons: ['zebra', 'staticd', 'bgpd'] }).restarts;
  assert.deepEqual(restarts(base, faster), []);
  assert.deepEqual(restarts(base, off), ['bgpd']);
  assert.deepEqual(restarts(off, base), ['bgpd']);
  assert.deepEqual(restarts(base, timers), ['bgpd']);
  assert.deepEqual(bfddLiveCommands(base, faster), [
    'configure terminal',
    'bfd',
    'profile FRRSUP-BFD',
    'detect-multiplier 3',
    'receive-interval 100',
    'transmit-interval 100',
    'echo-mode',
    'no passive-mode',
    'no minimum-ttl',
    'exit',
  ]);
  // a neighbour added and one removed: the configured (single-hop) peers follow
  const other = await spec('bfd: {enabled: true}\n', 'ebgpMultiHop: false\n');
  const moved: Spec = { ...other, bgp: { ...other.bgp, neighbours: ['10.0.1.2'] } };
  assert.deepEqual(bfddLiveCommands(base, moved).slice(-4), ['no peer 10.0.1.1', 'peer 10.0.1.2', 'profile FRRSUP-BFD', 'exit']);
  const multihop = await spec('bfd: {enabled: true, minimumTtl: 250}\n', 'ebgpMultiHop: true\n');
  assert.deepEqual(bfdStaticPeers(multihop), [], 'multihop sessions need a local address: left to bgpd');
  assert.deepEqual(bfdStaticPeers(base), ['10.0.1.1']);
});

test('the daemon set: bfdd only with BFD on, after zebra and before bgpd; restarted with zebra, alone after its crash', () => {
  const v8 = daemonsFor(parseFrrVersion('zebra version 8.4.4'));
  const v10 = daemonsFor(parseFrrVersion('zebra version 10.3'));
  assert.ok(!v8.includes('bfdd') && !v10.includes('bfdd'));
  assert.deepEqual(withBfd(v8, true), ['zebra', 'bfdd', 'staticd', 'bgpd']);
  assert.deepEqual(withBfd(v10, true), ['mgmtd', 'zebra', 'bfdd', 'staticd', 'bgpd']);
  assert.deepEqual(withBfd(withBfd(v8, true), false), v8);
  assert.deepEqual(restartSetFor('zebra', withBfd(v8, true)), ['zebra', 'bfdd', 'bgpd']);
  assert.deepEqual(restartSetFor('zebra', v8), ['zebra', 'bgpd']);
  assert.deepEqual(restartSetFor('bgpd', withBfd(v8, true)), ['bgpd'], 'a BGP-only change leaves bfdd running');
  assert.deepEqual(dependentsOf('bfdd', withBfd(v8, true)), []);
});

test('poller: bfdd is asked only while it runs, and its sessions reach the snapshot, /metrics', async () => {
  const running = new Set<PolledDaemon>(['bgpd', 'zebra']);
  const asked: string[] = [];
  const poller = new Poller({
    query: (daemon, command) => {
      asked.push(`${daemon}: ${command}`);
      if (daemon === 'bfdd') return Promise.resolve(fixture('bfd_peers.json'));
      return Promise.resolve('{}');
    },
    intervalMs: 5000,
    timeoutMs: 1000,
    evpn: () => undefined,
    isRunning: (d) => running.has(d),
  });
  let snap = await poller.pollOnce();
  assert.ok(!asked.some((a) => a.startsWith('bfdd')), asked.join('; '));
  assert.deepEqual(snap.bfd, []);
  assert.equal(snap.errors['show bfd peers json'], undefined, 'BFD off is no poll error');
  running.add('bfdd');
  snap = await poller.pollOnce();
  assert.ok(asked.includes('bfdd: show bfd peers json'));
  assert.equal(snap.bfd.length, 3);
  const text = renderFrrFamilies(snap, undefined);
  assert.match(text, /^frr_bfd_peer_count 3$/m);
  assert.match(text, /^frr_bfd_peer_state\{local="10\.0\.1\.13",peer="10\.0\.1\.1",iface="",vrf="default"\} 1$/m);
  assert.match(text, /^frr_bfd_peer_state\{local="",peer="10\.0\.1\.99",iface="",vrf="default"\} 0$/m);
  assert.match(text, /^frr_bfd_peer_uptime\{local="",peer="10\.0\.1\.99",iface="",vrf="default"\} 0$/m);
});
