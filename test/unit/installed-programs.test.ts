/**
 * Nothing assumed installed: every program that the tests, benches, demo and scripts run is installed by the
 * project's own scripts (or is part of every Debian system, or is Node itself, the one prerequisite).
 *
 * The test derives both sides from the code, for each npm script (package.json) separately:
 * - what the entry point reaches: the files its command line runs (`bash X.sh`, `node --import tsx X.ts`, globs,
 *   `npm run OTHER`), and from there, transitively, the modules they import and the repository files they name as
 *   string literals (a script run with `bash`, an agent run with `node`);
 * - the programs those files run: `execa`/`execFile`/`spawn` of a literal program, argv arrays handed to a runner
 *   (`run(['ip', ...])`), `ip netns exec NS PROG`, absolute paths (/usr/bin/X, /usr/sbin/X, /usr/lib/frr/X), and
 *   in shell scripts the first word of every command (arrays like `podman=(podman --runtime runc)` included);
 * - the Debian packages the reached installers install: `apt-get install` lines and `missing+=(PKG)` in shell
 *   scripts, `ensureTool(CMD, PKG)` in TypeScript.
 * Then it asks this machine's dpkg which package provides each program (`dpkg -S` on the program's path) and
 * fails when that package is neither installed by a reached installer nor part of a minimal Debian system
 * (Essential or Priority required: what `debootstrap --variant=minbase` makes, which `npm run test:clean-root`
 * runs in). A program missing on this machine fails too (nobody could have installed it). Programs that run
 * inside a container or the VM (podman exec/run arguments, test/vm/guest/, lab/router-image/) are not the host's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Node and npm are the prerequisite (package.json engines); npm ci installs node_modules/.bin. */
const PREREQUISITE = new Set(['node', 'npm', 'npx']);
/** Shell words that are not programs run from PATH. */
const SHELL_WORDS = new Set(
  (
    'if then else elif fi for while until do done case esac in function select time ! [ [[ ]] { } ' +
    'cd echo printf exit return trap shift read true false test command exec eval wait source . unset declare ' +
    'local export readonly set break continue let type hash ulimit umask getopts kill pwd mapfile'
  ).split(' '),
);
/** Files whose commands run in another root (a container image, the VM), not on the host. */
const NOT_HOST = [/^test\/vm\/guest\//, /^lab\/router-image\//];

// ---------------------------------------------------------------------------------------------------------
// what an entry point reaches

function read(file: string): string {
  return readFileSync(join(REPO, file), 'utf8');
}

function exists(file: string): boolean {
  return existsSync(join(REPO, file)) && statSync(join(REPO, file)).isFile();
}

function expandGlob(pattern: string): string[] {
  if (!pattern.includes('*')) return exists(pattern) ? [pattern] : [];
  const dir = dirname(pattern);
  const re = new RegExp(
    `^${pattern
      .slice(dir.length + 1)
      .replace(/[.]/g, '\\.')
      .replace(/\*/g, '[^/]*')}$`,
  );
  return readdirSync(join(REPO, dir))
    .filter((f) => re.test(f))
    .map((f) => `${dir}/${f}`);
}

/** The repository files a package.json script runs directly, and the other npm scripts it runs. */
function scriptFiles(scripts: Record<string, string>, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const cmd = scripts[name] ?? '';
  const out: string[] = [];
  for (const word of cmd.split(/\s+/)) {
    if (/^[\w./*-]+$/.test(word) && !word.includes('**')) out.push(...expandGlob(word).filter((f) => /\.(ts|js|sh)$/.test(f)));
  }
  for (const m of cmd.matchAll(/npm run ([\w:-]+)/g)) out.push(...scriptFiles(scripts, m[1] ?? '', seen));
  return out;
}

/** Repository files a file refers to: imports, new URL(...), repo-relative path literals. */
function references(file: string, text: string): string[] {
  const out: string[] = [];
  const rel = (p: string): string => relative(REPO, resolve(REPO, dirname(file), p));
  const code = text.replace(/^import type .*$/gm, '');
  for (const m of code.matchAll(/(?:from|import\(|new URL\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(rel(m[1] ?? ''));
  for (const m of text.matchAll(/['"`]((?:scripts|lab|bench|test|src|bin)\/[\w./-]+\.(?:ts|js|sh))['"`]/g)) out.push(m[1] ?? '');
  if (file.endsWith('.sh'))
    for (const m of text.matchAll(/(?:bash|sh)\s+((?:scripts|bench|test|lab)\/[\w./-]+\.sh)/g)) out.push(m[1] ?? '');
  return out.filter(exists);
}

function reach(entries: string[]): string[] {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const f = todo.pop() ?? '';
    if (seen.has(f) || f.includes('node_modules')) continue;
    seen.add(f);
    todo.push(...references(f, read(f)));
  }
  return [...seen].sort();
}

// ---------------------------------------------------------------------------------------------------------
// the programs a file runs

interface Use {
  program: string;
  file: string;
}

/**
 * One line of shell with the quoted text emptied (awk programs, messages, `bash -c '...'` run elsewhere), except
 * the command substitutions inside double quotes, and without its comment.
 */
function blankQuotes(line: string): string {
  let out = '';
  for (let i = 0; i < line.length;) {
    const c = line[i] ?? '';
    if (c === '\\') {
      out += line.slice(i, i + 2);
      i += 2;
    } else if (c === "'") {
      const j = line.indexOf("'", i + 1);
      out += "''";
      i = j < 0 ? line.length : j + 1;
    } else if (c === '"') {
      let j = i + 1;
      let kept = '';
      while (j < line.length && line[j] !== '"') {
        if (line[j] === '\\') j += 2;
        else if (line.startsWith('$(', j)) {
          let depth = 0;
          let k = j;
          for (; k < line.length; k++) {
            if (line[k] === '(') depth++;
            else if (line[k] === ')' && --depth === 0) break;
          }
          kept += ` ${blankQuotes(line.slice(j, k + 1))} `;
          j = k + 1;
        } else j++;
      }
      out += `""${kept}`;
      i = j + 1;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) break;
    else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The script's code lines: heredoc bodies dropped, continuations joined, quotes emptied, comments removed. */
function shellCode(text: string): string[] {
  const lines: string[] = [];
  let heredoc: string | undefined;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    if (heredoc !== undefined) {
      if (line.trim() === heredoc) heredoc = undefined;
      continue;
    }
    const h = /<<-?\s*['"]?(\w+)['"]?/.exec(line);
    if (h) heredoc = h[1];
    lines.push(blankQuotes(line));
  }
  return lines;
}

function shellPrograms(file: string, text: string): string[] {
  const code = shellCode(text);
  const functions = new Set([...code.join('\n').matchAll(/^\s*([\w-]+)\s*\(\)\s*\{/gm)].map((m) => m[1] ?? ''));
  const arrays = new Map([...code.join('\n').matchAll(/(\w+)=\(\s*([a-z][\w.+-]*)/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
  const out: string[] = [];
  for (const line of code.map((l) => l.replace(/\w+\+?=\([^)]*\)/g, ''))) {
    for (let seg of line.split(/\$\(|&&|\|\||[;|(){}`]|\bthen\b|\bdo\b|\belse\b/)) {
      seg = seg.trim().replace(/^(?:!\s*|time\s+)/, '');
      while (/^\w+\+?=\S*\s/.test(seg)) seg = seg.replace(/^\w+\+?=\S*\s+/, '');
      const word = seg.split(/\s+/)[0] ?? '';
      const arr = /^"?\$\{(\w+)\[@\]\}"?$/.exec(word);
      if (arr) {
        const p = arrays.get(arr[1] ?? '');
        if (p) out.push(p);
        continue;
      }
      if (!/^[a-z][\w.+-]*$/.test(word) && !/^\/(?:usr\/)?s?bin\/[\w.+-]+$/.test(word)) continue;
      if (SHELL_WORDS.has(word) || functions.has(word) || /^\w+\+?=/.test(seg)) continue;
      out.push(word);
    }
  }
  return out;
}

/**
 * The functions that run an argv array on the host: the product's runners (`run`, `runOk`, `runner`) and the lab's
 * and the tests' helpers (`lab.exec(NS, argv)`, `inVrf`, `inside`, `inSupMnt`, `ex`). `inContainer`, podman's
 * arguments and `inChroot` run in another root.
 */
const ARGV_RUNNERS =
  /(?:^|[^\w.])(?:[\w.]*\.)?(?:run|runOk|runner|exec|inVrf|inside|inSupMnt|ex)\(\s*(?:[^,()[\]]+,\s*)?\[\s*'([a-z][\w.+-]*)',/g;

function tsPrograms(text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/^\s*(?:\/\/|\*).*$/gm, '');
  for (const m of code.matchAll(/\b(?:execa|execaSync|execFile|execFileSync|spawn|spawnSync)\(\s*['"`]([^'"`$]+)['"`]/g))
    out.push(m[1] ?? '');
  for (const m of code.matchAll(ARGV_RUNNERS)) out.push(m[1] ?? '');
  // argv constants: PODMAN = ['podman', ...], probe = ['unshare', ...], argv = ['ip', ...]
  for (const m of code.matchAll(/(?:const|let)\s+\w*(?:argv|ARGV|probe|PODMAN|Argv)\w*\s*=\s*\[\s*'([a-z][\w.+-]*)'/g))
    out.push(m[1] ?? '');
  for (const m of code.matchAll(/'netns',\s*'exec',\s*[^,\]]+,\s*'([a-z][\w.+-]*)'/g)) out.push(m[1] ?? '');
  // absolute program paths given a name: PROMTOOL = '/usr/bin/promtool', ZEBRA = '/usr/lib/frr/zebra'
  for (const m of code.matchAll(/(?:const|let)\s+\w+\s*=\s*['"`](\/(?:usr\/)?(?:s?bin|lib\/frr)\/[a-z][\w.+-]*)['"`]/g))
    out.push(m[1] ?? '');
  return out;
}

function programsOf(file: string): Use[] {
  if (NOT_HOST.some((re) => re.test(file))) return [];
  const text = read(file);
  const list = file.endsWith('.sh') ? shellPrograms(file, text) : tsPrograms(text);
  return list.filter((p) => !PREREQUISITE.has(p) && !existsSync(join(REPO, 'node_modules/.bin', p))).map((program) => ({ program, file }));
}

// ---------------------------------------------------------------------------------------------------------
// the packages the reached installers install

/** Command -> package pairs the installers declare (`command -v X || missing+=(PKG)`, `ensureTool(X, PKG)`). */
function declaredProviders(files: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    const text = read(f);
    for (const m of text.matchAll(/command -v (\S+) >\/dev\/null(?: 2>&1)? \|\| missing\+=\((\S+)\)/g)) out.set(m[1] ?? '', m[2] ?? '');
    for (const m of text.matchAll(/\[ -x (\S+) \] \|\| missing\+=\((\S+)\)/g)) out.set(m[1] ?? '', m[2] ?? '');
    for (const m of text.matchAll(/ensureTool\(\s*'([^']+)',\s*'([^']+)'/g)) out.set(m[1] ?? '', m[2] ?? '');
  }
  return out;
}

function installedPackages(files: string[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    const text = read(f);
    if (f.endsWith('.sh')) {
      for (const line of shellCode(text)) {
        const apt = /apt-get\s+install\s+(.*)$/.exec(line);
        if (apt) for (const w of (apt[1] ?? '').split(/\s+/)) if (/^[a-z0-9][\w.+-]*$/.test(w)) out.add(w);
      }
      for (const m of text.matchAll(/missing\+=\(([^)]*)\)/g)) for (const w of (m[1] ?? '').trim().split(/\s+/)) out.add(w);
    } else {
      for (const m of text.matchAll(/ensureTool\(\s*'[^']+',\s*'([^']+)'/g)) out.add(m[1] ?? '');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// this machine's dpkg

const packageOfCache = new Map<string, string | undefined>();

/** Where a program is on this machine, with its merged-/usr aliases (dpkg may know it under /bin or /usr/bin). */
function candidatePaths(program: string): string[] {
  let path: string | undefined;
  if (program.startsWith('/')) path = program;
  else {
    try {
      path = execFileSync('sh', ['-c', 'command -v "$1"', 'which', program], {
        encoding: 'utf8',
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      }).trim();
    } catch {
      return [];
    }
  }
  if (!existsSync(path)) return [];
  const out = new Set([path, realpathSync(path)]);
  for (const p of [...out]) out.add(p.startsWith('/usr/') ? p.slice(4) : `/usr${p}`);
  return [...out];
}

/** Asks dpkg once (`dpkg -S PATH...`: one pass over its file lists) which package provides each program. */
function resolvePackages(programs: string[]): void {
  const todo = programs.filter((p) => !packageOfCache.has(p)).map((p) => ({ program: p, paths: candidatePaths(p) }));
  const all = todo.flatMap((t) => t.paths);
  const owner = new Map<string, string>();
  if (all.length > 0) {
    const r = spawnSync('dpkg', ['-S', ...all], { encoding: 'utf8' });
    // `PKG[, PKG]: PATH` (PKG may carry :ARCH); `diversion by X from: PATH` lines are not owners
    for (const line of r.stdout.split('\n')) {
      const m = /^([a-z0-9][\w.+-]*)(?::[a-z0-9]+)?(?:, [^:]+)?: (\/.*)$/.exec(line);
      if (m?.[1] && m[2]) owner.set(m[2], m[1]);
    }
  }
  for (const t of todo)
    packageOfCache.set(
      t.program,
      t.paths.map((p) => owner.get(p)).find((x) => x !== undefined),
    );
}

/** The Debian package that provides a program (by its path on this machine); undefined when it is not here. */
function packageOf(program: string): string | undefined {
  resolvePackages([program]);
  return packageOfCache.get(program);
}

/** Part of every Debian system (debootstrap --variant=minbase): Essential or Priority required. */
function inBaseSystem(pkg: string): boolean {
  try {
    const [essential, priority] = execFileSync('dpkg-query', ['-W', '-f', '${Essential} ${Priority}', pkg], { encoding: 'utf8' }).split(
      ' ',
    );
    return essential === 'yes' || priority === 'required';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Programs a static reading reaches but the entry point does not run, each with the reason. An exception that no
 * longer matches a finding fails the test (it must not outlive its reason).
 */
const SUPERVISOR_CONTAINER =
  'lab/supervisor-process.ts imports lab/podman.ts for its `container` option (the FRR 10.7 gateway), which this entry point never passes';
const NOT_RUN: Array<{ entry: string; program: string; why: string }> = [
  {
    entry: 'bench:bfd',
    program: 'podman',
    why: 'lab/replicas.ts runs the router in a container (lab/router-container.ts) only in EVPN mode; bench:bfd uses BGP mode',
  },
  ...['soak', 'bench:apply', 'bench:idle', 'bench:observe', 'bench:probe'].map((entry) => ({
    entry,
    program: 'podman',
    why: SUPERVISOR_CONTAINER,
  })),
];

const pkgJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const ENTRIES = Object.keys(pkgJson.scripts).filter((n) => /^(?:test|test:.*|bench:.*|demo|soak|setup)$/.test(n));

test('the derivation sees what it must: iptables in the BFD test, tcpdump in the lab, podman behind image-base.sh', () => {
  const files = reach(scriptFiles(pkgJson.scripts, 'test'));
  const programs = new Set(files.flatMap(programsOf).map((u) => u.program));
  for (const p of ['iptables', 'ip', 'vtysh', '/usr/lib/frr/zebra', 'tcpdump', 'podman', 'debootstrap', 'nsenter', 'umount'])
    assert.ok(programs.has(p), `npm test runs ${p}: not derived from the code (derived: ${[...programs].sort().join(' ')})`);
  const pkgs = installedPackages(files);
  for (const p of ['frr', 'iproute2', 'prometheus', 'tcpdump', 'fping', 'podman', 'runc', 'debootstrap'])
    assert.ok(pkgs.has(p), `npm test's installers install ${p}: not derived (derived: ${[...pkgs].sort().join(' ')})`);
  assert.ok(!programs.has('ps') && !programs.has('grep'), 'arguments of podman exec/ps are not host programs (the container runs them)');
});

for (const entry of ENTRIES) {
  test(`npm run ${entry}: every program it runs is installed by its own scripts or part of every Debian system`, () => {
    const files = reach(scriptFiles(pkgJson.scripts, entry));
    assert.ok(files.length > 0, `npm run ${entry} reaches no file`);
    const installed = installedPackages(files);
    const declared = declaredProviders(files);
    const problems: string[] = [];
    const byProgram = new Map<string, string[]>();
    for (const u of files.flatMap(programsOf)) byProgram.set(u.program, [...(byProgram.get(u.program) ?? []), u.file]);
    const exceptions = NOT_RUN.filter((x) => x.entry === entry);
    for (const x of exceptions)
      assert.ok(byProgram.has(x.program), `stale exception: npm run ${entry} no longer reaches ${x.program} (${x.why})`);
    resolvePackages([...byProgram.keys()]);
    for (const [program, where] of [...byProgram].sort()) {
      if (exceptions.some((x) => x.program === program)) continue;
      // this machine's dpkg first; for a program not installed here, the installer's own declaration
      const pkg = packageOf(program) ?? declared.get(program);
      const at = [...new Set(where)].join(', ');
      if (pkg === undefined) problems.push(`${program} (run by ${at}): not on this machine, and no package provides it here`);
      else if (!installed.has(pkg) && !inBaseSystem(pkg))
        problems.push(`${program} (run by ${at}): Debian package ${pkg}, which no script of npm run ${entry} installs`);
    }
    assert.deepEqual(problems, [], `npm run ${entry}: installers reached: ${[...installed].sort().join(' ')}`);
  });
}
