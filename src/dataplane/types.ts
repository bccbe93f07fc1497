/**
 * The EVPN data plane the supervisor owns: the VRF (a kernel VRF device, or a network namespace for the netns
 * backend), the bridge and the VXLAN device, the internal interface's membership in the VRF and the routes of the
 * advertised CIDRs via the internal gateway. This file holds the data model (desired and current state, steps) and
 * the pure computation of the desired state from the Spec plus facts about the external interface.
 */
import type { Spec, VrfBackend } from '../config/types.ts';
import { parseAddress, parseCidr } from '../config/net.ts';
import type { Family } from '../config/net.ts';

/** VXLAN encapsulation overhead per underlay family: outer Ethernet 14 + outer IP (20 / 40) + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD: Readonly<Record<Family, number>> = { 4: 50, 6: 70 };

/**
 * The route protocol of the routes we install (`ip route ... proto static`). Routes of the VRF's table with this
 * protocol are ours: a plan removes those that are no longer desired. zebra reads them as kernel routes.
 */
export const ROUTE_PROTO = 'static';

/** The names of everything the data plane owns: enough to find and remove it (no EVPN config any more). */
export interface OwnedNames {
  backend: VrfBackend;
  /** The VRF device (kernel) or the VRF's network namespace (netns), and the kernel table (kernel backend). */
  vrf: { name: string; table: number };
  bridge: { name: string };
  vxlan: { name: string };
  /** Enslaved to the VRF (kernel) or moved into the VRF namespace (netns); not owned, never deleted. */
  internalInterface?: string;
}

/** A route the VRF must have: `prefix` (canonical CIDR) via `via` (an address on the internal interface's link). */
export interface DesiredRoute {
  prefix: string;
  via: string;
}

/** What the data plane must look like; `undefined` (no EVPN config) means: remove what we own. */
export interface DesiredDataplane extends OwnedNames {
  vxlan: {
    name: string;
    vni: number;
    /** UDP destination port. */
    port: number;
    /** Local VTEP address (canonical): the external interface's address. */
    local: string;
    mtu: number;
  };
  routes: DesiredRoute[];
}

/** One address of an interface, as `ip -json addr show` reports it. */
export interface AddressState {
  family: Family;
  local: string;
  prefixlen: number;
  scope: string;
  broadcast?: string;
}

/** One network device, as `ip -json -details addr show` reports it (only what the plan looks at). */
export interface LinkState {
  name: string;
  ifindex: number;
  /** `linkinfo.info_kind` (vrf, bridge, vxlan, veth...); undefined for a device without one (lo, physical). */
  kind?: string;
  /** Administratively up (the UP flag). */
  up: boolean;
  operstate: string;
  mtu: number;
  master?: string;
  /** Set when the device's link (a VXLAN's underlay socket, a veth's peer) is in another namespace. */
  linkNetnsid?: number;
  /** Kernel VRF device: its table. */
  vrfTable?: number;
  /** VXLAN device: `linkinfo.info_data`. */
  vxlan?: { vni: number; port: number; local?: string; learning: boolean };
  /** `linkinfo.info_slave_kind` (bridge, vrf) when the device is a port of a master. */
  slaveKind?: string;
  /** Bridge port: `linkinfo.info_slave_data.learning`. */
  bridgePortLearning?: boolean;
  addresses: AddressState[];
}

/** One route of the VRF's table, as `ip -json route show` reports it. */
export interface RouteState {
  family: Family;
  /** Canonical CIDR (`ip` prints `default` and host routes without a length: normalized here). */
  prefix: string;
  via?: string;
  dev?: string;
  /** `protocol` by name (`boot` when `ip` omits it: RTPROT_BOOT is the default); zebra's static routes are `zebra-static`. */
  protocol: string;
  /** Route type when not unicast (local, broadcast, ...). */
  type?: string;
  metric?: number;
}

/** What the state reader found. The plan is a pure function of this and the desired state. */
export interface CurrentDataplane {
  /** The names the state was read for (what we own). */
  owned: OwnedNames;
  /** The namespace the gateway-side commands run in (`ip -n NS`); undefined = this process's own namespace. */
  netns?: string;
  /** What `ip link set DEV netns X` needs to reach the gateway namespace: its name, or a pid of a process in it. */
  gatewayNsRef: string;
  /** Devices of the gateway namespace whose names we own (VRF, bridge, VXLAN, internal interface). */
  gatewayLinks: LinkState[];
  /** Netns backend: every device of the VRF namespace; undefined when the namespace does not exist. */
  vrfNamespace?: { links: LinkState[] };
  /** Routes of the VRF's table: kernel table T in the gateway namespace, or the VRF namespace's main table. */
  routes: RouteState[];
  /**
   * Netns backend: the VRF namespace's forwarding sysctls (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding);
   * undefined for a family whose sysctl does not exist (IPv6 disabled) or was not read.
   */
  vrfForwarding?: ForwardingState;
  /**
   * Netns backend: /run/netns has an entry for the VRF that is no namespace (its mount was in the mount namespace of
   * a process that exited, and the namespace, with the devices moved into it, went away): delete it, create anew.
   */
  staleVrfEntry?: boolean;
  /** Whether this kernel has IPv6 (`/proc/sys/net/ipv6` exists): a new VRF namespace gets IPv6 forwarding too. */
  ipv6Available?: boolean;
}

/** The forwarding sysctls of a namespace: true on, false off, undefined when the sysctl does not exist. */
export interface ForwardingState {
  ipv4?: boolean;
  ipv6?: boolean;
}

/** The sysctl file of a family's forwarding switch (`all` also sets every device and the default for new ones). */
export const FORWARDING_SYSCTL: Readonly<Record<Family, string>> = {
  4: '/proc/sys/net/ipv4/ip_forward',
  6: '/proc/sys/net/ipv6/conf/all/forwarding',
};

/** Whether the CIDR `prefix` lies inside the subnet of `address/prefixlen` (an on-link destination: no route needed). */
export function cidrWithin(prefix: string, address: string, prefixlen: number): boolean {
  const c = parseCidr(prefix);
  const a = parseAddress(address);
  if (typeof c === 'string' || typeof a === 'string' || c.family !== a.family || c.length < prefixlen) return false;
  for (let bit = 0; bit < prefixlen; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((c.bytes[i] ?? 0) & mask) !== ((a.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * One command of a plan. `argv` starts with `ip` or `bridge` (possibly `ip -n NS ...`, `bridge -n NS ...`) and runs
 * without a shell. A warning step has an empty argv: it reports something the plan cannot fix and runs nothing.
 */
export interface Step {
  argv: string[];
  why: string;
  /** Written to the command's stdin (a sysctl written with `tee`, since the runtime image has no `sysctl`). */
  input?: string;
  /**
   * Nothing later depends on this step (a route, a sysctl): when it fails, the next steps still run and the
   * failure is reported with the others. A failing step without it stops the plan (a device the next ones need).
   */
  independent?: boolean;
  /** This step replaces something zebra already knows (VXLAN/VRF recreated): restart zebra, then bgpd. */
  restartZebra?: boolean;
  warning?: boolean;
}

/** The steps that run a command (not warnings). */
export function commandSteps(steps: readonly Step[]): Step[] {
  return steps.filter((s) => !s.warning);
}

/** Facts about the external (underlay) interface: read with `ip -json -details addr show dev IF`. */
export interface ExternalFacts {
  name: string;
  mtu: number;
  addresses: AddressState[];
}

/** Thrown when the kernel backend is configured on a kernel without VRF devices. */
export class VrfUnsupportedError extends Error {
  constructor() {
    super(
      'this kernel has no VRF devices (CONFIG_NET_VRF): use the netns VRF backend (gateway.yaml vrfBackend: netns) or a kernel with CONFIG_NET_VRF',
    );
    this.name = 'VrfUnsupportedError';
  }
}

/** The names the data plane owns for a spec (with or without EVPN): what a removal looks for. */
export function ownedFromSpec(spec: Spec): OwnedNames {
  const g = spec.gateway;
  return {
    backend: g.vrfBackend,
    vrf: { name: g.vrf.name, table: g.vrf.table },
    bridge: { name: g.bridge.name },
    vxlan: { name: g.vxlan.name },
    internalInterface: g.internalInterface,
  };
}

/** The names part of a desired state. */
export function ownedFromDesired(d: DesiredDataplane): OwnedNames {
  return {
    backend: d.backend,
    vrf: { ...d.vrf },
    bridge: { ...d.bridge },
    vxlan: { name: d.vxlan.name },
    ...(d.internalInterface !== undefined && { internalInterface: d.internalInterface }),
  };
}

/**
 * The local VTEP address of the external interface: its first global IPv4 address, else its first global IPv6
 * address; undefined when it has neither.
 */
export function underlayAddress(facts: ExternalFacts): { family: Family; address: string } | undefined {
  for (const family of [4, 6] as const) {
    const a = facts.addresses.find((x) => x.family === family && x.scope === 'global');
    if (a) {
      const p = parseAddress(a.local);
      return { family, address: typeof p === 'string' ? a.local : p.canonical };
    }
  }
  return undefined;
}

/**
 * The desired data plane of a spec: undefined without EVPN config. `facts` describe the external interface
 * (undefined = it does not exist). Throws an Error naming the interface when it is missing or has no address, or
 * when the derived VXLAN MTU is too small.
 */
export function desiredFromSpec(spec: Spec, facts: ExternalFacts | undefined): DesiredDataplane | undefined {
  if (!spec.evpn) return undefined;
  const g = spec.gateway;
  if (facts === undefined) {
    throw new Error(
      `external interface ${g.externalInterface} does not exist: the VXLAN device needs it as its underlay (gateway.externalInterface)`,
    );
  }
  const underlay = underlayAddress(facts);
  if (underlay === undefined) {
    throw new Error(
      `external interface ${g.externalInterface} has no global IPv4 or IPv6 address: the VXLAN device needs one as its local VTEP address`,
    );
  }
  const mtu = g.vxlan.mtu ?? facts.mtu - VXLAN_OVERHEAD[underlay.family];
  if (mtu < 68) {
    throw new Error(
      `the VXLAN MTU would be ${mtu} (external interface ${g.externalInterface} MTU ${facts.mtu} - ${VXLAN_OVERHEAD[underlay.family]}): set gateway.vxlan.mtu or raise the interface's MTU`,
    );
  }
  const routes: DesiredRoute[] = [];
  const gw = g.internalGateway === undefined ? undefined : parseAddress(g.internalGateway);
  if (gw !== undefined && typeof gw !== 'string') {
    for (const cidr of g.advertise ?? []) {
      const c = parseCidr(cidr);
      // A prefix of the other family cannot be routed via this gateway: it is advertised, not routed.
      if (typeof c !== 'string' && c.family === gw.family) routes.push({ prefix: c.canonical, via: gw.canonical });
    }
  }
  return {
    backend: g.vrfBackend,
    vrf: { name: g.vrf.name, table: g.vrf.table },
    bridge: { name: g.bridge.name },
    vxlan: { name: g.vxlan.name, vni: spec.evpn.vni, port: g.vxlan.port, local: underlay.address, mtu },
    internalInterface: g.internalInterface,
    routes,
  };
}
