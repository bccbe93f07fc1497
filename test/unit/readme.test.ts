/**
 * The docs stay true to the code, each fact checked in the page that holds it: the run flags with their defaults,
 * the Kube-OVN variables (docs/configuration.md); every metric and logged event (docs/operations.md); every
 * command, the quick start and the FRR versions (README.md). README.md stays a front door (under 350 lines), and
 * every relative link of README.md, docs/ and deploy/README.md resolves, anchors included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FLAGS } from '../../src/cli/run-cmd.ts';
import { METRIC_NAMES } from '../../src/observe/metrics.ts';
import { MAIN_HELP } from '../../src/cli/cli.ts';
import { ENV_MAPPING } from '../../src/config/env.ts';
import { TESTED_VERSIONS } from '../../src/frr/version.ts';
import { anchors, brokenLinks, githubSlug, relativeLinks } from '../helpers/markdown.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const README = read('README.md');
const CONFIGURATION = read('docs/configuration.md');
const OPERATIONS = read('docs/operations.md');
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

test('every run flag is documented with its default (docs/configuration.md)', () => {
  for (const [flag, spec] of Object.entries(RUN_FLAGS)) {
    if (flag === 'help') continue;
    const row = CONFIGURATION.split('\n').find((l) => l.startsWith(`| \`--${flag}\``));
    assert.ok(row, `--${flag} missing from the run options table of docs/configuration.md`);
    if ('default' in spec) assert.ok(row.includes(`\`${spec.default}\``), `--${flag}: default ${spec.default} not in ${row}`);
  }
});

test('every exported metric (docs/operations.md), command (README.md) and Kube-OVN variable (docs/configuration.md) is documented', () => {
  for (const m of METRIC_NAMES) assert.ok(OPERATIONS.includes(`\`${m}\``), `metric ${m} not in docs/operations.md`);
  for (const cmd of [...MAIN_HELP.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]))
    assert.ok(README.includes(`frr-supervisor ${cmd ?? ''}`), `command ${cmd} not in README.md`);
  for (const v of Object.keys(ENV_MAPPING)) assert.ok(CONFIGURATION.includes(`\`${v}\``), `variable ${v} not in docs/configuration.md`);
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

test("every logged event is in the list of log events (docs/operations.md's Logs)", () => {
  const events = loggedEvents(new URL('../../src/', import.meta.url));
  assert.ok(events.length >= 20, `events found in src/: ${events.join(', ')}`);
  const logs = /## Logs\n([\s\S]*?)\n## /.exec(OPERATIONS)?.[1] ?? '';
  const missing = events.filter((e) => !logs.includes(`\`${e}\``));
  assert.deepEqual(missing, [], `logged but not in the Logs section of docs/operations.md: ${missing.join(', ')}`);
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

test('README.md is a front door: under 350 lines, linking to every page of docs/', () => {
  const lines = README.split('\n').length;
  assert.ok(lines < 350, `README.md has ${lines} lines: move reference material to docs/ (350 at most)`);
  const linked = new Set(relativeLinks(README).map((l) => l.target.split('#')[0]));
  const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  assert.ok(pages.length >= 6, `docs/ pages: ${pages.join(', ')}`);
  for (const page of pages) assert.ok(linked.has(`docs/${page}`), `README.md does not link docs/${page}`);
});

/** The Markdown pages whose links must resolve: README.md, every page under docs/, deploy/README.md. */
function markdownPages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => join(e.parentPath, e.name));
  return [join(ROOT, 'README.md'), join(ROOT, 'deploy/README.md'), ...docs];
}

test('every relative link of README.md, docs/ and deploy/README.md resolves: the file, and the #anchor in it', () => {
  const pages = markdownPages();
  const links = pages.flatMap((p) => relativeLinks(readFileSync(p, 'utf8')));
  assert.ok(links.length >= 40, `only ${links.length} relative links found: is the link reader broken?`);
  assert.ok(
    links.some((l) => l.target.includes('#')),
    'no link with an anchor found',
  );
  const broken = pages.flatMap((p) => brokenLinks(p, ROOT));
  assert.deepEqual(broken, [], broken.join('\n'));
});

test("the link check follows GitHub's anchors and catches a missing file or anchor", () => {
  // Slugs as GitHub renders them (checked against rendered pages of this repository's kind of headings).
  assert.equal(githubSlug('The Kube-OVN environment (`--env`)'), 'the-kube-ovn-environment---env');
  assert.equal(githubSlug('`run` options'), 'run-options');
  assert.equal(githubSlug('bench:replicas'), 'benchreplicas');
  assert.equal(githubSlug('Why `maximumPrefix` is 10 000 by default'), 'why-maximumprefix-is-10-000-by-default');
  assert.equal(githubSlug('Graceful restart and packets (BGP-only)'), 'graceful-restart-and-packets-bgp-only');
  assert.equal(githubSlug('FrrSupervisorBgpSessionDown'), 'frrsupervisorbgpsessiondown');
  assert.deepEqual([...anchors('# A\n## Notes\n```\n## not a heading\n```\n## Notes\n')], ['a', 'notes', 'notes-1']);
  assert.deepEqual(
    relativeLinks('[a](x.md#y) `[b](no.md)` [c](https://e.org) ![d](img.png)\n```\n[e](no.md)\n```\n').map((l) => l.target),
    ['x.md#y', 'img.png'],
  );
  // A page with a link to a missing file, a missing anchor in another page, and a missing anchor in itself.
  const fake = join(ROOT, 'docs', 'operations.md');
  const problems = brokenLinks(
    fake,
    ROOT,
    '[a](nowhere.md) [b](configuration.md#no-such-field) [c](#no-such-section) [d](design.md#threat-model)',
  );
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems[0] ?? '', /nowhere\.md does not exist/);
  assert.match(problems[1] ?? '', /configuration\.md has no heading with the anchor #no-such-field/);
  assert.match(problems[2] ?? '', /#no-such-section/);
});
