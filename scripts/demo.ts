/**
 * npm run demo: the main job on a built-in lab. A gateway network namespace run by `frr-supervisor run` with the
 * Kube-OVN docs' BgpConf (bgp-conf-6502) and EvpnConf (evpn-conf-1016) on the netns VRF backend, graceful restart on,
 * an external-router FRR namespace with an L3VNI 1016, a remote host behind the router and a VPC host behind the
 * gateway exchanging probes (the lab's loss meter, 1000 packets/s each way).
 *
 * Which FRR (DEMO_FRR): `10.7` (the default) runs FRR 10.7.1 on both sides, the first FRR with graceful restart for
 * L2VPN EVPN that the lab has: the router in a container of lab/frr107-image with its L3VNI in a VRF, the supervisor
 * from this repository's source in a container of the same image in the gateway namespace (lab/router-container.ts,
 * lab/supervisor-process.ts). scripts/image-base.sh installs podman, runc and debootstrap when missing and makes the
 * debian:trixie-slim base; the FRR 10.7 image is built on the first run on a machine and reused afterwards.
 * `host` runs the host's FRR (Debian bookworm's 8.4.4) in the namespaces on both sides, the router's L3VNI in its
 * default VRF: no container, but its graceful restart does not cover EVPN.
 * Prints a live table of sessions,
 * routes and traffic; DEMO_CHANGE_AFTER seconds (default 20) after convergence it changes the BgpConf's timers
 * through the config volume (kubelet's atomic swap) and shows what that cost. Serves the supervisor's /metrics,
 * /status, /livez, /readyz on http://127.0.0.1:9180 (proxied into the namespace), and tears everything down on
 * Ctrl-C or on any failure. DEMO_SECONDS=N stops it after N seconds.
 *
 * The traffic is counted per phase, by probe sequence number: the startup (from the first probe until the demo
 * converged: before the routes exist every probe is lost, which says nothing about the gateway), the steady state
 * (after convergence, outside the change), and the config change (from the volume update until both flows deliver
 * again, plus a second). Probes sent in the last 200 ms are not counted yet (they may still be in flight).
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createLab, programHandlesSignals } from '../lab/lab.ts';
import type { Lab } from '../lab/lab.ts';
import { startSupervisor } from '../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../lab/supervisor-process.ts';
import { existsSync } from 'node:fs';
import { evpnRouterConf, evpnRouterDevices, evpnVrfRouter, ROUTER_PREFIX, ROUTER_VRF } from '../lab/evpn-router.ts';
import { ContainerRouter, ensureRouterImage, FRR107_IMAGE, routerImageCurrent } from '../lab/router-container.ts';
import { podman, removeAll } from '../lab/podman.ts';
import { docsBgpConf, docsEvpnConf, GW, RT } from '../lab/configs.ts';
import { addHosts, hostFlows, REMOTE, VPC } from '../lab/hosts.ts';
import { LossMeter } from '../lab/loss-meter.ts';
import type { FlowStats, RangeStats } from '../lab/loss-meter.ts';
import { formatStatus } from '../src/cli/status-cmd.ts';
import type { StatusDoc } from '../src/observe/status.ts';
import { listType5Routes } from '../lab/evpn-routes.ts';

const PORT = Number(process.env.DEMO_PORT ?? 9180);
const SECONDS = Number(process.env.DEMO_SECONDS ?? 0);
const CHANGE_AFTER = Number(process.env.DEMO_CHANGE_AFTER ?? 20);
const VRF = `fsl${process.pid}vd`;
const REPO = fileURLToPath(new URL('../', import.meta.url));
const FRR = process.env.DEMO_FRR ?? '10.7';
if (FRR !== '10.7' && FRR !== 'host') {
  console.error(`DEMO_FRR=${FRR}: unknown (10.7, the default: FRR 10.7.1 in containers on both sides; host: the host's FRR)`);
  process.exit(1);
}
const CONTAINERS = FRR === '10.7';

// The Kube-OVN documentation's examples (bgp-conf-6502, evpn-conf-1016), as `kubectl get -o yaml` prints them.
const BGP_CONF = docsBgpConf();
// The change the demo applies: the docs' timers 90s/30s become 60s/20s (bgpd restarts, with graceful restart).
const BGP_CONF_CHANGED = docsBgpConf({ hold: '60s', keepalive: '20s' });
const EVPN_CONF = docsEvpnConf(1016);
// What the gateway controller knows: gateway1's policy ipBlock, the internal side, and the netns VRF backend
// (this machine's kernel has no VRF devices).
const GATEWAY = `advertise: [${VPC.routedCidr}]
internalInterface: ${VPC.gatewayIf}
internalGateway: ${VPC.address}
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
gracefulRestart: true
`;

if (process.getuid?.() !== 0) {
  console.error('npm run demo needs root: it creates network namespaces and runs FRR');
  process.exit(1);
}
// The demo tears its lab down itself on Ctrl-C (below), in order; the lab's own signal fallback would exit first.
programHandlesSignals();
// `npm run demo | tee LOG` and Ctrl-C: tee is gone before the teardown's messages; a write to the closed pipe
// (EPIPE) must not end the demo halfway through its teardown.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

let lab: Lab | undefined;
let sup: SupervisorProcess | undefined;
let routerContainer: ContainerRouter | undefined;
let server: ReturnType<typeof createServer> | undefined;
let meter: LossMeter | undefined;
let stopping = false;

// ---------------------------------------------------------------------------------------------------------
// traffic, counted per phase by sequence number

/** Per flow, the sequence numbers where the phases begin (the sender's count at that moment). */
interface Marks {
  converged?: number;
  changeFrom?: number;
  changeTo?: number;
}
interface PhaseCount {
  sent: number;
  received: number;
  lost: number;
  longestGapMs: number;
}
interface FlowPhases {
  flow: FlowStats;
  startup: PhaseCount;
  steady?: PhaseCount;
  change?: PhaseCount;
}
const marks: Record<string, Marks> = {};
let marksVersion = 0;
let convergedAfterS = 0;
/** The latest figures (the totals printed at the end): a report counted with marks that changed since is not kept. */
let lastPhases: FlowPhases[] = [];

function mark(m: Record<string, FlowStats>, set: (k: Marks, sent: number) => void): void {
  for (const f of Object.values(m)) set((marks[f.label] ??= {}), f.sent);
  marksVersion++;
}

function sum(parts: RangeStats[], rate: number): PhaseCount {
  const sent = parts.reduce((a, r) => a + Math.max(0, r.to - r.from), 0);
  const received = parts.reduce((a, r) => a + r.received, 0);
  const longestRun = parts.reduce((a, r) => Math.max(a, r.longestRun), 0);
  return { sent, received, lost: sent - received, longestGapMs: Math.round((longestRun * 1000) / rate) };
}

/** The meter's figures split into the phases, up to the probes sent 200 ms ago. */
async function phaseReport(m: LossMeter): Promise<FlowPhases[]> {
  const version = marksVersion;
  const now = await m.report();
  const ranges: Record<string, Array<[number, number]>> = {};
  const layout: Record<string, { startup: number[]; steady: number[]; change: number[] }> = {};
  for (const f of Object.values(now)) {
    const end = Math.max(0, f.sent - Math.ceil(f.rate * 0.2));
    const k = marks[f.label] ?? {};
    const list: Array<[number, number]> = [];
    const add = (from: number, to: number): number => list.push([from, Math.max(from, Math.min(to, end))]) - 1;
    const l = { startup: [] as number[], steady: [] as number[], change: [] as number[] };
    if (k.converged === undefined) l.startup.push(add(0, end));
    else {
      l.startup.push(add(0, k.converged));
      l.steady.push(add(k.converged, k.changeFrom ?? end));
      if (k.changeFrom !== undefined) l.change.push(add(k.changeFrom, k.changeTo ?? end));
      if (k.changeTo !== undefined) l.steady.push(add(k.changeTo, end));
    }
    ranges[f.label] = list;
    layout[f.label] = l;
  }
  const counted = await m.report({ ranges });
  const result = Object.values(counted).map((f) => {
    const l = layout[f.label] ?? { startup: [], steady: [], change: [] };
    const pick = (ix: number[]): RangeStats[] => ix.map((i) => f.ranges?.[i]).filter((r): r is RangeStats => r !== undefined);
    const k = marks[f.label] ?? {};
    return {
      flow: f,
      startup: sum(pick(l.startup), f.rate),
      ...(k.converged !== undefined && { steady: sum(pick(l.steady), f.rate) }),
      ...(k.changeFrom !== undefined && { change: sum(pick(l.change), f.rate) }),
    };
  });
  if (version === marksVersion) lastPhases = result;
  return result;
}

const count = (c: PhaseCount, gap = true): string =>
  `sent ${String(c.sent).padStart(7)}  received ${String(c.received).padStart(7)}  lost ${String(c.lost).padStart(6)}${gap ? `  longest gap ${c.longestGapMs} ms` : ''}`;

function trafficLines(phases: FlowPhases[], changeLabel: string): string[] {
  const out: string[] = [];
  for (const p of phases) {
    out.push(`  ${p.flow.label} (${p.flow.from.split('-').pop() ?? ''} -> ${p.flow.dst})`);
    out.push(
      `    ${(p.steady ? `startup (first ${convergedAfterS} s, before the routes)` : 'startup (waiting for the routes)').padEnd(42)} ${count(p.startup, false)}`,
    );
    if (p.steady) out.push(`    ${'steady state (since converged)'.padEnd(42)} ${count(p.steady)}`);
    if (p.change) out.push(`    ${changeLabel.padEnd(42)} ${count(p.change)}`);
  }
  return out;
}

/** What the change's summary adds when it lost packets: why, for the FRR the gateway runs. */
function lossNote(frrVersion: string): string {
  const [major = 0, minor = 0] = frrVersion.split('.').map(Number);
  if (major < 10 || (major === 10 && minor < 6))
    return `; graceful restart covers EVPN routes only from FRR 10.6, this gateway runs ${frrVersion} (docs/benchmarks.md; DEMO_FRR unset: FRR 10.7.1)`;
  return `; FRR ${frrVersion}: graceful restart for EVPN at the router, the supervisor's EVPN hold at the gateway (docs/design.md#the-evpn-hold-frr-106)`;
}

async function teardown(code: number): Promise<never> {
  if (stopping) {
    console.log('still tearing down (a second Ctrl-C does not stop that: it would leave namespaces and FRR behind)');
    return new Promise<never>(() => undefined);
  }
  stopping = true;
  if (lastPhases.length > 0) {
    const part = (name: string, c: PhaseCount | undefined): string => (c ? `, ${name} ${c.lost} of ${c.sent}` : '');
    console.log(
      `\ntraffic totals (lost of sent, per phase): ${lastPhases
        .map(
          (p) =>
            `${p.flow.label} startup ${p.startup.lost} of ${p.startup.sent}${part('steady state', p.steady)}${part('config change', p.change)}`,
        )
        .join('; ')}`,
    );
  }
  console.log(`\ntearing down: SIGTERM to frr-supervisor (drains the sessions), then ${CONTAINERS ? 'the containers and ' : ''}the lab`);
  server?.close();
  try {
    await meter?.close();
    if (sup) {
      const r = await sup.stop('SIGTERM');
      console.log(`frr-supervisor exited with code ${String(r.code)} in ${r.ms} ms`);
      await sup.cleanup();
      if (sup.containerName) console.log(`removed the gateway's container ${sup.containerName}`);
    }
    if (routerContainer) {
      await routerContainer.stop();
      console.log(`removed the router's container ${routerContainer.name}`);
    }
  } finally {
    // whatever container was started and not yet removed (a Ctrl-C while one was starting)
    await removeAll();
    // The supervisor created the VRF namespace inside its own mount namespace (it runs under ip netns exec): here
    // /run/netns/VRF is only the empty file the mount sat on, which `ip netns del` removes (checked below).
    await execa('ip', ['netns', 'del', VRF], { reject: false });
    if (existsSync(`/run/netns/${VRF}`)) {
      await execa('umount', ['--lazy', `/run/netns/${VRF}`], { reject: false });
      await execa('rm', ['-f', `/run/netns/${VRF}`], { reject: false });
      console.log(`removed a leftover /run/netns/${VRF}`);
    }
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
  let routerFrr: string;
  if (CONTAINERS) {
    // podman, runc, debootstrap and the debian:trixie-slim base (installed and made when missing), then the image
    const cached = await routerImageCurrent('10.7').catch(() => false);
    console.log(
      cached
        ? `FRR 10.7.1 on both sides (DEMO_FRR=host: the host's FRR instead): the image ${FRR107_IMAGE} is here`
        : `FRR 10.7.1 on both sides (DEMO_FRR=host: the host's FRR instead): building ${FRR107_IMAGE}, as on the first run on a machine or after its Containerfile changed ` +
            '(podman, runc, debootstrap installed when missing, a debian:trixie-slim base, FRR 10.7.1 from Debian forky: ' +
            'about 1 min with a reachable Debian mirror; later runs reuse it)',
    );
    const t = performance.now();
    await execa('bash', ['scripts/image-base.sh'], { cwd: REPO, stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' });
    routerFrr = await ensureRouterImage('10.7');
    console.log(`FRR ${routerFrr} image ${cached ? 'checked' : 'built'} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } else {
    routerFrr = /version (\S+)/.exec((await execa('/usr/lib/frr/zebra', ['--version'], { reject: false })).stdout)?.[1] ?? 'unknown';
    console.log(`the host's FRR ${routerFrr} on both sides (DEMO_FRR=host; unset: FRR 10.7.1 in containers)`);
  }
  console.log('building the lab: gateway and router namespaces, a veth between them (10.0.1.13 <-> 10.0.1.1)');
  lab = await createLab();
  const hosts = await addHosts(lab);
  let router: { vtysh(cmds: string[] | string): Promise<string> };
  if (CONTAINERS) {
    routerContainer = await ContainerRouter.start({ ns: lab.rtNs, dir: lab.tmpDir, frr: '10.7', ...evpnVrfRouter(1016) });
    router = routerContainer;
  } else {
    await evpnRouterDevices(lab, 1016);
    router = await lab.startRouter(evpnRouterConf(1016, GW, RT, { connected: true }));
  }
  console.log(
    `external router: FRR ${routerFrr}${CONTAINERS ? ` (container ${routerContainer?.name ?? ''})` : ''}, AS 65001, L3VNI 1016 in ${
      CONTAINERS ? `its VRF ${ROUTER_VRF}` : 'its default VRF'
    }, graceful restart on, announcing`,
    ROUTER_PREFIX,
    `(remote host ${REMOTE.address} behind it)`,
  );
  console.log(`VPC host behind the gateway's ${VPC.gatewayIf}: ${VPC.address} (the internal gateway) and ${VPC.routedAddress}`);
  sup = startSupervisor(lab, {
    files: { 'bgp-conf.yaml': BGP_CONF, 'evpn-conf.yaml': EVPN_CONF, 'gateway.yaml': GATEWAY },
    args: ['--poll-interval', '2s'],
    ...(CONTAINERS && { container: { image: FRR107_IMAGE } }),
  });
  const s = sup;
  /** vtysh on the gateway's FRR: in its container (the host's vtysh is another FRR version) or on the host. */
  const gwVtysh = async (cmd: string): Promise<string> =>
    s.containerName
      ? (await podman(['exec', s.containerName, 'vtysh', '-N', s.pathspace, '-c', cmd], { timeoutMs: 30_000 })).stdout
      : s.vty.run([cmd]);
  console.log(
    `gateway: frr-supervisor run${s.containerName ? ` (from source, in container ${s.containerName})` : ''} with the Kube-OVN docs' bgp-conf-6502 and evpn-conf-1016, gracefulRestart: true`,
  );
  const detected = await s.waitForEvent('frr_detected', () => true, 60_000);
  const gatewayFrr = String(detected.version);
  await s.waitForEvent('config_applied', () => true, 60_000);
  const frrLine = `FRR ${gatewayFrr} on the gateway${s.containerName ? ' (container)' : ' (host)'}, FRR ${routerFrr} on the router${
    CONTAINERS ? ' (container, L3VNI in a VRF)' : ' (host, L3VNI in its default VRF)'
  }`;
  console.log(frrLine);

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
  let convergedAt = 0;
  let change: { at: number; applied?: string; sessionBackMs?: number; result?: string } | undefined;
  const CHANGE_LABEL = 'config change (timers 90s/30s -> 60s/20s)';
  const flows = hostFlows(hosts);
  meter = await LossMeter.start(flows);
  const m = meter;
  let traffic: Record<string, FlowStats> = {};
  for (;;) {
    await phaseReport(m).catch(() => undefined);
    traffic = Object.fromEntries(lastPhases.map((p) => [p.flow.label, p.flow]));
    const status = await s.httpJson<StatusDoc>('/status').catch(() => undefined);
    const gwType5 = listType5Routes(await gwVtysh('show bgp l2vpn evpn route type prefix json').catch(() => '{}'));
    const rtType5 = listType5Routes(await router.vtysh('show bgp l2vpn evpn route type prefix json').catch(() => '{}'));
    const lines = [
      `frr-supervisor demo: ${Math.round((Date.now() - t0) / 1000)} s${SECONDS ? ` of ${SECONDS}` : ', Ctrl-C to stop'}`,
      frrLine,
      '',
      status ? formatStatus(status.doc) : 'waiting for /status ...',
      'TYPE-5 ROUTES',
      ...gwType5.filter((r) => !r.local).map((r) => `  gateway <- router  ${r.prefix ?? r.route}  rd ${r.rd}  rmac ${r.routerMac ?? '-'}`),
      ...rtType5.filter((r) => !r.local).map((r) => `  router  <- gateway ${r.prefix ?? r.route}  rd ${r.rd}  rmac ${r.routerMac ?? '-'}`),
      '',
      'TRAFFIC (UDP probes, 1000/s each way; per phase, by sequence number; the last 200 ms not counted yet)',
      ...trafficLines(lastPhases, CHANGE_LABEL),
      ...(change?.result ? ['', change.result] : change ? ['', 'config change in progress ...'] : []),
    ];
    if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
    console.log(lines.join('\n'));
    const flowing = Object.values(traffic).length > 0 && Object.values(traffic).every((f) => f.received > 0);
    const up =
      status?.doc.neighbours.some((n) => n.established) && gwType5.some((r) => !r.local) && rtType5.some((r) => !r.local) && flowing;
    if (up && !converged) {
      converged = true;
      convergedAt = Date.now();
      convergedAfterS = Math.round((Date.now() - t0) / 1000);
      // The startup ends here: what was lost before the routes existed is counted apart from now on.
      mark(await m.report(), (k, sent) => (k.converged = sent));
      console.log(`converged: session Established and type-5 routes both ways after ${convergedAfterS} s`);
      console.log('traffic flows both ways through the gateway; from now on its loss is counted as the steady state');
    }
    if (converged && !change && Date.now() - convergedAt >= CHANGE_AFTER * 1000) {
      // A config change through the config volume, as kubelet writes a ConfigMap update (atomic ..data swap).
      const before = s.events.length;
      mark(await m.report(), (k, sent) => (k.changeFrom = sent));
      change = { at: Date.now() };
      s.volume.update({ 'bgp-conf.yaml': BGP_CONF_CHANGED, 'evpn-conf.yaml': EVPN_CONF, 'gateway.yaml': GATEWAY });
      const c = change;
      void (async () => {
        const applied = await s.waitForEvent('config_applied', () => true, 30_000, before);
        c.applied = `applied in ${String(applied.durationMs)} ms, restarted ${(applied.restarted as string[] | undefined)?.join(', ') ?? '-'}`;
        // the session is back when FRR shows it Established with an uptime shorter than the time since the change
        for (
          const deadline = Date.now() + 60_000;
          c.sessionBackMs === undefined && Date.now() < deadline;
          await new Promise((r) => setTimeout(r, 100))
        ) {
          const sum = JSON.parse((await gwVtysh('show bgp l2vpn evpn summary json').catch(() => '{}')) || '{}') as {
            peers?: Record<string, { state?: string; peerUptimeMsec?: number }>;
          };
          const p = sum.peers?.[RT];
          if (p?.state === 'Established' && (p.peerUptimeMsec ?? Infinity) < Date.now() - c.at)
            c.sessionBackMs = Date.now() - (p.peerUptimeMsec ?? 0) - c.at;
        }
        if (c.sessionBackMs === undefined) throw new Error('the session did not come back within 60 s');
        await m.waitFlowing({ timeoutMs: 60_000, freshMs: 300 });
        await new Promise((r) => setTimeout(r, 1000));
        // The change's window ends a second after both flows deliver again; its probes are all accounted for once
        // they are 200 ms old.
        mark(await m.report(), (k, sent) => (k.changeTo = sent));
        await new Promise((r) => setTimeout(r, 300));
        const phases = await phaseReport(m);
        const lost = phases.map((p) => `${p.flow.label} ${p.change?.lost ?? 0}`);
        const total = phases.reduce((a, p) => a + (p.change?.lost ?? 0), 0);
        const gap = Math.max(...phases.map((p) => p.change?.longestGapMs ?? 0));
        c.result = `config change (BgpConf timers 90s/30s -> 60s/20s, through the config volume): ${c.applied}, session back in ${((c.sessionBackMs ?? 0) / 1000).toFixed(1)} s, ${total} packets lost (${lost.join(', ')}; longest gap ${gap} ms)${total > 0 ? lossNote(gatewayFrr) : ''}`;
        console.log(c.result);
      })().catch((e: unknown) => {
        c.result = `config change: ${(e as Error).message}`;
        console.log(c.result);
      });
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
