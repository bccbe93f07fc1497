// The Kube-OVN mapping (src/kube-ovn/mapping.ts): the objects as Kube-OVN 1.16 creates them (test/fixtures/kube-ovn/,
// `kubectl get ... -o yaml` Lists transcribed from kubeovn/kube-ovn 1533681d) -> the ConfigMap and Secret the
// supervisor reads. The output is checked with the supervisor's own validator and renderer, and the ConfigMap and
// Secret against the Kubernetes schemas.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/problems.ts';
import type { Problem } from '../../src/config/problems.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { checkConfig, manifests, mapGateway, parseObjects } from '../../src/kube-ovn/mapping.ts';
import type { GatewayConfig, KubeOvnObjects } from '../../src/kube-ovn/mapping.ts';
import { KUBE_OVN_GATEWAY_NAME_LABEL, MANAGED_BY } from '../../src/kube-ovn/names.ts';
import { validateManifest } from '../helpers/k8s-schemas.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/kube-ovn/${name}`, import.meta.url), 'utf8');

function objects(name: string): KubeOvnObjects {
  const problems: Problem[] = [];
  const objs = parseObjects(fixture(name), name, problems);
  assert.deepEqual(problems.map(formatProblem), []);
  assert.ok(objs);
  return objs;
}

const errors = (ps: Problem[]): string[] => ps.filter((p) => p.severity === 'error').map(formatProblem);
const warnings = (ps: Problem[]): string[] => ps.filter((p) => p.severity === 'warning').map(formatProblem);

function mapOk(objs: KubeOvnObjects, namespace: string, name: string): { config: GatewayConfig; problems: Problem[] } {
  const { config, problems } = mapGateway(objs, { namespace, name });
  assert.deepEqual(errors(problems), []);
  assert.ok(config);
  return { config, problems };
}

/** The supervisor's validator and renderer on the files, as a replica with this POD_IP reads them. */
async function render(config: GatewayConfig, podIp = '10.0.1.13'): Promise<string> {
  const files = { ...config.files, ...(config.password !== undefined && { 'bgp-password': config.password }) };
  const result = await loadConfig({ files, facts: { env: { POD_IP: podIp }, interfaceIPv4: () => Promise.resolve(undefined) } });
  assert.deepEqual(errors(result.problems), []);
  assert.ok(result.spec);
  return renderFrrConf(result.spec);
}

describe('kube-ovn mapping: the docs example (Kube-OVN "Egress Gateway BGP and EVPN Support")', () => {
  const objs = objects('docs-objects.yaml');

  it('gateway1 (BGP + EVPN): the files, and they render exactly the docs-evpn golden frr.conf', async () => {
    const { config, problems } = mapOk(objs, 'default', 'gateway1');
    assert.deepEqual(warnings(problems), []);
    assert.deepEqual(Object.keys(config.files).sort(), ['bgp-conf.yaml', 'evpn-conf.yaml', 'gateway.yaml']);
    assert.equal(config.password, undefined);
    assert.deepEqual(parse(config.files['gateway.yaml'] ?? ''), {
      advertise: ['10.16.0.0/16', '10.17.0.0/16'],
      externalInterface: 'net1',
      internalInterface: 'eth0',
      internalGateway: '10.16.0.1',
      vrf: { name: 'vrf-vpn', table: 2000 },
      bridge: { name: 'br-vpn' },
      vxlan: { name: 'vxlan-vpn', port: 4789 },
    });
    assert.deepEqual(parse(config.files['bgp-conf.yaml'] ?? ''), {
      apiVersion: 'kubeovn.io/v1',
      kind: 'BgpConf',
      metadata: { name: 'bgp-conf-6502' },
      spec: {
        connectTime: '10s',
        ebgpMultiHop: true,
        holdTime: '90s',
        keepaliveTime: '30s',
        localASN: 65002,
        neighbours: ['10.0.1.1'],
        peerASN: 65001,
      },
    });
    assert.deepEqual(parse(config.files['evpn-conf.yaml'] ?? ''), {
      apiVersion: 'kubeovn.io/v1',
      kind: 'EvpnConf',
      metadata: { name: 'evpn-conf-1016' },
      spec: { routeTargets: ['65000:1016'], vni: 1016 },
    });
    assert.deepEqual(errors(await checkConfig(config, objs)), []);
    const golden = readFileSync(new URL('../golden/docs-evpn/frr.conf', import.meta.url), 'utf8');
    assert.equal(await render(config), golden);
  });

  it('gateway-bgp-only (its one policy is SNAT): nothing announced, and warnings that say why', async () => {
    const { config, problems } = mapOk(objs, 'default', 'gateway-bgp-only');
    assert.deepEqual(Object.keys(config.files).sort(), ['bgp-conf.yaml', 'gateway.yaml']);
    assert.deepEqual(parse(config.files['gateway.yaml'] ?? ''), { advertise: [], externalInterface: 'net1', internalInterface: 'eth0' });
    const w = warnings(problems);
    assert.ok(
      w.some((l) => l.startsWith('warning: VpcEgressGateway default/gateway-bgp-only: spec.policies[0].snat:') && l.includes('ENABLE_BGP')),
      w.join('\n'),
    );
    assert.ok(w.some((l) => l.includes('announces nothing')));
    const conf = await render(config);
    assert.match(conf, /neighbor 10\.0\.1\.1 timers 30 90/);
    assert.match(conf, /neighbor 10\.0\.1\.1 timers connect 10/);
    assert.doesNotMatch(conf, /l2vpn evpn|^ *network /m);
  });

  it('the ConfigMap carries the names of src/kube-ovn/names.ts and passes the Kubernetes schema; no Secret without a password', () => {
    const { config } = mapOk(objs, 'default', 'gateway1');
    const out = manifests(config);
    assert.equal(out.length, 1);
    const cm = out[0];
    assert.ok(cm);
    assert.equal(cm.kind, 'ConfigMap');
    assert.deepEqual(cm.metadata, {
      name: 'gateway1-frr-supervisor',
      namespace: 'default',
      labels: { ...MANAGED_BY, [KUBE_OVN_GATEWAY_NAME_LABEL]: 'gateway1' },
    });
    assert.deepEqual(validateManifest(cm).errors, []);
    const owned = manifests(config, { ownerReference: true })[0];
    assert.deepEqual(owned?.metadata?.ownerReferences, [
      { apiVersion: 'kubeovn.io/v1', kind: 'VpcEgressGateway', name: 'gateway1', uid: '5d1f0b0e-7c1a-4d38-9a57-2f0c8a1b6e41' },
    ]);
    assert.deepEqual(validateManifest(owned).errors, []);
  });
});

describe('kube-ovn mapping: dual stack, a password, a custom VPC', () => {
  const objs = objects('dual-stack-objects.yaml');

  it('EVPN: both families of the non-SNAT policy announced, the SNAT one not; the internal gateway from the Vpc status', async () => {
    const { config, problems } = mapOk(objs, 'tenant-a', 'gateway-ds-evpn');
    const gw = parse(config.files['gateway.yaml'] ?? '') as Record<string, unknown>;
    assert.deepEqual(gw.advertise, ['10.18.0.0/16', '10.20.0.0/16', 'fd00:10:18::/64', 'fd00:10:20::/112']);
    assert.equal(gw.internalGateway, '10.20.0.1');
    assert.ok(
      warnings(problems).some((l) => l.startsWith('warning: Subnet subnet-a: spec.gateway:') && l.includes('INTERNAL_GATEWAY_IPV6')),
      warnings(problems).join('\n'),
    );
    assert.deepEqual(errors(await checkConfig(config, objs)), []);
    const conf = await render(config);
    assert.match(conf, /network fd00:10:20::\/112/);
    assert.match(conf, /vni 2000/);
  });

  it('the password goes into the Secret (base64, no newline), never into the ConfigMap', async () => {
    const { config } = mapOk(objs, 'tenant-a', 'gateway-ds-evpn');
    assert.equal(config.password, 's3cr3t-Pass');
    for (const text of Object.values(config.files)) assert.doesNotMatch(text, /s3cr3t|password/);
    const [cm, secret] = manifests(config);
    assert.ok(cm && secret);
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.metadata?.name, 'gateway-ds-evpn-frr-supervisor');
    assert.deepEqual(secret.data, { 'bgp-password': Buffer.from('s3cr3t-Pass').toString('base64') });
    assert.deepEqual(validateManifest(secret).errors, []);
    assert.deepEqual(validateManifest(cm).errors, []);
    assert.match(await render(config), /neighbor fd00:10:2::1 password s3cr3t-Pass/);
  });

  it('BGP-only: no VRF devices or internal gateway in gateway.yaml; IPv4 and IPv6 neighbours announce their family', async () => {
    const { config } = mapOk(objs, 'tenant-a', 'gateway-ds-bgp');
    assert.deepEqual(parse(config.files['gateway.yaml'] ?? ''), {
      advertise: ['10.18.0.0/16', '10.20.0.0/16', 'fd00:10:18::/64', 'fd00:10:20::/112'],
      externalInterface: 'net1',
      internalInterface: 'eth0',
    });
    assert.equal(config.files['evpn-conf.yaml'], undefined);
    const conf = await render(config);
    assert.match(conf, /address-family ipv6 unicast\n(.*\n)*? {2}network fd00:10:18::\/64/);
    assert.match(conf, /bgp router-id 10\.0\.2\.13/);
  });
});

describe('kube-ovn mapping: bad objects are named, with the field', () => {
  const base = objects('docs-objects.yaml');
  const edit = (fn: (o: KubeOvnObjects) => void): KubeOvnObjects => {
    const copy = structuredClone(base);
    fn(copy);
    return copy;
  };
  const gw1 = (o: KubeOvnObjects): Record<string, unknown> => {
    const g = o.gateways.find((x) => x.metadata?.name === 'gateway1');
    assert.ok(g);
    return g.spec as Record<string, unknown>;
  };
  const cases: Array<[string, (o: KubeOvnObjects) => void, RegExp]> = [
    [
      'missing BgpConf',
      (o) => void (o.bgpConfs = []),
      /^error: VpcEgressGateway default\/gateway1: spec\.bgpConf: BgpConf "bgp-conf-6502" not found$/,
    ],
    [
      'EvpnConf without BgpConf',
      (o) => void delete gw1(o).bgpConf,
      /^error: VpcEgressGateway default\/gateway1: spec\.evpnConf: names EvpnConf "evpn-conf-1016", but an EvpnConf needs a BgpConf/,
    ],
    [
      'no bgpConf at all',
      (o) => void (delete gw1(o).bgpConf, delete gw1(o).evpnConf),
      /^error: VpcEgressGateway default\/gateway1: spec\.bgpConf: is not set/,
    ],
    [
      'unknown EvpnConf',
      (o) => void (o.evpnConfs = []),
      /^error: VpcEgressGateway default\/gateway1: spec\.evpnConf: EvpnConf "evpn-conf-1016" not found$/,
    ],
    [
      'unknown subnet',
      (o) => void ((gw1(o).policies as Array<{ subnets?: string[] }>)[0] = { subnets: ['ovn-defualt'] }),
      /^error: VpcEgressGateway default\/gateway1: spec\.policies\[0\]\.subnets\[0\]: Subnet "ovn-defualt" not found$/,
    ],
    [
      'an ipBlock with host bits',
      (o) => void ((gw1(o).policies as Array<{ ipBlocks?: string[] }>)[1] = { ipBlocks: ['10.17.0.1/16'] }),
      /^error: VpcEgressGateway default\/gateway1: spec\.policies\[1\]\.ipBlocks\[0\]: "10\.17\.0\.1\/16" is not a CIDR or IP address: host bits are set; the network is 10\.17\.0\.0\/16$/,
    ],
    [
      'no default subnet for the internal gateway',
      (o) => void o.subnets.forEach((s) => ((s.spec as Record<string, unknown>).default = false)),
      /^error: VpcEgressGateway default\/gateway1: spec\.internalSubnet: is not set, and the default subnet of VPC "ovn-cluster" is unknown/,
    ],
    [
      'an unknown internal subnet',
      (o) => void (gw1(o).internalSubnet = 'nope'),
      /^error: VpcEgressGateway default\/gateway1: spec\.internalSubnet: the internal subnet "nope" is not among the objects/,
    ],
  ];
  for (const [what, fn, expected] of cases) {
    it(what, () => {
      const { config, problems } = mapGateway(edit(fn), { namespace: 'default', name: 'gateway1' });
      assert.equal(config, undefined);
      const e = errors(problems);
      assert.ok(
        e.some((l) => expected.test(l)),
        `${expected} not in:\n${e.join('\n')}`,
      );
    });
  }

  it('an unknown gateway lists the ones there are', () => {
    const { problems } = mapGateway(base, { namespace: 'default', name: 'gateway9' });
    assert.deepEqual(errors(problems), [
      'error: VpcEgressGateway default/gateway9: not found among the objects (there are: default/gateway1, default/gateway-bgp-only)',
    ]);
  });

  it('an empty routerId or password is unset, as Kube-OVN reads it (ROUTER_ID="" falls back to POD_IP)', async () => {
    const objs = edit((o) => Object.assign(o.bgpConfs[0]?.spec as object, { routerId: '', password: '' }));
    const { config } = mapOk(objs, 'default', 'gateway1');
    assert.equal(config.password, undefined);
    assert.doesNotMatch(config.files['bgp-conf.yaml'] ?? '', /routerId|password/);
    assert.deepEqual(errors(await checkConfig(config, objs)), []);
    assert.match(await render(config, '10.0.1.13'), /bgp router-id 10\.0\.1\.13/);
  });

  it("what the supervisor's validator rejects in a BgpConf is named against the BgpConf", async () => {
    const bad = edit((o) => {
      const spec = o.bgpConfs[0]?.spec as Record<string, unknown>;
      spec.neighbours = ['10.0.1.1/24'];
      spec.password = 'two words';
    });
    const { config } = mapOk(bad, 'default', 'gateway1');
    const e = errors(await checkConfig(config, bad));
    assert.ok(
      e.some((l) => l.startsWith('error: BgpConf bgp-conf-6502: spec.neighbours[0]: "10.0.1.1/24"')),
      e.join('\n'),
    );
    assert.ok(
      e.some((l) => l.startsWith('error: BgpConf bgp-conf-6502: spec.password:')),
      e.join('\n'),
    );
  });
});

describe('kube-ovn mapping: reading kubectl output', () => {
  it('a YAML syntax error names the file and line', () => {
    const problems: Problem[] = [];
    assert.equal(parseObjects('items:\n  - a: [1,\n', 'objects.yaml', problems), undefined);
    assert.match(errors(problems)[0] ?? '', /^error: objects\.yaml: YAML syntax error at line \d+, column \d+/);
  });

  it('other kinds are skipped with a warning; an empty file is an error', () => {
    const problems: Problem[] = [];
    const objs = parseObjects(
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n- apiVersion: kubeovn.io/v1\n  kind: EvpnConf\n  metadata: {name: e}\n  spec: {vni: 1, routeTargets: ["1:1"]}\n',
      'objects.yaml',
      problems,
    );
    assert.equal(objs?.evpnConfs.length, 1);
    assert.deepEqual(warnings(problems), [
      'warning: objects.yaml: items[0]: v1 ConfigMap is not read (only kubeovn.io/v1 VpcEgressGateway, BgpConf, EvpnConf, Subnet, Vpc)',
    ]);
    const empty: Problem[] = [];
    assert.equal(parseObjects('# nothing\n', 'objects.yaml', empty), undefined);
    assert.match(errors(empty)[0] ?? '', /objects\.yaml: has no objects/);
  });
});
