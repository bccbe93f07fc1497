/** A failing data plane step or forwarding switched off keeps BGP running but makes /readyz say so, and /status show it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readiness } from '../../src/observe/health.ts';
import { buildStatus } from '../../src/observe/status.ts';
import { formatStatus } from '../../src/cli/status-cmd.ts';
import type { SupervisorView } from '../../src/observe/view.ts';
import type { DataplaneReport } from '../../src/supervisor/apply.ts';
import type { FrrSnapshot } from '../../src/observe/poller.ts';

function view(dp: DataplaneReport | undefined): SupervisorView {
  return {
    startedAt: new Date(Date.now() - 60_000),
    lastBeat: new Date(),
    input: () => ({ sources: [], valid: true, problems: [] }),
    running: () => ({ generation: 1, hash: 'abc', appliedAt: '2026-11-30T00:00:00.000Z' }),
    lastApply: () => undefined,
    recentChecks: () => [],
    phase: () => 'idle',
    lastSuccessAt: () => new Date(),
    daemonStatus: () => [
      { name: 'zebra', running: true, restarts: 0 },
      { name: 'staticd', running: true, restarts: 0 },
      { name: 'bgpd', running: true, restarts: 0 },
    ],
    neighbours: () => ['10.0.1.1'],
    evpn: () => undefined,
    dataplane: () => dp,
  };
}

const snap: FrrSnapshot = {
  at: new Date(),
  durationMs: 1,
  errors: {},
  peers: [
    {
      vrf: 'default',
      afi: 'ipv4Unicast',
      localAs: 65002,
      routerId: '10.0.1.13',
      peer: '10.0.1.1',
      remoteAs: 65001,
      state: 'Established',
      established: true,
      adminDown: false,
      uptimeSeconds: 5,
      prefixesReceived: 1,
      prefixesSent: 1,
      messagesReceived: 1,
      messagesSent: 1,
      connectionsEstablished: 1,
      connectionsDropped: 0,
    },
  ],
  neighbors: [],
  vnis: [],
  vrfVnis: [],
  l3RemoteVteps: {},
  prefixRoutes: {},
  bfd: [],
};

const failing: DataplaneReport = {
  ok: false,
  checkedAt: '2026-11-30T00:00:00.000Z',
  error:
    'data plane step 9/9 failed: ip -n vrf-vpn route replace 10.17.0.0/16 via 10.16.0.1 proto static (advertised ...): Error: Nexthop has invalid gateway.',
  failedSteps: [
    {
      argv: ['ip', '-n', 'vrf-vpn', 'route', 'replace', '10.17.0.0/16', 'via', '10.16.0.1', 'proto', 'static'],
      why: 'advertised 10.17.0.0/16 ...',
      error: 'Error: Nexthop has invalid gateway.',
    },
  ],
  warnings: [],
  forwarding: { namespace: 'VRF namespace vrf-vpn', owned: true, needed: [4], state: { ipv4: true, ipv6: true }, problems: [] },
};

test('a failed data plane step: not ready, the step named; ready again once it is fixed', () => {
  const r = readiness(view(failing), snap, 'any');
  assert.equal(r.ok, false);
  assert.match(r.reason, /^not ready: data plane: data plane step 9\/9 failed: ip -n vrf-vpn route replace 10\.17\.0\.0\/16/);
  assert.ok(readiness(view({ ok: true, checkedAt: failing.checkedAt, warnings: [] }), snap, 'any').ok);
  assert.ok(readiness(view(undefined), snap, 'any').ok, 'no data plane report yet (an older view): neighbours decide');
});

test('forwarding off where the supervisor does not own it: not ready, the sysctl named; /status and the status table show it', () => {
  const off: DataplaneReport = {
    ok: false,
    checkedAt: '2026-11-30T00:00:00.000Z',
    warnings: [],
    forwarding: {
      namespace: "the gateway's namespace",
      owned: false,
      needed: [4],
      state: { ipv4: false, ipv6: true },
      problems: ["net.ipv4.ip_forward is 0 in the gateway's namespace: ..."],
    },
  };
  const r = readiness(view(off), snap, 'applied');
  assert.equal(r.ok, false);
  assert.match(r.reason, /net\.ipv4\.ip_forward is 0/);
  const doc = buildStatus(view(failing), snap, { ok: true, reason: 'alive' }, r);
  assert.equal(doc.dataplane?.failedSteps?.[0]?.error, 'Error: Nexthop has invalid gateway.');
  const table = formatStatus(buildStatus(view(off), snap, { ok: true, reason: 'alive' }, r));
  assert.match(table, /data plane: FAILING; forwarding in the gateway's namespace: IPv4 OFF, IPv6 on/);
  assert.match(formatStatus(doc), /failed: ip -n vrf-vpn route replace 10\.17\.0\.0\/16 via 10\.16\.0\.1 proto static/);
});
