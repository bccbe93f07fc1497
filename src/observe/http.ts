/**
 * The HTTP endpoints (node:http): /livez, /readyz, /status, /metrics. Answers come from the last poll;
 * a request never waits for vtysh. GET and HEAD only, request bodies are never read, header size is
 * bounded and slow clients time out.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Verdict } from './health.ts';

export interface Endpoints {
  livez(): Verdict;
  readyz(): Verdict;
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) throw new Error(`--listen: ${JSON.stringify(listen)} is not HOST:PORT (e.g. 0.0.0.0:9180, 127.0.0.1:9180, [::]:9180)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function send(res: ServerResponse, code: number, type: string, body: string, head: boolean): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

export function createHttpServer(ep: Endpoints): Server {
  // connectionsCheckingInterval: node checks the two timeouts only this often (default 30 s: a slow client held 35 s)
  const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req: IncomingMessage, res: ServerResponse) => {
    void handle(ep, req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(e as Error).message}\n`, false);
      else res.destroy();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });
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
