/** The README stays true to the code: every run flag with its default, every metric, every command, the quick start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FLAGS } from '../../src/cli/run-cmd.ts';
import { METRIC_NAMES } from '../../src/observe/metrics.ts';
import { MAIN_HELP } from '../../src/cli/cli.ts';
import { ENV_MAPPING } from '../../src/config/env.ts';
import { TESTED_VERSIONS } from '../../src/frr/version.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

test('every run flag is documented with its default', () => {
  for (const [flag, spec] of Object.entries(RUN_FLAGS)) {
    if (flag === 'help') continue;
    const row = README.split('\n').find((l) => l.startsWith(`| \`--${flag}\``));
    assert.ok(row, `--${flag} missing from the README's run options table`);
    if ('default' in spec) assert.ok(row.includes(`\`${spec.default}\``), `--${flag}: default ${spec.default} not in ${row}`);
  }
});

test('every exported metric, command and Kube-OVN variable is documented', () => {
  for (const m of METRIC_NAMES) assert.ok(README.includes(`\`${m}\``), `metric ${m}`);
  for (const cmd of [...MAIN_HELP.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]))
    assert.ok(README.includes(`frr-supervisor ${cmd ?? ''}`), `command ${cmd}`);
  for (const v of Object.keys(ENV_MAPPING)) assert.ok(README.includes(`\`${v}\``), `variable ${v}`);
});

test('the quick start is exactly the two npm scripts, and .ci/run calls the test command', () => {
  const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
  const commands = block
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('#')[0]?.trim());
  assert.deepEqual(commands, ['npm run demo', 'npm test']);
  assert.ok(pkg.scripts.demo?.includes('scripts/install-deps.sh'));
  assert.ok(pkg.scripts.test?.includes('scripts/install-deps.sh'));
  assert.match(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8'), /^npm test$/m);
});

/** Every `event` the code logs (the literal `event: 'name'` in src/), so that an operator can grep for each. */
function loggedEvents(dir: URL): string[] {
  const out = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/\bevent: '([a-z0-9_]+)'/g)) out.add(m[1] ?? '');
  }
  return [...out].sort();
}

test("every logged event is in the README's list of log events", () => {
  const events = loggedEvents(new URL('../../src/', import.meta.url));
  assert.ok(events.length >= 20, `events found in src/: ${events.join(', ')}`);
  const logs = /## Logs\n([\s\S]*?)\n## /.exec(README)?.[1] ?? '';
  const missing = events.filter((e) => !logs.includes(`\`${e}\``));
  assert.deepEqual(missing, [], `logged but not in the README's Logs section: ${missing.join(', ')}`);
});

test('.ci/run runs the image test after the test command, and the README says which FRR versions are tested', () => {
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  assert.match(ci, /^npm test\nnpm run test:image$/m);
  assert.equal(pkg.scripts['test:image'], 'bash scripts/test-image.sh');
  const section = /## FRR versions\n([\s\S]*?)\n## /.exec(README)?.[1] ?? '';
  for (const v of TESTED_VERSIONS) assert.ok(section.includes(`FRR ${v}`), `the README's FRR versions section names FRR ${v}`);
  assert.match(section, /9\.1\.3/, "and what Kube-OVN's FRR 9.1.3 users should expect");
  assert.match(README, /npm run test:image/);
});
