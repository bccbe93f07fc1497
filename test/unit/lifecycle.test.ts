/**
 * The lifecycle's transition table, event by state: each of apply, recover and shutdown is sent to a Lifecycle brought
 * into each state (with a fake applier and fake daemons whose operations block until the test lets them go), and what
 * it did is read from what ran and when: at once (run), after the operation in flight (queue), at start() (hold),
 * never (drop), a shutdown begun (drain) or the one under way (join). Then the rules around it: coalescing, the
 * 'daemons recovered' apply, the shutdown's order and bound.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Lifecycle, TRANSITIONS, phaseOf } from '../../src/supervisor/lifecycle.ts';
import type { LifecycleAction, LifecycleEvent, LifecycleState } from '../../src/supervisor/lifecycle.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { createLogger } from '../../src/log.ts';

const STATES: LifecycleState[] = ['starting', 'idle', 'applying', 'recovering', 'draining', 'stopped'];

/** The table as specified (TRANSITIONS must say the same, and the Lifecycle must do it). */
const EXPECTED: Record<LifecycleEvent, Record<LifecycleState, LifecycleAction>> = {
  apply: { starting: 'hold', idle: 'run', applying: 'queue', recovering: 'queue', draining: 'drop', stopped: 'drop' },
  recover: { starting: 'queue', idle: 'run', applying: 'queue', recovering: 'queue', draining: 'drop', stopped: 'drop' },
  shutdown: { starting: 'drain', idle: 'drain', applying: 'drain', recovering: 'drain', draining: 'join', stopped: 'join' },
};

interface Gate {
  promise: Promise<void>;
  open: () => void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** A Lifecycle on fakes. `log` records what ran; an operation whose name has a gate waits for it. */
function harness(o: { unverified?: boolean; running?: boolean; applyMs?: number; cleanupFails?: string } = {}) {
  const log: string[] = [];
  const gates = new Map<string, Gate>();
  const hold = (name: string): Gate => {
    const g = gate();
    gates.set(name, g);
    return g;
  };
  const pass = async (name: string): Promise<void> => {
    log.push(name);
    await gates.get(name)?.promise;
  };
  const events: Array<Record<string, unknown>> = [];
  const sink = { write: (line: string) => events.push(JSON.parse(line) as Record<string, unknown>) };
  const applier = {
    unverified: o.unverified ?? false,
    closed: false,
    request: (reason: string, opts: { periodic?: boolean } = {}) => pass(`apply:${reason}${opts.periodic ? ':periodic' : ''}`),
    close() {
      this.closed = true;
    },
  };
  const daemons = {
    names: ['zebra', 'bgpd'] as DaemonName[],
    isRunning: () => o.running ?? true,
    close: () => void log.push('daemons.close'),
    stopAll: () => pass('daemons.stopAll'),
  };
  const lc = new Lifecycle({
    applier,
    daemons,
    logger: createLogger('debug', sink as unknown as NodeJS.WritableStream),
    steps: {
      stopInputs: () => pass('stopInputs'),
      stopObserving: () => pass('stopObserving'),
      drain: () => pass('drain'),
      cleanup: async () => {
        await pass('cleanup');
        if (o.cleanupFails !== undefined) throw new Error(o.cleanupFails);
      },
    },
    budget: { applyMs: o.applyMs ?? 5000, stopEachMs: 100 },
  });
  const recover = (name: string, started: DaemonName[] = ['bgpd']): Promise<DaemonName[]> =>
    lc.recover('bgpd', async () => {
      await pass(`recover:${name}`);
      return started;
    });
  return { lc, log, hold, applier, events, recover };
}
type Harness = ReturnType<typeof harness>;

/** A started harness with the apply `reason` in flight, held until `release()`. */
async function applyingHeld(reason: string): Promise<{ h: Harness; done: Promise<void>; release: () => void }> {
  const h = harness();
  await h.lc.start();
  const g = h.hold(`apply:${reason}`);
  const done = h.lc.apply(reason);
  await tick();
  return { h, done, release: g.open };
}

/** A harness brought into `state`; `release` lets the operation holding it there finish (or, starting, start()s). */
async function into(state: LifecycleState): Promise<{ h: Harness; release: () => Promise<void>; shutdown?: Promise<void> }> {
  const h = harness();
  const none = (): Promise<void> => Promise.resolve();
  if (state === 'starting') return { h, release: () => h.lc.start() };
  await h.lc.start();
  if (state === 'idle') return { h, release: none };
  if (state === 'applying' || state === 'recovering') {
    const g = h.hold(state === 'applying' ? 'apply:busy' : 'recover:busy');
    const done = state === 'applying' ? h.lc.apply('busy') : h.recover('busy');
    await tick();
    return { h, release: async () => (g.open(), void (await done)) };
  }
  const g = h.hold('stopInputs');
  const shutdown = h.lc.shutdown('SIGTERM');
  if (state === 'draining') return { h, release: async () => (g.open(), await shutdown), shutdown };
  g.open();
  await shutdown;
  return { h, release: none, shutdown };
}

describe('lifecycle transitions: each event in each state', () => {
  it('TRANSITIONS is the specified table', () => {
    assert.deepEqual(TRANSITIONS, EXPECTED);
  });

  for (const state of STATES) {
    for (const event of ['apply', 'recover', 'shutdown'] as LifecycleEvent[]) {
      const action = EXPECTED[event][state];
      it(`${event} while ${state}: ${action}`, async () => {
        const { h, release, shutdown } = await into(state);
        assert.equal(h.lc.state, state);
        if (event === 'shutdown') {
          const p = h.lc.shutdown('SIGTERM');
          if (action === 'join') assert.equal(p, shutdown, 'the shutdown under way');
          else assert.equal(h.lc.state, 'draining');
          await release();
          await p;
          assert.equal(h.lc.state, 'stopped');
          assert.equal(h.log.filter((l) => l === 'daemons.stopAll').length, 1, 'one shutdown');
          return;
        }
        const name = event === 'apply' ? 'apply:x' : 'recover:x';
        let settled = false;
        const p = (event === 'apply' ? h.lc.apply('x') : h.recover('x')).then(() => (settled = true));
        await tick();
        const ranAtOnce = h.log.includes(name);
        switch (action) {
          case 'run':
            assert.ok(ranAtOnce, `${name} ran at once: ${h.log.join(', ')}`);
            await p;
            break;
          case 'queue':
            assert.ok(!ranAtOnce && !settled, 'waits for the operation in flight');
            await release();
            await p;
            assert.ok(h.log.includes(name), `then runs: ${h.log.join(', ')}`);
            break;
          case 'hold':
            await tick();
            assert.ok(!ranAtOnce && !settled, 'waits for start()');
            await h.lc.start();
            await p;
            assert.deepEqual(h.log, ['apply:startup'], 'folded into the startup apply');
            break;
          case 'drop':
            await p;
            await release();
            assert.ok(!h.log.includes(name), 'never runs');
            break;
          default:
            assert.fail(`unexpected ${action}`);
        }
        if (state !== 'draining' && state !== 'stopped') assert.equal(h.lc.state, 'idle');
      });
    }
  }
});

describe('lifecycle rules', () => {
  it('/status phase: starting, idle, applying, stopping (a recovery shows as idle; the daemons show it)', () => {
    assert.deepEqual(STATES.map(phaseOf), ['starting', 'idle', 'applying', 'idle', 'stopping', 'stopping']);
  });

  it('applies asked for during an apply coalesce into one more run, with the latest reason; periodic only if all were', async () => {
    for (const [asked, ran] of [
      [['resync', 'change a.yaml', 'resync'], 'apply:resync'],
      [['resync', 'resync'], 'apply:resync:periodic'],
    ] as const) {
      const { h, done, release } = await applyingHeld('first');
      const more = asked.map((r) => h.lc.apply(r, { periodic: r === 'resync' }));
      release();
      await Promise.all([done, ...more]);
      assert.deepEqual(h.log, ['apply:startup', 'apply:first', ran]);
    }
  });

  it('an apply asked for before start() is folded into the startup apply', async () => {
    const h = harness();
    const early = h.lc.apply('change a.yaml');
    await tick();
    assert.deepEqual(h.log, []);
    await h.lc.start();
    await early;
    assert.deepEqual(h.log, ['apply:startup']);
    assert.deepEqual(h.lc.history, ['starting', 'idle']);
  });

  it("a recovery that starts daemons while the applied config is unverified asks for a 'daemons recovered' apply", async () => {
    const h = harness({ unverified: true });
    await h.lc.start();
    await h.recover('a');
    await h.recover('nothing started', []);
    await h.lc.apply('sync'); // queued behind whatever the recoveries asked for
    assert.deepEqual(h.log, ['apply:startup', 'recover:a', 'apply:daemons recovered', 'recover:nothing started', 'apply:sync']);
    const verified = harness({ unverified: false });
    await verified.lc.start();
    await verified.recover('a');
    await verified.lc.apply('sync');
    assert.deepEqual(verified.log, ['apply:startup', 'recover:a', 'apply:sync'], 'verified: nothing to complete');
    const down = harness({ unverified: true, running: false });
    await down.lc.start();
    await down.recover('a');
    await down.lc.apply('sync');
    assert.deepEqual(down.log, ['apply:startup', 'recover:a', 'apply:sync'], 'not every daemon runs yet: not now');
  });

  it('shutdown: queue dropped, recoveries and the apply closed, in-flight finished, then observe, drain, stop, clean up', async () => {
    const { h, done: busy, release } = await applyingHeld('busy');
    const queued = h.lc.apply('queued');
    const stopping = h.lc.shutdown('SIGTERM');
    assert.equal(h.applier.closed, true, 'the apply in flight is told to stop waiting');
    await tick();
    assert.ok(!h.log.includes('stopObserving'), 'waits for the apply in flight');
    release();
    await Promise.all([busy, queued, stopping]);
    assert.deepEqual(h.log, [
      'apply:startup',
      'apply:busy',
      'daemons.close',
      'stopInputs',
      'stopObserving',
      'drain',
      'daemons.stopAll',
      'cleanup',
    ]);
    assert.deepEqual(h.lc.history.slice(-3), ['applying', 'draining', 'stopped']);
  });

  it('history keeps the last 64 changes of state, however many resyncs run', async () => {
    const h = harness();
    await h.lc.start();
    for (let i = 0; i < 100; i++) {
      await h.lc.apply('resync', { periodic: true });
      await tick(); // back to idle, as between two resyncs
    }
    assert.equal(h.lc.history.length, 64, h.lc.history.join(' '));
    assert.deepEqual(h.lc.history.slice(-2), ['applying', 'idle']);
  });

  it('shutdown: a step that throws (cleanup meeting a directory at a pid file) is logged; the shutdown goes on to stopped', async () => {
    const h = harness({ cleanupFails: 'EISDIR: illegal operation on a directory, unlink' });
    await h.lc.start();
    await h.lc.shutdown('SIGTERM');
    assert.equal(h.lc.state, 'stopped');
    const failed = h.events.find((e) => e.event === 'shutdown_step_failed');
    assert.deepEqual([failed?.step, failed?.err], ['cleanup', 'EISDIR: illegal operation on a directory, unlink']);
    assert.ok(
      h.events.some((e) => e.event === 'stopped'),
      'stopped is logged',
    );
  });

  it('shutdown: an operation that does not finish within the budget is abandoned, logged, and the shutdown goes on', async () => {
    const h = harness({ applyMs: 200 });
    await h.lc.start();
    h.hold('recover:stuck');
    const stuck = h.recover('stuck');
    await tick();
    assert.equal(h.lc.state, 'recovering');
    await h.lc.shutdown('SIGTERM');
    assert.equal(h.lc.state, 'stopped');
    assert.ok(h.log.includes('daemons.stopAll'));
    const ev = h.events.find((e) => e.event === 'shutdown_apply_abandoned');
    assert.ok(ev, 'shutdown_apply_abandoned logged');
    assert.deepEqual([ev.state, ev.operation], ['recovering', 'recovery of bgpd']);
    assert.equal(await Promise.race([stuck.then(() => 'settled'), tick().then(() => 'pending')]), 'pending', 'abandoned, not waited for');
  });
});
