/**
 * Debian's Prometheus (2.42) for the tests: promtool's exposition lint and the only problems it may report (the
 * naming of prometheus-frr-exporter, which the FRR families copy), the rules of deploy/prometheusrule.yaml as a
 * plain Prometheus rules file (optionally with every `for` shortened, expressions untouched), the text format's
 * families, and the Grafana dashboard's queries with its variables filled in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY = join(REPO, 'deploy');

export const PROMTOOL = '/usr/bin/promtool';
export const PROMETHEUS = '/usr/bin/prometheus';
/** Debian's prometheus-frr-exporter (1.1.4): the names, labels and types the FRR families copy. */
export const FRR_EXPORTER = '/usr/bin/prometheus-frr-exporter';

export interface AllowedLint {
  metric: string;
  /** promtool's text for the problem. */
  problem: string;
  reason: string;
}

const GAUGE_TOTAL = 'non-counter metrics should not have "_total" suffix';
const CAMEL_LABELS = "label names should be written in 'snake_case' not 'camelCase'";

/**
 * The only problems `promtool check metrics` may find in /metrics: prometheus-frr-exporter's own naming, which we
 * keep so that its dashboards and alerts work unchanged. Everything else is fixed, not allowed.
 */
export const EXPORTER_WARTS: readonly AllowedLint[] = [
  {
    metric: 'frr_bgp_peer_prefixes_received_count_total',
    problem: GAUGE_TOTAL,
    reason: 'the exporter exports the received prefix count (it goes down as well as up) as a gauge under this _total name',
  },
  {
    metric: 'frr_bgp_peer_prefixes_advertised_count_total',
    problem: GAUGE_TOTAL,
    reason: 'the exporter exports the advertised prefix count (it goes down as well as up) as a gauge under this _total name',
  },
  {
    metric: 'frr_bgp_l2vpn_evpn_remote_vtep_count_total',
    problem: GAUGE_TOTAL,
    reason: 'the exporter exports the number of remote VTEPs of a VNI as a gauge under this _total name',
  },
  {
    metric: 'frr_bgp_l2vpn_evpn_remote_vtep_count_total',
    problem: CAMEL_LABELS,
    reason: "the exporter's labels of this family are vxlanIf and tenantVrf (FRR's JSON keys)",
  },
  {
    metric: 'frr_bfd_peer_count',
    problem: 'non-histogram and non-summary metrics should not have "_count" suffix',
    reason: 'the exporter names the number of BFD sessions frr_bfd_peer_count (a gauge), and its dashboards use that name',
  },
];

export interface LintResult {
  /** Every problem, as `metric: text`. */
  problems: string[];
  /** Problems that no EXPORTER_WARTS entry allows (or promtool's parse error). */
  unexpected: string[];
  /** The allowed problems seen, as `metric: text`. */
  allowed: Set<string>;
}

export const lintKey = (w: { metric: string; problem: string }): string => `${w.metric}: ${w.problem}`;

/** `promtool check metrics` on an exposition (its stdin); exit 0 = clean, 3 = lint problems, else an error. */
export async function promtoolLint(text: string): Promise<LintResult> {
  const r = await execa(PROMTOOL, ['check', 'metrics'], { input: text, reject: false, all: true });
  const allowedKeys = new Set(EXPORTER_WARTS.map(lintKey));
  const out = String(r.all ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  if (r.exitCode !== 0 && r.exitCode !== 3)
    return { problems: out, unexpected: [`promtool exited ${String(r.exitCode)}: ${out.join(' | ')}`], allowed: new Set() };
  const problems = out.map((l) => {
    const i = l.indexOf(' ');
    return i < 0 ? l : `${l.slice(0, i)}: ${l.slice(i + 1)}`;
  });
  return {
    problems,
    unexpected: problems.filter((p) => !allowedKeys.has(p)),
    allowed: new Set(problems.filter((p) => allowedKeys.has(p))),
  };
}

export interface Family {
  type: string;
  help: string;
  /** Label names seen on the family's samples. */
  labels: Set<string>;
  samples: number;
}

/** The families of a text exposition: TYPE, HELP, the label names of its samples. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const fam = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: 'untyped', help: '', labels: new Set(), samples: 0 }));
    return f;
  };
  let current = '';
  for (const line of text.split('\n')) {
    const meta = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = fam((current = meta[2] ?? ''));
      if (meta[1] === 'TYPE') f.type = meta[3] ?? '';
      else f.help = meta[3] ?? '';
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    const base = families.has(name) ? name : current;
    const f = fam(base);
    f.samples++;
    for (const m of line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g))
      if (m[1] !== 'le' && m[1] !== 'quantile') f.labels.add(m[1] ?? '');
  }
  return families;
}

/** The value of the first sample of `name` whose labels include `labels` (undefined when there is none). */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

// ---- the PrometheusRule ------------------------------------------------------------------------------------

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

/** The rule groups of deploy/prometheusrule.yaml (the PrometheusRule's spec). */
export function prometheusRuleGroups(): RuleGroup[] {
  const doc = parse(readFileSync(join(DEPLOY, 'prometheusrule.yaml'), 'utf8')) as { kind?: string; spec?: { groups?: RuleGroup[] } };
  if (doc.kind !== 'PrometheusRule' || !Array.isArray(doc.spec?.groups))
    throw new Error('deploy/prometheusrule.yaml: not a PrometheusRule with spec.groups');
  return doc.spec.groups;
}

/** Every alert rule of deploy/prometheusrule.yaml. */
export function alertRules(): AlertRule[] {
  return prometheusRuleGroups().flatMap((g) => g.rules.filter((r) => typeof r.alert === 'string'));
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** A Prometheus duration (`2m`, `1h30m`, `500ms`) in milliseconds. */
export function durationMs(d: string): number {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(d)) throw new Error(`not a Prometheus duration: ${d}`);
  let ms = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  return ms;
}

/** Milliseconds as a Prometheus duration (whole milliseconds). */
export function formatDuration(ms: number): string {
  const whole = Math.max(1, Math.round(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

/**
 * The PrometheusRule's groups as a Prometheus rules file. `forFactor` divides every `for` (the e2e test's
 * shortened alerts); the expressions, labels and annotations are left exactly as they are.
 */
export function rulesFileText(opts: { forFactor?: number; evaluationInterval?: string } = {}): string {
  const groups = prometheusRuleGroups().map((g) => ({
    ...g,
    ...(opts.evaluationInterval && { interval: opts.evaluationInterval }),
    rules: g.rules.map((r) => (r.for && opts.forFactor ? { ...r, for: formatDuration(durationMs(r.for) / opts.forFactor) } : r)),
  }));
  return stringify({ groups }, { lineWidth: 0 });
}

// ---- the Grafana dashboard ---------------------------------------------------------------------------------

export interface DashboardQuery {
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  type?: string;
  title?: string;
  targets?: Array<{ refId?: string; expr?: string }>;
  panels?: Panel[];
}

export function loadDashboard(): { panels?: Panel[]; templating?: { list?: Array<{ name?: string; type?: string; query?: unknown }> } } {
  return JSON.parse(readFileSync(join(DEPLOY, 'grafana-dashboard.json'), 'utf8')) as ReturnType<typeof loadDashboard>;
}

/**
 * Every panel query of deploy/grafana-dashboard.json, as Grafana would send it: `$namespace`/`$pod` (regex
 * matchers) become the given values, `$__rate_interval`/`$__interval` and `$__range` the given durations.
 */
export function dashboardQueries(vars: { namespace: string; pod: string; rateInterval: string; range: string }): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[] = []): void => {
    for (const p of panels) {
      if (p.type === 'row') walk(p.panels);
      for (const t of p.targets ?? []) {
        const expr = (t.expr ?? '')
          .replace(/\$\{?namespace\}?/g, escapeRegex(vars.namespace))
          .replace(/\$\{?pod\}?/g, escapeRegex(vars.pod))
          .replace(/\$\{?__(?:rate_interval|interval)\}?/g, vars.rateInterval)
          .replace(/\$\{?__range\}?/g, vars.range);
        out.push({ panel: p.title ?? '?', refId: t.refId ?? '?', expr });
      }
    }
  };
  walk(loadDashboard().panels);
  return out;
}

/** A label value as a PromQL regex matching only itself (Grafana escapes multi-value variables the same way). */
function escapeRegex(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}
