/**
 * #12 item 8b: stopping a daemon is bounded even when SIGKILL does not end it (a process stuck in the kernel,
 * state D, dies only when it leaves the kernel). Such a process cannot be made on demand, so the test uses the
 * daemon's signal seam (`sendSignal`): SIGTERM is delivered to a fake bgpd that ignores it, SIGKILL is not
 * delivered, which is what a D-state process looks like to the supervisor (the signal pending, no exit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrrDaemon } from '../../src/frr/daemon.ts';
import type { FrrLogger } from '../../src/frr/daemon.ts';
import { FrrPaths } from '../../src/frr/paths.ts';

function memLogger(): FrrLogger & { lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** Kills the fake daemon this test started (by pid, if it is still there) and removes its directory. */
async function cleanUp(tmp: string, pid: number | undefined): Promise<void> {
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await rm(tmp, { recursive: true, force: true });
}

async function fakeBgpd(tmp: string): Promise<FrrPaths> {
  const bin = join(tmp, 'bin');
  await mkdir(bin);
  await writeFile(
    join(bin, 'bgpd'),
    `#!${process.execPath}
process.on('SIGTERM', () => {}); // ignores SIGTERM (before the socket answers: start() returns then)
const net = require('node:net'); const a = process.argv;
const dir = a[a.indexOf('--vty_socket') + 1];
net.createServer((c) => c.destroy()).listen(dir + '/bgpd.vty');
`,
  );
  await chmod(join(bin, 'bgpd'), 0o755);
  const paths = new FrrPaths({ binDir: bin, runDir: join(tmp, 'run'), configDir: join(tmp, 'etc'), pathspace: 'stuck' });
  await paths.ensureDirs();
  return paths;
}

test('stop({ signal: SIGKILL }) (the graceful-restart restart) is bounded by killWaitMs too', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'frrsup-stop-'));
  let pid: number | undefined;
  try {
    const paths = await fakeBgpd(tmp);
    const log = memLogger();
    const d = new FrrDaemon({ name: 'bgpd', paths, logger: log, killWaitMs: 300, sendSignal: () => undefined });
    d.on('spawn', (p) => (pid = p));
    await d.start();
    const t0 = Date.now();
    await d.stop({ signal: 'SIGKILL', timeoutMs: 5000 });
    const ms = Date.now() - t0;
    assert.ok(ms >= 280 && ms < 2000, `stop() returned after ${ms} ms`);
    assert.equal(d.unkillable?.pid, pid);
    assert.ok(log.lines.some((l) => l.obj.event === 'daemon_unkillable'));
  } finally {
    await cleanUp(tmp, pid);
  }
});

test('stop() gives up killWaitMs after SIGKILL: daemon_unkillable, unkillable set, not running, and the caller goes on', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'frrsup-stop-'));
  let pid: number | undefined;
  try {
    const bin = join(tmp, 'bin');
    await mkdir(bin);
    await writeFile(
      join(bin, 'bgpd'),
      `#!${process.execPath}
process.on('SIGTERM', () => {}); // ignores SIGTERM (before the socket answers: start() returns then)
const net = require('node:net'); const a = process.argv;
const dir = a[a.indexOf('--vty_socket') + 1];
net.createServer((c) => c.destroy()).listen(dir + '/bgpd.vty');
`,
    );
    await chmod(join(bin, 'bgpd'), 0o755);
    const paths = new FrrPaths({ binDir: bin, runDir: join(tmp, 'run'), configDir: join(tmp, 'etc'), pathspace: 'stuck' });
    await paths.ensureDirs();
    const log = memLogger();
    const sent: string[] = [];
    const d = new FrrDaemon({
      name: 'bgpd',
      paths,
      logger: log,
      killWaitMs: 400,
      sendSignal: (p, sig) => {
        sent.push(sig);
        if (sig !== 'SIGKILL' && p !== undefined) process.kill(p, sig);
      },
    });
    d.on('spawn', (p) => (pid = p));
    await d.start();
    const t0 = Date.now();
    await d.stop({ timeoutMs: 300 });
    const ms = Date.now() - t0;
    assert.deepEqual(sent, ['SIGTERM', 'SIGKILL']);
    assert.ok(ms >= 650 && ms < 3000, `stop() returned after ${ms} ms (300 ms SIGTERM wait + 400 ms after SIGKILL)`);
    assert.equal(d.running, false, 'counted as not running, so a new start is attempted');
    assert.equal(d.unkillable?.pid, pid);
    assert.ok(d.unkillable && !Number.isNaN(Date.parse(d.unkillable.since)));
    const ev = log.lines.find((l) => l.obj.event === 'daemon_unkillable');
    assert.ok(ev, 'daemon_unkillable logged');
    assert.equal(ev.level, 'error');
    assert.deepEqual({ daemon: ev.obj.daemon, pid: ev.obj.pid, waitedMs: ev.obj.waitedMs }, { daemon: 'bgpd', pid, waitedMs: 400 });
    // a second stop() does not wait again
    const t1 = Date.now();
    await d.stop();
    assert.ok(Date.now() - t1 < 100);
    // once the process really exits, unkillable clears
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    await d.waitExit();
    assert.equal(d.unkillable, undefined);
  } finally {
    await cleanUp(tmp, pid);
  }
});

test('stop() while start() is still checking (before the spawn): the start is cancelled, nothing runs afterwards', async () => {
  // The shutdown's stopAll can reach a daemon whose start (an apply abandoned at shutdown) has not spawned yet:
  // that stop found no process and did nothing, the start then spawned a daemon after stopAll, and cleanup()
  // removed its pid file.
  const tmp = await mkdtemp(join(tmpdir(), 'frrsup-stop-'));
  let pid: number | undefined;
  try {
    const paths = await fakeBgpd(tmp);
    const d = new FrrDaemon({ name: 'bgpd', paths, logger: memLogger() });
    d.on('spawn', (p) => (pid = p));
    const starting = d.start();
    await d.stop();
    await assert.rejects(starting, /stopped while starting/);
    assert.equal(pid, undefined, 'no process was spawned');
    assert.equal(d.running, false);
    // A later start (a new run after a stop) is not affected by the cancelled one.
    await d.start();
    assert.equal(d.running, true);
    await d.stop({ signal: 'SIGKILL' });
  } finally {
    await cleanUp(tmp, pid);
  }
});
