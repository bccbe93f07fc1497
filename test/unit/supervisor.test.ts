/** The supervision layer without FRR: the restart signal, verification diff, backoff, atomic writes, the watcher, resync reuse. */
import { test } from 'node:test';
import { execa } from 'execa';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Applier } from '../../src/supervisor/apply.ts';
import { restartSignal } from '../../src/supervisor/plan.ts';
import { contextKeys, lineDiff } from '../../src/frr/running-config.ts';
import { inputFingerprint, readConfigDir } from '../../src/config/files.ts';
import type { Problem } from '../../src/config/problems.ts';
import type { HostFacts } from '../../src/config/facts.ts';
import { createLogger } from '../../src/log.ts';
import { backoffDelay } from '../../src/supervisor/backoff.ts';
import { writeFileAtomic } from '../../src/supervisor/atomic-write.ts';
import { ConfigWatcher } from '../../src/watch/config-watcher.ts';
import { GATEWAY_DEFAULTS } from '../../src/config/types.ts';
import type { Spec } from '../../src/config/types.ts';
import { ProjectedVolume } from '../../lab/projected-volume.ts';

const base: Spec = {
  bgp: { localAsn: 65002, peerAsn: 65001, routerId: '10.0.1.13', routerIdSource: 'spec', neighbours: ['10.0.1.1'], ebgpMultiHop: false },
  gateway: GATEWAY_DEFAULTS,
};

test('restart signal: SIGKILL with graceful restart (peers keep routes), SIGTERM without', () => {
  assert.equal(restartSignal(base), 'SIGKILL');
  assert.equal(restartSignal({ ...base, gateway: { ...base.gateway, gracefulRestart: false } }), 'SIGTERM');
});

test('verification diff keys each line by its block and ignores order', () => {
  const want = [
    'router bgp 65002',
    ' neighbor 10.0.1.1 remote-as 65001',
    ' address-family ipv4 unicast',
    '  neighbor 10.0.1.1 activate',
    ' address-family ipv6 unicast',
    '  neighbor fd00::1 activate',
  ];
  assert.deepEqual(contextKeys(want).slice(3, 4), ['router bgp 65002 > address-family ipv4 unicast > neighbor 10.0.1.1 activate']);
  assert.equal(lineDiff(want, [...want].reverse().reverse()), '');
  // the same line in another address family is a difference
  const moved = [
    'router bgp 65002',
    ' neighbor 10.0.1.1 remote-as 65001',
    ' address-family ipv4 unicast',
    ' address-family ipv6 unicast',
    '  neighbor fd00::1 activate',
    '  neighbor 10.0.1.1 activate',
  ];
  const d = lineDiff(want, moved);
  assert.match(d, /^- router bgp 65002 > address-family ipv4 unicast > neighbor 10.0.1.1 activate$/m);
  assert.match(d, /^\+ router bgp 65002 > address-family ipv6 unicast > neighbor 10.0.1.1 activate$/m);
});

test('backoff: 0.5 s doubling, capped at 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 20].map(backoffDelay), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('atomic write: 0600 from creation, old file intact when the write fails, no temp files left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-aw-'));
  try {
    const file = join(dir, 'frr.conf');
    await writeFileAtomic(file, 'one\n');
    assert.equal(readFileSync(file, 'utf8'), 'one\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // a failing write (the target is a directory) leaves nothing behind
    mkdirSync(join(dir, 'sub'));
    await assert.rejects(writeFileAtomic(join(dir, 'sub'), 'two\n'));
    await writeFileAtomic(file, 'two\n');
    assert.equal(readFileSync(file, 'utf8'), 'two\n');
    assert.deepEqual(readdirSync(dir).sort(), ['frr.conf', 'sub']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Records a watcher's change events; `count(n)` waits (bounded) until n have arrived. */
function recorder(w: ConfigWatcher): { seen: string[]; count: (n: number) => Promise<void> } {
  const seen: string[] = [];
  w.on('change', (r) => void seen.push(r));
  const count = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (seen.length < n) {
      if (Date.now() > deadline) throw new Error(`waited for ${n} change events, got ${seen.length}: ${seen.join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { seen, count };
}

test('watcher: a burst of edits gives one change after the debounce; kubelet swaps, creates, deletes, renames are seen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-watch-'));
  const vol = new ProjectedVolume(join(dir, 'vol'));
  vol.update({ 'bgp-conf.yaml': 'a: 1\n' });
  const w = new ConfigWatcher({ dir: vol.dir, debounceMs: 150, resyncMs: 0 });
  await w.start();
  try {
    const { seen, count } = recorder(w);
    for (let i = 0; i < 10; i++) {
      vol.update({ 'bgp-conf.yaml': `a: ${i}\n` });
      await new Promise((r) => setTimeout(r, 20));
    }
    await count(1);
    const acts = [
      () => vol.update({ 'bgp-conf.yaml': 'a: 2\n', 'gateway.yaml': '{}\n' }), // kubelet adds a key
      () => writeFileSync(join(vol.dir, 'plain.yaml'), 'x'), // plain create
      () => writeFileSync(join(vol.dir, 'plain.yaml'), 'y'), // plain edit
      () => rmSync(join(vol.dir, 'plain.yaml')), // delete
    ];
    for (const [k, act] of acts.entries()) {
      act();
      await count(k + 2);
    }
    // A sentinel known by name closes the sequence: every event before it is counted.
    writeFileSync(join(vol.dir, 'zz-sentinel.yaml'), 's');
    const deadline = Date.now() + 10_000;
    while (!seen.some((r) => r.includes('zz-sentinel')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(seen.at(-1)?.includes('zz-sentinel'), seen.join(', '));
    assert.equal(seen.length, acts.length + 2, `one event for the burst, one per act, one for the sentinel: ${seen.join(', ')}`);
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watcher: the periodic resync fires without events', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-resync-'));
  const w = new ConfigWatcher({ dir, debounceMs: 50, resyncMs: 100 });
  await w.start();
  try {
    const { seen, count } = recorder(w);
    await count(2);
    assert.ok(
      seen.every((r) => r === 'periodic resync'),
      seen.join(','),
    );
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('input fingerprint: equal while untouched; an in-place edit of the same size, a kubelet swap, a chmod, a new or removed file change it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-fp-'));
  const vol = new ProjectedVolume(join(dir, 'vol'));
  try {
    vol.update({ 'bgp-conf.yaml': 'a: 1\n' });
    const fp = (): string => inputFingerprint(vol.dir);
    let last = fp();
    assert.equal(fp(), last, 'stable without changes');
    const changed = (what: string): void => {
      const now = fp();
      assert.notEqual(now, last, what);
      last = now;
    };
    writeFileSync(join(vol.dir, 'bgp-conf.yaml'), 'a: 2\n'); // through the symlink, same size
    changed('in-place edit of the same size');
    vol.update({ 'bgp-conf.yaml': 'a: 2\n' }); // same content, new timestamped dir
    changed('kubelet swap with the same content');
    chmodSync(join(vol.dir, 'bgp-conf.yaml'), 0o600);
    changed('chmod');
    writeFileSync(join(vol.dir, 'gateway.yaml'), '{}\n');
    changed('a new file');
    rmSync(join(vol.dir, 'gateway.yaml'));
    changed('a removed file');
    rmSync(vol.dir, { recursive: true });
    changed('the directory gone');
    assert.match(fp(), /^dir ENOENT$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applier: a periodic resync reuses the last load while no file was touched; events, touched files and host-derived router ids reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-resync-apply-'));
  let hostReads = 0;
  const facts: HostFacts = {
    env: {},
    interfaceIPv4: () => {
      hostReads++;
      return Promise.resolve(undefined);
    },
  };
  // Invalid input (a bad neighbour): the pipeline stops after the load, so no FRR is needed.
  const applier = new Applier({
    configDir: dir,
    env: false,
    facts,
    paths: {} as never,
    vtysh: {} as never,
    daemons: {} as never,
    logger: createLogger('silent'),
  });
  try {
    writeFileSync(join(dir, 'bgp-conf.yaml'), 'localASN: 65002\npeerASN: 65001\nrouterId: 10.0.0.1\nneighbours: [bad]\n');
    await applier.request('startup');
    assert.equal(applier.last?.result, 'invalid');
    await applier.request('periodic resync', { periodic: true });
    await applier.request('periodic resync', { periodic: true });
    assert.equal(applier.resyncsSkipped, 2, 'untouched: the last load is reused');
    assert.equal(applier.last?.result, 'invalid', 'with the same outcome');
    await applier.request('change bgp-conf.yaml');
    assert.equal(applier.resyncsSkipped, 2, 'a file event always reloads');
    writeFileSync(join(dir, 'bgp-conf.yaml'), 'localASN: 65002\npeerASN: 65001\nrouterId: 10.0.0.1\nneighbours: [bae]\n'); // same size
    await applier.request('periodic resync', { periodic: true });
    assert.equal(applier.resyncsSkipped, 2, 'a touched file is reloaded at the resync');
    assert.match(applier.last?.error ?? '', /bae/, 'and the new content is what counts');
    // No routerId and no POD_IP: the default comes from the external interface, which may change at any time.
    writeFileSync(join(dir, 'bgp-conf.yaml'), 'localASN: 65002\npeerASN: 65001\nneighbours: [10.0.1.1]\n');
    await applier.request('change bgp-conf.yaml');
    const reads = hostReads;
    assert.ok(reads >= 1);
    await applier.request('periodic resync', { periodic: true });
    await applier.request('periodic resync', { periodic: true });
    assert.equal(hostReads, reads + 2, 'a load that read the host is redone at every resync');
    assert.equal(applier.resyncsSkipped, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An applier on a temp config dir, with its log events and records captured; FRR parts are fakes the test passes. */
function applierHarness(extra: Partial<ConstructorParameters<typeof Applier>[0]> = {}): {
  dir: string;
  applier: Applier;
  events: Array<Record<string, unknown>>;
  counts: string[];
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-applier-'));
  const events: Array<Record<string, unknown>> = [];
  const sink = { write: (line: string) => events.push(JSON.parse(line) as Record<string, unknown>) };
  const counts: string[] = [];
  const applier = new Applier({
    configDir: dir,
    env: false,
    facts: { env: {}, interfaceIPv4: () => Promise.resolve(undefined) },
    paths: { frrConf: join(dir, 'frr.conf') } as never,
    vtysh: {} as never,
    daemons: {} as never,
    logger: createLogger('debug', sink as unknown as NodeJS.WritableStream),
    onRecord: (rec, count) => counts.push(`${rec.result}:${count}`),
    ...extra,
  });
  return { dir, applier, events, counts, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const VALID_BGP = 'localASN: 65002\npeerASN: 65001\nrouterId: 10.0.0.1\nneighbours: [10.0.1.1]\n';

test('applier: a rendering the template refuses is a rejected input, not a dead process', async () => {
  const h = applierHarness({
    render: () => {
      throw new Error('template: unsafe value in neighbor');
    },
  });
  try {
    writeFileSync(join(h.dir, 'bgp-conf.yaml'), VALID_BGP);
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'invalid');
    assert.match(h.applier.last?.error ?? '', /frr\.conf: the rendering was refused \(template: unsafe value in neighbor\)/);
    assert.equal(h.events.filter((e) => e.event === 'config_rejected').length, 1);
  } finally {
    h.cleanup();
  }
});

test('applier: an internal error in the pipeline is a failed apply, logged, and the request resolves', async () => {
  // No routerId: the default is read from the host, and that read throws.
  const h = applierHarness({ facts: { env: {}, interfaceIPv4: () => Promise.reject(new Error('netlink exploded')) } });
  try {
    writeFileSync(join(h.dir, 'bgp-conf.yaml'), 'localASN: 65002\npeerASN: 65001\nneighbours: [10.0.1.1]\n');
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'failed');
    assert.match(h.applier.last?.error ?? '', /internal error: netlink exploded/);
    assert.equal(h.events.filter((e) => e.event === 'apply_internal_error').length, 1);
  } finally {
    h.cleanup();
  }
});

test('applier: an apply that keeps failing is logged and counted once, then retried with backoff and counted as retries', async () => {
  let starts = 0;
  const h = applierHarness({
    daemons: {
      names: ['zebra', 'bgpd'],
      isRunning: () => true,
      startAll: () => {
        starts++;
        return Promise.reject(new Error('bgpd cannot start'));
      },
    } as never,
  });
  try {
    writeFileSync(join(h.dir, 'bgp-conf.yaml'), VALID_BGP);
    await h.applier.request('startup');
    assert.equal(h.applier.last?.result, 'failed');
    for (let i = 0; i < 5; i++) await h.applier.request('periodic resync', { periodic: true });
    assert.equal(starts, 1, 'resyncs within the backoff do not retry');
    assert.equal(h.applier.lastCheck?.result, 'retry-pending');
    assert.equal(h.applier.last?.result, 'failed', 'the last real outcome is kept');
    assert.deepEqual(h.counts, ['failed:apply']);
    // A file event with the same input retries at once (here verification fails again: no FRR), counted as a retry.
    await h.applier.request('change bgp-conf.yaml');
    assert.deepEqual(h.counts, ['failed:apply', 'failed:retry']);
    const names = h.events.map((e) => e.event).filter((e) => typeof e === 'string' && e.startsWith('config_'));
    assert.deepEqual(names, ['config_changed', 'config_apply_failed', 'config_apply_retry_failed']);
    assert.equal(h.applier.last?.retry, 1);
  } finally {
    h.cleanup();
  }
});

test('applier: a config not verified yet is not verified while a daemon is down: the retry fails at once, naming it', async () => {
  const h = applierHarness({
    daemons: {
      names: ['zebra', 'bgpd'],
      isRunning: (d: string) => d !== 'bgpd',
      startAll: () => Promise.reject(new Error('bgpd cannot start')),
    } as never,
  });
  try {
    writeFileSync(join(h.dir, 'bgp-conf.yaml'), VALID_BGP);
    await h.applier.request('startup');
    assert.equal(h.applier.unverified, true, 'generation 1 written, not verified');
    await h.applier.request('change bgp-conf.yaml'); // no vtysh here: a verification would be an internal error
    assert.equal(h.applier.last?.result, 'failed');
    assert.equal(h.applier.last?.error, 'not running yet: bgpd (recovering with backoff)');
  } finally {
    h.cleanup();
  }
});

test('config dir: one load reads one snapshot of a projected volume, even when kubelet swaps it in the middle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-snapshot-'));
  try {
    const volume = new ProjectedVolume(dir);
    const version = (v: number): Record<string, string> => ({
      'bgp-conf.yaml': `# v${v}\n${VALID_BGP}`,
      'gateway.yaml': `# v${v}\nadvertise: []\n`,
    });
    volume.update(version(1));
    let swaps = 0;
    const problems: Problem[] = [];
    const files = await readConfigDir(dir, problems, {
      afterRead: (name) => {
        if (name === 'bgp-conf.yaml' && swaps === 0) {
          swaps++;
          volume.update(version(2)); // the swap, and the old directory removed, between two files of one load
        }
      },
    });
    assert.equal(swaps, 1);
    assert.deepEqual(problems, []);
    const versions = [files.bgp?.text, files.gateway?.text].map((t) => /^# v(\d)/.exec(t ?? '')?.[1]);
    assert.equal(new Set(versions).size, 1, `files of one load come from different versions: ${versions.join(', ')}`);
    assert.deepEqual(versions, ['2', '2'], 'the old snapshot disappeared: the load reads the new one whole');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the verification diff never carries a password', () => {
  const want = ['router bgp 65002', ' neighbor 10.0.1.1 remote-as 65001', ' neighbor 10.0.1.1 password s3cretWord'];
  const have = ['router bgp 65002', ' neighbor 10.0.1.1 remote-as 65001', ' neighbor 10.0.1.1 password 0ldSecret'];
  const d = lineDiff(want, have);
  assert.match(d, /- router bgp 65002 > neighbor 10\.0\.1\.1 password <redacted>/);
  assert.ok(!d.includes('s3cretWord') && !d.includes('0ldSecret'), d);
});

test('run: a SIGTERM while a child process runs (execa with its exit cleanup, as every vtysh call) reaches the shutdown', async () => {
  // signal-exit, which execa installs while such a child runs, re-raises the signal on the process when no other
  // listener is left for it: with a `once` listener the supervisor died (143) instead of draining and stopping.
  const script = `import { execa } from 'execa';
import { stopSignal } from './src/cli/run-cmd.ts';
const stopped = stopSignal();
const child = execa('sleep', ['5'], { reject: false, stdin: 'ignore' });
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 200);
const sig = await stopped;
await new Promise((r) => setTimeout(r, 300)); // the shutdown's work
child.kill('SIGKILL');
console.log('shut down after ' + sig);
`;
  const r = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url),
    reject: false,
    stdin: 'ignore',
  });
  assert.deepEqual([r.exitCode, r.signal, r.stdout.trim()], [0, undefined, 'shut down after SIGTERM'], r.stderr);
});
