/**
 * Helpers for the fault-injection and soak tests: a seeded PRNG, Prometheus sample lookup, /proc inspection
 * (RSS, fds, zombies, FRR processes of a pathspace), a supervisor started with a caller-chosen FRR config dir
 * (e.g. a small tmpfs), and an HTTP bridge into the gateway namespace (fast in-process requests and raw
 * sockets against the supervisor's endpoints).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { loadConfig } from '../src/config/load.ts';
import { formatProblem } from '../src/config/problems.ts';
import type { Spec } from '../src/config/types.ts';
import { renderFrrConf } from '../src/render/frr-conf.ts';
import type { Lab } from './lab.ts';
import { waitFor } from './lab.ts';
import { SupervisorProcess } from './supervisor-process.ts';
import type { StartSupervisorOptions } from './supervisor-process.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BRIDGE = join(REPO, 'lab/ns-tcp-bridge.js');

// ---------------------------------------------------------------------------------------------------------
// seeded randomness

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence. */
export class Rng {
  #state: number;
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks a key with probability proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }
}

/** The seed from the environment variable (decimal or 0x hex), else a fresh random one. */
export function seedFrom(envName: string): number {
  const raw = process.env[envName];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${envName}=${raw}: expected a non-negative integer`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// Prometheus text

/** The value of the first sample of `name` whose labels include `labels`; undefined when there is none. */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const bare = line.startsWith(`${name} `);
    if (!bare && !line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// /proc

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** R, S, D, Z, T, ... */
  state: string;
  comm: string;
  argv: string[];
  /** Start time in clock ticks after boot. */
  startTicks: number;
}

const CLK_TCK = 100;

export function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    let argv: string[] = [];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
    } catch {
      argv = [];
    }
    return { pid, comm: stat.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]), startTicks: Number(rest[19]), argv };
  } catch {
    return undefined;
  }
}

export function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = readProc(Number(e));
    if (p) out.push(p);
  }
  return out;
}

/** Seconds since the process started. */
export function procAgeSeconds(p: ProcInfo): number {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return uptime - p.startTicks / CLK_TCK;
}

/** VmRSS in KiB (undefined when the process is gone). */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function fdCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The value of `-N NAME` in an argv. */
function pathspaceArg(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('-N');
  return i >= 0 ? argv[i + 1] : undefined;
}

export interface ProcessAudit {
  /** Pids from the supervisor's pid files. */
  daemons: Record<string, number | undefined>;
  /** Every FRR daemon process (binary in binDir) running with this pathspace. */
  frrProcesses: ProcInfo[];
  /** FRR daemons of the pathspace that are not the pid-file daemons (orphans, duplicates). */
  extraDaemons: ProcInfo[];
  /** vtysh processes of the pathspace older than the given age (hung or orphaned). */
  staleVtysh: ProcInfo[];
  /** Zombie children of the supervisor. */
  zombies: ProcInfo[];
}

/** What runs for a supervisor: its daemons, other FRR processes of its pathspace, zombie children. */
export async function auditProcesses(sup: SupervisorProcess, opts: { staleVtyshSeconds?: number } = {}): Promise<ProcessAudit> {
  const daemons: Record<string, number | undefined> = {};
  for (const d of ['zebra', 'staticd', 'bgpd'] as const) daemons[d] = await sup.daemonPid(d);
  const procs = allProcs();
  const ofPathspace = procs.filter((p) => pathspaceArg(p.argv) === sup.pathspace && p.state !== 'Z');
  const binDir = sup.paths.binDir.replace(/\/+$/, '');
  const frrProcesses = ofPathspace.filter((p) => (p.argv[0] ?? '').startsWith(`${binDir}/`));
  const known = new Set(Object.values(daemons).filter((x): x is number => x !== undefined));
  return {
    daemons,
    frrProcesses,
    extraDaemons: frrProcesses.filter((p) => !known.has(p.pid)),
    staleVtysh: ofPathspace.filter((p) => /(^|\/)vtysh$/.test(p.argv[0] ?? '') && procAgeSeconds(p) > (opts.staleVtyshSeconds ?? 15)),
    zombies: sup.pid === undefined ? [] : procs.filter((p) => p.ppid === sup.pid && p.state === 'Z'),
  };
}

/** Zombie children of pid that are still zombies `confirmMs` later (a child is reaped a moment after it exits). */
export async function persistentZombies(pid: number, confirmMs = 1000): Promise<ProcInfo[]> {
  const first = allProcs().filter((p) => p.ppid === pid && p.state === 'Z');
  if (first.length === 0) return [];
  await new Promise((r) => setTimeout(r, confirmMs));
  return first.filter((z) => {
    const again = readProc(z.pid);
    return again !== undefined && again.state === 'Z' && again.ppid === pid && again.startTicks === z.startTicks;
  });
}

export const describeProcs = (ps: readonly ProcInfo[]): string =>
  ps.map((p) => `${p.pid}(${p.state}, ppid ${p.ppid}): ${p.argv.join(' ').slice(0, 140)}`).join('; ');

// ---------------------------------------------------------------------------------------------------------
// the rendering of an input and FRR's running config

/** What the supervisor computes for an input dir: the spec and frr.conf, or the error lines; and the sources /status lists for it. */
export async function renderInput(
  files: Record<string, string>,
  scratchDir: string,
  podIp: string,
): Promise<{ spec?: Spec; conf?: string; errors: string[]; sources: Array<{ name: string; sha256: string }> }> {
  rmSync(scratchDir, { recursive: true, force: true });
  mkdirSync(scratchDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(scratchDir, name), text);
  const load = await loadConfig({
    configDir: scratchDir,
    facts: { env: { POD_IP: podIp }, interfaceIPv4: () => Promise.resolve(undefined) },
  });
  const errors = load.problems.filter((p) => p.severity === 'error').map(formatProblem);
  if (!load.spec || errors.length > 0) return { errors, sources: load.sources };
  return { spec: load.spec, conf: renderFrrConf(load.spec), errors, sources: load.sources };
}

export { runningConfigDiff } from '../src/frr/running-config.ts';

// ---------------------------------------------------------------------------------------------------------
// a supervisor with a chosen FRR config dir

let seq = 0;

export interface StartAtOptions extends StartSupervisorOptions {
  /** Called with the FRR config dir after it is created and before the supervisor starts (e.g. to mount a tmpfs on it). */
  beforeStart?: (frrConfigDir: string) => Promise<void> | void;
}

/**
 * Like startSupervisor(), but the caller may prepare the FRR config dir first (the harness creates it and starts at
 * once). Pathspace `fsl<pid>f<n>`, so the lab's sweep of crashed runs covers it.
 */
export async function startSupervisorAt(lab: Lab, opts: StartAtOptions): Promise<SupervisorProcess> {
  seq++;
  const base = join(lab.tmpDir, `fault-supervisor-${seq}`);
  const frrConfigDir = join(base, 'etc-frr');
  mkdirSync(frrConfigDir, { recursive: true });
  await opts.beforeStart?.(frrConfigDir);
  const sup = new SupervisorProcess(lab, `fsl${process.pid}f${seq}`, join(base, 'config'), frrConfigDir, opts.binDir);
  sup.start(opts);
  return sup;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP into the gateway namespace

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const bridges = new Set<NsHttp>();
process.on('exit', () => {
  for (const b of bridges) b.killSync();
});

/**
 * A bridge process in the gateway namespace forwards connections from a unix socket (in the lab's temp dir) to
 * the supervisor's port, so a test makes requests in-process (no process per request) and can drive raw sockets.
 */
export class NsHttp {
  private constructor(
    readonly socketPath: string,
    private readonly child: ResultPromise,
  ) {}

  static async start(lab: Lab, port = 9180): Promise<NsHttp> {
    const socketPath = join(lab.tmpDir, `http-bridge-${port}-${bridges.size}.sock`);
    const child = execa('ip', ['netns', 'exec', lab.gwNs, process.execPath, BRIDGE, socketPath, '127.0.0.1', String(port)], {
      reject: false,
      cleanup: false,
      stdin: 'ignore',
      buffer: false,
    });
    const bridge = new NsHttp(socketPath, child);
    bridges.add(bridge);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the HTTP bridge did not start within 10 s')), 10_000);
      if (!child.stdout) return reject(new Error('no stdout from the HTTP bridge'));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.trim() === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child
        .then((r) => {
          clearTimeout(timer);
          reject(new Error(`the HTTP bridge exited (${String(r.exitCode)}): ${String(r.stderr)}`));
        })
        .catch(reject);
    });
    return bridge;
  }

  /** One request on a fresh connection; rejects on a connection error or after timeoutMs. */
  request(path: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, path, method: opts.method ?? 'GET', headers: { host: '127.0.0.1', ...opts.headers }, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(opts.timeoutMs ?? 5000, () =>
        req.destroy(new Error(`HTTP ${opts.method ?? 'GET'} ${path}: no answer within ${opts.timeoutMs ?? 5000} ms`)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  async get(path: string, timeoutMs?: number): Promise<HttpAnswer> {
    return this.request(path, timeoutMs === undefined ? {} : { timeoutMs });
  }

  /** A raw connection to the supervisor's port (through the bridge). */
  connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.socketPath, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  /** Waits until the endpoint answers with the given status. */
  async waitStatus(path: string, status: number, timeoutMs: number): Promise<void> {
    await waitFor(async () => (await this.get(path)).status === status, { timeoutMs, intervalMs: 100, what: `${path} ${status}` });
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.child;
    clearTimeout(timer);
    bridges.delete(this);
    rmSync(this.socketPath, { force: true });
  }

  killSync(): void {
    try {
      if (this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Sends `data` on a raw socket and collects what comes back until the peer closes the connection (or, with
 * untilResponse, until a complete response head has arrived) or timeoutMs passes. `closed` is false when the
 * connection was still open at the end.
 */
export function rawExchange(
  socket: Socket,
  data: string | Buffer,
  timeoutMs: number,
  opts: { untilResponse?: boolean } = {},
): Promise<{ response: string; closed: boolean; ms: number; writeError?: string }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let response = '';
    let writeError: string | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ response, closed, ms: Date.now() - t0, ...(writeError !== undefined && { writeError }) });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d: Buffer) => {
      response += d.toString('latin1');
      if (opts.untilResponse && response.includes('\r\n\r\n')) finish(false);
    });
    socket.on('error', (e) => (writeError = (e as NodeJS.ErrnoException).code ?? e.message));
    socket.on('close', () => finish(true));
    socket.write(data, (e) => {
      if (e) writeError = (e as NodeJS.ErrnoException).code ?? e.message;
    });
  });
}
