/**
 * bench:traffic: packets lost, and the longest gap, in each direction between a remote host (behind the external
 * router) and a VPC host (behind the gateway) during each event, EVPN (netns VRF backend) and BGP-only, measured
 * by the lab's loss meter (1000 probes/s each way, lab/loss-meter.ts), BENCH_REPS repetitions (default 5).
 *
 * Events: bgpd_restart_gr (a timer change, graceful restart on), bgpd_restart_no_gr (the same, gracefulRestart:
 * false), zebra_restart (a change zebra must see: the VRF table in EVPN mode, the VRF backend in BGP-only mode, which
 * has no VRF), kill_bgpd, kill_zebra (SIGKILL), drain (the supervisor SIGTERMed: how long the router black-holes,
 * from the last probe delivered to the router removing the gateway's route; a lone gateway carries nothing after),
 * pod_replace (Kube-OVN's way: the whole gateway stopped and started again; the outage until traffic flows),
 * advertise_change (a prefix added to gateway.yaml `advertise`, then removed, alternately; not one that carries the
 * measured traffic) and neighbour_add (a neighbour added to the BgpConf, a peer that never answers; removed again
 * between repetitions, unmetered): both applied live (no restart, src/render/live-commands.ts), and each run says
 * whether it was (a fallback to the restart is counted, not hidden).
 *
 * Each lab's router is started first and the restart events wait until it is older than its graceful-restart time (120 s):
 * FRR 8.4 sets the Restart bit in its OPENs during that time, which makes a restarting gateway's bgpd release its
 * preserved routes at once (docs/design.md, graceful restart). Prints a line per figure, then one JSON object.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { createLab, waitFor } from '../lab/lab.ts';
import type { Lab } from '../lab/lab.ts';
import { startSupervisor } from '../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../lab/supervisor-process.ts';
import { bgpRouterConf, docsBgpConf, docsEvpnConf, GW, RT } from '../lab/configs.ts';
import { evpnRouterConf, evpnRouterDevices, evpnVrfRouter, moveVrfRouterVni } from '../lab/evpn-router.ts';
import { addHosts, hostFlows, reattachVpcHost, VPC } from '../lab/hosts.ts';
import type { LabHosts } from '../lab/hosts.ts';
import { LossMeter } from '../lab/loss-meter.ts';
import type { FlowStats } from '../lab/loss-meter.ts';
import { median } from './stats.ts';
import { ContainerRouter, ensureRouterImage, FRR107_IMAGE } from '../lab/router-container.ts';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const ROUTER_MIN_AGE_MS = Number(process.env.BENCH_ROUTER_AGE_S ?? 125) * 1000;
const EVENTS = [
  'bgpd_restart_gr',
  'bgpd_restart_no_gr',
  'zebra_restart',
  'kill_bgpd',
  'kill_zebra',
  'drain',
  'pod_replace',
  'advertise_change',
  'neighbour_add',
] as const;
type EventName = (typeof EVENTS)[number];
/** Events applied live: nothing restarts, so the router's graceful-restart age does not matter. */
const LIVE_EVENTS: readonly EventName[] = ['advertise_change', 'neighbour_add'];
/** advertise_change's extra prefix (routed at the gateway, carries no measured traffic) and neighbour_add's neighbour. */
const EXTRA_PREFIX = '10.18.0.0/16';
const EXTRA_NEIGHBOUR = '10.0.1.2';
type Mode = 'evpn' | 'bgp';
const ONLY = process.env.BENCH_EVENTS?.split(',') as EventName[] | undefined;
const MODES = (process.env.BENCH_MODES?.split(',') ?? ['bgp', 'evpn']) as Mode[];
/**
 * BENCH_FRR=10.7: each mode also runs with FRR 10.7.1 on both sides (the router in a container, the supervisor in a
 * container of the same image in the gateway namespace: lab/router-container.ts), side by side with the host's FRR in
 * the same run; its results are keyed `MODE@frr10.7`.
 */
const EXTRA_FRR = process.env.BENCH_FRR ? process.env.BENCH_FRR.split(',').filter((f) => f !== 'host') : [];
for (const f of EXTRA_FRR) if (f !== '10.7') throw new Error(`BENCH_FRR: unknown FRR ${f} (known: 10.7)`);
type Frr = 'host' | '10.7';
const FRRS: Frr[] = ['host', ...(EXTRA_FRR as Frr[])];
// FRR 10.7 runs in containers: podman, runc and the debian:trixie-slim base, installed and made when missing.
if (EXTRA_FRR.length > 0) await execa('bash', ['scripts/image-base.sh'], { stdio: 'inherit' });

interface Run {
  /** Per direction: lost probes and the longest gap (ms). */
  dirs: Record<string, { lost: number; gapMs: number }>;
  receiverDrops: number;
  /** Live events: whether the change was applied live (false: it fell back to a restart). */
  live?: boolean;
}

const bgpConf = (keepalive: number, neighbours = [RT]): string =>
  docsBgpConf({ hold: `${keepalive * 3}s`, keepalive: `${keepalive}s`, connect: '1s', neighbours });

interface FilesOptions {
  keepalive?: number;
  gr?: boolean;
  /** advertise_change: EXTRA_PREFIX advertised too. */
  extraPrefix?: boolean;
  /** neighbour_add: EXTRA_NEIGHBOUR a neighbour too. */
  extraNeighbour?: boolean;
}
const advertised = (o: FilesOptions): string =>
  [VPC.connectedCidr, VPC.routedCidr, ...(o.extraPrefix === true ? [EXTRA_PREFIX] : [])].join(', ');
const neighbours = (o: FilesOptions): string[] => [RT, ...(o.extraNeighbour === true ? [EXTRA_NEIGHBOUR] : [])];

interface Gw {
  mode: Mode;
  /** Which FRR runs on both sides, and its version. */
  frr: Frr;
  frrVersion: string;
  /** The results' key: the mode, with `@frr10.7` for FRR 10.7. */
  key: string;
  /** The router (vtysh), on the host's FRR or in a container. */
  router: { vtysh(cmds: string[]): Promise<string> };
  container: ContainerRouter | undefined;
  lab: Lab;
  hosts: LabHosts;
  sup: SupervisorProcess;
  routerStarted: number;
  files: (o?: FilesOptions) => Record<string, string>;
  /** EVPN: the VNI both sides use now (files() reads it). */
  state: { vni: number };
}

let hostFrrVersion: string | undefined;
async function hostFrr(): Promise<string> {
  hostFrrVersion ??= /version (\S+)/.exec((await execa('/usr/lib/frr/zebra', ['--version'], { reject: false })).stdout)?.[1] ?? 'unknown';
  return hostFrrVersion;
}

const vrfOf = (mode: Mode, frr: Frr): string => `fsl${process.pid}v${(mode === 'evpn' ? 2 : 3) + (frr === 'host' ? 0 : 2)}`;

async function setup(mode: Mode, frr: Frr): Promise<Gw> {
  const frrVersion = frr === 'host' ? await hostFrr() : await ensureRouterImage(frr);
  const lab = await createLab();
  const hosts = await addHosts(lab);
  const vrf = vrfOf(mode, frr);
  let routerStarted = 0;
  let files: Gw['files'];
  const state = { vni: 1016 };
  let container: ContainerRouter | undefined;
  const startRouter = async (config: string, more: { prelude?: string; zebraOptions?: string } = {}): Promise<Gw['router']> => {
    if (frr === 'host') return lab.startRouter(config);
    container = await ContainerRouter.start({ ns: lab.rtNs, config, dir: lab.tmpDir, frr, ...more });
    return container;
  };
  let router: Gw['router'] | undefined;
  if (mode === 'evpn' && frr !== 'host') {
    // FRR 10.7's router has its L3VNI in a VRF (lab/evpn-router.ts evpnVrfRouter says why not the default VRF)
    const r = evpnVrfRouter(1016);
    routerStarted = Date.now();
    router = await startRouter(r.config, r);
  } else if (mode === 'evpn') {
    await evpnRouterDevices(lab, 1016);
    routerStarted = Date.now();
    router = await startRouter(evpnRouterConf(1016, GW, RT, { connected: true }));
  }
  if (mode === 'evpn') {
    files = (o = {}) => ({
      'bgp-conf.yaml': bgpConf(o.keepalive ?? 3, neighbours(o)),
      'evpn-conf.yaml': docsEvpnConf(state.vni),
      'gateway.yaml': `advertise: [${advertised(o)}]\ninternalInterface: ${VPC.gatewayIf}\ninternalGateway: ${VPC.address}\nvrfBackend: netns\nvrf: {name: ${vrf}, table: 2000}\ngracefulRestart: ${String(o.gr ?? true)}\n`,
    });
  } else {
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', VPC.routedCidr, 'via', VPC.address]);
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', EXTRA_PREFIX, 'via', VPC.address]);
    routerStarted = Date.now();
    router = await startRouter(bgpRouterConf({ connected: true }));
    files = (o = {}) => ({
      'bgp-conf.yaml': bgpConf(o.keepalive ?? 3, neighbours(o)),
      'gateway.yaml': `advertise: [${advertised(o)}]\ninternalInterface: ${VPC.gatewayIf}\ngracefulRestart: ${String(o.gr ?? true)}\n`,
    });
  }
  if (!router) throw new Error('no router');
  const container_ = frr === 'host' ? {} : { container: { image: FRR107_IMAGE } };
  const sup = startSupervisor(lab, { files: files(), args: SUP_ARGS, ...container_ });
  await sup.waitForEvent('config_applied', () => true, 60_000);
  const key = frr === 'host' ? mode : `${mode}@frr${frr}`;
  return { mode, frr, frrVersion, key, router, container, lab, hosts, sup, routerStarted, files, state };
}

const SUP_ARGS = ['--resync', '2s', '--poll-interval', '1s'];

async function teardown(g: Gw): Promise<void> {
  await g.sup.cleanup();
  await g.container?.stop();
  await execa('ip', ['netns', 'del', vrfOf(g.mode, g.frr)], { reject: false });
  await g.lab.cleanup();
}

/** Waits until the gateway is ready and the traffic flows both ways (a short meter run). */
async function settle(g: Gw): Promise<void> {
  await waitFor(async () => (await g.sup.http('/readyz')).status === 200, { timeoutMs: 60_000, what: `${g.key} gateway ready` });
  const m = await LossMeter.start(hostFlows(g.hosts));
  try {
    await m.waitFlowing({ timeoutMs: 60_000 });
  } finally {
    await m.close();
  }
  await sleep(2000); // the router's and the gateway's GR state settle (EoR exchanged, stale paths gone)
}

function dirsOf(stats: Record<string, FlowStats>): Run['dirs'] {
  const out: Run['dirs'] = {};
  for (const s of Object.values(stats))
    out[s.label.startsWith('remote') ? 'remote->vpc' : 'vpc->remote'] = { lost: s.lost, gapMs: s.longestGapMs };
  return out;
}

/** Runs `event` with the meter on; waits until both directions flow again (+1 s), returns the stats. */
async function metered(g: Gw, event: () => Promise<void>): Promise<Run> {
  const m = await LossMeter.start(hostFlows(g.hosts));
  try {
    await m.waitFlowing({ timeoutMs: 30_000 });
    // restart the meter's window once it delivers, so that the path's warm-up is not counted
    await m.close();
  } catch (e) {
    await m.close();
    throw e;
  }
  const w = await LossMeter.start(hostFlows(g.hosts));
  try {
    await w.waitFlowing({ timeoutMs: 30_000 });
    await sleep(500);
    await event();
    await sleep(300);
    await w.waitFlowing({ timeoutMs: 90_000, freshMs: 200 });
    await sleep(1000);
    const stats = await w.stop();
    return { dirs: dirsOf(stats), receiverDrops: Math.max(...Object.values(stats).map((s) => s.receiverDrops)) };
  } catch (e) {
    await w.close();
    throw e;
  }
}

/** Applies the files; true when the change was applied live (config_applied's `live`). */
async function applyFiles(g: Gw, files: Record<string, string>): Promise<boolean> {
  const before = g.sup.events.length;
  g.sup.volume.update(files);
  const e = await g.sup.waitForEvent('config_applied', () => true, 60_000, before);
  return e.live === true;
}

/** A live event, metered; the run says whether the change was applied live. */
async function meteredLive(g: Gw, files: Record<string, string>): Promise<Run> {
  let live = false;
  const run = await metered(g, async () => {
    live = await applyFiles(g, files);
  });
  return { ...run, live };
}

async function killDaemon(g: Gw, name: 'bgpd' | 'zebra'): Promise<void> {
  const pid = await g.sup.daemonPid(name);
  if (!pid) throw new Error(`${name} is not running`);
  const bgpd = await g.sup.daemonPid('bgpd');
  process.kill(pid, 'SIGKILL');
  // bgpd is restarted in both cases (after zebra when zebra died): a new bgpd pid
  await waitFor(
    async () => {
      const now = await g.sup.daemonPid('bgpd');
      return now !== undefined && now !== bgpd;
    },
    { timeoutMs: 60_000, intervalMs: 50, what: `bgpd restarted after ${name} was killed` },
  );
}

/** EVPN: both sides move to another VNI (the router first: its L3VNI, devices and route targets), the gateway by its EvpnConf. */
async function changeVni(g: Gw, vni: number): Promise<void> {
  if (g.container) {
    // the router's L3VNI lives in its VRF (evpnVrfRouter)
    await moveVrfRouterVni(g.container, g.state.vni, vni);
    g.state.vni = vni;
    await applyFiles(g, g.files());
    return;
  }
  const router = g.router;
  await router.vtysh(['configure terminal', 'vrf default', `no vni ${g.state.vni}`, 'exit-vrf']);
  await evpnRouterDevices(g.lab, vni);
  await router.vtysh([
    'configure terminal',
    'vrf default',
    `vni ${vni}`,
    'exit-vrf',
    'router bgp 65001',
    'address-family l2vpn evpn',
    `no route-target import 65000:${g.state.vni}`,
    `no route-target export 65000:${g.state.vni}`,
    `route-target import 65000:${vni}`,
    `route-target export 65000:${vni}`,
  ]);
  g.state.vni = vni;
  await applyFiles(g, g.files());
}

/** The supervisor SIGTERMed: from the last probe the VPC host received to the router removing the route. */
async function drainOnce(g: Gw): Promise<Run> {
  const warm = await LossMeter.start(hostFlows(g.hosts));
  await warm.waitFlowing({ timeoutMs: 30_000 }).finally(() => warm.close());
  const mon = execa('ip', ['-n', g.lab.rtNs, 'monitor', 'route'], { reject: false, buffer: false });
  let removedAt: number | undefined;
  const seen: string[] = [];
  const re = new RegExp(`^Deleted ${VPC.routedCidr.replaceAll('.', '\\.')} `);
  mon.stdout?.on('data', (d: Buffer) => {
    const lines = d.toString().split('\n');
    seen.push(...lines);
    if (removedAt === undefined && lines.some((l) => re.test(l))) removedAt = Number(process.hrtime.bigint()) / 1e6;
  });
  await sleep(200);
  const m = await LossMeter.start(hostFlows(g.hosts));
  let stats: Record<string, FlowStats>;
  let stopped = false;
  try {
    await m.waitFlowing({ timeoutMs: 30_000 });
    await sleep(500);
    stopped = true;
    await g.sup.stop('SIGTERM');
    await waitFor(() => removedAt !== undefined, {
      timeoutMs: 30_000,
      intervalMs: 20,
      what: 'the router removing the gateway route',
    }).catch(async (e: unknown) => {
      const now = await execa('ip', ['-n', g.lab.rtNs, 'route'], { reject: false });
      const sup = g.sup.events
        .filter((x) => x.event !== undefined)
        .slice(-12)
        .map((x) => `${String(x.time)} ${String(x.event)}: ${String(x.msg).slice(0, 160)}`);
      throw new Error(
        `${(e as Error).message}; route monitor: ${seen.join(' | ')}; routes now: ${now.stdout}; supervisor: ${sup.join(' | ')}`,
      );
    });
    await sleep(300);
    stats = await m.stop();
  } catch (e) {
    await m.close();
    // a failed repetition must not leave the gateway stopped for the next one
    if (stopped) await restartGateway(g);
    throw e;
  } finally {
    mon.kill();
  }
  // Only remote->vpc: the router forwarding to a gateway that no longer forwards. The other direction stops at the
  // gateway itself (its routes to the router go with its FRR), which is not the router's black hole.
  const dirs: Run['dirs'] = {};
  for (const s of Object.values(stats).filter((x) => x.label.startsWith('remote'))) {
    const dir = 'remote->vpc';
    const open = s.holes.find((h) => h.open);
    // The black hole: the gateway no longer forwards, yet the router still sends to it.
    const lastOk = open ? m.startedMs + open.atMs : undefined;
    const blackholeMs = lastOk === undefined || removedAt === undefined ? 0 : Math.max(0, removedAt - lastOk);
    dirs[dir] = { lost: Math.round((blackholeMs * s.rate) / 1000), gapMs: Math.round(blackholeMs) };
  }
  await restartGateway(g);
  return { dirs, receiverDrops: 0 };
}

/** A new supervisor after a drain or a stop (EVPN: the VRF namespace went with the old one's mount namespace, and int0 with it). */
async function restartGateway(g: Gw): Promise<void> {
  await reattachVpcHost(g.lab, g.hosts.vpcNs);
  g.sup.start({ files: g.files(), args: SUP_ARGS, ...(g.frr !== 'host' && { container: { image: FRR107_IMAGE } }) });
  await g.sup.waitForEvent('config_applied', () => true, 60_000);
}

async function runEvent(g: Gw, name: EventName, rep: number): Promise<Run> {
  switch (name) {
    case 'bgpd_restart_gr':
      return metered(g, async () => void (await applyFiles(g, g.files({ keepalive: rep % 2 ? 3 : 4 }))));
    case 'bgpd_restart_no_gr':
      return metered(g, async () => void (await applyFiles(g, g.files({ keepalive: rep % 2 ? 3 : 4, gr: false }))));
    case 'zebra_restart':
      // EVPN: a VNI change on both sides (zebra then bgpd restart; the VXLAN device is recreated). BGP-only has no
      // change that restarts zebra but switching graceful restart itself: not measured (null in the JSON).
      return metered(g, () => changeVni(g, rep % 2 ? 1016 : 2016));
    case 'kill_bgpd':
      return metered(g, () => killDaemon(g, 'bgpd'));
    case 'kill_zebra':
      return metered(g, () => killDaemon(g, 'zebra'));
    case 'drain':
      return drainOnce(g);
    case 'pod_replace':
      return metered(g, async () => {
        await g.sup.stop('SIGTERM');
        // a new Pod: the CNI plugs its interface
        await restartGateway(g);
      });
    case 'advertise_change':
      return meteredLive(g, g.files({ extraPrefix: rep % 2 === 0 }));
    case 'neighbour_add': {
      const run = await meteredLive(g, g.files({ extraNeighbour: true }));
      await applyFiles(g, g.files()); // removed again, unmetered
      return run;
    }
  }
}

const results: Record<string, Record<string, unknown>> = {};
const t0 = Date.now();
const gws: Gw[] = [];
let exitCode = 0;
try {
  // Both labs first: the second router ages while the first mode is measured.
  for (const mode of MODES) for (const frr of FRRS) gws.push(await setup(mode, frr));
  const restartEvents = EVENTS.filter((e) => !LIVE_EVENTS.includes(e) && (!ONLY || ONLY.includes(e)));
  for (const g of gws) {
    const wait = restartEvents.length > 0 ? ROUTER_MIN_AGE_MS - (Date.now() - g.routerStarted) : 0;
    if (wait > 0) {
      console.log(`${g.key}: waiting ${Math.round(wait / 1000)} s until the router is older than its graceful-restart time`);
      await sleep(wait);
    }
    for (const name of EVENTS) {
      if (ONLY && !ONLY.includes(name)) continue;
      if (name === 'zebra_restart' && g.mode === 'bgp') {
        (results[name] ??= {})[g.key] = null;
        console.log('zebra_restart bgp: not measured (in BGP-only mode only switching graceful restart itself restarts zebra)');
        continue;
      }
      if (name === 'bgpd_restart_no_gr') await applyFiles(g, g.files({ gr: false }));
      await settle(g);
      const runs: Run[] = [];
      const failures: string[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        let r: Run;
        try {
          r = await runEvent(g, name, rep);
        } catch (e) {
          // one failed repetition is reported, not fatal: the next one starts from a settled gateway
          failures.push((e as Error).message.slice(0, 300));
          console.log(`${name} ${g.key} #${rep + 1}: FAILED: ${(e as Error).message}`);
          await settle(g);
          continue;
        }
        runs.push(r);
        console.log(
          `${name} ${g.key} #${rep + 1}: ${Object.entries(r.dirs)
            .map(([d, x]) => `${d} lost ${x.lost} gap ${x.gapMs} ms`)
            .join(
              ', ',
            )}${r.receiverDrops ? ` (receiver drops ${r.receiverDrops})` : ''}${r.live === undefined ? '' : r.live ? ' (live)' : ' (NOT live: fell back to a restart)'}`,
        );
        await settle(g);
      }
      if (name === 'bgpd_restart_no_gr') {
        await applyFiles(g, g.files());
        await settle(g);
      }
      if (name === 'zebra_restart' && g.state.vni !== 1016) {
        await changeVni(g, 1016);
        await settle(g);
      }
      const per = (f: (r: Run) => number): number[] => runs.map(f);
      const lost = per((r) => Object.values(r.dirs).reduce((a, x) => a + x.lost, 0));
      const gap = per((r) => Math.max(...Object.values(r.dirs).map((x) => x.gapMs)));
      const directions: Record<string, unknown> = {};
      for (const d of Object.keys(runs[0]?.dirs ?? {})) {
        const l = per((r) => r.dirs[d]?.lost ?? 0);
        const gp = per((r) => r.dirs[d]?.gapMs ?? 0);
        directions[d] = { lost_median: median(l), lost_max: Math.max(...l), gap_ms_median: median(gp), gap_ms_max: Math.max(...gp) };
      }
      const entry = {
        frr: g.frrVersion,
        lost_median: median(lost),
        lost_max: Math.max(...lost),
        gap_ms_median: median(gap),
        gap_ms_max: Math.max(...gap),
        runs: runs.length,
        ...(LIVE_EVENTS.includes(name) && { live_runs: runs.filter((r) => r.live === true).length }),
        failed_runs: failures.length,
        ...(failures.length > 0 && { failures }),
        directions,
      };
      (results[name] ??= {})[g.key] = entry;
      console.log(
        `${name} ${g.key} (FRR ${g.frrVersion}): lost (both directions) median ${entry.lost_median}, max ${entry.lost_max}; longest gap median ${entry.gap_ms_median} ms, max ${entry.gap_ms_max} ms (n=${runs.length}${'live_runs' in entry ? `, ${entry.live_runs} applied live` : ''})`,
      );
    }
  }
} catch (e) {
  console.error(`bench:traffic failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  for (const g of gws) await teardown(g).catch((e: unknown) => console.error(`cleanup: ${(e as Error).message}`));
}
console.log(
  JSON.stringify({
    bench: 'traffic',
    date: new Date().toISOString(),
    reps: REPS,
    rate_pps_each_way: 1000,
    // the FRR measured: the host's, and BENCH_FRR's (both sides of a lab run the same FRR)
    frr: Object.fromEntries(gws.map((g) => [g.key, g.frrVersion])),
    note: 'lost_* are both directions added per run, gap_ms_* the longer direction per run; directions[] has each; drain: black-hole time at the router',
    duration_s: Math.round((Date.now() - t0) / 1000),
    by_event: results,
  }),
);
process.exit(exitCode);
