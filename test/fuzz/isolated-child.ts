/**
 * Runs one fuzz case in its own process, for inputs that may kill Node itself (deep nesting once overflowed the
 * parser's stack). Usage: node --import tsx test/fuzz/isolated-child.ts SEED INDEX TOTAL REPEAT DIR
 * The case is regenerated from (SEED, INDEX, TOTAL), written under DIR (created; the parent removes it, also
 * when this process dies) and loaded REPEAT times in this process (a crash may need a second load); prints
 * `{"runs": [RunOutcome, ...]}` on stdout.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { generateCase } from './cases.ts';
import { materialize, runLoad } from './run-case.ts';
import type { RunOutcome } from './run-case.ts';

const args = process.argv.slice(2);
const [seed, index, total, repeat] = args.slice(0, 4).map(Number);
const root = args[4];
if ([seed, index, total, repeat].some((n) => n === undefined || !Number.isSafeInteger(n)) || !root) {
  console.error('usage: isolated-child.ts SEED INDEX TOTAL REPEAT DIR');
  process.exit(2);
}
const c = generateCase(seed!, index!, total!);
mkdirSync(root, { recursive: true });
try {
  const dir = materialize(root, c);
  const runs: RunOutcome[] = [];
  for (let i = 0; i < repeat!; i++) runs.push(await runLoad(dir, c));
  process.stdout.write(JSON.stringify({ runs }));
} finally {
  rmSync(root, { recursive: true, force: true });
}
