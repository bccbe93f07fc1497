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
 *    (a router removed a drained replica's path within ~30 ms of the session going, docs/design.md, Replicas);
 * 3. restart as usual (the new bgpd advertises again).
 *
 * Each wait ends at once when the Applier aborts the drain's signal: on shutdown (the apply stops there; the
 * shutdown's own BGP drain and daemon stop follow), and when a daemon goes down (this replica's routes are gone or
 * going anyway: the apply goes on at once, and the crash recovery queued behind it follows, instead of both waiting
 * out the slot with FRR down).
 *
 * Only when the running config is in EVPN mode: BGP-only, graceful restart keeps the routes at the router.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeDrainSpec, Spec } from '../config/types.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import type { Logger } from '../log.ts';
import { buildView, specAnchor } from '../render/frr-conf.ts';
import { ipv4ToNumber } from '../config/net.ts';
import { parseEvpnSummary } from '../state/bgp.ts';

/** A restart of this running config withdraws routes at the router, and a drain was asked for. */
export function drainsBeforeRestart(running: Spec, next: Spec, restarts: boolean): boolean {
  return restarts && next.gateway.changeDrain.enabled && running.evpn !== undefined;
}

/** This replica's slot and delay: (router id as a 32-bit number) mod slots, times the slot length. */
export function changeDrainDelay(routerId: string, d: ChangeDrainSpec): { slot: number; delayMs: number } {
  const n = ipv4ToNumber(routerId);
  const slot = n % d.slots;
  return { slot, delayMs: slot * d.slotSeconds * 1000 };
}

export interface ChangeDrainOptions {
  running: Spec;
  drain: ChangeDrainSpec;
  vtysh: Vtysh;
  logger: Logger;
  /**
   * Ends the drain at once, whichever wait it is in (the slot, the withdrawal, the settle); its reason (a string) is
   * logged. The Applier aborts it when the supervisor shuts down, and when a daemon goes down (this replica's routes
   * are gone or going anyway: draining is pointless, and the crash recovery must not wait behind the slot).
   */
  signal: AbortSignal;
  /** The slot was waited already (the Applier waits it without holding the lifecycle): withdraw at once. */
  slotWaited?: boolean;
}

/**
 * The vtysh commands that withdraw this replica's type-5 routes. Without anchors: every route (`no advertise ipv4|ipv6
 * unicast`). With anchors: every IPv4 route but the anchor (`no network` for each advertised prefix, `no redistribute`
 * in the redistribute mode) and every IPv6 route: the router keeps this replica's router MAC (the anchor still uses
 * it) while it takes the replica out of the ECMP sets, and deletes it only at the restart, when no flow uses it.
 * An FRR router deletes a VTEP's router-MAC entry a moment (~0.1 ms) before it replaces the route that used it: a
 * packet hashed to that VTEP in between is lost (docs/investigations/2026-11-30-evpn-router-mac.md). Empty when the
 * anchor is all this replica advertises (`advertise: []`): there is nothing to withdraw and nothing to wait for.
 */
export function withdrawCommands(running: Spec, undo = false): string[] {
  const inst = buildView(running).vrfInstance;
  const { bgp, gateway } = running;
  const no = (cmd: string): string => (undo ? cmd : `no ${cmd}`);
  const head = ['configure terminal', `router bgp ${bgp.localAsn} vrf ${gateway.vrf.name}`];
  const v6 = inst && inst.advertiseIpv6 ? [no('advertise ipv6 unicast')] : [];
  const anchor = specAnchor(running);
  if (!anchor || !inst) return [...head, 'address-family l2vpn evpn', no('advertise ipv4 unicast'), ...v6];
  const v4 = inst.afs.find((a) => a.afi === 'ipv4');
  // Only the anchor is advertised (`advertise: []`): nothing to withdraw.
  if ((v4?.networks ?? []).every((n) => n === anchor) && (v4 === undefined || v4.redistribute === false) && v6.length === 0) return [];
  return [
    ...head,
    'address-family ipv4 unicast',
    ...(v4?.networks ?? []).filter((n) => n !== anchor).map((n) => no(`network ${n}`)),
    ...(v4 && v4.redistribute !== false
      ? [no(`redistribute kernel route-map ${v4.redistribute}`), no(`redistribute connected route-map ${v4.redistribute}`)]
      : []),
    'exit-address-family',
    ...(v6.length > 0 ? ['address-family l2vpn evpn', ...v6] : []),
  ];
}

/** The `change_drain_wait` log line: this replica's slot and the wait before it withdraws. */
export function logSlotWait(log: Logger, running: Spec, drain: ChangeDrainSpec): void {
  const { slot, delayMs } = changeDrainDelay(running.bgp.routerId, drain);
  log.info(
    { event: 'change_drain_wait', slot, delayMs, routerId: running.bgp.routerId },
    `EVPN change drain: slot ${slot} of ${drain.slots}, waiting ${delayMs} ms before withdrawing and restarting`,
  );
}

/**
 * drained: withdrawn and settled; failed: the withdrawal failed (the restart goes on); cut: the signal ended it.
 * `withdrawn`: the withdrawal commands went to bgpd (their confirmation may have failed or been cut): if the restart
 * does not happen, the routes must be advertised again.
 */
export interface ChangeDrainOutcome {
  outcome: 'drained' | 'failed' | 'cut';
  withdrawn: boolean;
}

/** The signal ended the drain. */
class Cut extends Error {}

/** p, or a Cut as soon as the signal aborts (p's own outcome is then ignored: a vtysh call ends by its timeout). */
function unlessCut<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Cut());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}

/**
 * Waits this replica's delay, then withdraws its type-5 routes and waits until they are gone, then settles; every
 * wait ends at once when `signal` aborts (logged as change_drain_cut, with the reason and the phase). Never throws.
 */
export async function drainBeforeRestart(o: ChangeDrainOptions): Promise<ChangeDrainOutcome> {
  const { running, drain, vtysh, logger: log, signal } = o;
  const t0 = Date.now();
  let phase: 'slot wait' | 'withdrawal' | 'settle' = 'slot wait';
  // Set once the withdrawal commands were sent: even when they time out, bgpd may have taken them.
  let withdrawn = false;
  const wait = (ms: number): Promise<void> => sleep(ms, undefined, { signal }).catch(() => Promise.reject(new Cut()));
  try {
    if (signal.aborted) throw new Cut();
    if (o.slotWaited !== true) {
      logSlotWait(log, running, drain);
      await wait(changeDrainDelay(running.bgp.routerId, drain).delayMs);
    }
    phase = 'withdrawal';
    const tWithdraw = Date.now();
    const cmds = withdrawCommands(running);
    if (cmds.length === 0) {
      log.info(
        { event: 'change_drained', withdrawnMs: 0, nothingToWithdraw: true },
        'EVPN change drain: only the anchor is advertised, nothing to withdraw; restarting now',
      );
      return { outcome: 'drained', withdrawn: false };
    }
    const sentNow = async (): Promise<number> => {
      const out = await unlessCut(vtysh.run(['show bgp l2vpn evpn summary json'], { daemon: 'bgpd', timeoutMs: 1000 }), signal);
      return parseEvpnSummary(out)
        .filter((p) => p.established)
        .reduce((a, p) => a + p.prefixesSent, 0);
    };
    let sentBefore: number;
    let sent: number;
    try {
      sentBefore = await sentNow();
      withdrawn = true;
      await unlessCut(vtysh.run(cmds, { timeoutMs: 3000 }), signal);
      // Done when the count of routes sent to the EVPN neighbours has dropped and holds still (what is left is not this
      // replica's type-5 routes: e.g. routes it passes on), or at maxWait.
      const deadline = tWithdraw + drain.maxWaitSeconds * 1000;
      let last = sentBefore;
      for (;;) {
        await wait(50);
        sent = await sentNow();
        if (sent === 0 || (sent < sentBefore && sent === last) || Date.now() >= deadline) break;
        last = sent;
      }
    } catch (e) {
      if (e instanceof Cut) throw e;
      log.warn(
        { event: 'change_drain_failed', err: (e as Error).message, withdrawn },
        `EVPN change drain failed: ${(e as Error).message}${withdrawn ? ' (the withdrawal was sent: counted as withdrawn)' : ''}`,
      );
      return { outcome: 'failed', withdrawn };
    }
    const withdrawnMs = Date.now() - tWithdraw;
    log.info(
      { event: 'change_drained', withdrawnMs, sentBefore, stillSent: sent, settleMs: drain.settleSeconds * 1000 },
      sent < sentBefore
        ? `EVPN routes withdrawn (${sentBefore} -> ${sent} sent) in ${withdrawnMs} ms; restarting after ${drain.settleSeconds} s`
        : `EVPN routes still counted as sent (${sent}) after ${withdrawnMs} ms; restarting anyway after ${drain.settleSeconds} s`,
    );
    phase = 'settle';
    await wait(drain.settleSeconds * 1000);
    return { outcome: 'drained', withdrawn };
  } catch (e) {
    if (!(e instanceof Cut)) throw e;
    const reason = String(signal.reason);
    log.info(
      { event: 'change_drain_cut', reason, phase, afterMs: Date.now() - t0 },
      `EVPN change drain cut short in its ${phase} after ${Date.now() - t0} ms: ${reason}`,
    );
    return { outcome: 'cut', withdrawn };
  }
}
