/** Running `ip` / `bridge` argument arrays (never a shell), optionally inside a named network namespace. */
import { execa } from 'execa';
import { childEnv } from '../child-env.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** undefined when the command could not start or was killed (timeout). */
  exitCode: number | undefined;
}

/** Runs one argv (argv[0] is the program), `input` on its stdin; never rejects: the caller looks at exitCode. */
export type Runner = (argv: readonly string[], opts?: { input?: string }) => Promise<RunResult>;

/** The default runner: execa without a shell, stdin closed (or fed `input`), 10 s timeout. */
export const execRunner: Runner = async (argv, opts) => {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const stdin = opts?.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input };
  const r = await execa(file, args, { reject: false, ...stdin, timeout: 10_000, extendEnv: false, env: childEnv() });
  const failure = r.failed && r.exitCode === undefined ? (r.shortMessage ?? String(r.message)) : '';
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') || failure, exitCode: r.exitCode };
};

/** `ip [-n NS] ARGS...`. */
export function ipArgv(netns: string | undefined, ...args: string[]): string[] {
  return netns === undefined ? ['ip', ...args] : ['ip', '-n', netns, ...args];
}

/** `ip netns exec NS ARGV...` (a command in a named namespace), or ARGV itself without a namespace. */
export function inNetnsArgv(netns: string | undefined, ...argv: string[]): string[] {
  return netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
}

/** `bridge [-n NS] ARGS...` (iproute2's bridge takes -n/-netns like ip). */
export function bridgeArgv(netns: string | undefined, ...args: string[]): string[] {
  return netns === undefined ? ['bridge', ...args] : ['bridge', '-n', netns, ...args];
}

/** One line for logs and errors: argv joined with spaces, arguments with spaces or quotes JSON-quoted. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
