/**
 * DaemonManager's races, with fake daemons (node scripts that behave like FRR daemons: pid file, vty socket,
 * SIGTERM handling) and no FRR: a crash during an apply's restart, a config change during a crash recovery, a
 * shutdown during a recovery, a daemon that ignores SIGTERM. Each case ends with exactly the daemons it expects
 * running (checked by pid), and nothing left behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { FrrPaths } from '../../src/frr/paths.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { DaemonManager } from '../../src/supervisor/daemons.ts';
import { DAEMON_NAMES } from '../../src/frr/daemon.ts';
import { createLogger } from '../../src/log.ts';

/** One script for every daemon name: its name is its file name. Marker files next to it change its behaviour. */
const FAKE_DAEMON = `const net = require('node:net'); const fs = require('node:fs'); const path = require('node:path');
const a = process.argv; const self = a[1]; const name = path.basename(self); const bin = path.dirname(self);
const dir = a[a.indexOf('--vty_socket') + 1];
fs.writeFileSync(a[a.indexOf('-i') + 1], process.pid + '\\n');
const slow = fs.existsSync(path.join(bin, name + '.slow')) ? 400 : 0;
let srv;
// Like FRR, a stale socket file of a killed predecessor is removed before binding.
setTimeout(() => { const sock = path.join(dir, name + '.vty'); fs.rmSync(sock, { force: true }); srv = net.createServer((c) => c.destroy()).listen(sock); }, slow);
process.on('SIGTERM', () => { if (!fs.existsSync(path.join(bin, name + '.ignore-term'))) { srv?.close(); process.exit(0); } });
setInterval(() => {}, 1000);`;

let tmp: string;
let bin: string;
let manager: DaemonManager | undefined;
let paths: FrrPaths;
const configured: string[] = [];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'frrsup-dm-'));
  bin = join(tmp, 'bin');
  await mkdir(bin);
  for (const name of DAEMON_NAMES) {
    await writeFile(join(bin, name), `#!${process.execPath}\n${FAKE_DAEMON}\n`);
    await chmod(join(bin, name), 0o755);
  }
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  await manager?.stopAll(500);
  for (const name of DAEMON_NAMES) for (const m of ['slow', 'ignore-term']) await rm(join(bin, `${name}.${m}`), { force: true });
});

let seq = 0;
async function newManager(): Promise<DaemonManager> {
  seq++;
  paths = new FrrPaths({ binDir: bin, runDir: join(tmp, `run${seq}`), configDir: join(tmp, `etc${seq}`), pathspace: `dm${seq}` });
  await paths.ensureDirs();
  configured.length = 0;
  manager = new DaemonManager({
    paths,
    logger: createLogger('silent'),
    extraArgs: () => [],
    configure: (name) => {
      configured.push(name);
      return Promise.resolve();
    },
    restartSignal: () => 'SIGKILL',
  });
  return manager;
}

function pidOf(name: DaemonName): number | undefined {
  try {
    const pid = Number(readFileSync(paths.pidFile(name), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function running(m: DaemonManager): string[] {
  return m
    .status()
    .filter((d) => d.running)
    .map((d) => d.name);
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('DaemonManager races (fake daemons)', () => {
  it('zebra crashes while an apply restarts bgpd: both come back, one of each, bgpd after zebra', async () => {
    const m = await newManager();
    await m.startAll();
    const before = { zebra: pidOf('zebra'), bgpd: pidOf('bgpd') };
    await writeFile(join(bin, 'bgpd.slow'), '');
    const restart = m.restartFor('bgpd', 'SIGKILL');
    await sleep(100); // bgpd is being started again
    process.kill(before.zebra!, 'SIGKILL');
    assert.deepEqual(await restart, ['bgpd']);
    await until(
      'all three running after the recovery',
      () => running(m).length === 3 && pidOf('zebra') !== before.zebra && m.status().every((d) => d.running),
    );
    const zebra = m.status().find((d) => d.name === 'zebra')!;
    const bgpd = m.status().find((d) => d.name === 'bgpd')!;
    assert.ok(Date.parse(bgpd.startedAt!) >= Date.parse(zebra.startedAt!), 'bgpd (re)started after zebra (phased restart)');
    assert.notEqual(pidOf('bgpd'), before.bgpd);
    assert.equal(m.status().find((d) => d.name === 'zebra')!.restarts, 1);
  });

  it('a config change while bgpd is being recovered: one bgpd runs afterwards', async () => {
    const m = await newManager();
    await m.startAll();
    const first = pidOf('bgpd')!;
    process.kill(first, 'SIGKILL');
    await until('bgpd seen down', () => !running(m).includes('bgpd'));
    await m.restartFor('bgpd', 'SIGKILL');
    await until('bgpd running', () => running(m).includes('bgpd'));
    await sleep(1200); // past the first recovery backoff (0.5 s): the recovery finds bgpd running and leaves it
    const pid = pidOf('bgpd');
    assert.ok(pid && pid !== first);
    assert.equal(configured.filter((n) => n === 'bgpd').length, 2, 'bgpd started and configured once more, not twice');
    assert.deepEqual(running(m).sort(), ['bgpd', 'staticd', 'zebra']);
  });

  it('shutdown during a recovery backoff: the recovery gives up, nothing is started again', async () => {
    const m = await newManager();
    await m.startAll();
    process.kill(pidOf('bgpd')!, 'SIGKILL');
    await until('bgpd seen down', () => !running(m).includes('bgpd'));
    assert.equal(await m.close(1000), true, 'nothing in flight');
    await m.stopAll(500);
    await sleep(1200); // past the recovery's backoff
    assert.deepEqual(running(m), []);
    for (const name of DAEMON_NAMES) assert.equal(pidOf(name), undefined, `${name} runs after the shutdown`);
  });

  it('shutdown while an apply restarts zebra and bgpd: close() waits for it (bounded), then everything stops', async () => {
    const m = await newManager();
    await m.startAll();
    await writeFile(join(bin, 'zebra.slow'), '');
    const restart = m.restartFor('zebra', 'SIGKILL');
    await sleep(50);
    assert.equal(await m.close(5000), true, 'the restart in flight finished within the wait');
    assert.deepEqual(await restart, ['zebra', 'bgpd']);
    assert.deepEqual(running(m).sort(), ['bgpd', 'staticd', 'zebra'], 'the apply was not cut in half');
    await m.stopAll(500);
    assert.deepEqual(running(m), []);
  });

  it('a daemon that ignores SIGTERM is SIGKILLed after the stop timeout', async () => {
    const m = await newManager();
    await m.startAll();
    await writeFile(join(bin, 'staticd.ignore-term'), '');
    const pid = pidOf('staticd')!;
    const t0 = Date.now();
    await m.stopAll(300);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), false, 'staticd is gone');
    assert.deepEqual(running(m), []);
  });
});
