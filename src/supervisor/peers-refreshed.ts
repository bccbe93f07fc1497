/**
 * Before bgpd is SIGKILLed for a graceful restart: wait (bounded) until its peers hold its routes as fresh again.
 *
 * A peer in graceful-restart helper mode marks the gateway's routes stale when the session drops, and unmarks each
 * one when the new session re-sends it. If the session drops again while a route is still marked stale (the new
 * bgpd was killed after the session came up but before its updates went out: a config change moments after a crash
 * recovery or after another restart), the peer deletes it at once (FRR `bgp_clear_route_node`: a path already
 * stale is removed instead of kept; RFC 4724 allows no second grace), and the gateway's prefixes are gone at the
 * peer until the next bgpd has sent them again (about 1 to 2 s, seen with FRR 8.4.4 as the peer).
 * FRR sends End-of-RIB after a session's initial updates: once every Established session with the graceful-restart
 * capability has End-of-RIB sent for each negotiated address family, its peer holds the routes as fresh. A session
 * still opening (OpenSent, OpenConfirm) may be Established at the peer already, so it is waited for too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Vtysh } from '../frr/vtysh.ts';
import type { Logger } from '../log.ts';
import { parseBgpNeighbors } from '../state/bgp.ts';
import type { NeighborDetail } from '../state/bgp.ts';

/** The longest wait: a session's first updates leave after FRR's update-group coalesce time (1.1 s) and deferral. */
export const PEERS_REFRESHED_MAX_MS = 5000;

/** The sessions whose peer may still hold this bgpd's routes as stale (empty: a SIGKILL now loses nothing). */
export function sessionsNotRefreshed(neighbours: readonly NeighborDetail[]): string[] {
  return neighbours
    .filter(
      (n) =>
        n.state === 'OpenSent' ||
        n.state === 'OpenConfirm' ||
        (n.established && n.gracefulRestartNegotiated === true && n.negotiatedAfis.some((a) => !n.eorSentAfis.includes(a))),
    )
    .map((n) => (n.vrf && n.vrf !== 'default' ? `${n.peer} (vrf ${n.vrf})` : n.peer));
}

/**
 * Waits until no session is left for {@link sessionsNotRefreshed}, at most `maxMs`; never throws (bgpd not answering
 * is no reason to keep it running). Logs when it had to wait.
 */
export async function waitPeersRefreshed(o: { vtysh: Vtysh; logger: Logger; maxMs?: number }): Promise<void> {
  const t0 = Date.now();
  const deadline = t0 + (o.maxMs ?? PEERS_REFRESHED_MAX_MS);
  let pending: string[];
  let waited = false;
  for (;;) {
    try {
      pending = sessionsNotRefreshed(
        parseBgpNeighbors(await o.vtysh.run(['show bgp vrf all neighbors json'], { daemon: 'bgpd', timeoutMs: 1000 })),
      );
    } catch {
      pending = []; // bgpd does not answer: nothing to wait for
    }
    if (pending.length === 0 || Date.now() >= deadline) break;
    waited = true;
    await sleep(100);
  }
  const waitedMs = Date.now() - t0;
  if (pending.length > 0)
    o.logger.warn(
      { event: 'gr_restart_peers_stale', sessions: pending, waitedMs },
      `restarting bgpd although ${pending.join(', ')} may still hold its routes as stale (waited ${waitedMs} ms): those peers drop them until the new bgpd sends them`,
    );
  else if (waited)
    o.logger.info(
      { event: 'gr_restart_waited', waitedMs },
      `waited ${waitedMs} ms for the peers to hold bgpd's routes as fresh before its graceful restart`,
    );
}
