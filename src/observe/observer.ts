/** Wires the poller to the probes, metrics, status and the state-change log lines. */
import type { Server } from 'node:http';
import type { FrrPaths } from '../frr/paths.ts';
import { VtySocket } from '../frr/vty-socket.ts';
import type { Logger } from '../log.ts';
import { Poller } from './poller.ts';
import type { FrrSnapshot, PolledDaemon } from './poller.ts';
import { Metrics } from './metrics.ts';
import { liveness, readiness } from './health.ts';
import type { Verdict } from './health.ts';
import { buildStatus } from './status.ts';
import type { StatusDoc } from './status.ts';
import { createHttpServer, parseListen } from './http.ts';
import type { ReadyWhen, SupervisorView } from './view.ts';

export interface ObserverOptions {
  view: SupervisorView;
  paths: FrrPaths;
  logger: Logger;
  listen: string;
  pollIntervalMs: number;
  vtyshTimeoutMs: number;
  readyWhen: ReadyWhen;
}

export class Observer {
  readonly poller: Poller;
  readonly metrics = new Metrics();
  private server: Server | undefined;
  private peerUp = new Map<string, boolean>();
  private vniUp = new Map<number, string>();
  private readonly sockets: Partial<Record<PolledDaemon, VtySocket>> = {};
  /**
   * /metrics is rendered on the first request after a poll or an apply changed something, then served from here
   * (encoded once) until the next change: scrapes cost a buffer write, and nobody scraping costs nothing.
   */
  private exposition: Buffer | undefined;
  private rendering: Promise<Buffer> | undefined;
  /** Bumped by every invalidation: a render that overlapped one is served once but not kept. */
  private version = 0;

  constructor(private readonly opts: ObserverOptions) {
    const query = (daemon: PolledDaemon, command: string, timeoutMs: number): Promise<string> => {
      this.sockets[daemon] ??= new VtySocket(opts.paths.vtySocket(daemon), timeoutMs, daemon === 'bfdd');
      return this.sockets[daemon].query(command, timeoutMs);
    };
    this.poller = new Poller({
      query,
      intervalMs: opts.pollIntervalMs,
      timeoutMs: opts.vtyshTimeoutMs,
      evpn: () => opts.view.evpn(),
      isRunning: (daemon) => opts.view.daemonStatus().some((d) => d.name === daemon && d.running),
    });
    this.poller.on('poll', (snap) => {
      this.onPoll(snap);
      this.invalidateMetrics();
    });
    this.poller.on('commandError', (command, kind, message) => {
      this.metrics.pollErrors.inc({ command });
      if (kind === 'timeout')
        opts.logger.warn(
          { event: 'vtysh_timeout', command, consecutiveFailures: this.poller.consecutiveFailures + 1 },
          `FRR did not answer "${command}" in time; the connection was dropped`,
        );
      else opts.logger.debug({ event: 'vtysh_error', command, err: message });
    });
  }

  livez(): Verdict {
    return liveness(this.opts.view, this.poller.consecutiveFailures);
  }

  readyz(): Verdict {
    return readiness(this.opts.view, this.poller.last, this.opts.readyWhen);
  }

  status(): StatusDoc {
    return buildStatus(this.opts.view, this.poller.last, this.livez(), this.readyz());
  }

  async start(): Promise<void> {
    const { host, port } = parseListen(this.opts.listen);
    const server = createHttpServer({
      livez: () => this.livez(),
      readyz: () => this.readyz(),
      status: () => this.status(),
      metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metricsBody() }),
      onError: (err, path) => this.opts.logger.error({ event: 'http_error', path, err: err.message }, `${path}: ${err.message}`),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.opts.logger.info(
      { event: 'http_listening', listen: this.opts.listen },
      `serving /livez /readyz /status /metrics on ${this.opts.listen}`,
    );
    this.poller.start();
  }

  /** What /metrics serves: the cached exposition, rendered first if something changed since. */
  metricsBody(): Promise<Buffer> {
    return this.exposition ? Promise.resolve(this.exposition) : this.renderMetrics();
  }

  /** Something /metrics shows has changed (a poll, an apply, a daemon restart): the next request renders afresh. */
  invalidateMetrics(): void {
    this.exposition = undefined;
    this.version++;
  }

  /** Refreshes the gauges and renders the exposition that /metrics serves until the next invalidation. */
  private renderMetrics(): Promise<Buffer> {
    this.rendering ??= (async () => {
      try {
        const version = this.version;
        this.metrics.update(this.opts.view, this.poller.last, this.readyz().ok);
        const body = Buffer.from(await this.metrics.exposition());
        if (version === this.version) this.exposition = body;
        return body;
      } finally {
        this.rendering = undefined;
      }
    })();
    return this.rendering;
  }

  async stop(): Promise<void> {
    this.poller.stop();
    this.sockets.bgpd?.close();
    this.sockets.zebra?.close();
    this.sockets.bfdd?.close();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onPoll(snap: FrrSnapshot): void {
    const log = this.opts.logger;
    this.metrics.pollDuration.observe(snap.durationMs / 1000);
    // Neighbour up/down, per peer (any address family), with FRR's reason.
    const configured = new Set(this.opts.view.neighbours());
    const now = new Map<string, { up: boolean; state: string }>();
    for (const p of snap.peers) {
      const prev = now.get(p.peer);
      now.set(p.peer, { up: (prev?.up ?? false) || p.established, state: p.established ? 'Established' : (prev?.state ?? p.state) });
    }
    if (Object.keys(snap.errors).some((c) => c.startsWith('show bgp'))) return; // no verdict from a failed poll
    for (const [peer, { up, state }] of now) {
      const before = this.peerUp.get(peer);
      if (before === up) continue;
      this.peerUp.set(peer, up);
      if (before === undefined && !up) continue;
      const reason = snap.neighbors.find((n) => n.peer === peer)?.lastResetReason ?? null;
      if (up) log.info({ event: 'neighbour_up', peer }, `neighbour ${peer} Established`);
      else log.warn({ event: 'neighbour_down', peer, state, reason }, `neighbour ${peer} down (${state}${reason ? `: ${reason}` : ''})`);
    }
    for (const peer of [...this.peerUp.keys()]) if (!now.has(peer) && !configured.has(peer)) this.peerUp.delete(peer);
    const vrfState = new Map(snap.vrfVnis.map((v) => [v.vni, v.state]));
    const seen = new Set<number>();
    for (const v of snap.vnis) {
      seen.add(v.vni);
      const state = v.type === 'L3' ? (vrfState.get(v.vni) ?? 'Unknown') : 'Up';
      if (this.vniUp.get(v.vni) !== state) {
        this.vniUp.set(v.vni, state);
        log.info(
          { event: state === 'Up' ? 'vni_up' : 'vni_down', vni: v.vni, type: v.type, vrf: v.vrf, state },
          `EVPN VNI ${v.vni} (${v.type}) ${state}`,
        );
      }
    }
    for (const [vni] of this.vniUp) {
      if (!seen.has(vni) && !snap.errors['show evpn vni json']) {
        this.vniUp.delete(vni);
        log.info({ event: 'vni_down', vni, state: 'gone' }, `EVPN VNI ${vni} gone`);
      }
    }
  }
}
