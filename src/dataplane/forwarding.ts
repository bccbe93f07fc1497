/**
 * IP forwarding: a gateway that announces routes but does not forward black-holes every packet it attracts.
 * The supervisor owns the forwarding sysctls of the namespaces it creates (the netns backend's VRF namespace: set by
 * the plan, see plan.ts) and checks, without touching them, those it does not own: the Pod's own namespace, which
 * forwards with the kernel VRF backend and in BGP-only mode (Kube-OVN's init container sets them there).
 */
import type { Family } from '../config/net.ts';
import { parseAddress, parseCidr } from '../config/net.ts';
import type { Spec } from '../config/types.ts';
import { execRunner } from './exec.ts';
import type { Runner } from './exec.ts';
import { readForwarding } from './state.ts';
import { FORWARDING_SYSCTL } from './types.ts';
import type { ForwardingState } from './types.ts';

export interface ForwardingCheck {
  /** The namespace checked: `VRF namespace NAME` or `the gateway's namespace`. */
  namespace: string;
  /** The supervisor sets these sysctls itself (netns backend). */
  owned: boolean;
  /** The families traffic needs (from the advertised CIDRs; without a list, IPv4 and the neighbours' families). */
  needed: Family[];
  state: ForwardingState;
  /** One line per needed family whose forwarding is off (or missing). */
  problems: string[];
}

/** The sysctl's name (`net.ipv4.ip_forward`) for messages. */
export function sysctlName(family: Family): string {
  return FORWARDING_SYSCTL[family].slice('/proc/sys/'.length).replaceAll('/', '.');
}

/**
 * The families the gateway forwards: those of the advertised CIDRs when the list is given (`[]`: none); without a
 * list (redistribute connected/kernel), IPv4, and IPv6 when a neighbour is IPv6.
 */
export function neededFamilies(spec: Spec): Family[] {
  const fams = new Set<Family>();
  const advertise = spec.gateway.advertise;
  if (advertise !== undefined) {
    for (const c of advertise) {
      const p = parseCidr(c);
      if (typeof p !== 'string') fams.add(p.family);
    }
  } else {
    fams.add(4);
    for (const n of spec.bgp.neighbours) {
      const a = parseAddress(n);
      if (typeof a !== 'string' && a.family === 6) fams.add(6);
    }
  }
  return [...fams].sort();
}

/**
 * Checks forwarding where this spec's traffic is forwarded: the VRF namespace (netns backend with EVPN; owned, so a
 * problem there means the plan's step failed) or the gateway's own namespace (`netns`: a named one, for tests).
 */
export async function checkForwarding(spec: Spec, opts: { netns?: string; runner?: Runner } = {}): Promise<ForwardingCheck> {
  const runner = opts.runner ?? execRunner;
  const owned = spec.evpn !== undefined && spec.gateway.vrfBackend === 'netns';
  const where = owned ? spec.gateway.vrf.name : opts.netns;
  const namespace = owned ? `VRF namespace ${spec.gateway.vrf.name}` : "the gateway's namespace";
  const needed = neededFamilies(spec);
  const state = await readForwarding(where, runner);
  const problems: string[] = [];
  for (const family of needed) {
    const on = family === 4 ? state.ipv4 : state.ipv6;
    if (on === true) continue;
    const what = on === undefined ? `${sysctlName(family)} does not exist (IPv${family} disabled)` : `${sysctlName(family)} is 0`;
    problems.push(
      owned
        ? `${what} in ${namespace}: IPv${family} packets are not forwarded (the supervisor sets it; see the failed data plane step)`
        : `${what} in ${namespace}: IPv${family} packets to and from the advertised CIDRs are not forwarded; the supervisor does not own this namespace's sysctls (${spec.evpn ? 'kernel VRF backend' : 'BGP-only mode'}): set it in the Pod (Kube-OVN's init container does)`,
    );
  }
  return { namespace, owned, needed, state, problems };
}
