// vtysh invocations against one FRR instance (argument arrays only, never a shell).
//
// FRR 8.4.4 facts: `vtysh -c A -c B` stops at the first failing command and exits 1, printing
// "% Unknown command: ..." on stdout. `vtysh -b` exits non-zero with "line N: % Unknown command[..]: ..." on
// stderr for bad lines, but exits 0 when a daemon dies while the config is pushed (for example bgpd exiting
// because port 179 is taken), printing "error reading from bgpd" / "closing connection to bgpd": both are
// treated as failures here. Without `--config_dir` vtysh warns that it cannot open /etc/frr/vtysh.conf.
import { dirname } from 'node:path';
import { execa } from 'execa';
import type { DaemonName } from './daemon.ts';
import type { FrrPaths } from './paths.ts';
import { redactSecrets } from './running-config.ts';
import { childEnv } from '../child-env.ts';

/** Options of {@link Vtysh}. */
export interface VtyshOptions {
  paths: FrrPaths;
  /** argv prefix, e.g. `['ip', 'netns', 'exec', NS]` (not needed for unix sockets, which ignore netns). */
  wrapper?: string[];
  /** Per-call timeout (default 3000 ms). */
  timeoutMs?: number;
  /** vtysh executable (default /usr/bin/vtysh). */
  bin?: string;
}

/** Options of {@link Vtysh.run}. */
export interface VtyshRunOptions {
  /** Talk to this daemon only (`-d`). */
  daemon?: DaemonName;
  timeoutMs?: number;
}

/** vtysh exited non-zero, or its output reported errors. */
export class VtyshError extends Error {
  override readonly name: string = 'VtyshError';
  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** vtysh did not finish in time and was killed. */
export class VtyshTimeoutError extends VtyshError {
  override readonly name: string = 'VtyshTimeoutError';
}

const DEFAULT_BIN = '/usr/bin/vtysh';
/** Output lines of `vtysh -b` / `--dryrun` that mean a command or daemon failed. */
const CONFIG_ERROR_RE =
  /^line \d+: %|% (?:Unknown command|Invalid|Ambiguous command|Command incomplete|Incomplete command)|error reading from \S+|closing connection to \S+|connecting to \S+\.\.\.failed|failed to connect to any daemons|processing failure/;
const VTYSH_CONF_WARNING_RE = /^% Can't open configuration file \S*vtysh\.conf due to/;

interface Exec {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/** Runs vtysh against one FRR instance. */
export class Vtysh {
  readonly paths: FrrPaths;
  readonly bin: string;
  readonly timeoutMs: number;
  readonly #wrapper: string[];

  constructor(opts: VtyshOptions) {
    this.paths = opts.paths;
    this.bin = opts.bin ?? DEFAULT_BIN;
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.#wrapper = opts.wrapper ?? [];
  }

  /** Runs the commands in one vtysh invocation (one `-c` each) and returns stdout. */
  async run(commands: string[], opts: VtyshRunOptions = {}): Promise<string> {
    if (commands.length === 0) throw new Error('Vtysh.run: no commands');
    const args = [...this.paths.vtyshArgs(), ...(opts.daemon ? ['-d', opts.daemon] : []), ...commands.flatMap((c) => ['-c', c])];
    const r = await this.#exec(args, opts.timeoutMs ?? this.timeoutMs, commands.join('; '));
    if (r.exitCode !== 0) {
      throw new VtyshError(
        redactSecrets(`vtysh ${describe(commands, opts.daemon)} failed (exit ${r.exitCode ?? '?'}): ${summary(r)}`),
        r.exitCode,
        r.stdout,
        r.stderr,
      );
    }
    return r.stdout;
  }

  /** Runs one `show ... json` command and parses its output; throws VtyshError on empty or invalid JSON. */
  async json<T>(command: string, opts: VtyshRunOptions = {}): Promise<T> {
    const out = await this.run([command], opts);
    if (out.trim() === '') throw new VtyshError(`vtysh ${describe([command], opts.daemon)}: empty output`, 0, out, '');
    try {
      return JSON.parse(out) as T;
    } catch (err) {
      throw new VtyshError(`vtysh ${describe([command], opts.daemon)}: invalid JSON (${(err as Error).message})`, 0, out, '');
    }
  }

  /**
   * Pushes the instance's frr.conf (`vtysh -b`, optionally only one daemon's part with `-d`). Throws VtyshError
   * on a non-zero exit or when the output reports bad lines or a lost daemon.
   */
  async pushConfig(opts: { daemon?: DaemonName; timeoutMs?: number; file?: string } = {}): Promise<void> {
    // -b reads the instance's frr.conf; -f FILE feeds another file the same way (e.g. a boot variant).
    const source = opts.file ? ['-f', opts.file] : ['-b'];
    const args = [...this.paths.vtyshArgs(), ...source, ...(opts.daemon ? ['-d', opts.daemon] : [])];
    const r = await this.#exec(args, opts.timeoutMs ?? Math.max(this.timeoutMs, 10_000), `${source.join(' ')}`);
    const bad = errorLines(`${r.stdout}\n${r.stderr}`);
    if (r.exitCode !== 0 || bad.length > 0) {
      const detail = bad.length > 0 ? bad.join('; ') : summary(r);
      throw new VtyshError(
        redactSecrets(
          `pushing ${opts.file ?? this.paths.frrConf}${opts.daemon ? ` to ${opts.daemon}` : ''} failed (exit ${r.exitCode ?? '?'}): ${detail}`,
        ),
        r.exitCode,
        r.stdout,
        r.stderr,
      );
    }
  }

  /**
   * Checks a whole config file's grammar with `vtysh --dryrun -f FILE` (semantics are not checked). ok is false on
   * a non-zero exit or error lines; output holds stdout and stderr, without the missing-vtysh.conf warning.
   */
  static async dryrun(
    file: string,
    opts: { bin?: string; configDir?: string; timeoutMs?: number } = {},
  ): Promise<{ ok: boolean; output: string }> {
    const args = ['--config_dir', opts.configDir ?? dirname(file), '--dryrun', '-f', file];
    const r = await execVtysh(opts.bin ?? DEFAULT_BIN, [], args, opts.timeoutMs ?? 10_000, `--dryrun -f ${file}`);
    const output = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => l.trim() !== '' && !VTYSH_CONF_WARNING_RE.test(l))
      .join('\n');
    return { ok: r.exitCode === 0 && errorLines(output).length === 0, output };
  }

  #exec(args: string[], timeoutMs: number, what: string): Promise<Exec> {
    return execVtysh(this.bin, this.#wrapper, args, timeoutMs, what);
  }
}

async function execVtysh(bin: string, wrapper: string[], args: string[], timeoutMs: number, what: string): Promise<Exec> {
  const argv = [...wrapper, bin, ...args];
  const [file, ...rest] = argv as [string, ...string[]];
  const r = await execa(file, rest, {
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    extendEnv: false,
    env: childEnv(),
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  if (r.timedOut) {
    throw new VtyshTimeoutError(`vtysh ${what} timed out after ${timeoutMs} ms (killed)`, undefined, stdout, stderr);
  }
  if (r.exitCode === undefined && r.signal === undefined) {
    const code = (r as { code?: string }).code;
    throw new VtyshError(
      code === 'ENOENT' ? `vtysh binary not found: ${file}` : `cannot run vtysh (${r.shortMessage ?? 'unknown error'})`,
      undefined,
      stdout,
      stderr,
    );
  }
  return { stdout, stderr, exitCode: r.exitCode };
}

function errorLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => CONFIG_ERROR_RE.test(l));
}

function describe(commands: string[], daemon: DaemonName | undefined): string {
  return `${daemon ? `-d ${daemon} ` : ''}${commands.map((c) => `-c '${c}'`).join(' ')}`;
}

function summary(r: Exec): string {
  const text = `${r.stderr.trim()}\n${r.stdout.trim()}`.trim();
  const lines = text.split('\n').filter((l) => !VTYSH_CONF_WARNING_RE.test(l));
  return lines.length === 0 ? '(no output)' : lines.slice(-6).join(' | ');
}
