/**
 * `npm run soak`: 500 config-change cycles (SOAK_CYCLES overrides) against real FRR in the lab, each restarting
 * bgpd. Prints the supervisor's RSS and open fd count every 50 cycles and a JSON object last; exits 1 when RSS
 * grows more than 20 % after the 50-cycle warm-up (SOAK_WARMUP overrides; checked when at least as many cycles
 * follow it), the fd count grows, or a zombie or stray FRR process shows up. Needs root (network namespaces),
 * like the e2e tests.
 */
import { runSoak } from '../lab/soak-run.ts';

function wholeFromEnv(name: string, dflt: number, min: number): number {
  const raw = process.env[name] ?? String(dflt);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`${name}=${raw}: expected a whole number >= ${min}`);
    process.exit(2);
  }
  return n;
}

const cycles = wholeFromEnv('SOAK_CYCLES', 500, 1);
const warmup = wholeFromEnv('SOAK_WARMUP', 50, 1);
const every = 50;
const checkRss = cycles >= 2 * warmup;
const result = await runSoak({ cycles, every, warmup, rssLimitPct: 20, checkRss, log: (line) => console.log(line) });
for (const f of result.failures) console.error(`soak: FAILED: ${f}`);
if (!checkRss)
  console.log(`soak: RSS growth not checked (${cycles} cycles; needs >= ${2 * warmup}: a ${warmup}-cycle warm-up and as many after)`);
console.log(JSON.stringify({ soak: { ...result, samples: undefined } }));
process.exitCode = result.ok ? 0 : 1;
