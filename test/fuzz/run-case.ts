/** Writes a fuzz case into a (reused) directory and runs the config loader on it, timing the call. */
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { LoadResult } from '../../src/config/load.ts';
import type { FuzzCase } from './cases.ts';

export interface RunOutcome {
  result?: LoadResult;
  /** What loadConfig threw (it must not). */
  threw?: string;
  /** Wall time of loadConfig, ms. */
  ms: number;
}

/** Empties `root` and writes the case's files into `root/cfg` (or sets up a missing/regular-file config dir). */
export function materialize(root: string, c: FuzzCase): string | undefined {
  for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true });
  const dir = join(root, 'cfg');
  if (c.dirMode === 'none') return undefined;
  if (c.dirMode === 'missing') return join(root, 'missing');
  if (c.dirMode === 'file') {
    writeFileSync(join(root, 'plain-file'), 'not a directory\n');
    return join(root, 'plain-file');
  }
  mkdirSync(dir);
  for (const [name, spec] of Object.entries(c.files)) {
    const path = join(dir, name);
    if (typeof spec === 'string' || spec instanceof Uint8Array) writeFileSync(path, spec);
    else if ('dir' in spec) mkdirSync(path, { recursive: true });
    else symlinkSync(spec.symlink, path);
  }
  return dir;
}

export async function runLoad(configDir: string | undefined, c: FuzzCase): Promise<RunOutcome> {
  const facts = { env: { ...c.env }, interfaceIPv4: () => Promise.resolve(c.ifaceIp) };
  const t0 = performance.now();
  try {
    const result = await loadConfig({ ...(configDir !== undefined && { configDir }), env: c.useEnv, facts });
    return { result, ms: performance.now() - t0 };
  } catch (e) {
    return { threw: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e), ms: performance.now() - t0 };
  }
}
