/**
 * deploy/reference-gateway.yaml says what the VM test (test/vm/guest/test.sh) proved with the kernel VRF backend: the
 * container's capabilities are the set the supervisor and FRR (10.7.1; 10.3 before) ran under there, and the Pod sets the sysctl
 * that lets the probes reach the supervisor on the Pod IP once eth0 is in the VRF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const GUEST = readFileSync(new URL('../vm/guest/test.sh', import.meta.url), 'utf8');
const docs = parseAllDocuments(readFileSync(new URL('../../deploy/reference-gateway.yaml', import.meta.url), 'utf8')).map(
  (d) => d.toJS() as Record<string, unknown>,
);

interface PodSpec {
  securityContext?: { sysctls?: { name: string; value: string }[] };
  containers: { name: string; securityContext?: { capabilities?: { add?: string[]; drop?: string[] } } }[];
}

function podSpec(): PodSpec {
  const dep = docs.find((d) => d.kind === 'Deployment') as { spec: { template: { spec: PodSpec } } } | undefined;
  assert.ok(dep, 'deploy/reference-gateway.yaml has a Deployment');
  return dep.spec.template.spec;
}

/** The capabilities the VM test runs the supervisor under (`CAPS=+chown,+...`), upper case without CAP_. */
function vmCaps(): string[] {
  const m = /^CAPS=(\S+)$/m.exec(GUEST);
  assert.ok(m?.[1], 'test/vm/guest/test.sh sets CAPS');
  return m[1]
    .split(',')
    .map((c) => c.replace(/^\+/, '').toUpperCase())
    .sort();
}

/** CapBnd as /proc/PID/status prints it for a capability list (the VM test checks the running supervisor's). */
function capMask(caps: string[]): string {
  const bits: Record<string, number> = {
    CHOWN: 0,
    DAC_OVERRIDE: 1,
    KILL: 5,
    SETGID: 6,
    SETUID: 7,
    NET_BIND_SERVICE: 10,
    NET_ADMIN: 12,
    NET_RAW: 13,
    SYS_ADMIN: 21,
  };
  let mask = 0n;
  for (const c of caps) {
    assert.ok(c in bits, `unknown capability ${c}`);
    mask |= 1n << BigInt(bits[c]!);
  }
  return mask.toString(16).padStart(16, '0');
}

/** What the netns VRF backend needs on top (entering zebra's mount namespace; shown by the image test, test/image/). */
const NETNS_BACKEND_ONLY = ['SYS_CHROOT'];

test('the container adds exactly the capabilities the VM test ran the kernel backend under, plus what the netns backend needs', () => {
  const c = podSpec().containers.find((x) => x.name === 'frr-supervisor');
  const caps = c?.securityContext?.capabilities;
  assert.deepEqual(caps?.drop, ['ALL']);
  const add = [...(caps?.add ?? [])];
  for (const cap of NETNS_BACKEND_ONLY) assert.ok(add.includes(cap), `deploy adds ${cap} for the netns backend`);
  assert.deepEqual(add.filter((cap) => !NETNS_BACKEND_ONLY.includes(cap)).sort(), vmCaps());
});

test("the VM test's CapBnd check matches its capability list", () => {
  const m = /^CAPBND=([0-9a-f]{16})$/m.exec(GUEST);
  assert.equal(m?.[1], capMask(vmCaps()));
});

test('the Pod sets net.ipv4.tcp_l3mdev_accept=1 (probes on the Pod IP with eth0 in the VRF), as the VM test does', () => {
  assert.ok(/sysctl -qw net\.ipv4\.tcp_l3mdev_accept=1/.test(GUEST));
  const sysctls = podSpec().securityContext?.sysctls ?? [];
  assert.deepEqual(
    sysctls.find((s) => s.name === 'net.ipv4.tcp_l3mdev_accept'),
    { name: 'net.ipv4.tcp_l3mdev_accept', value: '1' },
  );
});
