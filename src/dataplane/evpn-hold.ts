/**
 * The EVPN hold: keeps an EVPN gateway forwarding towards its remote VTEPs while its bgpd restarts (a graceful-restart
 * config change, a crash), where FRR 10.6+'s EVPN graceful restart does not (FRR 10.7.1; the evidence is in
 * docs/investigations/2026-12-04-evpn-graceful-restart-frr-10.7.md):
 *
 * 1. bgpd has a second zebra session (its label manager's, session id 1) that never registers graceful restart; when
 *    it closes, zebra's `zebra_evpn_cfg_clean_up` removes every remote router MAC and next-hop neighbour from the
 *    kernel although the main session kept them ("EVPN-GR: client bgp has GR disabled. Cleaning up EVPN entries").
 *    Until the new bgpd has the remote type-5 routes again (seconds), nothing leaves the gateway over VXLAN. The hold
 *    puts each removed entry back at once, exactly as zebra had it (the neighbour with its own protocol number), and
 *    lets zebra take it over when zebra installs its own again.
 * 2. When the new bgpd reports its VRF's routes complete before the EVPN routes are imported, zebra removes the
 *    VRF's stale BGP routes and installs them again about 80 ms later. Before bgpd goes down (or at once when it went
 *    down by itself) the hold installs a copy of each of the VRF's EVPN routes with a higher metric (HOLD_METRIC),
 *    used by the kernel only while zebra's route is missing, and removes it once zebra's route is back (or gone for
 *    good).
 *
 * A removal of zebra's entries while bgpd runs is a withdrawal and is left alone. The hold ends when zebra owns every
 * entry again and no copy is needed, or after maxHoldMs (then the entries zebra did not take back are removed: zebra
 * installs again those it still knows).
 *
 * Pure: it turns kernel events (parseMonitorLine) into `ip`/`bridge` batch lines; evpn-hold-runner.ts runs the
 * processes.
 */
import type { BatchLines, EvpnDevices, FdbEntry, HeldRoute, MonitorEvent, NeighEntry } from './evpn-entries.ts';
import {
  addFlood,
  addHoldRoute,
  removeFlood,
  fdbKey,
  HOLD_METRIC,
  neighKey,
  PROTO_BGP,
  PROTO_ZEBRA,
  removeFdb,
  removeHoldRoute,
  removeNeighbour,
  restoreFdb,
  restoreNeighbour,
} from './evpn-entries.ts';

export interface EvpnHoldOptions {
  devices: EvpnDevices;
  now?: () => number;
  /** bgpd is not running (exited, a zombie, not started yet): a removal of zebra's entries now is zebra's flush. */
  bgpdGone: () => boolean;
  /** The longest hold (FRR's graceful-restart restart time: 120 s by default). */
  maxHoldMs?: number;
  /**
   * A route zebra removed and did not install again within this time is gone for good (its copy goes too); copies
   * zebra never touched go this long after it took back the last entry the hold had put back.
   */
  settleMs?: number;
}

export type HoldOutcome = 'released' | 'expired' | 'stopped';

export interface HoldReport {
  outcome: HoldOutcome;
  reason: string;
  durationMs: number;
  /** Entries put back after zebra removed them. */
  restoredNeighbours: number;
  restoredFdb: number;
  /** Route copies installed, and how many of them the kernel needed (zebra's route was missing for a while). */
  routesHeld: number;
  routesUsed: number;
  /** What zebra had not taken back when the hold ended (expired or stopped). */
  notTakenBack: string[];
}

interface HeldCopy {
  route: HeldRoute;
  /** When zebra's own route for the prefix was removed (the copy carries the traffic since). */
  removedAt?: number;
}

interface Holding {
  since: number;
  reason: string;
  copies: Map<string, HeldCopy>;
  /** Put back by the hold; zebra has not installed its own again yet. */
  neigh: Map<string, NeighEntry>;
  fdb: Map<string, FdbEntry>;
  /** Restores per entry in this hold: a bound, should something keep removing an entry. */
  restores: Map<string, number>;
  restoredNeighbours: number;
  restoredFdb: number;
  routesHeld: number;
  routesUsed: Set<string>;
  /** When zebra last installed an entry the hold had put back. */
  takenBackAt?: number;
  /** bgpd was seen down during the hold, and when it was seen running again. */
  bgpdWentDown?: boolean;
  bgpdBackAt?: number;
  /**
   * Neighbours to put back once their router MAC's VXLAN entry is back (its add seen in the kernel): a neighbour back
   * first would send the packets queued for it into a VXLAN device without the entry (dropped). By MAC, with when.
   */
  waiting: Map<string, { entry: NeighEntry; since: number }>;
  /** Router MACs whose VXLAN (self) entry the hold put back and whose add the kernel has not reported yet. */
  fdbUnconfirmed: Set<string>;
}

const MAX_RESTORES = 20;
/**
 * With nothing flushed (an FRR whose zebra keeps the EVPN entries), route copies zebra's route never replaced go this
 * long after bgpd is back: its VRF route sweep (§4 of the investigation) came 1.1 s after bgpd's start in the lab.
 */
export const NO_FLUSH_SETTLE_MS = 30_000;
/** The longest a neighbour waits for its router MAC's VXLAN entry to be back (its packets are queued meanwhile). */
export const WAIT_FDB_MS = 20;
const none = (): BatchLines => ({ ip: [], bridge: [] });

export class EvpnHold {
  /** zebra's remote entries, as last seen in the kernel. */
  private readonly neighs = new Map<string, NeighEntry>();
  private readonly fdbs = new Map<string, FdbEntry>();
  private hold: Holding | undefined;
  /** The VTEPs the VXLAN device has a default entry to (ours: addFlood). */
  private readonly flood = new Set<string>();
  private readonly now: () => number;
  private readonly maxHoldMs: number;
  private readonly settleMs: number;

  constructor(private readonly opts: EvpnHoldOptions) {
    this.now = opts.now ?? Date.now;
    this.maxHoldMs = opts.maxHoldMs ?? 120_000;
    this.settleMs = opts.settleMs ?? 3_000;
  }

  get holding(): boolean {
    return this.hold !== undefined;
  }

  /** Why the hold in progress began (undefined: none). */
  get reason(): string | undefined {
    return this.hold?.reason;
  }

  /** What is tracked (for logs and tests). */
  tracked(): { neighbours: NeighEntry[]; fdb: FdbEntry[] } {
    return { neighbours: [...this.neighs.values()], fdb: [...this.fdbs.values()] };
  }

  /**
   * zebra's entries as read from the kernel (at start, after a hold): replaces what was tracked. `flood`: the VTEPs
   * the VXLAN device has default entries to now. Returns the lines that give each remote VTEP its default entry
   * (and remove those to VTEPs no router MAC uses any more).
   */
  seed(neighbours: readonly NeighEntry[], fdb: readonly FdbEntry[], flood: readonly string[] = []): BatchLines {
    this.neighs.clear();
    this.fdbs.clear();
    for (const n of neighbours) this.neighs.set(neighKey(n), n);
    for (const f of fdb) this.fdbs.set(fdbKey(f), f);
    this.flood.clear();
    for (const v of flood) this.flood.add(v);
    return this.floodLines();
  }

  /** The VTEPs with a default entry, for logs and tests. */
  floodVteps(): string[] {
    return [...this.flood];
  }

  /** bgpd goes (or went) down: hold from now. Again while holding: the hold goes on (from now for its time limit). */
  arm(reason: string): void {
    if (this.hold) {
      this.hold.since = this.now();
      this.hold.reason = `${this.hold.reason}; ${reason}`;
      return;
    }
    this.hold = {
      since: this.now(),
      reason,
      copies: new Map(),
      neigh: new Map(),
      fdb: new Map(),
      restores: new Map(),
      restoredNeighbours: 0,
      restoredFdb: 0,
      routesHeld: 0,
      routesUsed: new Set(),
      waiting: new Map(),
      fdbUnconfirmed: new Set(),
    };
  }

  /** The VRF's EVPN routes as read when the hold was armed: a copy of each not held yet. */
  holdRoutes(routes: readonly HeldRoute[]): BatchLines {
    const out = none();
    const h = this.hold;
    if (!h) return out;
    for (const r of routes) {
      if (h.copies.has(r.prefix)) continue;
      h.copies.set(r.prefix, { route: r });
      h.routesHeld++;
      out.ip.push(addHoldRoute(r, this.opts.devices));
    }
    return out;
  }

  onEvent(ev: MonitorEvent): BatchLines {
    if (ev.kind === 'link') return none();
    const out = this.handle(ev);
    if (ev.kind !== 'fdb') return out;
    const f = this.floodLines();
    return { ip: out.ip, bridge: [...out.bridge, ...f.bridge] };
  }

  private handle(ev: Exclude<MonitorEvent, { kind: 'link' }>): BatchLines {
    const out = none();
    const d = this.opts.devices;
    if (ev.kind === 'neigh') {
      const key = neighKey(ev);
      if (!ev.deleted) {
        if (ev.mac === undefined || !ev.externLearn || !isZebra(ev.proto)) return out;
        const entry = { ip: ev.ip, mac: ev.mac };
        this.neighs.set(key, entry);
        const h = this.hold;
        const ours = h?.neigh.get(key);
        if (h && ours) {
          h.neigh.delete(key);
          h.waiting.delete(key);
          h.takenBackAt = this.now();
          // zebra installs a router MAC's FDB entries with its next hop: those are its own again too
          for (const [k, f] of h.fdb) if (f.mac === entry.mac) h.fdb.delete(k);
          // the next hop came back with another router MAC (the router's devices were recreated): the old MAC's
          // entries the hold put back are nobody's now, unless another next hop still has that MAC
          if (ours.mac !== entry.mac && ![...this.neighs.values()].some((n) => n.mac === ours.mac))
            for (const [k, f] of h.fdb)
              if (f.mac === ours.mac) {
                h.fdb.delete(k);
                this.fdbs.delete(k);
                out.bridge.push(removeFdb(f, d));
              }
        }
        return out;
      }
      const known = this.neighs.get(key);
      if (!known) return out;
      if (!this.flushing()) {
        this.neighs.delete(key);
        return out;
      }
      if (!this.count(key) || !this.hold) return out;
      this.hold.neigh.set(key, known);
      this.hold.restoredNeighbours++;
      if (this.hold.fdbUnconfirmed.has(known.mac)) this.hold.waiting.set(key, { entry: known, since: this.now() });
      else out.ip.push(restoreNeighbour(known, d));
      return out;
    }
    if (ev.kind === 'fdb') {
      const key = fdbKey(ev.entry);
      if (!ev.deleted) {
        // while holding, an entry the hold put back could be ours as well as zebra's (only zebra's neighbour tells,
        // above); any other is zebra's
        if (ev.externLearn && !this.hold?.fdb.has(key)) this.fdbs.set(key, ev.entry);
        if (this.hold && ev.entry.kind === 'self') {
          this.hold.fdbUnconfirmed.delete(ev.entry.mac);
          out.ip.push(...this.putBackWaiting((w) => w.entry.mac === ev.entry.mac));
        }
        return out;
      }
      const known = this.fdbs.get(key);
      if (!known) return out;
      if (!this.flushing()) {
        this.fdbs.delete(key);
        return out;
      }
      if (!this.count(key) || !this.hold) return out;
      this.hold.fdb.set(key, known);
      this.hold.restoredFdb++;
      if (known.kind === 'self') this.hold.fdbUnconfirmed.add(known.mac);
      out.bridge.push(restoreFdb(known, d));
      return out;
    }
    const h = this.hold;
    const copy = h?.copies.get(ev.prefix);
    if (!h || !copy || !isBgp(ev.proto) || ev.metric === HOLD_METRIC) return out;
    if (ev.deleted) {
      copy.removedAt = this.now();
      h.routesUsed.add(ev.prefix);
    } else {
      // zebra's route is in (again): the copy is not needed any more
      h.copies.delete(ev.prefix);
      out.ip.push(removeHoldRoute(copy.route, d));
    }
    return out;
  }

  /** Neighbours waiting for their VXLAN entry (onEvent) longer than WAIT_FDB_MS are put back anyway. */
  get waitingSince(): number | undefined {
    const w = [...(this.hold?.waiting.values() ?? [])].map((x) => x.since);
    return w.length > 0 ? Math.min(...w) : undefined;
  }

  /** Called periodically while holding: copies no longer needed go; the report when the hold ends. */
  tick(): { lines: BatchLines; report?: HoldReport } {
    const out = none();
    const h = this.hold;
    if (!h) return { lines: out };
    const now = this.now();
    const d = this.opts.devices;
    if (now - h.since > this.maxHoldMs) return this.end('expired', out);
    out.ip.push(...this.putBackWaiting((w) => now - w.since >= WAIT_FDB_MS));
    const gone = this.opts.bgpdGone();
    if (gone) h.bgpdWentDown = true;
    else if (h.bgpdWentDown && h.bgpdBackAt === undefined) h.bgpdBackAt = now;
    const allTakenBack = h.neigh.size === 0 && h.fdb.size === 0;
    // no flush to undo (an FRR that keeps the entries): copies zebra never touched go a while after bgpd is back
    const noFlush = h.restoredNeighbours + h.restoredFdb === 0 && h.bgpdBackAt !== undefined && now - h.bgpdBackAt > NO_FLUSH_SETTLE_MS;
    for (const [prefix, c] of h.copies) {
      const goneForGood = c.removedAt !== undefined && now - c.removedAt > this.settleMs;
      const settled =
        c.removedAt === undefined && ((allTakenBack && h.takenBackAt !== undefined && now - h.takenBackAt > this.settleMs) || noFlush);
      if (goneForGood || settled) {
        h.copies.delete(prefix);
        out.ip.push(removeHoldRoute(c.route, d));
      }
    }
    if (allTakenBack && h.copies.size === 0 && h.waiting.size === 0 && !gone) return this.end('released', out);
    return { lines: out };
  }

  /** The hold stops now (the supervisor stops, the EVPN config changed): the copies go, the entries stay. */
  stop(): { lines: BatchLines; report?: HoldReport } {
    return this.hold ? this.end('stopped', none()) : { lines: none() };
  }

  private end(outcome: HoldOutcome, out: BatchLines): { lines: BatchLines; report: HoldReport } {
    const h = this.hold;
    if (!h) throw new Error('no hold');
    const d = this.opts.devices;
    for (const c of h.copies.values()) out.ip.push(removeHoldRoute(c.route, d));
    const notTakenBack = [
      ...[...h.neigh.values()].map((n) => `neighbour ${n.ip} ${n.mac}`),
      ...[...h.fdb.values()].map((f) => `fdb ${fdbKey(f)}`),
    ];
    if (outcome === 'expired') {
      // zebra installs again the entries it still knows when they are removed (zl3vni_local_nh_del,
      // zebra_vxlan_dp_network_mac_del): what it does not know was withdrawn while bgpd was down
      for (const n of h.neigh.values()) {
        out.ip.push(removeNeighbour(n, d));
        this.neighs.delete(neighKey(n));
      }
      for (const f of h.fdb.values()) {
        out.bridge.push(removeFdb(f, d));
        this.fdbs.delete(fdbKey(f));
      }
    }
    this.hold = undefined;
    return {
      lines: out,
      report: {
        outcome,
        reason: h.reason,
        durationMs: this.now() - h.since,
        restoredNeighbours: h.restoredNeighbours,
        restoredFdb: h.restoredFdb,
        routesHeld: h.routesHeld,
        routesUsed: h.routesUsed.size,
        notTakenBack,
      },
    };
  }

  /**
   * The default entries follow the remote VTEPs of zebra's router MACs: one added for a new VTEP at once; one removed
   * when no router MAC uses its VTEP any more, but not during a hold (zebra's entries come back then).
   */
  private floodLines(): BatchLines {
    const out = none();
    const wanted = new Set([...this.fdbs.values()].flatMap((f) => (f.kind === 'self' && f.dst !== undefined ? [f.dst] : [])));
    for (const v of wanted)
      if (!this.flood.has(v)) {
        this.flood.add(v);
        out.bridge.push(addFlood(v, this.opts.devices));
      }
    if (!this.hold)
      for (const v of this.flood)
        if (!wanted.has(v)) {
          this.flood.delete(v);
          out.bridge.push(removeFlood(v, this.opts.devices));
        }
    return out;
  }

  /** The default entries go (the hold stops watching). */
  removeFloods(): BatchLines {
    const out = none();
    for (const v of this.flood) out.bridge.push(removeFlood(v, this.opts.devices));
    this.flood.clear();
    return out;
  }

  private putBackWaiting(which: (w: { entry: NeighEntry; since: number }) => boolean): string[] {
    const h = this.hold;
    if (!h) return [];
    const lines: string[] = [];
    for (const [k, w] of h.waiting)
      if (which(w)) {
        h.waiting.delete(k);
        lines.push(restoreNeighbour(w.entry, this.opts.devices));
      }
    return lines;
  }

  /** A removal of zebra's entries now is its flush (bgpd is down): the hold starts if it has not. */
  private flushing(): boolean {
    if (this.hold) return true;
    if (!this.opts.bgpdGone()) return false;
    this.arm('zebra removed the EVPN entries while bgpd was down');
    return true;
  }

  private count(key: string): boolean {
    const h = this.hold;
    if (!h) return false;
    const n = (h.restores.get(key) ?? 0) + 1;
    h.restores.set(key, n);
    return n <= MAX_RESTORES;
  }
}

const isZebra = (proto: string | undefined): boolean => proto === PROTO_ZEBRA || proto === 'zebra';
const isBgp = (proto: string | undefined): boolean => proto === PROTO_BGP || proto === 'bgp';
