/** The observability layer without FRR: probe verdicts, label mapping, listen parsing, the status table, the /metrics cache, HTTP deadlines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveness, readiness, LIVENESS_POLL_FAILURES } from '../../src/observe/health.ts';
import { afiSafi, Metrics, renderFrrFamilies } from '../../src/observe/metrics.ts';
import { createHttpServer, parseListen } from '../../src/observe/http.ts';
import { Observer } from '../../src/observe/observer.ts';
import { DETAIL_EVERY, Poller } from '../../src/observe/poller.ts';
import { readFileSync } from 'node:fs';
import { FrrPaths } from '../../src/frr/paths.ts';
import { createLogger } from '../../src/log.ts';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildStatus } from '../../src/observe/status.ts';
import { formatStatus } from '../../src/cli/status-cmd.ts';
import { parseBfdPeers } from '../../src/state/bfd.ts';
import type { SupervisorView } from '../../src/observe/view.ts';
import type { FrrSnapshot, PolledDaemon } from '../../src/observe/poller.ts';
import type { PeerSummary } from '../../src/state/bgp.ts';
import type { DaemonStatus } from '../../src/supervisor/daemons.ts';

const up = (name: DaemonStatus['name']): DaemonStatus => ({ name, running: true, pid: 1, restarts: 0 });

function view(
  over: Partial<{ daemons: DaemonStatus[]; applied: boolean; neighbours: string[]; lastBeat: Date; valid: boolean }> = {},
): SupervisorView {
  const applied = over.applied ?? true;
  return {
    startedAt: new Date(Date.now() - 60_000),
    lastBeat: over.lastBeat ?? new Date(),
    input: () => ({
      sources: [{ name: 'bgp-conf.yaml', sha256: 'x' }],
      valid: over.valid ?? true,
      problems: over.valid === false ? ['error: bgp-conf.yaml: localASN: is required'] : [],
    }),
    running: () => (applied ? { generation: 3, hash: 'abc', appliedAt: '2026-11-26T00:00:00.000Z' } : undefined),
    lastApply: () => undefined,
    recentChecks: () => [],
    phase: () => 'idle',
    lastSuccessAt: () => (applied ? new Date() : undefined),
    daemonStatus: () => over.daemons ?? [up('zebra'), up('staticd'), up('bgpd')],
    neighbours: () => over.neighbours ?? ['10.0.1.1', '10.0.1.2'],
    evpn: () => undefined,
  };
}

function peer(p: string, established: boolean, afi = 'ipv4Unicast'): PeerSummary {
  return {
    vrf: 'default',
    afi,
    localAs: 65002,
    routerId: '10.0.1.13',
    peer: p,
    remoteAs: 65001,
    state: established ? 'Established' : 'Active',
    established,
    adminDown: false,
    uptimeSeconds: established ? 42 : 0,
    prefixesReceived: established ? 3 : 0,
    prefixesSent: 1,
    messagesReceived: 10,
    messagesSent: 11,
    connectionsEstablished: 1,
    connectionsDropped: 0,
  };
}

const snap = (peers: PeerSummary[]): FrrSnapshot => ({
  at: new Date(),
  durationMs: 30,
  errors: {},
  peers,
  neighbors: [],
  vnis: [],
  vrfVnis: [],
  l3RemoteVteps: {},
  prefixRoutes: {},
  bfd: [],
});

test('liveness: alive without peers; not live when a daemon stays down past its backoff, or vtysh fails 3 polls', () => {
  assert.equal(liveness(view(), 0).ok, true);
  assert.equal(liveness(view({ applied: false }), 0).ok, true, 'waiting for a valid config is alive');
  const down = (ms: number, backoff: number): DaemonStatus => ({
    name: 'bgpd',
    running: false,
    restarts: 2,
    downSince: new Date(Date.now() - ms).toISOString(),
    nextAttemptMs: backoff,
  });
  assert.equal(liveness(view({ daemons: [up('zebra'), up('staticd'), down(3000, 1000)] }), 0).ok, true, 'within backoff + grace');
  const v = liveness(view({ daemons: [up('zebra'), up('staticd'), down(60_000, 30_000)] }), 0);
  assert.equal(v.ok, false);
  assert.match(v.reason, /bgpd has been down for 60 s/);
  assert.equal(liveness(view(), LIVENESS_POLL_FAILURES - 1).ok, true);
  assert.match(liveness(view(), LIVENESS_POLL_FAILURES).reason, /FRR did not answer 3 polls in a row/);
  assert.equal(liveness(view({ lastBeat: new Date(Date.now() - 30_000) }), 0).ok, false);
});

test('readiness per --ready-when', () => {
  const none = snap([peer('10.0.1.1', false), peer('10.0.1.2', false)]);
  const one = snap([peer('10.0.1.1', true), peer('10.0.1.2', false)]);
  const both = snap([peer('10.0.1.1', true), peer('10.0.1.2', true)]);
  assert.equal(readiness(view(), none, 'applied').ok, true);
  assert.equal(readiness(view(), none, 'any').ok, false);
  assert.equal(readiness(view(), one, 'any').ok, true);
  assert.equal(readiness(view(), one, 'all').ok, false);
  assert.match(readiness(view(), one, 'all').reason, /1\/2 neighbours not Established/);
  assert.equal(readiness(view(), both, 'all').ok, true);
  assert.equal(readiness(view({ applied: false }), both, 'applied').ok, false, 'not ready before the first apply');
  assert.match(
    readiness(view({ applied: false, valid: false }), both, 'any').reason,
    /input is invalid: error: bgp-conf.yaml: localASN: is required/,
  );
  assert.equal(
    readiness(view({ daemons: [up('zebra'), { name: 'staticd', running: false, restarts: 1 }, up('bgpd')] }), both, 'applied').ok,
    false,
  );
  // a neighbour Established but not configured (left from a previous config) does not count
  assert.equal(readiness(view({ neighbours: ['10.0.1.9'] }), both, 'any').ok, false);
});

test('exporter labels from FRR AFI keys', () => {
  assert.deepEqual(afiSafi('ipv4Unicast'), { afi: 'ipv4', safi: 'unicast' });
  assert.deepEqual(afiSafi('ipv6Unicast'), { afi: 'ipv6', safi: 'unicast' });
  assert.deepEqual(afiSafi('l2VpnEvpn'), { afi: 'l2vpn', safi: 'evpn' });
});

test('metrics: series follow the snapshot (no stale neighbours)', async () => {
  const m = new Metrics();
  m.update(view(), snap([peer('10.0.1.1', true), peer('10.0.1.2', false)]), true);
  let text = await m.exposition();
  assert.match(text, /frr_bgp_peer_state\{vrf="default",afi="ipv4",safi="unicast",local_as="65002",peer="10.0.1.1",peer_as="65001"\} 1/);
  assert.match(text, /frr_bgp_peer_state\{[^}]*peer="10.0.1.2"[^}]*\} 0/);
  m.update(view(), snap([peer('10.0.1.1', true)]), true);
  text = await m.exposition();
  assert.doesNotMatch(text, /peer="10.0.1.2"/);
  assert.match(text, /^frr_supervisor_ready 1$/m);
});

test('--listen parsing', () => {
  assert.deepEqual(parseListen('0.0.0.0:9180'), { host: '0.0.0.0', port: 9180 });
  assert.deepEqual(parseListen('[::]:9180'), { host: '::', port: 9180 });
  assert.deepEqual(parseListen(':9180'), { host: '0.0.0.0', port: 9180 });
  assert.throws(() => parseListen('9180'), /HOST:PORT/);
  assert.throws(() => parseListen('a:70000'), /HOST:PORT/);
});

test('status document and table', () => {
  const v = view();
  const s = snap([peer('10.0.1.1', true), peer('10.0.1.1', true, 'ipv6Unicast'), peer('10.0.1.2', false)]);
  const doc = buildStatus(v, s, liveness(v, 0), readiness(v, s, 'any'));
  assert.equal(doc.neighbours.length, 2);
  assert.deepEqual(Object.keys(doc.neighbours[0]!.afis), ['ipv4-unicast', 'ipv6-unicast']);
  const text = formatStatus(doc);
  assert.match(text, /^NEIGHBOUR\s+VRF\s+STATE/m);
  assert.match(text, /^10\.0\.1\.1\s+default\s+Established\s+42s\s+ipv4-unicast\s+3\s+1/m);
  assert.match(text, /^bgpd\s+up\s+1/m);
  assert.doesNotMatch(text, /^NEIGHBOUR\s+BFD/m, 'no BFD table without BFD');
  assert.equal(doc.neighbours[0]!.bfd, null);
  assert.equal(doc.config.applying, null, 'no step in progress');
  assert.doesNotMatch(text, /^applying:/m);
  // an apply in progress: its step, like show watchfrr's phase
  const applying = {
    step: 'restart' as const,
    index: 3,
    of: 5,
    detail: 'restart bgpd (SIGKILL, graceful)',
    since: '2026-12-04T21:00:00.000Z',
  };
  const busy = buildStatus({ ...v, applyProgress: () => applying }, s, liveness(v, 0), readiness(v, s, 'any'));
  assert.deepEqual(busy.config.applying, applying);
  assert.match(formatStatus(busy), /^applying: step 3\/5 since 2026-12-04T21:00:00\.000Z: restart bgpd \(SIGKILL, graceful\)$/m);
});

test('status document and table: the BFD session of each neighbour (real FRR 8.4.4 output)', () => {
  const v = view({ neighbours: ['10.0.1.1', '10.0.1.99'] });
  const bfd = parseBfdPeers(readFileSync(new URL('../fixtures/frr-json/bfd/bfd_peers.json', import.meta.url), 'utf8'));
  const s = { ...snap([peer('10.0.1.1', true), peer('10.0.1.99', false)]), bfd };
  const doc = buildStatus(v, s, liveness(v, 0), readiness(v, s, 'any'));
  const [up1, down] = doc.neighbours;
  assert.equal(up1?.bfd?.up, true);
  assert.deepEqual(up1?.bfd?.negotiated, { transmitMs: 300, receiveMs: 300, detectTimeMs: 900 });
  assert.equal(down?.bfd?.up, false);
  assert.equal(down?.bfd?.negotiated, null);
  const text = formatStatus(doc);
  assert.match(text, /^NEIGHBOUR\s+BFD\s+UPTIME\s+HOPS\s+TX MS\s+RX MS\s+DETECT MS\s+DIAGNOSTIC$/m);
  assert.match(text, /^10\.0\.1\.1\s+up\s+\d+s\s+(?:single|multi)\s+300\s+300\s+900\s+ok$/m);
  assert.match(text, /^10\.0\.1\.99\s+DOWN\s+-\s+single\s+-\s+-\s+-\s+ok$/m);
});

test('observer: /metrics is rendered once per change and served from cache; a render overlapping a change is not kept', async () => {
  const logger = createLogger('silent');
  const paths = new FrrPaths({ configDir: '/nonexistent-frrsup', pathspace: 'unit' });
  const o = new Observer({
    view: view(),
    paths,
    logger,
    listen: '127.0.0.1:0',
    pollIntervalMs: 5000,
    vtyshTimeoutMs: 1000,
    readyWhen: 'any',
  });
  const first = await o.metricsBody();
  assert.equal(await o.metricsBody(), first, 'served from the cache: the same buffer');
  assert.match(first.toString(), /^frr_supervisor_config_applies_total\{result="applied"\} 0$/m);
  o.metrics.recordApply({ result: 'applied', generation: 1, at: new Date().toISOString(), durationMs: 100, restarted: [], reason: 'unit' });
  assert.equal(await o.metricsBody(), first, 'no re-render before an invalidation');
  o.invalidateMetrics();
  const second = await o.metricsBody();
  assert.notEqual(second, first);
  assert.match(second.toString(), /^frr_supervisor_config_applies_total\{result="applied"\} 1$/m);
  // A change while a render is in flight: that render answers its callers, the next request renders again.
  const inFlight = o.metricsBody();
  o.metrics.recordApply({ result: 'failed', generation: 1, at: new Date().toISOString(), durationMs: 5, restarted: [], reason: 'unit' });
  o.invalidateMetrics();
  await inFlight;
  const third = await o.metricsBody();
  assert.match(third.toString(), /^frr_supervisor_config_applies_total\{result="failed"\} 1$/m);
});

test('HTTP: a connection must send its request headers within 5 s: a partial request gets a 408, an idle one is closed', async () => {
  const server = createHttpServer({
    livez: () => ({ ok: true, reason: 'stub' }),
    readyz: () => ({ ok: true, reason: 'stub' }),
    status: () => ({}),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: Buffer.from('m 1\n') }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const exchange = (send: string): Promise<{ ms: number; data: string }> =>
    new Promise((resolve, reject) => {
      const t0 = Date.now();
      let data = '';
      const sock = connect(port, '127.0.0.1', () => sock.write(send));
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => (data += d));
      sock.on('error', reject);
      sock.on('close', () => resolve({ ms: Date.now() - t0, data }));
      setTimeout(() => {
        sock.destroy();
        reject(new Error(`still open after 9 s; got ${JSON.stringify(data)}`));
      }, 9000).unref();
    });
  try {
    const [partial, idle, answered] = await Promise.all([
      exchange('GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: a'),
      exchange(''),
      // a complete request is answered; then the kept-alive connection is closed after 5 s of silence
      exchange('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]);
    assert.match(partial.data, /^HTTP\/1\.1 408 /, 'a partial request is told why');
    assert.equal(idle.data, '', 'an idle connection is closed without an answer');
    assert.match(answered.data, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nm 1\n$/);
    for (const r of [partial, idle, answered]) assert.ok(r.ms >= 4500 && r.ms <= 7000, `closed after ${r.ms} ms (5 s deadline)`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('metrics: the FRR families are written in the text format, label values escaped, each family once with HELP and TYPE', () => {
  const odd = { ...peer('10.0.1.1', true), vrf: 'a"b\\c\nd' };
  const text = renderFrrFamilies(snap([odd, peer('10.0.1.2', false)]), undefined);
  assert.ok(
    text.includes(
      'frr_bgp_peer_state{vrf="a\\"b\\\\c\\nd",afi="ipv4",safi="unicast",local_as="65002",peer="10.0.1.1",peer_as="65001"} 1\n',
    ),
    text.slice(0, 400),
  );
  assert.match(
    text,
    /^frr_bgp_peer_prefixes_received_count_total\{vrf="default",afi="ipv4",safi="unicast",local_as="65002",peer="10.0.1.2",peer_as="65001"\} 0$/m,
  );
  for (const [name, type] of [
    ['frr_bgp_peer_state', 'gauge'],
    ['frr_bgp_peer_uptime_seconds', 'gauge'],
    ['frr_bgp_peer_message_sent_total', 'counter'],
    ['frr_evpn_vni_up', 'gauge'],
    ['frr_evpn_prefix_routes', 'gauge'],
  ] as const) {
    assert.equal(text.split('\n').filter((l) => l === `# TYPE ${name} ${type}`).length, 1, name);
    assert.equal(text.split('\n').filter((l) => l.startsWith(`# HELP ${name} `)).length, 1, name);
  }
  // every sample line is NAME{...} VALUE, with no raw newline inside a label value
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#')))
    assert.match(line, /^[a-z_]+(?:\{(?:[a-zA-Z_]+="(?:[^"\\\n]|\\["\\n])*",?)*\})? -?\d+(?:\.\d+)?$/, line);
  assert.equal(
    renderFrrFamilies(undefined, undefined)
      .split('\n')
      .filter((l) => l.startsWith('# TYPE')).length,
    13,
    'every family also without a poll',
  );
  // a session FRR holds down for exceeding maximum-prefix
  const limited = renderFrrFamilies(snap([{ ...peer('10.0.1.3', false), state: 'Idle (PfxCt)' }, peer('10.0.1.2', false)]), undefined);
  assert.match(
    limited,
    /^frr_supervisor_bgp_peer_prefix_limit_exceeded\{vrf="default",afi="ipv4",safi="unicast",local_as="65002",peer="10\.0\.1\.3",peer_as="65001"\} 1$/m,
  );
  assert.match(limited, /^frr_supervisor_bgp_peer_prefix_limit_exceeded\{[^}]*peer="10\.0\.1\.2"[^}]*\} 0$/m);
});

test('poller: the neighbours detail is read at the first poll, after a state change or a flap between polls, and every DETAIL_EVERY polls', async () => {
  const summary = readFileSync(new URL('../fixtures/frr-json/afi/bgp_vrf_all_summary.json', import.meta.url), 'utf8');
  const neighbours = readFileSync(new URL('../fixtures/frr-json/afi/bgp_neighbors.json', import.meta.url), 'utf8');
  let answer = summary;
  const asked: string[] = [];
  const poller = new Poller({
    query: (_daemon, command) => {
      asked.push(command);
      return Promise.resolve(command.includes('neighbors') ? neighbours : answer);
    },
    intervalMs: 5000,
    timeoutMs: 1000,
    evpn: () => undefined,
    isRunning: () => true,
  });
  const detailReads = async (polls: number): Promise<number> => {
    asked.length = 0;
    for (let i = 0; i < polls; i++) await poller.pollOnce();
    return asked.filter((c) => c.includes('neighbors')).length;
  };
  assert.equal(await detailReads(1), 1, 'first poll');
  assert.equal(await detailReads(5), 0, 'nothing changed');
  answer = summary
    .replace('"connectionsDropped":0', '"connectionsDropped":1')
    .replace('"connectionsEstablished":1', '"connectionsEstablished":2');
  assert.equal(await detailReads(1), 1, 'a flap between two polls (still Established, counters moved)');
  answer = answer.replace('"state":"Established"', '"state":"Active"');
  assert.equal(await detailReads(1), 1, 'a state change');
  assert.equal(await detailReads(DETAIL_EVERY - 1), 0);
  assert.equal(await detailReads(1), 1, `the periodic refresh after ${DETAIL_EVERY} polls`);
});

test('metrics: a peer listed twice in a snapshot gives one series (a duplicate would fail the whole scrape)', () => {
  const text = renderFrrFamilies(snap([peer('10.0.1.1', true), peer('10.0.1.1', false)]), undefined);
  assert.equal(text.split('\n').filter((l) => l.startsWith('frr_bgp_peer_state{')).length, 1);
});

test('poller: a daemon the supervisor does not run is not asked, and is no failed poll (liveness before the first config)', async () => {
  const running = new Set<PolledDaemon>();
  const asked: string[] = [];
  const poller = new Poller({
    query: (daemon, command) => {
      asked.push(`${daemon}: ${command}`);
      return Promise.reject(new Error(`connect ENOENT /var/run/frr/${daemon}.vty`));
    },
    intervalMs: 5000,
    timeoutMs: 1000,
    evpn: () => ({ vni: 1016, vrf: 'vrf-vpn' }),
    isRunning: (d) => running.has(d),
  });
  for (let i = 0; i < 10; i++) await poller.pollOnce();
  assert.equal(asked.length, 0, `nothing asked while no daemon runs: ${asked.join('; ')}`);
  assert.equal(poller.consecutiveFailures, 0);
  assert.equal(poller.last?.errors['show bgp vrf all summary json'], 'bgpd is not running');
  // zebra runs, bgpd is down (e.g. in its restart backoff): only zebra's failures count
  running.add('zebra');
  await poller.pollOnce();
  assert.ok(asked.length > 0 && asked.every((a) => a.startsWith('zebra: ')), asked.join('; '));
  assert.equal(poller.consecutiveFailures, 1, 'every running daemon asked failed');
  running.add('bgpd');
  await poller.pollOnce();
  assert.equal(poller.consecutiveFailures, 2);
});
