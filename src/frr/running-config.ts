/**
 * FRR's config as text (not JSON): comparing the running config with the rendered one, and keeping secrets out of
 * every text derived from a config (diffs, vtysh error messages) before it reaches a log line or /status.
 */

/** `neighbor X password WORD` (and any other `password WORD`): the word is replaced. */
const PASSWORD_TOKEN = /(\bpassword\s+)\S+/gi;

/** Replaces every password token of a config-derived text. */
export function redactSecrets(text: string): string {
  return text.replace(PASSWORD_TOKEN, '$1<redacted>');
}

/** Each config line keyed by the block it sits in (by indentation), so the same line in two blocks differs. */
export function contextKeys(lines: readonly string[]): string[] {
  const stack: Array<{ indent: number; line: string }> = [];
  return lines.map((line) => {
    const indent = line.length - line.trimStart().length;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const key = [...stack.map((s) => s.line.trim()), line.trim()].join(' > ');
    stack.push({ indent, line });
    return key;
  });
}

/**
 * How the running config differs from the rendered one: lines missing and lines unexpected, in context, with
 * passwords redacted (the diff goes to the log and /status). Order is not compared.
 */
export function lineDiff(want: readonly string[], have: readonly string[]): string {
  const w = contextKeys(want);
  const h = contextKeys(have);
  const hs = new Set(h);
  const ws = new Set(w);
  const out = [...w.filter((l) => !hs.has(l)).map((l) => `- ${l}`), ...h.filter((l) => !ws.has(l)).map((l) => `+ ${l}`)];
  return redactSecrets(out.slice(0, 20).join('\n'));
}
