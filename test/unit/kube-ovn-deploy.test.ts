/**
 * deploy/kube-ovn/: every manifest validated strictly against the Kubernetes API schemas (cert-manager's CRD schemas
 * for Issuer and Certificate), also the copies webhook-certs.sh writes (no cert-manager); and checked against the
 * code: the webhook's selector selects the Pod as Kube-OVN 1.16 creates it (and not others), its Service, port and
 * path lead to the webhook container's --listen and MUTATE_PATH, the container's flags parse, the certificate names
 * the Service and lands in the Secret the container mounts. Each check also runs on a broken copy, to show it fails.
 * No Kubernetes API server can be installed here: nothing is applied to a cluster.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { WEBHOOK_FLAGS } from '../../src/cli/webhook-cmd.ts';
import { parseFlags } from '../../src/cli/usage.ts';
import { parseListen } from '../../src/observe/http.ts';
import { MUTATE_PATH, HEALTH_PATH } from '../../src/kube-ovn/webhook.ts';
import { kubeOvnGatewayPod } from '../fixtures/kube-ovn-gateway-pod.ts';
import { validateManifest } from '../helpers/k8s-schemas.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(REPO, 'deploy/kube-ovn');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function load(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      return d.toJS() as unknown;
    })
    .filter(isObj);
}

const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const docs = files.flatMap((f) => load(join(DIR, f)).map((doc) => ({ file: f, doc })));
const one = (kind: string, list = docs.map((d) => d.doc)): Obj => {
  const d = list.find((x) => x.kind === kind);
  assert.ok(d, `deploy/kube-ovn has a ${kind}`);
  return d;
};

/** Kubernetes label selector semantics (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist). */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(obj(selector.matchLabels))) if (labels[k] !== v) return false;
  for (const e of arr(selector.matchExpressions).map(obj)) {
    const key = String(e.key);
    const values = arr(e.values).map(String);
    const has = key in labels;
    if (e.operator === 'In' && !(has && values.includes(labels[key] ?? ''))) return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[key] ?? '')) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Every check of the companion's manifests against each other and the code: the problems found. */
function checkCompanion(all: Obj[]): string[] {
  const problems: string[] = [];
  const p = (m: string): void => void problems.push(m);
  const mwc = all.find((d) => d.kind === 'MutatingWebhookConfiguration');
  const dep = all.find((d) => d.kind === 'Deployment');
  const svc = all.find((d) => d.kind === 'Service');
  if (!mwc || !dep || !svc) return ['a MutatingWebhookConfiguration, a Deployment and a Service are needed'];
  const hooks = arr(mwc.webhooks).map(obj);
  if (hooks.length !== 1) p(`one webhook expected, got ${hooks.length}`);
  const hook = hooks[0] ?? {};
  if (hook.failurePolicy !== 'Ignore') p(`failurePolicy ${String(hook.failurePolicy)}: a webhook outage must not block a gateway (Ignore)`);
  if (hook.sideEffects !== 'None') p('sideEffects must be None');
  if (!arr(hook.admissionReviewVersions).includes('v1')) p('admissionReviewVersions must include v1 (the only version it answers)');
  const timeout = Number(hook.timeoutSeconds ?? 10);
  if (timeout > 10) p(`timeoutSeconds ${timeout}: keep it small`);
  if (hook.reinvocationPolicy !== 'IfNeeded') p('reinvocationPolicy IfNeeded: the mutation is idempotent and must survive later webhooks');
  const rules = arr(hook.rules).map(obj);
  for (const r of rules) {
    if (JSON.stringify(r.resources) !== '["pods"]' || JSON.stringify(r.apiGroups) !== '[""]') p('rules: only core pods');
    if (JSON.stringify(r.operations) !== '["CREATE"]') p('rules: only CREATE');
  }
  const selector = obj(hook.objectSelector);
  for (const variant of [{}, { evpn: true }, { bfd: true }])
    if (!selects(selector, kubeOvnGatewayPod(variant).metadata?.labels ?? {}))
      p(`objectSelector misses the Kube-OVN gateway Pod ${JSON.stringify(variant)}`);
  for (const labels of <Array<Record<string, string>>>[
    { app: 'web' },
    { app: 'vpc-egress-gateway' },
    { 'ovn.kubernetes.io/vpc-egress-gateway': 'gw' },
    {},
  ])
    if (selects(selector, labels)) p(`objectSelector selects a Pod that is no gateway's: ${JSON.stringify(labels)}`);
  // The path from the API server to the webhook container.
  const ref = obj(obj(hook.clientConfig).service);
  if (ref.path !== MUTATE_PATH) p(`clientConfig path ${String(ref.path)}, the webhook serves ${MUTATE_PATH}`);
  const svcMeta = obj(svc.metadata);
  if (ref.name !== svcMeta.name || ref.namespace !== svcMeta.namespace)
    p(`clientConfig service ${String(ref.namespace)}/${String(ref.name)} is not the Service`);
  const refPort = typeof ref.port === 'number' ? ref.port : 443;
  const svcPort = arr(obj(svc.spec).ports)
    .map(obj)
    .find((sp) => sp.port === refPort);
  if (!svcPort) p(`the Service has no port ${refPort}`);
  const podSpec = obj(obj(obj(dep.spec).template).spec);
  const podLabels = obj(obj(obj(obj(dep.spec).template).metadata).labels) as Record<string, string>;
  if (!selects({ matchLabels: obj(svc.spec).selector }, podLabels)) p("the Service's selector misses the companion's Pods");
  if (obj(dep.metadata).namespace !== svcMeta.namespace) p('the Deployment and the Service are in different namespaces');
  const containers = arr(podSpec.containers).map(obj);
  const web = containers.find((c) => arr(c.args)[0] === 'webhook');
  if (!web) return [...problems, 'no container runs `frr-supervisor webhook`'];
  const args = arr(web.args).map(String).slice(1);
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseFlags(args, WEBHOOK_FLAGS, {});
  } catch (e) {
    return [...problems, `webhook args: ${(e as Error).message}`];
  }
  const { port } = parseListen(String(flags.listen));
  const cport = arr(web.ports)
    .map(obj)
    .find((cp) => cp.containerPort === port);
  if (!cport) p(`the webhook container has no containerPort ${port} (its --listen)`);
  else if (svcPort && svcPort.targetPort !== cport.name && svcPort.targetPort !== port)
    p(`the Service's targetPort ${String(svcPort.targetPort)} is not the webhook's port`);
  for (const probe of ['readinessProbe', 'livenessProbe']) {
    const http = obj(obj(web[probe]).httpGet);
    if (http.path !== HEALTH_PATH || http.scheme !== 'HTTPS') p(`${probe}: GET ${HEALTH_PATH} over HTTPS`);
  }
  if (flags['supervisor-image'] !== web.image)
    p(`--supervisor-image ${String(flags['supervisor-image'])} differs from the companion's image ${String(web.image)}`);
  const image = String(web.image);
  if (!image.endsWith(`:${pkg.version}`) || !image.split(':')[0]?.endsWith(pkg.name))
    p(`the image is not ${pkg.name}:${pkg.version}: ${image}`);
  // TLS: the files come from the Secret the certificate is written to.
  const mounts = arr(web.volumeMounts).map(obj);
  const certDir = String(flags['tls-cert']).replace(/\/[^/]+$/, '');
  const mount = mounts.find((m) => m.mountPath === certDir);
  if (!mount || String(flags['tls-key']).replace(/\/[^/]+$/, '') !== certDir) p('--tls-cert and --tls-key are not in one mounted volume');
  const secretName = obj(
    arr(podSpec.volumes)
      .map(obj)
      .find((v) => v.name === mount?.name)?.secret,
  ).secretName;
  const cert = all.find((d) => d.kind === 'Certificate');
  const secret = all.find((d) => d.kind === 'Secret');
  if (!cert && !secret) p('no Certificate (cert-manager) and no Secret');
  if (cert) {
    const spec = obj(cert.spec);
    if (spec.secretName !== secretName) p(`the Certificate writes ${String(spec.secretName)}, the webhook mounts ${String(secretName)}`);
    const dns = `${String(ref.name)}.${String(ref.namespace)}.svc`;
    if (!arr(spec.dnsNames).includes(dns)) p(`the Certificate does not name ${dns}`);
    const inject = obj(obj(mwc.metadata).annotations)['cert-manager.io/inject-ca-from'];
    if (inject !== `${String(obj(cert.metadata).namespace)}/${String(obj(cert.metadata).name)}`)
      p(`inject-ca-from ${String(inject)} is not the Certificate`);
    const issuer = obj(spec.issuerRef);
    if (!all.some((d) => d.kind === (issuer.kind ?? 'Issuer') && obj(d.metadata).name === issuer.name))
      p(`issuerRef ${String(issuer.name)} is not defined`);
  }
  if (secret) {
    if (obj(secret.metadata).name !== secretName)
      p(`the Secret ${String(obj(secret.metadata).name)} is not the one mounted (${String(secretName)})`);
    if (!obj(obj(hook.clientConfig)).caBundle) p('without cert-manager the webhook needs a caBundle');
  }
  return problems;
}

describe('deploy/kube-ovn: the companion manifests', () => {
  it('are all valid against the Kubernetes API schemas (strict; cert-manager CRD schemas for its kinds)', () => {
    assert.ok(files.includes('companion.yaml') && files.includes('webhook.yaml') && files.includes('certificates.yaml'), files.join(', '));
    for (const { file, doc } of docs) {
      const r = validateManifest(doc);
      assert.deepEqual(r.errors, [], `${file} ${String(doc.kind)} ${String(obj(doc.metadata).name)}`);
    }
  });

  it('agree with each other and with the code (cert-manager variant)', () => {
    assert.deepEqual(checkCompanion(docs.filter((d) => d.file !== 'sync-rbac.yaml').map((d) => d.doc)), []);
  });

  it('each check fails on a broken copy', () => {
    const base = docs.map((d) => d.doc);
    const broken = (edit: (all: Obj[]) => void): string[] => {
      const copy = structuredClone(base);
      edit(copy);
      return checkCompanion(copy);
    };
    const hook = (all: Obj[]): Obj => obj(arr(one('MutatingWebhookConfiguration', all).webhooks)[0]);
    const web = (all: Obj[]): Obj =>
      obj(
        arr(obj(obj(obj(one('Deployment', all).spec).template).spec).containers)
          .map(obj)
          .find((c) => arr(c.args)[0] === 'webhook'),
      );
    const cases: Array<[string, (all: Obj[]) => void, RegExp]> = [
      ['failurePolicy Fail', (a) => void (hook(a).failurePolicy = 'Fail'), /failurePolicy Fail/],
      [
        'a selector without the gateway-name label',
        (a) => void (obj(hook(a).objectSelector).matchExpressions = [{ key: 'app', operator: 'In', values: ['vpc-egress-gateway'] }]),
        /selects a Pod that is no gateway's/,
      ],
      [
        'a selector on another label',
        (a) => void (hook(a).objectSelector = { matchLabels: { app: 'gateway' } }),
        /misses the Kube-OVN gateway Pod/,
      ],
      ['another path', (a) => void (obj(obj(hook(a).clientConfig).service).path = '/mutate'), /clientConfig path/],
      [
        'another listen port',
        (a) => void (web(a).args = arr(web(a).args).map((x) => (x === '0.0.0.0:8443' ? '0.0.0.0:9443' : x))),
        /no containerPort 9443/,
      ],
      ['an unknown flag', (a) => void (web(a).args = [...arr(web(a).args), '--tls-ca', 'x']), /webhook args: .*tls-ca/],
      [
        'another supervisor image',
        (a) => void (web(a).args = arr(web(a).args).map((x) => (x === web(a).image ? 'other:1' : x))),
        /--supervisor-image other:1/,
      ],
      [
        'a certificate for another Secret',
        (a) => void (obj(one('Certificate', a).spec).secretName = 'other'),
        /the Certificate writes other/,
      ],
      ['a certificate for another name', (a) => void (obj(one('Certificate', a).spec).dnsNames = ['x.svc']), /does not name/],
    ];
    for (const [what, edit, expect] of cases) assert.match(broken(edit).join('\n'), expect, what);
  });

  describe('without cert-manager: webhook-certs.sh', () => {
    const out = mkdtempSync(join(tmpdir(), `fskd-${process.pid}-`));
    after(() => rmSync(out, { recursive: true, force: true }));

    it('writes a Secret and a webhook configuration with the caBundle that are valid and agree with the rest', async () => {
      await execa('bash', [join(DIR, 'webhook-certs.sh'), out]);
      const secret = load(join(out, 'secret.yaml'));
      const mwc = load(join(out, 'webhook.yaml'));
      for (const d of [...secret, ...mwc]) assert.deepEqual(validateManifest(d).errors, [], String(d.kind));
      const ca = readFileSync(join(out, 'ca.crt'));
      const hook = obj(arr(one('MutatingWebhookConfiguration', mwc).webhooks)[0]);
      assert.equal(Buffer.from(String(obj(hook.clientConfig).caBundle), 'base64').toString(), ca.toString());
      assert.equal(obj(one('MutatingWebhookConfiguration', mwc).metadata).annotations, undefined, 'no cert-manager annotation');
      // Everything else as in webhook.yaml.
      const orig = structuredClone(one('MutatingWebhookConfiguration'));
      delete obj(orig.metadata).annotations;
      const copy = structuredClone(one('MutatingWebhookConfiguration', mwc));
      delete obj(obj(arr(copy.webhooks)[0]).clientConfig).caBundle;
      assert.deepEqual(copy, orig);
      const withoutCertManager = [...docs.filter((d) => d.file === 'companion.yaml').map((d) => d.doc), ...secret, ...mwc];
      assert.deepEqual(checkCompanion(withoutCertManager), []);
      const data = obj(one('Secret', secret).data);
      assert.equal(Buffer.from(String(data['tls.crt']), 'base64').toString(), readFileSync(join(out, 'tls.crt'), 'utf8'));
      // The certificate is for the Service name, signed by the CA (openssl verify).
      const v = await execa('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')]);
      assert.match(v.stdout, /OK$/);
      const san = await execa('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-ext', 'subjectAltName']);
      assert.match(san.stdout, /DNS:frr-supervisor-kube-ovn\.kube-system\.svc\b/);
      assert.equal(readdirSync(out).includes('ca.key'), false, 'the CA key is not left behind');
    });
  });

  it('deploy/reference-gateway.yaml cannot collide with what Kube-OVN owns: not selected by its Deployment nor by the webhook', () => {
    const ref = load(join(REPO, 'deploy/reference-gateway.yaml'));
    const dep = one('Deployment', ref);
    const podLabels = obj(obj(obj(obj(dep.spec).template).metadata).labels) as Record<string, string>;
    const kubeOvnPod = kubeOvnGatewayPod();
    // Kube-OVN's Deployment for gateway1 selects vegWorkloadLabels('gateway1') (both labels of its Pods).
    const { 'pod-template-hash': _hash, ...kubeOvnSelector } = kubeOvnPod.metadata?.labels ?? {};
    assert.equal(
      selects({ matchLabels: kubeOvnSelector }, podLabels),
      false,
      "Kube-OVN's gateway1 Deployment would adopt the reference Pods",
    );
    assert.equal(
      selects(obj(obj(dep.spec).selector), kubeOvnPod.metadata?.labels ?? {}),
      false,
      "the reference would adopt Kube-OVN's Pods",
    );
    const hook = obj(arr(one('MutatingWebhookConfiguration').webhooks)[0]);
    assert.equal(selects(obj(hook.objectSelector), podLabels), false, 'the webhook would mutate the reference Pods');
    const name = String(obj(dep.metadata).name);
    assert.notEqual(name, 'gateway1', "Kube-OVN names the gateway's Deployment (prefix +) gateway1");
    for (const d of ref) {
      const n = String(obj(d.metadata).name);
      assert.notEqual(n, 'gateway1-frr-supervisor', `${String(d.kind)} ${n}: the name the companion's sync writes`);
    }
  });
});
