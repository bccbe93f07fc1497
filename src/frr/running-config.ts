/**
 * FRR's config as text (not JSON): reading `show running-config`, comparing the running config with the
 * rendered one, and keeping secrets out of every text derived from a config (diffs, vtysh error messages) before it reaches a log line or /status.
 */
import { FrrJsonError } from '../state/json.ts';
import { canonicalConfigLine } from './version.ts';

const CMD_RUNNING = 'show running-config';

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

// ---------------------------------------------------------------------------------------------------------
// show running-config

/** Top-level header lines FRR prints (or a rendered frr.conf carries) that are not part of the compared config. */
const HEADER_LINE =
  /^(?:Building configuration\.\.\.|Current configuration:|end|frr version\s.*|frr defaults\s.*|hostname\s.*|log\s.*|no ip forwarding|no ipv6 forwarding|service integrated-vtysh-config)$/;

/** Block terminators: FRR 8.4 prints them, a hand-written or rendered frr.conf may leave them out. */
const BLOCK_END = /^(?:exit|exit-vrf|exit-address-family)$/;

/**
 * `show running-config` text (not JSON) reduced to the configuration lines, indentation kept, so that the
 * same function applied to a rendered frr.conf gives the same lines when FRR runs that config. Dropped:
 * FRR's header (`Building configuration...`, `Current configuration:`, `frr version`, `frr defaults`,
 * `hostname`, `log ...`, `no ip forwarding`, `no ipv6 forwarding`, `service integrated-vtysh-config`,
 * `end`), blank lines, comment lines (`!` or `#`, so also the `!` separators), block terminators (`exit`,
 * `exit-vrf`, `exit-address-family`) and trailing whitespace.
 *
 * Quirk: FRR 8.4 prints the default VRF's L3VNI (`vrf default` / ` vni 1016` in the input) as a top-level
 * `vni 1016` among the header lines, before `no ip forwarding`. So a `vrf default` block is flattened (its
 * lines dedented to the top level) and top-level `vni` lines are moved to the front.
 *
 * Throws FrrJsonError when vtysh printed an error (a line starting with `%`).
 */
export function parseRunningConfig(text: string): string[] {
  const vniLines: string[] = [];
  const out: string[] = [];
  let inDefaultVrf = false;
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trimEnd();
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('!') || trimmed.startsWith('#')) continue;
    if (trimmed.startsWith('%')) throw new FrrJsonError(CMD_RUNNING, `vtysh printed an error: ${JSON.stringify(trimmed)}`);
    const indented = /^\s/.test(line);
    if (!indented) inDefaultVrf = false;
    if (!indented && trimmed === 'vrf default') {
      inDefaultVrf = true;
      continue;
    }
    if (BLOCK_END.test(trimmed)) continue;
    if (!indented && HEADER_LINE.test(trimmed)) continue;
    if (inDefaultVrf && indented) {
      // Dedent by the block's one level (FRR indents with one space per level).
      line = line.replace(/^\s/, '');
    }
    if (/^vni\s/.test(line)) vniLines.push(line);
    else out.push(line);
  }
  return [...vniLines, ...out];
}

/** The namespace path FRR adds to a VRF block with the netns VRF backend (never rendered). */
const NETNS_LINE = /^ netns \/run\/netns\/\S+$/;

/**
 * How FRR's running config differs from a rendered frr.conf ('' when equal): both parsed, FRR's own netns line
 * dropped, compared in one form across FRR versions (src/frr/version.ts), blocks as sets of lines (lineDiff).
 */
export function runningConfigDiff(rendered: string, running: string): string {
  const want = parseRunningConfig(rendered).map(canonicalConfigLine);
  const have = parseRunningConfig(running)
    .filter((l) => !NETNS_LINE.test(l))
    .map(canonicalConfigLine);
  return lineDiff(want, have);
}
