/**
 * npm run demo: the main job on a built-in lab. A gateway network namespace run by `frr-supervisor run` with the
 * Kube-OVN docs' BgpConf (bgp-conf-6502) and EvpnConf (evpn-conf-1016) on the netns VRF backend, and an
 * external-router FRR namespace with an L3VNI 1016. Prints a live table of sessions and routes, serves the
 * supervisor's /metrics, /status, /livez, /readyz on http://127.0.0.1:9180 (proxied into the namespace), and
 * tears everything down on Ctrl-C or on any failure. DEMO_SECONDS=N stops it after N seconds.
 */
import { createServer } from 'node:http';
import { execa } from 'execa';
import { createLab } from '../test/lab/lab.ts';
import type { Lab } from '../test/lab/lab.ts';
import { startSupervisor } from '../test/lab/supervisor-process.ts';
import type { SupervisorProcess } from '../test/lab/supervisor-process.ts';
import { evpnRouterConf, evpnRouterDevices, gatewayInternalInterface, ROUTER_PREFIX } from '../test/lab/evpn-router.ts';
import { docsBgpConf, docsEvpnConf } from '../test/lab/configs.ts';
import { formatStatus } from '../src/cli/status-cmd.ts';
import type { StatusDoc } from '../src/observe/status.ts';
import { listType5Routes } from '../test/lab/evpn-routes.ts';

const PORT = Number(process.env.DEMO_PORT ?? 9180);
const SECONDS = Number(process.env.DEMO_SECONDS ?? 0);
const VRF = `fsl${process.pid}vd`;

// The Kube-OVN documentation's examples (bgp-conf-6502, evpn-conf-1016), as `kubectl get -o yaml` prints them.
const BGP_CONF = docsBgpConf();
const EVPN_CONF = docsEvpnConf(1016);
// What the gateway controller knows: gateway1's policy ipBlock, the internal side, and the netns VRF backend
// (this machine's kernel has no VRF devices).
const GATEWAY = `advertise: [10.17.0.0/16]
internalInterface: int0
internalGateway: 10.16.0.1
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
`;

if (process.getuid?.() !== 0) {
  console.error('npm run demo needs root: it creates network namespaces and runs FRR');
  process.exit(1);
}

let lab: Lab | undefined;
let sup: SupervisorProcess | undefined;
let server: ReturnType<typeof createServer> | undefined;
let stopping = false;

async function teardown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  console.log('\ntearing down: SIGTERM to frr-supervisor (drains the sessions), then the lab');
  server?.close();
  try {
    if (sup) {
      const r = await sup.stop('SIGTERM');
      console.log(`frr-supervisor exited with code ${String(r.code)} in ${r.ms} ms`);
      await sup.cleanup();
    }
  } finally {
    await execa('ip', ['netns', 'del', VRF], { reject: false });
    await lab?.cleanup().catch((e: unknown) => console.error(`lab cleanup: ${(e as Error).message}`));
  }
  console.log('lab removed');
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    teardown(0).catch(() => process.exit(1));
  });
}

try {
  console.log('building the lab: gateway and router namespaces, a veth between them (10.0.1.13 <-> 10.0.1.1)');
  lab = await createLab();
  await gatewayInternalInterface(lab);
  await evpnRouterDevices(lab, 1016);
  const router = await lab.startRouter(evpnRouterConf(1016));
  console.log('external router: FRR AS 65001, L3VNI 1016 in its default VRF, announcing', ROUTER_PREFIX);
  sup = startSupervisor(lab, { files: { 'bgp-conf.yaml': BGP_CONF, 'evpn-conf.yaml': EVPN_CONF, 'gateway.yaml': GATEWAY }, args: ['--poll-interval', '2s'] });
  const s = sup;
  console.log('gateway: frr-supervisor run with the Kube-OVN docs\' bgp-conf-6502 and evpn-conf-1016');
  await s.waitForEvent('config_applied', () => true, 60_000);

  server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    s.http(req.url ?? '/', req.method)
      .then((r) => res.writeHead(r.status || 502, { 'content-type': r.headers['content-type'] ?? 'text/plain' }).end(r.body))
      .catch((e: unknown) => res.writeHead(502).end(String(e)));
  });
  await new Promise<void>((resolve, reject) => {
    server?.once('error', reject);
    server?.listen(PORT, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : PORT;
  console.log(`serving http://127.0.0.1:${port}/metrics /status /livez /readyz (from the supervisor in the gateway namespace)`);

  const t0 = Date.now();
  let converged = false;
  for (;;) {
    const status = await s.httpJson<StatusDoc>('/status').catch(() => undefined);
    const gwType5 = listType5Routes(await s.vty.run(['show bgp l2vpn evpn route type prefix json']).catch(() => '{}'));
    const rtType5 = listType5Routes(await router.vtysh('show bgp l2vpn evpn route type prefix json').catch(() => '{}'));
    const lines = [
      `frr-supervisor demo: ${Math.round((Date.now() - t0) / 1000)} s${SECONDS ? ` of ${SECONDS}` : ', Ctrl-C to stop'}`,
      '',
      status ? formatStatus(status.doc) : 'waiting for /status ...',
      'TYPE-5 ROUTES',
      ...gwType5.filter((r) => !r.local).map((r) => `  gateway <- router  ${r.prefix ?? r.route}  rd ${r.rd}  rmac ${r.routerMac ?? '-'}`),
      ...rtType5.filter((r) => !r.local).map((r) => `  router  <- gateway ${r.prefix ?? r.route}  rd ${r.rd}  rmac ${r.routerMac ?? '-'}`),
    ];
    if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
    console.log(lines.join('\n'));
    const up = status?.doc.neighbours.some((n) => n.established) && gwType5.some((r) => !r.local) && rtType5.some((r) => !r.local);
    if (up && !converged) {
      converged = true;
      console.log(`converged: session Established and type-5 routes both ways after ${Math.round((Date.now() - t0) / 1000)} s`);
    }
    if (SECONDS && Date.now() - t0 >= SECONDS * 1000) {
      if (!converged) throw new Error(`not converged after ${SECONDS} s`);
      await teardown(0);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
} catch (e) {
  console.error(`demo failed: ${(e as Error).stack ?? String(e)}`);
  await teardown(1);
}
