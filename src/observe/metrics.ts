/**
 * Prometheus metrics (prom-client, with its default process metrics). FRR-derived series use
 * prometheus-frr-exporter's names and labels so its dashboards work unchanged; they are rebuilt from each
 * poll, so a neighbour removed from the config leaves no stale series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApplyRecord } from '../supervisor/apply.ts';
import type { FrrSnapshot } from './poller.ts';
import type { SupervisorView } from './view.ts';

/** Every metric family this process exports (dashboards and alerts may use only these). */
export const METRIC_NAMES = [
  'frr_bgp_peer_state',
  'frr_bgp_peer_uptime_seconds',
  'frr_bgp_peer_prefixes_received_count_total',
  'frr_bgp_peer_prefixes_advertised_count_total',
  'frr_bgp_peer_message_received_total',
  'frr_bgp_peer_message_sent_total',
  'frr_bgp_l2vpn_evpn_remote_vtep_count_total',
  'frr_evpn_vni_up',
  'frr_evpn_prefix_routes',
  'frr_supervisor_config_valid',
  'frr_supervisor_config_applies_total',
  'frr_supervisor_config_apply_duration_seconds',
  'frr_supervisor_config_last_success_timestamp_seconds',
  'frr_supervisor_daemon_up',
  'frr_supervisor_daemon_restarts_total',
  'frr_supervisor_poll_duration_seconds',
  'frr_supervisor_poll_errors_total',
  'frr_supervisor_ready',
] as const;

/** How often the event-loop delay is sampled for nodejs_eventloop_lag_* (ms). */
export const EVENT_LOOP_SAMPLE_MS = 1000;

const PEER_LABELS = ['vrf', 'afi', 'safi', 'local_as', 'peer', 'peer_as'] as const;

/** FRR's AFI key -> the exporter's afi/safi labels. */
export function afiSafi(key: string): { afi: string; safi: string } {
  const m = /^(ipv4|ipv6|l2Vpn|linkState)([A-Z][A-Za-z]*)$/.exec(key);
  if (!m?.[1] || !m[2]) return { afi: key.toLowerCase(), safi: '' };
  return { afi: m[1].toLowerCase(), safi: m[2].toLowerCase() };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly peerState = this.gauge('frr_bgp_peer_state', 'State of the BGP peer: 1 Established, 2 administratively down, 0 otherwise.', PEER_LABELS);
  private readonly peerUptime = this.gauge('frr_bgp_peer_uptime_seconds', 'How long the BGP session has been Established.', PEER_LABELS);
  private readonly pfxRcv = this.gauge('frr_bgp_peer_prefixes_received_count_total', 'Prefixes received from the peer.', PEER_LABELS);
  private readonly pfxSnt = this.gauge('frr_bgp_peer_prefixes_advertised_count_total', 'Prefixes advertised to the peer.', PEER_LABELS);
  private readonly msgRcv = this.gauge('frr_bgp_peer_message_received_total', 'BGP messages received from the peer.', PEER_LABELS);
  private readonly msgSnt = this.gauge('frr_bgp_peer_message_sent_total', 'BGP messages sent to the peer.', PEER_LABELS);
  private readonly vtepCount = this.gauge('frr_bgp_l2vpn_evpn_remote_vtep_count_total', 'Remote VTEPs of the VNI.', ['vni', 'type', 'vxlanIf', 'tenantVrf']);
  private readonly vniUp = this.gauge('frr_evpn_vni_up', '1 when the VNI is known to zebra and up (an L3 VNI reports its VRF state).', ['vni', 'type', 'vrf']);
  private readonly prefixRoutes = this.gauge('frr_evpn_prefix_routes', 'BGP routes installed in the tenant VRF (imported EVPN type-5 routes).', ['vrf', 'vni']);
  private readonly configValid = this.gauge('frr_supervisor_config_valid', '1 when the current input is valid.', []);
  readonly applies = new Counter({ name: 'frr_supervisor_config_applies_total', help: 'Config applies by result (applied, failed, invalid).', labelNames: ['result'], registers: [this.registry] });
  readonly applyDuration = new Histogram({ name: 'frr_supervisor_config_apply_duration_seconds', help: 'Duration of successful applies (write, restart, push, verify).', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [this.registry] });
  private readonly lastSuccess = this.gauge('frr_supervisor_config_last_success_timestamp_seconds', 'When a config was last applied successfully (unix time).', []);
  private readonly daemonUp = this.gauge('frr_supervisor_daemon_up', '1 when the daemon runs.', ['daemon']);
  readonly daemonRestarts = new Counter({ name: 'frr_supervisor_daemon_restarts_total', help: 'Daemon restarts by reason (config, crash, dependency).', labelNames: ['daemon', 'reason'], registers: [this.registry] });
  readonly pollDuration = new Histogram({ name: 'frr_supervisor_poll_duration_seconds', help: 'Wall time of one poll of FRR state.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3, 5], registers: [this.registry] });
  readonly pollErrors = new Counter({ name: 'frr_supervisor_poll_errors_total', help: 'vtysh commands that failed or timed out in a poll.', labelNames: ['command'], registers: [this.registry] });
  private readonly ready = this.gauge('frr_supervisor_ready', '1 when /readyz answers 200.', []);

  constructor() {
    // prom-client samples the event-loop delay every 10 ms by default: 100 wake-ups a second, ~8 ms of CPU per
    // second on its own, more than everything else this process does when idle. Once a second is enough to see a
    // blocked loop (nodejs_eventloop_lag_max_seconds), and costs nothing measurable.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    for (const result of ['applied', 'failed', 'invalid']) this.applies.inc({ result }, 0);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] });
  }

  recordApply(rec: ApplyRecord): void {
    if (rec.result === 'unchanged') return;
    this.applies.inc({ result: rec.result });
    if (rec.result === 'applied') this.applyDuration.observe(rec.durationMs / 1000);
  }

  /** Refreshes every gauge from the supervisor's view and the last poll. */
  update(view: SupervisorView, snapshot: FrrSnapshot | undefined, ready: boolean): void {
    const input = view.input();
    this.configValid.set(input?.valid ? 1 : 0);
    const last = view.lastSuccessAt();
    if (last) this.lastSuccess.set(last.getTime() / 1000);
    for (const d of view.daemonStatus()) this.daemonUp.set({ daemon: d.name }, d.running ? 1 : 0);
    this.ready.set(ready ? 1 : 0);
    if (!snapshot) return;
    for (const g of [this.peerState, this.peerUptime, this.pfxRcv, this.pfxSnt, this.msgRcv, this.msgSnt, this.vtepCount, this.vniUp, this.prefixRoutes]) g.reset();
    for (const p of snapshot.peers) {
      const { afi, safi } = afiSafi(p.afi);
      const labels = { vrf: p.vrf, afi, safi, local_as: String(p.localAs), peer: p.peer, peer_as: String(p.remoteAs) };
      this.peerState.set(labels, p.established ? 1 : p.adminDown ? 2 : 0);
      this.peerUptime.set(labels, p.uptimeSeconds);
      this.pfxRcv.set(labels, p.prefixesReceived);
      this.pfxSnt.set(labels, p.prefixesSent);
      this.msgRcv.set(labels, p.messagesReceived);
      this.msgSnt.set(labels, p.messagesSent);
    }
    const vrfUp = new Map(snapshot.vrfVnis.map((v) => [v.vni, v.state.toLowerCase() === 'up']));
    for (const v of snapshot.vnis) {
      const vteps = v.type === 'L3' ? (snapshot.l3RemoteVteps[v.vni] ?? []).length : (v.numRemoteVteps ?? v.remoteVteps.length);
      this.vtepCount.set({ vni: String(v.vni), type: v.type, vxlanIf: v.vxlanIf ?? '', tenantVrf: v.vrf }, vteps);
      const up = v.type === 'L3' ? (vrfUp.get(v.vni) ?? false) : true;
      this.vniUp.set({ vni: String(v.vni), type: v.type, vrf: v.vrf }, up ? 1 : 0);
    }
    const evpn = view.evpn();
    for (const [vrf, count] of Object.entries(snapshot.prefixRoutes)) this.prefixRoutes.set({ vrf, vni: evpn && evpn.vrf === vrf ? String(evpn.vni) : '' }, count);
  }
}
