/**
 * Runs the EVPN hold (evpn-hold.ts) against the kernel: `ip -N monitor neigh route` in the VRF's namespace feeds it
 * the kernel's events as they happen, and two long-running `ip -batch -` / `bridge -batch -` processes carry out its
 * lines without a process start each (zebra's flush and the hold's answer are a millisecond apart: a VXLAN entry
 * missing drops packets, a neighbour missing queues them). Started by the supervisor when an EVPN gateway runs with
 * graceful restart on an FRR with EVPN graceful restart (10.6+), stopped when that ends or the supervisor stops.
 */
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { childEnv } from '../child-env.ts';
import type { Logger } from '../log.ts';
import type { Family } from '../config/net.ts';
import type { BatchLines, EvpnDevices, HeldRoute } from './evpn-entries.ts';
import { parseHoldableRoutes, parseMonitorLine, parseRemoteFdb, parseZebraNeighbours, PROTO_BGP } from './evpn-entries.ts';
import { EvpnHold, WAIT_FDB_MS } from './evpn-hold.ts';
import type { HoldReport } from './evpn-hold.ts';
import { bridgeArgv, execRunner, ipArgv } from './exec.ts';
import type { Runner } from './exec.ts';

export interface EvpnHoldRunnerOptions {
  devices: EvpnDevices;
  /** The VRF's network namespace (netns backend); undefined: this namespace (kernel VRF backend). */
  netns?: string;
  logger: Logger;
  bgpdGone: () => boolean;
  onReport?: (r: HoldReport) => void;
  maxHoldMs?: number;
  settleMs?: number;
  runner?: Runner;
}

const TICK_MS = 200;

export interface HoldWhere {
  devices: EvpnDevices;
  netns?: string;
}

/** One string for a runner's devices and namespace. */
export function holdKey(w: HoldWhere): string {
  return `${w.netns ?? ''}|${w.devices.bridge}|${w.devices.vxlan}|${w.devices.table ?? ''}`;
}

export class EvpnHoldRunner {
  readonly hold: EvpnHold;
  private monitor: ResultPromise | undefined;
  private ipBatch: ResultPromise | undefined;
  private bridgeBatch: ResultPromise | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;
  private monitorFailures = 0;
  private readonly runner: Runner;

  constructor(private readonly opts: EvpnHoldRunnerOptions) {
    this.runner = opts.runner ?? execRunner;
    this.hold = new EvpnHold({
      devices: opts.devices,
      bgpdGone: opts.bgpdGone,
      ...(opts.maxHoldMs !== undefined && { maxHoldMs: opts.maxHoldMs }),
      ...(opts.settleMs !== undefined && { settleMs: opts.settleMs }),
    });
  }

  /** Which devices and namespace this runner watches (the supervisor starts another when they change). */
  get where(): HoldWhere {
    return { devices: this.opts.devices, ...(this.opts.netns !== undefined && { netns: this.opts.netns }) };
  }

  async start(): Promise<void> {
    this.ipBatch = this.batch(ipArgv(this.opts.netns, '-force', '-batch', '-'), 'ip');
    this.bridgeBatch = this.batch(bridgeArgv(this.opts.netns, '-force', '-batch', '-'), 'bridge');
    this.startMonitor();
    await this.seed();
    this.opts.logger.info(
      { event: 'evpn_hold_watching', ...this.opts.devices, netns: this.opts.netns ?? null, tracked: this.hold.tracked() },
      `EVPN hold: watching ${this.opts.devices.bridge} and ${this.opts.devices.vxlan} for zebra's flush during bgpd restarts`,
    );
  }

  /** bgpd is about to go down (a graceful restart) or went down: hold from now. */
  async arm(reason: string): Promise<void> {
    if (this.stopped) return;
    const was = this.hold.holding;
    this.hold.arm(reason);
    if (!was) await this.armed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    const { lines, report } = this.hold.stop();
    this.send(lines);
    if (report) this.report(report);
    for (const p of [this.ipBatch, this.bridgeBatch]) p?.stdin?.end();
    this.monitor?.kill();
    await Promise.allSettled([this.monitor, this.ipBatch, this.bridgeBatch].filter((p) => p !== undefined));
  }

  private batch(argv: string[], what: string): ResultPromise {
    const [file, ...args] = argv;
    const p = execa(file ?? what, args, {
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      extendEnv: false,
      env: childEnv(),
    });
    if (p.stderr) {
      createInterface({ input: p.stderr }).on('line', (line) =>
        this.opts.logger.info({ event: 'evpn_hold_command_failed', tool: what, err: line }, `EVPN hold: ${what}: ${line}`),
      );
    }
    p.stdin?.on('error', () => undefined);
    p.then(
      (r) => {
        if (!this.stopped)
          this.opts.logger.warn(
            { event: 'evpn_hold_process_exited', tool: what, exitCode: r.exitCode ?? null },
            `EVPN hold: ${what} -batch exited`,
          );
      },
      () => undefined,
    );
    return p;
  }

  private startMonitor(): void {
    const [file, ...args] = ipArgv(this.opts.netns, '-N', 'monitor', 'neigh', 'route');
    const p = execa(file ?? 'ip', args, {
      stdin: 'ignore',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      extendEnv: false,
      env: childEnv(),
    });
    this.monitor = p;
    const startedAt = Date.now();
    let err = '';
    if (p.stdout) createInterface({ input: p.stdout }).on('line', (line) => this.onLine(line));
    if (p.stderr) createInterface({ input: p.stderr }).on('line', (line) => (err ||= line));
    p.then(
      (r) => {
        if (this.stopped) return;
        // a monitor that ran a while is started again at once; one that keeps failing (the VRF namespace missing)
        // less and less often, up to every 30 s
        this.monitorFailures = Date.now() - startedAt > 10_000 ? 0 : this.monitorFailures + 1;
        const delayMs = Math.min(30_000, 1000 * 2 ** Math.max(0, this.monitorFailures - 1));
        this.opts.logger.warn(
          { event: 'evpn_hold_process_exited', tool: 'ip monitor', exitCode: r.exitCode ?? null, err: err || null, restartInMs: delayMs },
          `EVPN hold: ip monitor exited${err ? ` (${err})` : ''}: started again in ${delayMs / 1000} s`,
        );
        setTimeout(() => {
          if (!this.stopped) this.startMonitor();
        }, delayMs).unref();
      },
      () => undefined,
    );
  }

  private onLine(line: string): void {
    const ev = parseMonitorLine(line, this.opts.devices);
    if (!ev) return;
    const was = this.hold.holding;
    const lines = this.hold.onEvent(ev);
    this.send(lines);
    if (lines.ip.length + lines.bridge.length > 0)
      this.opts.logger.debug({ event: 'evpn_hold_restored', lines }, `EVPN hold: ${[...lines.bridge, ...lines.ip].join('; ')}`);
    if (!was && this.hold.holding) this.armed().catch((e: unknown) => this.failed(e));
    if (this.hold.waitingSince !== undefined) setTimeout(() => this.tick(), WAIT_FDB_MS + 1).unref();
  }

  /** A hold began: copies of the VRF's EVPN routes, and the ticks that end it. */
  private async armed(): Promise<void> {
    this.opts.logger.info({ event: 'evpn_hold_armed', reason: this.holdReason() }, `EVPN hold: ${this.holdReason()}`);
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    const routes: HeldRoute[] = [];
    for (const family of [4, 6] as const) routes.push(...(await this.readRoutes(family)));
    this.send(this.hold.holdRoutes(routes));
  }

  private failed(e: unknown): void {
    this.opts.logger.warn({ event: 'evpn_hold_failed', err: (e as Error).message }, `EVPN hold: ${(e as Error).message}`);
  }

  private holdReason(): string {
    return this.hold.reason ?? '';
  }

  private tick(): void {
    if (this.stopped) return;
    const { lines, report } = this.hold.tick();
    this.send(lines);
    if (report) {
      clearInterval(this.ticker);
      this.report(report);
    }
  }

  private report(r: HoldReport): void {
    const level = r.outcome === 'expired' ? 'warn' : 'info';
    this.opts.logger[level](
      { event: 'evpn_hold_ended', ...r },
      `EVPN hold ${r.outcome} after ${r.durationMs} ms: ${r.restoredFdb} FDB entries and ${r.restoredNeighbours} neighbours put back, ` +
        `${r.routesUsed} of ${r.routesHeld} route copies used`,
    );
    this.opts.onReport?.(r);
    // what zebra has now, tracked afresh (entries it changed while the hold could not tell its own from zebra's)
    if (r.outcome !== 'stopped') this.seed().catch((e: unknown) => this.failed(e));
  }

  private send(lines: BatchLines): void {
    // the VXLAN entries first: a neighbour coming back sends the packets queued for it at once
    if (lines.bridge.length > 0) this.bridgeBatch?.stdin?.write(lines.bridge.map((l) => `${l}\n`).join(''));
    if (lines.ip.length > 0) this.ipBatch?.stdin?.write(lines.ip.map((l) => `${l}\n`).join(''));
  }

  private async seed(): Promise<void> {
    const d = this.opts.devices;
    const [neigh, fdb] = await Promise.all([
      this.runner(ipArgv(this.opts.netns, '-N', '-json', 'neigh', 'show', 'dev', d.bridge)),
      this.runner(bridgeArgv(this.opts.netns, '-json', 'fdb', 'show', 'dev', d.vxlan)),
    ]);
    try {
      this.hold.seed(neigh.exitCode === 0 ? parseZebraNeighbours(neigh.stdout) : [], fdb.exitCode === 0 ? parseRemoteFdb(fdb.stdout) : []);
    } catch (e) {
      this.opts.logger.warn({ event: 'evpn_hold_seed_failed', err: (e as Error).message }, `EVPN hold: ${(e as Error).message}`);
    }
  }

  private async readRoutes(family: Family): Promise<HeldRoute[]> {
    const d = this.opts.devices;
    const table = d.table === undefined ? [] : ['table', d.table];
    const r = await this.runner(ipArgv(this.opts.netns, '-N', '-json', `-${family}`, 'route', 'show', ...table, 'proto', PROTO_BGP));
    if (r.exitCode !== 0) return [];
    try {
      return parseHoldableRoutes(r.stdout, family, d.bridge);
    } catch {
      return [];
    }
  }
}
