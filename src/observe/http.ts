/**
 * The HTTP endpoints (node:http): /livez, /readyz, /status, /metrics. Answers come from the last poll;
 * a request never waits for vtysh. GET and HEAD only, request bodies are never read, header size is
 * bounded and slow clients time out.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Verdict } from './health.ts';

export interface Endpoints {
  livez(): Verdict;
  readyz(): Verdict;
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: Buffer }>;
  /** An endpoint failed: the client gets a bare 500, the error goes here (to the log). */
  onError?(err: Error, path: string): void;
}

/**
 * At most this many connections at once (server.maxConnections: Node closes any further one at once). The
 * clients are kubelet's probes, one or two Prometheus servers, `frr-supervisor status` and the odd curl: a few
 * each. 64 leaves room for all of them many times over and for keep-alive connections, while bounding the
 * sockets and memory a flood of connections can take (each also has a 5 s header deadline) far below the
 * process's file descriptor limit (1024 in a default container), which the FRR sockets and child pipes share.
 */
export const MAX_CONNECTIONS = 64;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new Error(`--listen: ${JSON.stringify(listen)} is not HOST:PORT (e.g. 0.0.0.0:9180, 127.0.0.1:9180, [::]:9180)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function send(res: ServerResponse, code: number, type: string, body: string | Buffer, head: boolean): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

/** A connection must deliver a request's headers within this long (after it opens, or after the previous answer). */
export const HEADERS_TIMEOUT_MS = 5_000;

/**
 * Cuts off connections that do not deliver a request's headers in time (slowloris). Node enforces its own
 * headersTimeout only from a server-wide timer (connectionsCheckingInterval, 30 s by default; at 1 s it wakes
 * an idle process every second), so each connection carries its own deadline instead: armed when it opens and
 * after every answer, cleared when a request's headers are complete. A connection that sent part of a request
 * gets a 408; an idle keep-alive connection is just closed.
 */
function guardHeaders(server: Server): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const arm = (socket: Socket): void => {
    clearTimeout(deadlines.get(socket));
    const readAtArm = socket.bytesRead;
    const timer = setTimeout(() => {
      if (socket.destroyed) return;
      if (socket.bytesRead > readAtArm && socket.writable)
        socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      socket.destroy();
    }, HEADERS_TIMEOUT_MS);
    timer.unref();
    deadlines.set(socket, timer);
  };
  server.on('connection', (socket: Socket) => {
    arm(socket);
    socket.once('close', () => clearTimeout(deadlines.get(socket)));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    clearTimeout(deadlines.get(req.socket));
    res.once('finish', () => {
      if (!req.socket.destroyed) arm(req.socket);
    });
  });
}

export function createHttpServer(ep: Endpoints): Server {
  // Node's own timeouts stay as a backstop (checked every 30 s, its default); guardHeaders enforces the deadline.
  const server = createServer(
    { maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: HEADERS_TIMEOUT_MS, keepAliveTimeout: 5_000 },
    (req: IncomingMessage, res: ServerResponse) => {
      void handle(ep, req, res).catch((e: unknown) => {
        // No internal detail in the answer (paths, errno text): it goes to the log.
        ep.onError?.(e instanceof Error ? e : new Error(String(e)), (req.url ?? '/').split('?')[0] ?? '/');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
        else res.destroy();
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });
  guardHeaders(server);
  return server;
}

async function handle(ep: Endpoints, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    req.resume();
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  const json = (code: number, doc: unknown): void => send(res, code, 'application/json', `${JSON.stringify(doc, null, 2)}\n`, head);
  switch (path) {
    case '/livez': {
      const v = ep.livez();
      return json(v.ok ? 200 : 503, v);
    }
    case '/readyz': {
      const v = ep.readyz();
      return json(v.ok ? 200 : 503, v);
    }
    case '/status':
      return json(200, ep.status());
    case '/metrics': {
      const m = await ep.metrics();
      return send(res, 200, m.contentType, m.body, head);
    }
    default:
      return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /livez, /readyz, /status, /metrics\n', head);
  }
}
