/**
 * The Applier carrying out the change plan, on a fake FRR that remembers what its daemons took: the running config
 * `show running-config` prints is frr.conf as it was when the daemons last (re)started, so a step that did not happen
 * shows as a mismatch, as on a real FRR. No host is touched (the data plane runner fails every command).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Applier } from '../../src/supervisor/apply.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { createLogger } from '../../src/log.ts';
import { restartSetFor } from '../../src/frr/version.ts';
import type { LiveChanges } from '../../src/supervisor/plan.ts';
import { docsBgpConf, docsEvpnConf } from '../../lab/configs.ts';

const ROUTER_ID = '10.0.2.11';

interface FakeFrr {
  dir: string;
  applier: Applier;
  /** Every daemon operation, in order: `restart:zebra,staticd,bgpd`, `setBfd:true:true`, `startAll`, `vtysh:bfdd`. */
  calls: string[];
  /** zebra's arguments at its last start. */
  zebraArgs: () => string[];
  events: Array<Record<string, unknown>>;
  input: (files: Record<string, string>) => void;
  cleanup: () => void;
}

/**
 * `fail` names operations that reject (once each time they are listed): 'setBfd', 'restart', 'bfdd-live'.
 * `args` stands for the supervisor's extraArgs: what zebra would be started with, read from the applier at each start.
 */
function fakeFrr(
  o: {
    daemons?: DaemonName[];
    fail?: string[];
    args?: (a: Applier) => string[];
    /** Live changes plugged in; `liveTakes`: the fake FRR's running config follows the live commands. */
    live?: LiveChanges;
    liveTakes?: boolean;
  } = {},
): FakeFrr {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-steps-'));
  const inputDir = join(dir, 'input');
  mkdirSync(inputDir);
  const frrConf = join(dir, 'frr.conf');
  const calls: string[] = [];
  const fail = [...(o.fail ?? [])];
  const failing = (what: string): boolean => {
    const i = fail.indexOf(what);
    if (i < 0) return false;
    fail.splice(i, 1);
    return true;
  };
  let taken = '';
  let zebraArgs: string[] = [];
  const events: Array<Record<string, unknown>> = [];
  const sink = { write: (line: string) => events.push(JSON.parse(line) as Record<string, unknown>) };
  const names: DaemonName[] = [...(o.daemons ?? ['zebra', 'staticd', 'bgpd'])];
  // eslint-disable-next-line prefer-const
  let applier: Applier;
  const took = (set: readonly DaemonName[]): void => {
    taken = readFileSync(frrConf, 'utf8');
    if (set.includes('zebra')) zebraArgs = o.args?.(applier) ?? [];
  };
  const daemons = {
    get names() {
      return names;
    },
    isRunning: () => true,
    startAll: () => {
      calls.push('startAll');
      took(names);
      return Promise.resolve();
    },
    // A scope ('bgpd', 'zebra') is turned into its set as DaemonManager does (the API before the planner).
    restartFor: (scope: 'bgpd' | 'zebra' | readonly DaemonName[]) => {
      const set = typeof scope === 'string' ? restartSetFor(scope, names) : scope;
      calls.push(`restart:${set.join(',')}`);
      if (failing('restart')) return Promise.reject(new Error('bgpd could not start'));
      took(set);
      return Promise.resolve([...set]);
    },
    setBfd: (on: boolean, now: boolean) => {
      calls.push(`setBfd:${on}:${now}`);
      if (failing('setBfd')) return Promise.reject(new Error('bfdd could not start'));
      if (on && !names.includes('bfdd')) names.splice(1, 0, 'bfdd');
      if (!on && names.includes('bfdd')) names.splice(names.indexOf('bfdd'), 1);
      return Promise.resolve(on && now ? (['bfdd'] as DaemonName[]) : []);
    },
  };
  const vtysh = {
    run: (cmds: string[], opts: { daemon?: string } = {}): Promise<string> => {
      if (cmds[0] === 'show running-config') return Promise.resolve(taken);
      calls.push(`vtysh:${opts.daemon ?? 'all'}`);
      if (cmds[0] === 'configure terminal' && opts.daemon === undefined && o.liveTakes) taken = readFileSync(frrConf, 'utf8');
      if (opts.daemon === 'bfdd' && failing('bfdd-live')) return Promise.reject(new Error('bfdd: vty timeout'));
      return Promise.resolve('');
    },
  };
  applier = new Applier({
    configDir: inputDir,
    env: false,
    facts: { env: { POD_IP: ROUTER_ID }, interfaceIPv4: () => Promise.resolve(undefined) },
    paths: { frrConf } as never,
    vtysh: vtysh as never,
    daemons: daemons as never,
    logger: createLogger('debug', sink as unknown as NodeJS.WritableStream),
    runner: () => Promise.resolve({ exitCode: 1, stdout: '', stderr: 'a unit test runs no command' }),
    verifyTimeoutMs: 200,
    ...(o.live && { live: o.live }),
  });
  return {
    dir,
    applier,
    calls,
    zebraArgs: () => zebraArgs,
    events,
    input: (files) => {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(inputDir, name), text);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const bgpConf = docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s', neighbours: ['10.0.2.1'] });

test('a failed bfdd start before the restart: the retry restarts bgpd and takes the config, not only verifies (issue 26, defect 3)', async () => {
  const h = fakeFrr({ fail: ['setBfd'] });
  try {
    h.input({ 'bgp-conf.yaml': bgpConf, 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' });
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'applied');
    h.input({ 'gateway.yaml': 'advertise: [10.17.0.0/16]\nbfd: {enabled: true}\n' });
    h.calls.length = 0;
    await h.applier.request('change gateway.yaml');
    assert.equal(h.applier.last?.result, 'failed');
    assert.deepEqual(h.calls, ['setBfd:true:true'], 'bfdd failed to start: nothing restarted');
    await h.applier.request('change gateway.yaml'); // an event retries at once
    assert.equal(h.applier.last?.result, 'applied', String(h.applier.last?.error));
    assert.deepEqual(h.calls, ['setBfd:true:true', 'setBfd:true:true', 'restart:bgpd']);
  } finally {
    h.cleanup();
  }
});

test('a failed live bfdd command: the retry sends it again (issue 26, defect 3)', async () => {
  const h = fakeFrr({ fail: ['bfdd-live'] });
  try {
    h.input({ 'bgp-conf.yaml': bgpConf, 'gateway.yaml': 'advertise: [10.17.0.0/16]\nbfd: {enabled: true}\n' });
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'applied');
    h.calls.length = 0;
    h.input({ 'gateway.yaml': 'advertise: [10.17.0.0/16]\nbfd: {enabled: true, detectMultiplier: 5}\n' });
    await h.applier.request('change gateway.yaml');
    assert.equal(h.applier.last?.result, 'failed');
    await h.applier.request('change gateway.yaml');
    assert.deepEqual(h.calls, ['vtysh:bfdd', 'vtysh:bfdd'], 'sent again');
    // The fake's running config is what was last started: a live bfdd change does not show in it, so the verification
    // of this fake cannot succeed; what matters here is that the retry acted.
  } finally {
    h.cleanup();
  }
});

test('a vrfBackend-only change (the same frr.conf) restarts zebra with its new arguments (issue 26, defect 5)', async () => {
  const h = fakeFrr({ args: (a) => (a.running?.spec.gateway.vrfBackend === 'netns' ? ['-n'] : []) });
  try {
    h.input({ 'bgp-conf.yaml': bgpConf, 'evpn-conf.yaml': docsEvpnConf(1016), 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' });
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'applied');
    assert.deepEqual(h.zebraArgs(), []);
    h.calls.length = 0;
    h.input({ 'gateway.yaml': 'advertise: [10.17.0.0/16]\nvrfBackend: netns\n' });
    await h.applier.request('change gateway.yaml');
    assert.deepEqual(h.calls, ['restart:zebra,bgpd']);
    assert.deepEqual(h.zebraArgs(), ['-n'], 'zebra came back with the netns backend');
    assert.equal(h.applier.last?.result, 'applied');
    assert.ok((h.applier.last?.generation ?? 0) >= 2, 'a new generation');
  } finally {
    h.cleanup();
  }
});

test('FRR 8: an anchors change restarts staticd, whose blackhole route the anchor needs (issue 26, defect 2)', async () => {
  const h = fakeFrr();
  try {
    const gw = (anchors: string): string => `advertise: [10.17.0.0/16]\nchangeDrain: {enabled: false, anchors: ${anchors}}\n`;
    h.input({ 'bgp-conf.yaml': bgpConf, 'evpn-conf.yaml': docsEvpnConf(1016), 'gateway.yaml': gw('10.17.255.0/24') });
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'applied', String(h.applier.last?.error));
    h.calls.length = 0;
    h.input({ 'gateway.yaml': gw('10.17.254.0/24') });
    await h.applier.request('change gateway.yaml');
    const restart = h.calls.find((c) => c.startsWith('restart:'));
    assert.ok(restart?.split(':')[1]?.split(',').includes('staticd'), `staticd restarted: ${restart}`);
  } finally {
    h.cleanup();
  }
});

test('a live change: the commands sent, verified, nothing restarted; the step shown while it runs', async () => {
  const live: LiveChanges = { plan: () => ['configure terminal', 'router bgp 65002', 'neighbor 10.0.2.1 timers 3 12'] };
  const h = fakeFrr({ live, liveTakes: true });
  try {
    h.input({ 'bgp-conf.yaml': bgpConf, 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' });
    await h.applier.request('startup');
    h.calls.length = 0;
    h.events.length = 0;
    h.input({ 'bgp-conf.yaml': docsBgpConf({ hold: '12s', keepalive: '3s', connect: '1s', neighbours: ['10.0.2.1'] }) });
    await h.applier.request('change bgp-conf.yaml');
    assert.equal(h.applier.last?.result, 'applied', String(h.applier.last?.error));
    assert.deepEqual(h.calls, ['vtysh:all']);
    assert.deepEqual(h.applier.last?.restarted, []);
    assert.deepEqual(h.applier.last?.steps, ['devices', 'write', 'live', 'verify']);
    const steps = h.events.filter((e) => e.event === 'apply_step').map((e) => e.step);
    assert.deepEqual(steps, ['devices', 'write', 'live', 'verify']);
    assert.equal(h.applier.progress, undefined, 'no step in progress between applies');
  } finally {
    h.cleanup();
  }
});

test('a live change FRR did not take exactly: live_apply_fallback, then the restart the plan had for it', async () => {
  const live: LiveChanges = { plan: () => ['configure terminal', 'router bgp 65002', 'neighbor 10.0.2.1 timers 3 12'] };
  const h = fakeFrr({ live, liveTakes: false });
  try {
    h.input({ 'bgp-conf.yaml': bgpConf, 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' });
    await h.applier.request('startup');
    h.calls.length = 0;
    h.input({ 'bgp-conf.yaml': docsBgpConf({ hold: '12s', keepalive: '3s', connect: '1s', neighbours: ['10.0.2.1'] }) });
    await h.applier.request('change bgp-conf.yaml');
    assert.equal(h.applier.last?.result, 'applied', String(h.applier.last?.error));
    assert.deepEqual(h.calls, ['vtysh:all', 'restart:bgpd']);
    assert.deepEqual(h.applier.last?.restarted, ['bgpd']);
    assert.equal(h.events.filter((e) => e.event === 'live_apply_fallback').length, 1);
  } finally {
    h.cleanup();
  }
});
