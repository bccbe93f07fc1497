/**
 * kube-ovn-sync: a thin layer over @kubernetes/client-node that carries out src/kube-ovn/reconcile.ts's plan.
 * - list/watch (client-node informers) of VpcEgressGateways, BgpConfs, EvpnConfs, Subnets and Vpcs; any event
 *   schedules one reconcile (debounced), and every --resync reconciles anyway (repairs edits by hand);
 * - nothing is planned before every informer has listed once: an empty cache must never read as "every gateway
 *   is gone" and prune;
 * - server-side apply (field manager FIELD_MANAGER, force) of the ConfigMaps and Secrets; deletes of the pruned ones
 *   (a 404 is success). An object whose content did not change since its last apply is not sent again until the next
 *   resync.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { ApiException, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, makeInformer } from '@kubernetes/client-node';
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { formatProblem, hasErrors } from '../config/problems.ts';
import type { KubeObject, KubeOvnObjects } from './mapping.ts';
import { MANAGED_BY } from './names.ts';
import { planSync } from './reconcile.ts';
import type { ExistingConfigMap, ObjectRef, SyncPlan } from './reconcile.ts';

/** The field manager of the companion's server-side applies (`kubectl get cm -o yaml --show-managed-fields`). */
export const FIELD_MANAGER = 'frr-supervisor-kube-ovn-sync';
export const MANAGED_BY_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

/** The Kube-OVN resources watched (group kubeovn.io, version v1), by the slot of KubeOvnObjects they fill. */
export const WATCHED = [
  { slot: 'gateways', plural: 'vpc-egress-gateways' },
  { slot: 'bgpConfs', plural: 'bgp-confs' },
  { slot: 'evpnConfs', plural: 'evpn-confs' },
  { slot: 'subnets', plural: 'subnets' },
  { slot: 'vpcs', plural: 'vpcs' },
] as const satisfies ReadonlyArray<{ slot: keyof KubeOvnObjects; plural: string }>;

export interface SyncOptions {
  namespaces: readonly string[];
  debounceMs: number;
  resyncMs: number;
  /** Wait before restarting an informer after a list or watch error. */
  retryMs: number;
  logger: Logger;
}

export interface SyncResult {
  plan: SyncPlan;
  applied: string[];
  deleted: string[];
  failed: string[];
}

/** Errors of informer restarts surface through their 'error' callback, kick() logs its own: nothing left to handle. */
const ignore = (): void => undefined;
const refText = (r: ObjectRef): string => `${r.kind} ${r.namespace}/${r.name}`;
const objRef = (o: KubeObject): ObjectRef => ({
  kind: o.kind as ObjectRef['kind'],
  namespace: String(o.metadata?.namespace),
  name: String(o.metadata?.name),
});
const isNotFound = (e: unknown): boolean => e instanceof ApiException && e.code === 404;
const errorText = (e: unknown): string =>
  e instanceof ApiException
    ? `HTTP ${e.code}: ${typeof e.body === 'string' ? e.body.slice(0, 300) : JSON.stringify(e.body).slice(0, 300)}`
    : String((e as Error)?.message ?? e);

export class KubeOvnSync {
  private readonly informers: Array<{
    plural: string;
    slot: keyof KubeOvnObjects;
    informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
    synced: boolean;
  }> = [];
  private readonly objectsApi: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly namespaces: Set<string>;
  /** Hash of what was last applied (or `deleted`) per object, so unchanged objects are not sent again. */
  private sent = new Map<string, string>();
  private lastProblems = new Map<string, string>();
  private debounce: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Called after every reconcile (tests). */
  onReconciled: ((r: SyncResult) => void) | undefined;
  /** The last reconcile's outcome, for /readyz. */
  private last: { at: number; failed: string[] } | undefined;

  constructor(
    kc: KubeConfig,
    private readonly opts: SyncOptions,
  ) {
    this.objectsApi = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespaces = new Set(opts.namespaces);
    const custom = kc.makeApiClient(CustomObjectsApi);
    for (const { slot, plural } of WATCHED) {
      const entry = { plural, slot, synced: false } as (typeof this.informers)[number];
      const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
        const res = (await custom.listClusterCustomObject({
          group: 'kubeovn.io',
          version: 'v1',
          plural,
        })) as KubernetesListObject<KubernetesObject>;
        entry.synced = true;
        return res;
      };
      entry.informer = makeInformer(kc, `/apis/kubeovn.io/v1/${plural}`, list);
      entry.informer.on('change', () => this.schedule());
      entry.informer.on('error', (err: unknown) => {
        opts.logger.warn(
          { event: 'kube_ovn_sync_watch_error', resource: plural, error: errorText(err) },
          `list/watch of ${plural} failed; retrying`,
        );
        setTimeout(() => {
          if (!this.stopped) entry.informer.start().then(() => this.schedule(), ignore);
        }, opts.retryMs).unref();
      });
      this.informers.push(entry);
    }
  }

  /** Starts the informers (each lists, then watches); the first reconcile runs once all have listed. */
  async start(): Promise<void> {
    this.opts.logger.info(
      { event: 'kube_ovn_sync_started', namespaces: [...this.namespaces], fieldManager: FIELD_MANAGER },
      'kube-ovn-sync: watching VpcEgressGateways, BgpConfs, EvpnConfs, Subnets, Vpcs',
    );
    await Promise.all(this.informers.map((i) => i.informer.start()));
    this.schedule();
    const tick = (): void => {
      this.resync = setTimeout(() => {
        this.sent.clear(); // a resync applies everything again: repairs edits by hand
        this.schedule(0);
        tick();
      }, this.opts.resyncMs);
    };
    if (this.opts.resyncMs > 0) tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearTimeout(this.resync);
    await Promise.all(this.informers.map((i) => i.informer.stop()));
    await this.running;
  }

  /** Ready: every informer has listed, and the last reconcile wrote everything it meant to. */
  readiness(): { ready: boolean; why: string } {
    const waiting = this.informers.filter((i) => !i.synced).map((i) => i.plural);
    if (waiting.length > 0) return { ready: false, why: `not listed yet: ${waiting.join(', ')}` };
    if (!this.last) return { ready: false, why: 'no reconcile yet' };
    if (this.last.failed.length > 0) return { ready: false, why: `the last reconcile failed for: ${this.last.failed.join(', ')}` };
    return { ready: true, why: 'listed, and the last reconcile applied everything' };
  }

  get synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  private schedule(delay = this.opts.debounceMs): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.kick().catch(ignore);
    }, delay);
  }

  private async kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const r = await this.reconcile();
          if (r) {
            this.last = { at: Date.now(), failed: r.failed };
            this.onReconciled?.(r);
          }
        } catch (e) {
          this.last = { at: Date.now(), failed: [`reconcile: ${errorText(e)}`] };
          this.opts.logger.error(
            { event: 'kube_ovn_sync_error', error: errorText(e) },
            'reconcile failed; retrying at the next event or resync',
          );
        }
      } while (this.again && !this.stopped);
    })();
    await this.running;
    this.running = undefined;
  }

  /** One reconcile; undefined while an informer has not listed yet. */
  async reconcile(): Promise<SyncResult | undefined> {
    if (!this.synced) return undefined;
    const objects: KubeOvnObjects = { gateways: [], bgpConfs: [], evpnConfs: [], subnets: [], vpcs: [] };
    for (const i of this.informers) objects[i.slot] = i.informer.list() as KubeObject[];
    const existing: ExistingConfigMap[] = [];
    for (const namespace of this.namespaces) {
      const list = await this.core.listNamespacedConfigMap({ namespace, labelSelector: MANAGED_BY_SELECTOR });
      for (const cm of list.items) existing.push({ namespace, name: cm.metadata?.name ?? '', labels: cm.metadata?.labels ?? {} });
    }
    const plan = await planSync(objects, existing, this.namespaces);
    this.report(plan);
    const result: SyncResult = { plan, applied: [], deleted: [], failed: [] };
    for (const obj of plan.apply) {
      const ref = refText(objRef(obj));
      const hash = createHash('sha256').update(JSON.stringify(obj)).digest('hex');
      if (this.sent.get(ref) === hash) continue;
      try {
        await this.objectsApi.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
        this.sent.set(ref, hash);
        result.applied.push(ref);
        this.opts.logger.info({ event: 'kube_ovn_sync_applied', object: ref }, `applied ${ref}`);
      } catch (e) {
        result.failed.push(ref);
        this.opts.logger.error({ event: 'kube_ovn_sync_error', object: ref, error: errorText(e) }, `apply of ${ref} failed`);
      }
    }
    for (const r of plan.delete) {
      const ref = refText(r);
      if (!r.prune && this.sent.get(ref) === 'deleted') continue; // a password-less gateway's Secret, already gone
      try {
        await this.objectsApi.delete({ apiVersion: 'v1', kind: r.kind, metadata: { name: r.name, namespace: r.namespace } });
        result.deleted.push(ref);
        this.opts.logger.info({ event: 'kube_ovn_sync_deleted', object: ref }, `deleted ${ref}`);
      } catch (e) {
        if (!isNotFound(e)) {
          result.failed.push(ref);
          this.opts.logger.error({ event: 'kube_ovn_sync_error', object: ref, error: errorText(e) }, `delete of ${ref} failed`);
          continue;
        }
      }
      this.sent.set(ref, 'deleted');
    }
    return result;
  }

  /** Logs each gateway's problems when they change (not at every reconcile). */
  private report(plan: SyncPlan): void {
    const now = new Map<string, string>();
    for (const [gateway, problems] of plan.problems) {
      const lines = problems.map(formatProblem);
      const text = lines.join('\n');
      now.set(gateway, text);
      if (this.lastProblems.get(gateway) === text) continue;
      const kept = hasErrors(problems); // its objects are not written: left as they are
      this.opts.logger[kept ? 'error' : 'warn'](
        { event: kept ? 'kube_ovn_sync_rejected' : 'kube_ovn_sync_warning', gateway, problems: lines },
        kept ? `${gateway}: invalid objects; its ConfigMap and Secret are left as they are` : `${gateway}: warnings`,
      );
    }
    this.lastProblems = now;
  }
}

/**
 * `--listen`: /livez (200 while the process serves) and /readyz (200 when {@link KubeOvnSync.readiness} is ready, else
 * 503), one line of text each, for the companion container's probes. GET and HEAD only.
 */
export function healthServer(sync: KubeOvnSync): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    if (path === '/livez') return send(200, 'ok');
    if (path === '/readyz') {
      const r = sync.readiness();
      return send(r.ready ? 200 : 503, r.why);
    }
    send(404, 'not found');
  });
}
