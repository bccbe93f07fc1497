/**
 * `npm run soak`: 500 config-change cycles (SOAK_CYCLES overrides) against real FRR in the lab, each restarting
 * bgpd. Prints the supervisor's RSS and open fd count every 50 cycles and a JSON object last; exits 1 when RSS
 * grows more than 20 % after the 50-cycle warm-up (checked from 100 cycles on), the fd count grows, or a zombie
 * or stray FRR process shows up. Needs root (network namespaces), like the e2e tests.
 */
import { runSoak } from '../test/lab/soak-run.ts';

const raw = process.env.SOAK_CYCLES ?? '500';
const cycles = Number(raw);
if (!Number.isSafeInteger(cycles) || cycles < 1) {
  console.error(`SOAK_CYCLES=${raw}: expected a whole number of cycles >= 1`);
  process.exit(2);
}
const every = 50;
const warmup = 50;
const result = await runSoak({ cycles, every, warmup, rssLimitPct: 20, checkRss: cycles >= 100, log: (line) => console.log(line) });
for (const f of result.failures) console.error(`soak: FAILED: ${f}`);
if (!result.rssChecked) console.log(`soak: RSS growth not checked (${cycles} cycles; needs >= 100: a ${warmup}-cycle warm-up and as many after)`);
console.log(JSON.stringify({ soak: { ...result, samples: undefined } }));
process.exitCode = result.ok ? 0 : 1;
