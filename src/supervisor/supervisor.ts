/**
 * The long-running sidecar: prepares FRR's directories, takes over from leftovers of an earlier run,
 * applies the config (starting the daemons on the first valid one), follows changes, and on SIGTERM drains
 * the BGP sessions before stopping everything.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FrrPaths, removeStaleSockets } from '../frr/paths.ts';
import { Vtysh } from '../frr/vtysh.ts';
import { stopLeftovers } from '../frr/leftovers.ts';
import type { DaemonName } from '../frr/daemon.ts';
import type { HostFacts } from '../config/facts.ts';
import { enableNeighboursCommands, renderBgpdBootConf, renderDaemons } from '../render/frr-conf.ts';
import type { Logger } from '../log.ts';
import { ConfigWatcher } from '../watch/config-watcher.ts';
import { DaemonManager, START_ORDER } from './daemons.ts';
import { Applier, restartSignal } from './apply.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { Observer } from '../observe/observer.ts';
import { prepareZebraMountNs, releaseZebraMountNs } from '../frr/zebra-mountns.ts';
import type { ReadyWhen, SupervisorView } from '../observe/view.ts';
import { formatProblem, hasErrors } from '../config/problems.ts';

export interface SupervisorOptions {
  configDir?: string;
  env: boolean;
  facts: HostFacts;
  frrBinDir: string;
  frrConfigDir: string;
  frrRunDir: string;
  pathspace?: string;
  debounceMs: number;
  resyncMs: number;
  vtyshTimeoutMs: number;
  logger: Logger;
  listen: string;
  pollIntervalMs: number;
  readyWhen: ReadyWhen;
}

/** zebra keeps the kernel routes of its previous run this long (`-K`), when graceful restart is on. */
export const ZEBRA_GR_SECONDS = 120;

export class Supervisor implements SupervisorView {
  readonly paths: FrrPaths;
  readonly observer: Observer;
  readonly vtysh: Vtysh;
  readonly daemons: DaemonManager;
  readonly applier: Applier;
  private watcher: ConfigWatcher | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  readonly startedAt = new Date();
  /** Last time the event loop ran the heartbeat (see /livez). */
  lastBeat = new Date();

  beat(): void {
    this.lastBeat = new Date();
  }

  constructor(private readonly opts: SupervisorOptions) {
    this.paths = new FrrPaths({
      binDir: opts.frrBinDir,
      configDir: opts.frrConfigDir,
      runDir: opts.frrRunDir,
      ...(opts.pathspace && { pathspace: opts.pathspace }),
    });
    this.vtysh = new Vtysh({ paths: this.paths, timeoutMs: opts.vtyshTimeoutMs });
    this.daemons = new DaemonManager({
      paths: this.paths,
      logger: opts.logger,
      extraArgs: (name) => this.daemonArgs(name),
      prepare: (name) => this.prepare(name),
      restartSignal: () => (this.applier.running ? restartSignal(this.applier.running.spec) : 'SIGTERM'),
      configure: (name) => this.configure(name),
    });
    this.applier = new Applier({
      ...(opts.configDir && { configDir: opts.configDir }),
      env: opts.env,
      facts: opts.facts,
      paths: this.paths,
      vtysh: this.vtysh,
      daemons: this.daemons,
      logger: opts.logger,
      onRecord: (rec, repeat) => {
        if (repeat) return;
        this.observer.metrics.recordApply(rec);
        this.observer.invalidateMetrics();
      },
    });
    this.daemons.on('started', (name, reason) => {
      if (reason !== 'initial') this.observer.metrics.daemonRestarts.inc({ daemon: name, reason });
      this.observer.invalidateMetrics();
      // A failed apply completed by crash recovery: verify it (and become ready) without waiting for a resync.
      const running = this.applier.running;
      if (running && this.applier.verifiedHash !== running.hash && START_ORDER.every((d) => this.daemons.isRunning(d))) {
        void this.applier.request('daemons recovered');
      }
    });
    this.daemons.on('crash', () => this.observer.invalidateMetrics());
    this.observer = new Observer({
      view: this,
      paths: this.paths,
      logger: opts.logger,
      listen: opts.listen,
      pollIntervalMs: opts.pollIntervalMs,
      vtyshTimeoutMs: opts.vtyshTimeoutMs,
      readyWhen: opts.readyWhen,
    });
  }

  // SupervisorView: what the probes, metrics and /status read.
  input(): ReturnType<SupervisorView['input']> {
    const load = this.applier.lastLoad;
    if (!load) return undefined;
    return { sources: load.sources, valid: !hasErrors(load.problems) && load.spec !== undefined, problems: load.problems.map(formatProblem) };
  }
  running(): ReturnType<SupervisorView['running']> {
    const r = this.applier.running;
    return r && { generation: r.generation, hash: r.hash, appliedAt: r.appliedAt };
  }
  lastApply(): ReturnType<SupervisorView['lastApply']> {
    return this.applier.last;
  }
  lastSuccessAt(): Date | undefined {
    return this.applier.lastSuccessAt;
  }
  daemonStatus(): ReturnType<SupervisorView['daemonStatus']> {
    return this.daemons.status();
  }
  neighbours(): string[] {
    return this.applier.running?.spec.bgp.neighbours ?? [];
  }
  dataplane(): ReturnType<NonNullable<SupervisorView['dataplane']>> {
    return this.applier.dataplane;
  }
  evpn(): ReturnType<SupervisorView['evpn']> {
    const spec = this.applier.running?.spec;
    return spec?.evpn && { vni: spec.evpn.vni, vrf: spec.gateway.vrf.name };
  }

  /** Pushes a freshly started daemon's part of the config; bgpd gets its neighbours enabled last (see renderBgpdBootConf). */
  private async configure(name: DaemonName): Promise<void> {
    const spec = this.applier.running?.spec;
    if (name !== 'bgpd' || !spec) return this.vtysh.pushConfig({ daemon: name, timeoutMs: 10_000 });
    const boot = join(this.paths.instanceConfigDir, 'bgpd-boot.conf');
    await writeFileAtomic(boot, renderBgpdBootConf(spec), 0o600);
    await this.vtysh.pushConfig({ daemon: 'bgpd', file: boot, timeoutMs: 10_000 });
    await this.vtysh.run(enableNeighboursCommands(spec), { daemon: 'bgpd', timeoutMs: 10_000 });
  }

  private netnsVrf(): string | undefined {
    const spec = this.applier.running?.spec;
    return spec?.evpn && spec.gateway.vrfBackend === 'netns' ? spec.gateway.vrf.name : undefined;
  }

  private daemonArgs(name: DaemonName): string[] {
    const spec = this.applier.running?.spec;
    if (name !== 'zebra') return [];
    return [...((spec?.gateway.gracefulRestart ?? true) ? ['-K', String(ZEBRA_GR_SECONDS)] : []), ...(this.netnsVrf() ? ['-n'] : [])];
  }

  /** zebra with the netns VRF backend runs in a mount namespace whose /run/netns holds only the VRF. */
  private async prepare(name: DaemonName): Promise<string[] | undefined> {
    const vrf = this.netnsVrf();
    if (name !== 'zebra' || !vrf) return undefined;
    return prepareZebraMountNs(this.mountHolder, [vrf]);
  }

  private get mountHolder(): string {
    return join(this.paths.instanceRunDir, 'zebra-mnt');
  }

  async start(): Promise<void> {
    const log = this.opts.logger;
    await this.paths.ensureDirs();
    // SIGKILL, like a config-change restart: with graceful restart the peers keep this gateway's routes as
    // stale until the new bgpd is up, and zebra's forwarding state stays for the new zebra (-K) to adopt.
    const leftovers = await stopLeftovers(this.paths, START_ORDER, { signal: 'SIGKILL' });
    if (leftovers.length > 0) log.warn({ event: 'leftovers_stopped', daemons: leftovers }, `stopped FRR daemons left over from an earlier run: ${leftovers.map((l) => `${l.name}[${l.pid}]`).join(', ')}`);
    await writeFile(this.paths.vtyshConf, 'service integrated-vtysh-config\n', { mode: 0o644 });
    await writeFileAtomic(join(this.paths.instanceConfigDir, 'daemons'), renderDaemons(), 0o644);
    if (this.opts.configDir) {
      this.watcher = new ConfigWatcher({ dir: this.opts.configDir, debounceMs: this.opts.debounceMs, resyncMs: this.opts.resyncMs });
      this.watcher.on('change', (reason, periodic) => void this.applier.request(reason, { periodic }));
      this.watcher.on('error', (e) => log.warn({ event: 'watch_error', err: e.message }, `watching ${this.opts.configDir} failed: ${e.message}`));
      await this.watcher.start();
    } else if (this.opts.resyncMs > 0) {
      // --env only: nothing to watch, but the EVPN devices are still checked (and a failed apply retried) every resync.
      this.resyncTimer = setInterval(() => void this.applier.request('periodic resync', { periodic: true }), this.opts.resyncMs);
      this.resyncTimer.unref();
    }
    await this.observer.start();
    log.info({ event: 'supervisor_started', pid: process.pid, configDir: this.opts.configDir ?? null, env: this.opts.env, pathspace: this.opts.pathspace ?? null }, 'frr-supervisor started');
    await this.applier.request('startup');
  }

  /**
   * The Pod is going away: drain (administratively shut every neighbour down, so the peers withdraw this
   * gateway's routes at once instead of keeping them stale for the graceful-restart time), then stop bgpd,
   * staticd, zebra; clean up pid files and sockets.
   */
  shutdown(signal: string): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.opts.logger;
      const t0 = performance.now();
      log.info({ event: 'shutdown', signal }, `${signal}: draining and stopping`);
      await this.watcher?.close();
      clearInterval(this.resyncTimer);
      await this.observer.stop();
      const spec = this.applier.running?.spec;
      if (spec && this.daemons.isRunning('bgpd')) {
        const cmds = ['configure terminal', `router bgp ${spec.bgp.localAsn}`, ...spec.bgp.neighbours.map((n) => `neighbor ${n} shutdown`)];
        try {
          await this.vtysh.run(cmds, { timeoutMs: 3000 });
          log.info({ event: 'drained', neighbours: spec.bgp.neighbours.length }, 'BGP sessions shut down administratively');
          await new Promise((r) => setTimeout(r, 200));
        } catch (e) {
          log.warn({ event: 'drain_failed', err: (e as Error).message }, `drain failed: ${(e as Error).message}`);
        }
      }
      await this.daemons.stopAll();
      await releaseZebraMountNs(this.mountHolder).catch((e: unknown) => log.warn({ event: 'cleanup_failed', err: (e as Error).message }));
      for (const name of START_ORDER) await rm(this.paths.pidFile(name), { force: true });
      await removeStaleSockets(this.paths.instanceRunDir).catch(() => undefined);
      log.info({ event: 'stopped', durationMs: Math.round(performance.now() - t0) }, 'frr-supervisor stopped');
    })();
    return this.stopping;
  }
}
