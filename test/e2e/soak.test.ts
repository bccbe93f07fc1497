/**
 * The short soak (the long one is `npm run soak`): 40 config-change cycles against real FRR, each restarting
 * bgpd, with the supervisor's open fds, zombie children and stray FRR processes checked every 10 cycles (RSS is
 * printed; its growth is judged only from 100 cycles on, see scripts/soak.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from '../../lab/soak-run.ts';

test('short soak: 40 config changes leave no growing fds, zombies or stray processes', { timeout: 600_000 }, async (t) => {
  const cycles = 40;
  const result = await runSoak({
    cycles,
    every: 10,
    warmup: 10,
    rssLimitPct: 20,
    checkRss: cycles >= 100,
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(JSON.stringify({ soak: { ...result, samples: undefined } }));
  assert.deepEqual(result.failures, []);
  assert.equal(result.cycles, cycles);
  assert.equal(result.samples.length, 4);
  for (const s of result.samples) {
    assert.equal(s.zombies, 0, `zombies at cycle ${s.cycle}`);
    assert.equal(s.strays, 0, `stray processes at cycle ${s.cycle}`);
    assert.equal(s.daemons, 3, `FRR daemons at cycle ${s.cycle}`);
  }
  assert.ok((result.fdGrowth ?? 1) <= 0, `fds grew by ${result.fdGrowth}`);
  assert.equal(result.stop?.code, 0, 'clean stop');
  assert.equal(result.stop?.leftovers, 0, 'nothing left after the stop');
});
