/**
 * Reads FRR's state every poll interval (the daemons' `show ... json`, over their vty sockets) and keeps the
 * last snapshot. Every endpoint answers from that snapshot; nothing waits for FRR. The commands' output size
 * depends on the number of neighbours and VNIs, never on the number of routes (route counts come from
 * summaries). The neighbours' detail (`show bgp vrf all neighbors json`, for the last reset reason) is by far the
 * largest answer and costs bgpd the most: it is read only when a session changed state or flapped between two
 * polls (its connection counters moved), and every DETAIL_EVERY polls otherwise. Only daemons the supervisor runs
 * are asked (see PollerOptions.isRunning).
 */
import { EventEmitter } from 'node:events';
import { VtyshTimeoutError } from '../frr/vtysh.ts';
import { parseBgpNeighbors, parseBgpSummary } from '../state/bgp.ts';
import { parseBfdPeers } from '../state/bfd.ts';
import type { BfdPeer } from '../state/bfd.ts';
import { parseEvpnVni, parseVrfVni, parseEvpnRmac } from '../state/evpn.ts';
import { parseRouteSummary } from '../state/zebra.ts';
import type { EvpnVni, VrfVni } from '../state/evpn.ts';
import type { NeighborDetail, PeerSummary } from '../state/bgp.ts';

export interface EvpnTarget {
  vni: number;
  vrf: string;
}

export interface FrrSnapshot {
  at: Date;
  durationMs: number;
  /** Commands that failed in this poll, with why. */
  errors: Record<string, string>;
  peers: PeerSummary[];
  neighbors: NeighborDetail[];
  vnis: EvpnVni[];
  vrfVnis: VrfVni[];
  /** Remote VTEPs per L3 VNI (from the router MACs FRR learned). */
  l3RemoteVteps: Record<number, string[]>;
  /** BGP routes installed in the tenant VRF (imported type-5 routes), per VRF. */
  prefixRoutes: Record<string, number>;
  /** bfdd's sessions (empty while bfdd does not run: BFD off). */
  bfd: BfdPeer[];
}

/** Runs one show command on one daemon. */
export type FrrQuery = (daemon: PolledDaemon, command: string, timeoutMs: number) => Promise<string>;

/** The daemons a poll asks. */
export type PolledDaemon = 'bgpd' | 'zebra' | 'bfdd';

/** The vtysh commands a poll runs (they are the `command` label of frr_supervisor_poll_errors_total). */
export const POLL_COMMANDS = {
  summary: 'show bgp vrf all summary json',
  neighbors: 'show bgp vrf all neighbors json',
  evpnVni: 'show evpn vni json',
  vrfVni: 'show vrf vni json',
  rmac: 'show evpn rmac vni all json',
  bfdPeers: 'show bfd peers json',
} as const;

/** The route summary of the tenant VRF (EVPN only). */
export function routeSummaryCommand(vrf: string): string {
  return `show ip route vrf ${vrf} summary json`;
}

/** Every command a poll may run with this EVPN target (none: BGP only), and with BFD on. */
export function pollCommands(evpn: EvpnTarget | undefined, bfd = false): string[] {
  const bgp = [POLL_COMMANDS.summary, POLL_COMMANDS.neighbors, ...(bfd ? [POLL_COMMANDS.bfdPeers] : [])];
  return evpn ? [...bgp, POLL_COMMANDS.evpnVni, POLL_COMMANDS.vrfVni, POLL_COMMANDS.rmac, routeSummaryCommand(evpn.vrf)] : bgp;
}

/** Without state changes, the neighbours' detail is refreshed every this many polls. */
export const DETAIL_EVERY = 60;

export interface PollerOptions {
  query: FrrQuery;
  intervalMs: number;
  timeoutMs: number;
  /** The EVPN VNI/VRF currently configured, if any (decides which EVPN commands run). */
  evpn: () => EvpnTarget | undefined;
  /**
   * Whether the supervisor runs this daemon now. A daemon it has not started (no valid config yet) or that is down
   * (and in its restart backoff) is not asked: that is the daemon rule's business, not a failed poll.
   */
  isRunning: (daemon: PolledDaemon) => boolean;
}

interface Events {
  poll: [snapshot: FrrSnapshot];
  /** A command failed; `timeout` when vtysh hung and was killed. */
  commandError: [command: string, kind: 'timeout' | 'error', message: string];
}

export class Poller extends EventEmitter<Events> {
  last: FrrSnapshot | undefined;
  /** Polls in a row in which FRR did not answer (a query timed out, or every query failed). */
  consecutiveFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly opts: PollerOptions) {
    super();
  }

  start(): void {
    const tick = (): void => {
      this.pollOnce()
        .catch(() => {
          // Every command's failure is caught in run(); anything else still counts as a poll FRR did not answer.
          this.consecutiveFailures++;
        })
        .finally(() => {
          if (this.running) this.timer = setTimeout(tick, this.opts.intervalMs);
        });
    };
    this.running = true;
    tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private pollsSinceDetail = Number.POSITIVE_INFINITY;

  /** Queries asked of a running daemon in the current poll (what a failed poll is measured against). */
  private attempted = 0;

  private async run<T>(
    daemon: PolledDaemon,
    command: string,
    parse: (text: string) => T,
    errors: Record<string, string>,
    fallback: T,
  ): Promise<T> {
    if (!this.opts.isRunning(daemon)) {
      errors[command] = `${daemon} is not running`;
      return fallback;
    }
    this.attempted++;
    try {
      const text = await this.opts.query(daemon, command, this.opts.timeoutMs);
      return parse(text);
    } catch (e) {
      const timeout = e instanceof VtyshTimeoutError;
      const message = (e as Error).message.split('\n')[0] ?? '';
      errors[command] = timeout ? `timed out after ${this.opts.timeoutMs} ms` : message;
      this.emit('commandError', command, timeout ? 'timeout' : 'error', message);
      return fallback;
    }
  }

  async pollOnce(): Promise<FrrSnapshot> {
    const t0 = performance.now();
    const errors: Record<string, string> = {};
    this.attempted = 0;
    const evpn = this.opts.evpn();
    // bfdd runs only with BFD on: while it does not, it is not asked (and that is no poll error).
    const bfdOn = this.opts.isRunning('bfdd');
    const [peers, vnis, vrfVnis, rmacs, routes, bfd] = await Promise.all([
      this.run('bgpd', POLL_COMMANDS.summary, parseBgpSummary, errors, [] as PeerSummary[]),
      evpn ? this.run('zebra', POLL_COMMANDS.evpnVni, parseEvpnVni, errors, [] as EvpnVni[]) : Promise.resolve([] as EvpnVni[]),
      evpn ? this.run('zebra', POLL_COMMANDS.vrfVni, parseVrfVni, errors, [] as VrfVni[]) : Promise.resolve([] as VrfVni[]),
      evpn
        ? this.run<Record<number, string[]>>('zebra', POLL_COMMANDS.rmac, parseEvpnRmac, errors, {})
        : Promise.resolve({} as Record<number, string[]>),
      evpn ? this.run('zebra', routeSummaryCommand(evpn.vrf), parseRouteSummary, errors, undefined) : Promise.resolve(undefined),
      bfdOn ? this.run('bfdd', POLL_COMMANDS.bfdPeers, parseBfdPeers, errors, [] as BfdPeer[]) : Promise.resolve([] as BfdPeer[]),
    ]);
    // A session that went down and came back between two polls keeps its state but not its connection counters.
    const stateKey = (ps: readonly PeerSummary[]): string =>
      ps
        .map((p) => `${p.vrf}|${p.peer}|${p.state}|${p.connectionsEstablished}|${p.connectionsDropped}`)
        .sort()
        .join(',');
    let neighbors: NeighborDetail[] = this.last?.neighbors ?? [];
    if (++this.pollsSinceDetail >= DETAIL_EVERY || stateKey(peers) !== stateKey(this.last?.peers ?? [])) {
      neighbors = await this.run('bgpd', POLL_COMMANDS.neighbors, parseBgpNeighbors, errors, neighbors);
      this.pollsSinceDetail = 0;
    }
    const snapshot: FrrSnapshot = {
      at: new Date(),
      durationMs: Math.round(performance.now() - t0),
      errors,
      peers,
      neighbors,
      vnis,
      vrfVnis,
      l3RemoteVteps: rmacs,
      prefixRoutes: evpn && routes ? { [evpn.vrf]: routes.bgp } : {},
      bfd,
    };
    // A failed poll: a running daemon hung (a timeout), or none of the running daemons asked answered. A daemon
    // that is not running was not asked: whether it should be is the daemon rule's business, not this one's.
    const failed = Object.values(errors).filter((m) => !m.endsWith(' is not running'));
    const hung = failed.some((m) => m.startsWith('timed out'));
    this.consecutiveFailures = this.attempted > 0 && (hung || failed.length >= this.attempted) ? this.consecutiveFailures + 1 : 0;
    this.last = snapshot;
    this.emit('poll', snapshot);
    return snapshot;
  }
}
