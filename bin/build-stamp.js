// Which code bin/frr-supervisor.js runs: dist/ only when it was built from the sources beside it. `npm run
// build` (tsc, then `node bin/build-stamp.js`) writes dist/build-stamp.json with a SHA-256 of src/ and the two
// tsconfig files; at start the digest of the checkout is compared with it. Every bench:* leaves a dist/
// behind, and an edit to src/ after it must not be answered by the old build without a word.
//   - no src/ (the container image: only dist/ is copied in): dist/
//   - no dist/ (a checkout that was never built): src/ through tsx
//   - both, stamp matches: dist/ (the build is current)
//   - both, stamp missing or different: src/ through tsx (`run` says so on stderr and in its supervisor_started log)
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STAMP = 'dist/build-stamp.json';
const INPUTS = ['tsconfig.json', 'tsconfig.build.json'];

/** SHA-256 over the sorted relative paths and contents of src/ and the tsconfig files of ROOT. */
export function sourceDigest(root) {
  const files = readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
    .concat(INPUTS.filter((f) => existsSync(join(root, f))))
    .sort();
  const h = createHash('sha256');
  for (const f of files)
    h.update(`${f}\0`)
      .update(readFileSync(join(root, f)))
      .update('\0');
  return h.digest('hex');
}

/**
 * @param {string} root the package root (where bin/, src/ and dist/ are)
 * @returns {{ code: 'dist' | 'src', why: string, stale: boolean }}
 */
export function chooseCode(root) {
  const hasDist = existsSync(join(root, 'dist/cli/main.js'));
  const hasSrc = existsSync(join(root, 'src/cli/main.ts'));
  if (!hasSrc) return { code: 'dist', why: 'dist/ (no src/ here: an installed package or the image)', stale: false };
  if (!hasDist) return { code: 'src', why: 'src/ through tsx (no dist/ build)', stale: false };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, STAMP), 'utf8')).sourceDigest;
  } catch {
    stamp = undefined;
  }
  const now = sourceDigest(root);
  if (stamp === now) return { code: 'dist', why: `dist/ (its build stamp matches src/, ${now.slice(0, 12)})`, stale: false };
  return {
    code: 'src',
    why: `src/ through tsx: dist/ was built from other sources (${stamp === undefined ? `no ${STAMP}` : `build stamp ${String(stamp).slice(0, 12)}`}, src/ now ${now.slice(0, 12)}); "npm run build" makes it current`,
    stale: true,
  };
}

// `node bin/build-stamp.js` (the last step of `npm run build`): stamp dist/ with the digest of what it was built from.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  writeFileSync(join(root, STAMP), `${JSON.stringify({ sourceDigest: sourceDigest(root), builtAt: new Date().toISOString() })}\n`);
}
