/**
 * The kernel entries that carry an EVPN gateway's traffic towards its remote VTEPs, as zebra installs them for the
 * L3VNI, and the iproute2 text that reads and writes them (the quirks of `ip monitor` stay in this file):
 *
 * - a neighbour on the L3VNI's bridge (the SVI): the remote VTEP's address (a route's next hop; `::ffff:A.B.C.D` for
 *   IPv6 routes over an IPv4 underlay) -> the remote router MAC, `extern_learn NOARP`, protocol zebra (11);
 * - two FDB entries for that router MAC on the VXLAN device: the bridge's (`master`) and the VXLAN device's own
 *   (`self`, with `dst` the VTEP), both `extern_learn`;
 * - the VRF's BGP routes (protocol bgp, 186) via those next hops, `onlink` on the bridge.
 *
 * Used by the EVPN hold (evpn-hold.ts), which puts the first two back when zebra removes them while bgpd restarts,
 * and holds lower-priority copies of the routes.
 */
import type { Family } from '../config/net.ts';
import { canonicalAddress, routePrefix } from './state.ts';

/** zebra's neighbour protocol (RTPROT_ZEBRA) and route protocol for BGP routes (RTPROT_BGP), as `ip -N` prints them. */
export const PROTO_ZEBRA = '11';
export const PROTO_BGP = '186';
/**
 * The neighbours the hold puts back carry this protocol (RTPROT_STATIC, as a number: FRR's rt_protos.d reuses the
 * name `static`) and the state PERMANENT instead of zebra's NOARP (the same for forwarding): the kernel reports a
 * neighbour update only when its state, address or flags change, not its protocol alone, so zebra installing its own
 * again shows as `... NOARP proto 11`.
 */
export const PROTO_HOLD_NEIGH = '4';
/**
 * The metric of the hold's copies of the VRF's BGP routes: lower priority than zebra's (metric 20), so the kernel uses
 * a copy only while zebra's route is missing. Protocol bgp: zebra ignores a route of its own protocols that it did not
 * install itself ("Received that we think we have originated, ignoring"), so the copies never enter its RIB.
 */
export const HOLD_METRIC = 9999;

/** What the hold needs to know of the data plane's devices. */
export interface EvpnDevices {
  bridge: string;
  vxlan: string;
  /** The VRF's routing table as `ip` prints it with -N (kernel VRF backend); undefined: the main table (netns backend). */
  table?: string;
}

export interface NeighEntry {
  /** Canonical address (the remote VTEP, or its IPv4-mapped IPv6 form). */
  ip: string;
  mac: string;
}

export interface FdbEntry {
  mac: string;
  /** `self` (the VXLAN device's own entry, with the VTEP) or `master` (the bridge's). */
  kind: 'self' | 'master';
  /** The remote VTEP (self entries). */
  dst?: string;
}

/** A VRF route to hold: its prefix and the `ip route` arguments of its next hops (`via GW dev BR onlink`, or `nexthop ...`). */
export interface HeldRoute {
  family: Family;
  prefix: string;
  nexthops: string[];
}

export type MonitorEvent =
  | { kind: 'neigh'; deleted: boolean; ip: string; mac?: string; externLearn: boolean; proto?: string }
  | { kind: 'fdb'; deleted: boolean; entry: FdbEntry; externLearn: boolean }
  | { kind: 'route'; deleted: boolean; prefix: string; proto?: string; metric?: number };

export const neighKey = (n: { ip: string }): string => n.ip;
export const fdbKey = (f: FdbEntry): string => `${f.kind} ${f.mac.toLowerCase()}`;

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const ROUTE_TYPES = new Set([
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
]);

function after(words: string[], key: string): string | undefined {
  const i = words.indexOf(key);
  return i >= 0 ? words[i + 1] : undefined;
}

function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/**
 * One line of `ip -N monitor neigh route` (iproute2 6.1 and later): the events on our bridge and VXLAN device and the
 * VRF table's routes; undefined for anything else (other devices or tables, a multipath route's `nexthop` lines,
 * banners). The formats, as the kernel reports zebra's entries:
 *
 *     [Deleted ]10.0.1.1 dev br-vpn lladdr 62:14:ff:65:f2:cc extern_learn NOARP proto 11
 *     [Deleted ]10.0.1.1 dev br-vpn FAILED proto 11                     (no lladdr: the neighbour going away)
 *     [Deleted ]dev vxlan-vpn lladdr 62:14:ff:65:f2:cc extern_learn REACHABLE        (FDB, the bridge's entry)
 *     [Deleted ]10.0.1.1 dev vxlan-vpn lladdr 62:14:ff:65:f2:cc extern_learn REACHABLE  (FDB, the VXLAN's, dst first)
 *     [Deleted ]192.168.100.0/24 via 10.0.1.1 dev br-vpn [table 2000] proto 186 metric 20 onlink
 */
export function parseMonitorLine(line: string, devices: EvpnDevices): MonitorEvent | undefined {
  if (/^\s/.test(line)) return undefined; // a multipath route's nexthop lines
  let text = line.trim().replace(/^\[[^\]]*\]\s*/, ''); // `ip -ts` timestamps, `[NEIGH]`-style banners
  const deleted = text.startsWith('Deleted ');
  if (deleted) text = text.slice('Deleted '.length);
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  const dev = after(words, 'dev');
  const lladdr = after(words, 'lladdr');
  const externLearn = words.includes('extern_learn');
  const proto = after(words, 'proto');
  if (dev === devices.vxlan && lladdr !== undefined && MAC.test(lladdr)) {
    const mac = lladdr.toLowerCase();
    if (words[0] === 'dev') return { kind: 'fdb', deleted, entry: { mac, kind: 'master' }, externLearn };
    if (words[1] === 'dev')
      return { kind: 'fdb', deleted, entry: { mac, kind: 'self', dst: canonicalAddress(words[0] ?? '') }, externLearn };
    return undefined;
  }
  // A route: optional type, then the prefix; the metric and table tell zebra's from ours and the VRF's from others.
  const first = ROUTE_TYPES.has(words[0] ?? '') ? 1 : 0;
  const dst = words[first] ?? '';
  const isRoute = words.includes('metric') || words.includes('via') || words.includes('nexthop') || first === 1 || words[0] === 'default';
  if (isRoute) {
    const table = after(words, 'table');
    const inMain = table === undefined || table === 'main' || table === '254';
    if (devices.table === undefined ? !inMain : table !== devices.table) return undefined;
    if (dst !== 'default' && !/^[0-9a-f.:]+(\/\d+)?$/i.test(dst)) return undefined;
    const family: Family = dst === 'default' ? (words.includes('inet6') ? 6 : 4) : familyOf(dst);
    const metric = after(words, 'metric');
    return {
      kind: 'route',
      deleted,
      prefix: routePrefix(dst, family),
      ...(proto !== undefined && { proto }),
      ...(metric !== undefined && /^\d+$/.test(metric) && { metric: Number(metric) }),
    };
  }
  if (dev !== devices.bridge || !/^[0-9a-f.:]+$/i.test(words[0] ?? '') || words[1] !== 'dev') return undefined;
  return {
    kind: 'neigh',
    deleted,
    ip: canonicalAddress(words[0] ?? ''),
    ...(lladdr !== undefined && MAC.test(lladdr) && { mac: lladdr.toLowerCase() }),
    externLearn,
    ...(proto !== undefined && { proto }),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function parseJsonArray(text: string, what: string): unknown[] {
  const t = text.trim();
  if (t === '') return [];
  const v: unknown = JSON.parse(t);
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v;
}

/** `ip -N -json neigh show dev BRIDGE`: zebra's remote next hops (extern_learn, protocol zebra, with a MAC). */
export function parseZebraNeighbours(text: string): NeighEntry[] {
  const out: NeighEntry[] = [];
  for (const e of parseJsonArray(text, 'ip -json neigh show')) {
    if (!isObject(e) || !('extern_learn' in e)) continue;
    const ip = str(e.dst);
    const mac = str(e.lladdr);
    const proto = str(e.protocol);
    if (ip === undefined || mac === undefined || !MAC.test(mac) || (proto !== PROTO_ZEBRA && proto !== 'zebra')) continue;
    out.push({ ip: canonicalAddress(ip), mac: mac.toLowerCase() });
  }
  return out;
}

/** `bridge -json fdb show dev VXLAN`: the extern_learn entries with a unicast MAC (zebra's remote router MACs). */
export function parseRemoteFdb(text: string): FdbEntry[] {
  const out: FdbEntry[] = [];
  for (const e of parseJsonArray(text, 'bridge -json fdb show')) {
    if (!isObject(e)) continue;
    const flags = Array.isArray(e.flags) ? e.flags : [];
    const mac = str(e.mac);
    if (mac === undefined || !MAC.test(mac) || !flags.includes('extern_learn')) continue;
    if (flags.includes('self')) {
      const dst = str(e.dst);
      if (dst !== undefined) out.push({ mac: mac.toLowerCase(), kind: 'self', dst: canonicalAddress(dst) });
    } else if (str(e.master) !== undefined) out.push({ mac: mac.toLowerCase(), kind: 'master' });
  }
  return out;
}

function nexthopArgs(nh: Record<string, unknown>, bridge: string): string | undefined {
  const gw = str(nh.gateway);
  if (gw === undefined || str(nh.dev) !== bridge) return undefined;
  const flags = Array.isArray(nh.flags) ? nh.flags : [];
  return `via ${gw} dev ${bridge}${flags.includes('onlink') ? ' onlink' : ''}`;
}

/**
 * `ip -N -json -4|-6 route show [table T] proto bgp`: zebra's BGP routes in the VRF whose next hops are all on the
 * bridge (the EVPN routes), as routes to hold. Our own copies (HOLD_METRIC) are left out.
 */
export function parseHoldableRoutes(text: string, family: Family, bridge: string): HeldRoute[] {
  const out: HeldRoute[] = [];
  for (const r of parseJsonArray(text, 'ip -json route show')) {
    if (!isObject(r)) continue;
    const dst = str(r.dst);
    if (dst === undefined || r.metric === HOLD_METRIC) continue;
    if (r.type !== undefined && r.type !== 'unicast' && r.type !== '1') continue;
    let nexthops: string[];
    if (Array.isArray(r.nexthops)) {
      const each = r.nexthops.map((nh) => (isObject(nh) ? nexthopArgs(nh, bridge) : undefined));
      if (each.length === 0 || each.some((n) => n === undefined)) continue;
      nexthops = (each as string[]).map((n) => `nexthop ${n}`);
    } else {
      const one = nexthopArgs(r, bridge);
      if (one === undefined) continue;
      nexthops = [one];
    }
    out.push({ family, prefix: routePrefix(dst, family), nexthops });
  }
  return out;
}

/**
 * Batch lines (`ip -batch -` / `bridge -batch -`, one command a line, without the program's name). Protocols are
 * numbers only: iproute2's name lookup (rtnl_rtprot_a2n) caches the last name with a result that a numeric protocol
 * overwrites, so in one batch `proto 4` then `proto bgp` gives 4 (seen with iproute2 6.1 and 6.15).
 */
export interface BatchLines {
  ip: string[];
  bridge: string[];
}

const tableArgs = (d: EvpnDevices): string => (d.table === undefined ? '' : ` table ${d.table}`);

export function restoreNeighbour(n: NeighEntry, d: EvpnDevices): string {
  return `neigh replace ${n.ip} lladdr ${n.mac} dev ${d.bridge} nud permanent extern_learn proto ${PROTO_HOLD_NEIGH}`;
}

export function removeNeighbour(n: NeighEntry, d: EvpnDevices): string {
  return `neigh del ${n.ip} dev ${d.bridge}`;
}

export function restoreFdb(f: FdbEntry, d: EvpnDevices): string {
  return f.kind === 'master'
    ? `fdb replace ${f.mac} dev ${d.vxlan} master extern_learn`
    : `fdb replace ${f.mac} dev ${d.vxlan} dst ${f.dst ?? ''} self extern_learn dynamic`;
}

export function removeFdb(f: FdbEntry, d: EvpnDevices): string {
  return f.kind === 'master' ? `fdb del ${f.mac} dev ${d.vxlan} master` : `fdb del ${f.mac} dev ${d.vxlan} dst ${f.dst ?? ''} self`;
}

export function addHoldRoute(r: HeldRoute, d: EvpnDevices): string {
  return `route replace ${r.prefix} ${r.nexthops.join(' ')} metric ${HOLD_METRIC} proto ${PROTO_BGP}${tableArgs(d)}`;
}

export function removeHoldRoute(r: { prefix: string }, d: EvpnDevices): string {
  return `route del ${r.prefix} metric ${HOLD_METRIC} proto ${PROTO_BGP}${tableArgs(d)}`;
}
