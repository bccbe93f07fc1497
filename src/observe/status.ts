/** The `/status` document: what the supervisor knows, for humans and `frr-supervisor status`. */
import type { FrrSnapshot } from './poller.ts';
import type { Verdict } from './health.ts';
import type { SupervisorView } from './view.ts';
import type { ApplyProgress, DataplaneReport } from '../supervisor/records.ts';
import { afiSafi } from './metrics.ts';
import { bfdSessionFor } from '../state/bfd.ts';

export interface StatusDoc {
  supervisor: { pid: number; phase: string; startedAt: string; uptimeSeconds: number; live: Verdict; ready: Verdict };
  config: {
    sources: Array<{ name: string; sha256: string }>;
    valid: boolean;
    problems: string[];
    running: { generation: number; hash: string; appliedAt: string } | null;
    lastApply: unknown;
    /** The step of the change plan in progress (null between applies). */
    applying: ApplyProgress | null;
    recentChecks: Array<{ at: string; result: string; reason: string }>;
    lastSuccessAt: string | null;
  };
  daemons: unknown[];
  neighbours: Array<{
    peer: string;
    vrf: string;
    configured: boolean;
    state: string;
    established: boolean;
    uptimeSeconds: number;
    remoteAs: number;
    lastResetReason: string | null;
    afis: Record<string, { prefixesReceived: number; prefixesSent: number }>;
    /** The neighbour's BFD session (null: BFD off, or bfdd has none for it). */
    bfd: {
      status: string;
      up: boolean;
      uptimeSeconds: number;
      multihop: boolean;
      /** Why it last went down (FRR's diagnostic). */
      diagnostic: string;
      /** Negotiated while up: transmit and receive intervals and the detection time, milliseconds. */
      negotiated: { transmitMs: number; receiveMs: number; detectTimeMs: number } | null;
    } | null;
  }>;
  evpn: Array<{
    vni: number;
    type: string;
    vrf: string;
    state: string | null;
    routerMac: string | null;
    vxlanIf: string | null;
    remoteVteps: string[];
    prefixRoutes: number | null;
  }>;
  poll: { at: string; durationMs: number; errors: Record<string, string> } | null;
  /** Failed data plane steps and the IP forwarding check (null before the first apply). */
  dataplane: DataplaneReport | null;
}

export function buildStatus(view: SupervisorView, snap: FrrSnapshot | undefined, live: Verdict, ready: Verdict): StatusDoc {
  const input = view.input();
  const configured = new Set(view.neighbours());
  const byPeer = new Map<string, StatusDoc['neighbours'][number]>();
  for (const p of snap?.peers ?? []) {
    const key = `${p.vrf}|${p.peer}`;
    let n = byPeer.get(key);
    if (!n) {
      const detail = snap?.neighbors.find((d) => d.peer === p.peer && (d.vrf ?? 'default') === p.vrf);
      const bfd = bfdSessionFor(snap?.bfd ?? [], p.peer, p.vrf);
      n = {
        peer: p.peer,
        vrf: p.vrf,
        configured: configured.has(p.peer),
        state: p.state,
        established: p.established,
        uptimeSeconds: p.uptimeSeconds,
        remoteAs: p.remoteAs,
        lastResetReason: detail?.lastResetReason ?? null,
        afis: {},
        bfd: bfd
          ? {
              status: bfd.status,
              up: bfd.up,
              uptimeSeconds: bfd.uptimeSeconds,
              multihop: bfd.multihop,
              diagnostic: bfd.diagnostic,
              negotiated: bfd.negotiated ?? null,
            }
          : null,
      };
      byPeer.set(key, n);
    }
    const { afi, safi } = afiSafi(p.afi);
    n.afis[`${afi}-${safi}`] = { prefixesReceived: p.prefixesReceived, prefixesSent: p.prefixesSent };
  }
  const vrfVni = new Map((snap?.vrfVnis ?? []).map((v) => [v.vni, v]));
  return {
    supervisor: {
      pid: process.pid,
      phase: view.phase(),
      startedAt: view.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - view.startedAt.getTime()) / 1000),
      live,
      ready,
    },
    config: {
      sources: input?.sources ?? [],
      valid: input?.valid ?? false,
      problems: input?.problems ?? [],
      running: view.running() ?? null,
      lastApply: view.lastApply() ?? null,
      applying: view.applyProgress?.() ?? null,
      recentChecks: view.recentChecks(),
      lastSuccessAt: view.lastSuccessAt()?.toISOString() ?? null,
    },
    daemons: view.daemonStatus(),
    neighbours: [...byPeer.values()],
    evpn: (snap?.vnis ?? []).map((v) => ({
      vni: v.vni,
      type: v.type,
      vrf: v.vrf,
      state: vrfVni.get(v.vni)?.state ?? v.state ?? null,
      routerMac: vrfVni.get(v.vni)?.routerMac ?? v.routerMac ?? null,
      vxlanIf: v.vxlanIf ?? null,
      remoteVteps: v.type === 'L3' ? (snap?.l3RemoteVteps[v.vni] ?? []) : v.remoteVteps,
      prefixRoutes: snap?.prefixRoutes[v.vrf] ?? null,
    })),
    poll: snap ? { at: snap.at.toISOString(), durationMs: snap.durationMs, errors: snap.errors } : null,
    dataplane: view.dataplane?.() ?? null,
  };
}
