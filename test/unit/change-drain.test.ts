/** The per-replica delay of the EVPN change drain (src/supervisor/change-drain.ts) and its gateway.yaml field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { changeDrainDelay, drainsBeforeRestart, withdrawCommands } from '../../src/supervisor/change-drain.ts';
import { replicaAnchor } from '../../src/render/frr-conf.ts';
import { loadConfig } from '../../src/config/load.ts';
import { validateGateway } from '../../src/config/validate.ts';
import { Reporter } from '../../src/config/problems.ts';
import type { Problem } from '../../src/config/problems.ts';
import { GATEWAY_DEFAULTS } from '../../src/config/types.ts';
import type { Spec } from '../../src/config/types.ts';

const D = { enabled: true, slotSeconds: 10, slots: 10, settleSeconds: 1, maxWaitSeconds: 5 };

test('consecutive Pod IPs get different slots (up to `slots` of them), whatever the subnet', () => {
  for (const base of ['10.0.2.11', '10.16.255.250', '192.168.1.0']) {
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
    const start = ((a * 256 + b) * 256 + c) * 256 + d;
    const ips = Array.from({ length: 10 }, (_, k) => {
      const n = start + k;
      return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    });
    const slots = ips.map((ip) => changeDrainDelay(ip, D).slot);
    assert.equal(new Set(slots).size, 10, `${ips.join(',')} -> ${slots.join(',')}`);
  }
  assert.deepEqual(changeDrainDelay('10.0.2.13', D), { slot: 5, delayMs: 50_000 }); // 0x0a00020d = 167772685
  assert.deepEqual(changeDrainDelay('10.0.2.13', { ...D, slots: 4, slotSeconds: 6 }), { slot: 1, delayMs: 6000 });
  assert.equal(changeDrainDelay('255.255.255.255', D).slot, 4294967295 % 10);
});

test('gateway.yaml changeDrain: defaults off; a block turns it on; values parsed', () => {
  const problems: Problem[] = [];
  const off = validateGateway({}, new Reporter(problems, 'gateway.yaml'));
  assert.deepEqual(off?.changeDrain, GATEWAY_DEFAULTS.changeDrain);
  assert.equal(off?.changeDrain.enabled, false);
  const on = validateGateway(
    { changeDrain: { slot: '6s', slots: 4, settle: '0s', maxWait: '3s' } },
    new Reporter(problems, 'gateway.yaml'),
  );
  assert.deepEqual(on?.changeDrain, { enabled: true, slotSeconds: 6, slots: 4, settleSeconds: 0, maxWaitSeconds: 3 });
  assert.deepEqual(problems, []);
  const badProblems: Problem[] = [];
  const bad = validateGateway({ changeDrain: { slot: '500ms' } }, new Reporter(badProblems, 'gateway.yaml'));
  assert.equal(bad, undefined);
  assert.match(
    badProblems.map((p) => `${p.path}: ${p.message}`).join('\n'),
    /changeDrain\.slot: "500ms" is 0\.5 s: FRR takes whole seconds/,
  );
});

test('the drain runs only when the running config is in EVPN mode and the new one asks for it', () => {
  const spec = (evpn: boolean, enabled: boolean): Spec =>
    ({
      bgp: { routerId: '10.0.2.11' },
      ...(evpn && { evpn: { vni: 1016, routeTargets: [] } }),
      gateway: { ...GATEWAY_DEFAULTS, changeDrain: { ...D, enabled } },
    }) as unknown as Spec;
  assert.equal(drainsBeforeRestart(spec(true, true), spec(true, true)), true);
  assert.equal(drainsBeforeRestart(spec(true, false), spec(false, true)), true, 'leaving EVPN withdraws the type-5 routes too');
  assert.equal(drainsBeforeRestart(spec(false, true), spec(true, true)), false, 'BGP-only: graceful restart keeps the routes');
  assert.equal(drainsBeforeRestart(spec(true, true), spec(true, false)), false);
});

test('changeDrain.anchors: each replica its own /32 of the range (router id mod size); strict IPv4 /8../30', () => {
  assert.equal(replicaAnchor('10.0.2.11', '10.17.255.0/24'), '10.17.255.11/32');
  assert.equal(replicaAnchor('10.0.1.13', '10.16.255.0/28'), '10.16.255.13/32');
  assert.equal(replicaAnchor('10.0.1.29', '10.16.255.0/28'), '10.16.255.13/32', '29 mod 16 = 13');
  assert.equal(replicaAnchor('192.168.3.200', '10.0.0.0/8'), '10.168.3.200/32');
  const ips = Array.from({ length: 10 }, (_, k) => `10.0.2.${250 + k > 255 ? 250 + k - 256 : 250 + k}`);
  assert.equal(new Set(ips.map((ip) => replicaAnchor(ip, '10.17.255.0/28'))).size, 10, 'consecutive Pod IPs, different anchors');
  for (const [value, message] of [
    ['fd00::/64', /must be an IPv4 range of \/8 to \/30/],
    ['10.17.255.0/31', /must be an IPv4 range of \/8 to \/30/],
    ['10.17.255.1/24', /host bits are set; the network is 10\.17\.255\.0\/24/],
    [24, /must be a CIDR string/],
  ] as const) {
    const problems: Problem[] = [];
    assert.equal(validateGateway({ changeDrain: { anchors: value } }, new Reporter(problems, 'gateway.yaml')), undefined);
    assert.match(problems.map((p) => `${p.path}: ${p.message}`).join('\n'), /changeDrain\.anchors: /);
    assert.match(problems.map((p) => p.message).join('\n'), message);
  }
});

test('withdrawal commands: everything without anchors; with anchors every prefix but the anchor, IPv6 via advertise', async () => {
  const spec = async (name: string): Promise<Spec> => {
    const dir = fileURLToPath(new URL(`../golden/${name}/input/`, import.meta.url));
    const r = await loadConfig({
      configDir: dir,
      facts: { env: { POD_IP: '10.0.1.13' }, interfaceIPv4: () => Promise.resolve(undefined) },
    });
    assert.ok(r.spec, JSON.stringify(r.problems));
    return r.spec;
  };
  const head = ['configure terminal', 'router bgp 65002 vrf vrf-vpn'];
  assert.deepEqual(withdrawCommands(await spec('docs-evpn')), [...head, 'address-family l2vpn evpn', 'no advertise ipv4 unicast']);
  assert.deepEqual(withdrawCommands(await spec('evpn-anchors')), [
    ...head,
    'address-family ipv4 unicast',
    'no network 10.16.0.0/16',
    'no network 10.17.0.0/16',
    'exit-address-family',
    'address-family l2vpn evpn',
    'no advertise ipv6 unicast',
  ]);
  assert.deepEqual(withdrawCommands(await spec('evpn-anchors-redistribute')), [
    ...head,
    'address-family ipv4 unicast',
    'no redistribute kernel route-map FRRSUP-EXPORT-V4',
    'no redistribute connected route-map FRRSUP-EXPORT-V4',
    'exit-address-family',
    'address-family l2vpn evpn',
    'no advertise ipv6 unicast',
  ]);
});
