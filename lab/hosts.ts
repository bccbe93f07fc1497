/**
 * Hosts for traffic in the lab: a "VPC host" behind the gateway's internal interface and a "remote host" behind
 * the external router, each in its own namespace of the lab (removed with it).
 *
 *   remote host (<id>-rh)            router (<id>-rt)                 gateway (<id>-gw)              VPC host (<id>-vpc)
 *   eth0 192.168.100.10/24 ---- rh0 192.168.100.1/24   eth0 10.0.1.1 ---- net1 10.0.1.13   int0 10.16.0.13/16 ---- eth0 10.16.0.1/16
 *   default via .1                 (announces 192.168.100.0/24,                                              lo 10.17.0.10/32
 *                                    a connected subnet)                                                     default via 10.16.0.13
 *
 * The VPC host plays the VPC's router too: it owns 10.16.0.1, the gateway's `internalGateway`, and an address of
 * the routed advertised CIDR 10.17.0.0/16 (reached via that gateway), besides its own address on the gateway's
 * connected subnet 10.16.0.0/16. With EVPN the supervisor moves `int0` into the VRF (the veth stays joined to the
 * VPC host); BGP-only, the gateway routes from its own namespace (the test adds 10.17.0.0/16 via 10.16.0.1 there,
 * as Kube-OVN's init container does).
 *
 * Several gateways (ECMP behind one router): call addVpcHost once per gateway with its own `suffix`, internal
 * subnet and addresses; the loss meter's flows carry labels and fixed source ports to tell the paths apart.
 */
import { execa } from 'execa';
import type { Lab } from './lab.ts';
import { setForwarding } from './lab.ts';

export const VPC = {
  /** The gateway's internal interface and address. */
  gatewayIf: 'int0',
  gatewayAddress: '10.16.0.13',
  prefixLen: 16,
  /** The VPC host's address on the gateway's connected subnet: also the gateway's internalGateway. */
  address: '10.16.0.1',
  /** An address of the routed advertised CIDR (10.17.0.0/16), on the VPC host's loopback. */
  routedAddress: '10.17.0.10',
  routedCidr: '10.17.0.0/16',
  connectedCidr: '10.16.0.0/16',
} as const;

export const REMOTE = {
  address: '192.168.100.10',
  routerAddress: '192.168.100.1',
  prefixLen: 24,
  routerIf: 'rh0',
} as const;

export interface LabHosts {
  vpcNs: string;
  remoteNs: string;
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await execa('ip', ['-n', ns, ...args], { stdin: 'ignore' });
}

/** The VPC host, joined to the gateway namespace's `int0` (created here, with 10.16.0.13/16). */
export async function addVpcHost(lab: Lab, o: { suffix?: string; gatewayNs?: string } = {}): Promise<string> {
  const ns = await lab.addNamespace(o.suffix ?? 'vpc');
  await attachVpcHost(ns, o.gatewayNs ?? lab.gwNs);
  return ns;
}

/**
 * Plugs the VPC host into the gateway again when its link is gone, as the CNI plugs a new gateway Pod: with the
 * netns backend the gateway's int0 lives in the VRF namespace, and goes (with its peer) when that namespace does.
 * Returns whether it had to.
 */
export async function reattachVpcHost(lab: Lab, vpcNs: string, gatewayNs = lab.gwNs): Promise<boolean> {
  const has = async (ns: string, dev: string): Promise<boolean> =>
    (await execa('ip', ['-n', ns, 'link', 'show', dev], { reject: false, stdin: 'ignore' })).exitCode === 0;
  if (await has(gatewayNs, VPC.gatewayIf)) return false; // still in the gateway's own namespace: nothing went away
  // The kernel destroys a namespace (and the veth in it) asynchronously once its last reference is gone.
  const deadline = Date.now() + 10_000;
  while ((await has(vpcNs, 'eth0')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // Still there: something still holds the old VRF namespace (seen once under load). A new Pod gets a new
  // interface anyway: delete the old pair from the VPC host's side.
  if (await has(vpcNs, 'eth0')) await execa('ip', ['-n', vpcNs, 'link', 'del', 'eth0'], { stdin: 'ignore' });
  await attachVpcHost(vpcNs, gatewayNs);
  return true;
}

async function attachVpcHost(ns: string, gwNs: string): Promise<void> {
  await execa('ip', ['link', 'add', VPC.gatewayIf, 'netns', gwNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns], {
    stdin: 'ignore',
  });
  await ip(gwNs, 'addr', 'add', `${VPC.gatewayAddress}/${VPC.prefixLen}`, 'dev', VPC.gatewayIf);
  await ip(gwNs, 'link', 'set', VPC.gatewayIf, 'up');
  await ip(ns, 'addr', 'add', `${VPC.address}/${VPC.prefixLen}`, 'dev', 'eth0');
  await execa('ip', ['-n', ns, 'addr', 'replace', `${VPC.routedAddress}/32`, 'dev', 'lo'], { stdin: 'ignore' });
  await ip(ns, 'link', 'set', 'eth0', 'up');
  await ip(ns, 'route', 'add', 'default', 'via', VPC.gatewayAddress);
}

/** The remote host, on a connected subnet of the router (192.168.100.0/24, the prefix the router announces). */
export async function addRemoteHost(lab: Lab, o: { suffix?: string } = {}): Promise<string> {
  const ns = await lab.addNamespace(o.suffix ?? 'rh');
  await execa('ip', ['link', 'add', REMOTE.routerIf, 'netns', lab.rtNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns], {
    stdin: 'ignore',
  });
  await ip(lab.rtNs, 'addr', 'add', `${REMOTE.routerAddress}/${REMOTE.prefixLen}`, 'dev', REMOTE.routerIf);
  await ip(lab.rtNs, 'link', 'set', REMOTE.routerIf, 'up');
  await ip(ns, 'addr', 'add', `${REMOTE.address}/${REMOTE.prefixLen}`, 'dev', 'eth0');
  await ip(ns, 'link', 'set', 'eth0', 'up');
  await ip(ns, 'route', 'add', 'default', 'via', REMOTE.routerAddress);
  await setForwarding(lab.rtNs);
  return ns;
}

/** Both hosts. */
export async function addHosts(lab: Lab): Promise<LabHosts> {
  return { vpcNs: await addVpcHost(lab), remoteNs: await addRemoteHost(lab) };
}

/**
 * The usual flows: remote host <-> VPC host both ways, to the VPC host's routed address (10.17.0.10, via the
 * gateway's internalGateway route) and/or its connected one (10.16.0.1).
 */
export function hostFlows(
  h: LabHosts,
  o: { rate?: number; target?: 'routed' | 'connected' | 'both' } = {},
): Array<{ label: string; from: string; to: string; dst: string; src?: string; rate?: number }> {
  const rate = o.rate ?? 1000;
  const targets = o.target === 'both' ? (['routed', 'connected'] as const) : [o.target ?? 'routed'];
  return targets.flatMap((t) => {
    const vpcAddr = t === 'routed' ? VPC.routedAddress : VPC.address;
    return [
      { label: `remote->vpc-${t}`, from: h.remoteNs, to: h.vpcNs, dst: vpcAddr, rate },
      { label: `vpc-${t}->remote`, from: h.vpcNs, to: h.remoteNs, dst: REMOTE.address, src: vpcAddr, rate },
    ];
  });
}
