/**
 * Validation of the three resources (BgpConf, EvpnConf, the gateway facts) into the normalized Spec.
 * Every problem is reported (not only the first); a field's reporter says where the value came from,
 * a file path like `spec.neighbours[1]` or a Kube-OVN environment variable.
 */
import type { Reporter } from './problems.ts';
import type { BfdSpec, BgpSpec, ChangeDrainSpec, EvpnSpec, GatewaySpec, VrfBackend } from './types.ts';
import { BFD_DEFAULTS, GATEWAY_DEFAULTS } from './types.ts';
import { compareAddresses, compareCidrs } from './net.ts';
import * as f from './fields.ts';

/** Gives the reporter for a field of a resource, whatever the input form. */
export type FieldReporter = (field: string) => Reporter;

export const BGP_FIELDS = [
  'localASN',
  'peerASN',
  'routerId',
  'neighbours',
  'password',
  'holdTime',
  'keepaliveTime',
  'connectTime',
  'ebgpMultiHop',
  // in Kube-OVN 1.16's BgpConf CRD (a bool), unused by Kube-OVN; here it wins over gateway.yaml's gracefulRestart
  'gracefulRestart',
] as const;
export const EVPN_FIELDS = ['vni', 'routeTargets'] as const;
export const GATEWAY_FIELDS = [
  'advertise',
  'externalInterface',
  'internalInterface',
  'internalGateway',
  'vrf',
  'bridge',
  'vxlan',
  'gracefulRestart',
  'vrfBackend',
  'maximumPrefix',
  'changeDrain',
  'bfd',
] as const;
export const BFD_FIELDS = [
  'enabled',
  'receiveInterval',
  'transmitInterval',
  'detectMultiplier',
  'echoMode',
  'passiveMode',
  'minimumTtl',
] as const;
export const CHANGE_DRAIN_FIELDS = ['enabled', 'slot', 'slots', 'settle', 'maxWait', 'anchors'] as const;

export const MAX_NEIGHBOURS = 1024;
export const MAX_ROUTE_TARGETS = 64;
export const MAX_ADVERTISE = 4096;

export interface BgpDefaults {
  /** The router id to use when spec.routerId is absent, and where it came from; or why there is none. */
  routerId: { value: string; source: 'POD_IP' | 'interface' } | { missing: string };
  /** A password from the `bgp-password` file (Secret), already validated; it overrides spec.password. */
  password?: string;
}

export function validateBgp(spec: Record<string, unknown>, field: FieldReporter, defaults: BgpDefaults): BgpSpec | undefined {
  let ok = true;
  const need = <T>(v: T | undefined): T | undefined => {
    if (v === undefined) ok = false;
    return v;
  };
  const required = (name: string): unknown => {
    if (spec[name] === undefined || spec[name] === null) {
      field(name).error('is required');
      ok = false;
      return undefined;
    }
    return spec[name];
  };

  const localRaw = required('localASN');
  const localAsn = localRaw === undefined ? undefined : need(f.asn(localRaw, field('localASN')));
  const peerRaw = required('peerASN');
  const peerAsn = peerRaw === undefined ? undefined : need(f.asn(peerRaw, field('peerASN')));

  let routerId: string | undefined;
  let routerIdSource: BgpSpec['routerIdSource'] = 'spec';
  if (spec.routerId !== undefined && spec.routerId !== null) {
    routerId = need(f.address(spec.routerId, field('routerId'), 'IPv4 router id', 4))?.canonical;
  } else if ('value' in defaults.routerId) {
    routerId = defaults.routerId.value;
    routerIdSource = defaults.routerId.source;
  } else {
    field('routerId').error(defaults.routerId.missing);
    ok = false;
  }

  const neighbours: Array<{ family: 4 | 6; canonical: string; bytes: number[] }> = [];
  const nRaw = required('neighbours');
  if (nRaw !== undefined) {
    const list = f.stringList(nRaw, field('neighbours'), 'neighbour IP addresses', MAX_NEIGHBOURS);
    if (list === undefined) ok = false;
    else if (list.length === 0) {
      field('neighbours').error('must list at least one neighbour address');
      ok = false;
    } else {
      const seen = new Map<string, number>();
      list.forEach((item, i) => {
        const r = field('neighbours').at(i);
        const addr = f.address(item, r, 'neighbour IP address');
        if (!addr) return void (ok = false);
        const first = seen.get(addr.canonical);
        if (first !== undefined) {
          r.error(`${addr.canonical} is listed twice (also at index ${first})`);
          ok = false;
          return;
        }
        if (addr.canonical === routerId) {
          r.error(`${addr.canonical} equals the router id; a neighbour must be another router`);
          ok = false;
          return;
        }
        seen.set(addr.canonical, i);
        neighbours.push(addr);
      });
    }
  }

  let password: string | undefined = defaults.password;
  if (password === undefined && spec.password !== undefined && spec.password !== null) {
    password = need(f.password(spec.password, field('password')));
  }

  // Timers: FRR's `timers KEEPALIVE HOLD` wants both; a missing one is derived (keepalive = hold/3, hold = 3 x keepalive).
  const opt = (name: string, min: number, max: number, extra?: string): number | undefined =>
    spec[name] === undefined || spec[name] === null ? undefined : need(f.duration(spec[name], field(name), min, max, extra));
  let holdTime = opt('holdTime', 0, 65535, '0 (no keepalives) or 3..65535 s');
  if (holdTime !== undefined && holdTime > 0 && holdTime < 3) {
    field('holdTime').error(`${holdTime} s is not allowed: 0 (no keepalives) or 3..65535 s`);
    holdTime = undefined;
    ok = false;
  }
  let keepaliveTime = opt('keepaliveTime', 1, 65535);
  const connectTime = opt('connectTime', 1, 65535);
  if (holdTime !== undefined && keepaliveTime !== undefined) {
    if (keepaliveTime > Math.floor(holdTime / 3)) {
      field('keepaliveTime').error(
        `${keepaliveTime} s is more than a third of holdTime (${holdTime} s); at most ${Math.floor(holdTime / 3)} s`,
      );
      ok = false;
    }
  } else if (holdTime !== undefined) {
    keepaliveTime = Math.floor(holdTime / 3);
  } else if (keepaliveTime !== undefined) {
    if (keepaliveTime * 3 > 65535) {
      field('keepaliveTime').error(
        `${keepaliveTime} s implies a hold time of ${keepaliveTime * 3} s (3 x keepalive), above 65535 s; set holdTime too`,
      );
      ok = false;
    }
    holdTime = keepaliveTime * 3;
  }

  let ebgpMultiHop = false;
  if (spec.ebgpMultiHop !== undefined && spec.ebgpMultiHop !== null) {
    ebgpMultiHop = need(f.boolean(spec.ebgpMultiHop, field('ebgpMultiHop'))) ?? false;
  }
  if (ebgpMultiHop && localAsn !== undefined && localAsn === peerAsn) {
    field('ebgpMultiHop').warn('has no effect on an iBGP session (localASN = peerASN); not rendered');
    ebgpMultiHop = false;
  }

  let gracefulRestart: boolean | undefined;
  if (spec.gracefulRestart !== undefined && spec.gracefulRestart !== null) {
    gracefulRestart = need(f.boolean(spec.gracefulRestart, field('gracefulRestart')));
  }

  if (!ok || localAsn === undefined || peerAsn === undefined || routerId === undefined) return undefined;
  neighbours.sort(compareAddresses);
  return {
    localAsn,
    peerAsn,
    routerId,
    routerIdSource,
    neighbours: neighbours.map((n) => n.canonical),
    ...(password !== undefined && { password }),
    ...(holdTime !== undefined && { holdTime, keepaliveTime }),
    ...(connectTime !== undefined && { connectTime }),
    ebgpMultiHop,
    ...(gracefulRestart !== undefined && { gracefulRestart }),
  };
}

export function validateEvpn(spec: Record<string, unknown>, field: FieldReporter): EvpnSpec | undefined {
  let ok = true;
  let vni: number | undefined;
  if (spec.vni === undefined || spec.vni === null) {
    field('vni').error('is required');
    ok = false;
  } else {
    vni = f.integer(spec.vni, field('vni'), 1, 16777215, 'a VXLAN network identifier');
    if (vni === undefined) ok = false;
  }
  const routeTargets: string[] = [];
  if (spec.routeTargets === undefined || spec.routeTargets === null) {
    field('routeTargets').error('is required (route targets for import and export, e.g. ["65000:1016"])');
    ok = false;
  } else {
    const list = f.stringList(spec.routeTargets, field('routeTargets'), 'route targets', MAX_ROUTE_TARGETS);
    if (list === undefined) ok = false;
    else if (list.length === 0) {
      field('routeTargets').error('must list at least one route target');
      ok = false;
    } else {
      list.forEach((item, i) => {
        const r = field('routeTargets').at(i);
        const rt = f.routeTarget(item, r);
        if (rt === undefined) return void (ok = false);
        if (routeTargets.includes(rt)) {
          r.error(`${rt} is listed twice`);
          ok = false;
          return;
        }
        routeTargets.push(rt);
      });
    }
  }
  if (!ok || vni === undefined) return undefined;
  return { vni, routeTargets };
}

export function validateGateway(doc: Record<string, unknown>, r: Reporter): GatewaySpec | undefined {
  let ok = true;
  const d = GATEWAY_DEFAULTS;
  const has = (k: string): boolean => doc[k] !== undefined && doc[k] !== null;
  const pick = <T>(k: string, fn: (v: unknown, rr: Reporter) => T | undefined, dflt: T): T => {
    if (!has(k)) return dflt;
    const v = fn(doc[k], r.at(k));
    if (v === undefined) {
      ok = false;
      return dflt;
    }
    return v;
  };
  f.warnUnknown(doc, GATEWAY_FIELDS, r);

  let advertise: string[] | undefined;
  if (has('advertise')) {
    const list = f.stringList(doc.advertise, r.at('advertise'), 'CIDRs', MAX_ADVERTISE);
    if (list === undefined) ok = false;
    else {
      const parsed: Array<{ family: 4 | 6; bytes: number[]; length: number; canonical: string }> = [];
      list.forEach((item, i) => {
        const c = f.cidr(item, r.at('advertise').at(i));
        if (!c) return void (ok = false);
        if (parsed.some((p) => p.canonical === c.canonical)) {
          r.at('advertise').at(i).error(`${c.canonical} is listed twice`);
          ok = false;
          return;
        }
        parsed.push(c);
      });
      parsed.sort(compareCidrs);
      advertise = parsed.map((p) => p.canonical);
    }
  }

  const sub = (k: string, known: readonly string[]): Record<string, unknown> | undefined => {
    if (!has(k)) return undefined;
    const m = f.mapping(doc[k], r.at(k));
    if (!m) ok = false;
    else f.warnUnknown(m, known, r.at(k));
    return m;
  };
  const vrfDoc = sub('vrf', ['name', 'table']);
  const bridgeDoc = sub('bridge', ['name']);
  const vxlanDoc = sub('vxlan', ['name', 'port', 'mtu']);
  const inner = <T>(
    m: Record<string, unknown> | undefined,
    parent: string,
    k: string,
    fn: (v: unknown, rr: Reporter) => T | undefined,
    dflt: T,
  ): T => {
    if (!m || m[k] === undefined || m[k] === null) return dflt;
    const v = fn(m[k], r.at(parent).at(k));
    if (v === undefined) {
      ok = false;
      return dflt;
    }
    return v;
  };
  const table = inner(
    vrfDoc,
    'vrf',
    'table',
    (v, rr) => {
      const t = f.integer(v, rr, 1, 4294967295, 'a routing table id');
      if (t !== undefined && t >= 252 && t <= 255) {
        rr.error(`table ${t} is reserved by the kernel (252 compat, 253 default, 254 main, 255 local)`);
        return undefined;
      }
      return t;
    },
    d.vrf.table,
  );
  const vxlanMtu = inner<number | undefined>(vxlanDoc, 'vxlan', 'mtu', (v, rr) => f.integer(v, rr, 68, 65535, 'an MTU'), undefined);

  const spec: GatewaySpec = {
    ...(advertise !== undefined && { advertise }),
    externalInterface: pick('externalInterface', f.interfaceName, d.externalInterface),
    internalInterface: pick('internalInterface', f.interfaceName, d.internalInterface),
    vrf: { name: inner(vrfDoc, 'vrf', 'name', f.interfaceName, d.vrf.name), table },
    bridge: { name: inner(bridgeDoc, 'bridge', 'name', f.interfaceName, d.bridge.name) },
    vxlan: {
      name: inner(vxlanDoc, 'vxlan', 'name', f.interfaceName, d.vxlan.name),
      port: inner(vxlanDoc, 'vxlan', 'port', (v, rr) => f.integer(v, rr, 1, 65535, 'a UDP port'), d.vxlan.port),
      ...(vxlanMtu !== undefined && { mtu: vxlanMtu }),
    },
    gracefulRestart: pick('gracefulRestart', f.boolean, d.gracefulRestart),
    vrfBackend: pick<VrfBackend>(
      'vrfBackend',
      (v, rr) => {
        if (v === 'kernel' || v === 'netns') return v;
        rr.error(`must be "kernel" or "netns"; got ${f.describe(v)}`);
        return undefined;
      },
      d.vrfBackend,
    ),
    maximumPrefix: pick(
      'maximumPrefix',
      (v, rr) => f.integer(v, rr, 0, 4294967295, 'a prefix count per neighbour and address family (0 = no limit)'),
      d.maximumPrefix,
    ),
    changeDrain: d.changeDrain,
  };
  if (has('changeDrain')) {
    const cd = validateChangeDrain(doc.changeDrain, r.at('changeDrain'));
    if (cd) spec.changeDrain = cd;
    else ok = false;
  }
  if (has('bfd')) {
    const bfd = validateBfd(doc.bfd, r.at('bfd'));
    if (bfd === undefined) ok = false;
    else if (bfd !== false) spec.bfd = bfd;
  }
  if (has('internalGateway')) {
    const gw = f.address(doc.internalGateway, r.at('internalGateway'), 'gateway IP address');
    if (gw) spec.internalGateway = gw.canonical;
    else ok = false;
  }
  if (spec.vrf.name === 'default') {
    r.at('vrf').at('name').error('"default" is FRR\'s default VRF; name the tenant VRF (e.g. vrf-vpn)');
    ok = false;
  }
  const names = [spec.vrf.name, spec.bridge.name, spec.vxlan.name];
  if (new Set(names).size !== names.length) {
    r.error(`the vrf, bridge and vxlan names must differ; got ${names.join(', ')}`);
    ok = false;
  }
  return ok ? spec : undefined;
}

/**
 * gateway.yaml's `bfd` mapping: the BfdSpec when enabled, false when off (`enabled` absent or false; the other
 * fields are still checked), undefined after reporting.
 */
export function validateBfd(value: unknown, r: Reporter): BfdSpec | false | undefined {
  const doc = f.mapping(value, r);
  if (!doc) return undefined;
  f.warnUnknown(doc, BFD_FIELDS, r);
  let ok = true;
  const field = <T>(k: string, fn: (v: unknown, rr: Reporter) => T | undefined, dflt: T): T => {
    if (doc[k] === undefined || doc[k] === null) return dflt;
    const v = fn(doc[k], r.at(k));
    if (v === undefined) ok = false;
    return v ?? dflt;
  };
  const ms = (v: unknown, rr: Reporter): number | undefined => f.integer(v, rr, 10, 60000, 'an interval in milliseconds');
  const enabled = field('enabled', f.boolean, false);
  const spec: BfdSpec = {
    receiveInterval: field('receiveInterval', ms, BFD_DEFAULTS.receiveInterval),
    transmitInterval: field('transmitInterval', ms, BFD_DEFAULTS.transmitInterval),
    detectMultiplier: field(
      'detectMultiplier',
      (v, rr) => f.integer(v, rr, 2, 255, 'a detection multiplier'),
      BFD_DEFAULTS.detectMultiplier,
    ),
    echoMode: field('echoMode', f.boolean, BFD_DEFAULTS.echoMode),
    passiveMode: field('passiveMode', f.boolean, BFD_DEFAULTS.passiveMode),
  };
  const ttl = field<number | undefined>('minimumTtl', (v, rr) => f.integer(v, rr, 1, 254, 'a minimum TTL'), undefined);
  if (ttl !== undefined) spec.minimumTtl = ttl;
  if (!ok) return undefined;
  return enabled && spec;
}

/**
 * Checks between gateway.yaml's `bfd` and the BgpConf: `minimumTtl` applies to multihop BFD only, which the
 * neighbours use when ebgpMultiHop is on.
 */
export function checkBfd(gateway: GatewaySpec, bgp: BgpSpec, r: Reporter): boolean {
  if (gateway.bfd?.minimumTtl === undefined || bgp.ebgpMultiHop) return true;
  r.at('bfd')
    .at('minimumTtl')
    .error('applies only to multihop BFD sessions: set ebgpMultiHop: true in the BgpConf (eBGP), or remove minimumTtl');
  return false;
}

/** The gateway's device names, with the field each comes from. */
const DEVICE_FIELDS: ReadonlyArray<readonly [string, (g: GatewaySpec) => string]> = [
  ['externalInterface', (g) => g.externalInterface],
  ['internalInterface', (g) => g.internalInterface],
  ['vrf.name', (g) => g.vrf.name],
  ['bridge.name', (g) => g.bridge.name],
  ['vxlan.name', (g) => g.vxlan.name],
];
const OWNED = new Set(['vrf.name', 'bridge.name', 'vxlan.name']);

/**
 * Every device name differs from every other one (the VRF, bridge and VXLAN trio is checked by
 * {@link validateGateway}). The internal and the external interface may be the same interface only without an
 * EvpnConf: with one, the internal interface is enslaved to the VRF, which would take the underlay with it.
 * The supervisor creates, enslaves and deletes devices by these names: a VRF named like the external
 * interface would make it delete or move the underlay.
 */
export function checkDeviceNames(g: GatewaySpec, evpn: boolean, r: Reporter): void {
  DEVICE_FIELDS.forEach(([field, get], j) => {
    for (const [other, getOther] of DEVICE_FIELDS.slice(0, j)) {
      if (get(g) !== getOther(g)) continue;
      if (OWNED.has(field) && OWNED.has(other)) continue;
      const rr = field.split('.').reduce((acc, seg) => acc.at(seg), r);
      if (field === 'internalInterface' && other === 'externalInterface') {
        if (!evpn) continue;
        rr.error(
          `${JSON.stringify(get(g))} is also the externalInterface: with an EvpnConf the internal interface is enslaved to the VRF, which would take the underlay with it; name the VPC-side interface (e.g. eth0)`,
        );
      } else {
        rr.error(
          `${JSON.stringify(get(g))} is also the ${other}: every device name (externalInterface, internalInterface, vrf.name, bridge.name, vxlan.name) must differ`,
        );
      }
      return;
    }
  });
}

/** `changeDrain.anchors`: an IPv4 network of /8../30, each replica's anchor one /32 of it. */
function validateAnchors(value: unknown, r: Reporter): string | undefined {
  const c = f.cidr(value, r);
  if (!c) return undefined;
  if (c.family !== 4 || c.length < 8 || c.length > 30) {
    r.error(`must be an IPv4 range of /8 to /30 (each replica advertises one /32 of it); got ${c.canonical}`);
    return undefined;
  }
  return c.canonical;
}

/**
 * gateway.yaml `changeDrain` (EVPN mode: a per-replica delay, then a withdrawal, before a restart). Strict: an unknown
 * key is an error, not a warning, since a misspelt `slot` would silently make every replica restart at once.
 */
function validateChangeDrain(value: unknown, r: Reporter): ChangeDrainSpec | undefined {
  const m = f.mapping(value, r);
  if (!m) return undefined;
  const d = GATEWAY_DEFAULTS.changeDrain;
  let ok = true;
  for (const key of Object.keys(m)) {
    if (!(CHANGE_DRAIN_FIELDS as readonly string[]).includes(key)) {
      r.at(key).error(`unknown field (known: ${CHANGE_DRAIN_FIELDS.join(', ')})`);
      ok = false;
    }
  }
  const get = <T>(k: (typeof CHANGE_DRAIN_FIELDS)[number], fn: (v: unknown, rr: Reporter) => T | undefined, dflt: T): T => {
    if (m[k] === undefined || m[k] === null) return dflt;
    const v = fn(m[k], r.at(k));
    if (v === undefined) ok = false;
    return v ?? dflt;
  };
  const spec: ChangeDrainSpec = {
    enabled: get('enabled', f.boolean, true),
    slotSeconds: get('slot', (v, rr) => f.duration(v, rr, 1, 600), d.slotSeconds),
    slots: get('slots', (v, rr) => f.integer(v, rr, 1, 64, 'a number of slots'), d.slots),
    settleSeconds: get('settle', (v, rr) => f.duration(v, rr, 0, 30), d.settleSeconds),
    maxWaitSeconds: get('maxWait', (v, rr) => f.duration(v, rr, 1, 60), d.maxWaitSeconds),
  };
  const anchors = get<string | undefined>('anchors', validateAnchors, undefined);
  if (anchors !== undefined) spec.anchors = anchors;
  return ok ? spec : undefined;
}
