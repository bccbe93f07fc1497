/**
 * Runs `frr-supervisor run` (the real CLI, from source through tsx) inside a lab's gateway namespace, with a
 * projected-volume style config dir, and gives tests its JSON log events, vtysh access to the FRR instance it
 * owns, and a stop that always leaves nothing behind (leftover daemons are stopped by pid after checking
 * their command line, never by name).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { FrrPaths } from '../src/frr/paths.ts';
import { Vtysh } from '../src/frr/vtysh.ts';
import { stopLeftovers } from '../src/frr/leftovers.ts';
import type { DaemonName } from '../src/frr/daemon.ts';
import type { Lab } from './lab.ts';
import { waitFor } from './lab.ts';
import { ProjectedVolume } from './projected-volume.ts';
import { ownContainer, podman, PODMAN, ULIMITS } from './podman.ts';
import { chooseCode } from '../bin/build-stamp.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const MAIN = join(REPO, 'src/cli/main.ts');
/**
 * FRRSUP_USE_DIST=1 runs the compiled build (`npm run build`), as the container does: the benchmarks use it. A
 * build that does not match src/ (bin/build-stamp.js) is refused, not measured.
 */
function command(): string[] {
  if (process.env.FRRSUP_USE_DIST !== '1') return ['--import', 'tsx', MAIN];
  const choice = chooseCode(REPO.replace(/\/$/, ''));
  if (choice.code !== 'dist') throw new Error(`FRRSUP_USE_DIST=1 but dist/ is not a build of these sources: ${choice.why}`);
  return [join(REPO, 'dist/cli/main.js')];
}
/** FRRSUP_NODE_ARGS: extra node flags for the supervisor process, space-separated (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`). */
const NODE_ARGS = (process.env.FRRSUP_NODE_ARGS ?? '').split(' ').filter(Boolean);
const HTTP_GET = join(REPO, 'lab/http-get.js');
const live = new Set<SupervisorProcess>();
let seq = 0;
let containerSeq = 0;

process.on('exit', () => {
  for (const s of live) s.killSync();
});

export type LogEvent = Record<string, unknown> & { event?: string; msg?: string; time?: string };

export interface StartSupervisorOptions {
  files: Record<string, string>;
  args?: string[];
  env?: Record<string, string>;
  debounce?: string;
  /** --frr-bin-dir (leftover cleanup checks daemons against it). */
  binDir?: string;
  /** The namespace to run in (default the lab's gateway namespace) and its POD_IP (default the lab gateway's address). */
  ns?: string;
  podIp?: string;
  /**
   * Run the supervisor in a container of this image (a lab FRR image with Node.js, e.g. FRR107_IMAGE of
   * lab/router-container.ts): the FRR inside is the one supervised. The same source and node_modules (the repository
   * mounted read-only at its path), the lab's temp dir and /run/frr at their host paths, the gateway namespace as
   * its network, the host's pid namespace (the pid files hold host pids: daemonPid and kill work as without a
   * container), privileged (zebra, VRF namespaces). Events come from its stdout as without a container.
   */
  container?: { image: string };
}

export class SupervisorProcess {
  readonly events: LogEvent[] = [];
  readonly rawStderr: string[] = [];
  readonly paths: FrrPaths;
  readonly vty: Vtysh;
  readonly volume: ProjectedVolume;
  private child: ResultPromise | undefined;
  /** The HTTP port (from --listen in the args, default 9180). */
  port = 9180;
  private exited: Promise<{ code: number | undefined; signal: string | undefined }> | undefined;
  /** The container this process runs in (opts.container), by name. */
  containerName: string | undefined;
  /** The namespace the supervisor runs in, and its POD_IP. */
  readonly ns: string;
  readonly podIp: string;

  constructor(
    readonly lab: Lab,
    readonly pathspace: string,
    readonly configDir: string,
    readonly frrConfigDir: string,
    binDir?: string,
    where: { ns?: string; podIp?: string } = {},
  ) {
    this.ns = where.ns ?? lab.gwNs;
    this.podIp = where.podIp ?? lab.addresses.gw.ipv4;
    this.paths = new FrrPaths({ configDir: frrConfigDir, pathspace, ...(binDir && { binDir }) });
    this.vty = new Vtysh({ paths: this.paths, timeoutMs: 5000 });
    this.volume = new ProjectedVolume(configDir);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts (or starts again, with the same pathspace and dirs) the supervisor process. */
  start(opts: StartSupervisorOptions): void {
    this.events.length = 0;
    this.rawStderr.length = 0;
    this.volume.update(opts.files);
    const listenAt = opts.args?.indexOf('--listen') ?? -1;
    if (listenAt >= 0) this.port = Number(opts.args?.[listenAt + 1]?.split(':').pop());
    const where = opts.container
      ? [
          ...PODMAN,
          'run',
          '--rm',
          '--name',
          (this.containerName = ownContainer(`${this.pathspace}c${++containerSeq}`)),
          ...ULIMITS,
          '--privileged',
          '--pid',
          'host',
          '--network',
          `ns:/run/netns/${this.ns}`,
          '-v',
          `${REPO}:${REPO}:ro`,
          '-v',
          `${this.lab.tmpDir}:${this.lab.tmpDir}`,
          '-v',
          '/run/frr:/run/frr',
          '-w',
          REPO,
          '--env',
          `POD_IP=${this.podIp}`,
          ...Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
          '--entrypoint',
          'node',
          opts.container.image,
        ]
      : ['ip', 'netns', 'exec', this.ns, process.execPath];
    const args = [
      ...where,
      ...NODE_ARGS,
      ...command(),
      'run',
      '--config-dir',
      this.configDir,
      '--frr-config-dir',
      this.frrConfigDir,
      '--pathspace',
      this.pathspace,
      '--debounce',
      opts.debounce ?? '200ms',
      '--frr-bin-dir',
      this.paths.binDir,
      ...(opts.args ?? []),
    ];
    const [file = '', ...rest] = args;
    const child = execa(file, rest, {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', POD_IP: this.podIp, ...opts.env },
      extendEnv: false,
      reject: false,
      cleanup: false,
      stdin: 'ignore',
      buffer: false,
    });
    this.child = child;
    live.add(this);
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          this.events.push(JSON.parse(line) as LogEvent);
        } catch {
          this.events.push({ msg: line, unparsed: true });
        }
      });
    }
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (line) => this.rawStderr.push(line));
    this.exited = child.then((r) => ({ code: r.exitCode, signal: r.signal })).finally(() => live.delete(this));
  }

  /** Events with this `event` name (optionally filtered). */
  find(event: string, pred: (e: LogEvent) => boolean = () => true): LogEvent[] {
    return this.events.filter((e) => e.event === event && pred(e));
  }

  waitForEvent(event: string, pred: (e: LogEvent) => boolean = () => true, timeoutMs = 15_000, after = 0): Promise<LogEvent> {
    return waitFor(() => this.events.slice(after).find((e) => e.event === event && pred(e)), {
      timeoutMs,
      intervalMs: 50,
      what: `supervisor log event ${event}; last events: ${this.events
        .slice(-5)
        .map((e) => `${String(e.event)}: ${String(e.msg).slice(0, 200)}`)
        .join(' | ')}`,
    });
  }

  async json<T>(command: string): Promise<T> {
    return JSON.parse(await this.vty.run([command])) as T;
  }

  /** One HTTP request to the supervisor's endpoints, from inside the gateway namespace. */
  async http(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string>; body: string; error?: string }> {
    const port = this.port;
    const res = await this.lab.exec(this.ns, [process.execPath, HTTP_GET, `http://127.0.0.1:${port}${path}`, method], {
      timeoutMs: 10_000,
    });
    return JSON.parse(res.stdout) as { status: number; headers: Record<string, string>; body: string; error?: string };
  }

  async httpJson<T>(path: string): Promise<{ status: number; doc: T }> {
    const r = await this.http(path);
    return { status: r.status, doc: JSON.parse(r.body) as T };
  }

  /**
   * Waits until the supervisor has handled what was written to its volume since `since` (ms since the epoch): a run
   * of its pipeline for a file event ended after it, and it is idle. Tests wait on this instead of sleeping before
   * they assert that nothing (more) happened.
   */
  async settled(since: number, timeoutMs = 15_000): Promise<void> {
    type Doc = { supervisor: { phase: string }; config: { recentChecks: Array<{ at: string; reason: string }> } };
    await waitFor(
      async () => {
        const st = (await this.httpJson<Doc>('/status')).doc;
        return (
          st.supervisor.phase === 'idle' && st.config.recentChecks.some((c) => c.reason !== 'periodic resync' && Date.parse(c.at) >= since)
        );
      },
      { timeoutMs, intervalMs: 100, what: 'the supervisor handled the change and is idle' },
    );
  }

  /** The pid of one of the supervisor's daemons, from its pid file (undefined when not running). */
  async daemonPid(name: DaemonName): Promise<number | undefined> {
    const { readFile } = await import('node:fs/promises');
    try {
      const pid = Number((await readFile(this.paths.pidFile(name), 'utf8')).trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** Sends a signal and waits for the exit; returns the exit and how long it took. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 15_000,
  ): Promise<{ code: number | undefined; signal: string | undefined; ms: number }> {
    const t0 = Date.now();
    if (!this.child || !this.exited) return { code: undefined, signal: undefined, ms: 0 };
    // In a container, SIGKILL goes to the container (killing the podman client would leave it running); other
    // signals go through the client, which passes them on (--sig-proxy).
    const kill = (sig: NodeJS.Signals): void => {
      if (this.containerName && sig === 'SIGKILL')
        podman(['kill', '-s', 'KILL', this.containerName], { reject: false }).catch(() => undefined);
      else this.child?.kill(sig);
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), timeoutMs);
    const res = await this.exited;
    clearTimeout(timer);
    return { ...res, ms: Date.now() - t0 };
  }

  /**
   * Whatever happened, leaves nothing behind: the supervisor, then any FRR daemon of its pathspace, then the
   * pathspace's run directory (sockets and pid files in /var/run/frr/PATHSPACE: nobody else removes it).
   */
  async cleanup(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.stop('SIGKILL');
    // SIGKILL ends the podman client, not the container
    if (this.containerName) {
      await podman(['rm', '-f', '-t', '0', this.containerName], { reject: false });
      // its run dir under the host's /run/frr (pid files, sockets), made by the container's FRR user
      await rm(this.paths.instanceRunDir, { recursive: true, force: true });
    }
    await stopLeftovers(this.paths, ['bgpd', 'staticd', 'bfdd', 'zebra'], { timeoutMs: 2000 }).catch(() => undefined);
    if (this.paths.pathspace !== undefined) await rm(this.paths.instanceRunDir, { recursive: true, force: true });
  }

  killSync(): void {
    try {
      if (this.child?.pid) process.kill(this.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function startSupervisor(lab: Lab, opts: StartSupervisorOptions): SupervisorProcess {
  seq++;
  const base = join(lab.tmpDir, `supervisor-${seq}`);
  const configDir = join(base, 'config');
  const frrConfigDir = join(base, 'etc-frr');
  mkdirSync(frrConfigDir, { recursive: true });
  if (opts.container) mkdirSync('/run/frr', { recursive: true }); // bind-mounted into the container
  const sup = new SupervisorProcess(lab, `fsl${process.pid}s${seq}`, configDir, frrConfigDir, opts.binDir, {
    ...(opts.ns !== undefined && { ns: opts.ns }),
    ...(opts.podIp !== undefined && { podIp: opts.podIp }),
  });
  sup.start(opts);
  return sup;
}

/** Alive and not a zombie (a daemon orphaned by a SIGKILLed supervisor is reparented to PID 1, which may reap late). */
export function processAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
