/**
 * Hitless config changes across replicas in EVPN mode (gateway.yaml `changeDrain`).
 *
 * No FRR we run keeps EVPN routes across a bgpd restart (graceful restart covers IPv4/IPv6 unicast only), so every
 * restart withdraws this replica's type-5 routes at the router. With several replicas behind one router (ECMP) that
 * costs nothing as long as at least one replica keeps its routes; it costs everything when every replica restarts
 * at once, which is what a ConfigMap edit does (each kubelet syncs it within the same minute). So, before a restart:
 *
 * 1. wait a delay derived from this replica's own identity, its router id (the Pod IP): slot = (the id as a 32-bit
 *    number) mod `slots`, delay = slot x `slot`. Replicas whose addresses differ by less than `slots` (Pod IPs
 *    handed out from one subnet, N <= slots) get different slots, so no two of them are away at the same time when
 *    `slot` is longer than one replica's restart; no coordination service, nothing shared;
 * 2. withdraw this replica's type-5 routes (`no advertise ipv4|ipv6 unicast` in the VRF's l2vpn evpn family: plain
 *    BGP withdrawals, which any router honours; RFC 8326 graceful shutdown needs the router to act on the community),
 *    wait until bgpd has sent the withdrawals (the routes counted as sent to the established EVPN neighbours,
 *    `pfxSnt`, have dropped and hold still; bounded by `maxWait`), then `settle` for the router to reprogram its FIB
 *    (a router removed a drained replica's path within ~30 ms of the session going, README);
 * 3. restart as usual (the new bgpd advertises again).
 *
 * Only when the running config is in EVPN mode: BGP-only, graceful restart keeps the routes at the router.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeDrainSpec, Spec } from '../config/types.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import type { Logger } from '../log.ts';
import { buildView, replicaAnchor } from '../render/frr-conf.ts';
import { parseEvpnSummary } from '../state/bgp.ts';

/** A restart of this running config withdraws routes at the router, and a drain was asked for. */
export function drainsBeforeRestart(running: Spec, next: Spec): boolean {
  return next.gateway.changeDrain.enabled && running.evpn !== undefined;
}

/** This replica's slot and delay: (router id as a 32-bit number) mod slots, times the slot length. */
export function changeDrainDelay(routerId: string, d: ChangeDrainSpec): { slot: number; delayMs: number } {
  const n = routerId.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const slot = n % d.slots;
  return { slot, delayMs: slot * d.slotSeconds * 1000 };
}

export interface ChangeDrainOptions {
  running: Spec;
  drain: ChangeDrainSpec;
  vtysh: Vtysh;
  logger: Logger;
  /** Stops the wait early (the supervisor is shutting down). */
  stopped: () => boolean;
}

/**
 * The vtysh commands that withdraw this replica's type-5 routes. Without anchors: every route (`no advertise ipv4|ipv6
 * unicast`). With anchors: every IPv4 route but the anchor (`no network` for each advertised prefix, `no redistribute`
 * in the redistribute mode) and every IPv6 route: the router keeps this replica's router MAC (the anchor still uses
 * it) while it takes the replica out of the ECMP sets, and deletes it only at the restart, when no flow uses it.
 * An FRR router deletes a VTEP's router-MAC entry a moment (~0.1 ms) before it replaces the route that used it: a
 * packet hashed to that VTEP in between is lost (README, Replicas).
 */
export function withdrawCommands(running: Spec): string[] {
  const inst = buildView(running).vrfInstance as
    { advertiseIpv6?: boolean; afs: Array<{ afi: string; networks: string[]; redistribute: string | false }> } | false;
  const { bgp, gateway } = running;
  const head = ['configure terminal', `router bgp ${bgp.localAsn} vrf ${gateway.vrf.name}`];
  const v6 = inst && inst.advertiseIpv6 === true ? ['no advertise ipv6 unicast'] : [];
  if (gateway.changeDrain.anchors === undefined || !inst) return [...head, 'address-family l2vpn evpn', 'no advertise ipv4 unicast', ...v6];
  const anchor = replicaAnchor(bgp.routerId, gateway.changeDrain.anchors);
  const v4 = inst.afs.find((a) => a.afi === 'ipv4');
  return [
    ...head,
    'address-family ipv4 unicast',
    ...(v4?.networks ?? []).filter((n) => n !== anchor).map((n) => `no network ${n}`),
    ...(v4 && v4.redistribute !== false
      ? [`no redistribute kernel route-map ${v4.redistribute}`, `no redistribute connected route-map ${v4.redistribute}`]
      : []),
    'exit-address-family',
    ...(v6.length > 0 ? ['address-family l2vpn evpn', ...v6] : []),
  ];
}

/** Waits this replica's delay, then withdraws its type-5 routes and waits until they are gone. Never throws. */
export async function drainBeforeRestart(o: ChangeDrainOptions): Promise<void> {
  const { running, drain, vtysh, logger: log } = o;
  const { slot, delayMs } = changeDrainDelay(running.bgp.routerId, drain);
  log.info(
    { event: 'change_drain_wait', slot, delayMs, routerId: running.bgp.routerId },
    `EVPN change drain: slot ${slot} of ${drain.slots}, waiting ${delayMs} ms before withdrawing and restarting`,
  );
  const until = Date.now() + delayMs;
  while (Date.now() < until && !o.stopped()) await sleep(Math.min(200, until - Date.now()));
  if (o.stopped()) return;
  const t0 = Date.now();
  const cmds = withdrawCommands(running);
  const sentNow = async (): Promise<number> => {
    const peers = parseEvpnSummary(await vtysh.run(['show bgp l2vpn evpn summary json'], { daemon: 'bgpd', timeoutMs: 1000 }));
    return peers.filter((p) => p.established).reduce((a, p) => a + p.prefixesSent, 0);
  };
  let sentBefore: number;
  let sent: number;
  try {
    sentBefore = await sentNow();
    await vtysh.run(cmds, { timeoutMs: 3000 });
    // Done when the count of routes sent to the EVPN neighbours has dropped and holds still (what is left is not this
    // replica's type-5 routes: e.g. routes it passes on), or at maxWait.
    const deadline = t0 + drain.maxWaitSeconds * 1000;
    let last = sentBefore;
    for (;;) {
      await sleep(50);
      sent = await sentNow();
      if (sent === 0 || (sent < sentBefore && sent === last) || Date.now() >= deadline) break;
      last = sent;
    }
  } catch (e) {
    log.warn({ event: 'change_drain_failed', err: (e as Error).message }, `EVPN change drain failed: ${(e as Error).message}`);
    return;
  }
  const withdrawnMs = Date.now() - t0;
  await sleep(drain.settleSeconds * 1000);
  log.info(
    { event: 'change_drained', withdrawnMs, sentBefore, stillSent: sent, settleMs: drain.settleSeconds * 1000 },
    sent < sentBefore
      ? `EVPN routes withdrawn (${sentBefore} -> ${sent} sent) in ${withdrawnMs} ms; restarting after ${drain.settleSeconds} s`
      : `EVPN routes still counted as sent (${sent}) after ${withdrawnMs} ms; restarting anyway`,
  );
}
