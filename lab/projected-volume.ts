/**
 * A Kubernetes projected volume, written the way kubelet's AtomicWriter does it: the files live in a
 * timestamped directory `..2026_11_26_05_03_20.123456789`, `..data` is a symlink to it, and the visible
 * names are symlinks through `..data`. An update writes a new timestamped directory, points `..data_tmp`
 * at it, renames `..data_tmp` over `..data` (the atomic switch), fixes the visible symlinks, and removes
 * the old directory.
 */
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let seq = 0;

function stamp(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  seq = (seq + 1) % 1_000_000;
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.${p(process.pid, 6)}${p(seq, 6)}`;
}

export class ProjectedVolume {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Atomically replaces the whole volume content with `files` (name -> content; mode 0644, like a ConfigMap). */
  update(files: Record<string, string>): void {
    const dataDir = stamp();
    const full = join(this.dir, dataDir);
    mkdirSync(full);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(full, name), text, { mode: 0o644 });
    let old: string | undefined;
    try {
      old = readlinkSync(join(this.dir, '..data'));
    } catch {
      old = undefined;
    }
    const tmp = join(this.dir, '..data_tmp');
    rmSync(tmp, { force: true });
    symlinkSync(dataDir, tmp);
    renameSync(tmp, join(this.dir, '..data'));
    // visible names: add the new ones, remove the ones no longer projected
    for (const name of Object.keys(files)) {
      const link = join(this.dir, name);
      try {
        lstatSync(link);
      } catch {
        symlinkSync(join('..data', name), link);
      }
    }
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith('..') || entry in files) continue;
      unlinkSync(join(this.dir, entry));
    }
    if (old) rmSync(join(this.dir, old), { recursive: true, force: true });
  }
}
