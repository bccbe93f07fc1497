// Unit tests of the data-plane module (src/dataplane): the `ip -json` parsers on captured outputs
// (test/fixtures/ip-json/, see its README.md), desiredFromSpec, the state readers with a replaying runner, and
// the pure planner for both backends. Plans are also run on a small in-memory model of the kernel (FakeHost
// below) that checks each step is valid when it runs; the plan on the result must then be empty.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { GATEWAY_DEFAULTS } from '../../src/config/types.ts';
import type { Spec } from '../../src/config/types.ts';
import { parseAddress } from '../../src/config/net.ts';
import { DataplaneStepError, detectVrfSupport, reconcile } from '../../src/dataplane/apply.ts';
import { checkForwarding, neededFamilies } from '../../src/dataplane/forwarding.ts';
import type { Runner } from '../../src/dataplane/exec.ts';
import { plan } from '../../src/dataplane/plan.ts';
import {
  externalFactsFromLinks,
  parseLinks,
  parseNetnsList,
  parseRoutes,
  readExternalFacts,
  readRoutes,
  readState,
  routePrefix,
} from '../../src/dataplane/state.ts';
import { commandSteps, desiredFromSpec, ownedFromDesired, ownedFromSpec, VrfUnsupportedError } from '../../src/dataplane/types.ts';
import type {
  CurrentDataplane,
  DesiredDataplane,
  ForwardingState,
  LinkState,
  OwnedNames,
  RouteState,
  Step,
} from '../../src/dataplane/types.ts';

function fx(name: string): string {
  return readFileSync(new URL(`../fixtures/ip-json/${name}`, import.meta.url), 'utf8');
}

const link = (links: LinkState[], name: string): LinkState => {
  const l = links.find((x) => x.name === name);
  assert.ok(l, `no link ${name} in ${links.map((x) => x.name).join(', ')}`);
  return l;
};

const argvs = (steps: readonly Step[]): string[] => commandSteps(steps).map((s) => s.argv.join(' '));

// ---------------------------------------------------------------------------------------------------------
// parsers

describe('ip -json parsers (captured outputs)', () => {
  it('parses the VRF namespace of a complete netns-backend setup', () => {
    const links = parseLinks(fx('vrfns-addr-netns-backend.json'));
    assert.deepEqual(
      links.map((l) => l.name),
      ['lo', 'br-vpn', 'eth1', 'vxlan-vpn'],
    );
    const vx = link(links, 'vxlan-vpn');
    assert.equal(vx.kind, 'vxlan');
    assert.deepEqual(vx.vxlan, { vni: 1016, port: 4789, local: '10.0.1.13', learning: false });
    assert.equal(vx.mtu, 1450);
    assert.equal(vx.master, 'br-vpn');
    assert.equal(vx.slaveKind, 'bridge');
    assert.equal(vx.bridgePortLearning, false);
    assert.equal(vx.up, true);
    assert.equal(vx.operstate, 'UNKNOWN');
    assert.equal(vx.linkNetnsid, 0, 'a VXLAN moved in from the gateway namespace has a link_netnsid');
    const br = link(links, 'br-vpn');
    assert.equal(br.kind, 'bridge');
    assert.equal(br.up, true);
    assert.equal(br.master, undefined);
    const eth1 = link(links, 'eth1');
    assert.equal(eth1.kind, 'veth');
    assert.deepEqual(eth1.addresses, [
      { family: 4, local: '10.0.2.13', prefixlen: 24, scope: 'global' },
      { family: 6, local: 'fd00:2::13', prefixlen: 64, scope: 'global' },
    ]);
    assert.equal(link(links, 'lo').kind, undefined);
  });

  it('parses drift: MTU 1400, VXLAN learning on, bridge port learning on', () => {
    const [vx] = parseLinks(fx('vrfns-vxlan-drift.json'));
    assert.ok(vx);
    assert.equal(vx.mtu, 1400);
    assert.equal(vx.vxlan?.learning, true);
    assert.equal(vx.bridgePortLearning, true);
  });

  it('a VXLAN created inside the VRF namespace has no link_netnsid; an IPv6 local comes from local6', () => {
    const [wrong] = parseLinks(fx('vrfns-vxlan-no-link-netns.json'));
    assert.equal(wrong?.linkNetnsid, undefined);
    assert.equal(wrong?.up, false);
    const [v6] = parseLinks(fx('gw-vxlan-ipv6-local.json'));
    assert.deepEqual(v6?.vxlan, { vni: 2000, port: 4790, local: 'fd00:1::13', learning: false });
    const [created] = parseLinks(fx('gw-vxlan-created.json'));
    assert.equal(created?.mtu, 1500, 'a new VXLAN without a dev gets MTU 1500 on this kernel: the MTU must be set');
    assert.equal(created?.master, undefined);
    assert.equal(created?.bridgePortLearning, undefined);
  });

  it('parses the gateway namespace before and after (eth1 moved out, link-local addresses kept as scope link)', () => {
    const before = parseLinks(fx('gw-addr-before.json'));
    assert.deepEqual(
      before.map((l) => l.name),
      ['lo', 'net1', 'eth1'],
    );
    assert.ok(link(before, 'eth1').addresses.some((a) => a.scope === 'link'));
    const after = parseLinks(fx('gw-addr-after-netns-backend.json'));
    assert.deepEqual(
      after.map((l) => l.name),
      ['lo', 'net1'],
    );
    const moved = parseLinks(fx('vrfns-eth1-just-moved.json'));
    assert.deepEqual(link(moved, 'eth1').addresses, []);
    assert.equal(link(moved, 'eth1').up, false);
  });

  it('parses the hand-made kernel VRF entries (vrf table, vrf slaves)', () => {
    const links = parseLinks(fx('kernel-backend-addr.handmade.json'));
    const vrf = link(links, 'vrf-vpn');
    assert.equal(vrf.kind, 'vrf');
    assert.equal(vrf.vrfTable, 2000);
    assert.equal(link(links, 'br-vpn').master, 'vrf-vpn');
    assert.equal(link(links, 'br-vpn').slaveKind, 'vrf');
    assert.equal(link(links, 'br-vpn').bridgePortLearning, undefined);
    assert.equal(link(links, 'eth1').master, 'vrf-vpn');
  });

  it('parses routes: protocol, gateway, host routes and default normalized, boot when protocol is absent, types', () => {
    assert.deepEqual(parseRoutes(fx('vrfns-route4.json'), 4), [
      { family: 4, prefix: '10.0.2.0/24', dev: 'eth1', protocol: 'kernel' },
      { family: 4, prefix: '10.17.0.0/16', via: '10.0.2.1', dev: 'eth1', protocol: 'static' },
      { family: 4, prefix: '10.18.1.1/32', via: '10.0.2.1', dev: 'eth1', protocol: 'static' },
    ]);
    const r6 = parseRoutes(fx('vrfns-route6.json'), 6);
    assert.deepEqual(
      r6.find((r) => r.protocol === 'static'),
      { family: 6, prefix: 'fd00:17::/64', via: 'fd00:2::1', dev: 'eth1', protocol: 'static', metric: 1024 },
    );
    const t2000 = parseRoutes(fx('gw-route4-table2000.json'), 4);
    assert.deepEqual(
      t2000.map((r) => [r.prefix, r.protocol]),
      [
        ['10.0.3.0/24', 'boot'],
        ['10.17.0.0/16', 'static'],
        ['10.19.0.0/16', 'boot'],
      ],
    );
    const local = parseRoutes(fx('gw-route4-table-local.json'), 4);
    assert.deepEqual(local[0], { family: 4, prefix: '10.0.2.13/32', dev: 'eth1', protocol: 'kernel', type: 'local' });
    assert.equal(routePrefix('default', 4), '0.0.0.0/0');
    assert.equal(routePrefix('default', 6), '::/0');
    assert.equal(routePrefix('fd00:0:0::1', 6), 'fd00::1/128');
  });

  it("parses ip -json -N routes: numeric protocols and types are named, zebra's static (196) apart from ours (4)", () => {
    assert.deepEqual(parseRoutes(fx('vrfns-route4-numeric-anchor.json'), 4), [
      { family: 4, prefix: '10.0.2.0/24', dev: 'eth1', protocol: 'kernel' },
      { family: 4, prefix: '10.17.0.0/16', via: '10.0.2.1', dev: 'eth1', protocol: 'static' },
      { family: 4, prefix: '10.17.255.13/32', protocol: 'zebra-static', type: 'blackhole' },
      { family: 4, prefix: '10.20.0.0/16', via: '10.0.2.1', dev: 'eth1', protocol: 'bgp', metric: 20 },
    ]);
  });

  it('parses ip -json netns list', () => {
    const names = parseNetnsList(fx('netns-list.json'));
    assert.ok(names.includes('vrf-vpn-cap') && names.includes('dpcap-gw'));
    assert.deepEqual(parseNetnsList(''), []);
  });

  it('rejects what is not ip -json output', () => {
    assert.throws(() => parseLinks('Device "x" does not exist.'), /cannot parse ip -json link\/addr show/);
    assert.throws(() => parseLinks('{"ifname":"x"}'), /a JSON array is expected/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// desiredFromSpec

const SPEC: Spec = {
  bgp: { localAsn: 65002, peerAsn: 65001, routerId: '10.0.1.13', routerIdSource: 'spec', neighbours: ['10.0.1.1'], ebgpMultiHop: false },
  evpn: { vni: 1016, routeTargets: ['65000:1016'] },
  gateway: {
    ...GATEWAY_DEFAULTS,
    internalInterface: 'eth1',
    internalGateway: '10.0.2.1',
    advertise: ['10.17.0.0/16', 'fd00:17::/64'],
  },
};

describe('desiredFromSpec', () => {
  const facts = externalFactsFromLinks(parseLinks(fx('external-addr-net1.json')), 'net1');

  it('takes the external interface first IPv4 address as local, MTU - 50, routes of the gateway family', () => {
    assert.deepEqual(facts?.mtu, 1500);
    assert.deepEqual(desiredFromSpec(SPEC, facts), {
      backend: 'kernel',
      vrf: { name: 'vrf-vpn', table: 2000 },
      bridge: { name: 'br-vpn' },
      vxlan: { name: 'vxlan-vpn', vni: 1016, port: 4789, local: '10.0.1.13', mtu: 1450 },
      internalInterface: 'eth1',
      routes: [{ prefix: '10.17.0.0/16', via: '10.0.2.1' }],
    });
  });

  it('falls back to IPv6 (MTU - 70); gateway.vxlan.mtu wins; no EVPN -> undefined', () => {
    assert.ok(facts);
    const v6 = { ...facts, addresses: facts.addresses.filter((a) => a.family === 6) };
    const d = desiredFromSpec(SPEC, v6);
    assert.equal(d?.vxlan.local, 'fd00:1::13');
    assert.equal(d?.vxlan.mtu, 1430);
    assert.equal(
      desiredFromSpec({ ...SPEC, gateway: { ...SPEC.gateway, vxlan: { ...SPEC.gateway.vxlan, mtu: 9000 } } }, facts)?.vxlan.mtu,
      9000,
    );
    const { evpn: _evpn, ...noEvpn } = SPEC;
    assert.equal(desiredFromSpec(noEvpn, undefined), undefined);
  });

  it('names a missing external interface or one without an address', () => {
    assert.throws(() => desiredFromSpec(SPEC, undefined), /external interface net1 does not exist/);
    assert.ok(facts);
    assert.throws(
      () => desiredFromSpec(SPEC, { ...facts, addresses: facts.addresses.filter((a) => a.scope === 'link') }),
      /external interface net1 has no global IPv4 or IPv6 address/,
    );
  });

  it('readExternalFacts: a missing interface is undefined, not an error (captured stderr)', async () => {
    const runner: Runner = () => Promise.resolve({ stdout: '', stderr: fx('external-addr-missing.stderr.txt'), exitCode: 1 });
    assert.equal(await readExternalFacts('nosuchif', { runner }), undefined);
  });
});

// ---------------------------------------------------------------------------------------------------------
// FakeHost: namespaces, devices and route tables in memory; runs plan steps like ip/bridge would, refusing
// steps that would fail on a real kernel (missing device or namespace, unreachable gateway, name taken).

const SELF = '<self>';

function clone<T>(v: T): T {
  return structuredClone(v);
}

function inSubnet(addr: string, prefix: string, len: number): boolean {
  const a = parseAddress(addr);
  const p = parseAddress(prefix);
  if (typeof a === 'string' || typeof p === 'string' || a.family !== p.family) return false;
  for (let bit = 0; bit < len; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((a.bytes[byte] ?? 0) & mask) !== ((p.bytes[byte] ?? 0) & mask)) return false;
  }
  return true;
}

class FakeHost {
  ns = new Map<string, Map<string, LinkState>>();
  /** `${ns}|${table}`, table = 'main' or a number. */
  tables = new Map<string, RouteState[]>();
  /** Forwarding sysctls per namespace key. */
  fwd = new Map<string, ForwardingState>();
  nextIndex = 100;
  readonly log: string[] = [];

  constructor(
    readonly netns: string | undefined,
    readonly gatewayNsRef: string,
  ) {}

  static from(current: CurrentDataplane): FakeHost {
    const h = new FakeHost(current.netns, current.gatewayNsRef);
    const gwKey = current.netns ?? SELF;
    h.ns.set(gwKey, new Map(current.gatewayLinks.map((l) => [l.name, clone(l)])));
    if (current.owned.backend === 'kernel') h.tables.set(`${gwKey}|${current.owned.vrf.table}`, clone(current.routes));
    if (current.vrfNamespace) {
      h.ns.set(current.owned.vrf.name, new Map(current.vrfNamespace.links.map((l) => [l.name, clone(l)])));
      h.tables.set(`${current.owned.vrf.name}|main`, clone(current.routes));
      if (current.vrfForwarding) h.fwd.set(current.owned.vrf.name, { ...current.vrfForwarding });
    }
    return h;
  }

  get gwKey(): string {
    return this.netns ?? SELF;
  }

  state(owned: OwnedNames): CurrentDataplane {
    const names = new Set([owned.vrf.name, owned.bridge.name, owned.vxlan.name, owned.internalInterface]);
    const gw = [...(this.ns.get(this.gwKey)?.values() ?? [])].filter((l) => names.has(l.name));
    const base = {
      owned,
      ...(this.netns !== undefined && { netns: this.netns }),
      gatewayNsRef: this.gatewayNsRef,
      gatewayLinks: clone(gw),
    };
    if (owned.backend === 'kernel') return { ...base, routes: clone(this.tables.get(`${this.gwKey}|${owned.vrf.table}`) ?? []) };
    const v = this.ns.get(owned.vrf.name);
    if (!v) return { ...base, routes: [] };
    const fwd = this.fwd.get(owned.vrf.name);
    return {
      ...base,
      vrfNamespace: { links: clone([...v.values()]) },
      routes: clone(this.tables.get(`${owned.vrf.name}|main`) ?? []),
      ...(fwd && { vrfForwarding: { ...fwd } }),
    };
  }

  links(key: string, argv: readonly string[]): Map<string, LinkState> {
    const m = this.ns.get(key);
    if (!m) throw new Error(`namespace ${key} does not exist: ${argv.join(' ')}`);
    return m;
  }

  get(key: string, name: string, argv: readonly string[]): LinkState {
    const l = this.links(key, argv).get(name);
    if (!l) throw new Error(`Cannot find device "${name}" in ${key}: ${argv.join(' ')}`);
    return l;
  }

  /** The table a device's routes live in: its kernel VRF's table, else main. */
  tableOf(key: string, l: LinkState): string {
    const master = l.master === undefined ? undefined : this.ns.get(key)?.get(l.master);
    return master?.kind === 'vrf' ? String(master.vrfTable) : 'main';
  }

  flushDev(key: string, dev: string): void {
    for (const [k, routes] of this.tables) {
      if (k.startsWith(`${key}|`))
        this.tables.set(
          k,
          routes.filter((r) => r.dev !== dev),
        );
    }
  }

  release(key: string, l: LinkState): void {
    if (l.master !== undefined && this.ns.get(key)?.get(l.master)?.kind === 'vrf') this.flushDev(key, l.name);
    delete l.master;
    delete l.slaveKind;
    delete l.bridgePortLearning;
  }

  run(argv: readonly string[]): void {
    this.log.push(argv.join(' '));
    let a = [...argv];
    const prog = a.shift();
    let key = this.gwKey;
    if (a[0] === '-n') {
      key = a[1] ?? '';
      a = a.slice(2);
    }
    if (prog === 'bridge') {
      assert.deepEqual([a[0], a[1], a[2], a[4], a[5]], ['link', 'set', 'dev', 'learning', 'off'], argv.join(' '));
      const l = this.get(key, a[3] ?? '', argv);
      assert.equal(l.slaveKind, 'bridge', `${l.name} is not a bridge port: ${argv.join(' ')}`);
      l.bridgePortLearning = false;
      return;
    }
    assert.equal(prog, 'ip');
    const [obj, verb, name = '', ...rest] = a;
    if (obj === 'netns') {
      assert.equal(argv[1], 'netns', 'ip netns takes no -n');
      if (verb === 'exec') {
        // ip netns exec NS tee /proc/sys/...: a forwarding sysctl
        assert.equal(rest[0], 'tee', argv.join(' '));
        assert.ok(this.ns.has(name), `netns ${name} does not exist`);
        const f = this.fwd.get(name) ?? {};
        if (rest[1] === '/proc/sys/net/ipv4/ip_forward') f.ipv4 = true;
        else if (rest[1] === '/proc/sys/net/ipv6/conf/all/forwarding') f.ipv6 = true;
        else assert.fail(argv.join(' '));
        this.fwd.set(name, f);
        return;
      }
      if (verb === 'add') {
        this.fwd.set(name, { ipv4: false, ipv6: false });
        assert.ok(!this.ns.has(name), `netns ${name} exists`);
        this.ns.set(name, new Map([['lo', { name: 'lo', ifindex: 1, up: false, operstate: 'DOWN', mtu: 65536, addresses: [] }]]));
      } else if (verb === 'del') {
        assert.ok(this.ns.delete(name), `netns ${name} does not exist`);
        for (const k of [...this.tables.keys()]) if (k.startsWith(`${name}|`)) this.tables.delete(k);
      } else assert.fail(argv.join(' '));
      return;
    }
    if (obj === 'link') return this.link(key, verb, name, rest, argv);
    if (obj === 'addr') {
      assert.equal(verb, 'add', argv.join(' '));
      const [local = '', len = ''] = name.split('/');
      const dev = rest[rest.indexOf('dev') + 1] ?? '';
      const l = this.get(key, dev, argv);
      const fam = local.includes(':') ? 6 : 4;
      assert.ok(!l.addresses.some((x) => x.local === local), `address ${local} exists on ${dev}`);
      l.addresses.push({ family: fam, local, prefixlen: Number(len), scope: 'global' });
      return;
    }
    if (obj === 'route') return this.route(key, verb, name, rest, argv);
    assert.fail(`unknown command ${argv.join(' ')}`);
  }

  link(key: string, verb: string | undefined, name: string, rest: string[], argv: readonly string[]): void {
    const links = this.links(key, argv);
    if (verb === 'add') {
      assert.ok(!links.has(name), `File exists: ${argv.join(' ')}`);
      assert.equal(rest[0], 'type');
      const kind = rest[1];
      const l: LinkState = { name, ifindex: this.nextIndex++, kind, up: false, operstate: 'DOWN', mtu: 1500, addresses: [] };
      const opt = (k: string): string | undefined => {
        const i = rest.indexOf(k);
        return i < 0 ? undefined : rest[i + 1];
      };
      if (kind === 'vrf') {
        l.vrfTable = Number(opt('table'));
        l.mtu = 65575;
      } else if (kind === 'vxlan') {
        l.vxlan = {
          vni: Number(opt('id')),
          port: Number(opt('dstport')),
          local: opt('local') ?? '',
          learning: !rest.includes('nolearning'),
        };
      } else assert.equal(kind, 'bridge');
      links.set(name, l);
      return;
    }
    const l = this.get(key, name, argv);
    if (verb === 'del') {
      for (const p of links.values()) if (p.master === name) this.release(key, p);
      this.release(key, l);
      this.flushDev(key, name);
      links.delete(name);
      return;
    }
    assert.equal(verb, 'set', argv.join(' '));
    const [what, value = ''] = rest;
    if (what === 'up') l.up = true;
    else if (what === 'mtu') l.mtu = Number(value);
    else if (what === 'nomaster') this.release(key, l);
    else if (what === 'master') {
      const m = this.get(key, value, argv);
      this.release(key, l);
      l.master = value;
      l.slaveKind = m.kind === 'bridge' ? 'bridge' : 'vrf';
      if (m.kind === 'bridge') l.bridgePortLearning = true;
    } else if (what === 'netns') {
      const target = value === this.gatewayNsRef ? this.gwKey : value;
      const to = this.links(target, argv);
      assert.ok(!to.has(name), `${name} exists in ${target}`);
      this.release(key, l);
      this.flushDev(key, name);
      links.delete(name);
      l.up = false;
      l.addresses = [];
      if (l.kind === 'vxlan' || l.kind === 'veth') l.linkNetnsid = 0;
      to.set(name, l);
    } else if (what === 'type') {
      assert.deepEqual(rest.slice(1), ['vxlan', 'nolearning']);
      assert.ok(l.vxlan);
      l.vxlan.learning = false;
    } else assert.fail(argv.join(' '));
  }

  route(key: string, verb: string | undefined, prefix: string, rest: string[], argv: readonly string[]): void {
    const opt = (k: string): string | undefined => {
      const i = rest.indexOf(k);
      return i < 0 ? undefined : rest[i + 1];
    };
    const table = opt('table') ?? 'main';
    const tkey = `${key}|${table}`;
    const routes = this.tables.get(tkey) ?? [];
    const via = opt('via');
    const proto = opt('proto') ?? 'boot';
    if (verb === 'del') {
      const i = routes.findIndex((r) => r.prefix === prefix && r.protocol === proto && (via === undefined || r.via === via));
      assert.ok(i >= 0, `RTNETLINK answers: No such process: ${argv.join(' ')}`);
      routes.splice(i, 1);
      this.tables.set(tkey, routes);
      return;
    }
    assert.equal(verb, 'replace', argv.join(' '));
    assert.ok(via !== undefined);
    // The gateway must be on the link of an up device whose routes go to this table.
    const dev = [...this.links(key, argv).values()].find(
      (l) => l.up && this.tableOf(key, l) === table && l.addresses.some((ad) => inSubnet(via, ad.local, ad.prefixlen)),
    );
    assert.ok(dev, `Error: Nexthop has invalid gateway: ${argv.join(' ')}`);
    const kept = routes.filter((r) => !(r.prefix === prefix && (r.metric ?? 0) === 0));
    kept.push({ family: prefix.includes(':') ? 6 : 4, prefix, via, dev: dev.name, protocol: proto });
    this.tables.set(tkey, kept);
  }
}

/** Runs the plan on a FakeHost built from `current`; returns the host and the resulting state. */
function applyPlan(
  desired: DesiredDataplane | undefined,
  current: CurrentDataplane,
): { host: FakeHost; steps: Step[]; after: CurrentDataplane } {
  const steps = plan(desired, current);
  const host = FakeHost.from(current);
  for (const s of commandSteps(steps)) host.run(s.argv);
  return { host, steps, after: host.state(current.owned) };
}

/** Plans, applies on the fake host, and checks that a second plan has no command steps. */
function converge(desired: DesiredDataplane | undefined, current: CurrentDataplane): { steps: Step[]; after: CurrentDataplane } {
  const r = applyPlan(desired, current);
  assert.deepEqual(argvs(plan(desired, r.after)), [], 'the second plan must be empty');
  return r;
}

const eth1Gw = (): LinkState => link(parseLinks(fx('gw-addr-before.json')), 'eth1');

// ---------------------------------------------------------------------------------------------------------
// kernel backend

const KERNEL: DesiredDataplane = {
  backend: 'kernel',
  vrf: { name: 'vrf-vpn', table: 2000 },
  bridge: { name: 'br-vpn' },
  vxlan: { name: 'vxlan-vpn', vni: 1016, port: 4789, local: '10.0.1.13', mtu: 1450 },
  internalInterface: 'eth1',
  routes: [{ prefix: '10.17.0.0/16', via: '10.0.2.1' }],
};
const KOWNED = ownedFromDesired(KERNEL);

function kernelNothing(): CurrentDataplane {
  return { owned: KOWNED, gatewayNsRef: '4242', gatewayLinks: [eth1Gw()], routes: [] };
}

function kernelComplete(): CurrentDataplane {
  return converge(KERNEL, kernelNothing()).after;
}

describe('plan: kernel backend', () => {
  it('create from nothing: VRF, bridge in the VRF, VXLAN in the bridge, internal interface, route', () => {
    const { steps } = converge(KERNEL, kernelNothing());
    assert.deepEqual(argvs(steps), [
      'ip link add vrf-vpn type vrf table 2000',
      'ip link set vrf-vpn up',
      'ip link add br-vpn type bridge',
      'ip link set br-vpn master vrf-vpn',
      'ip link set br-vpn up',
      'ip link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn mtu 1450',
      'ip link set vxlan-vpn master br-vpn',
      'bridge link set dev vxlan-vpn learning off',
      'ip link set vxlan-vpn up',
      'ip link set eth1 master vrf-vpn',
      'ip route replace 10.17.0.0/16 via 10.0.2.1 table 2000 proto static',
    ]);
    assert.ok(steps.every((s) => !s.restartZebra && !s.warning && s.why.length > 0));
  });

  it('no-op when desired == current (hand-made kernel VRF state and the converged state)', () => {
    const links = parseLinks(fx('kernel-backend-addr.handmade.json')).filter((l) => l.name !== 'net1' && l.name !== 'lo');
    const fromFixture: CurrentDataplane = {
      owned: KOWNED,
      gatewayNsRef: '4242',
      gatewayLinks: links,
      routes: parseRoutes(fx('kernel-route4-table2000.handmade.json'), 4),
    };
    assert.deepEqual(plan(KERNEL, fromFixture), []);
    assert.deepEqual(plan(KERNEL, kernelComplete()), []);
  });

  it('VNI change: the VXLAN is deleted and recreated, restartZebra', () => {
    const d = { ...KERNEL, vxlan: { ...KERNEL.vxlan, vni: 2016 } };
    const { steps, after } = converge(d, kernelComplete());
    assert.deepEqual(argvs(steps), [
      'ip link del vxlan-vpn',
      'ip link add vxlan-vpn type vxlan id 2016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn mtu 1450',
      'ip link set vxlan-vpn master br-vpn',
      'bridge link set dev vxlan-vpn learning off',
      'ip link set vxlan-vpn up',
    ]);
    assert.equal(steps[0]?.restartZebra, true);
    assert.equal(steps[1]?.restartZebra, true);
    assert.match(steps[0]?.why ?? '', /VNI 1016 -> 2016.*cannot be changed in place/);
    assert.equal(link(after.gatewayLinks, 'vxlan-vpn').vxlan?.vni, 2016);
  });

  it('a port or local address change also recreates the VXLAN', () => {
    for (const vxlan of [
      { ...KERNEL.vxlan, port: 4790 },
      { ...KERNEL.vxlan, local: '10.0.1.14' },
    ]) {
      const { steps } = converge({ ...KERNEL, vxlan }, kernelComplete());
      assert.equal(steps[0]?.argv.join(' '), 'ip link del vxlan-vpn');
      assert.ok(steps.some((s) => s.restartZebra));
    }
  });

  it('MTU and learning drift are fixed in place', () => {
    const cur = kernelComplete();
    const vx = link(cur.gatewayLinks, 'vxlan-vpn');
    vx.mtu = 1400;
    assert.deepEqual(argvs(converge(KERNEL, cur).steps), ['ip link set vxlan-vpn mtu 1450']);
    vx.mtu = 1450;
    assert.ok(vx.vxlan);
    vx.vxlan.learning = true;
    vx.bridgePortLearning = true;
    const { steps } = converge(KERNEL, cur);
    assert.deepEqual(argvs(steps), ['ip link set vxlan-vpn type vxlan nolearning', 'bridge link set dev vxlan-vpn learning off']);
    assert.ok(steps.every((s) => !s.restartZebra));
  });

  it('a device deleted by hand is recreated (VXLAN; bridge, whose port then needs enslaving again)', () => {
    const cur = kernelComplete();
    const host = FakeHost.from(cur);
    host.run(['ip', 'link', 'del', 'vxlan-vpn']);
    const { steps } = converge(KERNEL, host.state(KOWNED));
    assert.deepEqual(argvs(steps), [
      'ip link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn mtu 1450',
      'ip link set vxlan-vpn master br-vpn',
      'bridge link set dev vxlan-vpn learning off',
      'ip link set vxlan-vpn up',
    ]);
    assert.ok(steps.every((s) => !s.restartZebra));

    const host2 = FakeHost.from(kernelComplete());
    host2.run(['ip', 'link', 'del', 'br-vpn']);
    assert.deepEqual(argvs(converge(KERNEL, host2.state(KOWNED)).steps), [
      'ip link add br-vpn type bridge',
      'ip link set br-vpn master vrf-vpn',
      'ip link set br-vpn up',
      'ip link set vxlan-vpn master br-vpn',
      'bridge link set dev vxlan-vpn learning off',
    ]);

    // The VRF deleted by hand: its ports are released (their routes flushed); all comes back.
    const host3 = FakeHost.from(kernelComplete());
    host3.run(['ip', 'link', 'del', 'vrf-vpn']);
    assert.deepEqual(argvs(converge(KERNEL, host3.state(KOWNED)).steps), [
      'ip link add vrf-vpn type vrf table 2000',
      'ip link set vrf-vpn up',
      'ip link set br-vpn master vrf-vpn',
      'ip link set eth1 master vrf-vpn',
      'ip route replace 10.17.0.0/16 via 10.0.2.1 table 2000 proto static',
    ]);
  });

  it('a VRF table change recreates the VRF (restartZebra) and re-enslaves its ports', () => {
    const d = { ...KERNEL, vrf: { name: 'vrf-vpn', table: 3000 } };
    const cur = { ...kernelComplete(), owned: ownedFromDesired(d) };
    const { steps } = converge(d, cur);
    assert.equal(steps[0]?.argv.join(' '), 'ip link del vrf-vpn');
    assert.equal(steps[0]?.restartZebra, true);
    assert.ok(argvs(steps).includes('ip route replace 10.17.0.0/16 via 10.0.2.1 table 3000 proto static'));
  });

  it('stale routes of ours are removed first; other protocols are left alone', () => {
    const cur = kernelComplete();
    cur.routes.push({ family: 4, prefix: '10.99.0.0/16', via: '10.0.2.1', dev: 'eth1', protocol: 'static' });
    cur.routes.push({ family: 4, prefix: '10.98.0.0/16', via: '10.0.2.1', dev: 'eth1', protocol: 'bgp' });
    assert.deepEqual(argvs(converge(KERNEL, cur).steps), ['ip route del 10.99.0.0/16 via 10.0.2.1 table 2000 proto static']);
    const moved = { ...KERNEL, routes: [{ prefix: '10.17.0.0/16', via: '10.0.2.2' }] };
    assert.deepEqual(argvs(plan(moved, kernelComplete())), [
      'ip route del 10.17.0.0/16 via 10.0.2.1 table 2000 proto static',
      'ip route replace 10.17.0.0/16 via 10.0.2.2 table 2000 proto static',
    ]);
  });

  it('a missing internal interface is a warning step; no route is planned', () => {
    const cur: CurrentDataplane = { ...kernelNothing(), gatewayLinks: [] };
    const steps = plan(KERNEL, cur);
    const warnings = steps.filter((s) => s.warning);
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]?.argv, []);
    assert.match(warnings[0]?.why ?? '', /internal interface eth1 does not exist/);
    assert.ok(!argvs(steps).some((a) => a.includes('route')));
    const { after } = applyPlan(KERNEL, cur);
    assert.deepEqual(argvs(plan(KERNEL, after)), [], 'only the warning is left');
  });

  it('removal (desired undefined): routes, internal interface released, VXLAN, bridge, VRF deleted', () => {
    const { steps, after } = converge(undefined, kernelComplete());
    assert.deepEqual(argvs(steps), [
      'ip route del 10.17.0.0/16 via 10.0.2.1 table 2000 proto static',
      'ip link set eth1 nomaster',
      'ip link del vxlan-vpn',
      'ip link del br-vpn',
      'ip link del vrf-vpn',
    ]);
    assert.deepEqual(
      after.gatewayLinks.map((l) => [l.name, l.master]),
      [['eth1', undefined]],
    );
    assert.deepEqual(plan(undefined, kernelNothing()), []);
  });

  it('runs every gateway-side command in the given namespace (ip -n / bridge -n)', () => {
    const cur = { ...kernelNothing(), netns: 'fsl-1-0-gw' };
    const { steps } = converge(KERNEL, cur);
    for (const s of steps) assert.deepEqual(s.argv.slice(1, 3), ['-n', 'fsl-1-0-gw'], s.argv.join(' '));
  });
});

// ---------------------------------------------------------------------------------------------------------
// netns backend

const NETNS: DesiredDataplane = { ...KERNEL, backend: 'netns', vrf: { name: 'vrf-vpn', table: 2000 } };
const NOWNED = ownedFromDesired(NETNS);

function netnsNothing(): CurrentDataplane {
  return { owned: NOWNED, gatewayNsRef: '4242', gatewayLinks: [eth1Gw()], routes: [] };
}

function netnsComplete(): CurrentDataplane {
  return converge(NETNS, netnsNothing()).after;
}

const NETNS_VXLAN_IN = [
  'ip -n vrf-vpn link set vxlan-vpn mtu 1450',
  'ip -n vrf-vpn link set vxlan-vpn master br-vpn',
  'bridge -n vrf-vpn link set dev vxlan-vpn learning off',
  'ip -n vrf-vpn link set vxlan-vpn up',
];

describe('plan: netns backend', () => {
  it('create from nothing: VRF namespace, bridge inside, VXLAN created outside and moved in, internal interface moved', () => {
    const { steps, after } = converge(NETNS, netnsNothing());
    assert.deepEqual(argvs(steps), [
      'ip netns add vrf-vpn',
      'ip -n vrf-vpn link set lo up',
      'ip netns exec vrf-vpn tee /proc/sys/net/ipv4/ip_forward',
      'ip netns exec vrf-vpn tee /proc/sys/net/ipv6/conf/all/forwarding',
      'ip -n vrf-vpn link add br-vpn type bridge',
      'ip -n vrf-vpn link set br-vpn up',
      'ip link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn netns vrf-vpn',
      ...NETNS_VXLAN_IN,
      'ip link set eth1 netns vrf-vpn',
      'ip -n vrf-vpn addr add 10.0.2.13/24 dev eth1',
      'ip -n vrf-vpn addr add fd00:2::13/64 dev eth1 nodad',
      'ip -n vrf-vpn link set eth1 up',
      'ip -n vrf-vpn route replace 10.17.0.0/16 via 10.0.2.1 proto static',
    ]);
    assert.equal(steps[0]?.restartZebra, true, 'a new VRF namespace: zebra must be restarted to see it');
    assert.deepEqual(after.gatewayLinks, []);
    const vx = link(after.vrfNamespace?.links ?? [], 'vxlan-vpn');
    assert.equal(vx.master, 'br-vpn');
    assert.equal(vx.linkNetnsid, 0);
  });

  it('no-op when desired == current (captured netns-backend state, and the converged state)', () => {
    const captured: CurrentDataplane = {
      owned: { ...NOWNED, vrf: { name: 'vrf-vpn-cap', table: 2000 } },
      gatewayNsRef: '4242',
      gatewayLinks: parseLinks(fx('gw-addr-after-netns-backend.json')).filter((l) =>
        ['vrf-vpn-cap', 'br-vpn', 'vxlan-vpn', 'eth1'].includes(l.name),
      ),
      vrfNamespace: { links: parseLinks(fx('vrfns-addr-netns-backend.json')) },
      routes: [...parseRoutes(fx('vrfns-route4.json'), 4), ...parseRoutes(fx('vrfns-route6.json'), 6)],
    };
    const d: DesiredDataplane = {
      ...NETNS,
      vrf: { name: 'vrf-vpn-cap', table: 2000 },
      routes: [
        { prefix: '10.17.0.0/16', via: '10.0.2.1' },
        { prefix: '10.18.1.1/32', via: '10.0.2.1' },
        { prefix: 'fd00:17::/64', via: 'fd00:2::1' },
      ],
    };
    assert.deepEqual(plan(d, captured), []);
    assert.deepEqual(plan(NETNS, netnsComplete()), []);
  });

  it("zebra's routes in the VRF (a changeDrain anchor's blackhole, BGP routes) are not ours: no step touches them", () => {
    const current: CurrentDataplane = { ...netnsComplete(), routes: parseRoutes(fx('vrfns-route4-numeric-anchor.json'), 4) };
    assert.deepEqual(argvs(plan({ ...NETNS, routes: [{ prefix: '10.17.0.0/16', via: '10.0.2.1' }] }, current)), []);
  });

  it('VNI change: the VXLAN is deleted in the VRF namespace, recreated outside and moved in, restartZebra', () => {
    const d = { ...NETNS, vxlan: { ...NETNS.vxlan, vni: 2016 } };
    const { steps, after } = converge(d, netnsComplete());
    assert.deepEqual(argvs(steps), [
      'ip -n vrf-vpn link del vxlan-vpn',
      'ip link add vxlan-vpn type vxlan id 2016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn netns vrf-vpn',
      ...NETNS_VXLAN_IN,
    ]);
    assert.equal(steps[0]?.restartZebra, true);
    assert.equal(steps[1]?.restartZebra, true);
    assert.equal(link(after.vrfNamespace?.links ?? [], 'vxlan-vpn').vxlan?.vni, 2016);
  });

  it('MTU and learning drift are fixed in place (captured drift)', () => {
    const cur = netnsComplete();
    const [drift] = parseLinks(fx('vrfns-vxlan-drift.json'));
    assert.ok(drift && cur.vrfNamespace);
    cur.vrfNamespace.links = cur.vrfNamespace.links.map((l) => (l.name === 'vxlan-vpn' ? drift : l));
    const { steps } = converge(NETNS, cur);
    assert.deepEqual(argvs(steps), [
      'ip -n vrf-vpn link set vxlan-vpn mtu 1450',
      'ip -n vrf-vpn link set vxlan-vpn type vxlan nolearning',
      'bridge -n vrf-vpn link set dev vxlan-vpn learning off',
    ]);
    assert.ok(steps.every((s) => !s.restartZebra));
  });

  it('a device deleted by hand is recreated (VXLAN; the whole VRF namespace)', () => {
    const host = FakeHost.from(netnsComplete());
    host.run(['ip', '-n', 'vrf-vpn', 'link', 'del', 'vxlan-vpn']);
    const { steps } = converge(NETNS, host.state(NOWNED));
    assert.deepEqual(argvs(steps), [
      'ip link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn netns vrf-vpn',
      ...NETNS_VXLAN_IN,
    ]);
    assert.ok(steps.every((s) => !s.restartZebra));

    // `ip netns del` by hand: the VRF namespace, the bridge, the VXLAN, the internal interface and its route are gone.
    const cur: CurrentDataplane = { owned: NOWNED, gatewayNsRef: '4242', gatewayLinks: [], routes: [] };
    const r = applyPlan(NETNS, cur);
    assert.equal(r.steps[0]?.argv.join(' '), 'ip netns add vrf-vpn');
    assert.equal(r.steps[0]?.restartZebra, true);
    assert.ok(r.steps.some((s) => s.warning && /internal interface eth1 is neither/.test(s.why)));
  });

  it('a VXLAN whose socket is in the VRF namespace (created there) is recreated from the gateway namespace', () => {
    const cur = netnsComplete();
    assert.ok(cur.vrfNamespace);
    const vx = link(cur.vrfNamespace.links, 'vxlan-vpn');
    delete vx.linkNetnsid;
    const { steps } = converge(NETNS, cur);
    assert.match(steps[0]?.why ?? '', /UDP socket is in the VRF namespace/);
    assert.deepEqual(argvs(steps).slice(0, 3), [
      'ip -n vrf-vpn link del vxlan-vpn',
      'ip link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13 nolearning',
      'ip link set vxlan-vpn netns vrf-vpn',
    ]);
  });

  it('a VXLAN left in the gateway namespace (interrupted run) is moved in when it matches', () => {
    const cur = netnsNothing();
    const [created] = parseLinks(fx('gw-vxlan-created.json'));
    assert.ok(created);
    cur.gatewayLinks.push(created);
    const { steps } = converge(NETNS, cur);
    assert.ok(!argvs(steps).some((a) => a.includes('link add vxlan-vpn')));
    assert.ok(argvs(steps).includes('ip link set vxlan-vpn netns vrf-vpn'));
  });

  it('removal: the internal interface goes back with its addresses, devices and the VRF namespace are deleted', () => {
    const { steps, after } = converge(undefined, netnsComplete());
    assert.deepEqual(argvs(steps), [
      'ip -n vrf-vpn link set eth1 netns 4242',
      'ip addr add 10.0.2.13/24 dev eth1',
      'ip addr add fd00:2::13/64 dev eth1 nodad',
      'ip link set eth1 up',
      'ip -n vrf-vpn link del vxlan-vpn',
      'ip -n vrf-vpn link del br-vpn',
      'ip netns del vrf-vpn',
    ]);
    assert.equal(after.vrfNamespace, undefined);
    assert.deepEqual(
      link(after.gatewayLinks, 'eth1').addresses.map((a) => a.local),
      ['10.0.2.13', 'fd00:2::13'],
    );
    assert.deepEqual(plan(undefined, netnsNothing()), []);
  });

  it('in a test namespace: gateway-side commands use ip -n GW, VRF-side ones ip -n VRF', () => {
    const cur = { ...netnsNothing(), netns: 'fsl-1-0-gw', gatewayNsRef: 'fsl-1-0-gw' };
    const { steps } = converge(NETNS, cur);
    assert.ok(argvs(steps).includes('ip -n fsl-1-0-gw link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13 nolearning'));
    assert.ok(argvs(steps).includes('ip -n fsl-1-0-gw link set vxlan-vpn netns vrf-vpn'));
    const back = converge(undefined, converge(NETNS, cur).after).steps;
    assert.equal(back[0]?.argv.join(' '), 'ip -n vrf-vpn link set eth1 netns fsl-1-0-gw');
  });
});

// ---------------------------------------------------------------------------------------------------------
// readers and reconcile with a replaying runner (no root needed)

/** A runner answering from a table of argv -> output; records what ran. */
function replay(answers: Record<string, { stdout?: string; stderr?: string; exitCode?: number }>): Runner & { ran: string[] } {
  const ran: string[] = [];
  const fn = (argv: readonly string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> => {
    const key = argv.join(' ');
    ran.push(key);
    const a = answers[key] ?? Object.entries(answers).find(([k]) => k.endsWith('*') && key.startsWith(k.slice(0, -1)))?.[1];
    if (!a) return Promise.resolve({ stdout: '', stderr: `unexpected command ${key}`, exitCode: 99 });
    return Promise.resolve({ stdout: a.stdout ?? '', stderr: a.stderr ?? '', exitCode: a.exitCode ?? 0 });
  };
  return Object.assign(fn, { ran });
}

describe('readers and reconcile (replayed ip output)', () => {
  it('readRoutes: a table that does not exist yet is empty (captured "[" + "FIB table does not exist")', async () => {
    const runner = replay({
      'ip -json -N -4 route show table 2000': {
        stdout: fx('route-table-missing.stdout.txt'),
        stderr: fx('route-table-missing.stderr.txt'),
        exitCode: 2,
      },
      'ip -json -N -6 route show table 2000': {
        stdout: fx('gw-route6-table2000-missing.stdout.txt'),
        stderr: fx('gw-route6-table2000-missing.stderr.txt'),
        exitCode: 2,
      },
    });
    assert.deepEqual(await readRoutes(undefined, 2000, runner), []);
  });

  it('readState (netns backend) reads the gateway namespace, the namespace list, the VRF namespace and its routes', async () => {
    const owned: OwnedNames = { ...NOWNED, vrf: { name: 'vrf-vpn-cap', table: 2000 } };
    const runner = replay({
      'ip -n dpcap-gw -json -details addr show': { stdout: fx('gw-addr-after-netns-backend.json') },
      'ip -json netns list': { stdout: fx('netns-list.json') },
      'ip -n vrf-vpn-cap -json -details addr show': { stdout: fx('vrfns-addr-netns-backend.json') },
      'ip -n vrf-vpn-cap -json -N -4 route show': { stdout: fx('vrfns-route4.json') },
      'ip -n vrf-vpn-cap -json -N -6 route show': { stdout: fx('vrfns-route6.json') },
      'ip netns exec vrf-vpn-cap cat /proc/sys/net/ipv4/ip_forward': { stdout: '1\n' },
      'ip netns exec vrf-vpn-cap cat /proc/sys/net/ipv6/conf/all/forwarding': { stdout: '0\n' },
    });
    const cur = await readState(owned, { netns: 'dpcap-gw', runner });
    assert.equal(cur.netns, 'dpcap-gw');
    assert.equal(cur.gatewayNsRef, 'dpcap-gw');
    assert.deepEqual(cur.gatewayLinks, []);
    assert.deepEqual(
      cur.vrfNamespace?.links.map((l) => l.name),
      ['lo', 'br-vpn', 'eth1', 'vxlan-vpn'],
    );
    assert.equal(cur.routes.filter((r) => r.protocol === 'static').length, 3);
    assert.deepEqual(cur.vrfForwarding, { ipv4: true, ipv6: false });
  });

  it('reconcile (kernel backend) on a kernel without VRF devices fails with the CONFIG_NET_VRF message and runs nothing', async () => {
    const runner = replay({
      'ip -json -details addr show': { stdout: fx('gw-addr-before.json') },
      'ip -json -N -4 route show table 2000': { stdout: '[', stderr: fx('route-table-missing.stderr.txt'), exitCode: 2 },
      'ip -json -N -6 route show table 2000': { stdout: '[', stderr: fx('gw-route6-table2000-missing.stderr.txt'), exitCode: 2 },
      'unshare --net -- ip link add fsvrfprobe type vrf table 1': { stderr: 'Error: Unknown device type.\n', exitCode: 2 },
    });
    await assert.rejects(reconcile(KERNEL, { runner }), (err: unknown) => {
      assert.ok(err instanceof VrfUnsupportedError);
      assert.equal(
        err.message,
        'this kernel has no VRF devices (CONFIG_NET_VRF): use the netns VRF backend (gateway.yaml vrfBackend: netns) or a kernel with CONFIG_NET_VRF',
      );
      return true;
    });
    assert.ok(!runner.ran.some((c) => c.startsWith('ip link add vrf-vpn')), runner.ran.join('\n'));
  });

  it('detectVrfSupport falls back to the gateway namespace when unshare is not permitted', async () => {
    const runner = replay({
      'unshare --net -- ip link add fsvrfprobe type vrf table 1': {
        stderr: 'unshare: unshare failed: Operation not permitted\n',
        exitCode: 1,
      },
      'ip -n gw link add fsvrfp*': { stderr: 'Error: Unknown device type.\n', exitCode: 2 },
    });
    assert.equal((await detectVrfSupport({ netns: 'gw', runner })).status, 'unsupported');
    const ok = replay({ 'unshare --net -- ip link add fsvrfprobe type vrf table 1': {} });
    assert.equal((await detectVrfSupport({ runner: ok })).status, 'supported');
  });

  it('reconcile stops at the first failing step with an error naming its argv and ip stderr', async () => {
    const runner = replay({
      'ip -json -details addr show': { stdout: fx('gw-addr-before.json') },
      'ip -json netns list': { stdout: '[]' },
      'ip netns add vrf-vpn': {},
      'ip -n vrf-vpn link set lo up': {},
      'ip netns exec vrf-vpn tee *': {},
      'ip -n vrf-vpn link add br-vpn type bridge': { stderr: 'RTNETLINK answers: File exists\n', exitCode: 2 },
    });
    await assert.rejects(
      reconcile(NETNS, { runner }),
      /data plane step 5\/\d+ failed: ip -n vrf-vpn link add br-vpn type bridge \(create bridge br-vpn\): RTNETLINK answers: File exists/,
    );
    assert.equal(runner.ran.at(-1), 'ip -n vrf-vpn link add br-vpn type bridge');
  });

  it('dryRun plans without running; removal needs the owned names', async () => {
    const runner = replay({
      'ip -json -details addr show': { stdout: fx('gw-addr-before.json') },
      'ip -json netns list': { stdout: '[]' },
    });
    const r = await reconcile(NETNS, { runner, dryRun: true });
    assert.equal(r.changed, false);
    assert.equal(r.restartZebra, true);
    assert.equal(r.steps[0]?.argv.join(' '), 'ip netns add vrf-vpn');
    assert.ok(!runner.ran.includes('ip netns add vrf-vpn'));
    await assert.rejects(reconcile(undefined, { runner }), /opts.owned/);
    assert.deepEqual(ownedFromSpec({ ...SPEC, gateway: { ...SPEC.gateway, vrfBackend: 'netns' } }), NOWNED);
  });
});

// ---------------------------------------------------------------------------------------------------------
// traffic: forwarding sysctls, on-link advertised CIDRs, failures that do not stop the other steps

describe('plan and reconcile: what traffic needs', () => {
  it('netns backend: an existing VRF namespace with forwarding off gets it on (tee with input 1, independent steps)', () => {
    const cur = netnsComplete();
    cur.vrfForwarding = { ipv4: false, ipv6: true };
    const steps = commandSteps(plan(NETNS, cur));
    assert.deepEqual(
      steps.map((s) => s.argv.join(' ')),
      ['ip netns exec vrf-vpn tee /proc/sys/net/ipv4/ip_forward'],
    );
    assert.equal(steps[0]?.input, '1\n');
    assert.equal(steps[0]?.independent, true);
    cur.vrfForwarding = { ipv4: true };
    assert.deepEqual(argvs(plan(NETNS, cur)), [], 'IPv6 missing (disabled): nothing to set');
    // a new namespace on a kernel without IPv6: only IPv4
    const fresh = { ...netnsNothing(), ipv6Available: false };
    assert.ok(!argvs(plan(NETNS, fresh)).some((a) => a.includes('ipv6')));
  });

  it("an advertised CIDR on the internal interface's own subnet (or inside it) gets no route; the others do", () => {
    // eth1 is 10.0.2.13/24 and fd00:2::13/64
    const routes = [
      { prefix: '10.0.2.0/24', via: '10.0.2.1' },
      { prefix: '10.0.2.128/25', via: '10.0.2.1' },
      { prefix: '10.17.0.0/16', via: '10.0.2.1' },
      { prefix: '10.0.0.0/8', via: '10.0.2.1' },
    ];
    for (const [name, d, nothing] of [
      ['netns', { ...NETNS, routes }, netnsNothing],
      ['kernel', { ...KERNEL, routes }, kernelNothing],
    ] as const) {
      const { steps } = converge(d, nothing());
      const routeSteps = argvs(steps).filter((a) => a.includes(' route '));
      assert.deepEqual(
        routeSteps.map((a) => a.split(' ').find((w) => w.includes('/'))),
        ['10.17.0.0/16', '10.0.0.0/8'],
        `${name}: ${routeSteps.join('; ')}`,
      );
      assert.ok(
        commandSteps(steps)
          .filter((s) => s.argv.includes('route'))
          .every((s) => s.independent),
        name,
      );
    }
  });

  it('a failing route does not stop the other routes; the error lists every failure and keeps what ran', async () => {
    const d: DesiredDataplane = {
      ...NETNS,
      routes: [
        { prefix: '10.17.0.0/16', via: '10.0.2.1' },
        { prefix: '10.18.0.0/16', via: '10.0.2.1' },
      ],
    };
    const runner = replay({
      'ip -json -details addr show': { stdout: fx('gw-addr-before.json') },
      'ip -json netns list': { stdout: '[]' },
      'ip -n vrf-vpn route replace 10.17.0.0/16 *': { stderr: 'Error: Nexthop has invalid gateway.\n', exitCode: 2 },
      'ip *': {},
      'bridge *': {},
    });
    await assert.rejects(reconcile(d, { runner }), (err: unknown) => {
      assert.ok(err instanceof DataplaneStepError);
      assert.equal(err.failures.length, 1);
      assert.match(err.message, /ip -n vrf-vpn route replace 10\.17\.0\.0\/16 via 10\.0\.2\.1 proto static .*Nexthop has invalid gateway/);
      assert.equal(err.restartZebra, true, 'the namespace was created: zebra must restart');
      return true;
    });
    assert.ok(runner.ran.includes('ip -n vrf-vpn route replace 10.18.0.0/16 via 10.0.2.1 proto static'), runner.ran.join('\n'));
  });

  it("the runner gets the step's input", async () => {
    const inputs: Array<string | undefined> = [];
    const runner: Runner = (argv, opts) => {
      const key = argv.join(' ');
      if (key.startsWith('ip netns exec') && key.includes(' tee ')) inputs.push(opts?.input);
      if (key === 'ip -json -details addr show') return Promise.resolve({ stdout: fx('gw-addr-before.json'), stderr: '', exitCode: 0 });
      if (key === 'ip -json netns list') return Promise.resolve({ stdout: '[{"name":"vrf-vpn"}]', stderr: '', exitCode: 0 });
      if (key === 'ip -n vrf-vpn -json -details addr show') return Promise.resolve({ stdout: '[]', stderr: '', exitCode: 0 });
      if (key.includes(' cat /proc/sys/net/ipv4')) return Promise.resolve({ stdout: '0\n', stderr: '', exitCode: 0 });
      if (key.includes(' cat /proc/sys/net/ipv6'))
        return Promise.resolve({
          stdout: '',
          stderr: 'cat: /proc/sys/net/ipv6/conf/all/forwarding: No such file or directory\n',
          exitCode: 1,
        });
      return Promise.resolve({ stdout: '[]', stderr: '', exitCode: 0 });
    };
    await reconcile(NETNS, { runner, dryRun: false }).catch(() => undefined);
    assert.deepEqual(inputs, ['1\n']);
  });
});

describe('IP forwarding check (the namespaces the supervisor does not own)', () => {
  const answers = (v4: string, v6: string | undefined): Runner =>
    replay({
      'cat /proc/sys/net/ipv4/ip_forward': { stdout: `${v4}\n` },
      'cat /proc/sys/net/ipv6/conf/all/forwarding':
        v6 === undefined
          ? { stderr: 'cat: /proc/sys/net/ipv6/conf/all/forwarding: No such file or directory\n', exitCode: 1 }
          : { stdout: `${v6}\n` },
      'ip netns exec vrf-vpn cat /proc/sys/net/ipv4/ip_forward': { stdout: '1\n' },
      'ip netns exec vrf-vpn cat /proc/sys/net/ipv6/conf/all/forwarding': { stdout: '1\n' },
    });
  const bgpOnly: Spec = { ...SPEC, evpn: undefined, gateway: { ...SPEC.gateway, advertise: ['10.17.0.0/16'] } };
  delete (bgpOnly as { evpn?: unknown }).evpn;

  it("families: the advertised CIDRs' (none for []); without a list, IPv4 and the neighbours'", () => {
    assert.deepEqual(neededFamilies(SPEC), [4, 6]);
    assert.deepEqual(neededFamilies(bgpOnly), [4]);
    assert.deepEqual(neededFamilies({ ...bgpOnly, gateway: { ...bgpOnly.gateway, advertise: [] } }), []);
    const noList = { ...bgpOnly, gateway: { ...bgpOnly.gateway } };
    delete noList.gateway.advertise;
    assert.deepEqual(neededFamilies(noList), [4]);
    assert.deepEqual(neededFamilies({ ...noList, bgp: { ...noList.bgp, neighbours: ['10.0.1.1', 'fd00:1::1'] } }), [4, 6]);
  });

  it("BGP-only / kernel backend: forwarding off in the gateway's namespace is a problem naming the sysctl; not owned", async () => {
    const off = await checkForwarding(bgpOnly, { runner: answers('0', '0') });
    assert.equal(off.owned, false);
    assert.deepEqual(off.state, { ipv4: false, ipv6: false });
    assert.equal(off.problems.length, 1);
    assert.match(off.problems[0] ?? '', /^net\.ipv4\.ip_forward is 0 in the gateway's namespace: IPv4 packets .*\(BGP-only mode\)/);
    assert.deepEqual((await checkForwarding(bgpOnly, { runner: answers('1', undefined) })).problems, []);
    const kernel = await checkForwarding(SPEC, { runner: answers('1', undefined) });
    assert.equal(kernel.problems.length, 1);
    assert.match(kernel.problems[0] ?? '', /net\.ipv6\.conf\.all\.forwarding does not exist \(IPv6 disabled\).*kernel VRF backend/);
  });

  it('netns backend: the VRF namespace is checked, and owned', async () => {
    const r = await checkForwarding({ ...SPEC, gateway: { ...SPEC.gateway, vrfBackend: 'netns' } }, { runner: answers('0', '0') });
    assert.equal(r.owned, true);
    assert.equal(r.namespace, 'VRF namespace vrf-vpn');
    assert.deepEqual(r.problems, []);
  });
});

describe('a stale /run/netns entry (netns backend)', () => {
  it('readState reports it, and the plan deletes the entry before creating the VRF namespace', async () => {
    const runner = replay({
      'ip -json -details addr show': { stdout: fx('gw-addr-before.json') },
      'ip -json netns list': { stdout: '[{"name":"vrf-vpn"}]' },
      'ip -n vrf-vpn -json -details addr show': {
        stderr: 'setting the network namespace "vrf-vpn" failed: Invalid argument\n',
        exitCode: 255,
      },
    });
    const cur = await readState(NOWNED, { runner });
    assert.equal(cur.staleVrfEntry, true);
    assert.equal(cur.vrfNamespace, undefined);
    assert.deepEqual(argvs(plan(NETNS, cur)).slice(0, 2), ['ip netns del vrf-vpn', 'ip netns add vrf-vpn']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Kube-OVN 1.16's devices (the gateway Pod's `init` container, kept by the webhook's mutation)

describe("plan: the devices Kube-OVN 1.16's init container made (kernel backend)", () => {
  /**
   * dist/images/init-vpc-egress-gateway.sh at kubeovn/kube-ovn 1533681d7, EVPN mode, in the kernel's terms (eth1 is
   * the internal interface here): VRF table 2000, the bridge in it, the VXLAN without `nolearning` and without an
   * MTU, the internal interface enslaved, the non-SNAT policy CIDRs routed in table 2000 (protocol boot: `ip route
   * add` without `proto`).
   */
  const KUBE_OVN_INIT = [
    'ip link add vrf-vpn type vrf table 2000',
    'ip link set vrf-vpn up',
    'ip link add br-vpn type bridge',
    'ip link set br-vpn master vrf-vpn',
    'ip link set br-vpn up',
    'ip link add vxlan-vpn type vxlan id 1016 dstport 4789 local 10.0.1.13',
    'ip link set vxlan-vpn master br-vpn',
    'ip link set vxlan-vpn up',
    'ip link set eth1 master vrf-vpn',
    'ip route replace 10.17.0.0/16 via 10.0.2.1 dev eth1 table 2000',
  ];

  it('are taken over in place: learning off, the MTU set, the route made its own; nothing deleted, no zebra restart', () => {
    const host = FakeHost.from(kernelNothing());
    for (const cmd of KUBE_OVN_INIT) host.run(cmd.split(' '));
    const before = host.state(KOWNED);
    assert.equal(link(before.gatewayLinks, 'vxlan-vpn').vxlan?.learning, true);
    assert.equal(link(before.gatewayLinks, 'vxlan-vpn').bridgePortLearning, true);
    assert.deepEqual(
      before.routes.map((r) => `${r.prefix} ${r.protocol}`),
      ['10.17.0.0/16 boot'],
    );
    const { steps, after } = converge(KERNEL, before);
    assert.deepEqual(argvs(steps), [
      'ip link set vxlan-vpn mtu 1450',
      'ip link set vxlan-vpn type vxlan nolearning',
      'bridge link set dev vxlan-vpn learning off',
      // `replace` swaps Kube-OVN's route for the same one with protocol static in one netlink call: no moment without it.
      'ip route replace 10.17.0.0/16 via 10.0.2.1 table 2000 proto static',
    ]);
    assert.ok(steps.every((s) => !s.restartZebra && !s.warning));
    assert.ok(!argvs(steps).some((a) => / del /.test(a)), 'no device or route deleted');
    const vx = link(after.gatewayLinks, 'vxlan-vpn');
    assert.deepEqual([vx.mtu, vx.vxlan?.learning, vx.bridgePortLearning, vx.master], [1450, false, false, 'br-vpn']);
  });
});
