// Network-namespace test lab for end-to-end tests: a gateway namespace and an external-router namespace joined by
// a veth pair, with FRR instances run through the product's own FrrDaemon / Vtysh classes.
//
// Everything the lab creates carries our PID in its name (namespaces `fsl-<pid>-<n>-gw|rt`, pathspaces
// `fsl<pid>r<n>` / `fsl<pid>g<n>`, temp dir `fsl-<pid>-<n>-*`), so a later run can sweep what a crashed run left.
// Needs root (ip netns, FRR dropping privileges to user frr).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { DAEMON_NAMES, describeExit, FrrDaemon } from '../src/frr/daemon.ts';
import type { DaemonExit, DaemonName, FrrLogger } from '../src/frr/daemon.ts';
import { readCmdline } from '../src/frr/leftovers.ts';
import { FRR_DEFAULT_BIN_DIR, FRR_DEFAULT_RUN_DIR, FrrPaths } from '../src/frr/paths.ts';
import { Vtysh } from '../src/frr/vtysh.ts';

/** Prefix of every lab resource name. */
export const LAB_PREFIX = 'fsl';

/** Addresses on the veth link (they exist only inside the lab's namespaces). */
export const LAB_ADDRESSES = {
  gw: { ipv4: '10.0.1.13', ipv6: 'fd00:1::13' },
  rt: { ipv4: '10.0.1.1', ipv6: 'fd00:1::1' },
  ipv4PrefixLen: 24,
  ipv6PrefixLen: 64,
} as const;

/** Options of {@link createLab}. */
export interface LabOptions {
  /** FRR binaries (default /usr/lib/frr). */
  binDir?: string;
  /** Where the lab's temp dir is created (default os.tmpdir()). */
  tmpRoot?: string;
  /** Receives FRR log lines; default: kept in memory only (set FSL_LAB_DEBUG=1 to print them to stderr). */
  logger?: FrrLogger;
}

/** Options of {@link Lab.startFrr}. */
export interface StartFrrOptions {
  /** Pathspace (default `fsl<pid>g<n>` in the gw namespace, `fsl<pid>r<n>` in the rt namespace, suffixed when reused). */
  pathspace?: string;
  /** Daemons to run, in start order (default zebra, staticd, bgpd). */
  daemons?: DaemonName[];
  /** Extra flags per daemon, e.g. `{ zebra: ['-K', '10'] }`. */
  extraArgs?: Partial<Record<DaemonName, string[]>>;
  logger?: FrrLogger;
  /** vtysh per-call timeout (default 5000 ms). */
  vtyshTimeoutMs?: number;
}

/** Result of {@link Lab.exec}. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/** A plain FRR instance run by the lab (the external router, or a gateway-side instance without the supervisor). */
export interface FrrInstance {
  readonly ns: string;
  readonly pathspace: string;
  readonly paths: FrrPaths;
  readonly vty: Vtysh;
  readonly daemonNames: readonly DaemonName[];
  /** The FrrDaemon of a configured daemon (throws for a daemon the instance does not run). */
  daemon(name: DaemonName): FrrDaemon;
  /** Pids of every process this instance ever spawned. */
  readonly spawnedPids: readonly number[];
  /** Last FRR log lines of this instance, prefixed with the daemon name. */
  logs(): string[];
  /** Runs vtysh commands (one invocation) and returns stdout. */
  vtysh(cmds: string[] | string): Promise<string>;
  /** Runs one `... json` command and parses the output. */
  json<T>(cmd: string): Promise<T>;
  /** Rewrites frr.conf and pushes it (`vtysh -b`). */
  setConfig(text: string): Promise<void>;
  /** Pushes frr.conf again, to all daemons or one. */
  pushConfig(daemon?: DaemonName): Promise<void>;
  /** Stops one daemon via FrrDaemon.stop (expected exit). */
  stopDaemon(name: DaemonName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts one daemon again and (by default) pushes its part of frr.conf. */
  startDaemon(name: DaemonName, opts?: { pushConfig?: boolean }): Promise<void>;
  /** Stops every daemon (in parallel) and removes the pathspace dir FRR created under /var/run/frr. */
  stop(): Promise<void>;
}

/** The external router instance (same API as any lab FRR instance). */
export type RouterInstance = FrrInstance;

/** A lab: two namespaces, a veth pair, a temp dir, and the FRR instances started in it. */
export interface Lab {
  /** `fsl-<pid>-<n>`. */
  readonly id: string;
  readonly gwNs: string;
  readonly rtNs: string;
  /** Gateway-side interface (inside gwNs), named like Kube-OVN's external interface. */
  readonly gwIf: string;
  /** Router-side interface (inside rtNs). */
  readonly rtIf: string;
  /** All names at once: namespaces and interfaces. */
  readonly names: { gwNs: string; rtNs: string; gwIf: string; rtIf: string };
  readonly addresses: typeof LAB_ADDRESSES;
  readonly tmpDir: string;
  readonly instances: readonly FrrInstance[];
  /** Runs argv inside a namespace ('gw', 'rt' or a full namespace name); rejects on non-zero exit unless reject=false. */
  exec(ns: string, argv: string[], opts?: { reject?: boolean; timeoutMs?: number }): Promise<ExecResult>;
  /** Starts a plain FRR instance in a namespace and pushes configText. */
  startFrr(ns: string, configText: string, opts?: StartFrrOptions): Promise<FrrInstance>;
  /** Starts the external router's FRR instance in the rt namespace. */
  startRouter(configText: string, opts?: StartFrrOptions): Promise<RouterInstance>;
  /**
   * Creates one more namespace `<id>-<suffix>` (suffix: lowercase letters and digits, e.g. `vpc`, `rh`, `gw2`) with
   * `lo` up, removed with the lab (and swept after a crash like the others). Returns its name.
   */
  addNamespace(suffix: string): Promise<string>;
  /** Stops every process the lab started, deletes the namespaces, the temp dir and the pathspace run dirs. Idempotent. */
  cleanup(): Promise<void>;
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
}

/**
 * Polls fn until it returns a value other than undefined/false/null and returns that value; throws a
 * descriptive error on timeout, including the last value or error seen.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 100;
  const start = Date.now();
  let last: string;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false && v !== null) return v;
      last = `last result: ${String(v)}`;
    } catch (err) {
      last = `last error: ${(err as Error).message}`;
    }
    if (Date.now() - start >= timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what} (${last})`);
    }
    await delay(intervalMs);
  }
}

/** The protocol of the kernel's route for a prefix in a namespace (`ip -json route show PREFIX`; undefined: no route). */
export async function kernelRouteProtocol(lab: Pick<Lab, 'exec'>, ns: string, prefix: string): Promise<string | undefined> {
  const r = await lab.exec(ns, ['ip', '-json', 'route', 'show', prefix]);
  return (JSON.parse(r.stdout || '[]') as Array<{ protocol?: string }>)[0]?.protocol;
}

/** Switches IPv4 and IPv6 forwarding on in a namespace (`ip netns exec NS tee /proc/sys/...`). */
export async function setForwarding(ns: string, on = true): Promise<void> {
  for (const file of ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding']) {
    await execa('ip', ['netns', 'exec', ns, 'tee', file], { input: on ? '1\n' : '0\n', stdout: 'ignore' });
  }
}

// ---------------------------------------------------------------------------------------------------------
// registry of live labs, synchronous fallback cleanup, sweep of crashed runs

let labCounter = 0;
const liveLabs = new Set<LabImpl>();
let handlersInstalled = false;

const NS_RE = new RegExp(`^${LAB_PREFIX}-(\\d+)-(\\d+)-([a-z0-9]+)$`);
const PATHSPACE_RE = new RegExp(`^${LAB_PREFIX}(\\d+)[a-z]`);
const TMPDIR_RE = new RegExp(`^${LAB_PREFIX}-(\\d+)-\\d+-`);
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

function onProcessExit(): void {
  for (const lab of liveLabs) lab.cleanupSync();
}

let signalsHandledByProgram = false;

/**
 * For a program that handles SIGINT/SIGTERM itself and tears its labs down in order (the demo: the supervisor
 * first, then what it made, then the lab): the lab's signal fallback, which cleans up synchronously and exits at
 * once, then stays out of its way. Without this, a Ctrl-C cut the demo's teardown short and left what only the demo
 * knows of (the supervisor's VRF namespace name in /run/netns) behind. The exit fallback still runs.
 */
export function programHandlesSignals(): void {
  signalsHandledByProgram = true;
}

function onSignal(signal: NodeJS.Signals): void {
  if (signalsHandledByProgram) return;
  onProcessExit();
  uninstallHandlers();
  process.exit(SIGNAL_EXIT[signal] ?? 1);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onProcessExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', onProcessExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when argv[0] is an executable directly in binDir (an FRR daemon). */
function isFrrArgv(argv: readonly string[] | undefined, binDir: string): boolean {
  const a0 = argv?.[0];
  return a0 !== undefined && a0.startsWith(`${binDir}/`) && !a0.slice(binDir.length + 1).includes('/');
}

function cmdlineSync(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? undefined : raw.split('\0').filter((s, i, a) => !(s === '' && i === a.length - 1));
  } catch {
    return undefined;
  }
}

function nsPidsSync(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map((l) => Number.parseInt(l.trim(), 10))
      .filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await execa('ip', ['netns', 'pids', ns], { reject: false, stdin: 'ignore' });
  return String(r.stdout)
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 1);
}

async function listNetns(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false, stdin: 'ignore' });
  return String(r.stdout)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Kills the FRR processes (verified by /proc cmdline) inside a namespace: SIGTERM, then SIGKILL after 3 s. */
async function killFrrInNetns(ns: string, binDir: string): Promise<void> {
  const frr: number[] = [];
  for (const pid of await nsPids(ns)) {
    if (isFrrArgv(await readCmdline(pid), binDir)) frr.push(pid);
  }
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const pid of frr) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while (frr.some((p) => pidAlive(p) && readCmdlineIsFrr(p, binDir)) && Date.now() < deadline) await delay(50);
  for (const pid of frr) if (pidAlive(pid) && readCmdlineIsFrr(pid, binDir)) signal(pid, 'SIGKILL');
}

function readCmdlineIsFrr(pid: number, binDir: string): boolean {
  return isFrrArgv(cmdlineSync(pid), binDir);
}

/** Removes what earlier lab runs (whose process is gone) left: namespaces, FRR processes in them, dirs. */
async function sweepStale(binDir: string, tmpRoot: string): Promise<void> {
  const isStale = (pidText: string | undefined): boolean => {
    const pid = Number(pidText);
    return Number.isInteger(pid) && pid !== process.pid && !pidAlive(pid);
  };
  for (const ns of await listNetns()) {
    const m = NS_RE.exec(ns);
    if (m && isStale(m[1])) {
      await killFrrInNetns(ns, binDir);
      await execa('ip', ['netns', 'del', ns], { reject: false, stdin: 'ignore' });
    }
    // A VRF namespace a lab supervisor made (fsl<pid>v..., named like a pathspace) inside its own mount namespace:
    // a killed run leaves its name in /run/netns ("Peer netns reference is invalid"); `ip netns del` removes it.
    const v = PATHSPACE_RE.exec(ns);
    if (v && isStale(v[1])) await execa('ip', ['netns', 'del', ns], { reject: false, stdin: 'ignore' });
  }
  for (const [dir, re] of [
    [FRR_DEFAULT_RUN_DIR, PATHSPACE_RE],
    [tmpRoot, TMPDIR_RE],
  ] as const) {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = re.exec(e);
      if (m && isStale(m[1])) await rm(join(dir, e), { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// FRR instance

const DEFAULT_LOGGER_DEBUG = process.env.FSL_LAB_DEBUG === '1';

class LabFrrInstance implements FrrInstance {
  readonly ns: string;
  readonly pathspace: string;
  readonly paths: FrrPaths;
  readonly vty: Vtysh;
  readonly daemonNames: readonly DaemonName[];
  readonly #daemons = new Map<DaemonName, FrrDaemon>();
  readonly #spawned: number[] = [];
  readonly #logs: string[] = [];

  constructor(lab: LabImpl, ns: string, pathspace: string, opts: StartFrrOptions) {
    this.ns = ns;
    this.pathspace = pathspace;
    this.daemonNames = opts.daemons ?? [...DAEMON_NAMES];
    this.paths = new FrrPaths({ binDir: lab.binDir, configDir: join(lab.tmpDir, 'etc'), runDir: join(lab.tmpDir, 'run'), pathspace });
    this.vty = new Vtysh({ paths: this.paths, timeoutMs: opts.vtyshTimeoutMs ?? 5000 });
    const logger = this.#makeLogger(opts.logger ?? lab.logger);
    for (const name of this.daemonNames) {
      const d = new FrrDaemon({
        name,
        paths: this.paths,
        wrapper: ['ip', 'netns', 'exec', ns],
        ...(opts.extraArgs?.[name] ? { extraArgs: opts.extraArgs[name] } : {}),
        logger,
      });
      d.on('spawn', (pid) => {
        this.#spawned.push(pid);
        lab.pids.add(pid);
      });
      d.on('exit', (info) => {
        if (info.pid !== undefined) lab.pids.delete(info.pid);
      });
      this.#daemons.set(name, d);
    }
  }

  get spawnedPids(): readonly number[] {
    return [...this.#spawned];
  }

  daemon(name: DaemonName): FrrDaemon {
    const d = this.#daemons.get(name);
    if (d === undefined) throw new Error(`instance ${this.pathspace} does not run ${name}`);
    return d;
  }

  logs(): string[] {
    return [...this.#logs];
  }

  async start(configText: string): Promise<void> {
    await this.paths.ensureDirs();
    await writeFile(this.paths.vtyshConf, 'service integrated-vtysh-config\n');
    await writeFile(this.paths.frrConf, configText);
    for (const name of this.daemonNames) await this.daemon(name).start();
    await this.pushConfig();
  }

  vtysh(cmds: string[] | string): Promise<string> {
    return this.vty.run(Array.isArray(cmds) ? cmds : [cmds]);
  }

  json<T>(cmd: string): Promise<T> {
    return this.vty.json<T>(cmd);
  }

  async setConfig(text: string): Promise<void> {
    await writeFile(this.paths.frrConf, text);
    await this.pushConfig();
  }

  /** Pushes frr.conf; on failure, names the daemons that died meanwhile with their last output. */
  async pushConfig(daemon?: DaemonName): Promise<void> {
    try {
      await this.vty.pushConfig(daemon ? { daemon } : {});
    } catch (err) {
      // A daemon that dies during the push (bgpd: port 179 taken) may exit a moment after vtysh notices.
      const deadline = Date.now() + 1500;
      let dead: DaemonExit[];
      for (;;) {
        dead = (await Promise.all([...this.#daemons.values()].filter((d) => !d.running).map((d) => d.waitExit()))).filter(
          (x): x is DaemonExit => x !== undefined,
        );
        if (dead.length > 0 || Date.now() >= deadline) break;
        await delay(50);
      }
      const why = dead
        .map((x) => `${x.name} exited (${describeExit(x)}); last output:\n    ${x.lastOutput.slice(-6).join('\n    ')}`)
        .join('\n  ');
      throw new Error(`${this.pathspace} in ${this.ns}: ${(err as Error).message}${why ? `\n  ${why}` : ''}`, { cause: err });
    }
  }

  stopDaemon(name: DaemonName, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.daemon(name).stop({ signal });
  }

  async startDaemon(name: DaemonName, opts: { pushConfig?: boolean } = {}): Promise<void> {
    await this.daemon(name).start();
    if (opts.pushConfig ?? true) await this.pushConfig(name);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#daemons.values()].map((d) => d.stop()));
    await rm(join(FRR_DEFAULT_RUN_DIR, this.pathspace), { recursive: true, force: true });
  }

  #makeLogger(outer: FrrLogger | undefined): FrrLogger {
    const keep = (level: string) => (obj: object, msg?: string) => {
      const d = (obj as { daemon?: string }).daemon ?? '-';
      this.#logs.push(`${d}: ${msg ?? ''}`);
      if (this.#logs.length > 2000) this.#logs.splice(0, this.#logs.length - 2000);
      if (DEFAULT_LOGGER_DEBUG && outer === undefined) process.stderr.write(`[${this.pathspace} ${level}] ${d}: ${msg ?? ''}\n`);
    };
    return {
      info: (o, m) => (keep('info')(o, m), outer?.info(o, m)),
      warn: (o, m) => (keep('warn')(o, m), outer?.warn(o, m)),
      error: (o, m) => (keep('error')(o, m), outer?.error(o, m)),
      debug: (o, m) => (keep('debug')(o, m), outer?.debug(o, m)),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// lab

class LabImpl implements Lab {
  readonly id: string;
  readonly index: number;
  readonly gwNs: string;
  readonly rtNs: string;
  readonly gwIf = 'net1';
  readonly rtIf = 'eth0';
  readonly addresses = LAB_ADDRESSES;
  readonly binDir: string;
  readonly logger: FrrLogger | undefined;
  tmpDir = '';
  /** Live pids of every daemon the lab spawned (for the synchronous fallback). */
  readonly pids = new Set<number>();
  readonly #instances: LabFrrInstance[] = [];
  readonly #pathspaces = new Set<string>();
  /** Namespaces of addNamespace, removed before gw and rt. */
  readonly #extraNs: string[] = [];
  #cleanup: Promise<void> | undefined;
  #cleaned = false;

  constructor(index: number, opts: LabOptions) {
    this.index = index;
    this.id = `${LAB_PREFIX}-${process.pid}-${index}`;
    this.gwNs = `${this.id}-gw`;
    this.rtNs = `${this.id}-rt`;
    this.binDir = opts.binDir ?? FRR_DEFAULT_BIN_DIR;
    this.logger = opts.logger;
  }

  get instances(): readonly FrrInstance[] {
    return [...this.#instances];
  }

  get names(): { gwNs: string; rtNs: string; gwIf: string; rtIf: string } {
    return { gwNs: this.gwNs, rtNs: this.rtNs, gwIf: this.gwIf, rtIf: this.rtIf };
  }

  async setup(tmpRoot: string): Promise<void> {
    this.tmpDir = await mkdtemp(join(tmpRoot, `${this.id}-`));
    await chmod(this.tmpDir, 0o755); // FRR runs as user frr and must reach run/ below it
    const ip = async (...args: string[]): Promise<void> => {
      await execa('ip', args, { stdin: 'ignore' });
    };
    await ip('netns', 'add', this.gwNs);
    await ip('netns', 'add', this.rtNs);
    await ip('link', 'add', this.gwIf, 'netns', this.gwNs, 'type', 'veth', 'peer', 'name', this.rtIf, 'netns', this.rtNs);
    for (const [ns, dev, side] of [
      [this.gwNs, this.gwIf, LAB_ADDRESSES.gw],
      [this.rtNs, this.rtIf, LAB_ADDRESSES.rt],
    ] as const) {
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'addr', 'add', `${side.ipv4}/${LAB_ADDRESSES.ipv4PrefixLen}`, 'dev', dev);
      await ip('-n', ns, 'addr', 'add', `${side.ipv6}/${LAB_ADDRESSES.ipv6PrefixLen}`, 'dev', dev, 'nodad');
      await ip('-n', ns, 'link', 'set', dev, 'up');
      // The gateway's namespace forwards as a Kube-OVN gateway Pod does (its init container sets these; the
      // supervisor only checks them there), and the router forwards to the lab hosts behind it.
      await setForwarding(ns);
    }
  }

  #nsName(ns: string): string {
    if (ns === 'gw') return this.gwNs;
    if (ns === 'rt') return this.rtNs;
    return ns;
  }

  async exec(ns: string, argv: string[], opts: { reject?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
    const r = await execa('ip', ['netns', 'exec', this.#nsName(ns), ...argv], {
      reject: opts.reject ?? true,
      stdin: 'ignore',
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode };
  }

  #pathspaceFor(ns: string): string {
    const side = ns === this.rtNs ? 'r' : 'g';
    const base = `${LAB_PREFIX}${process.pid}${side}${this.index}`;
    let name = base;
    for (let k = 2; this.#pathspaces.has(name); k++) name = `${base}_${k}`;
    return name;
  }

  async startFrr(ns: string, configText: string, opts: StartFrrOptions = {}): Promise<FrrInstance> {
    if (this.#cleanup !== undefined) throw new Error(`lab ${this.id} is cleaned up`);
    const nsName = this.#nsName(ns);
    const pathspace = opts.pathspace ?? this.#pathspaceFor(nsName);
    if (this.#pathspaces.has(pathspace)) throw new Error(`pathspace ${pathspace} already used in lab ${this.id}`);
    this.#pathspaces.add(pathspace);
    const inst = new LabFrrInstance(this, nsName, pathspace, opts);
    this.#instances.push(inst);
    try {
      await inst.start(configText);
    } catch (err) {
      await inst.stop();
      throw err;
    }
    return inst;
  }

  startRouter(configText: string, opts: StartFrrOptions = {}): Promise<RouterInstance> {
    return this.startFrr(this.rtNs, configText, opts);
  }

  async addNamespace(suffix: string): Promise<string> {
    if (!/^[a-z0-9]{1,8}$/.test(suffix) || suffix === 'gw' || suffix === 'rt') throw new Error(`addNamespace: bad suffix ${suffix}`);
    const ns = `${this.id}-${suffix}`;
    if (this.#extraNs.includes(ns)) throw new Error(`namespace ${ns} already exists in lab ${this.id}`);
    this.#extraNs.push(ns);
    await execa('ip', ['netns', 'add', ns], { stdin: 'ignore' });
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { stdin: 'ignore' });
    return ns;
  }

  cleanup(): Promise<void> {
    this.#cleanup ??= this.#doCleanup();
    return this.#cleanup;
  }

  async #doCleanup(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    await Promise.all(this.#instances.map((i) => attempt(() => i.stop())));
    for (const pid of this.pids) {
      if (readCmdlineIsFrr(pid, this.binDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const ns of [...this.#extraNs, this.gwNs, this.rtNs]) {
      await attempt(() => killFrrInNetns(ns, this.binDir));
      await attempt(async () => {
        if ((await listNetns()).includes(ns)) await execa('ip', ['netns', 'del', ns], { stdin: 'ignore' });
      });
    }
    if (this.tmpDir !== '') await attempt(() => rm(this.tmpDir, { recursive: true, force: true }));
    for (const ps of this.#pathspaces) await attempt(() => rm(join(FRR_DEFAULT_RUN_DIR, ps), { recursive: true, force: true }));
    this.#cleaned = true;
    liveLabs.delete(this);
    if (liveLabs.size === 0) uninstallHandlers();
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.id} cleanup had ${errors.length} error(s)`);
  }

  /** Last-resort synchronous cleanup (process exit / signal): SIGKILL by pid, delete namespaces and dirs. */
  cleanupSync(): void {
    if (this.#cleaned) return;
    this.#cleaned = true;
    const kill = (pid: number): void => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    };
    for (const pid of this.pids) if (isFrrArgv(cmdlineSync(pid), this.binDir)) kill(pid);
    for (const ns of [...this.#extraNs, this.gwNs, this.rtNs]) {
      for (const pid of nsPidsSync(ns)) if (isFrrArgv(cmdlineSync(pid), this.binDir)) kill(pid);
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not there
      }
    }
    if (this.tmpDir !== '') rmSync(this.tmpDir, { recursive: true, force: true });
    for (const ps of this.#pathspaces) rmSync(join(FRR_DEFAULT_RUN_DIR, ps), { recursive: true, force: true });
    liveLabs.delete(this);
  }
}

/**
 * Creates a lab: namespaces `fsl-<pid>-<n>-gw` / `-rt`, veth `net1` (gw) <-> `eth0` (rt) with 10.0.1.13/24 +
 * fd00:1::13/64 and 10.0.1.1/24 + fd00:1::1/64, `lo` up, and a temp dir. Sweeps what crashed earlier runs left
 * first. Call `cleanup()` in the test's `after()`; a synchronous fallback also runs on exit, SIGINT and SIGTERM.
 */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) {
    throw new Error('the network-namespace lab needs root (ip netns, FRR daemons); run the e2e tests as root');
  }
  const binDir = opts.binDir ?? FRR_DEFAULT_BIN_DIR;
  const tmpRoot = opts.tmpRoot ?? tmpdir();
  await sweepStale(binDir, tmpRoot);
  const lab = new LabImpl(labCounter++, opts);
  liveLabs.add(lab);
  installHandlers();
  try {
    await lab.setup(tmpRoot);
  } catch (err) {
    await lab.cleanup().catch(() => undefined);
    throw err;
  }
  return lab;
}

/** Names of the namespaces that currently exist (for assertions). */
export async function listNamespaces(): Promise<string[]> {
  return listNetns();
}

/** Pathspace dirs under /var/run/frr created by this process's labs (for assertions). */
export function ownPathspaceDirs(): string[] {
  try {
    const re = new RegExp(`^${LAB_PREFIX}${process.pid}[gr]\\d+`);
    return readdirSync(FRR_DEFAULT_RUN_DIR).filter((e) => re.test(e));
  } catch {
    return [];
  }
}
