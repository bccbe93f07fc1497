/**
 * Faults and hardening end to end, against real FRR on both sides (the lab gateway run by `frr-supervisor run`,
 * an external-router FRR in another namespace, AS 65002 <-> 65001 with 1 s / 3 s timers):
 * - a seeded random sequence of 100 faults (config updates valid and invalid, kubelet swaps, the config dir
 *   deleted and restored, kill -9 of every daemon, SIGSTOP/SIGCONT of bgpd), then convergence to the last
 *   valid input;
 * - the disk filling up while frr.conf is written (a 64 KiB tmpfs as the FRR config dir), and bgpd crashing
 *   while it is full;
 * - a daemon killed again while its own crash recovery is still running;
 * - the external router flapping 50 times;
 * - shell metacharacters and FRR line breaks in every string field of the input (files and Kube-OVN env);
 * - HTTP: GET/HEAD only, bodies never read, header size bounded, slow clients cut off;
 * - a static check that src/ runs external commands only through execa with argument arrays, never a shell.
 * (The SIGKILL-and-takeover fault is in supervisor.test.ts.) FAULT_SEED=N replays a random sequence.
 * Every test leaves nothing behind, even when it fails.
 */
import { bgpRouterConf, GW, GW_PREFIX, RT } from '../../lab/configs.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import ts from 'typescript';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { LogEvent, SupervisorProcess } from '../../lab/supervisor-process.ts';
import {
  auditProcesses,
  describeProcs,
  metricSample,
  NsHttp,
  persistentZombies,
  rawExchange,
  renderInput,
  Rng,
  runningConfigDiff,
  seedFrom,
  startSupervisorAt,
} from '../../lab/fault-kit.ts';
import { runCli } from '../helpers/cli.ts';
import { parseBgpSummary } from '../../src/state/bgp.ts';
import { shownConfigHash } from '../../src/render/frr-conf.ts';
import type { StatusDoc } from '../../src/observe/status.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { APPLY_RETRY } from '../../src/supervisor/apply.ts';

const GW_PREFIX2 = '10.18.0.0/16';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PEER = { vrf: 'default', afi: 'ipv4', safi: 'unicast', local_as: '65002', peer: RT, peer_as: '65001' };

const ROUTER_CONF = bgpRouterConf({ keepalive: 1, hold: 3 });

type Doc = Record<string, unknown>;

/** The BgpConf spec the tests start from: the docs' bgp-conf-6502 with short timers. */
const BASE_SPEC: Doc = { localASN: 65002, peerASN: 65001, neighbours: [RT], holdTime: '3s', keepaliveTime: '1s', connectTime: '1s' };
const resource = (kind: string, name: string, spec: Doc): Doc => ({ apiVersion: 'kubeovn.io/v1', kind, metadata: { name }, spec });
const bgpYaml = (spec: Doc = {}): string => toYaml(resource('BgpConf', 'bgp-conf-6502', { ...BASE_SPEC, ...spec }));
const gatewayYaml = (doc: Doc = {}): string => toYaml({ advertise: [GW_PREFIX], ...doc });
const BASE_FILES: Record<string, string> = { 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml() };

/** The sources /status lists, as one comparable string. */
const sourcesKey = (sources: ReadonlyArray<{ name: string; sha256: string }>): string =>
  sources
    .map((x) => `${x.name}=${x.sha256}`)
    .sort()
    .join(',');

/** A log field as text. */
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : (JSON.stringify(v) ?? ''));

function lastEvents(s: SupervisorProcess, n = 25): string {
  return s.events
    .slice(-n)
    .map((e) => `${String(e.time ?? '')} ${str(e.event ?? `[${str(e.daemon ?? '?')}]`)} ${String(e.msg ?? '').slice(0, 160)}`)
    .join('\n');
}

describe('faults and hardening against real FRR', { timeout: 1_500_000 }, () => {
  let lab: Lab;
  let router: RouterInstance;
  let http: NsHttp;
  let sup: SupervisorProcess | undefined;
  const mounts: string[] = [];

  before(async () => {
    lab = await createLab();
    // The advertised CIDRs must be in the gateway's table (FRR's network import-check), as the VPC routes are in the Pod.
    for (const p of [GW_PREFIX, GW_PREFIX2]) await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', p]);
    router = await lab.startRouter(ROUTER_CONF);
    http = await NsHttp.start(lab, 9180);
  });

  after(async () => {
    await sup?.cleanup();
    for (const m of mounts.splice(0)) await unmount(m);
    await http?.stop().catch(() => undefined);
    await lab?.cleanup();
  });

  async function unmount(dir: string): Promise<void> {
    const r = await execa('umount', [dir], { reject: false });
    if (r.exitCode !== 0) await execa('umount', ['-l', dir], { reject: false });
  }

  async function gwEstablished(s: SupervisorProcess): Promise<boolean> {
    const peers = parseBgpSummary(await s.vty.run(['show bgp ipv4 unicast summary json']), { afi: 'ipv4Unicast' });
    return peers.find((p) => p.peer === RT)?.established ?? false;
  }

  async function established(s: SupervisorProcess, timeoutMs = 20_000): Promise<void> {
    await waitFor(() => gwEstablished(s), { timeoutMs, intervalMs: 200, what: `the gateway's session with ${RT} Established` });
  }

  async function fresh(files: Record<string, string> = BASE_FILES, args: string[] = []): Promise<SupervisorProcess> {
    await sup?.cleanup();
    sup = startSupervisor(lab, { files, args });
    await sup.waitForEvent('config_applied', () => true, 30_000);
    await established(sup);
    return sup;
  }

  async function status(): Promise<StatusDoc> {
    return JSON.parse((await http.get('/status')).body) as StatusDoc;
  }

  async function peerStateMetric(): Promise<number | undefined> {
    return metricSample((await http.get('/metrics')).body, 'frr_bgp_peer_state', PEER);
  }

  // -------------------------------------------------------------------------------------------------------
  // 1. a seeded random sequence of faults

  /** A random valid input (every variant keeps the session with the router possible). */
  function validInput(rng: Rng): { files: Record<string, string>; label: string } {
    const spec: Doc = { localASN: 65002, peerASN: 65001, neighbours: rng.pick([[RT], [RT], ['10.0.1.2', RT]]) };
    Object.assign(
      spec,
      rng.pick<Doc>([
        { holdTime: '3s', keepaliveTime: '1s' },
        { holdTime: '9s', keepaliveTime: '3s' },
        { holdTime: '6s' },
        { keepaliveTime: '1s' },
        {},
      ]),
    );
    const connect = rng.pick([undefined, '1s', '2s', '3s']);
    if (connect) spec.connectTime = connect;
    const multihop = rng.pick([undefined, true, false]);
    if (multihop !== undefined) spec.ebgpMultiHop = multihop;
    const routerId = rng.pick([undefined, undefined, GW, '10.0.1.99']);
    if (routerId) spec.routerId = routerId;
    const gateway: Doc = {};
    const advertise = rng.pick([[GW_PREFIX], [GW_PREFIX], [GW_PREFIX, GW_PREFIX2], [], undefined]);
    if (advertise) gateway.advertise = advertise;
    if (rng.int(1, 6) === 1) gateway.gracefulRestart = false;
    const form = rng.pick(['resource-yaml', 'resource-yaml', 'bare-yaml', 'resource-json'] as const);
    const files: Record<string, string> = { 'gateway.yaml': toYaml(gateway) };
    if (form === 'resource-yaml') files['bgp-conf.yaml'] = toYaml(resource('BgpConf', 'bgp-conf-6502', spec));
    else if (form === 'bare-yaml') files['bgp-conf.yaml'] = toYaml(spec);
    else files['bgp-conf.json'] = JSON.stringify(resource('BgpConf', 'bgp-conf-6502', spec), null, 2);
    return { files, label: `${form} ${JSON.stringify(spec)} gateway ${JSON.stringify(gateway)}` };
  }

  /** A random invalid input (each a different way to be wrong). */
  function invalidInput(rng: Rng): { files: Record<string, string>; label: string } {
    const kind = rng.pick([
      'quoted-asn',
      'hold-2s',
      'keepalive-too-long',
      'neighbour-cidr',
      'yaml-syntax',
      'no-bgp-conf',
      'yaml-and-json',
      'advertise-33',
      'password-two-words',
      'evpn-vni-0',
      'vrf-name',
    ] as const);
    const gw = gatewayYaml();
    switch (kind) {
      case 'quoted-asn':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml({ localASN: '65002' }), 'gateway.yaml': gw } };
      case 'hold-2s':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml({ holdTime: '2s', keepaliveTime: undefined }), 'gateway.yaml': gw } };
      case 'keepalive-too-long':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml({ holdTime: '9s', keepaliveTime: '4s' }), 'gateway.yaml': gw } };
      case 'neighbour-cidr':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml({ neighbours: [`${RT}/24`] }), 'gateway.yaml': gw } };
      case 'yaml-syntax':
        return { label: kind, files: { 'bgp-conf.yaml': 'spec: [localASN: 65002\n  peerASN: {\n', 'gateway.yaml': gw } };
      case 'no-bgp-conf':
        return { label: kind, files: { 'gateway.yaml': gw } };
      case 'yaml-and-json':
        return {
          label: kind,
          files: { 'bgp-conf.yaml': bgpYaml(), 'bgp-conf.json': JSON.stringify(resource('BgpConf', 'x', BASE_SPEC)), 'gateway.yaml': gw },
        };
      case 'advertise-33':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ advertise: ['10.17.0.0/33'] }) } };
      case 'password-two-words':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gw, 'bgp-password': 'two words\n' } };
      case 'evpn-vni-0':
        return {
          label: kind,
          files: {
            'bgp-conf.yaml': bgpYaml(),
            'gateway.yaml': gw,
            'evpn-conf.yaml': toYaml(resource('EvpnConf', 'e', { vni: 0, routeTargets: ['65000:10'] })),
          },
        };
      case 'vrf-name':
        return { label: kind, files: { 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ vrf: { name: 'bad name!' } }) } };
    }
  }

  test('a seeded random sequence of 100 faults: FRR ends on the last valid input, Established, /livez 200', async (t) => {
    const seed = seedFrom('FAULT_SEED');
    const rng = new Rng(seed);
    t.diagnostic(`FAULT_SEED=${seed}`);
    console.log(`# random faults: FAULT_SEED=${seed} (set FAULT_SEED=${seed} to replay this sequence)`);
    const scratch = join(lab.tmpDir, 'oracle');
    // resync 3 s: what inotify cannot see (the directory deleted and re-created) is picked up soon
    const s = await fresh(BASE_FILES, ['--poll-interval', '1s', '--resync', '3s']);
    let current = BASE_FILES;
    let currentValid = true;
    let lastValid = BASE_FILES;
    const journal: string[] = [];
    const stopped = new Set<number>();
    const counts: Record<string, number> = {};
    const durations: Array<[number, string]> = [];
    const context = (): string => `FAULT_SEED=${seed}\nevents:\n${journal.slice(-30).join('\n')}\nsupervisor:\n${lastEvents(s, 40)}`;

    /**
     * An input is "seen" once /status lists its sources (the files that parsed, with their hashes, as the loader
     * computes them): from then on the supervisor acts on it, and a later input cannot swallow it.
     */
    const seen = async (files: Record<string, string>): Promise<void> => {
      const want = sourcesKey((await renderInput(files, scratch, GW)).sources);
      await waitFor(async () => sourcesKey((await status()).config.sources) === want, {
        timeoutMs: 40_000,
        intervalMs: 100,
        what: `the supervisor to load the input (${want || 'no sources'})`,
      });
    };

    const project = async (files: Record<string, string>, valid: boolean, label: string): Promise<void> => {
      const r = await renderInput(files, scratch, GW);
      assert.equal(
        r.conf !== undefined,
        valid,
        `the generator's ${valid ? 'valid' : 'invalid'} input (${label}) is ${valid ? 'invalid' : 'valid'}: ${r.errors.join('; ')}`,
      );
      current = files;
      currentValid = valid;
      if (valid) lastValid = files;
      s.volume.update(files);
      await seen(files);
    };

    const t0 = Date.now();
    try {
      for (let i = 1; i <= 100; i++) {
        const te = Date.now();
        const kind = rng.weighted({
          valid: 24,
          invalid: 16,
          swap: 10,
          'dir-cycle': 8,
          'kill-bgpd': 10,
          'kill-zebra': 7,
          'kill-staticd': 7,
          'stop-bgpd': 10,
        });
        counts[kind] = (counts[kind] ?? 0) + 1;
        let detail = '';
        switch (kind) {
          case 'valid': {
            const v = validInput(rng);
            detail = v.label;
            await project(v.files, true, v.label);
            break;
          }
          case 'invalid': {
            const v = invalidInput(rng);
            detail = v.label;
            await project(v.files, false, v.label);
            break;
          }
          case 'swap':
            // kubelet re-projects the same content: a new timestamped dir and a ..data swap
            s.volume.update(current);
            detail = 'same content re-projected';
            break;
          case 'dir-cycle': {
            rmSync(s.configDir, { recursive: true, force: true });
            const gone = rng.int(200, 2500);
            await delay(gone);
            mkdirSync(s.configDir, { recursive: true });
            if (rng.int(0, 1) === 1) {
              const v = validInput(rng);
              detail = `deleted for ${gone} ms, restored with a new valid input: ${v.label}`;
              await project(v.files, true, v.label);
            } else {
              detail = `deleted for ${gone} ms, restored as it was`;
              s.volume.update(current);
              await seen(current);
            }
            break;
          }
          case 'kill-bgpd':
          case 'kill-zebra':
          case 'kill-staticd': {
            const name = kind.slice('kill-'.length) as DaemonName;
            const pid = await s.daemonPid(name);
            if (pid === undefined) detail = `${name} not running (in its restart backoff)`;
            else {
              process.kill(pid, 'SIGKILL');
              detail = `${name}[${pid}]`;
            }
            break;
          }
          case 'stop-bgpd': {
            const pid = await s.daemonPid('bgpd');
            if (pid === undefined) {
              detail = 'bgpd not running';
              break;
            }
            const ms = rng.int(300, 4000);
            process.kill(pid, 'SIGSTOP');
            stopped.add(pid);
            await delay(ms);
            try {
              process.kill(pid, 'SIGCONT');
            } catch {
              // killed meanwhile (a config restart)
            }
            stopped.delete(pid);
            detail = `bgpd[${pid}] stopped for ${ms} ms`;
            break;
          }
        }
        const took = Date.now() - te;
        journal.push(`${String(i).padStart(3)} +${((te - t0) / 1000).toFixed(1)}s (${took} ms) ${kind}: ${detail}`);
        durations.push([took, journal[journal.length - 1] ?? '']);
        await delay(rng.int(100, 1000));
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${context()}`, { cause: e });
    } finally {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
    }
    t.diagnostic(`events: ${JSON.stringify(counts)}; sequence took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const slowest = durations
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3)
      .map(([, line]) => line.slice(0, 160));
    t.diagnostic(`slowest events (until the supervisor loaded the input): ${slowest.join(' | ')}`);

    // Convergence: the last valid input runs, the session is up, the supervisor is live and agrees.
    const want = await renderInput(lastValid, scratch, GW);
    assert.ok(want.conf);
    let diff = '';
    try {
      await waitFor(
        async () => {
          diff = runningConfigDiff(want.conf ?? '', await s.vty.run(['show running-config']));
          return diff === '';
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'the running config to equal the rendering of the last valid input' },
      );
      await established(s, 60_000);
      await http.waitStatus('/livez', 200, 60_000);
      await waitFor(async () => (await status()).config.running?.hash === shownConfigHash(want.conf ?? ''), {
        timeoutMs: 30_000,
        what: '/status running hash = the last valid input',
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nrunning vs rendered:\n${diff}\n${context()}`, { cause: e });
    }
    const st = await status();
    assert.equal(st.config.valid, currentValid, `config.valid follows the current input; ${context()}`);
    // no loss of processes either: the three daemons run (a daemon killed often may still be in its restart
    // backoff, at most 30 s), no duplicates, no zombies
    try {
      await waitFor(async () => (await auditProcesses(s)).frrProcesses.length === 3, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'zebra, staticd and bgpd all running',
      });
    } catch (e) {
      const daemonEvents = s.events
        .filter((x) => typeof x.event === 'string' && /^daemon_/.test(x.event))
        .slice(-20)
        .map((x) => `${str(x.time)} ${str(x.event)} ${str(x.daemon)} ${str(x.reason ?? x.err ?? x.signal)}`);
      throw new Error(
        `${(e as Error).message}\nFRR processes: ${describeProcs((await auditProcesses(s)).frrProcesses)}\n/status daemons: ${JSON.stringify((await status()).daemons)}\ndaemon events:\n${daemonEvents.join('\n')}\n${context()}`,
        { cause: e },
      );
    }
    const audit = await auditProcesses(s);
    assert.deepEqual(audit.extraDaemons, [], `FRR processes besides the daemons: ${describeProcs(audit.extraDaemons)}`);
    assert.equal(audit.frrProcesses.length, 3, `FRR daemons of the pathspace: ${describeProcs(audit.frrProcesses)}`);
    assert.deepEqual(await persistentZombies(s.pid ?? -1), [], 'zombie children of the supervisor');
    t.diagnostic(
      `converged ${((Date.now() - t0) / 1000).toFixed(1)} s after the first event; restarts: ${s.find('daemon_started').length}, applies: ${s.find('config_applied').length}, rejections: ${s.find('config_rejected').length}, failed applies: ${s.find('config_apply_failed').length}`,
    );
  });

  // -------------------------------------------------------------------------------------------------------
  // 2. the disk fills up

  /** A fresh supervisor whose FRR config dir is a 64 KiB tmpfs (unmounted in after() when the test fails). */
  async function onTmpfs(): Promise<{ s: SupervisorProcess; mnt: string }> {
    await sup?.cleanup();
    sup = undefined;
    let mnt = '';
    const s = await startSupervisorAt(lab, {
      files: BASE_FILES,
      args: ['--poll-interval', '1s', '--resync', '2s'],
      beforeStart: async (dir) => {
        await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', dir]);
        mounts.push(dir);
        mnt = dir;
      },
    });
    sup = s;
    await s.waitForEvent('config_applied', () => true, 30_000);
    await established(s);
    return { s, mnt };
  }

  async function offTmpfs(s: SupervisorProcess, mnt: string): Promise<void> {
    await s.cleanup();
    if (sup === s) sup = undefined;
    await unmount(mnt);
    mounts.splice(mounts.indexOf(mnt), 1);
  }

  /** Fills a filesystem to the last block with a file; returns its path. */
  function fillUp(dir: string): string {
    const filler = join(dir, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(4096, 0x61);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }
    assert.equal(statfsSync(dir).bavail, 0, `${dir} is full`);
    return filler;
  }

  test('the disk fills while frr.conf is written: the old config stays and runs, the error is reported, the next write succeeds', async (t) => {
    const { s, mnt } = await onTmpfs();
    const confBefore = readFileSync(s.paths.frrConf, 'utf8');
    const runningBefore = await s.vty.run(['show running-config']);
    const bgpd = await s.daemonPid('bgpd');

    const filler = fillUp(mnt);

    const before = s.events.length;
    s.volume.update({ ...BASE_FILES, 'bgp-conf.yaml': bgpYaml({ connectTime: '2s' }) });
    const failed = await s.waitForEvent('config_apply_failed', () => true, 15_000, before);
    assert.match(String(failed.err), /frr\.conf/, 'the error names the file');
    assert.match(String(failed.err), /ENOSPC|no space left/i, 'the error names the cause');
    t.diagnostic(`reported: ${String(failed.err)}`);
    assert.equal(readFileSync(s.paths.frrConf, 'utf8'), confBefore, 'the old frr.conf is intact');
    assert.deepEqual(
      readdirSync(s.paths.instanceConfigDir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
    // one more resync (2 s) meets the full disk again: still nothing damaged
    await delay(3000);
    assert.equal(readFileSync(s.paths.frrConf, 'utf8'), confBefore, 'the old frr.conf is still intact');
    assert.equal(await s.vty.run(['show running-config']), runningBefore, 'FRR still runs the old config');
    assert.equal(await s.daemonPid('bgpd'), bgpd, 'bgpd was not restarted');
    assert.ok(await gwEstablished(s), 'the session stays Established');
    assert.equal(s.find('config_applied').length, 1);
    const st = await status();
    assert.equal((st.config.lastApply as { result?: string }).result, 'failed');
    assert.match(String((st.config.lastApply as { error?: string }).error), /ENOSPC|no space left/i, '/status reports the write failure');
    assert.equal(st.config.running?.generation, 1, 'generation 1 keeps running');
    const metrics = (await http.get('/metrics')).body;
    assert.ok((metricSample(metrics, 'frr_supervisor_config_applies_total', { result: 'failed' }) ?? 0) >= 1, 'the failure is counted');
    assert.equal((await http.get('/livez')).status, 200);
    assert.equal((await http.get('/readyz')).status, 200, 'the old config runs and the peer is up: still ready');

    // space returns: the retry of the failed input writes and applies the pending change. Its backoff is 10 s, then
    // 20 s: on a loaded machine the asserts above can outlast the first retry (it met the full disk), so wait for the
    // second one.
    rmSync(filler);
    const applied = await s.waitForEvent('config_applied', () => true, APPLY_RETRY.initialMs * 3 + 10_000, before);
    assert.equal(applied.generation, 2);
    assert.match(readFileSync(s.paths.frrConf, 'utf8'), new RegExp(`neighbor ${RT.replace(/\./g, '\\.')} timers connect 2`));
    assert.match(await s.vty.run(['show running-config']), /timers connect 2/);
    await established(s);
    // and the next change goes through at once
    const next = s.events.length;
    s.volume.update({ ...BASE_FILES, 'bgp-conf.yaml': bgpYaml({ connectTime: '3s' }) });
    await s.waitForEvent('config_applied', (e) => e.generation === 3, 15_000, next);
    assert.match(await s.vty.run(['show running-config']), /timers connect 3/);
    await offTmpfs(s, mnt);
  });

  test('bgpd crashing while the disk is full comes back with its config once space returns', async () => {
    const { s, mnt } = await onTmpfs();
    const filler = fillUp(mnt);
    const pid = await s.daemonPid('bgpd');
    assert.ok(pid);
    const at = s.events.length;
    process.kill(pid, 'SIGKILL');
    await s.waitForEvent('daemon_exited', (e) => e.daemon === 'bgpd', 10_000, at);
    await delay(4000); // the restart meets the full disk (bgpd's boot config cannot be written)
    rmSync(filler);
    try {
      await waitFor(async () => (await s.vty.run(['show running-config'])).includes('router bgp 65002'), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: "bgpd's config back in FRR after space returned",
      });
      await established(s, 30_000);
    } catch (e) {
      const daemonEvents = s.events
        .slice(at)
        .filter((x) => typeof x.event === 'string')
        .map((x) => `${str(x.event)} ${str(x.daemon)} ${str(x.reason ?? x.err)}`);
      throw new Error(
        `${(e as Error).message}\nbgpd ${pid} -> ${String(await s.daemonPid('bgpd'))}; events since the kill:\n${daemonEvents.join('\n')}`,
        { cause: e },
      );
    } finally {
      await offTmpfs(s, mnt);
    }
  });

  test('a daemon killed again during its own crash recovery is restarted again', async () => {
    const s = await fresh(BASE_FILES, ['--poll-interval', '1s']);
    // zebra's recovery starts zebra, then bgpd ('dependency'): kill the new zebra in between
    let hit = false;
    for (let attempt = 1; attempt <= 5 && !hit; attempt++) {
      await waitFor(async () => (await auditProcesses(s)).frrProcesses.length === 3, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'all three daemons running',
      });
      const zebra = await s.daemonPid('zebra');
      assert.ok(zebra);
      const at = s.events.length;
      process.kill(zebra, 'SIGKILL');
      const started = await s.waitForEvent('daemon_started', (e) => e.daemon === 'zebra' && e.reason === 'crash', 60_000, at);
      const again = Number(started.pid);
      process.kill(again, 'SIGKILL');
      const idx = s.events.indexOf(started);
      hit = !s.events.slice(idx).some((e) => e.event === 'daemon_started' && e.daemon === 'bgpd');
      if (!hit) await delay(1000);
    }
    assert.ok(hit, 'the kill never landed inside the recovery (bgpd was always restarted first); nothing was tested');
    try {
      await waitFor(async () => (await auditProcesses(s)).frrProcesses.length === 3 && (await http.get('/livez')).status === 200, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'zebra restarted again (three daemons, /livez 200)',
      });
      await established(s, 30_000);
    } catch (e) {
      const daemonEvents = s.events
        .filter((x) => typeof x.event === 'string' && x.event.startsWith('daemon_'))
        .slice(-12)
        .map((x) => `${str(x.event)} ${str(x.daemon)} ${str(x.reason ?? x.signal)}`);
      throw new Error(
        `${(e as Error).message}\n/livez: ${(await http.get('/livez')).body.slice(0, 200)}\ndaemon events:\n${daemonEvents.join('\n')}`,
        { cause: e },
      );
    }
  });

  // -------------------------------------------------------------------------------------------------------
  // 3. the external router flaps

  test('the external router flaps 50 times: no FRR restart, metrics and readiness follow every flap', async (t) => {
    const s = await fresh(BASE_FILES, ['--poll-interval', '1s']);
    await http.waitStatus('/readyz', 200, 20_000);
    await waitFor(async () => (await peerStateMetric()) === 1, { timeoutMs: 10_000, what: 'frr_bgp_peer_state 1' });
    const pids = await Promise.all((['zebra', 'staticd', 'bgpd'] as const).map((d) => s.daemonPid(d)));
    const from = s.events.length;
    const t0 = Date.now();
    const downMs: number[] = [];
    const upMs: number[] = [];
    let shut = false;
    let routerDown = false;
    try {
      for (let i = 1; i <= 50; i++) {
        // every 5th flap the router's bgpd dies (SIGKILL) and comes back; otherwise the router shuts the session down
        const viaKill = i % 5 === 0;
        const ta = Date.now();
        if (viaKill) {
          routerDown = true;
          await router.stopDaemon('bgpd', 'SIGKILL');
        } else {
          shut = true;
          await router.vtysh(['configure terminal', 'router bgp 65001', `neighbor ${GW} shutdown`]);
        }
        await waitFor(async () => (await peerStateMetric()) === 0 && (await http.get('/readyz')).status === 503, {
          timeoutMs: 20_000,
          intervalMs: 100,
          what: `flap ${i} (${viaKill ? 'router bgpd killed' : 'shutdown'}): frr_bgp_peer_state 0 and /readyz 503`,
        });
        const tb = Date.now();
        downMs.push(tb - ta);
        if (viaKill) {
          await router.startDaemon('bgpd');
          routerDown = false;
        } else {
          await router.vtysh(['configure terminal', 'router bgp 65001', `no neighbor ${GW} shutdown`]);
          shut = false;
        }
        await waitFor(async () => (await peerStateMetric()) === 1 && (await http.get('/readyz')).status === 200, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: `flap ${i}: frr_bgp_peer_state 1 and /readyz 200 again`,
        });
        upMs.push(Date.now() - tb);
        assert.equal((await http.get('/livez')).status, 200, `flap ${i}: an upstream flap never fails liveness`);
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\nsupervisor:\n${lastEvents(s)}`, { cause: e });
    } finally {
      if (routerDown) await router.startDaemon('bgpd').catch(() => undefined);
      if (shut) await router.vtysh(['configure terminal', 'router bgp 65001', `no neighbor ${GW} shutdown`]).catch(() => undefined);
    }
    const took = (Date.now() - t0) / 1000;
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    t.diagnostic(
      `50 flaps in ${took.toFixed(1)} s; down seen after median ${med(downMs)} ms (max ${Math.max(...downMs)}), up again after median ${med(upMs)} ms (max ${Math.max(...upMs)})`,
    );
    const since = s.events.slice(from);
    const restarts = since.filter(
      (e) =>
        e.event === 'daemon_started' || e.event === 'daemon_exited' || e.event === 'config_applied' || e.event === 'daemon_start_failed',
    );
    assert.deepEqual(
      restarts.map((e) => `${str(e.event)} ${str(e.daemon)} ${str(e.reason)}`),
      [],
      'the supervisor restarted nothing',
    );
    assert.deepEqual(
      await Promise.all((['zebra', 'staticd', 'bgpd'] as const).map((d) => s.daemonPid(d))),
      pids,
      'the gateway daemons kept their pids',
    );
    const downs = since.filter((e) => e.event === 'neighbour_down' && e.peer === RT).length;
    const ups = since.filter((e) => e.event === 'neighbour_up' && e.peer === RT).length;
    assert.ok(downs >= 50 && ups >= 50, `neighbour_down ${downs}, neighbour_up ${ups}: one of each per flap`);
    const metrics = (await http.get('/metrics')).body;
    for (const line of metrics.split('\n').filter((l) => l.startsWith('frr_supervisor_daemon_restarts_total{'))) {
      assert.equal(Number(line.split(' ').pop()), 0, `no daemon restart counted: ${line}`);
    }
  });

  // -------------------------------------------------------------------------------------------------------
  // 4. security: shell metacharacters and FRR line breaks in every string field

  const marker = `/tmp/PWNED-${randomBytes(6).toString('hex')}`;
  /** Payloads with a space or a newline: no validator may accept them. */
  const PAYLOADS = [
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `x; touch ${marker}`,
    `x | touch ${marker}`,
    `x && touch ${marker}`,
    `x\ntouch ${marker}`,
    `${RT}\n neighbor 10.9.9.9 remote-as 65009`,
    `${GW_PREFIX}\nip route 0.0.0.0/0 Null0`,
  ];
  /** Payloads without a space: still no shell-looking value may pass a field that is not a free-form word. */
  const WORD_PAYLOADS = [`;touch\${IFS}${marker}`, `$(touch\${IFS}${marker})`, `\`touch\${IFS}${marker}\``, `a|touch\${IFS}${marker}&&b`];

  interface Field {
    field: string;
    /** The start of the error line that must name the field. */
    expect: string;
    files: (payload: string) => Record<string, string>;
    /** A free-form word (the password): a value without spaces is a legal password, tested separately. */
    word?: boolean;
  }
  const gw = gatewayYaml();
  const FIELDS: Field[] = [
    {
      field: 'neighbours',
      expect: 'error: bgp-conf.yaml: spec.neighbours[0]: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ neighbours: [p] }), 'gateway.yaml': gw }),
    },
    {
      field: 'neighbours (second)',
      expect: 'error: bgp-conf.yaml: spec.neighbours[1]: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ neighbours: [RT, p] }), 'gateway.yaml': gw }),
    },
    {
      field: 'routerId',
      expect: 'error: bgp-conf.yaml: spec.routerId: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ routerId: p }), 'gateway.yaml': gw }),
    },
    {
      field: 'password',
      expect: 'error: bgp-conf.yaml: spec.password: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ password: p }), 'gateway.yaml': gw }),
      word: true,
    },
    {
      field: 'bgp-password file',
      expect: 'error: bgp-password: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gw, 'bgp-password': `${p}\n` }),
      word: true,
    },
    {
      field: 'holdTime',
      expect: 'error: bgp-conf.yaml: spec.holdTime: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ holdTime: p }), 'gateway.yaml': gw }),
    },
    {
      field: 'keepaliveTime',
      expect: 'error: bgp-conf.yaml: spec.keepaliveTime: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ keepaliveTime: p }), 'gateway.yaml': gw }),
    },
    {
      field: 'connectTime',
      expect: 'error: bgp-conf.yaml: spec.connectTime: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml({ connectTime: p }), 'gateway.yaml': gw }),
    },
    {
      field: 'routeTargets',
      expect: 'error: evpn-conf.yaml: spec.routeTargets[0]: ',
      files: (p) => ({
        'bgp-conf.yaml': bgpYaml(),
        'gateway.yaml': gw,
        'evpn-conf.yaml': toYaml(resource('EvpnConf', 'evpn-conf', { vni: 10, routeTargets: [p] })),
      }),
    },
    {
      field: 'externalInterface',
      expect: 'error: gateway.yaml: externalInterface: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ externalInterface: p }) }),
    },
    {
      field: 'internalInterface',
      expect: 'error: gateway.yaml: internalInterface: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ internalInterface: p }) }),
    },
    {
      field: 'internalGateway',
      expect: 'error: gateway.yaml: internalGateway: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ internalGateway: p }) }),
    },
    {
      field: 'vrf.name',
      expect: 'error: gateway.yaml: vrf.name: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ vrf: { name: p } }) }),
    },
    {
      field: 'bridge.name',
      expect: 'error: gateway.yaml: bridge.name: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ bridge: { name: p } }) }),
    },
    {
      field: 'vxlan.name',
      expect: 'error: gateway.yaml: vxlan.name: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ vxlan: { name: p } }) }),
    },
    {
      field: 'advertise',
      expect: 'error: gateway.yaml: advertise[0]: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ advertise: [p] }) }),
    },
    {
      field: 'advertise (second)',
      expect: 'error: gateway.yaml: advertise[1]: ',
      files: (p) => ({ 'bgp-conf.yaml': bgpYaml(), 'gateway.yaml': gatewayYaml({ advertise: [GW_PREFIX, p] }) }),
    },
  ];

  function assertNoMarker(where: string): void {
    const leaked = readdirSync('/tmp').filter((f) => f.startsWith(marker.slice('/tmp/'.length)));
    assert.deepEqual(leaked, [], `a shell ran the payload (${where})`);
  }

  /** FRR's own log lines (forwarded with a daemon field): no payload text may reach FRR. */
  function frrLinesWith(s: SupervisorProcess, text: string): LogEvent[] {
    return s.events.filter((e) => e.daemon !== undefined && e.event === undefined && JSON.stringify(e).includes(text));
  }

  test('security: shell metacharacters and line breaks in every string field are rejected naming the field; no shell, FRR config unchanged', async (t) => {
    const s = await fresh(BASE_FILES, ['--poll-interval', '1s']);
    const runningBefore = await s.vty.run(['show running-config']);
    const confBefore = readFileSync(s.paths.frrConf, 'utf8');
    const bgpd = await s.daemonPid('bgpd');
    const from = s.events.length;
    let cases = 0;
    for (const payload of [...PAYLOADS, ...WORD_PAYLOADS]) {
      for (const f of FIELDS) {
        if (f.word && !/[\s]/.test(payload)) continue;
        const files = f.files(payload);
        // the payload reaches the validator intact (the YAML encoding does not alter it)
        const decoded = Object.entries(files)
          .map(([name, text]) => (name.endsWith('.yaml') ? JSON.stringify(parseYaml(text)) : JSON.stringify(text.replace(/\n$/, ''))))
          .join(' ');
        assert.ok(decoded.includes(JSON.stringify(payload)), `${f.field}: the input carries the payload intact`);
        const at = s.events.length;
        s.volume.update(files);
        const rejected = await s.waitForEvent('config_rejected', () => true, 15_000, at);
        const errors = rejected.errors as string[];
        assert.ok(
          errors.some((l) => l.startsWith(f.expect)),
          `${f.field} = ${JSON.stringify(payload)}: no error naming the field (${JSON.stringify(f.expect)}); got:\n${errors.join('\n')}`,
        );
        for (const l of errors) assert.ok(!/[\n\r]/.test(l), `an error line carries a raw line break: ${JSON.stringify(l)}`);
        assertNoMarker(`${f.field} = ${JSON.stringify(payload)}`);
        cases++;
      }
    }
    await delay(1500);
    assertNoMarker('after all inputs');
    const since = s.events.slice(from);
    assert.deepEqual(
      since.filter((e) => e.event === 'config_changed' || e.event === 'config_applied' || e.event === 'daemon_started').map((e) => e.event),
      [],
      'nothing was applied or restarted',
    );
    assert.equal(await s.vty.run(['show running-config']), runningBefore, 'the running FRR config is unchanged');
    assert.equal(readFileSync(s.paths.frrConf, 'utf8'), confBefore, 'frr.conf is unchanged');
    assert.equal(await s.daemonPid('bgpd'), bgpd);
    assert.deepEqual(frrLinesWith(s, 'PWNED'), [], 'no payload reached an FRR daemon');
    assert.ok(!(await s.vty.run(['show running-config'])).includes('10.9.9.9'), 'no injected FRR line');
    // valid again: the same config, nothing to do, the session never moved
    s.volume.update(BASE_FILES);
    await waitFor(async () => (await status()).config.valid, { timeoutMs: 10_000, what: 'config valid again' });
    assert.ok(await gwEstablished(s));
    t.diagnostic(`${cases} field/payload inputs rejected`);
  });

  test('security: a password WORD full of metacharacters is legal; it reaches FRR literally, never a shell', async () => {
    const s = sup ?? (await fresh(BASE_FILES, ['--poll-interval', '1s']));
    // one word of printable ASCII without quotes: FRR's `neighbor X password WORD` takes it as it is
    const word = `a;b|c&&d$(touch\${IFS}${marker})\`id\``;
    assert.ok(word.length <= 80);
    for (const [label, files] of [
      ['spec.password', { ...BASE_FILES, 'bgp-conf.yaml': bgpYaml({ password: word }) }],
      ['bgp-password', { ...BASE_FILES, 'bgp-password': `${word}\n` }],
    ] as const) {
      const at = s.events.length;
      s.volume.update(files);
      const ev = await s
        .waitForEvent('config_applied', () => true, 15_000, at)
        .catch((e: unknown) => {
          throw new Error(`${label}: ${(e as Error).message}\n${lastEvents(s)}`);
        });
      assert.ok(ev);
      const running = await s.vty.run(['show running-config']);
      assert.ok(running.includes(` neighbor ${RT} password ${word}\n`), `${label}: FRR runs the password literally:\n${running}`);
      assertNoMarker(label);
      const back = s.events.length;
      s.volume.update(BASE_FILES);
      await s.waitForEvent('config_applied', () => true, 15_000, back);
    }
    assert.ok(!(await s.vty.run(['show running-config'])).includes('password'));
    await established(s);
    assertNoMarker('after the password inputs');
  });

  test('security: Kube-OVN environment variables with metacharacters are rejected naming the variable', async () => {
    const base = { LOCAL_ASN: '65002', PEER_ASN: '65001', NEIGHBOURS: RT, POD_IP: GW, BGP_HOLD_TIME: '3', BGP_KEEPALIVE_TIME: '1' };
    const vars = [
      'ROUTER_ID',
      'NEIGHBOURS',
      'BGP_PASSWORD',
      'BGP_HOLD_TIME',
      'BGP_KEEPALIVE_TIME',
      'BGP_CONNECT_TIME',
      'BGP_EBGP_MULTIHOP',
      'ROUTE_TARGETS',
      'VNI',
      'LOCAL_ASN',
      'PEER_ASN',
    ];
    for (const payload of PAYLOADS) {
      for (const v of vars) {
        const env: Record<string, string> = {
          ...base,
          ...(v === 'ROUTE_TARGETS' && { VNI: '10' }),
          ...(v === 'VNI' && { ROUTE_TARGETS: '65000:10' }),
          [v]: payload,
        };
        const r = await runCli(['check', '--env'], env);
        assert.equal(r.code, 1, `${v} = ${JSON.stringify(payload)} was accepted: ${r.stdout}`);
        assert.match(
          r.stderr,
          new RegExp(`^error: ${v}: `, 'm'),
          `${v} = ${JSON.stringify(payload)}: the error names the variable:\n${r.stderr}`,
        );
        assertNoMarker(`${v} = ${JSON.stringify(payload)}`);
      }
    }
  });

  // -------------------------------------------------------------------------------------------------------
  // 5. security: HTTP

  async function httpSup(): Promise<SupervisorProcess> {
    const s = sup ?? (await fresh(BASE_FILES, ['--poll-interval', '1s']));
    await http.waitStatus('/livez', 200, 20_000);
    return s;
  }

  test('HTTP: GET and HEAD only (405 with Allow otherwise); a request body is never read', async () => {
    await httpSup();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await http.request('/livez', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD', method);
    }
    assert.equal((await http.request('/livez', { method: 'HEAD' })).status, 200);
    // a huge announced body that never comes: the answer does not wait for it
    for (const [method, status] of [
      ['GET', 200],
      ['POST', 405],
    ] as const) {
      const sock = await http.connect();
      try {
        const res = await rawExchange(
          sock,
          `${method} /livez HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\n`,
          5000,
          { untilResponse: true },
        );
        assert.match(
          res.response,
          new RegExp(`^HTTP/1\\.1 ${status} `),
          `${method} with a 1 GiB body announced and not sent: ${JSON.stringify(res.response.slice(0, 80))}`,
        );
        assert.ok(res.ms < 5000);
      } finally {
        sock.destroy();
      }
    }
    assert.equal((await http.get('/livez')).status, 200);
  });

  test('HTTP: a 64 KiB header gets 431 or a closed connection, not a hang', async (t) => {
    await httpSup();
    const sock = await http.connect();
    try {
      const res = await rawExchange(sock, `GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 10_000);
      assert.ok(res.closed, `the connection is closed (not left hanging): ${JSON.stringify(res)}`);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(res.response)?.[1];
      assert.ok(
        status === undefined || status === '431' || status === '400',
        `answer before the close: ${JSON.stringify(res.response.slice(0, 80))}`,
      );
      t.diagnostic(
        `64 KiB header: ${status ? `HTTP ${status}, then` : 'no answer,'} connection closed after ${res.ms} ms${res.writeError ? ` (write: ${res.writeError})` : ''}`,
      );
    } finally {
      sock.destroy();
    }
    // headers below the limit still work
    assert.equal((await http.request('/livez', { headers: { 'x-pad': 'p'.repeat(4096) } })).status, 200);
  });

  test('HTTP: clients sending headers one byte per second are cut off within headersTimeout (5 s) + margin; others are answered meanwhile', async (t) => {
    // A fresh server: the slow clients connect a moment after it starts listening, so the result does not depend
    // on where a periodic check of the server happens to be in its cycle.
    await fresh(BASE_FILES, ['--poll-interval', '1s']);
    await http.waitStatus('/livez', 200, 20_000);
    const HEADERS_TIMEOUT_MS = 5000;
    const MARGIN_MS = 5000;
    const request = `GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
    const slow = await Promise.all([1, 2, 3].map(() => http.connect()));
    const t0 = Date.now();
    const results = slow.map((sock) => {
      let i = 0;
      const timer = setInterval(() => {
        if (!sock.destroyed && i < request.length) sock.write(request[i++] ?? '');
      }, 1000);
      return rawExchange(sock, request[i++] ?? '', 45_000).finally(() => clearInterval(timer));
    });
    // meanwhile, others get their answers
    const answers: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const ta = Date.now();
        const r = await http.get('/livez', 3000);
        assert.equal(r.status, 200);
        answers.push(Date.now() - ta);
        await delay(500);
      }
    })();
    let res;
    try {
      res = await Promise.all(results);
    } finally {
      polling = false;
      await poller;
      for (const sock of slow) sock.destroy();
    }
    const ms = res.map((r) => r.ms);
    t.diagnostic(
      `slow clients cut off after ${ms.join(', ')} ms; ${answers.length} other requests answered meanwhile (max ${Math.max(...answers)} ms)`,
    );
    for (const r of res) {
      assert.ok(r.closed, `a slow client was still connected after ${Date.now() - t0} ms`);
      assert.ok(
        r.ms <= HEADERS_TIMEOUT_MS + MARGIN_MS,
        `a slow client was cut off only after ${r.ms} ms (headersTimeout ${HEADERS_TIMEOUT_MS} ms + ${MARGIN_MS} ms margin)`,
      );
    }
    assert.ok(answers.length >= 5, `other clients were answered meanwhile: ${answers.length}`);
  });
});

// -------------------------------------------------------------------------------------------------------
// 6. security: static check over src/

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** What a source tree does that could reach a shell, and how many execa calls it has. */
function shellProblems(srcDir: string, root: string): { problems: string[]; execaCalls: number } {
  const files = tsFiles(srcDir);
  const problems: string[] = [];
  // textual: the forbidden spellings, anywhere (comments included: none of them belongs in src/)
  for (const file of files) {
    const rel = relative(root, file);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const where = `${rel}:${i + 1}: ${line.trim()}`;
        if (/\bshell\s*:\s*(?:true|['"`/])/.test(line)) problems.push(`shell option: ${where}`);
        if (/\b(?:ba|da|z)?sh\s+-c\b|['"](?:\/bin\/|\/usr\/bin\/)?(?:ba|da|z)?sh['"]\s*,\s*\[?\s*['"]-c['"]/.test(line))
          problems.push(`sh -c: ${where}`);
        if (/(?<![.#\w$])exec(?:Sync)?\(/.test(line)) problems.push(`exec()/execSync(): ${where}`);
        if (/\bchild_process\b/.test(line)) problems.push(`child_process (use execa with an argument array): ${where}`);
      });
  }
  // typed: every execa call has an argument array and no shell option; no execa template/command-string forms
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  let execaCalls = 0;
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(srcDir)) continue;
    const rel = relative(root, sf.fileName);
    const execaNames = new Set<string>();
    const cpExecNames = new Set<string>();
    const visit = (node: ts.Node): void => {
      if (
        ts.isImportDeclaration(node) &&
        ts.isStringLiteral(node.moduleSpecifier) &&
        /^(node:)?child_process$/.test(node.moduleSpecifier.text)
      ) {
        const bindings = node.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements)
            if (['exec', 'execSync'].includes((el.propertyName ?? el.name).text)) cpExecNames.add(el.name.text);
        }
      }
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.moduleSpecifier.text === 'execa') {
        const bindings = node.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) {
            const imported = (el.propertyName ?? el.name).text;
            if (['$', 'execaCommand', 'execaCommandSync', 'parseCommandString', 'execaNode'].includes(imported))
              problems.push(`${rel}: imports execa's ${imported} (a command string or template, not an argument array)`);
            if (imported === 'execa' || imported === 'execaSync') execaNames.add(el.name.text);
          }
        } else if (bindings) problems.push(`${rel}: namespace import of execa (calls cannot be checked)`);
      }
      // exec()/execSync() called in any spelling, except RegExp.prototype.exec
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
        if (name !== undefined && ts.isIdentifier(callee) && cpExecNames.has(name))
          problems.push(`${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: calls child_process exec() as ${name}()`);
        else if (name === 'exec' || name === 'execSync') {
          const onRegExp =
            ts.isPropertyAccessExpression(callee) && checker.getTypeAtLocation(callee.expression).getSymbol()?.getName() === 'RegExp';
          if (!onRegExp)
            problems.push(`${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}: calls ${name}() (not a RegExp)`);
        }
      }
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && execaNames.has(node.expression.text)) {
        execaCalls++;
        const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
        const where = `${rel}:${line + 1}`;
        const [file, args, options] = node.arguments;
        if (!file || !args) problems.push(`${where}: execa call without an argument array`);
        else {
          const argsType = checker.getTypeAtLocation(args);
          if (!checker.isArrayType(argsType) && !checker.isTupleType(argsType))
            problems.push(`${where}: execa's second argument is not an array (${checker.typeToString(argsType)})`);
          if (ts.isStringLiteral(file) && /\s/.test(file.text))
            problems.push(`${where}: execa file ${JSON.stringify(file.text)} looks like a command line`);
        }
        if (options && ts.isObjectLiteralExpression(options)) {
          for (const p of options.properties)
            if (p.name && ts.isIdentifier(p.name) && p.name.text === 'shell') problems.push(`${where}: execa with a shell option`);
          // The child's whole environment is given: the supervisor's own may hold BGP_PASSWORD.
          const prop = (name: string): ts.ObjectLiteralElementLike | undefined =>
            options.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === name);
          const extendEnv = prop('extendEnv');
          if (
            !extendEnv ||
            !ts.isPropertyAssignment(extendEnv) ||
            extendEnv.initializer.kind !== ts.SyntaxKind.FalseKeyword ||
            !prop('env')
          )
            problems.push(`${where}: execa without extendEnv: false and an env (the child inherits the supervisor's environment)`);
        } else if (!options) problems.push(`${where}: execa without options (the child inherits the supervisor's environment)`);
        else if (options) {
          const shell = checker.getTypeAtLocation(options).getProperty('shell');
          if (shell) problems.push(`${where}: execa options may carry a shell option`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { problems, execaCalls };
}

test('static: src/ runs external commands only through execa with argument arrays and a given environment; no shell: true, child_process exec/execSync or sh -c', () => {
  const { problems, execaCalls } = shellProblems(join(REPO, 'src'), REPO);
  assert.deepEqual(problems, []);
  assert.ok(execaCalls >= 5, `execa calls found in src/: ${execaCalls}`);
});

test('static: the check finds each forbidden form (a planted example)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsl-static-'));
  try {
    writeFileSync(
      join(dir, 'bad.ts'),
      [
        "import { exec as run } from 'node:child_process';",
        "import { execa, execaCommand } from 'execa';",
        'export async function bad(cmd: string): Promise<void> {',
        '  run(cmd);',
        "  await execa('ip', ['link'], { shell: true });",
        "  await execa('sh', ['-c', cmd]);",
        '  await execa(cmd);',
        '  await execaCommand(cmd);',
        '  /^x$/.exec(cmd);',
        '}',
        '',
      ].join('\n'),
    );
    const { problems } = shellProblems(dir, dir);
    const text = problems.join('\n');
    for (const want of [
      /child_process/,
      /shell option/,
      /sh -c/,
      /execaCommand/,
      /without an argument array/,
      /calls child_process exec\(\)/,
      /inherits the supervisor's environment/,
    ])
      assert.match(text, want);
    assert.ok(!/RegExp|bad\.ts:9:/.test(text), `RegExp.exec is not flagged:\n${text}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
