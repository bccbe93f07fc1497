/**
 * The PrometheusRule's alerts under `promtool test rules` (Debian's Prometheus 2.42). test/alerts/<alert>.yaml:
 * one file per alert, with inputs that fire and inputs that must not (the `for` not yet elapsed, a flapping
 * session, a bad edit fixed at once, crashes spread out, a counter that starts at the first crash). The rules
 * are extracted from deploy/prometheusrule.yaml into rules.yaml beside a copy of each file. Each file must also
 * fail against the same rules with the alert's `for` doubled, and with it halved: both its firing and its
 * not-yet-firing edges really check something. And every alert links its runbook: a `runbook_url` annotation
 * `docs/operations.md#<anchor>` whose section exists and says what the alert means, how to confirm it and what to do.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parse } from 'yaml';
import { alertRules, durationMs, PROMTOOL, rulesFileText } from '../helpers/prometheus.ts';
import { anchors, githubSlug, headings } from '../helpers/markdown.ts';
import type { AlertRule, RuleGroup } from '../helpers/prometheus.ts';

const ALERTS_DIR = fileURLToPath(new URL('../alerts/', import.meta.url));
const alerts = alertRules().map((r) => r.alert);

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}
interface TestFile {
  rule_files?: string[];
  tests?: Array<{ name?: string; alert_rule_test?: AlertTest[] }>;
}

/** A temp dir with rules.yaml (the given rules text) and a copy of every test file; removed by the caller. */
function workDir(rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-alerts-'));
  writeFileSync(join(dir, 'rules.yaml'), rules);
  for (const f of readdirSync(ALERTS_DIR)) copyFileSync(join(ALERTS_DIR, f), join(dir, f));
  return dir;
}

async function promtoolTest(dir: string, file: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa(PROMTOOL, ['test', 'rules', file], { cwd: dir, reject: false, all: true });
  return { ok: r.exitCode === 0, output: String(r.all ?? '') };
}

describe('alerts: promtool test rules over the rules of deploy/prometheusrule.yaml', () => {
  const dirs: string[] = [];
  let dir = '';

  before(() => {
    if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: scripts/install-deps.sh installs Debian's prometheus`);
    dir = workDir(rulesFileText());
    dirs.push(dir);
  });
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('one test file per alert, each testing its own alert both firing and not firing', () => {
    assert.deepEqual(readdirSync(ALERTS_DIR).sort(), alerts.map((a) => `${a}.yaml`).sort());
    for (const alert of alerts) {
      const doc = parse(readFileSync(join(ALERTS_DIR, `${alert}.yaml`), 'utf8')) as TestFile;
      assert.deepEqual(doc.rule_files, ['rules.yaml'], alert);
      const cases = (doc.tests ?? []).flatMap((t) => t.alert_rule_test ?? []);
      assert.ok(cases.length > 0, `${alert}: no alert_rule_test`);
      for (const c of cases) assert.equal(c.alertname, alert, `${alert}.yaml tests ${c.alertname}`);
      assert.ok(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert}: no case where it fires`,
      );
      assert.ok(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert}: no case where it must not fire`,
      );
      for (const t of doc.tests ?? []) assert.ok(t.name, `${alert}: every test group says what it checks (name)`);
    }
  });

  it("the rules given to the e2e test's server differ from the PrometheusRule in `for` only", () => {
    const shortened = (parse(rulesFileText({ forFactor: 30 })) as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules);
    const original = alertRules();
    assert.equal(shortened.length, original.length);
    for (const [i, r] of original.entries()) {
      const { for: f, ...rest } = shortened[i] ?? ({} as AlertRule);
      const { for: g, ...want } = r;
      assert.deepEqual(rest, want, r.alert);
      assert.equal(durationMs(f ?? '0s') * 30, durationMs(g ?? '0s'), `${r.alert}: for ${String(g)} / 30`);
    }
  });

  for (const alert of alerts) {
    it(`${alert}: promtool test rules passes`, async () => {
      const r = await promtoolTest(dir, `${alert}.yaml`);
      assert.ok(r.ok, r.output);
    });
  }

  for (const [label, factor] of [
    ['doubled', 0.5],
    ['halved', 2],
  ] as const) {
    it(`every test file fails when its alert's for is ${label}`, async () => {
      const mutated = workDir(rulesFileText({ forFactor: factor }));
      dirs.push(mutated);
      for (const alert of alerts) {
        const r = await promtoolTest(mutated, `${alert}.yaml`);
        assert.ok(!r.ok, `${alert}.yaml still passes with for ${label}:\n${r.output}`);
        assert.match(r.output, new RegExp(`alertname: ${alert}`), r.output);
      }
    });
  }
});

const RUNBOOKS_PAGE = 'docs/operations.md';
const RUNBOOK_URL = /^docs\/operations\.md#([a-z0-9_-]+)$/;

/** The section of a Markdown page under the heading whose anchor is `anchor`, up to the next heading of its level or higher. */
function sectionByAnchor(page: string, anchor: string): string | undefined {
  const lines = page.split('\n');
  const found = headings(page).find((h) => githubSlug(h.title) === anchor);
  if (!found) return undefined;
  const start = lines.findIndex((l) => l === `${'#'.repeat(found.level)} ${found.title}`);
  const end = lines.findIndex((l, i) => i > start && new RegExp(`^#{1,${found.level}} `).test(l));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** What is wrong with the alerts' runbook links: none, a form other than docs/operations.md#anchor, a missing or empty section. */
function runbookProblems(rules: AlertRule[], page: string): string[] {
  const problems: string[] = [];
  const known = anchors(page);
  for (const r of rules) {
    const url = r.annotations?.runbook_url;
    if (!url) {
      problems.push(`${r.alert}: no runbook_url annotation`);
      continue;
    }
    const anchor = RUNBOOK_URL.exec(url)?.[1];
    if (!anchor) {
      problems.push(`${r.alert}: runbook_url ${url} is not ${RUNBOOKS_PAGE}#<anchor>`);
      continue;
    }
    if (anchor !== githubSlug(r.alert))
      problems.push(`${r.alert}: runbook_url points at #${anchor}, not its own section #${githubSlug(r.alert)}`);
    if (!known.has(anchor)) {
      problems.push(`${r.alert}: ${RUNBOOKS_PAGE} has no section #${anchor}`);
      continue;
    }
    const text = sectionByAnchor(page, anchor) ?? '';
    for (const part of ['**Means**', '**Confirm**', '**Do**'])
      if (!text.includes(part)) problems.push(`${r.alert}: its runbook has no ${part} part`);
    if (!/frr-supervisor status|vtysh/.test(text))
      problems.push(`${r.alert}: its runbook does not say how to confirm with frr-supervisor status or vtysh`);
  }
  return problems;
}

describe('alerts: a runbook per alert in docs/operations.md', () => {
  const page = readFileSync(fileURLToPath(new URL(`../../${RUNBOOKS_PAGE}`, import.meta.url)), 'utf8');

  it('every alert has a runbook_url to its own section, which says what it means, how to confirm it and what to do', () => {
    assert.ok(alerts.length >= 6, `alerts: ${alerts.join(', ')}`);
    const problems = runbookProblems(alertRules(), page);
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  it('the check fails on a missing annotation, another URL form, a missing anchor or a section without its parts', () => {
    const rule = (alert: string, runbook_url?: string): AlertRule => ({
      alert,
      expr: 'vector(1)',
      ...(runbook_url !== undefined && { annotations: { runbook_url } }),
    });
    const problems = runbookProblems(
      [
        rule('FrrSupervisorNotReady'),
        rule('FrrSupervisorNotReady', 'https://example.org/runbooks#frrsupervisornotready'),
        rule('FrrSupervisorNoSuchAlert', 'docs/operations.md#frrsupervisornosuchalert'),
        rule('FrrSupervisorConfigInvalid', 'docs/operations.md#frrsupervisornotready'),
      ],
      page,
    );
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0] ?? '', /no runbook_url annotation/);
    assert.match(problems[1] ?? '', /is not docs\/operations\.md#<anchor>/);
    assert.match(problems[2] ?? '', /has no section #frrsupervisornosuchalert/);
    assert.match(problems[3] ?? '', /not its own section #frrsupervisorconfiginvalid/);
    const bare = '## Alert runbooks\n\n### FrrSupervisorNotReady\n\nSomething is wrong.\n\n## Logs\n';
    assert.deepEqual(runbookProblems([rule('FrrSupervisorNotReady', 'docs/operations.md#frrsupervisornotready')], bare), [
      'FrrSupervisorNotReady: its runbook has no **Means** part',
      'FrrSupervisorNotReady: its runbook has no **Confirm** part',
      'FrrSupervisorNotReady: its runbook has no **Do** part',
      'FrrSupervisorNotReady: its runbook does not say how to confirm with frr-supervisor status or vtysh',
    ]);
  });
});
