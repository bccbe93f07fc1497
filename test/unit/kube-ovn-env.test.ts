/**
 * `--env` reads what Kube-OVN 1.16 writes. The env below is transcribed from kubeovn/kube-ovn at 1533681d
 * (v1.16.0-400), pkg/controller/vpc_egress_gateway.go, vpcEgressGatewayInitContainerFRRConfig, for the
 * BgpConf/EvpnConf of Kube-OVN's docs ("Egress Gateway BGP and EVPN Support": bgp-conf-6502, evpn-conf-1016):
 *   LOCAL_ASN, PEER_ASN, ROUTER_ID (always, "" when spec.routerId is empty), NEIGHBOURS (comma-joined);
 *   BGP_PASSWORD only when set; BGP_HOLD_TIME / BGP_KEEPALIVE_TIME / BGP_CONNECT_TIME only when set, each
 *   formatDurationToSeconds = fmt.Sprintf("%ds", clamp(int64(d.Seconds()), 0, 65535)); BGP_EBGP_MULTIHOP "true"
 *   only when set; VNI and ROUTE_TARGETS (comma-joined) only with an EvpnConf.
 * Durations are read as its frr-render reads them (cmd/frr/frr.go): Go's time.ParseDuration, then whole seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseGoDuration, truncatedSeconds } from '../../src/config/go-duration.ts';
import { readEnv } from '../../src/config/env.ts';
import type { Problem } from '../../src/config/problems.ts';
import { formatProblem } from '../../src/config/problems.ts';
import { loadConfig } from '../../src/config/load.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { runCli } from '../helpers/cli.ts';

const BIN = fileURLToPath(new URL('../../bin/frr-supervisor.js', import.meta.url));

/** bgp-conf-6502 (localASN 65002, peerASN 65001, neighbours [10.0.1.1], holdTime 90s, keepaliveTime 30s, connectTime 10s, ebgpMultiHop true). */
const DOCS_BGP = {
  LOCAL_ASN: '65002',
  PEER_ASN: '65001',
  ROUTER_ID: '',
  NEIGHBOURS: '10.0.1.1',
  BGP_HOLD_TIME: '90s',
  BGP_KEEPALIVE_TIME: '30s',
  BGP_CONNECT_TIME: '10s',
  BGP_EBGP_MULTIHOP: 'true',
};
/** evpn-conf-1016 (vni 1016, routeTargets ["65000:1016"]). */
const DOCS_EVPN = { VNI: '1016', ROUTE_TARGETS: '65000:1016' };
/** Kube-OVN does not put POD_IP on the init container; the webhook puts it on the supervised container (downward API). */
const POD = { POD_IP: '10.16.0.13' };

const CASES: Array<{ name: string; env: Record<string, string>; lines: string[]; absent?: RegExp }> = [
  {
    name: "the docs' BgpConf + EvpnConf, no password",
    env: { ...DOCS_BGP, ...DOCS_EVPN, ...POD },
    lines: [
      'router bgp 65002',
      ' bgp router-id 10.16.0.13',
      ' neighbor 10.0.1.1 remote-as 65001',
      ' neighbor 10.0.1.1 ebgp-multihop 255',
      ' neighbor 10.0.1.1 timers 30 90',
      ' neighbor 10.0.1.1 timers connect 10',
      ' vni 1016',
      '  route-target import 65000:1016',
      '  route-target export 65000:1016',
    ],
    absent: /password/,
  },
  {
    name: "the docs' BgpConf with spec.password, + EvpnConf",
    env: { ...DOCS_BGP, BGP_PASSWORD: 'secret', ...DOCS_EVPN, ...POD },
    lines: [' neighbor 10.0.1.1 password secret', ' neighbor 10.0.1.1 timers 30 90', ' neighbor 10.0.1.1 timers connect 10'],
  },
  {
    // Kube-OVN's own template renders `timers 0 90` here (keepalive 0: FRR then sends no keepalives); the
    // supervisor derives keepalive = hold / 3, as for a BgpConf file.
    name: 'a BgpConf with holdTime only (BGP-only)',
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '', NEIGHBOURS: '10.0.1.1', BGP_HOLD_TIME: '90s', ...POD },
    lines: [' neighbor 10.0.1.1 timers 30 90', '  neighbor 10.0.1.1 activate'],
    absent: /timers connect|ebgp-multihop|password|l2vpn/,
  },
];

for (const c of CASES) {
  test(`Kube-OVN env: ${c.name} renders as expected`, async () => {
    const res = await loadConfig({ env: true, facts: { env: c.env, interfaceIPv4: () => Promise.resolve(undefined) } });
    assert.deepEqual(res.problems.map(formatProblem), [], 'no problem, not even a warning');
    assert.ok(res.spec);
    const conf = renderFrrConf(res.spec);
    const lines = conf.split('\n');
    for (const l of c.lines) assert.ok(lines.includes(l), `missing line ${JSON.stringify(l)} in:\n${conf}`);
    if (c.absent) assert.doesNotMatch(conf, c.absent);
  });
}

test('Kube-OVN env: `frr-supervisor check --env` (the executable, a child process) exits 0 for the docs example', async () => {
  for (const c of CASES) {
    const res = await execa('node', [BIN, 'check', '--env'], {
      env: { PATH: process.env.PATH ?? '', ...c.env },
      extendEnv: false,
      reject: false,
    });
    assert.equal(res.exitCode, 0, `${c.name}: stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    assert.match(res.stdout, /ok/);
  }
});

test('Kube-OVN env: an empty ROUTER_ID is unset (POD_IP, then the external interface); without either it is an error naming ROUTER_ID', async () => {
  const base = { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '', NEIGHBOURS: '10.0.1.1' };
  const fromIf = await loadConfig({
    env: true,
    facts: { env: base, interfaceIPv4: (i) => Promise.resolve(i === 'net1' ? '10.0.1.13' : undefined) },
  });
  assert.equal(fromIf.spec?.bgp.routerId, '10.0.1.13');
  // an IPv6 POD_IP is no BGP router id (FRR takes IPv4 only): Kube-OVN's frr-render would write it; the supervisor skips it
  const v6 = await loadConfig({
    env: true,
    facts: { env: { ...base, POD_IP: 'fd00::13' }, interfaceIPv4: (i) => Promise.resolve(i === 'net1' ? '10.0.1.13' : undefined) },
  });
  assert.equal(v6.spec?.bgp.routerId, '10.0.1.13');
  const none = await runCli(['check', '--env'], base);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: ROUTER_ID: routerId: is not set, POD_IP \(unset\)/m);
});

test("Go's time.ParseDuration grammar, exactly (go/src/time/format.go's cases)", () => {
  const ok: Array<[string, bigint]> = [
    ['0', 0n],
    ['+0', 0n],
    ['-0', 0n],
    ['90s', 90_000_000_000n],
    ['1m30s', 90_000_000_000n],
    ['1.5m', 90_000_000_000n],
    ['1h', 3_600_000_000_000n],
    ['500ms', 500_000_000n],
    ['.5s', 500_000_000n],
    ['5.s', 5_000_000_000n],
    ['1h2m3s4ms5us6ns', 3_723_004_005_006n],
    ['3µs', 3_000n],
    ['3μs', 3_000n],
    ['-1.5h', -5_400_000_000_000n],
    ['+5s', 5_000_000_000n],
    ['9223372036854775807ns', 9223372036854775807n],
    ['-9223372036854775808ns', -9223372036854775808n],
    ['0.100000000000000000000h', 360_000_000_000n],
  ];
  for (const [text, ns] of ok) assert.deepEqual(parseGoDuration(text), { ns }, text);
  const bad: Array<[string, string]> = [
    ['', 'invalid duration ""'],
    ['3', 'missing unit in duration "3"'],
    ['90', 'missing unit in duration "90"'],
    ['s', 'invalid duration "s"'],
    ['.s', 'invalid duration ".s"'],
    ['-', 'invalid duration "-"'],
    ['1d', 'unknown unit "d" in duration "1d"'],
    ['90 s', 'unknown unit " s" in duration "90 s"'],
    ['1S', 'unknown unit "S" in duration "1S"'],
    ['9223372036854775808ns', 'invalid duration "9223372036854775808ns"'],
    ['3000000h', 'invalid duration "3000000h"'],
  ];
  for (const [text, error] of bad) assert.deepEqual(parseGoDuration(text), { error }, text);
  // int64(d.Seconds()) truncates toward zero
  assert.equal(truncatedSeconds(1_999_999_999n), 1);
  assert.equal(truncatedSeconds(-500_000_000n), 0);
});

test("--env timers: whole seconds as Kube-OVN's frr-render derives them; a bare number is seconds; a truncation is a warning", () => {
  const read = (v: string): { value: unknown; problems: string[] } => {
    const problems: Problem[] = [];
    const env = readEnv({ LOCAL_ASN: '65002', BGP_HOLD_TIME: v }, problems);
    return { value: env.bgp.holdTime, problems: problems.map(formatProblem) };
  };
  assert.deepEqual(read('90s'), { value: '90s', problems: [] });
  assert.deepEqual(read('1m30s'), { value: '90s', problems: [] });
  assert.deepEqual(read('1h'), { value: '3600s', problems: [] });
  assert.deepEqual(read('90'), { value: '90s', problems: [] });
  assert.deepEqual(read('65535s'), { value: '65535s', problems: [] });
  assert.deepEqual(read('90.9s'), {
    value: '90s',
    problems: [
      'warning: BGP_HOLD_TIME: holdTime: "90.9s" is taken as 90 s: Kube-OVN\'s frr-render truncates to whole seconds, and so does the supervisor',
    ],
  });
  assert.deepEqual(read('65536s'), {
    value: undefined,
    problems: ['error: BGP_HOLD_TIME: holdTime: "65536s" is 65536 s; allowed: 0..65535 s (as Kube-OVN\'s frr-render)'],
  });
  assert.deepEqual(read('65536'), {
    value: undefined,
    problems: ['error: BGP_HOLD_TIME: holdTime: "65536" is 65536 s; allowed: 0..65535 s (as Kube-OVN\'s frr-render)'],
  });
});
