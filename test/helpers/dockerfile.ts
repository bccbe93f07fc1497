/**
 * A small Dockerfile reader for tests (no container engine here): instructions with their stage, COPY
 * flags and sources, exec-form JSON, `apt-get install` package lists (also from shell scripts), and
 * .dockerignore matching with Docker's rules (last matching pattern wins, `!` re-includes, a pattern that
 * matches a directory matches everything below it).
 */

export interface Instruction {
  keyword: string;
  /** The arguments as written (continuations joined with a space). */
  args: string;
  line: number;
  /** Index of the stage (FROM) this instruction belongs to; -1 before the first FROM (ARG). */
  stage: number;
}

export interface Stage {
  index: number;
  image: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  instructions: Instruction[];
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const stages: Stage[] = [];
  let buf = '';
  let startLine = 0;
  const lines = text.split('\n');
  const flush = (): void => {
    const joined = buf.trim();
    buf = '';
    if (!joined) return;
    const m = /^(\S+)\s*(.*)$/s.exec(joined);
    if (!m?.[1]) return;
    const keyword = m[1].toUpperCase();
    const args = (m[2] ?? '').trim();
    if (keyword === 'FROM') {
      const fm = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!fm?.[1]) throw new Error(`line ${startLine}: cannot read FROM ${args}`);
      stages.push({ index: stages.length, image: fm[1], ...(fm[2] && { name: fm[2] }), instructions: [] });
    }
    const ins: Instruction = { keyword, args, line: startLine, stage: stages.length - 1 };
    instructions.push(ins);
    stages[stages.length - 1]?.instructions.push(ins);
  };
  for (const [i, raw] of lines.entries()) {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) continue; // comments (and parser directives), also inside continuations
    if (!buf && trimmed === '') continue;
    if (!buf) startLine = i + 1;
    if (/\\\s*$/.test(raw)) {
      buf += `${raw.replace(/\\\s*$/, '')} `;
      continue;
    }
    buf += raw;
    flush();
  }
  flush();
  return { instructions, stages };
}

/** Exec form (`["a", "b"]`) or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const v: unknown = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`not a JSON string array: ${args}`);
  return v;
}

export interface Copy {
  from?: string;
  flags: Record<string, string>;
  sources: string[];
  dest: string;
  line: number;
}

/** A COPY/ADD instruction's flags, sources and destination (exec or whitespace-separated form). */
export function parseCopy(ins: Instruction): Copy {
  const words = execForm(ins.args) ?? ins.args.split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() ?? '';
    const [k = '', v = 'true'] = flag.slice(2).split(/=(.*)/s);
    flags[k] = v;
  }
  const dest = words.pop();
  if (!dest || words.length === 0) throw new Error(`line ${ins.line}: COPY needs sources and a destination`);
  return { ...(flags.from !== undefined && { from: flags.from }), flags, sources: words, dest, line: ins.line };
}

/** The working directory in effect at each instruction of a stage (WORKDIR, relative ones joined). */
export function workdirAt(stage: Stage, ins: Instruction): string {
  let wd = '/';
  for (const i of stage.instructions) {
    if (i === ins) break;
    if (i.keyword === 'WORKDIR') wd = i.args.startsWith('/') ? i.args : `${wd.replace(/\/$/, '')}/${i.args}`;
  }
  return wd;
}

export interface AptInstall {
  /** As written: `frr`, or `frr/forky` (that package from that release). */
  packages: string[];
  /** As written; an option that takes a value keeps it (`-t trixie`). */
  options: string[];
}

/** apt-get's options that take the next word as their value. */
const APT_VALUE_OPTIONS = new Set(['-t', '--target-release', '--default-release', '-o', '--option', '-c', '--config-file']);

/**
 * Every `apt-get install` in a shell text (a RUN's arguments or a whole script): the packages and the
 * options. Comment lines are ignored; commands are split at &&, ||, ;, | and newlines; redirections end
 * the word list.
 */
export function aptInstalls(shell: string): AptInstall[] {
  const text = shell
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const out: AptInstall[] = [];
  for (const cmd of text.split(/&&|\|\||;|\||\n/)) {
    const words = cmd.trim().split(/\s+/).filter(Boolean);
    const at = words.findIndex((w, i) => (w === 'apt-get' || w === 'apt') && words[i + 1] === 'install');
    if (at < 0) continue;
    const packages: string[] = [];
    const options: string[] = [];
    const rest = words.slice(at + 2);
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i] ?? '';
      if (/^\d*>|^</.test(w)) break;
      if (APT_VALUE_OPTIONS.has(w) && i + 1 < rest.length) options.push(`${w} ${rest[++i] ?? ''}`);
      else if (w.startsWith('-')) options.push(w);
      else packages.push(w);
    }
    out.push({ packages, options });
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when .dockerignore's `patterns` exclude `path` (relative to the context, no leading ./). */
export function dockerignored(patterns: string[], path: string): boolean {
  const clean = (p: string): string => p.replace(/^\.\//, '').replace(/^\/+/, '').replace(/\/+$/, '');
  const rules = patterns
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) =>
      l.startsWith('!') ? { negate: true, re: globToRegExp(clean(l.slice(1))) } : { negate: false, re: globToRegExp(clean(l)) },
    );
  const target = clean(path);
  const parts = target.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negate;
  return excluded;
}
