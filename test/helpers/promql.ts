/**
 * PromQL checks for alert rules and dashboards, using the Prometheus project's own PromQL grammar
 * (@prometheus-io/lezer-promql, the parser of Prometheus' web UI): syntax errors, and the metric names an
 * expression selects.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlParse {
  /** Metric names of the expression's vector selectors, in order of appearance (duplicates kept once). */
  metrics: string[];
  /** Syntax errors, and selectors that name no metric (`{__name__=~"..."}` cannot be checked). */
  errors: string[];
}

export function parsePromql(expr: string): PromqlParse {
  const metrics: string[] = [];
  const errors: string[] = [];
  if (expr.trim() === '') return { metrics, errors: ['empty expression'] };
  const tree = parser.parse(expr);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push(`syntax error at offset ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 15), node.to + 15))}`);
        return false;
      }
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (!id) errors.push(`selector without a metric name: ${expr.slice(node.from, node.to)}`);
        else {
          const name = expr.slice(id.from, id.to);
          if (!metrics.includes(name)) metrics.push(name);
        }
      }
      return undefined;
    },
  });
  return { metrics, errors };
}

export interface MetricFamily {
  name: string;
  type: string;
}

/** Every series name a set of families exposes: a histogram has NAME_bucket, NAME_sum and NAME_count. */
export function seriesNames(families: readonly MetricFamily[]): Set<string> {
  const out = new Set<string>();
  for (const f of families) {
    if (f.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) out.add(f.name + suffix);
    else if (f.type === 'summary') for (const suffix of ['', '_sum', '_count']) out.add(f.name + suffix);
    else out.add(f.name);
  }
  return out;
}

/** Problems of one expression: syntax errors and metric names not in `known`. */
export function checkExpression(expr: string, known: ReadonlySet<string>): string[] {
  const { metrics, errors } = parsePromql(expr);
  return [...errors, ...metrics.filter((m) => !known.has(m)).map((m) => `metric ${m} is not exported by frr-supervisor`)];
}
