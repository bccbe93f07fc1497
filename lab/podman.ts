/**
 * Podman as this machine runs it (see /work/shared/frr-lab.md): runc (crun fails here with "cgroups in hybrid
 * mode not supported"), explicit ulimits (the hard nofile limit is 20000 and podman's default asks for more;
 * runc also needs nproc), host networking for build steps that use apt and npm.
 *
 * Every container and image made through this module carries the test process's pid in its name and is
 * removed by {@link removeAll} (also synchronously on exit), whatever the test's outcome.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execa } from 'execa';

export const PODMAN = ['podman', '--runtime', 'runc'] as const;
export const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'] as const;
/** The machine's CA bundle, passed to the build as a secret so npm works behind a TLS-intercepting proxy. */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const containers = new Set<string>();
const images = new Set<string>();

export interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/** Runs podman with these arguments; rejects on a non-zero exit unless reject is false. */
export async function podman(args: string[], opts: { reject?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  const [cmd, ...pre] = PODMAN;
  const r = await execa(cmd, [...pre, ...args], { reject: opts.reject ?? true, stdin: 'ignore', timeout: opts.timeoutMs ?? 120_000 });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode };
}

/**
 * Builds the repository's Dockerfile into `tag` (registered for removal), or only its stage `target`.
 * Returns the build's seconds.
 */
export async function buildImage(contextDir: string, tag: string, target?: string): Promise<number> {
  images.add(tag);
  const secret = existsSync(CA_BUNDLE) ? ['--secret', `id=ca-certificates,src=${CA_BUNDLE}`] : [];
  const t0 = performance.now();
  const r = await podman(
    [
      'build',
      '--network',
      'host',
      '--pull=never',
      ...ULIMITS.slice(0, 2),
      ...secret,
      ...(target ? ['--target', target] : []),
      '-t',
      tag,
      contextDir,
    ],
    { reject: false, timeoutMs: 1_500_000 },
  );
  if (r.exitCode !== 0)
    throw new Error(`podman build failed (exit ${r.exitCode ?? '?'}):\n${`${r.stdout}\n${r.stderr}`.split('\n').slice(-40).join('\n')}`);
  return (performance.now() - t0) / 1000;
}

/** Registers a container name for removal (call before `podman run`). */
export function ownContainer(name: string): string {
  containers.add(name);
  return name;
}

/** The container's JSON log lines (the supervisor's events), parsed; other lines are skipped. */
export async function containerEvents(name: string): Promise<Array<Record<string, unknown>>> {
  const r = await podman(['logs', name], { reject: false });
  const out: Array<Record<string, unknown>> = [];
  for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log event
    }
  }
  return out;
}

/** `podman inspect` of a container (State, Id, ...); undefined when it does not exist. */
export async function inspectContainer(
  name: string,
): Promise<{ Id: string; State: { Status: string; Running: boolean; ExitCode: number; Pid: number } } | undefined> {
  const r = await podman(['container', 'inspect', name], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return (JSON.parse(r.stdout) as Array<{ Id: string; State: { Status: string; Running: boolean; ExitCode: number; Pid: number } }>)[0];
}

/** Removes every container and image this process registered. Idempotent. */
export async function removeAll(): Promise<void> {
  for (const c of containers) {
    await podman(['rm', '-f', '-t', '0', c], { reject: false });
    containers.delete(c);
  }
  for (const i of images) {
    await podman(['rmi', '-f', i], { reject: false });
    images.delete(i);
  }
}

/** Names of containers that exist (any state) whose name contains `part`. */
export async function containersNamed(part: string): Promise<string[]> {
  const r = await podman(['ps', '-a', '--format', '{{.Names}}'], { reject: false });
  return r.stdout.split('\n').filter((n) => n.includes(part));
}

/** Whether an image exists in podman's storage. */
export async function imageExists(ref: string): Promise<boolean> {
  return (await podman(['image', 'exists', ref], { reject: false })).exitCode === 0;
}

process.on('exit', () => {
  for (const c of containers) {
    try {
      execFileSync(PODMAN[0], [...PODMAN.slice(1), 'rm', '-f', '-t', '0', c], { stdio: 'ignore' });
    } catch {
      // gone
    }
  }
  for (const i of images) {
    try {
      execFileSync(PODMAN[0], [...PODMAN.slice(1), 'rmi', '-f', i], { stdio: 'ignore' });
    } catch {
      // gone
    }
  }
});
