/**
 * The inputs the end-to-end tests, the benchmarks and the demo share: the Kube-OVN docs' BgpConf and EvpnConf
 * (as `kubectl get -o yaml` prints them, timers overridable) and the external router's plain-BGP config.
 */
export const GW = '10.0.1.13';
export const RT = '10.0.1.1';
/** What the router announces. */
export const RT_PREFIX = '192.168.100.0/24';
/** What the gateway announces (gateway1's ipBlock in the docs). */
export const GW_PREFIX = '10.17.0.0/16';

export interface BgpConfOptions {
  hold?: string;
  keepalive?: string;
  connect?: string;
  neighbours?: string[];
  localASN?: number | string;
  /** The docs' example has ebgpMultiHop: true. */
  ebgpMultiHop?: boolean;
}

/** bgp-conf-6502 of the Kube-OVN docs; the docs' timers are 90s/30s/10s. */
export function docsBgpConf(o: BgpConfOptions = {}): string {
  return `apiVersion: kubeovn.io/v1
kind: BgpConf
metadata:
  name: bgp-conf-6502
spec:
  localASN: ${o.localASN ?? 65002}
  peerASN: 65001
  neighbours:
${(o.neighbours ?? [RT]).map((n) => `  - ${n}`).join('\n')}
  holdTime: ${o.hold ?? '90s'}
  keepaliveTime: ${o.keepalive ?? '30s'}
  connectTime: ${o.connect ?? '10s'}
  ebgpMultiHop: ${String(o.ebgpMultiHop ?? true)}
`;
}

/** evpn-conf-1016 of the Kube-OVN docs (route target 65000:VNI). */
export function docsEvpnConf(vni = 1016): string {
  return `apiVersion: kubeovn.io/v1
kind: EvpnConf
metadata:
  name: evpn-conf-${vni}
spec:
  vni: ${vni}
  routeTargets:
  - "65000:${vni}"
`;
}

export interface RouterOptions {
  /** `timers KEEPALIVE HOLD` towards the gateway (default 3 9). */
  keepalive?: number;
  hold?: number;
  password?: string;
  /** More neighbours (remote-as 65002), e.g. addresses a test adds to the gateway's BgpConf later. */
  extraNeighbours?: string[];
  /** The router's prefix is a connected subnet (a remote host behind it, see hosts.ts): no blackhole route. */
  connected?: boolean;
  /**
   * The router's graceful-restart mode: `full` (`bgp graceful-restart`, the default here) or `helper`
   * (no `bgp graceful-restart` line: FRR's default helper mode, which keeps the gateway's routes when the gateway restarts, never restarts
   * gracefully itself). FRR 8.4 in full mode sets the Restart bit in every OPEN, which makes a restarting gateway's
   * bgpd tell zebra at once that its routes are complete (see docs/investigations/2026-11-30-graceful-restart-bgp-only.md).
   */
  grMode?: 'full' | 'helper';
}

/** The external router: AS 65001, graceful restart, announcing RT_PREFIX to the gateway over IPv4 unicast. */
export function bgpRouterConf(o: RouterOptions = {}): string {
  const extra = (o.extraNeighbours ?? []).map((n) => ` neighbor ${n} remote-as 65002\n neighbor ${n} timers connect 1\n`).join('');
  return `frr defaults traditional
${o.connected ? '' : `ip route ${RT_PREFIX} Null0\n`}router bgp 65001
 bgp router-id ${RT}
 no bgp ebgp-requires-policy
${o.grMode === 'helper' ? '' : ' bgp graceful-restart\n'} neighbor ${GW} remote-as 65002
${o.password ? ` neighbor ${GW} password ${o.password}\n` : ''} neighbor ${GW} timers ${o.keepalive ?? 3} ${o.hold ?? 9}
 neighbor ${GW} timers connect 1
${extra} address-family ipv4 unicast
  network ${RT_PREFIX}
 exit-address-family
exit
`;
}
