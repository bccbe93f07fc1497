/**
 * Reading the data plane's current state with `ip -json -details ...`. The parsers are pure functions of ip's
 * output (unit-tested on captured outputs in test/fixtures/ip-json/); the readers run the commands.
 */
import { parseAddress, parseCidr } from '../config/net.ts';
import type { Family } from '../config/net.ts';
import type { Spec } from '../config/types.ts';
import { existsSync } from 'node:fs';
import { execRunner, formatArgv, inNetnsArgv, ipArgv } from './exec.ts';
import type { Runner } from './exec.ts';
import { desiredFromSpec, FORWARDING_SYSCTL } from './types.ts';
import type {
  AddressState,
  CurrentDataplane,
  DesiredDataplane,
  ExternalFacts,
  ForwardingState,
  LinkState,
  OwnedNames,
  RouteState,
} from './types.ts';

/** An `ip` output that cannot be understood. */
export class IpJsonError extends Error {
  constructor(what: string, detail: string) {
    super(`cannot parse ${what}: ${detail}`);
    this.name = 'IpJsonError';
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

function parseArray(text: string, what: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (err) {
    throw new IpJsonError(what, `${(err as Error).message}; output starts with ${JSON.stringify(trimmed.slice(0, 80))}`);
  }
  if (!Array.isArray(parsed)) throw new IpJsonError(what, 'a JSON array is expected');
  return parsed;
}

/** Canonical address text (IPv6 compressed the RFC 5952 way); the input when it is not an address. */
export function canonicalAddress(text: string): string {
  const p = parseAddress(text);
  return typeof p === 'string' ? text : p.canonical;
}

function parseAddresses(v: unknown): AddressState[] {
  if (!Array.isArray(v)) return [];
  const out: AddressState[] = [];
  for (const a of v) {
    if (!isObject(a)) continue;
    const family = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : undefined;
    const local = str(a.local);
    const prefixlen = num(a.prefixlen);
    if (family === undefined || local === undefined || prefixlen === undefined) continue;
    const broadcast = str(a.broadcast);
    out.push({
      family,
      local: canonicalAddress(local),
      prefixlen,
      scope: str(a.scope) ?? 'global',
      ...(broadcast !== undefined && { broadcast }),
    });
  }
  return out;
}

/** One entry of `ip -json [-details] link show` / `addr show`. */
export function parseLink(entry: unknown): LinkState {
  if (!isObject(entry)) throw new IpJsonError('ip -json link', 'a link entry is not an object');
  const name = str(entry.ifname);
  const ifindex = num(entry.ifindex);
  if (name === undefined || ifindex === undefined) throw new IpJsonError('ip -json link', 'a link entry has no ifname/ifindex');
  const flags = Array.isArray(entry.flags) ? entry.flags.filter((f): f is string => typeof f === 'string') : [];
  const link: LinkState = {
    name,
    ifindex,
    up: flags.includes('UP'),
    operstate: str(entry.operstate) ?? 'UNKNOWN',
    mtu: num(entry.mtu) ?? 0,
    addresses: parseAddresses(entry.addr_info),
  };
  const master = str(entry.master);
  if (master !== undefined) link.master = master;
  const linkNetnsid = num(entry.link_netnsid);
  if (linkNetnsid !== undefined) link.linkNetnsid = linkNetnsid;
  const info = isObject(entry.linkinfo) ? entry.linkinfo : undefined;
  if (info) {
    const kind = str(info.info_kind);
    if (kind !== undefined) link.kind = kind;
    const data = isObject(info.info_data) ? info.info_data : undefined;
    if (kind === 'vrf' && data) {
      const table = num(data.table);
      if (table !== undefined) link.vrfTable = table;
    }
    if (kind === 'vxlan' && data) {
      const local = str(data.local) ?? str(data.local6);
      link.vxlan = {
        vni: num(data.id) ?? -1,
        port: num(data.port) ?? -1,
        ...(local !== undefined && { local: canonicalAddress(local) }),
        learning: bool(data.learning) ?? true,
      };
    }
    const slaveKind = str(info.info_slave_kind);
    if (slaveKind !== undefined) link.slaveKind = slaveKind;
    const slave = isObject(info.info_slave_data) ? info.info_slave_data : undefined;
    if (slaveKind === 'bridge' && slave) {
      const learning = bool(slave.learning);
      if (learning !== undefined) link.bridgePortLearning = learning;
    }
  }
  return link;
}

/** `ip -json -details link show` or `ip -json -details addr show` (the latter adds the addresses). */
export function parseLinks(text: string): LinkState[] {
  return parseArray(text, 'ip -json link/addr show').map(parseLink);
}

/** The canonical CIDR of a route's `dst` (`default`, and host routes printed without a length). */
export function routePrefix(dst: string, family: Family): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  const withLen = dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
  const c = parseCidr(withLen);
  return typeof c === 'string' ? withLen : c.canonical;
}

/**
 * Route protocol numbers (`ip -N`) by the kernel's names. Names alone are ambiguous: FRR's
 * /etc/iproute2/rt_protos.d/frr.conf names zebra's own static routes (196) `static` too, the name of ours (4).
 */
const ROUTE_PROTOCOLS: Readonly<Record<string, string>> = {
  '2': 'kernel',
  '3': 'boot',
  '4': 'static',
  '186': 'bgp',
  '196': 'zebra-static',
};
/** Route type numbers (`ip -N`): RTN_*. */
const ROUTE_TYPES: Readonly<Record<string, string>> = {
  '1': 'unicast',
  '2': 'local',
  '3': 'broadcast',
  '4': 'anycast',
  '5': 'multicast',
  '6': 'blackhole',
  '7': 'unreachable',
  '8': 'prohibit',
  '9': 'throw',
  '10': 'nat',
};
/** A protocol or type as `ip -N` prints it (a number) or as plain `ip` does (a name): a name either way. */
const named = (v: string, names: Readonly<Record<string, string>>, prefix: string): string =>
  /^\d+$/.test(v) ? (names[v] ?? `${prefix}${v}`) : v;

/**
 * `ip -json [-N] -4|-6 route show [table N]`: family says which (ip does not print it). With `-N` (how readRoutes
 * asks), protocols and types come as numbers and are named here without ambiguity; zebra's static routes become
 * `zebra-static`, never ours.
 */
export function parseRoutes(text: string, family: Family): RouteState[] {
  const out: RouteState[] = [];
  for (const r of parseArray(text, 'ip -json route show')) {
    if (!isObject(r)) continue;
    const dst = str(r.dst);
    if (dst === undefined) continue;
    const protocol = str(r.protocol);
    const route: RouteState = {
      family,
      prefix: routePrefix(dst, family),
      protocol: protocol === undefined ? 'boot' : named(protocol, ROUTE_PROTOCOLS, 'proto-'),
    };
    const via = str(r.gateway);
    if (via !== undefined) route.via = canonicalAddress(via);
    const dev = str(r.dev);
    if (dev !== undefined) route.dev = dev;
    const type = str(r.type);
    if (type !== undefined) route.type = named(type, ROUTE_TYPES, 'type-');
    const metric = num(r.metric);
    if (metric !== undefined) route.metric = metric;
    out.push(route);
  }
  return out;
}

/** `ip -json netns list`: the namespace names. */
export function parseNetnsList(text: string): string[] {
  return parseArray(text, 'ip -json netns list')
    .map((e) => (isObject(e) ? str(e.name) : undefined))
    .filter((n): n is string => n !== undefined);
}

/** The external interface's facts from `ip -json -details addr show dev IF` output; undefined if it is not there. */
export function externalFactsFromLinks(links: readonly LinkState[], ifname: string): ExternalFacts | undefined {
  const l = links.find((x) => x.name === ifname);
  return l && { name: l.name, mtu: l.mtu, addresses: l.addresses };
}

// ---------------------------------------------------------------------------------------------------------
// readers

/** Where and how the readers run their commands. */
export interface ReadOptions {
  /** Gateway namespace to read in (`ip -n NS`); default: this process's own namespace. */
  netns?: string;
  /** How to reach the gateway namespace from another one (`ip link set DEV netns X`): default netns ?? our pid. */
  gatewayNsRef?: string;
  runner?: Runner;
}

async function runOk(runner: Runner, argv: string[]): Promise<string> {
  const r = await runner(argv);
  if (r.exitCode !== 0) throw new Error(`${formatArgv(argv)} failed (exit ${String(r.exitCode)}): ${r.stderr.trim() || 'no output'}`);
  return r.stdout;
}

/** `ip -json -details addr show` of a namespace. */
export async function readLinks(netns: string | undefined, runner: Runner = execRunner): Promise<LinkState[]> {
  return parseLinks(await runOk(runner, ipArgv(netns, '-json', '-details', 'addr', 'show')));
}

/** IPv4 and IPv6 routes of a table (undefined = main); a table that does not exist yet has no routes. */
export async function readRoutes(netns: string | undefined, table: number | undefined, runner: Runner = execRunner): Promise<RouteState[]> {
  const out: RouteState[] = [];
  for (const family of [4, 6] as const) {
    // -N: numeric protocols (see parseRoutes: the names are ambiguous).
    const argv = ipArgv(netns, '-json', '-N', `-${family}`, 'route', 'show', ...(table === undefined ? [] : ['table', String(table)]));
    const r = await runner(argv);
    if (r.exitCode !== 0) {
      // "Error: ipv4: FIB table does not exist." (and a lone "[" on stdout): nothing was ever put in that table.
      if (/FIB table does not exist/.test(r.stderr)) continue;
      throw new Error(`${formatArgv(argv)} failed (exit ${String(r.exitCode)}): ${r.stderr.trim() || 'no output'}`);
    }
    out.push(...parseRoutes(r.stdout, family));
  }
  return out;
}

/**
 * The forwarding sysctls of a namespace (undefined: this process's own), read with `cat` (`ip netns exec NS cat`
 * for a named one). A family whose sysctl file does not exist (IPv6 disabled) is left undefined.
 */
export async function readForwarding(netns: string | undefined, runner: Runner = execRunner): Promise<ForwardingState> {
  const out: ForwardingState = {};
  for (const family of [4, 6] as const) {
    const argv = inNetnsArgv(netns, 'cat', FORWARDING_SYSCTL[family]);
    const r = await runner(argv);
    if (r.exitCode !== 0) {
      if (/No such file/.test(r.stderr)) continue;
      throw new Error(`${formatArgv(argv)} failed (exit ${String(r.exitCode)}): ${r.stderr.trim() || 'no output'}`);
    }
    out[family === 4 ? 'ipv4' : 'ipv6'] = r.stdout.trim() !== '0';
  }
  return out;
}

/** The names of the network namespaces in /run/netns. */
export async function readNetnsList(runner: Runner = execRunner): Promise<string[]> {
  return parseNetnsList(await runOk(runner, ['ip', '-json', 'netns', 'list']));
}

/** The external interface's MTU and addresses; undefined when it does not exist. */
export async function readExternalFacts(ifname: string, opts: ReadOptions = {}): Promise<ExternalFacts | undefined> {
  const runner = opts.runner ?? execRunner;
  const argv = ipArgv(opts.netns, '-json', '-details', 'addr', 'show', 'dev', ifname);
  const r = await runner(argv);
  if (r.exitCode !== 0) {
    if (/does not exist/.test(r.stderr)) return undefined;
    throw new Error(`${formatArgv(argv)} failed (exit ${String(r.exitCode)}): ${r.stderr.trim() || 'no output'}`);
  }
  return externalFactsFromLinks(parseLinks(r.stdout), ifname);
}

/** desiredFromSpec with the external interface's facts read from the host (only when the spec has EVPN). */
export async function desiredFromHost(spec: Spec, opts: ReadOptions = {}): Promise<DesiredDataplane | undefined> {
  if (!spec.evpn) return undefined;
  return desiredFromSpec(spec, await readExternalFacts(spec.gateway.externalInterface, opts));
}

/**
 * The current state of what `owned` names: the owned devices of the gateway namespace, the VRF namespace's
 * devices (netns backend) and the routes of the VRF's table.
 */
export async function readState(owned: OwnedNames, opts: ReadOptions = {}): Promise<CurrentDataplane> {
  const runner = opts.runner ?? execRunner;
  const names = new Set([
    owned.vrf.name,
    owned.bridge.name,
    owned.vxlan.name,
    ...(owned.internalInterface ? [owned.internalInterface] : []),
  ]);
  const gatewayLinks = (await readLinks(opts.netns, runner)).filter((l) => names.has(l.name));
  const base = {
    owned,
    ...(opts.netns !== undefined && { netns: opts.netns }),
    gatewayNsRef: opts.gatewayNsRef ?? opts.netns ?? String(process.pid),
    gatewayLinks,
  };
  if (owned.backend === 'kernel') {
    return { ...base, routes: await readRoutes(opts.netns, owned.vrf.table, runner) };
  }
  const ipv6Available = existsSync('/proc/sys/net/ipv6');
  if (!(await readNetnsList(runner)).includes(owned.vrf.name)) return { ...base, routes: [], ipv6Available };
  let links: LinkState[];
  try {
    links = await readLinks(owned.vrf.name, runner);
  } catch (e) {
    // /run/netns/NAME exists but is no namespace: the mount sat in the mount namespace of a process that exited
    // (a supervisor run under `ip netns exec`, a restarted container), and the namespace went with it.
    if (/setting the network namespace .* failed: Invalid argument/.test((e as Error).message))
      return { ...base, routes: [], ipv6Available, staleVrfEntry: true };
    throw e;
  }
  return {
    ...base,
    vrfNamespace: { links },
    routes: await readRoutes(owned.vrf.name, undefined, runner),
    vrfForwarding: await readForwarding(owned.vrf.name, runner),
    ipv6Available,
  };
}
