/** The validated, normalized configuration: everything downstream (rendering, devices, supervision) reads this. */

export interface BgpSpec {
  localAsn: number;
  peerAsn: number;
  routerId: string;
  /** Where the router id came from, for `status` and logs. */
  routerIdSource: 'spec' | 'POD_IP' | 'interface';
  /** Canonical addresses, sorted the way FRR sorts peers (IPv4 before IPv6, numerically). */
  neighbours: string[];
  password?: string;
  /** Seconds; both set or both unset (the missing one is derived, see docs/configuration.md). */
  holdTime?: number;
  keepaliveTime?: number;
  connectTime?: number;
  ebgpMultiHop: boolean;
  /**
   * The BgpConf's spec.gracefulRestart when present (Kube-OVN's CRD has it; Kube-OVN ignores it). It wins over
   * gateway.yaml's: the loader copies it into gateway.gracefulRestart, which everything downstream reads.
   */
  gracefulRestart?: boolean;
}

export interface EvpnSpec {
  vni: number;
  routeTargets: string[];
}

export type VrfBackend = 'kernel' | 'netns';

/** gateway.yaml `changeDrain`: before a restart in EVPN mode, a per-replica delay, then a withdrawal (change-drain.ts). */
export interface ChangeDrainSpec {
  enabled: boolean;
  /** Length of one slot; this replica waits slot x slotSeconds (slot = router id mod slots). */
  slotSeconds: number;
  slots: number;
  /** Pause after the withdrawals are sent, for the router's FIB. */
  settleSeconds: number;
  /** The longest wait for the withdrawals to be sent. */
  maxWaitSeconds: number;
  /**
   * An IPv4 range (canonical CIDR, /8../30) of which this replica advertises one /32 of its own (its anchor: router id
   * mod the range's size) besides `advertise`, and keeps while it drains the rest before a restart: a router then keeps
   * every replica's router MAC while another replica's paths come and go (changeDrainAnchor). Undefined: none.
   */
  anchors?: string;
}

/**
 * BFD towards every neighbour (frr-k8s's profile field names). Present only when `bfd.enabled` is true: then bfdd
 * runs and every neighbour gets `neighbor X bfd profile NAME`.
 */
export interface BfdSpec {
  /** Milliseconds, 10..60000. */
  receiveInterval: number;
  transmitInterval: number;
  /** 2..255. */
  detectMultiplier: number;
  echoMode: boolean;
  passiveMode: boolean;
  /** 1..254; multihop sessions only (ebgpMultiHop). */
  minimumTtl?: number;
}

/** FRR's own defaults for a BFD profile (bfdd prints only what differs from them). */
export const BFD_DEFAULTS: BfdSpec = {
  receiveInterval: 300,
  transmitInterval: 300,
  detectMultiplier: 3,
  echoMode: false,
  passiveMode: false,
};

/** FRR's default minimum TTL of a multihop BFD profile. */
export const BFD_DEFAULT_MINIMUM_TTL = 254;

export interface GatewaySpec {
  /** Canonical CIDRs to announce, sorted; undefined = redistribute connected and kernel (Kube-OVN's behaviour). */
  advertise?: string[];
  externalInterface: string;
  internalInterface: string;
  internalGateway?: string;
  vrf: { name: string; table: number };
  bridge: { name: string };
  vxlan: { name: string; port: number; mtu?: number };
  gracefulRestart: boolean;
  vrfBackend: VrfBackend;
  /**
   * `neighbor X maximum-prefix N` in every unicast address family a neighbour is activated in: a peer sending
   * more prefixes than this has its session torn down (FRR: `Idle (PfxCt)`). 0 = no limit.
   */
  maximumPrefix: number;
  changeDrain: ChangeDrainSpec;
  /** BFD for the BGP neighbours; undefined = off (bfdd does not run). */
  bfd?: BfdSpec;
}

export interface Spec {
  bgp: BgpSpec;
  evpn?: EvpnSpec;
  gateway: GatewaySpec;
}

export const GATEWAY_DEFAULTS: GatewaySpec = {
  externalInterface: 'net1',
  internalInterface: 'eth0',
  vrf: { name: 'vrf-vpn', table: 2000 },
  bridge: { name: 'br-vpn' },
  vxlan: { name: 'vxlan-vpn', port: 4789 },
  gracefulRestart: true,
  vrfBackend: 'kernel',
  maximumPrefix: 10000,
  changeDrain: { enabled: false, slotSeconds: 10, slots: 10, settleSeconds: 1, maxWaitSeconds: 5 },
};
