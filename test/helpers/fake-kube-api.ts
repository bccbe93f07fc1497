/**
 * A local HTTPS server that answers what kube-ovn-sync asks, the way a Kubernetes API server does (list, watch as
 * JSON lines, server-side apply, delete, discovery), and keeps the ConfigMaps and Secrets applied to it. No Kubernetes
 * API server can be installed on these machines: this is what client-node talks to in the tests.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube-ovn/mapping.ts';

const apiFixture = (name: string): string => readFileSync(new URL(`../fixtures/kube-api/${name}`, import.meta.url), 'utf8');

/** A self-signed certificate for 127.0.0.1 (openssl), written into `dir`. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=fake-apiserver',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

/** A kubeconfig for `url`, trusting `cert`, with a bearer token. */
export function kubeconfigFor(url: string, cert: string, token = 'test-token'): string {
  return `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${url}\n    certificate-authority-data: ${Buffer.from(cert).toString('base64')}\ncontexts:\n- name: fake\n  context: {cluster: fake, user: sync}\ncurrent-context: fake\nusers:\n- name: sync\n  user: {token: ${token}}\n`;
}

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
  /** The status answered. */
  status?: number;
}

const LIST_KIND: Record<string, string> = {
  'vpc-egress-gateways': 'VpcEgressGatewayList',
  'bgp-confs': 'BgpConfList',
  'evpn-confs': 'EvpnConfList',
  subnets: 'SubnetList',
  vpcs: 'VpcList',
};

/** Answers what kube-ovn-sync asks, the way an API server does; keeps the ConfigMaps and Secrets applied to it. */
export class FakeApiServer {
  readonly requests: Recorded[] = [];
  readonly stored = new Map<string, Record<string, unknown>>();
  private rv = 1000;
  private readonly watchers = new Map<string, ServerResponse[]>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly kubeOvn: Record<string, KubeObject[]>) {}

  /** Serves HTTPS with `cert`/`key` (client-node refuses plain HTTP, as it should). */
  async start(tls: { cert: string; key: string }): Promise<void> {
    this.server = createServer(tls, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => this.answer(req, res, body));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const list of this.watchers.values()) for (const res of list) res.end();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** A watch event to every open watch of `plural`, as a line of JSON, with the store updated like the API server. */
  event(plural: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const list = this.kubeOvn[plural] ?? [];
    const i = list.findIndex((o) => o.metadata?.name === obj.metadata?.name && o.metadata?.namespace === obj.metadata?.namespace);
    const next = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    if (type === 'DELETED') list.splice(i, 1);
    else if (i >= 0) list[i] = next;
    else list.push(next);
    this.kubeOvn[plural] = list;
    for (const res of this.watchers.get(plural) ?? []) res.write(`${JSON.stringify({ type, object: next })}\n`);
  }

  watching(plural: string): number {
    return this.watchers.get(plural)?.length ?? 0;
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    const last = this.requests.at(-1);
    if (last) last.status = code;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
    });
    const kubeOvn = /^\/apis\/kubeovn\.io\/v1\/([a-z-]+)$/.exec(url.pathname);
    const core = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/(configmaps|secrets)(?:\/([a-z0-9.-]+))?$/.exec(url.pathname);
    if (req.method === 'GET' && url.pathname === '/api/v1') return this.json(res, 200, apiFixture('api-v1-discovery.json'));
    if (req.method === 'GET' && kubeOvn?.[1]) {
      const plural = kubeOvn[1];
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.flushHeaders();
        const list = this.watchers.get(plural) ?? [];
        list.push(res);
        this.watchers.set(plural, list);
        res.on('close', () => list.splice(list.indexOf(res), 1));
        return;
      }
      return this.json(res, 200, {
        apiVersion: 'kubeovn.io/v1',
        kind: LIST_KIND[plural],
        metadata: { resourceVersion: String(this.rv) },
        items: this.kubeOvn[plural] ?? [],
      });
    }
    if (core?.[1] && core[2]) {
      const [, namespace, resource, name] = core;
      const key = `${resource}/${namespace}/${name ?? ''}`;
      if (req.method === 'GET' && !name) {
        const [k, v] = (url.searchParams.get('labelSelector') ?? '').split('=');
        const items = [...this.stored.entries()]
          .filter(
            ([sk, o]) =>
              sk.startsWith(`${resource}/${namespace}/`) && (o.metadata as { labels?: Record<string, string> }).labels?.[k ?? ''] === v,
          )
          .map(([, o]) => o);
        return this.json(res, 200, { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (req.method === 'PATCH' && name) {
        const obj = JSON.parse(body) as Record<string, unknown>;
        const existed = this.stored.has(key);
        const stored = { ...obj, metadata: { ...(obj.metadata as object), resourceVersion: String(++this.rv), uid: `uid-${name}` } };
        this.stored.set(key, stored);
        return this.json(res, existed ? 200 : 201, stored);
      }
      if (req.method === 'DELETE' && name) {
        if (!this.stored.delete(key)) return this.json(res, 404, apiFixture('status-not-found.json').replaceAll('NAME', name));
        return this.json(res, 200, apiFixture('status-deleted.json').replaceAll('NAME', name));
      }
    }
    this.json(res, 404, apiFixture('status-not-found.json'));
  }
}
