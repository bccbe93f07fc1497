/**
 * The Markdown the docs tests read: headings and their anchors as GitHub makes them, and
 * every relative link of a page with whether it resolves (the file, and the #anchor in it).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The lines outside fenced code blocks (``` or ~~~), with their 0-based line numbers. */
function proseLines(text: string): Array<{ line: string; n: number }> {
  const out: Array<{ line: string; n: number }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, n) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (m?.[1]) {
      const mark = m[1];
      if (fence === undefined) fence = mark;
      else if (mark[0] === fence[0] && mark.length >= fence.length && line.trim() === mark) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n });
  });
  return out;
}

/**
 * GitHub's anchor for a heading (github-slugger): lower case, every character that is not a letter, a digit, a
 * space, `-` or `_` removed, each space a `-`; markup is text (`` `run` options `` -> `run-options`).
 */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text stays, its target goes
    .replace(/<[^>]+>/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every ATX heading of a page (outside code blocks), with its level. */
export function headings(text: string): Array<{ level: number; title: string }> {
  const out: Array<{ level: number; title: string }> = [];
  for (const { line } of proseLines(text)) {
    const m = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out.push({ level: m[1].length, title: m[2] });
  }
  return out;
}

/** The anchors GitHub gives a page's headings; a repeated slug gets -1, -2, ... as on GitHub. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { title } of headings(text)) {
    const base = githubSlug(title);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Relative link targets of a page (inline links and images outside code), with their line numbers (1-based). */
export function relativeLinks(text: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  for (const { line, n } of proseLines(text)) {
    const bare = line.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, 'code');
    for (const m of bare.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      out.push({ target, line: n + 1 });
    }
  }
  return out;
}

/**
 * The links of `file` (its text: `text`, read from the file when not given) that do not resolve: a missing file
 * or directory, or an anchor its target page lacks. Paths are relative to the file's directory.
 */
export function brokenLinks(file: string, root: string, text = readFileSync(file, 'utf8')): string[] {
  const problems: string[] = [];
  const where = (line: number): string => `${relative(root, file)}:${line}`;
  for (const { target, line } of relativeLinks(text)) {
    const hash = target.indexOf('#');
    const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const dest = pathPart === '' ? file : pathPart.startsWith('/') ? join(root, pathPart) : join(dirname(file), pathPart);
    if (!existsSync(dest)) {
      problems.push(`${where(line)}: ${target}: ${relative(root, dest)} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (pathPart === '') {
      if (!anchors(text).has(anchor)) problems.push(`${where(line)}: ${target}: no heading here with the anchor #${anchor}`);
      continue;
    }
    if (statSync(dest).isDirectory() || !dest.endsWith('.md')) {
      problems.push(`${where(line)}: ${target}: an anchor into something that is not a Markdown page`);
      continue;
    }
    if (!anchors(readFileSync(dest, 'utf8')).has(anchor))
      problems.push(`${where(line)}: ${target}: ${relative(root, dest)} has no heading with the anchor #${anchor}`);
  }
  return problems;
}
