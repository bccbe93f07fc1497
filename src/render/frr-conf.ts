/**
 * validated Spec -> FRR's integrated config (frr.conf) and daemons file. This module decides what the
 * config says; frr-templates/ only lays it out, the way `show running-config` prints it.
 */
import { createHash } from 'node:crypto';
import { redactSecrets } from '../frr/running-config.ts';
import { fileURLToPath } from 'node:url';
import ini from 'ini';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BfdSpec, EvpnSpec, Spec } from '../config/types.ts';
import { BFD_DEFAULTS, BFD_DEFAULT_MINIMUM_TTL } from '../config/types.ts';
import { compareCidrs, ipv4ToNumber, numberToIpv4, parseCidr } from '../config/net.ts';
import { Templates } from './template.ts';

export const TEMPLATE_DIR = fileURLToPath(new URL('../../frr-templates/', import.meta.url));

/** Names of the filters the rendered config defines (no default route ever leaves through redistribution). */
export const FILTERS = {
  v4PrefixList: 'FRRSUP-V4-NO-DEFAULT',
  v6PrefixList: 'FRRSUP-V6-NO-DEFAULT',
  v4RouteMap: 'FRRSUP-EXPORT-V4',
  v6RouteMap: 'FRRSUP-EXPORT-V6',
} as const;

/** The one BFD profile the rendered config defines (every neighbour uses it). */
export const BFD_PROFILE = 'FRRSUP-BFD';

/**
 * The profile's settings as bfdd prints them in its running config: only what differs from FRR's defaults (false:
 * not printed; a default value written out would not come back from `show running-config`).
 */
export function bfdProfileView(b: BfdSpec): Record<string, number | boolean> {
  const d = BFD_DEFAULTS;
  const differs = (v: number, dflt: number): number | false => v !== dflt && v;
  return {
    detectMultiplier: differs(b.detectMultiplier, d.detectMultiplier),
    transmitInterval: differs(b.transmitInterval, d.transmitInterval),
    receiveInterval: differs(b.receiveInterval, d.receiveInterval),
    passiveMode: b.passiveMode,
    echoMode: b.echoMode,
    minimumTtl: b.minimumTtl !== undefined && differs(b.minimumTtl, BFD_DEFAULT_MINIMUM_TTL),
  };
}

/**
 * The neighbours bfdd runs a configured (static) session to: every neighbour when they are single-hop. A configured
 * session outlives bgpd, so a config change that restarts bgpd alone does not take BFD down. Multihop sessions need
 * the local address (`peer X multihop local-address Y`), which only bgpd knows once connected: they stay dynamic
 * (created by bgpd's registration, gone while bgpd restarts).
 */
export function bfdStaticPeers(spec: Spec): string[] {
  return spec.gateway.bfd && !spec.bgp.ebgpMultiHop ? spec.bgp.neighbours : [];
}

/**
 * vtysh commands that bring a running bfdd from `before`'s BFD config to `after`'s without restarting it (every
 * profile setting written out, peers added and removed): a change of the BFD parameters alone restarts nothing.
 */
export function bfddLiveCommands(before: Spec, after: Spec): string[] {
  const b = after.gateway.bfd;
  if (!b) return [];
  const had = new Set(bfdStaticPeers(before));
  const want = bfdStaticPeers(after);
  return [
    'configure terminal',
    'bfd',
    `profile ${BFD_PROFILE}`,
    `detect-multiplier ${b.detectMultiplier}`,
    `receive-interval ${b.receiveInterval}`,
    `transmit-interval ${b.transmitInterval}`,
    b.echoMode ? 'echo-mode' : 'no echo-mode',
    b.passiveMode ? 'passive-mode' : 'no passive-mode',
    b.minimumTtl !== undefined ? `minimum-ttl ${b.minimumTtl}` : 'no minimum-ttl',
    'exit',
    ...[...had].filter((p) => !want.includes(p)).map((p) => `no peer ${p}`),
    ...want.filter((p) => !had.has(p)).flatMap((p) => [`peer ${p}`, `profile ${BFD_PROFILE}`, 'exit']),
  ];
}

export interface AfView {
  afi: 'ipv4' | 'ipv6';
  networks: string[];
  redistribute: string | false;
  /** The neighbours activated in this family, with their inbound prefix limit (false: none). */
  activate: Array<{ address: string; maximumPrefix: number | false }>;
}

export interface NeighbourView {
  address: string;
  remoteAs: number;
  password: string | false;
  ebgpMultihop: boolean;
  timers: { keepalive: number; hold: number } | false;
  connect: number | false;
  /** BFD on: the profile bgpd names (multihop sessions only; false: bfdd's configured session carries it). */
  bfd: { profile: string | false } | false;
}

/** The VRF's BGP instance in EVPN mode: the VPC's prefixes, advertised as type-5 routes. */
export interface VrfInstanceView {
  vrf: string;
  afs: AfView[];
  advertiseIpv6: boolean;
  rd: string;
  routeTargets: EvpnSpec['routeTargets'];
  /** FRR 10.6+ with graceful restart on: the VRF instance has graceful restart too (RenderOptions.evpnGracefulRestart). */
  gracefulRestart: boolean;
}

/** What the template renders: every decision of the config is made here, the template only lays it out. */
export interface FrrView {
  localAsn: number;
  routerId: string;
  gracefulRestart: boolean;
  neighbours: NeighbourView[];
  evpn: { vrf: string; vni: number; activate: string[]; anchorRoute: string | false } | false;
  defaultAfs: AfView[];
  vrfInstance: VrfInstanceView | false;
  v4Filter: { prefixList: string; routeMap: string } | false;
  v6Filter: { prefixList: string; routeMap: string } | false;
  bfd: ({ profile: string; staticPeers: string[] } & Record<string, number | boolean | string | string[]>) | false;
  /** The bgpd boot variant: every neighbour created administratively down (renderBgpdBootConf). */
  bootShutdown?: boolean;
}

const isV6 = (addr: string): boolean => addr.includes(':');

/**
 * The route distinguisher of the VRF: always type 1, `routerId:N` with N = VNI when it fits in 16 bits, else
 * VNI mod 65536. Kube-OVN's `localASN:VNI` is invalid for a 4-byte ASN with a VNI above 65535, and it is the
 * same on every replica; a router-id RD is valid for every ASN/VNI and unique per gateway.
 */
export function routeDistinguisher(routerId: string, vni: number): string {
  return `${routerId}:${vni <= 65535 ? vni : vni % 65536}`;
}

/**
 * This replica's anchor (gateway.yaml `changeDrain.anchors`): the /32 of the range at offset (router id as a 32-bit
 * number) mod (the range's size). Pod IPs handed out from one subnet differ in their last bits, so replicas get
 * different anchors as long as the range holds more addresses than the subnet's replicas differ by.
 */
export function replicaAnchor(routerId: string, anchors: string): string {
  const c = parseCidr(anchors);
  if (typeof c === 'string' || c.family !== 4) throw new Error(`changeDrain.anchors: ${anchors} is not an IPv4 range`);
  const offset = ipv4ToNumber(routerId) % 2 ** (32 - c.length);
  return `${numberToIpv4(ipv4ToNumber(c.canonical.split('/')[0] ?? '') + offset)}/32`;
}

/** This replica's anchor in a spec: EVPN with changeDrain.anchors; false otherwise. */
export function specAnchor(spec: Spec): string | false {
  const range = spec.gateway.changeDrain.anchors;
  return spec.evpn !== undefined && range !== undefined && replicaAnchor(spec.bgp.routerId, range);
}

/** Canonical CIDRs in FRR's order: how `show running-config` lists `network` statements. */
function sortCidrs(cidrs: string[]): string[] {
  const parsed = cidrs.map(parseCidr).filter((p): p is Exclude<ReturnType<typeof parseCidr>, string> => typeof p !== 'string');
  return parsed.sort(compareCidrs).map((p) => p.canonical);
}

/** What the rendering may depend on besides the spec: facts about the FRR in use. */
export interface RenderOptions {
  /**
   * The FRR in use has graceful restart for L2VPN EVPN (10.6 and later: supportsEvpnGracefulRestart). Then the VRF
   * instance gets graceful restart too (with gracefulRestart on), as FRR's own EVPN graceful-restart setup has it
   * (topotest bgp_evpn_gr: a global `bgp graceful-restart`, so every instance): bgpd then defers the VRF's path
   * selection until the EVPN routes are in ("BGP GR Support For L2VPN EVPN", doc/user/bgp.rst), and zebra keeps
   * the VRF's routes under the graceful-restart stale timer (seen on 10.7.1: "GR zebra_gr_client_disconnect:
   * Client bgp vrf NAME(1) Stale timer update"). In the lab the packets lost were the same without it (one
   * `kill -9 bgpd` each way, 2053 and 1765-2567 lost towards the router, both from zebra's EVPN flush, not the
   * route). Older FRR keeps the rendering it was tested with.
   */
  evpnGracefulRestart?: boolean;
}

export function buildView(spec: Spec, o: RenderOptions = {}): FrrView {
  const { bgp, evpn, gateway } = spec;
  const v4n = bgp.neighbours.filter((n) => !isV6(n));
  const v6n = bgp.neighbours.filter(isV6);
  const adv = gateway.advertise;
  const redistributing = adv === undefined;
  const af = (family: 4 | 6, activate: string[]): AfView => ({
    afi: family === 4 ? 'ipv4' : 'ipv6',
    networks: (adv ?? []).filter((p) => isV6(p) === (family === 6)),
    redistribute: redistributing && (family === 4 ? FILTERS.v4RouteMap : FILTERS.v6RouteMap),
    // FRR 8.4.4 has no maximum-prefix in l2vpn evpn (vtysh --dryrun: Unknown command): unicast families only.
    activate: activate.map((address) => ({ address, maximumPrefix: gateway.maximumPrefix > 0 && gateway.maximumPrefix })),
  });
  const hasAf = (a: AfView): boolean => a.networks.length > 0 || a.redistribute !== false || a.activate.length > 0;

  const neighbours = bgp.neighbours.map((address): NeighbourView => ({
    address,
    remoteAs: bgp.peerAsn,
    password: bgp.password ?? false,
    // FRR prints a bare `ebgp-multihop` back as `ebgp-multihop 255`.
    ebgpMultihop: bgp.ebgpMultiHop,
    timers: bgp.holdTime !== undefined ? { keepalive: bgp.keepaliveTime ?? 0, hold: bgp.holdTime } : false,
    connect: bgp.connectTime ?? false,
    // No `neighbor X bfd check-control-plane-failure`, graceful restart or not: with it, FRR 8.4.4's bgpd ignores a
    // BFD down from a peer in graceful restart ("BFD DOWN message ignored in the process of graceful restart when
    // C bit is cleared"), and in the lab a router behind a cut link was never marked down (with or without the
    // router's own check-control-plane-failure). A gateway's config-change restart does not take BFD down anyway:
    // bfdd keeps running, and its single-hop sessions are configured ones that outlive bgpd (bfdStaticPeers).
    // A configured session carries the profile itself: bgpd naming it too (`bfd profile`) made bfdd reset the
    // session at each bgpd start (seen on 8.4.4), so only the dynamic (multihop) sessions get it from bgpd.
    bfd: gateway.bfd !== undefined && { profile: bgp.ebgpMultiHop && BFD_PROFILE },
  }));

  // This replica's anchor (changeDrain.anchors, EVPN only): advertised, and routed in the VRF.
  const anchor = specAnchor(spec);
  let defaultAfs: AfView[];
  let vrfInstance: VrfInstanceView | false = false;
  if (evpn) {
    // L3VPN: the neighbours carry only l2vpn evpn; the VPC's prefixes live in the VRF instance.
    defaultAfs = [];
    const v4 = af(4, []);
    // The anchor (changeDrain.anchors) is advertised like any prefix of `advertise`, whatever the advertise mode.
    if (anchor && !v4.networks.includes(anchor)) v4.networks = sortCidrs([...v4.networks, anchor]);
    const vrfAfs = [v4, af(6, [])].filter(
      (a) => a.networks.length > 0 || (a.redistribute !== false && (a.afi === 'ipv4' || redistributing)),
    );
    vrfInstance = {
      vrf: gateway.vrf.name,
      afs: vrfAfs,
      advertiseIpv6: vrfAfs.some((a) => a.afi === 'ipv6'),
      rd: routeDistinguisher(bgp.routerId, evpn.vni),
      gracefulRestart: gateway.gracefulRestart && o.evpnGracefulRestart === true,
      routeTargets: evpn.routeTargets,
    };
  } else {
    defaultAfs = [af(4, v4n), af(6, v6n)].filter((a) => a.activate.length > 0 && hasAf(a));
  }
  const usesV4Filter = redistributing && (evpn ? true : v4n.length > 0);
  const usesV6Filter = redistributing && (evpn ? true : v6n.length > 0);
  return {
    localAsn: bgp.localAsn,
    routerId: bgp.routerId,
    gracefulRestart: gateway.gracefulRestart,
    neighbours,
    evpn: evpn
      ? {
          vrf: gateway.vrf.name,
          vni: evpn.vni,
          activate: bgp.neighbours,
          // The anchor's own route in the VRF (staticd): bgpd's `network` needs a route to the exact prefix, and an
          // anchor is an address nobody uses: traffic to it is dropped at the gateway.
          anchorRoute: anchor,
        }
      : false,
    defaultAfs,
    vrfInstance,
    v4Filter: usesV4Filter && { prefixList: FILTERS.v4PrefixList, routeMap: FILTERS.v4RouteMap },
    v6Filter: usesV6Filter && { prefixList: FILTERS.v6PrefixList, routeMap: FILTERS.v6RouteMap },
    bfd: gateway.bfd !== undefined && { profile: BFD_PROFILE, ...bfdProfileView(gateway.bfd), staticPeers: bfdStaticPeers(spec) },
  };
}

const templates = new Templates(TEMPLATE_DIR);

export function renderFrrConf(spec: Spec, o: RenderOptions = {}): string {
  return templates.render('frr.conf', buildView(spec, o));
}

/**
 * The config a freshly started bgpd is fed: the same, with every neighbour created administratively down.
 * vtysh sends a file line by line, and a neighbour exists from its `remote-as` line on while its address
 * families are activated further down: a peer connecting in between would get an OPEN without them (and,
 * after a graceful restart, drop the gateway's stale routes: "address family not preserved"). The
 * neighbours are enabled once everything is in (see {@link enableNeighboursCommands}).
 */
export function renderBgpdBootConf(spec: Spec, o: RenderOptions = {}): string {
  const view: FrrView = { ...buildView(spec, o), bootShutdown: true };
  return templates.render('frr.conf', view);
}

/** vtysh commands that enable the neighbours after {@link renderBgpdBootConf}. */
export function enableNeighboursCommands(spec: Spec): string[] {
  return ['configure terminal', `router bgp ${spec.bgp.localAsn}`, ...spec.bgp.neighbours.map((n) => `no neighbor ${n} shutdown`)];
}

/** FRR's daemons file: the daemons the supervisor runs on, every other daemon off. Read and written with `ini`. */
export function renderDaemons(daemons: readonly string[]): string {
  const base = ini.parse(readFileSync(join(TEMPLATE_DIR, 'daemons'), 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(base)) if (/^[a-z0-9]+d$/.test(key) || key === 'zebra') base[key] = 'no';
  for (const d of daemons) base[d] = 'yes';
  return `# Written by frr-supervisor. It starts these daemons itself (no frrinit.sh/watchfrr).\n${ini.stringify(base)}`;
}

/** Identifies a rendering (every byte counts, the password too): compared, never shown. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * The hash shown in /status and the logs: of the rendering with its password tokens redacted, so that it cannot be
 * used to brute-force a weak password. A password-only change keeps it (the generation still moves).
 */
export function shownConfigHash(text: string): string {
  return configHash(redactSecrets(text));
}
