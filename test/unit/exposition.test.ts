/**
 * /metrics as Prometheus' own tools see it, without FRR: `promtool check metrics` (Debian's Prometheus 2.42) on
 * a full exposition (every family with samples, BGP and EVPN) finds nothing but prometheus-frr-exporter's own
 * naming (EXPORTER_WARTS, each of them needed); the FRR families have the exporter's types; every counter exists
 * at 0 from the start for each label set known in advance, so that increase() sees its first event.
 * test/e2e/prometheus.test.ts does the same on a lab gateway in every mode, against the real exporter.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { DAEMON_NAMES } from '../../src/frr/daemon.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { labelCombinations, Metrics } from '../../src/observe/metrics.ts';
import { pollCommands, POLL_COMMANDS, routeSummaryCommand } from '../../src/observe/poller.ts';
import type { FrrSnapshot } from '../../src/observe/poller.ts';
import type { SupervisorView } from '../../src/observe/view.ts';
import type { PeerSummary } from '../../src/state/bgp.ts';
import { parseBfdPeers } from '../../src/state/bfd.ts';
import { EXPORTER_WARTS, lintKey, parseExposition, PROMTOOL, promtoolLint, sampleValue } from '../helpers/prometheus.ts';

const EVPN = { vni: 1016, vrf: 'vrf-vpn' };

function view(evpn?: typeof EVPN, daemons: readonly string[] = DAEMON_NAMES): SupervisorView {
  return {
    startedAt: new Date(Date.now() - 60_000),
    lastBeat: new Date(),
    input: () => ({ sources: [{ name: 'bgp-conf.yaml', sha256: 'x' }], valid: true, problems: [] }),
    running: () => ({ generation: 1, hash: 'abc', appliedAt: '2026-11-26T00:00:00.000Z' }),
    lastApply: () => undefined,
    recentChecks: () => [],
    phase: () => 'idle',
    lastSuccessAt: () => new Date(),
    daemonStatus: () => daemons.map((name) => ({ name: name as DaemonName, running: true, pid: 1, restarts: 0 })),
    neighbours: () => ['10.0.1.1'],
    evpn: () => evpn,
  };
}

const peer = (afi: string): PeerSummary => ({
  vrf: 'default',
  afi,
  localAs: 65002,
  routerId: '10.0.1.13',
  peer: '10.0.1.1',
  remoteAs: 65001,
  state: 'Established',
  established: true,
  adminDown: false,
  uptimeSeconds: 42,
  prefixesReceived: 3,
  prefixesSent: 1,
  messagesReceived: 10,
  messagesSent: 11,
  connectionsEstablished: 1,
  connectionsDropped: 0,
});

/** A poll with every FRR family populated: a BGP peer in two address families, an L3 VNI with a remote VTEP, type-5 routes. */
const FULL: FrrSnapshot = {
  at: new Date(),
  durationMs: 30,
  errors: {},
  peers: [peer('ipv4Unicast'), peer('l2VpnEvpn')],
  neighbors: [],
  vnis: [{ vni: 1016, type: 'L3', vxlanIf: 'vxlan-vpn', vrf: 'vrf-vpn', remoteVteps: [], numRemoteVteps: null }],
  vrfVnis: [{ vni: 1016, vrf: 'vrf-vpn', state: 'Up' }],
  l3RemoteVteps: { 1016: ['10.0.1.1'] },
  prefixRoutes: { 'vrf-vpn': 1 },
  bfd: parseBfdPeers(readFileSync(new URL('../fixtures/frr-json/bfd/bfd_peers.json', import.meta.url), 'utf8')),
};

/** The types prometheus-frr-exporter (1.1.4) gives the families we copy: newCounter for the message totals, newGauge for the rest. */
const EXPORTER_TYPES: Record<string, string> = {
  frr_bgp_peer_state: 'gauge',
  frr_bgp_peer_uptime_seconds: 'gauge',
  frr_bgp_peer_prefixes_received_count_total: 'gauge',
  frr_bgp_peer_prefixes_advertised_count_total: 'gauge',
  frr_bgp_peer_message_received_total: 'counter',
  frr_bgp_peer_message_sent_total: 'counter',
  frr_bgp_l2vpn_evpn_remote_vtep_count_total: 'gauge',
  frr_bfd_peer_count: 'gauge',
  frr_bfd_peer_state: 'gauge',
  frr_bfd_peer_uptime: 'gauge',
};

async function fullExposition(): Promise<string> {
  const m = new Metrics();
  m.recordApply({ result: 'applied', generation: 1, at: '', durationMs: 1234, restarted: [], reason: 'test' });
  m.daemonRestarts.inc({ daemon: 'bgpd', reason: 'crash' });
  m.pollErrors.inc({ command: POLL_COMMANDS.summary });
  m.pollDuration.observe(0.02);
  m.update(view(EVPN), FULL, true);
  return m.exposition();
}

before(() => {
  if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: scripts/install-deps.sh installs Debian's prometheus`);
});

test('every counter is exported at 0 from the start, for each combination of its known label values', async () => {
  const m = new Metrics();
  const text = await m.exposition();
  const counters = (await m.registry.getMetricsAsJSON()).filter((f) => String(f.type) === 'counter' && f.name.startsWith('frr_'));
  assert.ok(counters.length >= 3);
  for (const c of counters) {
    const known = m.counterLabels.get(c.name);
    assert.ok(known, `${c.name}: declare its label values (Metrics.counter) so that it exists from the start`);
    const combos = labelCombinations(known);
    assert.equal(c.values.length, combos.length, `${c.name}: one series per combination`);
    for (const labels of combos) assert.equal(sampleValue(text, c.name, labels), 0, `${c.name}${JSON.stringify(labels)}`);
  }
  // Written out, not read from the code's own constants (a test reading them could not fail on a missing value).
  for (const daemon of ['zebra', 'staticd', 'bgpd'])
    for (const reason of ['config', 'crash', 'dependency'])
      assert.equal(sampleValue(text, 'frr_supervisor_daemon_restarts_total', { daemon, reason }), 0, `${daemon} ${reason}`);
  for (const result of ['applied', 'failed', 'invalid'])
    assert.equal(sampleValue(text, 'frr_supervisor_config_applies_total', { result }), 0, result);
  for (const command of ['show bgp vrf all summary json', 'show bgp vrf all neighbors json'])
    assert.equal(sampleValue(text, 'frr_supervisor_poll_errors_total', { command }), 0, command);
});

test('FRR 10 with BFD on: mgmtd and bfdd restarts and the BFD poll command have their 0 series too (written out, not read from the code)', async () => {
  const m = new Metrics();
  m.update(view(undefined, ['mgmtd', 'zebra', 'bfdd', 'staticd', 'bgpd']), undefined, true);
  const text = await m.exposition();
  for (const daemon of ['mgmtd', 'zebra', 'bfdd', 'staticd', 'bgpd'])
    for (const reason of ['config', 'crash', 'dependency'])
      assert.equal(sampleValue(text, 'frr_supervisor_daemon_restarts_total', { daemon, reason }), 0, `${daemon} ${reason}`);
  for (const command of ['show bgp vrf all summary json', 'show bfd peers json'])
    assert.equal(sampleValue(text, 'frr_supervisor_poll_errors_total', { command }), 0, command);
});

test('a poll command known only with the EVPN target gets its 0 once the target is; events add to the 0', async () => {
  const m = new Metrics();
  m.update(view(EVPN), undefined, false);
  m.daemonRestarts.inc({ daemon: 'bgpd', reason: 'crash' });
  const text = await m.exposition();
  for (const command of pollCommands(EVPN)) assert.equal(sampleValue(text, 'frr_supervisor_poll_errors_total', { command }), 0, command);
  assert.ok(pollCommands(EVPN).includes(routeSummaryCommand(EVPN.vrf)));
  assert.equal(sampleValue(text, 'frr_supervisor_daemon_restarts_total', { daemon: 'bgpd', reason: 'crash' }), 1);
  assert.equal(sampleValue(text, 'frr_supervisor_daemon_restarts_total', { daemon: 'zebra', reason: 'crash' }), 0);
});

test("promtool check metrics: only prometheus-frr-exporter's own naming, and each allowed problem is needed", async () => {
  const text = await fullExposition();
  for (const [name, f] of parseExposition(text)) if (name.startsWith('frr_')) assert.ok(f.samples > 0, `${name} has samples here`);
  const r = await promtoolLint(text);
  assert.deepEqual(r.unexpected, []);
  assert.deepEqual([...r.allowed].sort(), EXPORTER_WARTS.map(lintKey).sort(), 'every allowed problem occurs (else drop it)');
  for (const w of EXPORTER_WARTS) assert.ok(w.reason.length > 20, `${w.metric}: say why it is allowed`);
});

test("promtool check metrics fails on a counter typed gauge and on a family that is not the exporter's", async () => {
  const text = await fullExposition();
  const broken = text
    .replace('# TYPE frr_bgp_peer_message_sent_total counter', '# TYPE frr_bgp_peer_message_sent_total gauge')
    .replace('# TYPE frr_evpn_prefix_routes gauge', '# TYPE frr_evpn_prefix_routes_total gauge')
    .replace(/^frr_evpn_prefix_routes\{/m, 'frr_evpn_prefix_routes_total{')
    .replace('# HELP frr_evpn_prefix_routes ', '# HELP frr_evpn_prefix_routes_total ');
  const r = await promtoolLint(broken);
  assert.ok(
    r.unexpected.includes('frr_bgp_peer_message_sent_total: non-counter metrics should not have "_total" suffix'),
    r.unexpected.join('\n'),
  );
  assert.ok(
    r.unexpected.includes('frr_evpn_prefix_routes_total: non-counter metrics should not have "_total" suffix'),
    r.unexpected.join('\n'),
  );
  const garbled = await promtoolLint(`${text}frr_bgp_peer_state{peer="x} 1\n`);
  assert.ok(
    garbled.unexpected.some((p) => p.startsWith('promtool exited')),
    'a parse error is a failure too',
  );
});

test("the FRR families have prometheus-frr-exporter's types", async () => {
  const families = parseExposition(await fullExposition());
  for (const [name, type] of Object.entries(EXPORTER_TYPES)) assert.equal(families.get(name)?.type, type, name);
  const families2 = await new Metrics().families();
  for (const [name, type] of Object.entries(EXPORTER_TYPES))
    assert.equal(families2.find((f) => f.name === name)?.type, type, `families(): ${name}`);
});

test("prom-client's gauges named like counters (nodejs_active_*_total) are not exported; their labelled siblings are", async () => {
  const families = parseExposition(await new Metrics().exposition());
  for (const name of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) {
    assert.ok(!families.has(`${name}_total`), `${name}_total`);
    assert.equal(families.get(name)?.type, 'gauge', name);
  }
});
