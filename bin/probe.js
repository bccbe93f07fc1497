// `frr-supervisor probe live|ready`: an exec probe for kubelet where it cannot reach the Pod over HTTP (a Pod in
// a Kube-OVN custom VPC). It asks the running supervisor's /livez or /readyz on its --listen address and exits
// 0 (200) or 1 (anything else, or no answer), printing one line that says why. kubelet runs it every probe
// period, so it is plain JavaScript using node:net only: bin/frr-supervisor.js imports it before anything else
// (no TypeScript loader, no dist/ check, no dependency), and src/cli/cli.ts runs the same code in-process.
//
// The address: --listen HOST:PORT, else FRR_SUPERVISOR_LISTEN (the variable `run` reads too: set it on the
// container and both agree), else run's default 0.0.0.0:9180. A wildcard host (0.0.0.0, ::, empty) is asked on
// loopback (127.0.0.1, ::1); any other host as given.
import { connect } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';

export const PROBE_HELP = `Usage: frr-supervisor probe live|ready [--listen HOST:PORT] [--timeout DURATION]

Asks a running supervisor's /livez (live) or /readyz (ready) and exits 0 when it answers 200, else 1, with one
line saying why: an exec probe for Pods kubelet cannot reach over HTTP (Kube-OVN custom VPCs).

Options:
  --listen VALUE        the supervisor's --listen; a wildcard host is asked on loopback (default: 0.0.0.0:9180) [env FRR_SUPERVISOR_LISTEN]
  --timeout VALUE       give up after this long, e.g. 800ms or 2s; keep it below the probe's timeoutSeconds (default: 800ms)
  --help                show this help
`;

const WHAT = { live: '/livez', ready: '/readyz' };

/** HOST:PORT as `run --listen` takes it -> where to connect. */
function target(listen) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  if (host === '' || host === '0.0.0.0') return { host: '127.0.0.1', port };
  if (host === '::' || host === '::0') return { host: '::1', port };
  return { host, port };
}

function ms(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
}

/** One line, printable: the reason comes from the supervisor's JSON (which may quote config input). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const oneLine = (text) => String(text).replace(CONTROL, ' ').slice(0, 300);

/**
 * @param {string[]} argv what follows `probe`
 * @param {Record<string, string | undefined>} env
 * @returns {Promise<{ code: number, out: string }>} the exit code (0, 1; 2 for a usage error) and the line to print
 */
export async function probe(argv, env) {
  let which;
  let listen;
  let timeout = '800ms';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === '--help' || flag === '-h') return { code: 0, out: PROBE_HELP };
    if (flag === '--listen' || flag === '--timeout') {
      const v = inline ?? argv[++i];
      if (v === undefined) return usage(`${flag} needs a value`);
      if (flag === '--listen') listen = v;
      else timeout = v;
    } else if (which === undefined && (a === 'live' || a === 'ready')) which = a;
    else return usage(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (which === undefined) return usage('say what to probe: live or ready');
  listen ??= env.FRR_SUPERVISOR_LISTEN || '0.0.0.0:9180';
  const to = target(listen);
  if (!to) return usage(`--listen: ${JSON.stringify(listen)} is not HOST:PORT (e.g. 0.0.0.0:9180, 127.0.0.1:9180, [::]:9180)`);
  const limit = ms(timeout);
  if (limit === undefined || limit <= 0) return usage(`--timeout: ${JSON.stringify(timeout)} is not a duration like 800ms or 2s`);
  const path = WHAT[which];
  const where = `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
  return new Promise((resolve) => {
    let done = false;
    let data = '';
    const finish = (code, out) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ code, out: `${out}\n` });
    };
    // HTTP/1.0 over node:net: one request, the answer read to the end (node:http costs more to load, and kubelet
    // pays that every probe period)
    const sock = connect({ host: to.host, port: to.port }, () => sock.end(`GET ${path} HTTP/1.0\r\nHost: ${where}\r\n\r\n`));
    sock.setEncoding('utf8');
    sock.on('data', (chunk) => {
      if (data.length < 65536) data += chunk;
    });
    sock.on('end', () => {
      const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r?\n/.exec(data);
      if (!m) return finish(1, `${path}: ${where} did not answer HTTP (${JSON.stringify(oneLine(data.slice(0, 60)))})`);
      const status = Number(m[1]);
      const at = data.indexOf('\r\n\r\n');
      const body = at >= 0 ? data.slice(at + 4) : '';
      let reason;
      try {
        reason = JSON.parse(body).reason;
      } catch {
        reason = undefined;
      }
      finish(status === 200 ? 0 : 1, `${path} ${status}: ${oneLine(typeof reason === 'string' ? reason : body.trim())}`);
    });
    sock.on('error', (e) =>
      finish(1, `${path}: no answer from ${where} (${e.code ?? e.message}): is the supervisor running, with this --listen?`),
    );
    const timer = setTimeout(() => finish(1, `${path}: no answer from ${where} within ${limit} ms`), limit);
  });
}

function usage(message) {
  return { code: 2, out: `error: ${message} (see frr-supervisor probe --help)\n` };
}
