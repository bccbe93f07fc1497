/**
 * An external router with an L3VNI in its default VRF (bridge + VXLAN in the router namespace, type-5 routes
 * for 192.168.100.0/24): the peer of the EVPN tests and of the demo.
 */
import type { Lab } from './lab.ts';
import { GW, RT, RT_PREFIX } from './configs.ts';

export const ROUTER_PREFIX = RT_PREFIX;

export interface EvpnRouterOptions {
  /** The router's prefix is a connected subnet (a remote host behind it, see hosts.ts): no blackhole route. */
  connected?: boolean;
  /** Also activate IPv4 unicast towards the gateway (so that traffic follows when the gateway goes BGP-only). */
  unicast?: boolean;
}

export function evpnRouterConf(vni: number, gw = GW, rt = RT, o: EvpnRouterOptions = {}): string {
  return `frr defaults traditional
vrf default
 vni ${vni}
exit-vrf
${o.connected ? '' : `ip route ${ROUTER_PREFIX} Null0\n`}router bgp 65001
 bgp router-id ${rt}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp graceful-restart
 neighbor ${gw} remote-as 65002
 neighbor ${gw} timers 3 9
 neighbor ${gw} timers connect 1
 address-family ipv4 unicast
  network ${ROUTER_PREFIX}
${o.unicast ? `  neighbor ${gw} activate\n` : ''} exit-address-family
 address-family l2vpn evpn
  neighbor ${gw} activate
  advertise-all-vni
  advertise ipv4 unicast
  route-target import 65000:${vni}
  route-target export 65000:${vni}
 exit-address-family
exit
`;
}

/** (Re)creates the router's bridge and VXLAN device for a VNI (`rtbr`, `rtvx`). */
export async function evpnRouterDevices(lab: Lab, vni: number, rt = RT): Promise<void> {
  const ex = (argv: string[]): Promise<unknown> => lab.exec(lab.rtNs, argv);
  await lab.exec(lab.rtNs, ['ip', 'link', 'del', 'rtvx'], { reject: false });
  await lab.exec(lab.rtNs, ['ip', 'link', 'add', 'rtbr', 'type', 'bridge'], { reject: false });
  await ex(['ip', 'link', 'add', 'rtvx', 'type', 'vxlan', 'id', String(vni), 'local', rt, 'dstport', '4789', 'nolearning']);
  await ex(['ip', 'link', 'set', 'rtvx', 'master', 'rtbr']);
  await ex(['bridge', 'link', 'set', 'dev', 'rtvx', 'learning', 'off']);
  await ex(['ip', 'link', 'set', 'rtbr', 'up']);
  await ex(['ip', 'link', 'set', 'rtvx', 'up']);
}

/** The gateway's internal side: a veth `int0` with 10.16.0.13/16 (its peer stays in the gateway namespace). */
export async function gatewayInternalInterface(lab: Lab): Promise<void> {
  await lab.exec(lab.gwNs, ['ip', 'link', 'add', 'int0', 'type', 'veth', 'peer', 'name', 'int0p']);
  await lab.exec(lab.gwNs, ['ip', 'addr', 'add', '10.16.0.13/16', 'dev', 'int0']);
  await lab.exec(lab.gwNs, ['ip', 'link', 'set', 'int0', 'up']);
  await lab.exec(lab.gwNs, ['ip', 'link', 'set', 'int0p', 'up']);
}

/** The VRF of {@link evpnVrfRouter}: a network namespace inside the router's container (FRR's netns VRF backend). */
export const ROUTER_VRF = 'rtvrf';

/**
 * The external router with its L3VNI in a VRF, as a data-centre router has it (not in its default VRF): for FRR 10.7
 * in a container (lab/router-container.ts), where the VRF is a network namespace of the container's own (zebra `-n`
 * sees only the container's /run/netns). The remote host's link (`rh0`, hosts.ts) and the VXLAN device move into it.
 *
 * Why not the default VRF there: FRR 10.7.1 as graceful-restart helper with the L3VNI in its default VRF deletes the
 * type-5 routes it imported into that VRF's IPv4 table as soon as the restarting peer's session drops (the import
 * shares the peer and the table with IPv4 unicast, a family the peer did not negotiate for graceful restart), and
 * when the peer sends the same routes again they are "duplicate ignored": never imported again (the bench saw a
 * black hole that lasted until the run gave up). See docs for the evidence.
 */
/** Shell lines that (re)create the VRF router's VXLAN device for a VNI: made in the underlay, moved into the VRF. */
export function evpnVrfRouterVxlan(vni: number, rt = RT): string {
  const v = ROUTER_VRF;
  return [
    `ip -n ${v} link del rtvx 2>/dev/null || true`,
    `ip link add rtvx type vxlan id ${vni} local ${rt} dstport 4789 nolearning`,
    `ip link set rtvx netns ${v}`,
    `ip -n ${v} link set rtvx master rtbr`,
    `bridge -n ${v} link set dev rtvx learning off`,
    `ip -n ${v} link set rtbr up`,
    `ip -n ${v} link set rtvx up`,
  ].join('\n');
}

/** What {@link moveVrfRouterVni} needs of a router (a RouterContainer fits). */
export interface VrfRouterShell {
  vtysh(cmds: string[]): Promise<unknown>;
  sh(script: string): Promise<unknown>;
}

/** The VRF router moves its L3VNI from one VNI to another: the old VNI out of the VRF, the VXLAN device recreated, the new VNI and its route targets in. */
export async function moveVrfRouterVni(router: VrfRouterShell, from: number, to: number): Promise<void> {
  await router.vtysh(['configure terminal', `vrf ${ROUTER_VRF}`, `no vni ${from}`, 'exit-vrf']);
  await router.sh(evpnVrfRouterVxlan(to));
  await router.vtysh([
    'configure terminal',
    `vrf ${ROUTER_VRF}`,
    `vni ${to}`,
    'exit-vrf',
    `router bgp 65001 vrf ${ROUTER_VRF}`,
    'address-family l2vpn evpn',
    `no route-target import 65000:${from}`,
    `no route-target export 65000:${from}`,
    `route-target import 65000:${to}`,
    `route-target export 65000:${to}`,
  ]);
}

export function evpnVrfRouter(vni: number, gw = GW, rt = RT): { config: string; prelude: string; zebraOptions: string } {
  const v = ROUTER_VRF;
  return {
    zebraOptions: '-n',
    prelude: [
      `ip netns add ${v}`,
      `ip -n ${v} link set lo up`,
      `ip netns exec ${v} sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'`,
      `ip link set rh0 netns ${v}`,
      `ip -n ${v} addr add 192.168.100.1/24 dev rh0`,
      `ip -n ${v} link set rh0 up`,
      `ip -n ${v} link add rtbr type bridge`,
      evpnVrfRouterVxlan(vni, rt),
    ].join('\n'),
    config: `frr defaults traditional
vrf ${v}
 vni ${vni}
exit-vrf
router bgp 65001
 bgp router-id ${rt}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp graceful-restart
 neighbor ${gw} remote-as 65002
 neighbor ${gw} timers 3 9
 neighbor ${gw} timers connect 1
 address-family l2vpn evpn
  neighbor ${gw} activate
  advertise-all-vni
 exit-address-family
exit
router bgp 65001 vrf ${v}
 bgp router-id ${rt}
 no bgp ebgp-requires-policy
 bgp graceful-restart
 address-family ipv4 unicast
  network ${ROUTER_PREFIX}
 exit-address-family
 address-family l2vpn evpn
  advertise ipv4 unicast
  route-target import 65000:${vni}
  route-target export 65000:${vni}
 exit-address-family
exit
`,
  };
}
