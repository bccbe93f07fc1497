// The floor of bench:observe's /metrics load figure (`node observe-floor.js PORT BYTES`, inside the lab's gateway
// namespace): a bare node:http server answering every request with the same BYTES-byte buffer, nothing else in
// its process. Loaded exactly like the supervisor's /metrics, it shows what the load tool, the loopback and Node's
// HTTP stack cost on this machine by themselves. Plain JS so that it starts fast without a TypeScript loader.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

const [port = '9181', bytes = '1000'] = process.argv.slice(2);
const body = Buffer.alloc(Number(bytes), 'x');
createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
  res.end(body);
}).listen(Number(port), '127.0.0.1');
