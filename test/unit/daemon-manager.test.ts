/**
 * DaemonManager's races, with fake daemons (node scripts that behave like FRR daemons: pid file, vty socket,
 * SIGTERM handling) and no FRR, driven through the Lifecycle as the supervisor drives it: a crash during an apply's
 * restart, a config change during a crash recovery, a shutdown during a recovery, a daemon that ignores SIGTERM and
 * one that SIGKILL does not end. Each case ends with exactly the daemons it expects running (checked by pid), and
 * nothing left behind.
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
import type { DaemonManagerOptions } from '../../src/supervisor/daemons.ts';
import { Lifecycle } from '../../src/supervisor/lifecycle.ts';
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
  await lifecycle?.shutdown('test end');
  await manager?.stopAll(500);
  for (const name of DAEMON_NAMES) for (const m of ['slow', 'ignore-term']) await rm(join(bin, `${name}.${m}`), { force: true });
});

let seq = 0;
let lifecycle: Lifecycle | undefined;
/** What happened, in order: the fake applier's runs and the daemons' starts (`start:<name>:<reason>`). */
const events: string[] = [];

/**
 * A DaemonManager on fake daemons, driven like the supervisor does: through a Lifecycle, whose applier is a fake
 * (the startup apply starts every daemon, any other runs `apply(reason)`, e.g. an apply's restart) and whose
 * shutdown steps are empty.
 */
async function newManager(
  o: { apply?: (m: DaemonManager, reason: string) => Promise<void>; manager?: Partial<DaemonManagerOptions> } = {},
): Promise<DaemonManager> {
  seq++;
  paths = new FrrPaths({ binDir: bin, runDir: join(tmp, `run${seq}`), configDir: join(tmp, `etc${seq}`), pathspace: `dm${seq}` });
  await paths.ensureDirs();
  configured.length = 0;
  events.length = 0;
  const m: DaemonManager = new DaemonManager({
    paths,
    logger: createLogger('silent'),
    extraArgs: () => [],
    configure: (name) => {
      configured.push(name);
      return Promise.resolve();
    },
    restartSignal: () => 'SIGKILL',
    schedule: (name, attempt): Promise<DaemonName[]> => lc.recover(name, attempt),
    ...o.manager,
  });
  m.on('started', (name, reason) => events.push(`start:${name}:${reason}`));
  const lc: Lifecycle = new Lifecycle({
    applier: {
      request: async (reason) => {
        events.push(`apply:${reason}`);
        if (reason === 'startup') await m.startAll();
        else await o.apply?.(m, reason);
        events.push(`applied:${reason}`);
      },
      close: () => undefined,
      unverified: false,
    },
    daemons: m,
    logger: createLogger('silent'),
    steps: { stopInputs: async () => {}, stopObserving: async () => {}, drain: async () => {}, cleanup: async () => {} },
    budget: { applyMs: 5000, stopEachMs: 500 },
  });
  manager = m;
  lifecycle = lc;
  return m;
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

const idx = (e: string): number => {
  const i = events.indexOf(e);
  assert.ok(i >= 0, `${e} happened: ${events.join(', ')}`);
  return i;
};

describe('DaemonManager races (fake daemons, through the Lifecycle)', () => {
  it('a graceful restart (SIGKILL) waits for beforeGracefulStop with the old bgpd still running; SIGTERM restarts and the shutdown do not', async () => {
    const calls: Array<number | undefined> = [];
    const m = await newManager({
      manager: {
        beforeGracefulStop: async () => {
          calls.push(pidOf('bgpd'));
          await sleep(50);
        },
      },
    });
    await lifecycle!.start();
    await until('bgpd running', () => pidOf('bgpd') !== undefined);
    const old = pidOf('bgpd');
    await m.restartFor('bgpd', 'SIGKILL');
    assert.deepEqual(calls, [old], 'called once, while the old bgpd ran');
    assert.notEqual(pidOf('bgpd'), old);
    await m.restartFor('bgpd', 'SIGTERM');
    await m.stopAll(500);
    assert.equal(calls.length, 1, 'not for a SIGTERM restart nor the shutdown');
  });

  it('the crash backoff starts over after a daemon stayed up stableMs: 0.5 s, 1 s, then (after a stable run) 0.5 s again', async () => {
    const m = await newManager({ manager: { backoffStableMs: 5000 } });
    await lifecycle!.start();
    /** Kills bgpd and returns the delay its recovery waits before the first attempt. */
    const crash = async (): Promise<number | undefined> => {
      const pid = pidOf('bgpd')!;
      const crashed = new Promise<void>((resolve) => m.once('crash', () => resolve()));
      process.kill(pid, 'SIGKILL');
      await crashed;
      const delay = m.status().find((d) => d.name === 'bgpd')?.nextAttemptMs;
      // The recovery is over (it counts the crash after its attempt succeeded), not only bgpd running again.
      await until(
        'bgpd back, the recovery over',
        () => running(m).includes('bgpd') && ![undefined, pid].includes(pidOf('bgpd')) && lifecycle!.state === 'idle',
      );
      return delay;
    };
    assert.equal(await crash(), 500, 'first crash');
    assert.equal(await crash(), 1000, 'a crash right after the recovery doubles the delay');
    await sleep(5200); // bgpd stays up longer than stableMs (5 s: a loaded machine takes seconds to restart it)
    assert.equal(await crash(), 500, 'after a stable run the backoff starts over');
  });

  it('zebra crashes while an apply restarts bgpd: the recovery waits for the apply, then zebra and bgpd come back', async () => {
    const m = await newManager({ apply: async (dm) => void (await dm.restartFor('bgpd', 'SIGKILL')) });
    await lifecycle!.start();
    const before = { zebra: pidOf('zebra'), bgpd: pidOf('bgpd') };
    await writeFile(join(bin, 'bgpd.slow'), '');
    const apply = lifecycle!.apply('change');
    await until('a new bgpd being started (its vty socket comes 400 ms later)', () => ![undefined, before.bgpd].includes(pidOf('bgpd')));
    process.kill(before.zebra!, 'SIGKILL');
    assert.ok(!events.includes('applied:change'), 'zebra crashed during the apply');
    await apply;
    await until(
      'all three running after the recovery',
      () => events.includes('start:bgpd:dependency') && running(m).length === 3 && pidOf('zebra') !== before.zebra,
    );
    assert.ok(idx('start:zebra:crash') > idx('applied:change'), 'the recovery started zebra after the apply ended');
    assert.ok(idx('start:bgpd:dependency') > idx('start:zebra:crash'), 'bgpd (re)started after zebra (phased restart)');
    assert.notEqual(pidOf('bgpd'), before.bgpd);
    assert.equal(m.status().find((d) => d.name === 'zebra')!.restarts, 1);
    await until('idle', () => lifecycle!.state === 'idle');
    const h = lifecycle!.history;
    assert.ok(h.indexOf('recovering', h.indexOf('applying')) > 0, `applying, then recovering: ${h.join(' ')}`);
  });

  it('a config change during the recovery backoff: the apply starts bgpd, the recovery then finds it running', async () => {
    const m = await newManager({ apply: async (dm) => void (await dm.restartFor('bgpd', 'SIGKILL')) });
    await lifecycle!.start();
    const first = pidOf('bgpd')!;
    process.kill(first, 'SIGKILL');
    await until('bgpd seen down', () => !running(m).includes('bgpd'));
    await lifecycle!.apply('change');
    await until('bgpd running', () => running(m).includes('bgpd'));
    await sleep(1200); // past the first recovery backoff (0.5 s): the recovery finds bgpd running and leaves it
    const pid = pidOf('bgpd');
    assert.ok(pid && pid !== first);
    assert.equal(configured.filter((n) => n === 'bgpd').length, 2, 'bgpd started and configured once more, not twice');
    assert.deepEqual(running(m).sort(), ['bgpd', 'staticd', 'zebra']);
  });

  it('a config change while a recovery starts bgpd: the apply waits for it, then one bgpd runs', async () => {
    const m = await newManager({ apply: async (dm) => void (await dm.restartFor('bgpd', 'SIGKILL')) });
    await lifecycle!.start();
    await writeFile(join(bin, 'bgpd.slow'), '');
    process.kill(pidOf('bgpd')!, 'SIGKILL');
    await until('the recovery running', () => lifecycle!.state === 'recovering', 5000);
    const apply = lifecycle!.apply('change');
    assert.equal(lifecycle!.state, 'recovering', 'the change is queued, not run beside the recovery');
    await apply;
    assert.ok(idx('apply:change') > idx('start:bgpd:crash'), 'the apply ran after the recovery started bgpd');
    assert.deepEqual(running(m).sort(), ['bgpd', 'staticd', 'zebra']);
    assert.equal(configured.filter((n) => n === 'bgpd').length, 3, 'initial, recovery, config change: one at a time');
    assert.equal(m.status().filter((d) => d.name === 'bgpd' && d.running).length, 1);
  });

  it('shutdown during a recovery backoff: the recovery gives up, nothing is started again', async () => {
    const m = await newManager();
    await lifecycle!.start();
    process.kill(pidOf('bgpd')!, 'SIGKILL');
    await until('bgpd seen down', () => !running(m).includes('bgpd'));
    await lifecycle!.shutdown('SIGTERM');
    await sleep(1200); // past the recovery's backoff
    assert.deepEqual(running(m), []);
    assert.ok(!events.includes('start:bgpd:crash'));
    for (const name of DAEMON_NAMES) assert.equal(pidOf(name), undefined, `${name} runs after the shutdown`);
  });

  it('SIGTERM while a recovery starts bgpd: the start in flight finishes (bounded), then everything stops', async () => {
    const m = await newManager();
    await lifecycle!.start();
    await writeFile(join(bin, 'bgpd.slow'), '');
    process.kill(pidOf('bgpd')!, 'SIGKILL');
    await until('the recovery running', () => lifecycle!.state === 'recovering', 5000);
    await lifecycle!.shutdown('SIGTERM');
    assert.ok(events.includes('start:bgpd:crash'), 'the recovery in flight was not cut in half');
    assert.equal(lifecycle!.state, 'stopped');
    assert.deepEqual(running(m), []);
    await sleep(1200); // past another backoff: nothing comes back
    for (const name of DAEMON_NAMES) assert.equal(pidOf(name), undefined, `${name} runs after the shutdown`);
  });

  it('shutdown while an apply restarts zebra and bgpd: the apply finishes (bounded), then everything stops', async () => {
    let atApplyEnd: string[] = [];
    const m = await newManager({
      apply: async (dm) => {
        assert.deepEqual(await dm.restartFor('zebra', 'SIGKILL'), ['zebra', 'bgpd']);
        atApplyEnd = running(dm).sort();
      },
    });
    await lifecycle!.start();
    await writeFile(join(bin, 'zebra.slow'), '');
    const apply = lifecycle!.apply('change');
    await until('applying', () => lifecycle!.state === 'applying');
    await lifecycle!.shutdown('SIGTERM');
    await apply;
    assert.deepEqual(atApplyEnd, ['bgpd', 'staticd', 'zebra'], 'the apply was not cut in half');
    assert.deepEqual(running(m), []);
  });

  it('a daemon that ignores SIGTERM is SIGKILLed after the stop timeout', async () => {
    const m = await newManager();
    await lifecycle!.start();
    await writeFile(join(bin, 'staticd.ignore-term'), '');
    const pid = pidOf('staticd')!;
    const t0 = Date.now();
    await lifecycle!.shutdown('SIGTERM');
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), false, 'staticd is gone');
    assert.deepEqual(running(m), []);
  });

  it('a daemon that SIGKILL does not end (stuck in the kernel): the shutdown gives up on it, bounded, and stops the rest', async () => {
    let stuck: number | undefined;
    const m = await newManager({
      manager: {
        killWaitMs: 300,
        // What a D-state process looks like: SIGTERM ignored (marker file), SIGKILL pending and never acted on.
        sendSignal: (pid, sig) => {
          if (pid !== undefined && !(pid === stuck && sig === 'SIGKILL')) process.kill(pid, sig);
        },
      },
    });
    try {
      await lifecycle!.start();
      await writeFile(join(bin, 'staticd.ignore-term'), '');
      stuck = pidOf('staticd')!;
      const t0 = Date.now();
      await lifecycle!.shutdown('SIGTERM');
      assert.ok(Date.now() - t0 < 5000, 'bounded: stopEachMs then killWaitMs');
      assert.equal(lifecycle!.state, 'stopped');
      const staticd = m.status().find((d) => d.name === 'staticd')!;
      assert.equal(staticd.running, false);
      assert.equal(staticd.unkillable?.pid, stuck);
      assert.equal(pidOf('zebra'), undefined, 'zebra, stopped after staticd, is gone');
      assert.equal(pidOf('bgpd'), undefined);
    } finally {
      if (stuck !== undefined) process.kill(stuck, 'SIGKILL');
    }
  });
});
