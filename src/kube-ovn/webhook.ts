/**
 * The mutating admission webhook for Kube-OVN's gateway Pods (node:https): `POST /mutate-pod` takes an
 * AdmissionReview v1 and answers with the JSONPatch of src/kube-ovn/mutate.ts; `GET /healthz` says it serves.
 *
 * It never denies: every review it can answer is `allowed: true` (with a patch for a gateway Pod being created, with
 * none otherwise), because a gateway must come up even when the supervision cannot be added (the
 * MutatingWebhookConfiguration's failurePolicy Ignore covers the webhook being down). A request that is not an
 * AdmissionReview it can answer (no uid, not JSON, too large) gets a 4xx with a one-line reason: the API server
 * records it as a webhook error and, with failurePolicy Ignore, admits the Pod unchanged.
 *
 * Bounds: request bodies up to MAX_BODY_BYTES (a Pod is at most ~1.5 MB in etcd), headers within 5 s, a whole request
 * within 10 s (the API server gives up after the configuration's timeoutSeconds anyway), at most 64 connections.
 * The certificate and key are read again when their files change (cert-manager's renewal, a Secret volume's
 * `..data` switch): checked every reloadMs, the new pair used for new connections.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../log.ts';
import { mutatePod, podPatch, skipReason } from './mutate.ts';
import type { MutateOptions, Pod } from './mutate.ts';

export const MUTATE_PATH = '/mutate-pod';
export const HEALTH_PATH = '/healthz';
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
export const REQUEST_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 5_000;
export const MAX_CONNECTIONS = 64;
export const RELOAD_MS = 30_000;

const REVIEW_API = 'admission.k8s.io/v1';

export class BadReview extends Error {}

interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  operation?: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface ReviewResult {
  review: { apiVersion: typeof REVIEW_API; kind: 'AdmissionReview'; response: AdmissionResponse };
  /** What was done, for the log: `mutated` or why the Pod was left alone. */
  outcome: string;
  gateway?: string;
  namespace?: string;
  pod?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads an AdmissionReview v1 request; throws BadReview naming what is wrong. */
export function parseReview(body: unknown): AdmissionRequest {
  if (!isObj(body)) throw new BadReview('the body is not a JSON object (expected an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') throw new BadReview(`kind: expected AdmissionReview, got ${JSON.stringify(body.kind)}`);
  if (body.apiVersion !== REVIEW_API)
    throw new BadReview(`apiVersion: expected ${REVIEW_API} (admissionReviewVersions: [v1]), got ${JSON.stringify(body.apiVersion)}`);
  const req = body.request;
  if (!isObj(req)) throw new BadReview('request: missing (an AdmissionReview from the API server carries one)');
  if (typeof req.uid !== 'string' || req.uid === '') throw new BadReview('request.uid: missing or not a string');
  return req as unknown as AdmissionRequest;
}

/** The answer to one AdmissionReview (pure). */
export function review(body: unknown, opts: MutateOptions): ReviewResult {
  const req = parseReview(body);
  const out = (outcome: string, response: Partial<AdmissionResponse> = {}, extra: Partial<ReviewResult> = {}): ReviewResult => ({
    review: { apiVersion: REVIEW_API, kind: 'AdmissionReview', response: { uid: req.uid, allowed: true, ...response } },
    outcome,
    ...extra,
  });
  const kind = req.kind;
  if (kind?.kind !== 'Pod' || (kind.group ?? '') !== '' || req.subResource)
    return out(`not a Pod (${kind?.group ?? ''}/${kind?.kind ?? '?'})`);
  if (req.operation !== 'CREATE') return out(`operation ${String(req.operation)} (only CREATE is mutated)`);
  if (!isObj(req.object))
    return out('request.object is not a Pod object', { warnings: ['frr-supervisor webhook: request.object missing; Pod left unchanged'] });
  const pod = req.object as Pod;
  const where = { namespace: req.namespace, pod: pod.metadata?.name || `${pod.metadata?.generateName ?? ''}*` };
  const skip = skipReason(pod);
  if (skip) return out(skip, {}, where);
  const patch = podPatch(pod, mutatePod(pod, opts));
  const gateway = pod.metadata?.labels?.['ovn.kubernetes.io/vpc-egress-gateway'];
  if (patch.length === 0) return out('already supervised', {}, { ...where, gateway });
  return out('mutated', { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }, { ...where, gateway });
}

export interface WebhookOptions extends MutateOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  logger: Logger;
  /** How often the certificate files are checked for a change (ms); 0: never. */
  reloadMs?: number;
  /** A whole request must arrive within this long (default REQUEST_TIMEOUT_MS; tests shorten it). */
  requestTimeoutMs?: number;
}

export interface Webhook {
  server: Server;
  /** Reads the certificate files again now; true when they changed (and the new pair is in use). */
  reload(): boolean;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, code: number, message: string): void {
  // A Status-like body: the API server puts the webhook's answer in its error message.
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message: `frr-supervisor webhook: ${message}` });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new RangeError(`request body of ${declared} bytes is over the ${limit}-byte limit`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new RangeError(`request body is over the ${limit}-byte limit`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  const log = opts.logger;
  let pair = { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) };
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Node checks requestTimeout/headersTimeout only every connectionsCheckingInterval (30 s by default): a quarter of
  // the request timeout makes a stalled client's 408 come on time (a timer every 2.5 s; the webhook is otherwise idle).
  const server = createServer(
    { ...pair, minVersion: 'TLSv1.2', connectionsCheckingInterval: Math.max(250, requestTimeout / 4) },
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        log.error({ event: 'webhook_internal_error', err: (e as Error).message });
        if (!res.headersSent) sendError(res, 500, (e as Error).message);
        else res.destroy();
      });
    },
  );
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeout);
  server.keepAliveTimeout = 5_000;
  server.maxConnections = MAX_CONNECTIONS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
      res.end(req.method === 'HEAD' ? undefined : 'ok\n');
      return;
    }
    if (path !== MUTATE_PATH) return sendError(res, 404, `no such path ${JSON.stringify(path)} (POST ${MUTATE_PATH}, GET ${HEALTH_PATH})`);
    if (req.method !== 'POST') return sendError(res, 405, `${String(req.method)} ${MUTATE_PATH}: only POST`);
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/.test(type))
      return sendError(res, 415, `content-type must be application/json, got ${JSON.stringify(type)}`);
    let body: Buffer;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (e) {
      log.warn({ event: 'webhook_bad_request', err: (e as Error).message });
      if (!res.headersSent) sendError(res, 413, (e as Error).message);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      log.warn({ event: 'webhook_bad_request', err: `not JSON: ${(e as Error).message}` });
      return sendError(res, 400, `the body is not JSON: ${(e as Error).message}`);
    }
    let result: ReviewResult;
    try {
      result = review(parsed, opts);
    } catch (e) {
      const message = (e as Error).message;
      log.warn({ event: 'webhook_bad_request', err: message });
      return sendError(
        res,
        e instanceof BadReview ? 400 : 500,
        e instanceof BadReview ? `not an AdmissionReview it can answer: ${message}` : message,
      );
    }
    const { outcome, gateway, namespace, pod } = result;
    if (outcome === 'mutated')
      log.info(
        { event: 'pod_mutated', namespace, pod, gateway, image: opts.image },
        `supervising ${namespace}/${pod} of gateway ${gateway}`,
      );
    else log.debug({ event: 'pod_skipped', namespace, pod, reason: outcome });
    sendJson(res, 200, result.review);
  }

  function reload(): boolean {
    let next;
    try {
      next = { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) };
    } catch (e) {
      log.error(
        { event: 'webhook_cert_reload_failed', err: (e as Error).message },
        'certificate reload failed; the previous one stays in use',
      );
      return false;
    }
    if (next.cert.equals(pair.cert) && next.key.equals(pair.key)) return false;
    try {
      createSecureContext(next); // a mismatched or half-written pair throws here, before it is used
      server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
    } catch (e) {
      log.error(
        { event: 'webhook_cert_reload_failed', err: (e as Error).message },
        'the new certificate/key pair is unusable; the previous one stays in use',
      );
      return false;
    }
    pair = next;
    log.info({ event: 'webhook_cert_reloaded', certFile: opts.certFile });
    return true;
  }

  const reloadMs = opts.reloadMs ?? RELOAD_MS;
  const timer = reloadMs > 0 ? setInterval(reload, reloadMs) : undefined;
  timer?.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info({
    event: 'webhook_listening',
    host: opts.host,
    port: (server.address() as { port: number }).port,
    path: MUTATE_PATH,
    image: opts.image,
  });
  return {
    server,
    reload,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
