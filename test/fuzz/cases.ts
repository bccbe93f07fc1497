/**
 * Case generation for the config fuzzer. `generateCase(seed, index, total)` is a pure function of its
 * arguments, so a failing case is replayed with FUZZ_SEED and FUZZ_ONLY alone.
 *
 * Most cases start from a valid-by-construction model (BgpConf, EvpnConf, gateway facts, password file or
 * Kube-OVN environment variables, with the Spec it must load to), then mutate it: hostile field values,
 * injection payloads in string fields, lookalike unicode, numeric edge literals, YAML features (anchors,
 * tags, directives, block scalars, duplicate keys), text-level and byte-level edits. A few scheduled cases
 * are big or deep: 10 MB files, 10 000 levels of nesting (run in a child process: they can kill Node), a
 * mapping with tens of thousands of keys.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as yamlStringify } from 'yaml';
import { Rng } from './rng.ts';
import * as v from './values.ts';
import { ENV_MAPPING } from '../../src/config/env.ts';
import {
  BGP_FIELDS as VALIDATED_BGP_FIELDS,
  EVPN_FIELDS as VALIDATED_EVPN_FIELDS,
  GATEWAY_FIELDS as VALIDATED_GATEWAY_FIELDS,
} from '../../src/config/validate.ts';

export type FileSpec = string | Uint8Array | { dir: true } | { symlink: string };

/** What a valid-by-construction case must load to (the parts the fuzzer can state independently). */
export interface Expected {
  localAsn: number;
  peerAsn: number;
  routerId: string;
  neighbours: string[];
  password?: string;
  holdTime?: number;
  keepaliveTime?: number;
  connectTime?: number;
  ebgpMultiHop: boolean;
  evpn?: { vni: number; routeTargets: string[] };
  advertise?: string[];
  vrfName: string;
  gracefulRestart: boolean;
  maximumPrefix: number;
}

export type Expectation = { accepted: Expected | true } | { rejected: string };

export interface FuzzCase {
  seed: number;
  index: number;
  /** The generator that made it. */
  kind: string;
  /** What was done to the input, for the failure message. */
  note: string;
  files: Record<string, FileSpec>;
  env: Record<string, string>;
  useEnv: boolean;
  /** configDir: the case dir, a missing path, a regular file, or no configDir at all. */
  dirMode: 'dir' | 'missing' | 'file' | 'none';
  /** What facts.interfaceIPv4 answers for any interface. */
  ifaceIp?: string;
  /** Run in a child process: the input may crash Node itself. */
  isolate: boolean;
  expect?: Expectation;
}

const MIB = 1024 * 1024;
type Role = 'bgp' | 'evpn' | 'gateway';
type Obj = Record<string, unknown>;
const FILE_BASE: Record<Role, string> = { bgp: 'bgp-conf', evpn: 'evpn-conf', gateway: 'gateway' };
const KIND: Record<'bgp' | 'evpn', string> = { bgp: 'BgpConf', evpn: 'EvpnConf' };
// The validator's own field lists (a copy here drifted: it lacked changeDrain and bfd).
const BGP_FIELDS: readonly string[] = VALIDATED_BGP_FIELDS;
const EVPN_FIELDS: readonly string[] = VALIDATED_EVPN_FIELDS;
const GATEWAY_FIELDS: readonly string[] = VALIDATED_GATEWAY_FIELDS;
const ENV_VARS: readonly string[] = Object.keys(ENV_MAPPING);
/** Characters no validator accepts in any string field (whitespace, controls, non-ASCII, quotes). */
export const BAD_CHAR = /[^\x21-\x7e]|["']/;

// ---------------------------------------------------------------------------------------------------------------
// The model: a valid configuration, as objects, before serialization

interface Model {
  docs: Partial<Record<Role, Obj>>;
  wrap: Record<'bgp' | 'evpn', boolean>;
  ext: Record<Role, 'yaml' | 'json'>;
  /** Content of bgp-password (without its trailing newline). */
  password?: string;
  passwordEol: string;
  env: Record<string, string>;
  useEnv: boolean;
  ifaceIp?: string;
  expected: Expected;
}

function shuffledObject(rng: Rng, o: Obj): Obj {
  return Object.fromEntries(rng.shuffle(Object.entries(o)));
}

function uniqueBy<T>(rng: Rng, n: number, gen: () => T, key: (t: T) => string, avoid: Set<string> = new Set()): T[] {
  const out: T[] = [];
  const seen = new Set(avoid);
  for (let tries = 0; out.length < n && tries < n * 20 + 20; tries++) {
    const t = gen();
    const k = key(t);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(t);
  }
  return out;
}

function genValid(rng: Rng, envMode: boolean): Model {
  const localAsn = v.randomAsn(rng);
  const peerAsn = rng.chance(0.2) ? localAsn : v.randomAsn(rng);
  const nN = rng.weighted<() => number>([
    [10, () => rng.int(1, 3)],
    [4, () => rng.int(4, 8)],
    [1, () => rng.int(9, 40)],
    [0.03, () => 1024],
  ])();
  const neighbours = uniqueBy(rng, nN, () => v.randomAddr(rng, 0.3), v.addrKey);
  const routerIdAddr = uniqueBy(rng, 1, () => v.randomV4(rng), v.addrKey, new Set(neighbours.map(v.addrKey)))[0]!;
  const routerId = v.canonical(routerIdAddr);
  const routerIdMode = rng.weighted([
    [8, 'spec'],
    [1, 'pod'],
    [1, 'iface'],
  ] as const);
  const password = rng.chance(0.3) ? v.randomPassword(rng) : undefined;
  const filePassword = rng.chance(0.15) ? v.randomPassword(rng) : undefined;

  // timers: none, hold only, keepalive only, both; connect independently
  let hold: number | undefined;
  let keepalive: number | undefined;
  const timerMode = rng.int(0, 3);
  if (timerMode === 1 || timerMode === 3) hold = rng.chance(0.1) ? 0 : rng.pick([3, 9, 90, 180, 65535, rng.int(3, 65535)]);
  if (timerMode === 2) keepalive = rng.chance(0.5) ? rng.pick([1, 30, 60, 21845]) : rng.int(1, 21845);
  if (timerMode === 3 && hold !== undefined && hold >= 3) keepalive = rng.int(1, Math.floor(hold / 3));
  const connect = rng.chance(0.3) ? rng.pick([1, 5, 10, 65535, rng.int(1, 65535)]) : undefined;
  const expHold = hold ?? (keepalive !== undefined ? keepalive * 3 : undefined);
  const expKeepalive = keepalive ?? (hold !== undefined ? Math.floor(hold / 3) : undefined);
  const multihop = rng.chance(0.4) ? rng.chance(0.5) : undefined;

  const evpn = rng.chance(0.35)
    ? {
        vni: rng.weighted<() => number>([
          [3, () => rng.int(1, 65535)],
          [2, () => rng.int(65536, 16777215)],
          [1, () => rng.pick([1, 1016, 65535, 65536, 131072, 16777215])],
        ])(),
        rts: uniqueBy(
          rng,
          rng.chance(0.05) ? 64 : rng.int(1, 4),
          () => v.randomRouteTarget(rng),
          (r) => r.canonical,
        ),
      }
    : undefined;

  // gateway
  const gw: Obj = {};
  let advertise: v.Cidr[] | undefined;
  if (rng.chance(0.5)) {
    advertise = uniqueBy(rng, rng.chance(0.1) ? 0 : rng.int(1, 6), () => v.randomCidr(rng), v.cidrCanonical);
    gw.advertise = advertise.map((c) => v.cidrText(rng, c));
  }
  const names = { vrf: 'vrf-vpn', bridge: 'br-vpn', vxlan: 'vxlan-vpn' };
  for (const k of ['vrf', 'bridge', 'vxlan'] as const) {
    // "default" is FRR's default VRF: valid as a bridge or VXLAN name, rejected as the tenant VRF's
    if (rng.chance(0.3)) names[k] = v.randomIfName(rng, k === 'vrf' ? ['default'] : []);
  }
  if (new Set(Object.values(names)).size < 3) Object.assign(names, { vrf: 'vrf-vpn', bridge: 'br-vpn', vxlan: 'vxlan-vpn' });
  if (rng.chance(0.3)) gw.externalInterface = v.randomIfName(rng);
  if (rng.chance(0.2)) gw.internalInterface = v.randomIfName(rng);
  // every device name differs (internal = external is allowed without an EvpnConf): on a clash, the defaults
  const ext = (gw.externalInterface as string | undefined) ?? 'net1';
  const int = (gw.internalInterface as string | undefined) ?? 'eth0';
  const devices = [ext, ...(evpn || int !== ext ? [int] : []), names.vrf, names.bridge, names.vxlan];
  if (new Set(devices).size < devices.length) {
    delete gw.externalInterface;
    delete gw.internalInterface;
    Object.assign(names, { vrf: 'vrf-vpn', bridge: 'br-vpn', vxlan: 'vxlan-vpn' });
  }
  if (rng.chance(0.2)) gw.internalGateway = v.addrText(rng, v.randomAddr(rng));
  const vrf: Obj = {};
  if (names.vrf !== 'vrf-vpn' || rng.chance(0.2)) vrf.name = names.vrf;
  if (rng.chance(0.2)) {
    let t = rng.chance(0.5) ? rng.int(1, 4294967295) : rng.pick([1, 251, 256, 2000, 3000, 4294967295]);
    if (t >= 252 && t <= 255) t = 2000;
    vrf.table = t;
  }
  if (Object.keys(vrf).length > 0) gw.vrf = vrf;
  if (names.bridge !== 'br-vpn') gw.bridge = { name: names.bridge };
  const vx: Obj = {};
  if (names.vxlan !== 'vxlan-vpn') vx.name = names.vxlan;
  if (rng.chance(0.15)) vx.port = rng.chance(0.3) ? rng.pick([1, 65535]) : rng.int(1, 65535);
  if (rng.chance(0.15)) vx.mtu = rng.chance(0.3) ? rng.pick([68, 65535]) : rng.int(68, 65535);
  if (Object.keys(vx).length > 0) gw.vxlan = vx;
  let graceful = true;
  if (rng.chance(0.2)) {
    graceful = rng.chance(0.5);
    gw.gracefulRestart = graceful;
  }
  if (rng.chance(0.1)) gw.vrfBackend = rng.pick(['kernel', 'netns']);
  let maximumPrefix = 10000;
  if (rng.chance(0.15)) {
    maximumPrefix = rng.chance(0.5) ? rng.pick([0, 1, 10000, 4294967295]) : rng.int(0, 4294967295);
    gw.maximumPrefix = maximumPrefix;
  }
  const hasGateway = Object.keys(gw).length > 0 || rng.chance(0.1);

  const expected: Expected = {
    localAsn,
    peerAsn,
    routerId,
    neighbours: neighbours.map(v.canonical),
    ...((filePassword ?? password) !== undefined && { password: filePassword ?? password }),
    ...(expHold !== undefined && { holdTime: expHold, keepaliveTime: expKeepalive }),
    ...(connect !== undefined && { connectTime: connect }),
    ebgpMultiHop: multihop === true && localAsn !== peerAsn,
    ...(evpn && { evpn: { vni: evpn.vni, routeTargets: evpn.rts.map((r) => r.canonical) } }),
    ...(advertise && { advertise: advertise.map(v.cidrCanonical) }),
    vrfName: names.vrf,
    gracefulRestart: graceful,
    maximumPrefix,
  };

  const env: Record<string, string> = {};
  let ifaceIp: string | undefined;
  if (routerIdMode === 'pod') env.POD_IP = routerId;
  if (routerIdMode === 'iface') {
    ifaceIp = routerId;
    if (rng.chance(0.5)) env.POD_IP = rng.pick(['fd00::13', '', 'not-an-ip', '10.0.1.013', ' 10.0.1.13']);
  }
  const model: Model = {
    docs: {},
    wrap: { bgp: rng.chance(0.4), evpn: rng.chance(0.4) },
    ext: { bgp: rng.chance(0.3) ? 'json' : 'yaml', evpn: rng.chance(0.3) ? 'json' : 'yaml', gateway: rng.chance(0.3) ? 'json' : 'yaml' },
    passwordEol: rng.pick(['', '\n', '\n', '\r\n']),
    env,
    useEnv: envMode,
    expected,
    ...(ifaceIp && { ifaceIp }),
    ...(filePassword !== undefined && { password: filePassword }),
  };
  if (hasGateway) model.docs.gateway = shuffledObject(rng, gw);

  if (envMode) {
    env.LOCAL_ASN = pad(rng, String(localAsn));
    env.PEER_ASN = pad(rng, String(peerAsn));
    if (routerIdMode === 'spec') env.ROUTER_ID = routerId;
    env.NEIGHBOURS = neighbours.map((n) => v.addrText(rng, n)).join(rng.pick([',', ', ', ' ,']));
    if (password !== undefined) env.BGP_PASSWORD = password;
    if (hold !== undefined) env.BGP_HOLD_TIME = pad(rng, envSeconds(rng, hold));
    if (keepalive !== undefined) env.BGP_KEEPALIVE_TIME = pad(rng, envSeconds(rng, keepalive));
    if (connect !== undefined) env.BGP_CONNECT_TIME = pad(rng, envSeconds(rng, connect));
    if (multihop !== undefined) env.BGP_EBGP_MULTIHOP = String(multihop);
    if (evpn) {
      env.VNI = pad(rng, String(evpn.vni));
      env.ROUTE_TARGETS = evpn.rts.map((r) => r.text).join(',');
    }
    // explicit env mode ignores BgpConf/EvpnConf files (with a warning); implicit mode needs no bgp file
    model.useEnv = rng.chance(0.8);
    if (model.useEnv && rng.chance(0.2)) model.docs.bgp = { garbage: nastyish(rng) };
    if (model.useEnv && rng.chance(0.1)) model.docs.evpn = { vni: 'garbage' };
    return model;
  }

  const bgp: Obj = { localASN: localAsn, peerASN: peerAsn, neighbours: neighbours.map((n) => v.addrText(rng, n)) };
  if (routerIdMode === 'spec') bgp.routerId = routerId;
  else if (rng.chance(0.3)) bgp.routerId = null;
  if (password !== undefined) bgp.password = password;
  if (hold !== undefined) bgp.holdTime = v.durationText(rng, hold);
  if (keepalive !== undefined) bgp.keepaliveTime = v.durationText(rng, keepalive);
  if (connect !== undefined) bgp.connectTime = v.durationText(rng, connect);
  if (multihop !== undefined) bgp.ebgpMultiHop = multihop;
  if (rng.chance(0.05)) bgp.bfd = true; // unknown: a warning
  model.docs.bgp = shuffledObject(rng, bgp);
  if (evpn) model.docs.evpn = shuffledObject(rng, { vni: evpn.vni, routeTargets: evpn.rts.map((r) => r.text) });
  return model;
}

/** Whitespace around a number in an env var is trimmed by the loader; leading zeros are allowed there. */
/** Whole seconds as the Kube-OVN env may carry them: Kube-OVN's `%ds` (90s), a Go duration of the same value, or bare seconds. */
function envSeconds(rng: Rng, n: number): string {
  const forms = [`${n}s`, String(n), `${n * 1000}ms`];
  if (n >= 60) forms.push(`${Math.floor(n / 60)}m${n % 60 ? `${n % 60}s` : ''}`);
  if (n % 3600 === 0 && n > 0) forms.push(`${n / 3600}h`);
  return rng.pick(forms);
}

function pad(rng: Rng, s: string): string {
  if (rng.chance(0.9)) return s;
  return rng.pick([` ${s}`, `${s} `, `\t${s}\n`, s.length < 10 ? `0${s}` : s]);
}

const nastyish = (rng: Rng): unknown => v.nastyValue(rng, 1);

// ---------------------------------------------------------------------------------------------------------------
// Serialization

function resourceDoc(rng: Rng, role: 'bgp' | 'evpn', spec: unknown): Obj {
  const doc: Obj = {
    apiVersion: 'kubeovn.io/v1',
    kind: KIND[role],
    metadata: { name: `${role}-${rng.int(0, 9999)}`, ...(rng.chance(0.2) && { labels: { a: 'b' }, resourceVersion: '12345' }) },
    spec,
  };
  if (rng.chance(0.1)) doc.status = { ready: true };
  return rng.chance(0.3) ? shuffledObject(rng, doc) : doc;
}

function yamlText(rng: Rng, doc: unknown): string {
  const text = yamlStringify(doc, {
    defaultStringType: rng.weighted([
      [6, 'PLAIN'],
      [2, 'QUOTE_DOUBLE'],
      [1, 'QUOTE_SINGLE'],
      [0.5, 'BLOCK_LITERAL'],
    ] as const),
    collectionStyle: rng.weighted([
      [5, 'any'],
      [2, 'block'],
      [2, 'flow'],
    ] as const),
    indent: rng.pick([2, 2, 4]),
    lineWidth: 0,
  });
  return rng.chance(0.1) ? `# generated by the config fuzzer\n---\n${text}` : text;
}

function jsonText(rng: Rng, doc: unknown): string {
  return JSON.stringify(doc, null, rng.pick([0, 2, '\t', 1])) + (rng.chance(0.5) ? '\n' : '');
}

function docText(rng: Rng, doc: unknown, ext: 'yaml' | 'json'): string {
  return ext === 'json' ? jsonText(rng, doc) : yamlText(rng, doc);
}

function roleDoc(rng: Rng, m: Model, role: Role): unknown {
  const d = m.docs[role];
  if (role === 'gateway') return d;
  return m.wrap[role] ? resourceDoc(rng, role, d) : d;
}

function serialize(rng: Rng, m: Model): Record<string, FileSpec> {
  const files: Record<string, FileSpec> = {};
  for (const role of ['bgp', 'evpn', 'gateway'] as const) {
    if (m.docs[role] === undefined) continue;
    files[`${FILE_BASE[role]}.${m.ext[role]}`] = docText(rng, roleDoc(rng, m, role), m.ext[role]);
  }
  if (m.password !== undefined) files['bgp-password'] = m.password + m.passwordEol;
  return files;
}

function caseOf(
  base: { seed: number; index: number },
  kind: string,
  note: string,
  m: Model,
  files: Record<string, FileSpec>,
  expect?: Expectation,
): FuzzCase {
  return {
    ...base,
    kind,
    note,
    files,
    env: m.env,
    useEnv: m.useEnv,
    dirMode: 'dir',
    ...(m.ifaceIp && { ifaceIp: m.ifaceIp }),
    isolate: false,
    ...(expect && { expect }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Field slots: where a mutation can go

interface Slot {
  role: Role | 'password' | 'env';
  /** Path inside the role's spec/doc (env: [VAR]; password: []). */
  path: Array<string | number>;
}

const slotName = (s: Slot): string =>
  s.role === 'password' ? 'bgp-password' : `${s.role}:${s.path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.')}`;

function getAt(o: unknown, path: ReadonlyArray<string | number>): unknown {
  let cur = o;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function setAt(o: Obj, path: ReadonlyArray<string | number>, value: unknown): void {
  let cur: Record<string | number, unknown> = o;
  path.forEach((p, i) => {
    if (i === path.length - 1) {
      if (value === undefined) {
        if (Array.isArray(cur) && typeof p === 'number') cur.splice(p, 1);
        else delete cur[p];
      } else cur[p] = value;
      return;
    }
    let next = cur[p];
    if (next === null || typeof next !== 'object') {
      next = typeof path[i + 1] === 'number' ? [] : {};
      cur[p] = next;
    }
    cur = next as Record<string | number, unknown>;
  });
}

/** Every string-valued field the model has, plus every known field that could be set. */
function slots(m: Model, stringOnly: boolean): Slot[] {
  const out: Slot[] = [];
  const walk = (role: Role, o: unknown, path: Array<string | number>): void => {
    if (Array.isArray(o)) o.forEach((x, i) => walk(role, x, [...path, i]));
    else if (o !== null && typeof o === 'object') for (const [k, x] of Object.entries(o)) walk(role, x, [...path, k]);
    else if (!stringOnly || typeof o === 'string') out.push({ role, path });
  };
  if (m.useEnv) {
    for (const name of ENV_VARS) if (!stringOnly || m.env[name] !== undefined) out.push({ role: 'env', path: [name] });
  } else {
    for (const role of ['bgp', 'evpn'] as const) if (m.docs[role]) walk(role, m.docs[role], []);
    if (!stringOnly) {
      if (m.docs.bgp) for (const f of BGP_FIELDS) out.push({ role: 'bgp', path: [f] });
      if (m.docs.evpn) for (const f of EVPN_FIELDS) out.push({ role: 'evpn', path: [f] });
    }
  }
  if (m.docs.gateway) walk('gateway', m.docs.gateway, []);
  for (const f of [
    ...(stringOnly ? ['externalInterface', 'internalInterface', 'internalGateway', 'vrfBackend'] : GATEWAY_FIELDS),
    'vrf.name',
    'bridge.name',
    'vxlan.name',
    ...(stringOnly ? [] : ['vrf.table', 'vxlan.port', 'vxlan.mtu']),
  ]) {
    out.push({ role: 'gateway', path: f.split('.') });
  }
  if (stringOnly) out.push({ role: 'gateway', path: ['advertise', 0] });
  out.push({ role: 'password', path: [] });
  return out;
}

function currentValue(m: Model, s: Slot): unknown {
  if (s.role === 'password') return m.password;
  if (s.role === 'env') return m.env[s.path[0] as string];
  return getAt(m.docs[s.role], s.path);
}

function setSlot(m: Model, s: Slot, value: unknown): void {
  if (s.role === 'password') {
    m.password = typeof value === 'string' ? value : JSON.stringify(value);
    return;
  }
  if (s.role === 'env') {
    const name = s.path[0] as string;
    if (value === undefined) delete m.env[name];
    else m.env[name] = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    return;
  }
  const doc = (m.docs[s.role] ??= {});
  if (s.path.length === 0) return;
  setAt(doc, s.path, value);
}

/** Whether the loader reads this slot's value (it is not overridden or ignored), and the value it sees. */
function effectiveValue(m: Model, s: Slot, value: string): string[] | undefined {
  // the file is the value plus its end of line; the loader strips one (CR)LF
  if (s.role === 'password') return [(value + m.passwordEol).replace(/\r?\n$/, '')];
  if (s.role === 'gateway') {
    const top = s.path[0];
    const known = typeof top === 'string' && GATEWAY_FIELDS.includes(top);
    if (!known) return undefined;
    if (
      ['vrf', 'bridge', 'vxlan'].includes(top) &&
      !(s.path[1] === 'name' || s.path[1] === 'table' || s.path[1] === 'port' || s.path[1] === 'mtu')
    )
      return undefined;
    if (s.path.length > (top === 'advertise' || ['vrf', 'bridge', 'vxlan'].includes(top) ? 2 : 1)) return undefined;
    return [value];
  }
  if (s.role === 'env') {
    const name = s.path[0] as string;
    if (name === 'BGP_PASSWORD' && m.password !== undefined) return undefined;
    if (name === 'ROUTER_ID' || name === 'BGP_PASSWORD' || name === 'BGP_EBGP_MULTIHOP') return [value];
    if (name === 'NEIGHBOURS' || name === 'ROUTE_TARGETS') return value.split(',').map((x) => x.trim());
    return [value.trim()];
  }
  if (m.useEnv) return undefined;
  const fields = s.role === 'bgp' ? BGP_FIELDS : EVPN_FIELDS;
  const top = s.path[0];
  if (typeof top !== 'string' || !fields.includes(top)) return undefined;
  if (top === 'password' && m.password !== undefined) return undefined;
  if (s.path.length > (top === 'neighbours' || top === 'routeTargets' ? 2 : 1)) return undefined;
  return [value];
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

type Base = { seed: number; index: number };
type Gen = (rng: Rng, base: Base) => FuzzCase;

const genValidCase: Gen = (rng, base) => {
  const m = genValid(rng, rng.chance(0.2));
  return caseOf(base, 'valid', m.useEnv ? 'valid (env)' : 'valid', m, serialize(rng, m), { accepted: m.expected });
};

const genMutate: Gen = (rng, base) => {
  const m = genValid(rng, rng.chance(0.15));
  const notes: string[] = [];
  const n = 1 + rng.count(4);
  for (let i = 0; i < n; i++) {
    const op = rng.int(0, 9);
    if (op <= 4) {
      const s = rng.pick(slots(m, false));
      const cur = currentValue(m, s);
      const val = v.nastyValue(rng, 2, typeof cur === 'string' ? cur : undefined);
      setSlot(m, s, val);
      notes.push(`${slotName(s)} <- ${short(val)}`);
    } else if (op === 5) {
      const s = rng.pick(slots(m, false));
      setSlot(m, s, s.role === 'env' || s.role === 'password' ? '' : undefined);
      notes.push(`delete ${slotName(s)}`);
    } else if (op === 6) {
      const role = rng.pick(['bgp', 'evpn', 'gateway'] as const);
      const k = v.nastyKey(rng);
      const doc = (m.docs[role] ??= {});
      doc[k] = v.nastyValue(rng, 1);
      notes.push(`${role}: add key ${short(k)}`);
    } else if (op === 7) {
      const role = rng.pick(['bgp', 'evpn', 'gateway'] as const);
      const field = role === 'bgp' ? 'neighbours' : role === 'evpn' ? 'routeTargets' : 'advertise';
      const list = getAt(m.docs[role], [field]);
      const max = role === 'bgp' ? 1024 : role === 'evpn' ? 64 : 4096;
      const sample: unknown[] =
        Array.isArray(list) && list.length > 0
          ? (list as unknown[])
          : role === 'bgp'
            ? ['10.0.1.1']
            : role === 'evpn'
              ? ['65000:1']
              : ['10.0.0.0/8'];
      const how = rng.int(0, 2);
      const next =
        how === 0
          ? [...sample, rng.pick(sample)]
          : how === 1
            ? Array.from({ length: max + 1 }, (_, j) => sample[j % sample.length])
            : [...sample, v.nastyValue(rng, 1)];
      setSlot(m, { role, path: [field] }, next);
      notes.push(`${role}.${field}: ${['duplicate an entry', `${max + 1} entries`, 'append a nasty entry'][how]}`);
    } else if (op === 8) {
      const role = rng.pick(['bgp', 'evpn', 'gateway'] as const);
      const val = rng.pick<unknown>([[], 'a string', 42, null, true, [m.docs[role] ?? {}]]);
      m.docs[role] = { __replace: val };
      notes.push(`${role}: the whole document is ${short(val)}`);
    } else {
      const role = rng.pick(['bgp', 'evpn'] as const);
      m.wrap[role] = true;
      notes.push(`${role}: resource wrapper with a bad ${rng.pick(['kind', 'apiVersion', 'spec', 'metadata'])}`);
    }
  }
  const files = serializeWithReplacements(rng, m, notes);
  return caseOf(base, 'mutate', notes.join('; '), m, files);
};

/** serialize(), honouring `{ __replace: X }` (a non-mapping document) and bad resource wrappers from notes. */
function serializeWithReplacements(rng: Rng, m: Model, notes: string[]): Record<string, FileSpec> {
  const files: Record<string, FileSpec> = {};
  for (const role of ['bgp', 'evpn', 'gateway'] as const) {
    const d = m.docs[role];
    if (d === undefined) continue;
    const doc: unknown = '__replace' in d ? d.__replace : roleDoc(rng, m, role);
    if (role !== 'gateway' && m.wrap[role] && !('__replace' in d)) {
      const bad = notes.find((n) => n.startsWith(`${role}: resource wrapper with a bad `));
      if (bad && doc && typeof doc === 'object') {
        const what = bad.slice(bad.lastIndexOf(' ') + 1);
        (doc as Obj)[what] =
          what === 'kind'
            ? rng.pick([KIND[role === 'bgp' ? 'evpn' : 'bgp'], 'bgpconf', `${KIND[role]} `, v.nastyString(rng, KIND[role])])
            : v.nastyValue(rng, 1);
      }
    }
    files[`${FILE_BASE[role]}.${m.ext[role]}`] = docText(rng, doc, m.ext[role]);
  }
  if (m.password !== undefined) files['bgp-password'] = m.password + m.passwordEol;
  return files;
}

const genInject: Gen = (rng, base) => {
  const m = genValid(rng, rng.chance(0.25));
  if (rng.chance(0.2) && m.password === undefined) m.password = v.randomPassword(rng);
  const s = rng.pick(slots(m, true));
  const cur = currentValue(m, s);
  const plausible = typeof cur === 'string' && cur !== '' ? cur : rng.pick(['10.0.1.1', 'net1', '65000:1', 'pw', '10.0.0.0/8']);
  const payload = rng.chance(0.8) ? rng.pick(v.INJECTIONS) : rng.pick(v.UNICODE);
  const where = rng.int(0, 3);
  const at = rng.int(0, plausible.length);
  const value =
    where === 0
      ? payload
      : where === 1
        ? plausible + payload
        : where === 2
          ? payload + plausible
          : plausible.slice(0, at) + payload + plausible.slice(at);
  setSlot(m, s, value);
  const eff = effectiveValue(m, s, value);
  const mustReject = eff !== undefined && eff.some((x) => BAD_CHAR.test(x));
  const files = serialize(rng, m);
  return caseOf(
    base,
    'inject',
    `${slotName(s)} <- ${short(value)}`,
    m,
    files,
    mustReject ? { rejected: `${slotName(s)} holds ${short(value)}` } : undefined,
  );
};

/** Values each field must reject (boundaries and near misses), by slot; `[n]` is a list element. */
const INVALID_FIELDS: Record<string, readonly unknown[]> = {
  'bgp:localASN': [0, -1, -0, 4294967296, 65002.5, '65002', '1.10', true, [], {}, 2 ** 53 + 2],
  'bgp:peerASN': [0, 4294967296, '65001', '0.1', false, [65001]],
  'bgp:routerId': [
    'fd00::13',
    '0.0.0.0',
    '127.0.0.1',
    '224.0.0.1',
    '239.255.255.255',
    '240.0.0.1',
    '255.255.255.255',
    '10.0.1.013',
    '10.0.1.13/32',
    '10.0.1',
    '10.0.1.13 ',
    ' 10.0.1.13',
    '10.0.1.13%net1',
    '',
    167772173,
    true,
  ],
  'bgp:neighbours[0]': [
    'fe80::1',
    'FE80::1',
    'febf::1',
    '::',
    '::1',
    '0:0:0:0:0:0:0:1',
    'ff02::1',
    '0.0.0.0',
    '127.0.0.1',
    '239.1.1.1',
    '255.255.255.255',
    '10.0.1.1/32',
    'fe80::1%eth0',
    '10.0.1.01',
    '',
    ' ',
    'router.example',
    '10.0.1.1 ',
    '::ffff:1.2.3.04',
    167772161,
    null,
    ['10.0.1.1'],
  ],
  'bgp:neighbours': ['10.0.1.1', [], {}, 10, true],
  'bgp:password': ['', ' ', 'a b', 'x'.repeat(81), 'a"b', "a'b", '"pw"', 'pw\n', 'pw\t', 'pässword', 5, true, ['pw']],
  'bgp:holdTime': [
    '',
    '1s',
    '2s',
    '2999ms',
    '65536s',
    '18h12m16s',
    '1500ms',
    '-0s',
    '-1s',
    '90',
    90,
    '1d',
    '1.5s',
    '90 s',
    ' 90s',
    '90s ',
    'inf',
    '+',
    '-',
    '.s',
    's',
    '1e3s',
    '0x10s',
    '９0s',
    true,
  ],
  'bgp:keepaliveTime': ['', '0s', '0', '65536s', '21846s', '1500ms', 30, '0.5s'],
  'bgp:connectTime': ['', '0s', '0', '65536s', '0.5s', '1m0.5s', 10],
  'bgp:ebgpMultiHop': ['true', 'false', 1, 0, 'yes', [true]],
  'evpn:vni': [0, -1, 16777216, 1016.5, '1016', true, [1016]],
  'evpn:routeTargets[0]': [
    '65000',
    '0:1',
    '65000:4294967296',
    '4200000000:65536',
    '10.0.1.13:65536',
    '65000:99999999999',
    '00000065000:1',
    ':1',
    '65000:',
    'fd00::1:1',
    '1.2.3:4',
    '10.0.1.013:1',
    '65000:1 ',
    ' 65000:1',
    '65000:-1',
    '65000:0x10',
    '65000:1:1',
    '4294967296:1',
    '',
    65000,
    null,
  ],
  'evpn:routeTargets': ['65000:1', [], {}],
  'gateway:advertise[0]': [
    '10.17.0.1/16',
    '10.17.0.0/33',
    '10.17.0.0/016',
    'fd00::1/64',
    'fd00::/129',
    '10.17.0.0',
    '',
    '10.17.0.0/ 16',
    '10.17.0.0/16 ',
    '10.017.0.0/16',
    'fe80::/10%eth0',
    5,
    null,
  ],
  'gateway:advertise': ['10.17.0.0/16', {}, 5],
  'gateway:externalInterface': ['', '.', '..', 'x'.repeat(16), 'eth 0', 'eth0\n', 'eth/0', 'eth:0', 'eth0%', 'ëth0', '-', '-net1', 5, true],
  'gateway:internalInterface': ['', '..', 'eth0 ', 'eth@0', '--help', 7],
  'gateway:vrf.name': ['', '.', '-vrf', 'vrf vpn', 'vrf\nvpn', 'v'.repeat(16), 'vrf/vpn', 5],
  'gateway:bridge.name': ['', '..', 'br vpn', 'b'.repeat(16), 'br#vpn'],
  'gateway:vxlan.name': ['', '.', 'vx lan', 'x'.repeat(16), 'vx!'],
  'gateway:vrf.table': [0, 252, 253, 254, 255, 4294967296, -1, '2000', 2000.5],
  'gateway:vxlan.port': [0, 65536, -1, '4789', 4789.5],
  'gateway:vxlan.mtu': [67, 65536, 0, '1500'],
  'gateway:vrf': ['vrf-vpn', ['vrf-vpn'], 5],
  'gateway:gracefulRestart': ['false', 'true', 0, 1],
  'gateway:maximumPrefix': [-1, 4294967296, '10000', 1.5, true, [10000], ''],
  'gateway:vrfBackend': ['Kernel', 'NETNS', 'vrf', '', ' kernel', 5, true],
  'gateway:internalGateway': ['fe80::1', '0.0.0.0', '127.0.0.1', '10.16.0.1/16', '', '10.16.0.01', 5],
};

/** The same for the Kube-OVN environment variables (strings; the loader trims numbers and list entries). */
const INVALID_ENV: Record<string, readonly string[]> = {
  LOCAL_ASN: ['0', '4294967296', '12345678901', '65002.5', '-1', '1.10', 'x', '6500 2', '٦٥٠٠٢'],
  PEER_ASN: ['0', '99999999999', '+65001', '0x10'],
  ROUTER_ID: [' 10.0.1.13', '10.0.1.13 ', 'fd00::13', '0.0.0.0', '127.0.0.1', '10.0.1.013'],
  NEIGHBOURS: ['10.0.1.1,,10.0.1.2', ',', '10.0.1.1,', 'fe80::1', '10.0.1.1;10.0.1.2', '10.0.1.1 10.0.1.2', '10.0.1.1,10.0.1.1'],
  // Go durations (Kube-OVN writes `90s`), whole seconds 0..65535 after truncation, a bare number as seconds
  BGP_HOLD_TIME: ['1', '2', '65536', '1234567', '90sec', '-1', '-90s', '1.5', '9 0', '1s', '2.9s', '20h', 's', '90S'],
  BGP_KEEPALIVE_TIME: ['0', '65536', '21846', '0s', '500ms', '30x', '1d'],
  BGP_CONNECT_TIME: ['0', '65536', '0s', '999ms', '10 s', '+'],
  BGP_EBGP_MULTIHOP: ['True', 'yes', '1', ' true', 'false '],
  VNI: ['0', '16777216', '1.10', 'x'],
  ROUTE_TARGETS: ['65000', '65000:1,,65000:2', '0:1', '65000:1,65000:1', '65000:1;65000:2'],
  BGP_PASSWORD: ['a b', 'x'.repeat(81), 'a"b', "'", 'pw\n'],
};

/** POD_IP values that must not become the router id (routerId unset): the rules spec.routerId has. */
const INVALID_POD_IP: readonly string[] = ['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255'];

/** Every (field, invalid value) pair of the tables, in a fixed order. */
export const INVALID_TABLE: ReadonlyArray<{ mode: 'file' | 'env' | 'pod'; key: string; value: unknown }> = [
  ...Object.entries(INVALID_FIELDS).flatMap(([key, values]) => values.map((value) => ({ mode: 'file' as const, key, value }))),
  ...Object.entries(INVALID_ENV).flatMap(([key, values]) => values.map((value) => ({ mode: 'env' as const, key, value }))),
  ...INVALID_POD_IP.map((value) => ({ mode: 'pod' as const, key: 'POD_IP', value })),
];

/** Table case `k`: one field of a random valid configuration set to the k-th invalid value (cycling). */
function genInvalidField(rng: Rng, base: Base, k: number): FuzzCase {
  const entry = INVALID_TABLE[k % INVALID_TABLE.length]!;
  const m = genValid(rng, entry.mode === 'env');
  let note: string;
  if (entry.mode === 'pod') {
    // routerId unset, no interface address: the router id comes from POD_IP
    delete m.docs.bgp!.routerId;
    delete m.ifaceIp;
    const pod = String(entry.value);
    m.env.POD_IP = pod;
    m.docs.bgp!.neighbours = (m.docs.bgp!.neighbours as string[]).filter((n) => n !== pod);
    if ((m.docs.bgp!.neighbours as string[]).length === 0) m.docs.bgp!.neighbours = ['10.0.1.1'];
    note = `POD_IP=${pod} (routerId unset)`;
  } else if (entry.mode === 'env') {
    const name = entry.key;
    const value = String(entry.value);
    if (name === 'BGP_PASSWORD') delete m.password;
    if ((name === 'VNI' || name === 'ROUTE_TARGETS') && m.env.VNI === undefined) {
      m.env.VNI = '1016';
      m.env.ROUTE_TARGETS = '65000:1016';
    }
    m.env[name] = value;
    note = `${name}=${short(value)}`;
  } else {
    const [role, dotted] = entry.key.split(':') as [Role, string];
    const path = dotted
      .split(/\.|\[|\]/)
      .filter((p) => p !== '')
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    if (role === 'evpn' && !m.docs.evpn) m.docs.evpn = { vni: 1016, routeTargets: ['65000:1016'] };
    if (entry.key === 'bgp:password') delete m.password;
    setAt((m.docs[role] ??= {}), path, entry.value);
    note = `${entry.key} <- ${short(entry.value)}`;
  }
  return caseOf(base, 'invalid', `table entry ${k % INVALID_TABLE.length}: ${note}`, m, serialize(rng, m), {
    rejected: `${note} is not allowed`,
  });
}

const genUnicode: Gen = (rng, base) => {
  const m = genValid(rng, rng.chance(0.2));
  const s = rng.pick(slots(m, true));
  const cur = currentValue(m, s);
  const value = v.lookalike(rng, typeof cur === 'string' && cur !== '' ? cur : 'net1');
  setSlot(m, s, value);
  const eff = effectiveValue(m, s, value);
  const mustReject = eff !== undefined && eff.some((x) => BAD_CHAR.test(x));
  return caseOf(
    base,
    'unicode',
    `${slotName(s)} <- ${short(value)}`,
    m,
    serialize(rng, m),
    mustReject ? { rejected: `${slotName(s)} holds ${short(value)}` } : undefined,
  );
};

const NUM_LITERALS = [
  '1e400',
  '-1e400',
  '1e-400',
  '18446744073709551616',
  '18446744073709551615',
  '9007199254740993',
  '4294967296',
  '4294967295',
  '-0',
  '0',
  '-1',
  '0.0',
  '65002.0',
  '65002.5',
  '6.5002e4',
  '6.5002E+4',
  '+65002',
  '0x10',
  '0xFDEA',
  '0o17',
  '017',
  '00065002',
  '1_000',
  '.nan',
  '.NaN',
  '.inf',
  '-.inf',
  'NaN',
  'Infinity',
  '"65002"',
  "'65002'",
  '"1.10"',
  '"1e400"',
  '"NaN"',
  '"-0"',
  '"0x10"',
  'null',
  '~',
  'true',
  'false',
  'yes',
  'no',
  'on',
  '[]',
  '{}',
  '[65002]',
  '{a: 1}',
  '""',
  '1:05:02',
  '2001-12-14',
  '!!int "65002"',
  '!!float 65002',
  '!!str 65002',
  '!!binary AAAA',
  '0b101',
  '1.7976931348623157e308',
  '5e-324',
  '167772161',
  '１',
  '٦٥٠٠٢',
  '65002 # comment',
  '65002#nocomment',
  '&a 65002',
  '*a',
];
/** Literals that are not an integer >= 1 once parsed (YAML 1.2 core schema). */
const NOT_AN_INTEGER = new Set([
  '1e400',
  '-1e400',
  '1e-400',
  '18446744073709551616',
  '-0',
  '0',
  '-1',
  '0.0',
  '65002.5',
  '.nan',
  '.NaN',
  '.inf',
  '-.inf',
  'NaN',
  'Infinity',
  '"65002"',
  "'65002'",
  '"1.10"',
  '"1e400"',
  '"NaN"',
  '"-0"',
  '"0x10"',
  'true',
  'false',
  'yes',
  'no',
  'on',
  '[]',
  '{}',
  '[65002]',
  '{a: 1}',
  '""',
  '1:05:02',
  '2001-12-14',
  '!!str 65002',
  '!!binary AAAA',
  '0b101',
  '1.7976931348623157e308',
  '5e-324',
  '１',
  '٦٥٠٠٢',
  '65002#nocomment',
  '1_000',
  '*a',
]);
const NUM_SLOTS: Array<[Role, string[]]> = [
  ['bgp', ['localASN']],
  ['bgp', ['peerASN']],
  ['bgp', ['holdTime']],
  ['bgp', ['keepaliveTime']],
  ['bgp', ['connectTime']],
  ['bgp', ['ebgpMultiHop']],
  ['bgp', ['routerId']],
  ['bgp', ['neighbours']],
  ['evpn', ['vni']],
  ['gateway', ['vrf', 'table']],
  ['gateway', ['vxlan', 'port']],
  ['gateway', ['vxlan', 'mtu']],
  ['gateway', ['gracefulRestart']],
];

const genNumbers: Gen = (rng, base) => {
  const m = genValid(rng, false);
  const [role, path] = rng.pick(NUM_SLOTS);
  if (role === 'evpn' && !m.docs.evpn) m.docs.evpn = { vni: 1, routeTargets: ['65000:1'] };
  if (role === 'gateway' && !m.docs.gateway) m.docs.gateway = {};
  const doc = m.docs[role]!;
  const PLACEHOLDER = 'NUMPLACEHOLDER';
  setAt(doc, path, PLACEHOLDER);
  const lit = rng.pick(NUM_LITERALS);
  const files = serialize(rng, m);
  const name = `${FILE_BASE[role]}.${m.ext[role]}`;
  files[name] = (files[name] as string).replace(/"NUMPLACEHOLDER"|'NUMPLACEHOLDER'|NUMPLACEHOLDER/, () => lit);
  // integer fields must reject anything that is not an integer >= 1; string/boolean/list fields must reject any
  // number, string or collection of the wrong kind (null means "absent": no expectation)
  const field = path[path.length - 1]!;
  const numericField = ['localASN', 'peerASN', 'vni', 'table', 'port', 'mtu'].includes(field);
  const boolField = field === 'ebgpMultiHop' || field === 'gracefulRestart';
  const mustReject = numericField
    ? NOT_AN_INTEGER.has(lit)
    : !['null', '~'].includes(lit) && !(boolField && ['true', 'false'].includes(lit));
  return caseOf(
    base,
    'numbers',
    `${name}: ${path.join('.')}: ${lit}`,
    m,
    files,
    mustReject ? { rejected: `${path.join('.')} is ${lit}` } : undefined,
  );
};

function short(x: unknown): string {
  let s: string;
  try {
    s = typeof x === 'string' ? JSON.stringify(x) : (JSON.stringify(x) ?? String(x));
  } catch {
    s = String(x);
  }
  return s.length > 80 ? `${s.slice(0, 80)}…(${s.length} chars)` : s;
}

const genYamlFeatures: Gen = (rng, base) => {
  const m = genValid(rng, false);
  m.wrap.bgp = false;
  m.ext.bgp = 'yaml';
  const bgpText = (): string => yamlStringify(m.docs.bgp, { lineWidth: 0, collectionStyle: 'block' });
  const files = serialize(rng, m);
  const put = (text: string): void => {
    delete files['bgp-conf.json'];
    files['bgp-conf.yaml'] = text;
  };
  const variant = rng.int(0, 21);
  let note: string;
  let expect: Expectation | undefined;
  switch (variant) {
    case 0: {
      // billion laughs, small and big
      const levels = rng.int(2, 9);
      const width = rng.int(2, 10);
      let t = `l0: &l0 [${Array.from({ length: width }, () => '"lol"').join(',')}]\n`;
      for (let i = 1; i < levels; i++) t += `l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(',')}]\n`;
      put(bgpText() + t);
      note = `alias bomb ${levels} levels x ${width}`;
      break;
    }
    case 1: {
      const width = rng.int(30, 200);
      put(`${bgpText()}a: &a [${'x,'.repeat(width)}x]\nb: [${Array.from({ length: width }, () => '*a').join(', ')}]\n`);
      note = `${width} aliases of a ${width + 1}-element list`;
      break;
    }
    case 2: {
      const d = m.docs.bgp!;
      put(
        `localASN: &asn ${String(d.localASN)}\npeerASN: *asn\n${yamlStringify({ ...d, localASN: undefined, peerASN: undefined }, { lineWidth: 0 })}`,
      );
      note = 'peerASN is an alias of localASN';
      break;
    }
    case 3: {
      const lines = bgpText()
        .split('\n')
        .filter((l) => /^\w+:/.test(l));
      const dup = rng.pick(lines.length > 0 ? lines : ['localASN: 1']);
      put(`${bgpText()}${rng.chance(0.5) ? dup : dup.replace(/^(\w+):/, '"$1":')}\n`);
      note = `duplicate key ${short(dup)}`;
      expect = { rejected: 'duplicate key' };
      break;
    }
    case 4: {
      const d = m.docs.bgp!;
      const key = rng.pick(Object.keys(d));
      const json = JSON.stringify(d);
      files['bgp-conf.json'] = json.replace(/}$/, `,${JSON.stringify(key)}:${JSON.stringify(d[key])}}`);
      delete files['bgp-conf.yaml'];
      note = `duplicate JSON key ${key}`;
      expect = { rejected: 'duplicate key' };
      break;
    }
    case 5: {
      const key = rng.pick(['localASN', 'peerASN', 'neighbours']);
      const esc = `"\\x${key.charCodeAt(0).toString(16)}${key.slice(1)}": ${yamlStringify(m.docs.bgp![key], { collectionStyle: 'flow' }).trim()}\n`;
      put(bgpText() + esc);
      note = `duplicate key ${key} spelled with an escape`;
      expect = { rejected: 'duplicate key' };
      break;
    }
    case 6: {
      const tag = rng.pick([
        '!!str 65002',
        '!!int "65002"',
        '!!float 65002',
        '!!binary aGVsbG8=',
        '!!set {a, b}',
        '!!omap [a: 1]',
        '!!timestamp 2001-12-14',
        '!custom 65002',
        '!<tag:yaml.org,2002:int> 65002',
        '!!map {}',
        '!!seq []',
        '!!null ""',
        '!!bool "true"',
        '!!js/function "x"',
      ]);
      const field = rng.pick(['localASN', 'peerASN', 'neighbours', 'routerId', 'password', 'holdTime', 'ebgpMultiHop']);
      put(`${yamlStringify({ ...m.docs.bgp, [field]: undefined }, { lineWidth: 0 })}${field}: ${tag}\n`);
      note = `${field}: ${tag}`;
      break;
    }
    case 7: {
      const extra = rng.pick([
        'ebgpMultiHop: yes',
        'ebgpMultiHop: on',
        'localASN: 0177',
        'localASN: 1:05:02',
        'x: !!binary aGVsbG8=',
        'x: !!set {a, b}',
        'x: !!omap [a: 1]',
        'x: 2001-12-14',
        '<<: {localASN: 1}',
        'x: &b {localASN: 1}\n<<: *b',
      ]);
      const field = extra.split(':')[0]!;
      put(`%YAML 1.1\n---\n${yamlStringify({ ...m.docs.bgp, [field]: undefined }, { lineWidth: 0 })}${extra}\n`);
      note = `YAML 1.1 directive, ${extra}`;
      break;
    }
    case 8:
      put(`${bgpText()}---\n${bgpText()}`);
      note = 'two YAML documents';
      expect = { rejected: 'multiple documents' };
      break;
    case 9: {
      const style = rng.pick(['|', '|-', '>', '>-', '|+', '>2']);
      const pw = v.randomPassword(rng).replace(/^[#!&*%@`|>{}[\]'",?:-]/, 'a');
      put(`${yamlStringify({ ...m.docs.bgp, password: undefined }, { lineWidth: 0 })}password: ${style}\n  ${pw}\n`);
      note = `password as a ${style} block scalar`;
      if (m.password === undefined) {
        const keepsNewline = style === '|' || style === '>' || style === '|+' || style === '>2';
        if (keepsNewline) expect = { rejected: 'the password ends with a newline' };
      }
      break;
    }
    case 10: {
      const key = rng.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', '<<', '', '1', 'null', '~']);
      const val = rng.pick(['{routerId: 1.2.3.4}', '{polluted: true}', '[1]', '1', 'null']);
      put(`${bgpText()}${key === '' ? '""' : key}: ${val}\n`);
      note = `key ${short(key)}: ${val}`;
      break;
    }
    case 11:
      put(`${bgpText()}? [a, b]\n: 1\n`);
      note = 'a sequence as a key';
      expect = { rejected: 'non-string key' };
      break;
    case 12: {
      const depth = rng.int(20, 250);
      const open = rng.chance(0.5) ? '[' : '{a: ';
      const close = open === '[' ? ']' : '}';
      put(
        `${yamlStringify({ ...m.docs.bgp, neighbours: undefined }, { lineWidth: 0 })}neighbours: ${open.repeat(depth)}1${close.repeat(depth)}\n`,
      );
      note = `neighbours nested ${depth} levels`;
      expect = { rejected: 'neighbours is nested' };
      break;
    }
    case 13:
      put(bgpText().replace(/\n/g, '\r\n'));
      note = 'CRLF line endings';
      expect = { accepted: m.expected };
      break;
    case 14:
      put(`\ufeff${bgpText()}`);
      note = 'UTF-8 BOM';
      expect = { accepted: m.expected };
      break;
    case 15:
      put(bgpText().replace(/^( +)/gm, (s) => '\t'.repeat(Math.max(1, s.length / 2))));
      note = 'tab indentation';
      break;
    case 16:
      put(
        rng.pick([
          '# only a comment\n',
          '---\n',
          '...\n',
          '~\n',
          'null\n',
          '[]\n',
          '""\n',
          '--- |\n  text\n',
          '%YAML 1.2\n---\n',
          '!!map\n',
          '*x\n',
          '&a\n',
        ]),
      );
      note = `trivial document ${short(files['bgp-conf.yaml'])}`;
      expect = { rejected: 'no BgpConf mapping' };
      break;
    case 17: {
      const k = 'k'.repeat(rng.int(1000, 5000));
      files['bgp-conf.json'] = JSON.stringify({ ...m.docs.bgp, [k]: 1 });
      delete files['bgp-conf.yaml'];
      note = `a ${k.length}-character unknown key in JSON`;
      expect = { accepted: m.expected };
      break;
    }
    case 18: {
      const c = rng.pick([
        'password: abc #comment',
        'password: abc#not-a-comment',
        'password: "abc" #c',
        'password: #abc',
        'password: !abc',
        'password: &abc',
        'password: *abc',
        'password: |abc',
        'password: @abc',
        'password: `abc',
        'password: %abc',
        'password: abc: def',
        'password: - abc',
        'password: [abc',
        'password: {abc}',
      ]);
      put(`${yamlStringify({ ...m.docs.bgp, password: undefined }, { lineWidth: 0 })}${c}\n`);
      note = c;
      break;
    }
    case 19: {
      const n = rng.int(100, 3000);
      put(
        `${bgpText()}${Array.from({ length: n }, (_, i) => `x${i}: &a${i} ${i}`).join('\n')}\ny: [${Array.from({ length: Math.min(n, 49) }, (_, i) => `*a${i}`).join(',')}]\n`,
      );
      note = `${n} anchors, ${Math.min(n, 49)} aliases`;
      expect = { accepted: m.expected };
      break;
    }
    case 20: {
      const d = JSON.stringify(m.docs.bgp);
      files['bgp-conf.json'] = rng.pick([
        `${d}\n${d}`,
        `${d},`,
        `[${d}]`,
        `${d.slice(0, -1)},}`,
        d.replace(/"/g, "'"),
        `// c\n${d}`,
        d.replace(':', ':\n\u0007'),
        `\ufeff${d}`,
        `${d}\u0000`,
      ]);
      delete files['bgp-conf.yaml'];
      note = `JSON variant ${short(files['bgp-conf.json'])}`;
      if (!String(files['bgp-conf.json']).startsWith('\ufeff')) expect = { rejected: 'not strict JSON' };
      else expect = { accepted: m.expected };
      break;
    }
    default: {
      const key = rng.pick(['neighbours', 'routeTargets']);
      put(`${bgpText()}extra: ${'['.repeat(50)}${']'.repeat(50)}\n${key}x: *undefined_alias\n`);
      note = 'an undefined alias';
      expect = { rejected: 'undefined alias' };
    }
  }
  return caseOf(base, 'yaml', note, m, files, expect);
};

const ALPHABET = [
  ...'abcxyzABCXYZ0123456789 .:-_/,',
  '\n',
  '\r',
  '\t',
  '\0',
  '\x7f',
  '\x1b',
  '\x0b',
  '\u2028',
  '\u00a0',
  '\u200b',
  '\u202e',
  '😀',
  '٥',
  '１',
  ...'-?:,[]{}#&*!|>\'"%@`\\',
  '"',
  "'",
];

function mutateText(rng: Rng, text: string, ops: number): { text: string; notes: string[] } {
  let t = text;
  const notes: string[] = [];
  for (let i = 0; i < ops; i++) {
    const lines = t.split('\n');
    const op = rng.int(0, 10);
    const at = rng.int(0, t.length);
    switch (op) {
      case 0: {
        const s = Array.from({ length: rng.int(1, 3) }, () => rng.pick(ALPHABET)).join('');
        t = t.slice(0, at) + s + t.slice(at);
        notes.push(`insert ${short(s)} at ${at}`);
        break;
      }
      case 1: {
        const len = rng.int(1, 10);
        t = t.slice(0, at) + t.slice(at + len);
        notes.push(`delete ${len} at ${at}`);
        break;
      }
      case 2: {
        const li = rng.int(0, Math.max(0, lines.length - 1));
        lines.splice(li, 0, lines[li] ?? '');
        t = lines.join('\n');
        notes.push(`duplicate line ${li + 1}`);
        break;
      }
      case 3: {
        const a = rng.int(0, lines.length - 1);
        const b = rng.int(0, lines.length - 1);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        t = lines.join('\n');
        notes.push(`swap lines ${a + 1} and ${b + 1}`);
        break;
      }
      case 4: {
        const digits = [...t.matchAll(/\d/g)];
        if (digits.length === 0) break;
        const d = rng.pick(digits);
        const rep = rng.pick(['0', '9', '5', '٥', '１', '00', '99999999999', '']);
        t = t.slice(0, d.index) + rep + t.slice(d.index + 1);
        notes.push(`digit at ${d.index} -> ${short(rep)}`);
        break;
      }
      case 5: {
        const p = rng.pick(v.INJECTIONS);
        t = t.slice(0, at) + p + t.slice(at);
        notes.push(`insert payload ${short(p)} at ${at}`);
        break;
      }
      case 6: {
        const li = rng.int(0, lines.length - 1);
        lines[li] = rng.pick([' ', '  ', '\t', '- ', '? ', '']) + (lines[li] ?? '').trimStart();
        t = lines.join('\n');
        notes.push(`reindent line ${li + 1}`);
        break;
      }
      case 7:
        t = t.slice(0, at);
        notes.push(`truncate at ${at}`);
        break;
      case 8: {
        const s = rng.pick([
          '&a ',
          '*a',
          '!!str ',
          '!!binary ',
          '<<: ',
          '%YAML 1.1\n',
          '--- ',
          '...\n',
          '#',
          '|\n',
          '>\n',
          '? ',
          ': ',
          '"',
          "'",
          '[',
          '{',
          '}',
          ']',
        ]);
        t = t.slice(0, at) + s + t.slice(at);
        notes.push(`insert YAML token ${short(s)} at ${at}`);
        break;
      }
      case 9: {
        const li = rng.int(0, lines.length - 1);
        lines.splice(
          li,
          0,
          rng.pick([
            'localASN: 65002',
            'neighbours: []',
            'routerId: 10.0.1.13',
            'bogus: 1',
            'spec:',
            'kind: BgpConf',
            `neighbours: [${v.MARK_ADDR}]`,
            'password: x y',
          ]),
        );
        t = lines.join('\n');
        notes.push(`insert a line before ${li + 1}`);
        break;
      }
      default:
        t = rng.chance(0.5) ? t.replace(/\n/g, '\r\n') : t.replace(/\n/g, '\r');
        notes.push('change line endings');
    }
  }
  return { text: t, notes };
}

const genTextMutate: Gen = (rng, base) => {
  const useGolden = rng.chance(0.3) && GOLDEN.length > 0;
  let m: Model;
  let files: Record<string, FileSpec>;
  let env: Record<string, string> = {};
  let ifaceIp: string | undefined;
  if (useGolden) {
    const g = rng.pick(GOLDEN);
    m = genValid(rng, false);
    files = { ...g.files };
    env = g.env;
    ifaceIp = g.ifaceIp;
  } else {
    m = genValid(rng, false);
    files = serialize(rng, m);
  }
  const names = Object.keys(files).filter((n) => typeof files[n] === 'string');
  if (names.length === 0) return genValidCase(rng, base);
  const name = rng.pick(names);
  const { text, notes } = mutateText(rng, files[name] as string, 1 + rng.count(6));
  let out: FileSpec = text;
  if (rng.chance(0.1)) {
    const bytes = Buffer.from(text, 'utf8');
    const bad = v.badBytes(rng);
    const at = rng.int(0, bytes.length);
    out = Buffer.concat([bytes.subarray(0, at), bad, bytes.subarray(at)]);
    notes.push(`insert bytes ${Buffer.from(bad).toString('hex')} at byte ${at}`);
  }
  files[name] = out;
  const c = caseOf(base, 'text', `${useGolden ? 'golden ' : ''}${name}: ${notes.join('; ')}`, m, files);
  if (useGolden) {
    c.env = env;
    c.useEnv = false;
    if (ifaceIp) c.ifaceIp = ifaceIp;
    else delete c.ifaceIp;
  }
  return c;
};

function randomTree(rng: Rng, depth: number): unknown {
  if (depth <= 0 || rng.chance(0.4)) return v.nastyValue(rng, 0);
  if (rng.chance(0.5)) return Array.from({ length: rng.int(0, 5) }, () => randomTree(rng, depth - 1));
  const o: Obj = {};
  for (let i = rng.int(0, 6); i > 0; i--) o[v.nastyKey(rng)] = randomTree(rng, depth - 1);
  return o;
}

const genRandomDoc: Gen = (rng, base) => {
  const m = genValid(rng, false);
  const files = serialize(rng, m);
  const role = rng.pick(['bgp', 'evpn', 'gateway'] as const);
  const ext = rng.pick(['yaml', 'json'] as const);
  for (const e of ['yaml', 'json']) delete files[`${FILE_BASE[role]}.${e}`];
  const name = `${FILE_BASE[role]}.${ext}`;
  const what = rng.int(0, 3);
  let note: string;
  if (what === 0) {
    files[name] = docText(rng, randomTree(rng, 4), ext);
    note = 'a random document';
  } else if (what === 1) {
    files[name] = rng.bytes(rng.int(0, 4096));
    note = 'random bytes';
  } else if (what === 2) {
    let s = '';
    for (let i = rng.int(0, 300); i > 0; i--) s += rng.pick(ALPHABET);
    files[name] = s;
    note = 'random characters';
  } else {
    const doc = (m.docs[role] ??= {});
    for (let i = rng.int(1, 5); i > 0; i--) doc[v.nastyKey(rng)] = randomTree(rng, 2);
    files[name] = docText(rng, roleDoc(rng, m, role), ext);
    note = 'random extra fields';
  }
  return caseOf(base, 'random', `${name}: ${note}`, m, files);
};

const genPasswordFile: Gen = (rng, base) => {
  const m = genValid(rng, rng.chance(0.2));
  const files = serialize(rng, m);
  let content: FileSpec;
  const what = rng.int(0, 5);
  if (what === 0) content = rng.bytes(rng.int(0, 120));
  else if (what === 1) content = v.randomPassword(rng) + rng.pick(['', '\n', '\r\n', '\n\n', '\r', ' ', '\t', '\r\n\r\n', '\0']);
  else if (what === 2) content = v.nastyString(rng, v.randomPassword(rng));
  else if (what === 3)
    content = rng.pick([
      '',
      '\n',
      ' ',
      '"pw"',
      "'pw'",
      'pw"',
      '#',
      '!',
      '\\',
      '$(reboot)',
      'x'.repeat(80),
      'x'.repeat(81),
      `${'x'.repeat(80)}\n`,
      `pw\n neighbor ${v.MARK_ADDR} remote-as ${v.MARK_ASN}`,
      'pw\u00a0',
      'pässword',
    ]);
  else if (what === 4) content = Buffer.concat([Buffer.from(v.randomPassword(rng)), v.badBytes(rng)]);
  else content = v.lookalike(rng, v.randomPassword(rng));
  files['bgp-password'] = content;
  // the exact rule: UTF-8 text (a BOM kept: it would be part of the secret) without NUL, one trailing (CR)LF stripped, then 1..80 printable non-quote ASCII
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    text = undefined;
  }
  const pw = text?.replace(/\r?\n$/, '');
  const ok = text !== undefined && !text.includes('\0') && pw !== undefined && v.PASSWORD_RE.test(pw);
  const expect: Expectation = ok
    ? { accepted: { ...m.expected, password: pw } }
    : { rejected: `bgp-password holds ${short(typeof content === 'string' ? content : Buffer.from(content).toString('hex'))}` };
  return caseOf(
    base,
    'password-file',
    `bgp-password: ${short(typeof content === 'string' ? content : `hex ${Buffer.from(content).toString('hex')}`)}`,
    m,
    files,
    expect,
  );
};

const genEnv: Gen = (rng, base) => {
  const m = genValid(rng, true);
  const notes: string[] = [];
  let changed = false;
  for (const name of [...ENV_VARS, 'POD_IP']) {
    if (!rng.chance(0.2)) continue;
    changed = true;
    const how = rng.int(0, 4);
    if (how === 0) {
      delete m.env[name];
      notes.push(`unset ${name}`);
    } else if (how === 1) {
      m.env[name] = '';
      notes.push(`${name}=""`);
    } else {
      const val = v.nastyString(rng, m.env[name]);
      m.env[name] = val;
      notes.push(`${name}=${short(val)}`);
    }
  }
  if (rng.chance(0.1)) {
    m.useEnv = false;
    m.docs = m.docs.gateway ? { gateway: m.docs.gateway } : {};
    notes.push('implicit env mode (LOCAL_ASN set, no bgp file)');
  }
  const files = serialize(rng, m);
  return caseOf(base, 'env', notes.join('; ') || 'valid env', m, files, changed ? undefined : { accepted: m.expected });
};

/** Exactly `bytes` bytes: a valid YAML document padded with a comment of multi-byte characters. */
function padTo(doc: string, bytes: number): string {
  const head = `${doc}#`;
  const need = bytes - Buffer.byteLength(head) - 1;
  const euros = Math.floor(need / 3);
  return `${head}${'€'.repeat(euros)}${'x'.repeat(need - euros * 3)}\n`;
}

const genFs: Gen = (rng, base) => {
  const m = genValid(rng, false);
  const files = serialize(rng, m);
  const bgpName = Object.keys(files).find((n) => n.startsWith('bgp-conf'))!;
  const what = rng.int(0, 10);
  const c = caseOf(base, 'fs', '', m, files);
  switch (what) {
    case 0:
      files[bgpName] = { dir: true };
      c.note = `${bgpName} is a directory`;
      c.expect = { rejected: 'not a regular file' };
      break;
    case 1:
      files[bgpName] = { symlink: 'evpn-conf.yaml' };
      files['evpn-conf.yaml'] = { symlink: bgpName };
      delete files['evpn-conf.json'];
      c.note = 'symlink loop';
      c.expect = { rejected: 'symlink loop' };
      break;
    case 2:
      files[bgpName.endsWith('.json') ? 'bgp-conf.yaml' : 'bgp-conf.json'] = '{}';
      c.note = 'both bgp-conf.yaml and bgp-conf.json';
      c.expect = { rejected: 'both files' };
      break;
    case 3:
      c.dirMode = rng.chance(0.5) ? 'missing' : 'file';
      c.note = `configDir is ${c.dirMode === 'missing' ? 'missing' : 'a regular file'}`;
      c.expect = { rejected: 'no config dir' };
      break;
    case 4:
      files[bgpName] = rng.pick(['', ' ', '\n\n', '\t\r\n', '   \n']);
      c.note = `${bgpName} is empty or blank`;
      c.expect = { rejected: 'empty file' };
      break;
    case 5: {
      delete files[bgpName];
      files['bgp-conf.yaml'] = padTo(yamlStringify(m.docs.bgp, { lineWidth: 0 }), MIB);
      c.note = 'bgp-conf.yaml is exactly 1 MiB (multi-byte padding)';
      c.expect = { accepted: m.expected };
      break;
    }
    case 6: {
      delete files[bgpName];
      files['bgp-conf.yaml'] = padTo(yamlStringify(m.docs.bgp, { lineWidth: 0 }), MIB + 1);
      c.note = 'bgp-conf.yaml is 1 MiB + 1 byte (fewer characters than bytes)';
      c.expect = { rejected: 'over 1 MiB' };
      break;
    }
    case 7:
      files['bgp-password'] = { dir: true };
      c.note = 'bgp-password is a directory';
      c.expect = { rejected: 'not a regular file' };
      break;
    case 8:
      files['gateway.yaml'] = { symlink: '/nonexistent/frrsup-fuzz' };
      delete files['gateway.json'];
      c.note = 'gateway.yaml is a dangling symlink (treated as absent)';
      break;
    case 9:
      files['gateway.yaml'] = { symlink: '/dev/null' };
      delete files['gateway.json'];
      c.note = 'gateway.yaml is a symlink to /dev/null';
      c.expect = { rejected: 'not a regular file' };
      break;
    default:
      files['unrelated.yaml'] = '{{{';
      files['..data'] = { dir: true };
      c.note = 'unrelated files in the dir';
      c.expect = { accepted: m.expected };
  }
  return c;
};

const genLongString: Gen = (rng, base) => {
  const m = genValid(rng, rng.chance(0.1));
  const s = rng.pick(slots(m, true));
  const cur = currentValue(m, s);
  const unit = typeof cur === 'string' && cur !== '' ? cur : '1';
  const len = rng.chance(0.8) ? rng.int(1000, 100000) : rng.int(100000, 900000);
  const value = (rng.chance(0.5) ? unit : rng.pick(['9', '1s', 'a', ':', '.', 'ff:', '1.']))
    .repeat(Math.ceil(len / Math.max(1, unit.length)))
    .slice(0, len);
  setSlot(m, s, value);
  const eff = effectiveValue(m, s, value);
  const files = serialize(rng, m);
  // a long repetition of a duration is a valid (long) duration: no expectation there
  const isDuration = ['holdTime', 'keepaliveTime', 'connectTime'].includes(String(s.path[0]));
  const expect: Expectation | undefined = eff && s.role !== 'env' && !isDuration ? { rejected: 'an over-long value' } : undefined;
  return caseOf(base, 'long', `${slotName(s)} <- ${value.length} characters ${short(value.slice(0, 20))}…`, m, files, expect);
};

const genGolden: Gen = (rng, base) => {
  const g = rng.pick(GOLDEN);
  return {
    ...base,
    kind: 'golden',
    note: `golden ${g.name} as is`,
    files: { ...g.files },
    env: g.env,
    useEnv: g.useEnv,
    dirMode: g.configDir ? 'dir' : 'none',
    ...(g.ifaceIp && { ifaceIp: g.ifaceIp }),
    isolate: false,
    expect: { accepted: true },
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Scheduled big and deep cases

const genHuge: Gen = (rng, base) => {
  const m = genValid(rng, false);
  const files = serialize(rng, m);
  const size = 10 * MIB + rng.int(0, 1000);
  const what = rng.int(0, 2);
  let name: string;
  if (what === 0) {
    name = Object.keys(files).find((n) => n.startsWith('bgp-conf'))!;
    const text = files[name];
    files[name] = padTo(typeof text === 'string' ? text : '{}', size);
  } else if (what === 1) {
    name = 'bgp-password';
    files[name] = 'x'.repeat(size);
  } else {
    name = 'gateway.yaml';
    delete files['gateway.json'];
    files[name] = `advertise: [${Array.from({ length: Math.ceil(size / 16) }, () => '"10.0.0.0/8"').join(',')}]\n`;
  }
  return caseOf(base, 'huge', `${name} is ${size} bytes`, m, files, { rejected: 'over 1 MiB' });
};

const genDeep: Gen = (rng, base) => {
  const m = genValid(rng, false);
  const files = serialize(rng, m);
  const depth = rng.pick([3000, 10000]);
  const variants: Array<[string, string, string]> = [
    ['bgp-conf.yaml', '['.repeat(depth), `${depth} x [`],
    ['bgp-conf.yaml', '{'.repeat(depth), `${depth} x {`],
    ['gateway.yaml', `${'['.repeat(depth)}${']'.repeat(depth)}`, `${depth} balanced [ ]`],
    ['gateway.yaml', `a: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`, `${depth} nested {a: }`],
    ['evpn-conf.yaml', `${'- '.repeat(depth)}1\n`, `${depth} nested block sequences`],
    ['bgp-conf.json', `${'['.repeat(depth)}${']'.repeat(depth)}`, `${depth} nested JSON arrays`],
    ['gateway.json', `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, `${depth} nested JSON objects`],
    [
      'bgp-conf.yaml',
      `${yamlStringify({ ...m.docs.bgp, neighbours: undefined }, { lineWidth: 0 })}neighbours: ${'['.repeat(depth)}${']'.repeat(depth)}\n`,
      `neighbours nested ${depth} levels`,
    ],
  ];
  const [name, text, note] = rng.pick(variants);
  const stem = name.replace(/\.(yaml|json)$/, '');
  for (const e of ['yaml', 'json']) delete files[`${stem}.${e}`];
  files[name] = text;
  if (stem !== 'bgp-conf' && !files['bgp-conf.yaml'] && !files['bgp-conf.json']) files['bgp-conf.yaml'] = yamlStringify(m.docs.bgp);
  const c = caseOf(base, 'deep', `${name}: ${note}`, m, files, { rejected: 'nested too deeply' });
  c.isolate = true;
  return c;
};

const genManyKeys: Gen = (rng, base) => {
  const m = genValid(rng, false);
  const files = serialize(rng, m);
  const n = 25000;
  for (const e of ['yaml', 'json']) delete files[`gateway.${e}`];
  files['gateway.yaml'] = Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n') + '\n';
  return caseOf(base, 'many-keys', `gateway.yaml has ${n} (unknown) keys, ${Buffer.byteLength(files['gateway.yaml'])} bytes`, m, files, {
    accepted: true,
  });
};

// ---------------------------------------------------------------------------------------------------------------
// Golden inputs (test/golden/*/input and env.json)

interface GoldenInput {
  name: string;
  files: Record<string, string>;
  env: Record<string, string>;
  useEnv: boolean;
  configDir: boolean;
  ifaceIp?: string;
}

function loadGolden(): GoldenInput[] {
  const dir = fileURLToPath(new URL('../golden/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .map((n) => {
      const input = join(dir, n, 'input');
      const files: Record<string, string> = {};
      if (existsSync(input)) for (const f of readdirSync(input)) files[f] = readFileSync(join(input, f), 'utf8');
      const raw = JSON.parse(readFileSync(join(dir, n, 'env.json'), 'utf8')) as Record<string, unknown>;
      const ifaces = Object.values((raw.__interfaceIPv4 ?? {}) as Record<string, string>);
      const env = Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('__'))) as Record<string, string>;
      return { name: n, files, env, useEnv: false, configDir: existsSync(input), ...(ifaces[0] && { ifaceIp: ifaces[0] }) };
    });
}

const GOLDEN = loadGolden();

// ---------------------------------------------------------------------------------------------------------------

const GENERATORS: Array<readonly [number, string, Gen]> = [
  [14, 'valid', genValidCase],
  [3, 'golden', genGolden],
  [18, 'mutate', genMutate],
  [16, 'inject', genInject],
  [6, 'unicode', genUnicode],
  [6, 'numbers', genNumbers],
  [8, 'yaml', genYamlFeatures],
  [12, 'text', genTextMutate],
  [3, 'random', genRandomDoc],
  [4, 'password-file', genPasswordFile],
  [7, 'env', genEnv],
  [2, 'fs', genFs],
  [1, 'long', genLongString],
];

export const GENERATOR_NAMES = [...GENERATORS.map(([, n]) => n), 'invalid', 'huge', 'deep', 'many-keys'];

/**
 * The scheduled kind at this index, if any: a few big/deep cases per run, spread over it, and every fifth case
 * a table case (INVALID_TABLE, cycled: every entry is tried each run of at least 5 x its size cases).
 */
export function scheduledKind(index: number, total: number): 'huge' | 'deep' | 'many-keys' | 'invalid' | undefined {
  const at = (period: number, offset: number): boolean => {
    const p = Math.max(1, Math.min(period, total));
    return index % p === Math.floor(p * offset);
  };
  if (total >= 20 && at(10000, 0.7)) return 'many-keys';
  if (total >= 10 && at(2500, 0.5)) return 'huge';
  if (total >= 10 && at(625, 0.37)) return 'deep';
  if (index % 5 === 3) return 'invalid';
  return undefined;
}

export function generateCase(seed: number, index: number, total: number): FuzzCase {
  const rng = new Rng(seed, index);
  const base = { seed, index };
  const scheduled = scheduledKind(index, total);
  if (scheduled === 'huge') return genHuge(rng, base);
  if (scheduled === 'deep') return genDeep(rng, base);
  if (scheduled === 'many-keys') return genManyKeys(rng, base);
  if (scheduled === 'invalid') return genInvalidField(rng, base, Math.floor(index / 5));
  const gen = rng.weighted(GENERATORS.map(([w, , g]) => [w, g] as const));
  return gen(rng, base);
}
