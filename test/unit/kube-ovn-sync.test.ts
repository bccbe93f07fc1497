// kube-ovn-sync. No Kubernetes API server can be installed on these machines (not in Debian, not on npm), so:
// - the decisions (src/kube-ovn/reconcile.ts) are pure and tested on the objects as Kube-OVN 1.16 creates them;
// - the client-node layer (src/kube-ovn/sync.ts) runs for real, the real @kubernetes/client-node over real HTTP,
//   against a local HTTPS server that answers list, watch, server-side apply and delete in the API's wire format
//   (test/fixtures/kube-api/, and lists and watch events built from test/fixtures/kube-ovn/).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { createLogger } from '../../src/log.ts';
import { parseObjects } from '../../src/kube-ovn/mapping.ts';
import type { KubeObject, KubeOvnObjects } from '../../src/kube-ovn/mapping.ts';
import { MANAGED_BY, KUBE_OVN_GATEWAY_NAME_LABEL } from '../../src/kube-ovn/names.ts';
import { planSync } from '../../src/kube-ovn/reconcile.ts';
import type { ExistingConfigMap } from '../../src/kube-ovn/reconcile.ts';
import { FakeApiServer, kubeconfigFor, selfSignedCert } from '../helpers/fake-kube-api.ts';
import { FIELD_MANAGER, KubeOvnSync, MANAGED_BY_SELECTOR, WATCHED, healthServer } from '../../src/kube-ovn/sync.ts';
import type { SyncResult } from '../../src/kube-ovn/sync.ts';
import { allowed, loadSyncRbac } from '../helpers/rbac.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/kube-ovn/${name}`, import.meta.url), 'utf8');

function objects(name: string): KubeOvnObjects {
  const objs = parseObjects(fixture(name), name, []);
  assert.ok(objs);
  return objs;
}

const cm = (namespace: string, gateway: string, name = `${gateway}-frr-supervisor`): ExistingConfigMap => ({
  namespace,
  name,
  labels: { ...MANAGED_BY, [KUBE_OVN_GATEWAY_NAME_LABEL]: gateway },
});
const refs = (objs: KubeObject[]): string[] => objs.map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`).sort();
const delRefs = (d: Array<{ kind: string; namespace: string; name: string }>): string[] =>
  d.map((r) => `${r.kind} ${r.namespace}/${r.name}`).sort();

describe('kube-ovn-sync plan (pure)', () => {
  const docs = objects('docs-objects.yaml');
  const scope = new Set(['default']);

  it('applies every BGP gateway of a namespace in scope, deletes the Secrets of password-less ones and the objects of gone gateways', async () => {
    const existing = [cm('default', 'gateway1'), cm('default', 'old-gateway'), cm('default', 'mislabelled', 'something-else')];
    const plan = await planSync(docs, existing, scope);
    assert.deepEqual(refs(plan.apply), ['ConfigMap default/gateway-bgp-only-frr-supervisor', 'ConfigMap default/gateway1-frr-supervisor']);
    assert.deepEqual(delRefs(plan.delete), [
      'ConfigMap default/old-gateway-frr-supervisor',
      'Secret default/gateway-bgp-only-frr-supervisor',
      'Secret default/gateway1-frr-supervisor',
      'Secret default/old-gateway-frr-supervisor',
    ]);
    assert.deepEqual(plan.kept, []);
    // the applied ConfigMap is owned by its gateway (garbage-collected with it even while the companion is down)
    const applied = plan.apply.find((o) => o.metadata?.name === 'gateway1-frr-supervisor');
    assert.deepEqual(applied?.metadata?.ownerReferences, [
      { apiVersion: 'kubeovn.io/v1', kind: 'VpcEgressGateway', name: 'gateway1', uid: '5d1f0b0e-7c1a-4d38-9a57-2f0c8a1b6e41' },
    ]);
  });

  it('invalid objects (the BgpConf gone): nothing applied and nothing deleted for those gateways, the problems named', async () => {
    const broken = structuredClone(docs);
    broken.bgpConfs = [];
    const plan = await planSync(broken, [cm('default', 'gateway1'), cm('default', 'gateway-bgp-only')], scope);
    assert.deepEqual(plan.apply, []);
    assert.deepEqual(plan.delete, []);
    assert.deepEqual(plan.kept.sort(), ['default/gateway-bgp-only', 'default/gateway1']);
    assert.match(
      plan.problems
        .get('default/gateway1')
        ?.map((p) => `${p.source}: ${p.path}: ${p.message}`)
        .join('\n') ?? '',
      /VpcEgressGateway default\/gateway1: spec\.bgpConf: BgpConf "bgp-conf-6502" not found/,
    );
  });

  it('a gateway that no longer has a BgpConf loses its objects; one outside --namespaces is reported, not written', async () => {
    const edited = structuredClone(docs);
    const g = edited.gateways.find((x) => x.metadata?.name === 'gateway-bgp-only');
    delete (g?.spec as Record<string, unknown>).bgpConf;
    const moved = edited.gateways.find((x) => x.metadata?.name === 'gateway1');
    if (moved?.metadata) moved.metadata.namespace = 'elsewhere';
    const plan = await planSync(edited, [cm('default', 'gateway-bgp-only')], scope);
    assert.deepEqual(plan.apply, []);
    assert.deepEqual(delRefs(plan.delete), [
      'ConfigMap default/gateway-bgp-only-frr-supervisor',
      'Secret default/gateway-bgp-only-frr-supervisor',
    ]);
    assert.match(plan.problems.get('elsewhere/gateway1')?.[0]?.message ?? '', /namespace elsewhere is not in --namespaces \(default\)/);
  });

  it('a BgpConf with a password: its Secret is applied, not deleted', async () => {
    const plan = await planSync(objects('dual-stack-objects.yaml'), [], new Set(['tenant-a']));
    assert.deepEqual(refs(plan.apply), [
      'ConfigMap tenant-a/gateway-ds-bgp-frr-supervisor',
      'ConfigMap tenant-a/gateway-ds-evpn-frr-supervisor',
      'Secret tenant-a/gateway-ds-bgp-frr-supervisor',
      'Secret tenant-a/gateway-ds-evpn-frr-supervisor',
    ]);
    assert.deepEqual(plan.delete, []);
  });
});

// ---- the client-node layer against a local HTTP server ----------------------------------------------------------

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('kube-ovn-sync over client-node (a local HTTPS server answers; no Kubernetes API server can run here)', () => {
  const docs = objects('docs-objects.yaml');
  const api = new FakeApiServer({
    'vpc-egress-gateways': structuredClone(docs.gateways),
    'bgp-confs': structuredClone(docs.bgpConfs),
    'evpn-confs': structuredClone(docs.evpnConfs),
    subnets: structuredClone(docs.subnets),
    vpcs: [],
  });
  const logLines: string[] = [];
  const logs = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  let sync: KubeOvnSync;
  const results: SyncResult[] = [];
  let dir: string;

  before(async () => {
    console.log('# no Kubernetes API server can be installed on this machine: client-node talks to a local HTTPS server');
    dir = mkdtempSync(join(tmpdir(), 'kovn-sync-'));
    // a self-signed certificate for 127.0.0.1, trusted through the kubeconfig's certificate-authority-data
    const tls = selfSignedCert(dir);
    await api.start(tls);
    // a ConfigMap of a gateway deleted while the companion was away
    api.stored.set('configmaps/default/old-gateway-frr-supervisor', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'old-gateway-frr-supervisor',
        namespace: 'default',
        labels: { ...MANAGED_BY, [KUBE_OVN_GATEWAY_NAME_LABEL]: 'old-gateway' },
      },
      data: {},
    });
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(api.url, tls.cert));
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    sync = new KubeOvnSync(kc, { namespaces: ['default'], debounceMs: 50, resyncMs: 0, retryMs: 200, logger: createLogger('debug', logs) });
    sync.onReconciled = (r) => results.push(r);
    await sync.start();
  });

  after(async () => {
    await sync.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, then watches, the five Kube-OVN resources', async () => {
    await until('a watch on every resource', () => WATCHED.every((w) => api.watching(w.plural) === 1));
    for (const { plural } of WATCHED) {
      const reqs = api.requests.filter((r) => r.path === `/apis/kubeovn.io/v1/${plural}`);
      assert.equal(reqs[0]?.query.get('watch'), null, `${plural}: a list first`);
      assert.equal(reqs[1]?.query.get('watch'), 'true', `${plural}: then a watch`);
      assert.equal(reqs[1]?.query.get('resourceVersion'), '1000', `${plural}: from the list's resourceVersion`);
    }
  });

  it("server-side applies each gateway's ConfigMap (field manager, force), prunes the gone gateway's objects", async () => {
    await until('the first reconcile', () => results.length >= 1);
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    assert.deepEqual(patches.map((p) => p.path).sort(), [
      '/api/v1/namespaces/default/configmaps/gateway-bgp-only-frr-supervisor',
      '/api/v1/namespaces/default/configmaps/gateway1-frr-supervisor',
    ]);
    for (const p of patches) {
      assert.equal(p.contentType, 'application/apply-patch+yaml');
      assert.equal(p.query.get('fieldManager'), FIELD_MANAGER);
      assert.equal(p.query.get('force'), 'true');
    }
    const applied = api.stored.get('configmaps/default/gateway1-frr-supervisor') as { data: Record<string, string> };
    assert.deepEqual((parse(applied.data['gateway.yaml'] ?? '') as { advertise: string[] }).advertise, ['10.16.0.0/16', '10.17.0.0/16']);
    const list = api.requests.find((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/default/configmaps');
    assert.equal(list?.query.get('labelSelector'), MANAGED_BY_SELECTOR);
    const deletes = api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
    assert.ok(deletes.includes('/api/v1/namespaces/default/configmaps/old-gateway-frr-supervisor'), deletes.join('\n'));
    assert.equal(api.stored.has('configmaps/default/old-gateway-frr-supervisor'), false);
    assert.deepEqual(results[0]?.failed, []);
    assert.ok(logLines.some((l) => l.includes('"event":"kube_ovn_sync_applied"') && l.includes('gateway1-frr-supervisor')));
  });

  it('a BgpConf edit (a watch event) is applied to the ConfigMaps of both gateways that use it, nothing else sent again', async () => {
    const before = api.requests.length;
    const bgp = structuredClone(docs.bgpConfs[0]);
    assert.ok(bgp);
    (bgp.spec as Record<string, unknown>).holdTime = '60s';
    (bgp.spec as Record<string, unknown>).keepaliveTime = '20s';
    api.event('bgp-confs', 'MODIFIED', bgp);
    await until('two new applies', () => api.requests.slice(before).filter((r) => r.method === 'PATCH').length >= 2);
    await new Promise((r) => setTimeout(r, 300)); // anything else would have been sent by now
    const after = api.requests.slice(before).filter((r) => r.method !== 'GET');
    assert.deepEqual(after.map((r) => `${r.method} ${r.path}`).sort(), [
      'PATCH /api/v1/namespaces/default/configmaps/gateway-bgp-only-frr-supervisor',
      'PATCH /api/v1/namespaces/default/configmaps/gateway1-frr-supervisor',
    ]);
    const applied = api.stored.get('configmaps/default/gateway1-frr-supervisor') as { data: Record<string, string> };
    assert.match(applied.data['bgp-conf.yaml'] ?? '', /holdTime: 60s/);
  });

  it('a BgpConf deleted: nothing is written or deleted, the rejection names the objects; back: applied again', async () => {
    const before = api.requests.length;
    const bgp = docs.bgpConfs[0];
    assert.ok(bgp);
    api.event('bgp-confs', 'DELETED', bgp);
    await until('the rejection is logged', () => logLines.some((l) => l.includes('"event":"kube_ovn_sync_rejected"')));
    const rejected = logLines.find((l) => l.includes('"event":"kube_ovn_sync_rejected"') && l.includes('default/gateway1')) ?? '';
    assert.match(rejected, /VpcEgressGateway default\/gateway1: spec\.bgpConf: BgpConf \\"bgp-conf-6502\\" not found/);
    assert.deepEqual(
      api.requests.slice(before).filter((r) => r.method !== 'GET'),
      [],
      'the last good ConfigMaps stay',
    );
    assert.ok(api.stored.has('configmaps/default/gateway1-frr-supervisor'));
    const mark = api.requests.length;
    api.event('bgp-confs', 'ADDED', bgp);
    await until('applied again', () => api.requests.slice(mark).filter((r) => r.method === 'PATCH').length >= 2);
    const applied = api.stored.get('configmaps/default/gateway1-frr-supervisor') as { data: Record<string, string> };
    assert.match(applied.data['bgp-conf.yaml'] ?? '', /holdTime: 90s/);
  });

  it('a gateway deleted: its ConfigMap and Secret are deleted', async () => {
    const mark = api.requests.length;
    const gw = docs.gateways.find((g) => g.metadata?.name === 'gateway-bgp-only');
    assert.ok(gw);
    api.event('vpc-egress-gateways', 'DELETED', gw);
    await until('the ConfigMap deleted', () => !api.stored.has('configmaps/default/gateway-bgp-only-frr-supervisor'));
    await until('the Secret delete sent', () =>
      api.requests
        .slice(mark)
        .some((r) => r.method === 'DELETE' && r.path === '/api/v1/namespaces/default/secrets/gateway-bgp-only-frr-supervisor'),
    );
    assert.ok(api.stored.has('configmaps/default/gateway1-frr-supervisor'), 'the other gateway keeps its ConfigMap');
  });

  it('every request it made is allowed by deploy/kube-ovn/sync-rbac.yaml, as its ServiceAccount (RBAC rule matching)', () => {
    const rbac = loadSyncRbac();
    const denied: string[] = [];
    for (const r of api.requests) {
      assert.equal(r.authorization, 'Bearer test-token', 'the kubeconfig user token is sent');
      if (r.path === '/api/v1') continue; // discovery: granted to every authenticated user (system:discovery)
      const kubeOvn = /^\/apis\/kubeovn\.io\/v1\/([a-z-]+)$/.exec(r.path);
      const core = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/(configmaps|secrets)(?:\/([a-z0-9.-]+))?$/.exec(r.path);
      const verbs =
        r.method === 'GET'
          ? [r.query.get('watch') === 'true' ? 'watch' : 'list']
          : r.method === 'PATCH'
            ? r.status === 201
              ? ['patch', 'create'] // an apply that creates needs create too
              : ['patch']
            : r.method === 'DELETE'
              ? ['delete']
              : [r.method];
      const [group, resource, namespace] = kubeOvn ? ['kubeovn.io', kubeOvn[1] ?? '', undefined] : ['', core?.[2] ?? '?', core?.[1]];
      for (const verb of verbs)
        if (!allowed(rbac, verb, group, resource, namespace))
          denied.push(`${verb} ${group}/${resource} in ${namespace ?? '(cluster)'}: ${r.method} ${r.path}`);
    }
    assert.deepEqual(denied, []);
    assert.ok(
      api.requests.some((r) => r.method === 'PATCH' && r.status === 201),
      'creating applies were made',
    );
  });

  it('--listen: /livez 200, /readyz 200 once listed and reconciled; 503 with the reason while an informer has not listed', async () => {
    const get = async (port: number, path: string): Promise<[number, string]> => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return [r.status, (await r.text()).trim()];
    };
    const listenOn = async (s: KubeOvnSync): Promise<{ port: number; close: () => void }> => {
      const srv = healthServer(s);
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      return { port: (srv.address() as AddressInfo).port, close: () => srv.close() };
    };
    const live = await listenOn(sync);
    try {
      assert.deepEqual(await get(live.port, '/livez'), [200, 'ok']);
      assert.deepEqual(await get(live.port, '/readyz'), [200, 'listed, and the last reconcile applied everything']);
      assert.equal((await get(live.port, '/nope'))[0], 404);
    } finally {
      live.close();
    }
    // a cluster that does not answer: nothing listed, not ready (and nothing planned)
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'down', server: 'https://127.0.0.1:1', skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'down', user: 'u' }],
      currentContext: 'c',
    });
    const lines: string[] = [];
    const down = new KubeOvnSync(kc, {
      namespaces: ['default'],
      debounceMs: 10,
      resyncMs: 0,
      retryMs: 60_000,
      logger: createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => void (lines.push(c.toString()), cb()) })),
    });
    await down.start();
    const h = await listenOn(down);
    try {
      const [code, why] = await get(h.port, '/readyz');
      assert.equal(code, 503);
      assert.match(why, /^not listed yet: vpc-egress-gateways, bgp-confs, evpn-confs, subnets, vpcs$/);
      assert.ok(lines.some((l) => l.includes('"event":"kube_ovn_sync_watch_error"')));
    } finally {
      h.close();
      await down.stop();
    }
  });
});
