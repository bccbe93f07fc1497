// Runs inside a lab namespace (`ip netns exec NS node http-get.js URL [METHOD]`): one HTTP request, printed as
// JSON {status, headers, body} on stdout. Plain JS so that it starts fast without a TypeScript loader.
const [url, method = 'GET'] = process.argv.slice(2);
try {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(5000) });
  const body = method === 'HEAD' ? '' : await res.text();
  process.stdout.write(JSON.stringify({ status: res.status, headers: Object.fromEntries(res.headers), body }));
} catch (e) {
  process.stdout.write(JSON.stringify({ status: 0, error: String(e) }));
}
