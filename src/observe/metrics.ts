/**
 * Prometheus metrics. The supervisor's own metrics and the default process metrics live in a prom-client
 * registry; the FRR-derived series (prometheus-frr-exporter's names and labels, so its dashboards work unchanged)
 * are written as exposition text straight from each poll's snapshot, so a neighbour removed from the config
 * leaves no stale series, and 200 neighbours cost well under a millisecond to render instead of prom-client's
 * ~4 ms of label hashing and formatting (which queued every /metrics request behind it).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DAEMON_NAMES } from '../frr/daemon.ts';
import type { ApplyRecord } from '../supervisor/records.ts';
import type { LiveFallbackStage } from '../supervisor/live-apply.ts';
import { pollCommands } from './poller.ts';
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
  'frr_bfd_peer_count',
  'frr_bfd_peer_state',
  'frr_bfd_peer_uptime',
  'frr_evpn_vni_up',
  'frr_evpn_prefix_routes',
  'frr_supervisor_bgp_peer_prefix_limit_exceeded',
  'frr_supervisor_config_valid',
  'frr_supervisor_config_applies_total',
  'frr_supervisor_config_apply_retries_total',
  'frr_supervisor_config_apply_duration_seconds',
  'frr_supervisor_config_last_success_timestamp_seconds',
  'frr_supervisor_live_apply_fallbacks_total',
  'frr_supervisor_evpn_holds_total',
  'frr_supervisor_evpn_hold_restored_total',
  'frr_supervisor_daemon_up',
  'frr_supervisor_daemon_restarts_total',
  'frr_supervisor_poll_duration_seconds',
  'frr_supervisor_poll_errors_total',
  'frr_supervisor_ready',
] as const;

/** How often the event-loop delay is sampled for nodejs_eventloop_lag_* (ms). */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** FRR's AFI key -> the exporter's afi/safi labels. */
export function afiSafi(key: string): { afi: string; safi: string } {
  const m = /^(ipv4|ipv6|l2Vpn|linkState)([A-Z][A-Za-z]*)$/.exec(key);
  if (!m?.[1] || !m[2]) return { afi: key.toLowerCase(), safi: '' };
  return { afi: m[1].toLowerCase(), safi: m[2].toLowerCase() };
}

/**
 * One FRR-derived family: written by renderFrrFamilies, never registered with prom-client. The type is
 * prometheus-frr-exporter's (1.1.4, Debian's): the message totals are counters; the prefix and VTEP counts are
 * gauges although their names end in _total (the exporter's naming, kept so that its dashboards work).
 */
interface FrrFamily {
  name: (typeof METRIC_NAMES)[number];
  help: string;
  type: 'gauge' | 'counter';
}

const PEER_FAMILIES = {
  state: { name: 'frr_bgp_peer_state', help: 'State of the BGP peer: 1 Established, 2 administratively down, 0 otherwise.', type: 'gauge' },
  uptime: { name: 'frr_bgp_peer_uptime_seconds', help: 'How long the BGP session has been Established.', type: 'gauge' },
  pfxRcv: { name: 'frr_bgp_peer_prefixes_received_count_total', help: 'Prefixes received from the peer.', type: 'gauge' },
  pfxSnt: { name: 'frr_bgp_peer_prefixes_advertised_count_total', help: 'Prefixes advertised to the peer.', type: 'gauge' },
  msgRcv: { name: 'frr_bgp_peer_message_received_total', help: 'BGP messages received from the peer.', type: 'counter' },
  msgSnt: { name: 'frr_bgp_peer_message_sent_total', help: 'BGP messages sent to the peer.', type: 'counter' },
} as const satisfies Record<string, FrrFamily>;
const VTEP_COUNT: FrrFamily = { name: 'frr_bgp_l2vpn_evpn_remote_vtep_count_total', help: 'Remote VTEPs of the VNI.', type: 'gauge' };
const VNI_UP: FrrFamily = {
  name: 'frr_evpn_vni_up',
  help: '1 when the VNI is known to zebra and up (an L3 VNI reports its VRF state).',
  type: 'gauge',
};
const PREFIX_ROUTES: FrrFamily = {
  name: 'frr_evpn_prefix_routes',
  help: 'BGP routes installed in the tenant VRF (imported EVPN type-5 routes).',
  type: 'gauge',
};
/** Not an exporter series: FRR holds the session down (`Idle (PfxCt)`) because the peer sent more than maximumPrefix. */
const PREFIX_LIMIT: FrrFamily = {
  name: 'frr_supervisor_bgp_peer_prefix_limit_exceeded',
  help: '1 while FRR holds the session down because the peer sent more prefixes than gateway.yaml maximumPrefix (state Idle (PfxCt)).',
  type: 'gauge',
};
/** bfdd's sessions, with prometheus-frr-exporter's BFD names (its collector `bfd`). */
const BFD_FAMILIES = {
  count: { name: 'frr_bfd_peer_count', help: 'Number of BFD sessions bfdd runs (0 while BFD is off).', type: 'gauge' },
  state: { name: 'frr_bfd_peer_state', help: 'State of the BFD session: 1 up, 0 down (or init, admin down).', type: 'gauge' },
  uptime: { name: 'frr_bfd_peer_uptime', help: 'How long the BFD session has been up, in seconds (0 while down).', type: 'gauge' },
} as const satisfies Record<string, FrrFamily>;
const FRR_FAMILIES: readonly FrrFamily[] = [
  ...Object.values(PEER_FAMILIES),
  ...Object.values(BFD_FAMILIES),
  VTEP_COUNT,
  VNI_UP,
  PREFIX_ROUTES,
  PREFIX_LIMIT,
];

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
function labelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  return `{${pairs.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}`;
}

/** A sample value as prom-client writes it (Go's formatting of special floats). */
function sample(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * The FRR-derived families from one poll, in the Prometheus text format (every family with HELP and TYPE, also
 * when it has no series, as prom-client writes a registered gauge).
 */
export function renderFrrFamilies(snapshot: FrrSnapshot | undefined, evpn: { vni: number; vrf: string } | undefined): string {
  const lines = new Map<FrrFamily, string[]>(FRR_FAMILIES.map((f) => [f, []]));
  // A series twice would make Prometheus reject the whole scrape: the first one wins (FRR's JSON has none).
  const seen = new Set<string>();
  const add = (f: FrrFamily, labelText: string, v: number): void => {
    const series = `${f.name}${labelText}`;
    if (seen.has(series)) return;
    seen.add(series);
    lines.get(f)?.push(`${series} ${sample(v)}`);
  };
  if (snapshot) {
    for (const p of snapshot.peers) {
      const { afi, safi } = afiSafi(p.afi);
      const l = labels([
        ['vrf', p.vrf],
        ['afi', afi],
        ['safi', safi],
        ['local_as', String(p.localAs)],
        ['peer', p.peer],
        ['peer_as', String(p.remoteAs)],
      ]);
      add(PEER_FAMILIES.state, l, p.established ? 1 : p.adminDown ? 2 : 0);
      add(PEER_FAMILIES.uptime, l, p.uptimeSeconds);
      add(PEER_FAMILIES.pfxRcv, l, p.prefixesReceived);
      add(PEER_FAMILIES.pfxSnt, l, p.prefixesSent);
      add(PEER_FAMILIES.msgRcv, l, p.messagesReceived);
      add(PEER_FAMILIES.msgSnt, l, p.messagesSent);
      add(PREFIX_LIMIT, l, p.state.includes('(PfxCt)') ? 1 : 0);
    }
    add(BFD_FAMILIES.count, '', snapshot.bfd.length);
    for (const b of snapshot.bfd) {
      const l = labels([
        ['local', b.local],
        ['peer', b.peer],
        ['iface', b.iface],
        ['vrf', b.vrf],
      ]);
      add(BFD_FAMILIES.state, l, b.up ? 1 : 0);
      add(BFD_FAMILIES.uptime, l, b.uptimeSeconds);
    }
    const vrfUp = new Map(snapshot.vrfVnis.map((v) => [v.vni, v.state.toLowerCase() === 'up']));
    for (const v of snapshot.vnis) {
      const vteps = v.type === 'L3' ? (snapshot.l3RemoteVteps[v.vni] ?? []).length : (v.numRemoteVteps ?? v.remoteVteps.length);
      add(
        VTEP_COUNT,
        labels([
          ['vni', String(v.vni)],
          ['type', v.type],
          ['vxlanIf', v.vxlanIf ?? ''],
          ['tenantVrf', v.vrf],
        ]),
        vteps,
      );
      const up = v.type === 'L3' ? (vrfUp.get(v.vni) ?? false) : true;
      add(
        VNI_UP,
        labels([
          ['vni', String(v.vni)],
          ['type', v.type],
          ['vrf', v.vrf],
        ]),
        up ? 1 : 0,
      );
    }
    for (const [vrf, count] of Object.entries(snapshot.prefixRoutes))
      add(
        PREFIX_ROUTES,
        labels([
          ['vrf', vrf],
          ['vni', evpn && evpn.vrf === vrf ? String(evpn.vni) : ''],
        ]),
        count,
      );
  }
  let out = '';
  for (const [f, series] of lines)
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${series.length > 0 ? `${series.join('\n')}\n` : ''}\n`;
  return out;
}

/** Results of frr_supervisor_config_applies_total (an `unchanged` apply is not counted). */
export const APPLY_RESULTS = ['applied', 'failed', 'invalid'] as const;
/** Stages of frr_supervisor_live_apply_fallbacks_total (src/supervisor/live-apply.ts). */
export const LIVE_FALLBACK_STAGES = ['vtysh', 'verify', 'precondition'] as const satisfies readonly LiveFallbackStage[];
/** Reasons of frr_supervisor_daemon_restarts_total: the daemons' `started` reasons but `initial` (src/supervisor/daemons.ts). */
export const RESTART_REASONS = ['config', 'crash', 'dependency'] as const;

/** Every label of a counter with the values known before anything happens. */
export type KnownLabels<L extends string> = { readonly [K in L]: readonly string[] };

/** Every combination of the known values: {a: [1, 2], b: [x]} -> [{a: 1, b: x}, {a: 2, b: x}]. */
export function labelCombinations(known: Readonly<Record<string, readonly string[]>>): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const [name, values] of Object.entries(known)) out = out.flatMap((partial) => values.map((v) => ({ ...partial, [name]: v })));
  return out;
}

export class Metrics {
  readonly registry = new Registry();
  /**
   * The known label values of every counter (see {@link counter}); a test checks that every counter of the
   * registry is listed here and exported at 0 for each combination before its first event.
   */
  readonly counterLabels = new Map<string, Readonly<Record<string, readonly string[]>>>();
  /** Label sets given their 0 series later, by {@link expect}, per counter. */
  private readonly expected = new Map<Counter<string>, Set<string>>();
  private readonly configValid = this.gauge('frr_supervisor_config_valid', '1 when the current input is valid.', []);
  readonly applies = this.counter('frr_supervisor_config_applies_total', 'Config applies by result (applied, failed, invalid).', {
    result: APPLY_RESULTS,
  });
  readonly applyRetries = this.counter(
    'frr_supervisor_config_apply_retries_total',
    'Retries of an apply that failed (the first failure of an input counts in frr_supervisor_config_applies_total{result="failed"}).',
    {},
  );
  readonly applyDuration = new Histogram({
    name: 'frr_supervisor_config_apply_duration_seconds',
    help: 'Duration of successful applies (write, restart, push, verify).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly liveFallbacks = this.counter(
    'frr_supervisor_live_apply_fallbacks_total',
    'Live changes (vtysh, no restart) that fell back to a restart, by stage: vtysh refused a command, the running config differed (verify), or not tried (precondition).',
    { stage: LIVE_FALLBACK_STAGES },
  );
  readonly evpnHolds = this.counter(
    'frr_supervisor_evpn_holds_total',
    "EVPN holds (a bgpd restart of an EVPN gateway on FRR 10.6+: the supervisor puts back the router MACs zebra removes and holds the VRF's routes), by outcome: released (zebra took everything back), expired (not within the restart time), stopped.",
    { outcome: ['released', 'expired', 'stopped'] },
  );
  readonly evpnHoldRestored = this.counter(
    'frr_supervisor_evpn_hold_restored_total',
    'Kernel entries the EVPN hold put back after zebra removed them while bgpd was down, by kind (neighbour, fdb).',
    { kind: ['neighbour', 'fdb'] },
  );
  private readonly lastSuccess = this.gauge(
    'frr_supervisor_config_last_success_timestamp_seconds',
    'When a config was last applied successfully (unix time).',
    [],
  );
  private readonly daemonUp = this.gauge('frr_supervisor_daemon_up', '1 when the daemon runs.', ['daemon']);
  readonly daemonRestarts = this.counter('frr_supervisor_daemon_restarts_total', 'Daemon restarts by reason (config, crash, dependency).', {
    daemon: DAEMON_NAMES,
    reason: RESTART_REASONS,
  });
  readonly pollDuration = new Histogram({
    name: 'frr_supervisor_poll_duration_seconds',
    help: 'Wall time of one poll of FRR state.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3, 5],
    registers: [this.registry],
  });
  /** Its commands are known once the EVPN target is (the tenant VRF's route summary): see {@link update}. */
  readonly pollErrors = this.counter('frr_supervisor_poll_errors_total', 'vtysh commands that failed or timed out in a poll.', {
    command: pollCommands(undefined),
  });
  private readonly ready = this.gauge('frr_supervisor_ready', '1 when /readyz answers 200.', []);
  /** The FRR families' text, from the snapshot it was rendered from (one render per poll at most). */
  private frr: { snapshot: FrrSnapshot | undefined; evpnKey: string; text: string } | undefined;

  constructor() {
    // prom-client samples the event-loop delay every 10 ms by default: 100 wake-ups a second, ~8 ms of CPU per
    // second on its own, more than everything else this process does when idle. Once a second is enough to see a
    // blocked loop (nodejs_eventloop_lag_max_seconds), and costs nothing measurable.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // prom-client's nodejs_active_{handles,requests,resources}_total are gauges named like counters (promtool:
    // "non-counter metrics should not have _total suffix"); each is the sum of its labelled sibling without the
    // suffix (nodejs_active_handles{type}...), which stays.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(name);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] });
  }

  /**
   * A counter that exists from the start: a 0 series for every combination of the label values known in advance
   * (the first event is then an increase that increase() and rate() see; a series born at 1 hides it, and the
   * restart-loop alert would need 4 crashes instead of 3). Values known only later get their 0 through
   * {@link expect}.
   */
  private counter<L extends string>(name: string, help: string, known: KnownLabels<L>): Counter<L> {
    const c = new Counter<L>({ name, help, labelNames: Object.keys(known) as L[], registers: [this.registry] });
    this.counterLabels.set(name, known);
    for (const labels of labelCombinations(known)) c.inc(labels as Partial<Record<L, string>>, 0);
    return c;
  }

  /** Gives a counter a 0 series for a label set learnt after the start (no-op when it has one already). */
  private expect<L extends string>(c: Counter<L>, labels: Record<L, string>): void {
    const key = JSON.stringify(labels);
    let seen = this.expected.get(c);
    if (!seen) this.expected.set(c, (seen = new Set()));
    if (seen.has(key)) return;
    seen.add(key);
    c.inc(labels, 0);
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
    // Reset first: a daemon that left the set (bfdd when BFD is turned off) leaves no stale series.
    this.daemonUp.reset();
    const daemons = view.daemonStatus();
    for (const d of daemons) this.daemonUp.set({ daemon: d.name }, d.running ? 1 : 0);
    // The daemons of this FRR (mgmtd from 10.0) and of this config (bfdd with BFD) get their restart 0s when they join.
    for (const d of daemons) for (const reason of RESTART_REASONS) this.expect(this.daemonRestarts, { daemon: d.name, reason });
    this.ready.set(ready ? 1 : 0);
    const evpn = view.evpn();
    const bfd = daemons.some((d) => d.name === 'bfdd');
    for (const command of pollCommands(evpn, bfd)) this.expect(this.pollErrors, { command });
    const evpnKey = evpn ? `${evpn.vni}/${evpn.vrf}` : '';
    const frr = this.frr;
    if (!frr || frr.snapshot !== snapshot || frr.evpnKey !== evpnKey)
      this.frr = { snapshot, evpnKey, text: renderFrrFamilies(snapshot, evpn) };
  }

  /** The whole exposition: the registry's families, then the FRR families of the last update. */
  async exposition(): Promise<string> {
    return (await this.registry.metrics()) + (this.frr?.text ?? renderFrrFamilies(undefined, undefined));
  }

  /** Every family /metrics exports, with its type (for the deploy checks). */
  async families(): Promise<Array<{ name: string; type: string }>> {
    const own = (await this.registry.getMetricsAsJSON()).map((m) => ({ name: m.name, type: String(m.type) }));
    return [...own, ...FRR_FAMILIES.map((f) => ({ name: f.name, type: f.type }))];
  }
}
