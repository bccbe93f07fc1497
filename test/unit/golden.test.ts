/**
 * Golden tests: each test/golden/<case>/ input renders byte-for-byte to its checked-in frr.conf, and every
 * golden frr.conf passes FRR's own parser (`vtysh --dryrun -f`). UPDATE_GOLDEN=1 rewrites the expected files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/problems.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { goldenCases } from '../helpers/golden.ts';

const cases = goldenCases();

test('there are golden cases for every required scenario', () => {
  const names = cases.map((c) => c.name);
  for (const required of [
    'docs-evpn',
    'docs-bgp-only',
    'ipv6-neighbour',
    'several-neighbours',
    'password-timers',
    'asn4-large-vni',
    'several-rts',
    'advertise-list',
    'kube-ovn-env',
  ]) {
    assert.ok(names.includes(required), `missing golden case ${required}`);
  }
});

for (const c of cases) {
  test(`golden: ${c.name}`, async () => {
    const result = await loadConfig({ ...(c.configDir && { configDir: c.configDir }), facts: c.facts });
    const errors = result.problems.filter((p) => p.severity === 'error').map(formatProblem);
    assert.deepEqual(errors, [], 'the golden input must be valid');
    assert.ok(result.spec);
    const rendered = renderFrrConf(result.spec, c.render);
    assert.equal(renderFrrConf(result.spec, c.render), rendered, 'rendering is deterministic');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(c.expectedPath, rendered);
    assert.equal(rendered, readFileSync(c.expectedPath, 'utf8'));
  });

  test(`golden: ${c.name} passes vtysh --dryrun`, async () => {
    const res = await execa('vtysh', ['--dryrun', '-f', c.expectedPath], { reject: false });
    assert.equal(res.exitCode, 0, `vtysh --dryrun rejected ${c.name}/frr.conf:\n${res.stdout}\n${res.stderr}`);
  });
}
