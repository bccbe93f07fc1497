/**
 * The PrometheusRule's alerts under `promtool test rules` (Debian's Prometheus 2.42). test/alerts/<alert>.yaml:
 * one file per alert, with inputs that fire and inputs that must not (the `for` not yet elapsed, a flapping
 * session, a bad edit fixed at once, crashes spread out, a counter that starts at the first crash). The rules
 * are extracted from deploy/prometheusrule.yaml into rules.yaml beside a copy of each file. Each file must also
 * fail against the same rules with the alert's `for` doubled, and with it halved: both its firing and its
 * not-yet-firing edges really check something.
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
