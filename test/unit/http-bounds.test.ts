/**
 * #12 item 8a: the HTTP endpoints are bounded (a connection cap) and a 500 carries no internal error text
 * (the error goes to the log through onError instead).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:http';
import * as http from '../../src/observe/http.ts';

const ok = { ok: true, reason: 'ok' };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** Sends one GET on a new connection; resolves with what came back before the connection closed (or after 3 s). */
function get(port: number, path: string, sockets: Socket[] = []): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sockets.push(sock);
    let data = '';
    const timer = setTimeout(() => resolve(data), 3000);
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

test('a 500 says "internal error" only; the error itself goes to onError', async () => {
  const errors: Array<{ message: string; path: string }> = [];
  const server = http.createHttpServer({
    livez: () => ok,
    readyz: () => ok,
    status: () => ({}),
    metrics: () => Promise.reject(new Error('EACCES: permission denied, open /etc/frr/ps/frr.conf')),
    onError: (e, path) => errors.push({ message: e.message, path }),
  });
  const port = await listen(server);
  try {
    const res = await get(port, '/metrics');
    assert.match(res, /^HTTP\/1\.1 500 /);
    assert.doesNotMatch(res, /EACCES|frr\.conf|permission/, res);
    assert.match(res, /\r\n\r\ninternal error\n$/);
    assert.deepEqual(errors, [{ message: 'EACCES: permission denied, open /etc/frr/ps/frr.conf', path: '/metrics' }]);
  } finally {
    await close(server);
  }
});

test(`at most MAX_CONNECTIONS open connections; one more is closed unanswered, and served again once one closes`, async () => {
  const max = (http as { MAX_CONNECTIONS?: number }).MAX_CONNECTIONS;
  assert.equal(typeof max, 'number', 'http.ts exports MAX_CONNECTIONS');
  assert.ok(max !== undefined && max >= 16 && max <= 256, `a sensible cap: ${max}`);
  const server = http.createHttpServer({
    livez: () => ok,
    readyz: () => ok,
    status: () => ({}),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: Buffer.from('m 1\n') }),
  });
  assert.equal(server.maxConnections, max);
  const port = await listen(server);
  const idle: Socket[] = [];
  try {
    // max idle connections (no request yet: within the 5 s header deadline)
    await Promise.all(
      Array.from(
        { length: max },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(port, '127.0.0.1', () => resolve());
            s.on('error', () => undefined);
            idle.push(s);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    const refused = await get(port, '/livez');
    assert.equal(refused, '', 'a connection over the cap is closed without an answer');
    idle.pop()?.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await get(port, '/livez'), /^HTTP\/1\.1 200 /, 'served again below the cap');
  } finally {
    for (const s of idle) s.destroy();
    await close(server);
  }
});
