// Runs inside a lab namespace (`ip netns exec NS node ns-tcp-bridge.js SOCKET HOST PORT`): accepts connections on
// a unix socket (a filesystem path, so reachable from the host's namespace) and forwards each one, byte for byte,
// to HOST:PORT inside the namespace. Closing either side closes the other, so a test sees the server's close.
// Plain JS so that it starts fast without a TypeScript loader; prints "ready" once listening.
import net from 'node:net';

const [path, host, port] = process.argv.slice(2);
const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  // the server closed: flush what it sent, then close the client side
  upstream.on('close', () => client.end());
  client.on('close', () => upstream.destroy());
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
