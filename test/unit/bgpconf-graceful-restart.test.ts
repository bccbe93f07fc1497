/**
 * BgpConf.spec.gracefulRestart (a bool in Kube-OVN 1.16's CRD, unused by Kube-OVN): honoured when present, and it
 * wins over gateway.yaml's gracefulRestart (default true, or set): rendering, the restart scope and signal follow it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/problems.ts';
import type { Spec } from '../../src/config/types.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { planChange, restartSignal } from '../../src/supervisor/plan.ts';

const BGP = (gr?: string): string =>
  `apiVersion: kubeovn.io/v1\nkind: BgpConf\nmetadata:\n  name: bgp-conf-6502\nspec:\n  localASN: 65002\n  peerASN: 65001\n  neighbours: [10.0.1.1]\n${gr === undefined ? '' : `  gracefulRestart: ${gr}\n`}`;

async function load(bgp: string, gateway = 'advertise: [10.17.0.0/16]\n'): Promise<{ spec?: Spec; problems: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-gr-'));
  try {
    writeFileSync(join(dir, 'bgp-conf.yaml'), bgp);
    writeFileSync(join(dir, 'gateway.yaml'), gateway);
    const r = await loadConfig({
      configDir: dir,
      facts: { env: { POD_IP: '10.0.1.13' }, interfaceIPv4: () => Promise.resolve(undefined) },
    });
    return { ...(r.spec && { spec: r.spec }), problems: r.problems.map(formatProblem) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GR_LINES = /^ bgp graceful-restart$/m;

test('absent: gateway.yaml decides (default on; off when it says so)', async () => {
  const dflt = await load(BGP());
  assert.deepEqual(dflt.problems, []);
  assert.equal(dflt.spec?.gateway.gracefulRestart, true);
  assert.equal(dflt.spec?.bgp.gracefulRestart, undefined);
  assert.match(renderFrrConf(dflt.spec), GR_LINES);
  const off = await load(BGP(), 'gracefulRestart: false\nadvertise: [10.17.0.0/16]\n');
  assert.equal(off.spec?.gateway.gracefulRestart, false);
});

test("present: the BgpConf wins over gateway.yaml's default and over its explicit value (with a warning naming both)", async () => {
  const off = await load(BGP('false'));
  assert.deepEqual(off.problems, [], 'overriding the default is not worth a warning');
  assert.equal(off.spec?.gateway.gracefulRestart, false);
  assert.doesNotMatch(renderFrrConf(off.spec), /graceful-restart/);

  const on = await load(BGP('true'), 'gracefulRestart: false\nadvertise: [10.17.0.0/16]\n');
  assert.equal(on.spec?.gateway.gracefulRestart, true);
  assert.match(renderFrrConf(on.spec), GR_LINES);
  assert.deepEqual(on.problems, ["warning: gateway.yaml: gracefulRestart: false is overridden by bgp-conf.yaml's gracefulRestart: true"]);

  const same = await load(BGP('false'), 'gracefulRestart: false\nadvertise: [10.17.0.0/16]\n');
  assert.deepEqual(same.problems, [], 'agreeing values: nothing to say');
});

test('not a boolean: an error naming the file and the field; no spec', async () => {
  for (const bad of ['"true"', '1', 'yes-please', '[true]']) {
    const r = await load(BGP(bad));
    assert.equal(r.spec, undefined, bad);
    assert.ok(
      r.problems.some((p) => p.startsWith('error: bgp-conf.yaml: spec.gracefulRestart: must be true or false')),
      `${bad}: ${r.problems.join('\n')}`,
    );
  }
  const nul = await load(BGP('null'));
  assert.equal(nul.spec?.gateway.gracefulRestart, true, 'null is absent (as for the other optional fields)');
});

test("a BgpConf gracefulRestart change restarts (zebra's -K follows it, then bgpd) and the stop signal follows it", async () => {
  const on = (await load(BGP('true'))).spec!;
  const off = (await load(BGP('false'))).spec!;
  const absent = (await load(BGP())).spec!;
  // zebra's -K (graceful restart) follows it: zebra then bgpd restart (the planner, FRR 8's daemons)
  const frr8 = { daemons: ['zebra', 'staticd', 'bgpd'] as const };
  assert.deepEqual(planChange(on, off, frr8).restarts, ['zebra', 'bgpd']);
  assert.deepEqual(planChange(off, on, frr8).restarts, ['zebra', 'bgpd']);
  assert.equal(renderFrrConf(absent), renderFrrConf(on), 'absent and true: the same effective value, the same config');
  assert.equal(restartSignal(on), 'SIGKILL');
  assert.equal(restartSignal(off), 'SIGTERM');
});
