/**
 * The long-running sidecar's composition root: builds the parts and wires them. It prepares FRR's directories, takes
 * over from leftovers of an earlier run, and hands everything that happens afterwards (the startup apply, file events,
 * resyncs, crash recoveries, the shutdown) to the lifecycle (lifecycle.ts), which runs them one at a time.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FrrPaths, removeStaleSockets } from '../frr/paths.ts';
import { Vtysh } from '../frr/vtysh.ts';
import { stopLeftovers } from '../frr/leftovers.ts';
import { ALL_DAEMON_NAMES, describeExit, processRunning } from '../frr/daemon.ts';
import type { DaemonName } from '../frr/daemon.ts';
import { detectFrr, supportsEvpnGracefulRestart } from '../frr/version.ts';
import { checkFrrCapabilities } from '../frr/capabilities.ts';
import type { FrrFlavour } from '../frr/version.ts';
import type { HostFacts } from '../config/facts.ts';
import { renderDaemons } from '../render/frr-conf.ts';
import type { RenderOptions } from '../render/frr-conf.ts';
import { pushDaemonConfig } from './push.ts';
import type { Logger } from '../log.ts';
import { ConfigWatcher } from '../watch/config-watcher.ts';
import { DaemonManager } from './daemons.ts';
import { Applier } from './apply.ts';
import { ZEBRA_GR_SECONDS, daemonArgs, restartSignal } from './plan.ts';
import { LIVE_CHANGES } from './live-changes.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { Observer } from '../observe/observer.ts';
import { prepareZebraMountNs, releaseZebraMountNs } from '../frr/zebra-mountns.ts';
import type { Phase, ReadyWhen, SupervisorView } from '../observe/view.ts';
import { formatProblem, hasErrors } from '../config/problems.ts';
import { drainRunningBgp } from './drain.ts';
import { Lifecycle, SHUTDOWN_BUDGET } from './lifecycle.ts';
import { waitPeersRefreshed } from './peers-refreshed.ts';
import { EvpnHoldRunner, holdKey } from '../dataplane/evpn-hold-runner.ts';
import type { Spec } from '../config/types.ts';

export { SHUTDOWN_BUDGET };

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
  /** How to drive the FRR in frrBinDir; detected at start when not given (src/frr/version.ts). */
  frr?: FrrFlavour;
}

export { ZEBRA_GR_SECONDS };

export class Supervisor implements SupervisorView {
  readonly paths: FrrPaths;
  readonly observer: Observer;
  readonly vtysh: Vtysh;
  readonly daemons: DaemonManager;
  readonly applier: Applier;
  readonly lifecycle: Lifecycle;
  private watcher: ConfigWatcher | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** The FRR found at start. */
  private frr: FrrFlavour | undefined;
  readonly startedAt = new Date();
  /** The EVPN hold (src/dataplane/evpn-hold.ts), while an EVPN gateway runs with graceful restart on FRR 10.6+. */
  private evpnHold: EvpnHoldRunner | undefined;
  /** The shutdown began: no EVPN hold starts any more. */
  private closing = false;
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
    this.observer = new Observer({
      view: this,
      paths: this.paths,
      logger: opts.logger,
      listen: opts.listen,
      pollIntervalMs: opts.pollIntervalMs,
      vtyshTimeoutMs: opts.vtyshTimeoutMs,
      readyWhen: opts.readyWhen,
    });
    // The daemons' hooks read the applier and the lifecycle, which need the daemons: all three are assigned here, and
    // no hook runs before start().
    this.daemons = new DaemonManager({
      paths: this.paths,
      logger: opts.logger,
      extraArgs: (name) => daemonArgs(this.applier.running?.spec, name),
      prepare: (name) => this.prepare(name),
      restartSignal: () => (this.applier.running ? restartSignal(this.applier.running.spec) : 'SIGTERM'),
      beforeGracefulStop: async () => {
        await waitPeersRefreshed({ vtysh: this.vtysh, logger: opts.logger });
        // The hold as the config being applied wants it (frr.conf is written before the restart): none when the
        // change removes the EvpnConf (its devices are gone already), the new devices' when they were renamed.
        this.syncEvpnHold();
        await this.holdSync;
        await this.evpnHold?.arm('bgpd restarts (graceful restart)');
      },
      configure: (name) =>
        pushDaemonConfig(name, this.applier.running?.spec, { paths: this.paths, vtysh: this.vtysh, render: this.renderOptions() }),
      onDaemonSet: (names) => writeFileAtomic(join(this.paths.instanceConfigDir, 'daemons'), renderDaemons(names), 0o644),
      schedule: (name, attempt) => this.lifecycle.recover(name, attempt),
    });
    this.applier = new Applier({
      ...(opts.configDir && { configDir: opts.configDir }),
      env: opts.env,
      facts: opts.facts,
      paths: this.paths,
      vtysh: this.vtysh,
      daemons: this.daemons,
      logger: opts.logger,
      renderOptions: () => this.renderOptions(),
      ...(LIVE_CHANGES && { live: LIVE_CHANGES }),
      requestApply: (reason) => this.requestApply(reason, false),
      onLiveFallback: (stage) => {
        this.observer.metrics.liveFallbacks.inc({ stage });
        this.observer.invalidateMetrics();
      },
      onRecord: (rec, count) => {
        this.syncEvpnHold();
        if (count === 'none') return;
        if (count === 'retry') this.observer.metrics.applyRetries.inc();
        else this.observer.metrics.recordApply(rec);
        this.observer.invalidateMetrics();
      },
    });
    this.lifecycle = new Lifecycle({
      applier: this.applier,
      daemons: this.daemons,
      logger: opts.logger,
      steps: {
        stopInputs: async () => {
          this.closing = true;
          await this.watcher?.close();
          clearInterval(this.resyncTimer);
        },
        stopObserving: async () => {
          // before bgpd stops: its clean exit makes zebra remove the EVPN entries, as it should then (after the syncs
          // queued before it: `closing` makes this one stop the hold)
          this.syncEvpnHold();
          await this.holdSync;
          await this.observer.stop();
        },
        drain: () =>
          drainRunningBgp({
            spec: this.applier.running?.spec,
            daemons: this.daemons.status(),
            vtysh: this.vtysh,
            logger: opts.logger,
            waitMs: SHUTDOWN_BUDGET.sessionWaitMs,
          }),
        cleanup: () => this.cleanup(),
      },
    });
    this.daemons.on('started', (name, reason) => {
      if (name === 'zebra' && reason !== 'initial') this.evpnHold?.rebase().catch(() => undefined);
      if (reason !== 'initial') this.observer.metrics.daemonRestarts.inc({ daemon: name, reason });
      this.observer.invalidateMetrics();
    });
    this.daemons.on('crash', (exit) => {
      // This replica's routes are gone or going: an EVPN change drain waiting for its slot ends, and the apply (then
      // this crash's recovery, queued behind it) goes on at once.
      this.applier.cutChangeDrain(`${exit.name} exited (${describeExit(exit)})`, exit.name);
      if (exit.name === 'bgpd') this.evpnHold?.arm(`bgpd exited (${describeExit(exit)})`).catch(() => undefined);
      this.observer.invalidateMetrics();
    });
  }

  // SupervisorView: what the probes, metrics and /status read.
  phase(): Phase {
    return this.lifecycle.phase;
  }
  input(): ReturnType<SupervisorView['input']> {
    const load = this.applier.lastLoad;
    if (!load) return undefined;
    return {
      sources: load.sources,
      valid: !hasErrors(load.problems) && load.spec !== undefined,
      problems: load.problems.map(formatProblem),
    };
  }
  running(): ReturnType<SupervisorView['running']> {
    const r = this.applier.running;
    return r && { generation: r.generation, hash: r.shown, appliedAt: r.appliedAt };
  }
  lastApply(): ReturnType<SupervisorView['lastApply']> {
    return this.applier.last;
  }
  applyProgress(): ReturnType<NonNullable<SupervisorView['applyProgress']>> {
    return this.applier.progress;
  }
  recentChecks(): ReturnType<SupervisorView['recentChecks']> {
    return [...this.applier.recentChecks];
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

  /** What the renderer needs to know about the FRR in use (nothing before it is detected). */
  private renderOptions(): RenderOptions {
    return { evpnGracefulRestart: this.frr !== undefined && supportsEvpnGracefulRestart(this.frr.version) };
  }

  /**
   * The EVPN hold runs while the running config is an EVPN gateway with graceful restart on an FRR with EVPN graceful
   * restart (10.6+; older FRR does not keep the peers' EVPN routes either): started, moved to new devices or stopped
   * after every apply.
   */
  /** Starts, moves and stops of the hold, one at a time. */
  private holdSync: Promise<void> = Promise.resolve();

  private syncEvpnHold(): void {
    const spec = this.applier.running?.spec;
    const wanted =
      !this.closing && spec?.evpn && spec.gateway.gracefulRestart && this.renderOptions().evpnGracefulRestart ? spec : undefined;
    this.holdSync = this.holdSync
      .then(() => this.setEvpnHold(wanted))
      .catch((e: unknown) =>
        this.opts.logger.warn({ event: 'evpn_hold_failed', err: (e as Error).message }, `EVPN hold: ${(e as Error).message}`),
      );
  }

  private async setEvpnHold(spec: Spec | undefined): Promise<void> {
    const where = spec && {
      devices: {
        bridge: spec.gateway.bridge.name,
        vxlan: spec.gateway.vxlan.name,
        ...(spec.gateway.vrfBackend === 'kernel' && { table: String(spec.gateway.vrf.table) }),
      },
      ...(spec.gateway.vrfBackend === 'netns' && { netns: spec.gateway.vrf.name }),
    };
    if ((where && holdKey(where)) === (this.evpnHold && holdKey(this.evpnHold.where))) return;
    const old = this.evpnHold;
    this.evpnHold = undefined;
    await old?.stop();
    if (!where || this.closing) return;
    const next = new EvpnHoldRunner({
      ...where,
      logger: this.opts.logger,
      bgpdGone: () => !processRunning(this.daemons.status().find((d) => d.name === 'bgpd')?.pid),
      onReport: (r) => {
        this.observer.metrics.evpnHolds.inc({ outcome: r.outcome });
        this.observer.metrics.evpnHoldRestored.inc({ kind: 'neighbour' }, r.restoredNeighbours);
        this.observer.metrics.evpnHoldRestored.inc({ kind: 'fdb' }, r.restoredFdb);
        this.observer.invalidateMetrics();
      },
    });
    this.evpnHold = next;
    await next.start();
  }

  private netnsVrf(): string | undefined {
    const spec = this.applier.running?.spec;
    return spec?.evpn && spec.gateway.vrfBackend === 'netns' ? spec.gateway.vrf.name : undefined;
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
    await checkFrrCapabilities();
    const frr = this.opts.frr ?? (await detectFrr(this.paths.binDir));
    this.frr = frr;
    this.daemons.setFrr(frr);
    log.info(
      { event: 'frr_detected', version: frr.version.text, daemons: frr.daemons, configFile: [...frr.configFile] },
      `FRR ${frr.version.text}: running ${frr.daemons.join(', ')}`,
    );
    await this.paths.ensureDirs();
    // SIGKILL, like a config-change restart: with graceful restart the peers keep this gateway's routes as
    // stale until the new bgpd is up, and zebra's forwarding state stays for the new zebra (-K) to adopt.
    const leftovers = await stopLeftovers(this.paths, ALL_DAEMON_NAMES, { signal: 'SIGKILL' });
    if (leftovers.length > 0)
      log.warn(
        { event: 'leftovers_stopped', daemons: leftovers },
        `stopped FRR daemons left over from an earlier run: ${leftovers.map((l) => `${l.name}[${l.pid}]`).join(', ')}`,
      );
    await writeFileAtomic(this.paths.vtyshConf, 'service integrated-vtysh-config\n', 0o644);
    await writeFileAtomic(join(this.paths.instanceConfigDir, 'daemons'), renderDaemons(this.daemons.names), 0o644);
    if (this.opts.configDir) {
      this.watcher = new ConfigWatcher({ dir: this.opts.configDir, debounceMs: this.opts.debounceMs, resyncMs: this.opts.resyncMs });
      this.watcher.on('change', (reason, periodic) => this.requestApply(reason, periodic));
      this.watcher.on('error', (e) =>
        log.warn({ event: 'watch_error', err: e.message }, `watching ${this.opts.configDir} failed: ${e.message}`),
      );
      await this.watcher.start();
    } else if (this.opts.resyncMs > 0) {
      // --env only: nothing to watch, but the EVPN devices are still checked (and a failed apply retried) every resync.
      this.resyncTimer = setInterval(() => this.requestApply('periodic resync', true), this.opts.resyncMs);
      this.resyncTimer.unref();
    }
    await this.observer.start();
    log.info(
      {
        event: 'supervisor_started',
        pid: process.pid,
        configDir: this.opts.configDir ?? null,
        env: this.opts.env,
        pathspace: this.opts.pathspace ?? null,
        // which code runs: bin/frr-supervisor.js says (dist/ only when it matches src/); a direct start has no say
        code: (globalThis as { frrSupervisorCode?: string }).frrSupervisorCode ?? 'started without bin/frr-supervisor.js',
      },
      'frr-supervisor started',
    );
    await this.lifecycle.start();
  }

  /** The Pod is going away: the lifecycle drains and stops (see Lifecycle.shutdown). */
  shutdown(signal: string): Promise<void> {
    return this.lifecycle.shutdown(signal);
  }

  /** An apply asked for by an event (the lifecycle's promise never rejects: the applier records its own failures). */
  private requestApply(reason: string, periodic: boolean): void {
    this.lifecycle.apply(reason, { periodic }).catch(() => undefined);
  }

  /** The shutdown's last step, after the daemons stopped. */
  private async cleanup(): Promise<void> {
    await releaseZebraMountNs(this.mountHolder).catch((e: unknown) =>
      this.opts.logger.warn({ event: 'cleanup_failed', err: (e as Error).message }),
    );
    for (const name of ALL_DAEMON_NAMES) await rm(this.paths.pidFile(name), { force: true });
    await removeStaleSockets(this.paths.instanceRunDir).catch(() => undefined);
  }
}
