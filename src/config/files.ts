/**
 * Reads the watched config directory (a Kubernetes projected volume: the visible names are symlinks through
 * `..data`) into parsed documents. Every failure becomes a Problem naming the file; nothing here throws.
 */
import { readdirSync, statSync } from 'node:fs';
import { lstat, open, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument, visit } from 'yaml';
import type { Problem } from './problems.ts';

export const MAX_FILE_BYTES = 1024 * 1024;

/** The input files, by role. Each role accepts a .yaml or a .json file (not both). */
export const INPUT_FILES = {
  bgp: ['bgp-conf.yaml', 'bgp-conf.json'],
  evpn: ['evpn-conf.yaml', 'evpn-conf.json'],
  gateway: ['gateway.yaml', 'gateway.json'],
  password: ['bgp-password'],
} as const;
export type Role = keyof typeof INPUT_FILES;

export interface ParsedFile {
  name: string;
  /** The parsed YAML/JSON document (for `password`: the text). */
  value: unknown;
  /** The raw bytes, for hashing what was read. */
  text: string;
  /** True when the file exists but could not be parsed (its problems are reported). */
  failed: boolean;
}

type ReadResult = { kind: 'missing' } | { kind: 'text'; text: string } | { kind: 'error'; message: string };

async function readBounded(path: string): Promise<ReadResult> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return { kind: 'error', message: 'is not a regular file' };
    if (st.size > MAX_FILE_BYTES) return { kind: 'error', message: `is ${st.size} bytes; at most ${MAX_FILE_BYTES} (1 MiB) are read` };
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > MAX_FILE_BYTES) return { kind: 'error', message: `is larger than ${MAX_FILE_BYTES} bytes (1 MiB)` };
      }
      const bytes = buf.subarray(0, total);
      let text: string;
      try {
        // The BOM is kept: a parser ignores it, but in the password file it would be part of the secret.
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        return { kind: 'error', message: 'is not UTF-8 text' };
      }
      if (text.includes('\0')) return { kind: 'error', message: 'contains NUL bytes: not a text file' };
      return { kind: 'text', text };
    } finally {
      await fh.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'error', message: 'is a symlink loop' };
    if (code === 'EACCES' || code === 'EPERM') return { kind: 'error', message: 'cannot be read: permission denied' };
    if (code === 'EISDIR') return { kind: 'error', message: 'is a directory, not a file' };
    return { kind: 'error', message: `cannot be read: ${(e as Error).message}` };
  }
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

/** Deeper than this is refused before parsing (the yaml parser recurses; a few KB of `[` overflow its stack). */
export const MAX_NESTING = 64;

/**
 * An upper bound of the document's nesting, without parsing: flow brackets outside quotes, plus block
 * nesting estimated from indentation and `- ` sequences. Valid configs nest 3 or 4 deep.
 */
export function nestingEstimate(text: string): number {
  let max = 0;
  let flow = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') max = Math.max(max, ++flow);
    else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) while (i < text.length && text[i] !== '\n') i++;
  }
  for (const line of text.split('\n')) {
    const m = /^([ -]*)/.exec(line);
    const lead = m?.[1] ?? '';
    max = Math.max(max, Math.ceil(lead.replace(/-/g, '  ').length / 2));
  }
  return max;
}

/** Parses YAML (or JSON, which must also be strict JSON) with duplicate-key, nesting and alias-bomb protection. */
export function parseStructured(name: string, text: string, problems: Problem[]): unknown {
  const fail = (message: string): undefined => {
    problems.push({ severity: 'error', source: name, path: '', message });
    return undefined;
  };
  if (text.startsWith('\ufeff')) text = text.slice(1);
  if (text.trim() === '') return fail('the file is empty');
  if (nestingEstimate(text) > MAX_NESTING) return fail(`the document is nested more than ${MAX_NESTING} levels deep`);
  const isJson = name.endsWith('.json');
  if (isJson) {
    try {
      JSON.parse(text);
    } catch (e) {
      // V8 quotes the document around the error ("Unexpected token 'x', "{...}" is not valid JSON"): it may hold
      // the password, so the quote is dropped.
      const msg = (e as Error).message.replace(/^Unexpected token .*is not valid JSON$/s, 'Unexpected token');
      const pos = /position (\d+)/.exec(msg);
      return fail(`JSON syntax error${pos?.[1] ? ` at ${lineCol(text, Number(pos[1]))}` : ''}: ${msg}`);
    }
  }
  try {
    // uniqueKeys is off: yaml compares keys pairwise (40 000 keys took seconds); duplicates are found below in one pass.
    const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true, stringKeys: true });
    const first = doc.errors[0];
    if (first) {
      const where = first.linePos?.[0] ? `line ${first.linePos[0].line}, column ${first.linePos[0].col}` : lineCol(text, first.pos[0]);
      const kind = isJson ? 'JSON' : 'YAML';
      return fail(`${kind} syntax error at ${where}: ${first.message.split(/[\r\n]/)[0] ?? ''}`);
    }
    let duplicate: string | undefined;
    visit(doc, {
      Map(_, map) {
        if (!isMap(map)) return undefined;
        const seen = new Set<string>();
        for (const pair of map.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
          if (seen.has(key)) {
            const pos = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : 0;
            duplicate = `duplicate key ${JSON.stringify(key.slice(0, 40))} at ${lineCol(text, pos)}`;
            return visit.BREAK;
          }
          seen.add(key);
        }
        return undefined;
      },
    });
    if (duplicate) return fail(duplicate);
    return doc.toJS({ maxAliasCount: 50 }) as unknown;
  } catch (e) {
    const msg = (e as Error).message;
    if (e instanceof RangeError) return fail('the document is nested too deeply');
    if (/alias/i.test(msg)) return fail(`too many YAML aliases (a billion-laughs style document?): ${msg}`);
    return fail(`cannot be parsed: ${msg}`);
  }
}

/**
 * Where to read a visible name from. In a projected volume the visible names are symlinks `..data/NAME` and `..data`
 * points at the current timestamped directory; kubelet swaps `..data` atomically. Resolving `..data` once per load
 * and reading every file from that directory gives one consistent snapshot: reading each name through `..data`
 * could mix two versions when a swap lands between two files.
 */
interface Snapshot {
  path(name: string): Promise<string>;
  /** True when the directory the snapshot resolved to is gone (kubelet removed it after a swap). */
  gone(): Promise<boolean>;
}

async function snapshotOf(dir: string): Promise<Snapshot> {
  let data: string | undefined;
  try {
    const target = await readlink(join(dir, '..data'));
    if (!target.includes('/') && target.startsWith('..')) data = join(dir, target);
  } catch {
    data = undefined; // not a projected volume (plain files)
  }
  return {
    path: async (name) => {
      if (data === undefined) return join(dir, name);
      try {
        const st = await lstat(join(dir, name));
        if (st.isSymbolicLink() && (await readlink(join(dir, name))) === `..data/${name}`) return join(data, name);
      } catch {
        // missing: read through the visible name, which reports it
      }
      return join(dir, name);
    },
    gone: async () => {
      if (data === undefined) return false;
      try {
        await stat(data);
        return false;
      } catch {
        return true;
      }
    },
  };
}

/** Test seam: called after each file is read (a test swaps the volume there). */
export interface ReadHooks {
  afterRead?: (name: string) => void;
}

/**
 * Reads every input role from `dir`, all from one snapshot of a projected volume (see Snapshot). Returns the parsed
 * files by role; problems are appended to `problems`. A role with both a .yaml and a .json file is an error (which
 * one wins would be a guess). When kubelet removed the snapshot's directory during the read, it reads again.
 */
export async function readConfigDir(dir: string, problems: Problem[], hooks: ReadHooks = {}): Promise<Partial<Record<Role, ParsedFile>>> {
  for (let attempt = 1; ; attempt++) {
    const local: Problem[] = [];
    const snapshot = await snapshotOf(dir);
    const out = await readSnapshot(dir, snapshot, local, hooks);
    if (attempt < 3 && (await snapshot.gone())) continue;
    problems.push(...local);
    return out;
  }
}

async function readSnapshot(
  dir: string,
  snapshot: Snapshot,
  problems: Problem[],
  hooks: ReadHooks,
): Promise<Partial<Record<Role, ParsedFile>>> {
  const out: Partial<Record<Role, ParsedFile>> = {};
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) {
      problems.push({ severity: 'error', source: dir, path: '', message: 'the config dir is not a directory' });
      return out;
    }
  } catch (e) {
    problems.push({ severity: 'error', source: dir, path: '', message: `the config dir cannot be read: ${(e as Error).message}` });
    return out;
  }
  for (const role of Object.keys(INPUT_FILES) as Role[]) {
    const found: Array<{ name: string; text: string; failed?: boolean }> = [];
    for (const name of INPUT_FILES[role]) {
      const res = await readBounded(await snapshot.path(name));
      hooks.afterRead?.(name);
      if (res.kind === 'error') {
        problems.push({ severity: 'error', source: name, path: '', message: `the file ${res.message}` });
        found.push({ name, text: '', failed: true });
      } else if (res.kind === 'text') found.push({ name, text: res.text });
    }
    if (found.length > 1) {
      problems.push({
        severity: 'error',
        source: found.map((f) => f.name).join(', '),
        path: '',
        message: 'both files exist; keep only one of them',
      });
      continue;
    }
    const file = found[0];
    if (!file) continue;
    if (file.failed) {
      out[role] = { name: file.name, value: undefined, text: '', failed: true };
      continue;
    }
    const value = role === 'password' ? file.text : parseStructured(file.name, file.text, problems);
    out[role] = { name: file.name, value, text: file.text, failed: value === undefined };
  }
  return out;
}

/**
 * The same roles from file contents held in memory (name -> text), as `kube-ovn-render` and `kube-ovn-sync` check
 * what they are about to write: the names and parsing are those of {@link readConfigDir}. Unknown names are ignored,
 * as a config dir ignores other files.
 */
export function parseConfigTexts(texts: Readonly<Record<string, string>>, problems: Problem[]): Partial<Record<Role, ParsedFile>> {
  const out: Partial<Record<Role, ParsedFile>> = {};
  for (const role of Object.keys(INPUT_FILES) as Role[]) {
    const names = INPUT_FILES[role].filter((name) => texts[name] !== undefined);
    if (names.length > 1) {
      problems.push({ severity: 'error', source: names.join(', '), path: '', message: 'both files exist; keep only one of them' });
      continue;
    }
    const name = names[0];
    const text = name === undefined ? undefined : texts[name];
    if (name === undefined || text === undefined) continue;
    const value = role === 'password' ? text : parseStructured(name, text, problems);
    out[role] = { name, value, text, failed: value === undefined };
  }
  return out;
}

/**
 * A cheap summary of everything `readConfigDir` could see: each entry of `dir` (following symlinks, so a kubelet
 * `..data` swap changes the visible files' inodes) with its inode, size, mtime and ctime in nanoseconds, and the
 * error code of anything that cannot be stat'ed. Two equal fingerprints mean the files were not touched between
 * them, so a periodic resync can skip reading and parsing them. Synchronous on purpose: a handful of stat calls
 * on a local volume take microseconds, less than handing each to the thread pool. Never throws.
 */
export function inputFingerprint(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    return `dir ${(e as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  return names
    .map((name) => {
      try {
        const st = statSync(join(dir, name), { bigint: true });
        return `${name}\0${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      } catch (e) {
        return `${name}\0${(e as NodeJS.ErrnoException).code ?? 'error'}`;
      }
    })
    .join('\n');
}
