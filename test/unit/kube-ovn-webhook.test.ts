/**
 * `frr-supervisor webhook` over real HTTPS: a certificate made by deploy/kube-ovn/webhook-certs.sh (openssl, as a
 * user without cert-manager makes it), the client verifying it against that CA under the Service's DNS name (as the
 * API server does with the caBundle), AdmissionReview v1 round trips for the gateway Pod as Kube-OVN 1.16 creates it,
 * Pods and objects it must leave alone, malformed requests, bounds and a certificate renewal. No Kubernetes API server
 * can be installed here: the client stands in for it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { createLogger } from '../../src/log.ts';
import { mutatePod } from '../../src/kube-ovn/mutate.ts';
import type { PatchOp, Pod } from '../../src/kube-ovn/mutate.ts';
import { MAX_BODY_BYTES, startWebhook } from '../../src/kube-ovn/webhook.ts';
import type { Webhook } from '../../src/kube-ovn/webhook.ts';
import { kubeOvnGatewayPod } from '../fixtures/kube-ovn-gateway-pod.ts';
import { runCli } from '../helpers/cli.ts';
import { applyPatch } from '../helpers/json-patch.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CERTS = join(REPO, 'deploy/kube-ovn/webhook-certs.sh');
const SERVICE_DNS = 'frr-supervisor-kube-ovn.kube-system.svc';
const IMAGE = 'registry.example/frr-supervisor:0.1.0';

interface Answer {
  status: number;
  body: string;
  json: Record<string, unknown>;
}

describe('frr-supervisor webhook over HTTPS', () => {
  let dir: string;
  let hook: Webhook;
  let port: number;
  let ca: Buffer;
  const logs: Array<Record<string, unknown>> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `fsw-${process.pid}-`));
    await execa('bash', [CERTS, dir]);
    ca = await readFile(join(dir, 'ca.crt'));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    hook = await startWebhook({
      host: '127.0.0.1',
      port: 0,
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      image: IMAGE,
      reloadMs: 0,
      logger: createLogger('debug', sink),
    });
    port = (hook.server.address() as AddressInfo).port;
  });

  after(async () => {
    await hook?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function call(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
    opts: { ca?: Buffer; servername?: string } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers,
          ca: opts.ca ?? ca,
          servername: opts.servername ?? SERVICE_DNS,
          agent: false,
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let json = {};
            try {
              json = JSON.parse(text) as Record<string, unknown>;
            } catch {
              /* not JSON: body says what */
            }
            resolve({ status: res.statusCode ?? 0, body: text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const reviewOf = (object: unknown, over: Record<string, unknown> = {}) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      ...over,
    },
  });

  const response = (a: Answer) => {
    assert.equal(a.status, 200, a.body);
    assert.equal(a.json.apiVersion, 'admission.k8s.io/v1');
    assert.equal(a.json.kind, 'AdmissionReview');
    const r = a.json.response as { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[] };
    assert.equal(r.uid, '705ab4f5-6393-11e8-b7cc-42010a800002', 'the uid is echoed');
    assert.equal(r.allowed, true, 'never denies');
    return r;
  };

  for (const variant of [{}, { evpn: true }, { evpn: true, bfd: true, password: true }]) {
    it(`a gateway Pod being created (${JSON.stringify(variant)}) gets the JSONPatch of the mutation`, async () => {
      const pod = kubeOvnGatewayPod(variant);
      const r = response(await call('POST', '/mutate-pod', JSON.stringify(reviewOf(pod))));
      assert.equal(r.patchType, 'JSONPatch');
      const patch = JSON.parse(Buffer.from(r.patch ?? '', 'base64').toString()) as PatchOp[];
      assert.deepEqual(applyPatch(pod, patch), mutatePod(pod, { image: IMAGE }));
      const logged = logs.filter((l) => l.event === 'pod_mutated').at(-1);
      assert.equal(logged?.gateway, 'gateway1');
      assert.equal(logged?.namespace, 'default');
      assert.equal(logged?.pod, 'gateway1-5d7c9f6b8-*');
    });
  }

  it('a Pod already mutated (reinvocation), an UPDATE, a non-gateway Pod and a non-Pod are left alone', async () => {
    const mutated = mutatePod(kubeOvnGatewayPod(), { image: IMAGE });
    const plain: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { containers: [{ name: 'frr' }] },
    };
    const cases = [
      reviewOf(mutated),
      reviewOf(kubeOvnGatewayPod(), { operation: 'UPDATE', oldObject: kubeOvnGatewayPod() }),
      reviewOf(plain),
      reviewOf(
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gateway1' } },
        { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } },
      ),
      reviewOf(kubeOvnGatewayPod(), { subResource: 'status', operation: 'CREATE' }),
    ];
    for (const c of cases) {
      const r = response(await call('POST', '/mutate-pod', JSON.stringify(c)));
      assert.equal(r.patch, undefined, JSON.stringify(r));
      assert.equal(r.patchType, undefined);
    }
  });

  it('a review whose object is missing is allowed unchanged with a warning', async () => {
    const r = response(await call('POST', '/mutate-pod', JSON.stringify(reviewOf(undefined))));
    assert.equal(r.patch, undefined);
    assert.match(r.warnings?.[0] ?? '', /request\.object missing/);
  });

  it('malformed requests get a clear 4xx naming what is wrong', async () => {
    const bad: Array<[string, string, string | undefined, Record<string, string> | undefined, number, RegExp]> = [
      ['POST', '/mutate-pod', '{"apiVersion": ', undefined, 400, /the body is not JSON/],
      ['POST', '/mutate-pod', '[1,2]', undefined, 400, /not a JSON object/],
      [
        'POST',
        '/mutate-pod',
        JSON.stringify({ ...reviewOf({}), apiVersion: 'admission.k8s.io/v1beta1' }),
        undefined,
        400,
        /admissionReviewVersions: \[v1\]/,
      ],
      [
        'POST',
        '/mutate-pod',
        JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
        undefined,
        400,
        /request: missing/,
      ],
      ['POST', '/mutate-pod', JSON.stringify(reviewOf({}, { uid: '' })), undefined, 400, /request\.uid/],
      ['POST', '/mutate-pod', '{}', { 'content-type': 'text/plain' }, 415, /content-type must be application\/json/],
      ['GET', '/mutate-pod', undefined, undefined, 405, /only POST/],
      ['POST', '/mutate', '{}', undefined, 404, /no such path "\/mutate"/],
    ];
    for (const [method, path, body, headers, status, message] of bad) {
      const a = await call(method, path, body, headers);
      assert.equal(a.status, status, `${method} ${path} ${String(body).slice(0, 40)}: ${a.body}`);
      assert.equal(a.json.kind, 'Status');
      assert.match(String(a.json.message), message);
      assert.match(String(a.json.message), /^frr-supervisor webhook: /);
    }
    assert.ok(logs.some((l) => l.event === 'webhook_bad_request'));
  });

  it('a body over the limit is refused with 413 without reading it all', async () => {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const a = await call('POST', '/mutate-pod', big);
    assert.equal(a.status, 413);
    assert.match(String(a.json.message), /over the 3145728-byte limit/);
  });

  it('/healthz answers 200', async () => {
    const a = await call('GET', '/healthz');
    assert.equal(a.status, 200);
    assert.equal(a.body, 'ok\n');
  });

  it('the certificate is verified under the Service name; another name fails', async () => {
    await assert.rejects(call('GET', '/healthz', undefined, {}, { servername: 'other.kube-system.svc' }), /altnames|Hostname/i);
  });

  it('a renewed certificate (new CA) is served after reload; a mismatched pair is refused and the current one kept', async () => {
    const old = ca;
    const next = join(dir, 'next');
    await execa('bash', [CERTS, next]);
    const newCa = await readFile(join(next, 'ca.crt'));
    // A half-renewed pair (new certificate, old key): refused, the old pair still serves.
    await writeFile(join(dir, 'tls.crt'), await readFile(join(next, 'tls.crt')));
    assert.equal(hook.reload(), false);
    assert.ok(logs.some((l) => l.event === 'webhook_cert_reload_failed'));
    assert.equal((await call('GET', '/healthz', undefined, {}, { ca: old })).status, 200);
    await writeFile(join(dir, 'tls.key'), await readFile(join(next, 'tls.key')));
    assert.equal(hook.reload(), true);
    assert.equal((await call('GET', '/healthz', undefined, {}, { ca: newCa })).status, 200);
    await assert.rejects(call('GET', '/healthz', undefined, {}, { ca: old }), /self.signed|unable to verify|certificate/i);
    assert.equal(hook.reload(), false, 'unchanged files: nothing to do');
    ca = newCa;
  });
});

describe('frr-supervisor webhook: a client that stalls', () => {
  it('a request whose body never completes is cut off after the request timeout (408), not held open', async () => {
    const dir = await mkdtemp(join(tmpdir(), `fsw-${process.pid}-slow-`));
    await execa('bash', [CERTS, dir]);
    const hook = await startWebhook({
      host: '127.0.0.1',
      port: 0,
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      image: IMAGE,
      reloadMs: 0,
      requestTimeoutMs: 1000,
      logger: createLogger('silent'),
    });
    try {
      const port = (hook.server.address() as AddressInfo).port;
      const ca = await readFile(join(dir, 'ca.crt'));
      const t0 = performance.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/mutate-pod',
            ca,
            servername: SERVICE_DNS,
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': '1000' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', () => resolve(0)); // the connection closed without an answer also counts as cut off
        req.write('{"apiVersion": "admission.k8s.io/v1", '); // and then nothing more
        setTimeout(() => reject(new Error('still open after 10 s')), 10_000).unref();
      });
      const ms = performance.now() - t0;
      assert.ok(status === 408 || status === 0, `status ${status}`);
      assert.ok(ms < 5000, `cut off after ${ms.toFixed(0)} ms (request timeout 1 s)`);
    } finally {
      await hook.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('frr-supervisor webhook: command line', () => {
  it('--help lists the flags; missing certificate or image is a usage error', async () => {
    const help = await runCli(['webhook', '--help']);
    assert.equal(help.code, 0);
    for (const f of ['--listen', '--tls-cert', '--tls-key', '--supervisor-image', '--cert-reload']) assert.ok(help.stdout.includes(f), f);
    const noCert = await runCli(['webhook', '--supervisor-image', IMAGE]);
    assert.equal(noCert.code, 2);
    assert.match(noCert.stderr, /--tls-cert FILE and --tls-key FILE are required/);
    const noImage = await runCli(['webhook', '--tls-cert', 'a', '--tls-key', 'b']);
    assert.equal(noImage.code, 2);
    assert.match(noImage.stderr, /--supervisor-image IMAGE is required/);
    const missing = await runCli([
      'webhook',
      '--tls-cert',
      '/nonexistent/tls.crt',
      '--tls-key',
      '/nonexistent/tls.key',
      '--supervisor-image',
      IMAGE,
      '--listen',
      '127.0.0.1:0',
    ]);
    assert.equal(missing.code, 1);
  });
});
