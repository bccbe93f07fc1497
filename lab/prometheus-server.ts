/**
 * A real Prometheus server (Debian's 2.42) inside a lab namespace, where the supervisor's HTTP endpoint is: it
 * scrapes the given targets and evaluates the given rules, its data dir is a fresh temp dir removed at stop, and
 * it is stopped by its own pid (`ip netns exec` execs it, so the child's pid is Prometheus'). Its HTTP API is
 * reached through an NsHttp bridge (a unix socket in the lab's temp dir).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { stringify } from 'yaml';
import { FRR_EXPORTER, PROMETHEUS } from '../test/helpers/prometheus.ts';
import type { Lab } from './lab.ts';
import { waitFor } from './lab.ts';
import { NsHttp } from './fault-kit.ts';

const live = new Set<LabPrometheus>();
process.on('exit', () => {
  for (const p of live) p.killSync();
});

export interface PrometheusTarget {
  /** host:port as seen from inside the namespace. */
  address: string;
  /** Target labels (what the PodMonitor's relabelling and the Operator add: namespace, pod, gateway). */
  labels: Record<string, string>;
}

export interface LabPrometheusOptions {
  /** Namespace to run in (default: the lab's gateway namespace). */
  ns?: string;
  jobName: string;
  targets: PrometheusTarget[];
  /** A Prometheus rules file. */
  rules: string;
  /** Scrape and evaluation interval (default 1s). */
  interval?: string;
  /** Listen port inside the namespace (default 9090). */
  port?: number;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

export class LabPrometheus {
  private constructor(
    private readonly child: ResultPromise,
    readonly dir: string,
    private readonly api: NsHttp,
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(lab: Lab, opts: LabPrometheusOptions): Promise<LabPrometheus> {
    const dir = mkdtempSync(join(lab.tmpDir, 'prometheus-'));
    const interval = opts.interval ?? '1s';
    const port = opts.port ?? 9090;
    writeFileSync(join(dir, 'rules.yaml'), opts.rules);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
        rule_files: [join(dir, 'rules.yaml')],
        scrape_configs: [{ job_name: opts.jobName, static_configs: opts.targets.map((t) => ({ targets: [t.address], labels: t.labels })) }],
      }),
    );
    const logFile = join(dir, 'prometheus.log');
    const child = execa(
      'ip',
      [
        'netns',
        'exec',
        opts.ns ?? lab.gwNs,
        PROMETHEUS,
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { reject: false, cleanup: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: logFile } },
    );
    const api = await NsHttp.start(lab, port);
    const prom = new LabPrometheus(child, dir, api, logFile);
    live.add(prom);
    try {
      await waitFor(async () => (await api.get('/-/ready', 1000)).status === 200, {
        timeoutMs: 20_000,
        intervalMs: 200,
        what: 'Prometheus /-/ready',
      });
    } catch (err) {
      await prom.stop();
      throw err;
    }
    return prom;
  }

  private async call<T>(path: string): Promise<T> {
    const r = await this.api.get(path, 5000);
    const doc = JSON.parse(r.body) as ApiAnswer<T>;
    if (doc.status !== 'success')
      throw new Error(`Prometheus ${path.split('?')[0]}: ${doc.errorType ?? ''} ${doc.error ?? r.body.slice(0, 300)}`);
    return doc.data;
  }

  /** An instant query (throws on a query error, so a broken expression fails the caller). */
  async query(expr: string): Promise<PromSample[]> {
    const data = await this.call<{ resultType: string; result: PromSample[] | [number, string] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as PromSample[];
  }

  /** The values of label `name` among the series matching `match` (Grafana's label_values()). */
  labelValues(name: string, match: string): Promise<string[]> {
    return this.call<string[]>(`/api/v1/label/${encodeURIComponent(name)}/values?match[]=${encodeURIComponent(match)}`);
  }

  /** Pending and firing alerts. */
  async alerts(): Promise<PromAlert[]> {
    return (await this.call<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
  }

  /** The loaded alerting rules: name, duration (`for`, s) and query. */
  async rules(): Promise<Array<{ name: string; duration: number; query: string; health: string }>> {
    const data = await this.call<{
      groups: Array<{ rules: Array<{ type: string; name: string; duration: number; query: string; health: string }> }>;
    }>('/api/v1/rules?type=alert');
    return data.groups.flatMap((g) => g.rules);
  }

  /** The scrape targets' health. */
  async targets(): Promise<Array<{ health: string; lastError: string; labels: Record<string, string> }>> {
    return (
      await this.call<{ activeTargets: Array<{ health: string; lastError: string; labels: Record<string, string> }> }>('/api/v1/targets')
    ).activeTargets;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.child;
      clearTimeout(timer);
    }
    live.delete(this);
    await this.api.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  killSync(): void {
    try {
      if (this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    this.api.killSync();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Debian's prometheus-frr-exporter in a lab namespace, reading the FRR instance whose vty sockets are in socketDir. */
export class LabFrrExporter {
  private constructor(
    private readonly child: ResultPromise,
    readonly http: NsHttp,
  ) {}

  static async start(lab: Lab, socketDir: string, opts: { port?: number; logFile: string }): Promise<LabFrrExporter> {
    const port = opts.port ?? 9342;
    const child = execa(
      'ip',
      [
        'netns',
        'exec',
        lab.gwNs,
        FRR_EXPORTER,
        `--frr.socket.dir-path=${socketDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // the daemons that do not run here are not queried; bgp (IPv4 unicast) is on by default, bgpl2vpn is not
        '--no-collector.ospf',
        '--no-collector.bfd',
        '--collector.bgpl2vpn',
        '--log.level=warn',
      ],
      { reject: false, cleanup: false, stdin: 'ignore', stdout: 'ignore', stderr: { file: opts.logFile } },
    );
    const http = await NsHttp.start(lab, port);
    const exporter = new LabFrrExporter(child, http);
    liveExporters.add(exporter);
    try {
      await waitFor(async () => (await http.get('/metrics', 5000)).status === 200, {
        timeoutMs: 15_000,
        intervalMs: 200,
        what: 'prometheus-frr-exporter /metrics',
      });
    } catch (err) {
      await exporter.stop();
      throw err;
    }
    return exporter;
  }

  async metrics(): Promise<string> {
    return (await this.http.get('/metrics', 10_000)).body;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.child;
      clearTimeout(timer);
    }
    liveExporters.delete(this);
    await this.http.stop().catch(() => undefined);
  }

  killSync(): void {
    try {
      if (this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    this.http.killSync();
  }
}

const liveExporters = new Set<LabFrrExporter>();
process.on('exit', () => {
  for (const e of liveExporters) e.killSync();
});
