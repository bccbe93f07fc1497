/**
 * The container image, built and run as users run it (`npm run test:image`; scripts/test-image.sh prepares
 * podman and the debian:trixie-slim base first). The image (FRR 10.7.1, Debian forky's frr on trixie) runs as the
 * lab's gateway: in the gateway namespace (`--network ns:/run/netns/NAME`), the config directory bind-mounted
 * read-only and updated the way kubelet updates a projected volume, with exactly the capabilities, arguments,
 * mount path, probe paths and grace period of deploy/reference-gateway.yaml (read from the manifest, not repeated here),
 * against the host's FRR 8.4.4 as the external router.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { createLab, kernelRouteProtocol, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { bgpRouterConf, docsBgpConf, docsEvpnConf, GW, GW_PREFIX, RT, RT_PREFIX } from '../../lab/configs.ts';
import { evpnRouterConf, evpnRouterDevices, gatewayInternalInterface } from '../../lab/evpn-router.ts';
import { ProjectedVolume } from '../../lab/projected-volume.ts';
import { listType5Routes } from '../../lab/evpn-routes.ts';
import { parseBgpSummary } from '../../src/state/bgp.ts';
import {
  buildImage,
  containerEvents,
  containersNamed,
  imageExists,
  inspectContainer,
  ownContainer,
  podman,
  removeAll,
  ULIMITS,
} from '../../lab/podman.ts';
import { captureFileName, fixtureCaptures } from '../../lab/fixture-captures.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HTTP_GET = join(REPO, 'lab/http-get.js');
const MB = 1_000_000;
const TARGET_IMAGE_MB = 300;

// ---- deploy/reference-gateway.yaml: what the test takes from the manifest ----------------------------------------------
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  securityContext: { capabilities: { drop: string[]; add: string[] }; runAsUser?: number };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
const manifestDocs = parseAllDocuments(readFileSync(join(REPO, 'deploy/reference-gateway.yaml'), 'utf8')).map(
  (d) => d.toJS() as { kind?: string; spec?: unknown },
);
const deployment = manifestDocs.find((d) => d.kind === 'Deployment') as {
  spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } };
};
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers.find((c) => c.name === 'frr-supervisor');
if (!container) throw new Error('deploy/reference-gateway.yaml has no frr-supervisor container');
const MANIFEST = {
  image: container.image,
  args: container.args ?? [],
  capAdd: container.securityContext.capabilities.add,
  capDrop: container.securityContext.capabilities.drop,
  configMount: container.volumeMounts.find((m) => m.name === 'frr-supervisor-config'),
  httpPort: container.ports?.find((p) => p.name === 'http-metrics')?.containerPort,
  probes: {
    livez: container.livenessProbe.httpGet.path,
    readyz: container.readinessProbe.httpGet.path,
    startup: container.startupProbe.httpGet.path,
  },
  graceSeconds: podSpec.terminationGracePeriodSeconds,
};
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

// Unique names: this process's pid.
const TAG = `localhost/${pkg.name}-test${process.pid}:${pkg.version}`;
const BUILD_TAG = `localhost/${pkg.name}-test${process.pid}-build:${pkg.version}`;
const NAME = `frrsup-test${process.pid}`;
const VRF = `fsi${process.pid}v`;

const BGP = docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s' });
const GATEWAY_BGP = `advertise: [${GW_PREFIX}]\n`;
/** changeDrain.anchors: the gateway (POD_IP 10.0.1.13) also advertises 10.17.255.13/32, routed to a blackhole (staticd via mgmtd on FRR 10). */
const ANCHORS = '10.17.255.0/24';
const ANCHOR = '10.17.255.13/32';
const GATEWAY_EVPN = `advertise: [${GW_PREFIX}]
internalInterface: int0
internalGateway: 10.16.0.1
vrfBackend: netns
vrf: {name: ${VRF}, table: 2000}
changeDrain: {enabled: false, anchors: ${ANCHORS}}
`;

/**
 * FRRSUP_CAPTURE_DIR=DIR: write the image's FRR's answers (10.7.1) to the commands the poller, the applier and the
 * tests use into DIR/10.7/off and DIR/10.7/evpn, the layout of test/fixtures/frr-json (how 10.7/off/ was made; 10.3/
 * came from the image when it had FRR 10.3, test/image/frr103.test.ts captures it again; see their READMEs).
 */
const CAPTURE_DIR = process.env.FRRSUP_CAPTURE_DIR;
const CAPTURES = fixtureCaptures(VRF);
const captureName = (cmd: string): string => captureFileName(cmd, VRF);

/** One line per measured step, for the CI log and the README. */
function timing(what: string, seconds: number): void {
  process.stdout.write(`timing ${what} ${seconds.toFixed(1)} s\n`);
}

describe('the container image, built and run as the lab gateway', { timeout: 1_800_000 }, () => {
  let lab: Lab;
  let router: RouterInstance;
  let configDir: string;
  let volume: ProjectedVolume;

  before(async () => {
    assert.ok(MANIFEST.configMount, 'deploy/reference-gateway.yaml mounts the frr-supervisor-config volume');
    assert.ok(MANIFEST.httpPort, 'deploy/reference-gateway.yaml names the http-metrics port');
    lab = await createLab();
    configDir = await mkdtemp(join(tmpdir(), `fsi-${process.pid}-config-`));
    volume = new ProjectedVolume(configDir);
  });

  after(async () => {
    await removeAll();
    if (configDir) await rm(configDir, { recursive: true, force: true });
    await lab?.cleanup();
  });

  /** Runs a command inside the running gateway container (argument array, no shell). */
  async function inContainer(argv: string[], reject = true): Promise<string> {
    const r = await podman(['exec', NAME, ...argv], { reject, timeoutMs: 30_000 });
    return r.stdout;
  }

  /** One HTTP GET from inside the gateway's network namespace (the container's), as kubelet would probe. */
  async function http(path: string): Promise<{ status: number; body: string }> {
    const r = await lab.exec('gw', [process.execPath, HTTP_GET, `http://${GW}:${MANIFEST.httpPort}${path}`]);
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  async function capture(mode: keyof typeof CAPTURES): Promise<void> {
    if (!CAPTURE_DIR) return;
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(CAPTURE_DIR, '10.7', mode), { recursive: true });
    for (const cmd of CAPTURES[mode] ?? [])
      await writeFile(join(CAPTURE_DIR, '10.7', mode, captureName(cmd)), await inContainer(['vtysh', '-c', cmd], false));
  }

  async function events(): Promise<Array<Record<string, unknown>>> {
    return containerEvents(NAME);
  }

  /** The container's last error and warning events, for failure messages. */
  async function lastProblems(): Promise<string> {
    return (await events())
      .filter((e) => e.level === 'error' || e.level === 'fatal' || (e.level === 'warn' && e.event !== undefined))
      .slice(-5)
      .map((e) => `${String(e.event)}: ${String(e.err ?? e.msg).slice(0, 400)}`)
      .join('\n');
  }

  async function waitEvent(
    event: string,
    match: (e: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    try {
      return await waitFor(async () => (await events()).find((e) => e.event === event && match(e)), {
        timeoutMs,
        intervalMs: 300,
        what: `event ${event} in the container's log`,
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast problems in the container's log:\n${await lastProblems()}`, { cause: e });
    }
  }

  /** The router's view of the gateway session (IPv4 unicast). */
  async function routerPeer(): Promise<{ established: boolean; prefixesReceived: number } | undefined> {
    return parseBgpSummary(await router.vtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' }).find((p) => p.peer === GW);
  }

  async function gwPeer(): Promise<{ established: boolean; prefixesReceived: number } | undefined> {
    return parseBgpSummary(await inContainer(['vtysh', '-c', 'show bgp ipv4 unicast summary json']), { afi: 'ipv4Unicast' }).find(
      (p) => p.peer === RT,
    );
  }

  async function established(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => (await gwPeer())?.established && (await routerPeer())?.prefixesReceived === 1, {
      timeoutMs,
      what: 'session Established with the gateway prefix at the router',
    });
  }

  async function daemonPid(name: string): Promise<number> {
    return Number((await inContainer(['cat', `/var/run/frr/${name}.pid`])).trim());
  }

  /** `podman run -d` of the image as the manifest's container, in the gateway namespace; caps overridable. */
  async function runGateway(name: string, capAdd = MANIFEST.capAdd): Promise<void> {
    ownContainer(name);
    const mount = MANIFEST.configMount!;
    await podman([
      'run',
      '-d',
      '--name',
      name,
      ...ULIMITS,
      '--network',
      `ns:/run/netns/${lab.gwNs}`,
      ...MANIFEST.capDrop.flatMap((c) => ['--cap-drop', c]),
      ...capAdd.flatMap((c) => ['--cap-add', c]),
      '--security-opt',
      'no-new-privileges',
      '-v',
      `${configDir}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`,
      // The downward API's POD_IP, as the manifest sets it.
      '--env',
      `POD_IP=${GW}`,
      TAG,
      ...MANIFEST.args,
    ]);
  }

  test('the image builds from the Dockerfile on debian:trixie-slim and stays within its size budget', async () => {
    const uncached = await buildImage(REPO, TAG);
    timing('image build (this run, layers cached only if a build ran before on this machine)', uncached);
    const cached = await buildImage(REPO, BUILD_TAG, 'build');
    timing('image build of the build stage again (cached)', cached);
    const size = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', TAG])).stdout.trim());
    const base = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', 'debian:trixie-slim'])).stdout.trim());
    process.stdout.write(
      `image size ${(size / MB).toFixed(1)} MB, base debian:trixie-slim ${(base / MB).toFixed(1)} MB, above the base ${((size - base) / MB).toFixed(1)} MB\n`,
    );
    assert.ok(size <= TARGET_IMAGE_MB * MB, `the image is ${(size / MB).toFixed(1)} MB, over ${TARGET_IMAGE_MB} MB`);
    assert.ok(
      MANIFEST.image.endsWith(`:${pkg.version}`) && MANIFEST.image.split(':')[0]?.endsWith(pkg.name),
      `deploy/reference-gateway.yaml runs ${pkg.name}:${pkg.version} (has ${MANIFEST.image})`,
    );
    const versions = await podman(['run', '--rm', ...ULIMITS, '--network', 'none', '--entrypoint', '/usr/lib/frr/zebra', TAG, '--version']);
    assert.match(versions.stdout, /zebra version 10\.7\.1\b/, "the image runs Debian forky's FRR 10.7.1");
  });

  test("FRR's daemons in the image need NET_ADMIN, NET_RAW and SYS_ADMIN (bgpd NET_BIND_SERVICE too): each dropped from the manifest's set, they exit at start", async () => {
    // zebra and bgpd alone, as user frr's daemons, with exactly the manifest's capabilities but one; started with a
    // pathspace of their own and no config. Running 4 s = started (timeout's 124); FRR's privs_init error = not.
    const start = async (without: string | undefined, daemon: 'zebra' | 'bgpd'): Promise<string> => {
      const dir = `/run/frr/caps`;
      const r = await podman(
        [
          'run',
          '--rm',
          ...ULIMITS,
          '--network',
          'none',
          ...MANIFEST.capDrop.flatMap((c) => ['--cap-drop', c]),
          ...MANIFEST.capAdd.filter((c) => c !== without).flatMap((c) => ['--cap-add', c]),
          '--security-opt',
          'no-new-privileges',
          '--entrypoint',
          '/bin/sh',
          TAG,
          '-c',
          `mkdir -p ${dir} && chown frr:frr ${dir} && timeout 4 /usr/lib/frr/${daemon} -N caps -i ${dir}/${daemon}.pid -P 0 -f /dev/null --log stdout >/tmp/out 2>&1; ` +
            `echo "exit $?"; grep -m1 privs_init /tmp/out || true`,
        ],
        { timeoutMs: 60_000 },
      );
      return r.stdout.trim().replace(/\n/g, ': ');
    };
    const cases = [undefined, 'SYS_ADMIN', 'NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE'].flatMap((cap) =>
      (['zebra', 'bgpd'] as const).map((daemon) => ({ cap, daemon })),
    );
    const results = await Promise.all(cases.map(async (c) => ({ ...c, out: await start(c.cap, c.daemon) })));
    for (const { cap, daemon, out } of results) {
      process.stdout.write(`# ${daemon} ${cap ? `without ${cap}` : "with the manifest's capabilities"}: ${out}\n`);
      const mustStart = cap === undefined || (cap === 'NET_BIND_SERVICE' && daemon === 'zebra');
      if (mustStart) assert.equal(out, 'exit 124', `${daemon} ${cap ? `without ${cap}` : ''} runs (killed by timeout after 4 s)`);
      else assert.match(out, /^exit 1: .*privs_init: initial cap_set_proc failed/, `${daemon} without ${cap} exits at start`);
    }
  });

  test('without SYS_ADMIN the container fails at once with a clear error', async () => {
    const name = ownContainer(`${NAME}-nosysadmin`);
    volume.update({ 'bgp-conf.yaml': BGP, 'gateway.yaml': GATEWAY_BGP });
    await runGateway(
      name,
      MANIFEST.capAdd.filter((c) => c !== 'SYS_ADMIN'),
    );
    const state = await waitFor(
      async () => {
        const s = await inspectContainer(name);
        return s && !s.State.Running && s.State.Status === 'exited' && s.State;
      },
      { timeoutMs: 30_000, what: 'the container without SYS_ADMIN to exit' },
    );
    assert.equal(state.ExitCode, 1);
    const fatal = (await containerEvents(name)).find((e) => e.event === 'startup_failed');
    assert.ok(fatal, 'a startup_failed event');
    assert.match(String(fatal.err), /missing capability SYS_ADMIN/);
    assert.match(String(fatal.err), /deploy\/reference-gateway\.yaml/);
    await podman(['rm', '-f', name]);
  });

  test("BGP-only: with the manifest's capabilities the session comes up and prefixes go both ways", async () => {
    await lab.exec('gw', ['ip', 'route', 'add', 'blackhole', GW_PREFIX]);
    router = await lab.startRouter(bgpRouterConf());
    volume.update({ 'bgp-conf.yaml': BGP, 'gateway.yaml': GATEWAY_BGP });
    const t0 = performance.now();
    await runGateway(NAME);
    await waitEvent('config_applied', (e) => e.generation === 1);
    await established();
    timing('container start to BGP Established with the prefix at the router', (performance.now() - t0) / 1000);
    const detected = await waitEvent('frr_detected');
    assert.equal(detected.version, '10.7.1');
    assert.deepEqual(detected.daemons, ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    assert.deepEqual(detected.configFile, ['zebra', 'bfdd', 'bgpd'], 'mgmtd and staticd get no -f on FRR 10 (bfdd, probed for BFD, does)');
    const caps = (await inContainer(['grep', '^CapEff', '/proc/1/status'])).trim();
    assert.match(caps, /^CapEff:\s+[0-9a-f]+$/);
    // router -> gateway: installed by bgp in the gateway's kernel table (the container's namespace)
    await waitFor(async () => (await kernelRouteProtocol(lab, 'gw', RT_PREFIX)) === 'bgp', {
      timeoutMs: 15_000,
      what: `${RT_PREFIX} installed by bgp in the gateway namespace`,
    });
    await capture('off');
  });

  test("/livez, /readyz, /metrics and /status answer from inside the container's namespace", async () => {
    const live = await http(MANIFEST.probes.livez);
    assert.equal(live.status, 200, live.body);
    assert.equal((await http(MANIFEST.probes.startup)).status, 200);
    const ready = await waitFor(
      async () => {
        const r = await http(MANIFEST.probes.readyz);
        return r.status === 200 && r;
      },
      { timeoutMs: 20_000, what: '/readyz 200' },
    );
    assert.equal(ready.status, 200);
    const metrics = await waitFor(
      async () => {
        const r = await http('/metrics');
        return (
          r.status === 200 && new RegExp(`frr_bgp_peer_state\\{[^}]*peer="${RT.replace(/\./g, '\\.')}"[^}]*\\} 1`).test(r.body) && r.body
        );
      },
      { timeoutMs: 20_000, what: 'frr_bgp_peer_state 1 in /metrics' },
    );
    for (const d of ['mgmtd', 'zebra', 'staticd', 'bgpd'])
      assert.match(metrics, new RegExp(`frr_supervisor_daemon_up\\{daemon="${d}"\\} 1`));
    const status = JSON.parse((await http('/status')).body) as {
      daemons: Array<{ name: string; running: boolean }>;
      neighbours: Array<{ address?: string; peer?: string; state?: string }>;
    };
    assert.deepEqual(
      status.daemons.map((d) => [d.name, d.running]),
      [
        ['mgmtd', true],
        ['zebra', true],
        ['staticd', true],
        ['bgpd', true],
      ],
    );
    assert.ok(JSON.stringify(status.neighbours).includes(RT), '/status lists the neighbour');
  });

  test('the exec probes in the image: `frr-supervisor probe live|ready` (as a Pod exec probe runs them) exit 0, one line; the image runs dist/', async () => {
    for (const [which, path] of [
      ['live', '/livez'],
      ['ready', '/readyz'],
    ] as const) {
      const r = await podman(['exec', NAME, 'frr-supervisor', 'probe', which], { reject: false, timeoutMs: 30_000 });
      assert.equal(r.exitCode, 0, `probe ${which}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^${path} 200: \\S[^\\n]*$`), 'one line');
    }
    const nothing = await podman(['exec', NAME, 'frr-supervisor', 'probe', 'ready', '--listen', '127.0.0.1:1'], {
      reject: false,
      timeoutMs: 30_000,
    });
    assert.equal(nothing.exitCode, 1, nothing.stdout);
    assert.match(nothing.stdout, /^\/readyz: no answer from 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    const started = (await events()).find((e) => e.event === 'supervisor_started');
    assert.match(String(started?.code), /^dist\/ \(no src\/ here/, 'only dist/ is in the image, and it says so');
  });

  test('a config change is applied in place (same container) and the peer keeps the routes (graceful restart)', async () => {
    const before = await inspectContainer(NAME);
    const bgpd = await daemonPid('bgpd');
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push((await routerPeer())?.prefixesReceived ?? 0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    volume.update({ 'bgp-conf.yaml': docsBgpConf({ hold: '9s', keepalive: '3s', connect: '3s' }), 'gateway.yaml': GATEWAY_BGP });
    const applied = await waitEvent('config_applied', (e) => e.generation === 2);
    assert.deepEqual(applied.restarted, ['bgpd']);
    await established();
    await new Promise((r) => setTimeout(r, 1000));
    sampling = false;
    await sampler;
    assert.notEqual(await daemonPid('bgpd'), bgpd, 'bgpd was restarted');
    assert.equal((await inspectContainer(NAME))?.Id, before?.Id, 'the same container');
    assert.ok(samples.length >= 10, `samples: ${samples.length}`);
    assert.equal(Math.min(...samples), 1, `the router's prefix count from the gateway dropped during the change: ${samples.join(',')}`);
    assert.match(await inContainer(['vtysh', '-c', 'show running-config']), /neighbor 10\.0\.1\.1 timers connect 3/);
  });

  test('kill -9 of bgpd inside the container: the supervisor brings it back and the session recovers', async () => {
    const pid = await daemonPid('bgpd');
    const t0 = performance.now();
    // node is in the image; `kill` (procps) is not.
    await inContainer(['node', '-e', `process.kill(${pid}, 'SIGKILL')`]);
    await waitEvent('daemon_started', (e) => e.daemon === 'bgpd' && e.reason === 'crash');
    assert.notEqual(await daemonPid('bgpd'), pid);
    await established();
    timing('bgpd kill -9 to Established with the prefix again', (performance.now() - t0) / 1000);
  });

  test('kill -9 of mgmtd inside the container: mgmtd and everything after it come back, config and session included', async () => {
    const pids = { mgmtd: await daemonPid('mgmtd'), zebra: await daemonPid('zebra'), bgpd: await daemonPid('bgpd') };
    const t0 = performance.now();
    await inContainer(['node', '-e', `process.kill(${pids.mgmtd}, 'SIGKILL')`]);
    await waitEvent('daemon_started', (e) => e.daemon === 'mgmtd' && e.reason === 'crash');
    await waitEvent('daemon_started', (e) => e.daemon === 'bgpd' && e.reason === 'dependency', 60_000);
    for (const d of ['mgmtd', 'zebra', 'bgpd'] as const) assert.notEqual(await daemonPid(d), pids[d], `${d} restarted`);
    await established();
    timing('mgmtd kill -9 to Established with the prefix again', (performance.now() - t0) / 1000);
    assert.match(await inContainer(['vtysh', '-c', 'show running-config']), /neighbor 10\.0\.1\.1 timers connect 3/);
  });

  test('EVPN type-5 both ways with the netns VRF backend, applied in place', async () => {
    await gatewayInternalInterface(lab);
    await evpnRouterDevices(lab, 1016);
    await router.stop();
    router = await lab.startRouter(evpnRouterConf(1016));
    volume.update({ 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': docsEvpnConf(1016), 'gateway.yaml': GATEWAY_EVPN });
    const applied = await waitEvent('config_applied', (e) => typeof e.generation === 'number' && e.generation >= 3, 60_000);
    const attempts = (await events()).filter(
      (e) => (e.event === 'config_applied' || e.event === 'config_apply_failed') && typeof e.generation === 'number' && e.generation >= 3,
    );
    const failed = attempts.filter((e) => e.event === 'config_apply_failed').map((e) => String(e.err));
    // A change zebra must see: on FRR 10 mgmtd (which holds zebra's vrf/vni config) and everything after it.
    assert.deepEqual(
      attempts[0]?.restarted,
      ['mgmtd', 'zebra', 'staticd', 'bgpd'],
      `apply attempts: ${JSON.stringify(attempts.map((e) => [e.event, e.generation, e.restarted, e.reason]))}`,
    );
    assert.deepEqual(failed, [], 'the first apply of the EVPN config succeeded');
    assert.equal(applied.generation, attempts[0]?.generation);
    // router -> gateway: a type-5 route with the RT, installed in the VRF namespace through the bridge
    const atGw = await waitFor(
      async () => {
        const text = await inContainer(['vtysh', '-c', 'show bgp l2vpn evpn route type prefix json']);
        return listType5Routes(text).find((r) => r.prefix === RT_PREFIX && !r.local) && text;
      },
      { timeoutMs: 30_000, what: `type-5 ${RT_PREFIX} at the gateway` },
    );
    assert.match(atGw, /RT:65000:1016/);
    const route = await waitFor(
      async () => {
        const list = JSON.parse((await inContainer(['ip', '-n', VRF, '-json', 'route', 'show', RT_PREFIX], false)) || '[]') as Array<{
          dev?: string;
          protocol?: string;
        }>;
        return list[0];
      },
      { timeoutMs: 20_000, what: `${RT_PREFIX} in the VRF namespace` },
    );
    assert.equal(route.dev, 'br-vpn');
    assert.equal(route.protocol, 'bgp');
    // gateway -> router: the advertised CIDR as a type-5 route with a router MAC
    const atRt = await waitFor(
      async () =>
        listType5Routes(await router.vtysh('show bgp l2vpn evpn route type prefix json')).find((r) => r.prefix === GW_PREFIX && !r.local),
      { timeoutMs: 30_000, what: `type-5 ${GW_PREFIX} at the router` },
    );
    assert.ok(atRt.routerMac, 'the router MAC comes with the route');
    // the anchor: advertised too, and its route in the VRF is FRR 10.7.1's running config (the apply verified it)
    await waitFor(
      async () =>
        listType5Routes(await router.vtysh('show bgp l2vpn evpn route type prefix json')).some((r) => r.prefix === ANCHOR && !r.local),
      { timeoutMs: 30_000, what: `type-5 ${ANCHOR} (the anchor) at the router` },
    );
    const running = await inContainer(['vtysh', '-c', 'show running-config']);
    assert.match(running, /ip route 10\.17\.255\.13\/32 blackhole/);
    // FRR 10.6+ covers L2VPN EVPN with graceful restart: the VRF instance has it too (gracefulRestart defaults to true).
    assert.match(
      running.slice(running.indexOf(`router bgp 65002 vrf ${VRF}`)),
      /^ bgp graceful-restart$/m,
      'FRR 10.7.1: the VRF instance has graceful restart (rendered only for FRR 10.6 and later)',
    );
    await capture('evpn');
    let last = '';
    await waitFor(
      async () => {
        last = (await http('/metrics')).body;
        return /frr_evpn_vni_up\{[^}]*vni="1016"[^}]*\} 1/.test(last) && /frr_evpn_prefix_routes\{[^}]*vni="1016"[^}]*\} [1-9]/.test(last);
      },
      {
        timeoutMs: 30_000,
        what: `frr_evpn_vni_up 1 and frr_evpn_prefix_routes > 0 for VNI 1016 (last: ${last
          .split('\n')
          .filter((l) => /^frr_evpn/.test(l))
          .join('; ')})`,
      },
    ).catch((e: unknown) => {
      throw new Error(
        `${(e as Error).message}; EVPN series in the last scrape: ${
          last
            .split('\n')
            .filter((l) => /^frr_evpn|^frr_bgp_l2vpn/.test(l))
            .join('; ') || 'none'
        }`,
      );
    });
  });

  test('podman stop (SIGTERM through tini) drains and exits 0 within the grace period; nothing is left running', async () => {
    const t0 = performance.now();
    await podman(['stop', '-t', String(MANIFEST.graceSeconds), NAME], { timeoutMs: (MANIFEST.graceSeconds + 30) * 1000 });
    const seconds = (performance.now() - t0) / 1000;
    timing('podman stop', seconds);
    const state = await inspectContainer(NAME);
    assert.equal(state?.State.Status, 'exited');
    assert.equal(state?.State.ExitCode, 0, 'exit code 0 (a SIGKILL after the grace period would be 137)');
    assert.ok(seconds < MANIFEST.graceSeconds, `stopped in ${seconds.toFixed(1)} s, within the ${MANIFEST.graceSeconds} s grace period`);
    const ev = await events();
    assert.ok(
      ev.some((e) => e.event === 'drained'),
      `the BGP sessions were shut down administratively first; the last events:\n${ev
        .filter((e) => e.event)
        .slice(-8)
        .map((e) => `${String(e.event)} ${String(e.err ?? e.msg).slice(0, 300)}`)
        .join('\n')}`,
    );
    assert.ok(
      ev.some((e) => e.event === 'stopped'),
      'the supervisor logged its clean stop',
    );
    // The router saw the drain: no prefix from the gateway any more.
    await waitFor(async () => ((await routerPeer())?.prefixesReceived ?? 0) === 0, {
      timeoutMs: 10_000,
      what: 'the router to have withdrawn the gateway prefix',
    });
    // Nothing of the container runs in the gateway namespace any more.
    const left = (await execa('ip', ['netns', 'pids', lab.gwNs])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(left, [], `processes left in the gateway namespace: ${left.join(', ')}`);
  });

  test("cleanup removes this run's containers and images", async () => {
    await removeAll();
    assert.deepEqual(await containersNamed(`frrsup-test${process.pid}`), []);
    assert.equal(await imageExists(TAG), false);
    assert.equal(await imageExists(BUILD_TAG), false);
  });
});
