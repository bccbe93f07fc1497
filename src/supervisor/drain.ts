/**
 * The drain before a shutdown: every neighbour is shut down administratively, so each peer gets a Cease and withdraws
 * this gateway's routes at once, instead of keeping them as stale for the graceful-restart time.
 *
 * A bgpd that was restarted moments ago (a config change, or a crash recovery, right before the SIGTERM) has no
 * session yet, while its peers still hold the previous session's routes as stale: shutting a neighbour down then
 * sends nothing, and the peer would keep forwarding into this gateway until its restart timer expires. So a young
 * bgpd is first given a bounded wait for its sessions to come up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Spec } from '../config/types.ts';
import type { Vtysh } from '../frr/vtysh.ts';
import type { Logger } from '../log.ts';
import { parseBgpSummary } from '../state/bgp.ts';
import type { DaemonStatus } from './daemons.ts';

/** A bgpd younger than this may still be bringing its sessions up. */
export const YOUNG_BGPD_MS = 15_000;

export interface DrainOptions {
  spec: Spec;
  vtysh: Vtysh;
  logger: Logger;
  bgpdUptimeMs: number;
  /** The longest wait for a young bgpd's sessions. */
  waitMs: number;
}

export async function drainBgp(o: DrainOptions): Promise<void> {
  const { spec, vtysh, logger: log } = o;
  const neighbours = spec.bgp.neighbours;
  if (o.bgpdUptimeMs < YOUNG_BGPD_MS) {
    const deadline = Date.now() + o.waitMs;
    let up = 0;
    while (Date.now() < deadline) {
      try {
        const peers = parseBgpSummary(await vtysh.run(['show bgp vrf all summary json'], { daemon: 'bgpd', timeoutMs: 1000 }));
        up = new Set(peers.filter((p) => p.established).map((p) => p.peer)).size;
        if (up >= neighbours.length) break;
      } catch {
        // bgpd still starting: ask again
      }
      await sleep(200);
    }
    log.info(
      { event: 'drain_sessions_waited', established: up, neighbours: neighbours.length, bgpdUptimeMs: o.bgpdUptimeMs },
      `bgpd was restarted ${o.bgpdUptimeMs} ms ago: ${up}/${neighbours.length} sessions up before the drain`,
    );
  }
  const cmds = ['configure terminal', `router bgp ${spec.bgp.localAsn}`, ...neighbours.map((n) => `neighbor ${n} shutdown`)];
  try {
    await vtysh.run(cmds, { timeoutMs: 3000 });
    log.info({ event: 'drained', neighbours: neighbours.length }, 'BGP sessions shut down administratively');
    // Let bgpd write the Cease messages before it is stopped.
    await sleep(200);
  } catch (e) {
    log.warn({ event: 'drain_failed', err: (e as Error).message }, `drain failed: ${(e as Error).message}`);
  }
}

/** The shutdown's drain step: drains when a config is running and bgpd runs (its age read from the daemons' status). */
export async function drainRunningBgp(
  o: Omit<DrainOptions, 'spec' | 'bgpdUptimeMs'> & { spec: Spec | undefined; daemons: DaemonStatus[] },
): Promise<void> {
  const bgpd = o.daemons.find((d) => d.name === 'bgpd');
  if (!o.spec || !bgpd?.running) return;
  const bgpdUptimeMs = bgpd.startedAt ? Date.now() - new Date(bgpd.startedAt).getTime() : 0;
  await drainBgp({ spec: o.spec, vtysh: o.vtysh, logger: o.logger, bgpdUptimeMs, waitMs: o.waitMs });
}
