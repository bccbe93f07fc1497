/** `frr-supervisor plan`: what a change would do, printed before it is made (no FRR needed with --frr-version). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN_HELP, main } from '../../src/cli/cli.ts';
import { formatPlan, trafficCost } from '../../src/cli/plan-cmd.ts';
import { loadConfig } from '../../src/config/load.ts';
import { flavourFor, parseFrrVersion } from '../../src/frr/version.ts';
import { planChange } from '../../src/supervisor/plan.ts';
import type { Spec } from '../../src/config/types.ts';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}/input/`, import.meta.url));
const env = { POD_IP: '10.0.1.13' };

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

/** Two copies of a golden input: the running one and one the test edits. */
function dirs(name: string): { from: string; to: string; edit: (file: string, f: (t: string) => string) => void; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'frrsup-plan-'));
  const from = join(root, 'from');
  const to = join(root, 'to');
  cpSync(golden(name), from, { recursive: true });
  cpSync(golden(name), to, { recursive: true });
  return {
    from,
    to,
    edit: (file, f) => writeFileSync(join(to, file), f(readFileSync(join(to, file), 'utf8'))),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

test('plan: a hold-time change names bgpd, its signal and its cost (BGP-only, graceful: 0 lost)', async () => {
  const d = dirs('docs-bgp-only');
  try {
    d.edit('bgp-conf.yaml', (t) => t.replace('holdTime: 90s', 'holdTime: 30s').replace('keepaliveTime: 30s', 'keepaliveTime: 10s'));
    const r = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '8.4.4']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^FRR 8\.4\.4: zebra, staticd, bgpd$/m);
    assert.match(r.out, /^ {2}\d\. restart bgpd \(SIGKILL, graceful; waits: peers-refreshed\)/m);
    assert.match(r.out, /^restarts: bgpd$/m);
    assert.match(r.out, /^live: nothing$/m);
    assert.match(r.out, /bgpd restart, graceful: BGP-only: 0 lost \(bgpd_restart_gr\)/);
    const json = JSON.parse((await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '8.4.4', '--json'])).out) as {
      restarts: string[];
      steps: Array<{ kind: string }>;
    };
    assert.deepEqual(json.restarts, ['bgpd']);
    assert.deepEqual(
      json.steps.map((s) => s.kind),
      ['devices', 'write', 'restart', 'push', 'verify'],
    );
  } finally {
    d.cleanup();
  }
});

test("plan: EVPN with changeDrain: the drain with this replica's slot, the EVPN cost with one replica, 0 with others", async () => {
  const d = dirs('evpn-anchors');
  try {
    d.edit('bgp-conf.yaml', (t) => t.replace('holdTime: 90s', 'holdTime: 30s').replace('keepaliveTime: 30s', 'keepaliveTime: 10s'));
    const r = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '10.3']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ {2}1\. drain: wait slot 0 \(0 s\)/m);
    assert.match(r.out, /EVPN: ~2\.5 s lost each way, one replica/);
    assert.match(r.out, /0 lost while another replica carries the traffic/);
    // a VNI change: zebra's part, on FRR 10 mgmtd and everything after it
    d.edit('evpn-conf.yaml', (t) => t.replace(/vni: \d+/, 'vni: 2000'));
    const vni = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '10.3']);
    assert.match(vni.out, /^restarts: mgmtd, zebra, staticd, bgpd$/m);
    assert.match(vni.out, /EVPN: ~4\.3 s lost each way, one replica \(zebra_restart\)/);
  } finally {
    d.cleanup();
  }
});

test('plan: the EVPN cost by FRR version: 0 lost for a bgpd restart on FRR 10.6+ (EVPN graceful restart and the EVPN hold)', async () => {
  const d = dirs('docs-evpn');
  try {
    d.edit('bgp-conf.yaml', (t) => t.replace('holdTime: 90s', 'holdTime: 60s').replace('keepaliveTime: 30s', 'keepaliveTime: 20s'));
    const new_ = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '10.7.1']);
    assert.equal(new_.code, 0, new_.err);
    assert.match(new_.out, /EVPN, FRR 10\.7\.1: 0 lost with a router on FRR 10\.6\+ \(bgpd_restart_gr/);
    const old = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '10.3']);
    assert.match(
      old.out,
      /EVPN: ~2\.5 s lost each way, one replica \(bgpd_restart_gr: graceful restart does not cover EVPN before FRR 10\.6\)/,
    );
    d.edit('evpn-conf.yaml', (t) => t.replace(/vni: \d+/, 'vni: 2000'));
    const vni = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '10.7.1']);
    assert.match(vni.out, /EVPN, FRR 10\.7\.1: ~3\.1 s lost each way, one replica \(zebra_restart, FRR 10\.7\.1 both sides\)/);
  } finally {
    d.cleanup();
  }
});

test('plan: an advertise-list change is printed as live once a live planner takes it (with its fallback cost)', async () => {
  const spec = async (dir: string): Promise<Spec> => {
    const r = await loadConfig({ configDir: dir, facts: { env, interfaceIPv4: () => Promise.resolve(undefined) } });
    assert.ok(r.spec);
    return r.spec;
  };
  const d = dirs('advertise-list');
  try {
    d.edit('gateway.yaml', (t) => `${t}\n`.replace(/advertise:\n/, 'advertise:\n- 10.99.0.0/16\n'));
    const [a, b] = [await spec(d.from), await spec(d.to)];
    const frr = flavourFor(parseFrrVersion('version 8.4.4'));
    const cmds = ['configure terminal', 'router bgp 65002', 'address-family ipv4 unicast', 'network 10.99.0.0/16'];
    const plan = planChange(a, b, frr, { live: () => cmds });
    const text = formatPlan(plan, a, b, frr);
    assert.match(text, /^restarts: nothing$/m);
    assert.match(text, /^live: 4 commands:\n {4}configure terminal/m);
    assert.match(text, /applied live \(4 vtysh commands\): no daemon restarts/);
    assert.match(text, /if FRR does not take it exactly \(live_apply_fallback\), the restart instead: bgpd restart, graceful/);
    // without a live planner the same change restarts bgpd
    assert.deepEqual(planChange(a, b, frr).restarts, ['bgpd']);
    assert.deepEqual(trafficCost(planChange(a, a, frr), a, a), ['nothing changes: no restart, no traffic lost']);
  } finally {
    d.cleanup();
  }
});

test('plan: usage and bad input', async () => {
  assert.match(MAIN_HELP, /^ {2}plan +print what a config change would do/m);
  const help = await cli(['plan', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--from VALUE/);
  assert.equal((await cli(['plan', '--config-dir', '/nonexistent'])).code, 2);
  const d = dirs('docs-bgp-only');
  try {
    assert.equal((await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', 'x'])).code, 2);
    d.edit('bgp-conf.yaml', (t) => t.replace('localASN: 65002', 'localASN: -1'));
    const bad = await cli(['plan', '--from', d.from, '--config-dir', d.to, '--frr-version', '8.4.4']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^--config-dir: error: .*localASN/m);
    assert.match(bad.err, /the supervisor would reject it/);
  } finally {
    d.cleanup();
  }
});
