/**
 * The gateway Pod as Kube-OVN 1.16 creates it (test/fixtures/kube-ovn-gateway-pod.ts), mutated by the webhook's
 * mutation (src/kube-ovn/mutate.ts), run for real: podman runs built from the mutated Pod's fields (image, command,
 * args, env with the downward API's POD_IP, capabilities, user, no-new-privileges, the config volume's mount, the
 * grace period), in the lab's gateway namespace, against the lab's router (FRR 8.4.4 on the host), after an init step
 * that does what Kube-OVN's init container (dist/images/init-vpc-egress-gateway.sh) does, as far as this kernel allows.
 *
 * What this machine cannot do, and how it is covered instead:
 * - No Kubernetes API server and no kubelet: the Pod's containers run as podman runs built from the spec, one after
 *   the other as kubelet would (init containers, then the frr container); the config volume is a directory written
 *   the way kubelet writes a projected volume (lab/projected-volume.ts); the exec probes run with `podman exec`.
 * - No kernel VRF devices: Kube-OVN's init script creates `vrf-vpn` (table 2000) in EVPN mode and fails here at that
 *   line (the test shows it). The init step does the rest of the script (forwarding, rp_filter, `br-vpn`, `vxlan-vpn`
 *   with learning on and no MTU, the policy CIDRs' routes in table 2000) and the supervisor runs with the netns VRF
 *   backend (gateway.yaml vrfBackend netns), as every EVPN test of this project does on this kernel. The
 *   kernel-backend takeover of `vrf-vpn` itself is not proven here (test/vm has kernel VRF devices).
 * - Resource requests/limits are not applied (podman's cgroup limits on this host's hybrid cgroups are not kubelet's).
 * - The lab's interfaces: `net1` is the external one (as in Kube-OVN); the internal one is `int0` (a veth to the VPC
 *   host), standing in for the Pod's `eth0`, which the lab cannot give up (gateway.yaml internalInterface int0).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { createLab, waitFor } from '../../lab/lab.ts';
import type { Lab, RouterInstance } from '../../lab/lab.ts';
import { bgpRouterConf, docsBgpConf, docsEvpnConf, GW, RT } from '../../lab/configs.ts';
import { evpnRouterConf, evpnRouterDevices } from '../../lab/evpn-router.ts';
import { listType5Routes } from '../../lab/evpn-routes.ts';
import { addHosts, hostFlows, VPC } from '../../lab/hosts.ts';
import type { LabHosts } from '../../lab/hosts.ts';
import { formatFlow, LossMeter, steadyWindow } from '../../lab/loss-meter.ts';
import type { FlowStats } from '../../lab/loss-meter.ts';
import { ProjectedVolume } from '../../lab/projected-volume.ts';
import { buildImage, containerEvents, inspectContainer, ownContainer, podman, removeAll, ULIMITS } from '../../lab/podman.ts';
import { mutatePod } from '../../src/kube-ovn/mutate.ts';
import type { Container, Pod, Probe } from '../../src/kube-ovn/mutate.ts';
import { CONFIG_VOLUME, HTTP_PORT } from '../../src/kube-ovn/names.ts';
import { parseBgpSummary } from '../../src/state/bgp.ts';
import { kubeOvnGatewayPod } from '../fixtures/kube-ovn-gateway-pod.ts';
import { applyPatch } from '../helpers/json-patch.ts';
import type { PatchOp } from '../../src/kube-ovn/mutate.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HTTP_GET = join(REPO, 'lab/http-get.js');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const TAG = `localhost/${pkg.name}-kovn${process.pid}:${pkg.version}`;
const NAME = `frrsup-kovn${process.pid}`;
const VRF = `fsk${process.pid}v`;
const BGP = docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s' });
/** gateway.yaml as the companion's sync writes it for gateway1 (advertise: the policies' CIDRs), in the lab's names. */
const GATEWAY_BGP = `advertise: [${VPC.connectedCidr}, ${VPC.routedCidr}]\ninternalInterface: ${VPC.gatewayIf}\n`;
const GATEWAY_EVPN = `${GATEWAY_BGP}internalGateway: ${VPC.address}\nvrfBackend: netns\nvrf: {name: ${VRF}, table: 2000}\n`;

function log(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

/** The one frr container and the init containers of a mutated Pod. */
function partsOf(pod: Pod): { frr: Container; inits: Container[]; grace: number } {
  const frr = pod.spec?.containers?.find((c) => c.name === 'frr');
  assert.ok(frr, 'the mutated Pod has an frr container');
  return { frr, inits: pod.spec?.initContainers ?? [], grace: pod.spec?.terminationGracePeriodSeconds ?? 30 };
}

/**
 * `podman run` arguments built from a container's spec fields; `volumes` maps a volume name to a host directory, the
 * downward API's status.podIP is the lab gateway's address. Fields podman cannot take from a spec fail the test.
 */
function podmanArgsFor(
  c: Container,
  o: { name: string; netns: string; volumes: Record<string, string>; grace?: number; extra?: string[] },
): string[] {
  const sc = (c.securityContext ?? {}) as {
    runAsUser?: number;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  assert.notEqual(sc.privileged, true, `${c.name}: not privileged`);
  const env = (c.env ?? []).map((e) => {
    if (e.value !== undefined) return `${e.name}=${e.value}`;
    assert.equal(e.valueFrom?.fieldRef.fieldPath, 'status.podIP', `${c.name}: env ${e.name} from the downward API`);
    return `${e.name}=${GW}`;
  });
  const mounts = (c.volumeMounts ?? []).map((m) => {
    const dir = o.volumes[m.name];
    assert.ok(dir, `${c.name}: a host directory for volume ${m.name}`);
    return `${dir}:${m.mountPath}${m.readOnly ? ':ro' : ''}`;
  });
  const [entry, ...rest] = c.command ?? [];
  assert.ok(entry && c.image, `${c.name}: image and command`);
  return [
    'run',
    '-d',
    '--name',
    o.name,
    ...ULIMITS,
    '--network',
    `ns:/run/netns/${o.netns}`,
    ...(sc.runAsUser !== undefined ? ['--user', String(sc.runAsUser)] : []),
    ...(sc.allowPrivilegeEscalation === false ? ['--security-opt', 'no-new-privileges'] : []),
    ...(sc.capabilities?.drop ?? []).flatMap((x) => ['--cap-drop', x]),
    ...(sc.capabilities?.add ?? []).flatMap((x) => ['--cap-add', x]),
    ...env.flatMap((e) => ['--env', e]),
    ...mounts.flatMap((m) => ['-v', m]),
    ...(o.grace !== undefined ? ['--stop-timeout', String(o.grace)] : []),
    ...(o.extra ?? []),
    '--entrypoint',
    JSON.stringify([entry]),
    c.image,
    ...rest,
    ...(c.args ?? []),
  ];
}

/**
 * Kube-OVN's init container, as far as this kernel allows (dist/images/init-vpc-egress-gateway.sh at 1533681d7, with
 * the env the controller gives it; the lab's int0 for the Pod's eth0). Returns what could not be done.
 */
async function kubeOvnInit(lab: Lab, evpn: boolean): Promise<string[]> {
  const gw = (argv: string[], reject = true) => lab.exec(lab.gwNs, argv, { reject });
  const cannot: string[] = [];
  await gw(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await gw(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  // ENABLE_BGP=true: no SNAT rules, no policy routing tables 1000 (the script skips them).
  await gw(['sysctl', '-qw', `net.ipv4.conf.${VPC.gatewayIf}.rp_filter=0`]);
  // The Pod's routes annotation (applied by Kube-OVN's CNI, not the script): the policy CIDRs via the internal gateway.
  await gw(['ip', 'route', 'replace', VPC.routedCidr, 'via', VPC.address]);
  if (!evpn) return cannot;
  const vrf = await gw(['ip', 'link', 'add', 'vrf-vpn', 'type', 'vrf', 'table', '2000'], false);
  if (vrf.exitCode !== 0) cannot.push(`ip link add vrf-vpn type vrf table 2000: ${vrf.stderr.trim()} (this kernel has no VRF devices)`);
  await gw(['ip', 'link', 'add', 'br-vpn', 'type', 'bridge']);
  if (vrf.exitCode === 0) await gw(['ip', 'link', 'set', 'br-vpn', 'master', 'vrf-vpn']);
  await gw(['ip', 'link', 'set', 'br-vpn', 'up']);
  // As the script: learning on (the kernel's default), no MTU given, local = net1's first IPv4 address.
  await gw(['ip', 'link', 'add', 'vxlan-vpn', 'type', 'vxlan', 'id', '1016', 'dstport', '4789', 'local', GW]);
  await gw(['ip', 'link', 'set', 'vxlan-vpn', 'master', 'br-vpn']);
  await gw(['ip', 'link', 'set', 'vxlan-vpn', 'up']);
  if (vrf.exitCode === 0) await gw(['ip', 'link', 'set', VPC.gatewayIf, 'master', 'vrf-vpn']);
  else cannot.push(`ip link set eth0 master vrf-vpn: no VRF device (the lab's ${VPC.gatewayIf} stays in the main table)`);
  for (const src of [VPC.connectedCidr, VPC.routedCidr])
    await gw(['ip', 'route', 'add', src, 'via', VPC.address, 'dev', VPC.gatewayIf, 'table', '2000']);
  return cannot;
}

function assertDelivered(stats: Record<string, FlowStats>, minSent: number): void {
  for (const s of Object.values(stats)) {
    log(formatFlow(s));
    assert.ok(s.sent >= minSent, `${s.label}: sent ${s.sent} < ${minSent}`);
    assert.ok(s.lost - s.receiverDrops <= s.sent * 0.02, `${s.label}: lost ${s.lost} of ${s.sent} (receiver drops ${s.receiverDrops})`);
  }
}

describe("Kube-OVN 1.16's gateway Pod, mutated, run for real against the lab router", { timeout: 1_800_000 }, () => {
  let lab: Lab;
  let hosts: LabHosts;
  let router: RouterInstance;
  let configDir: string;
  let volume: ProjectedVolume;
  const t0 = performance.now();

  before(async () => {
    const built = await buildImage(REPO, TAG);
    log(`timing image build ${built.toFixed(1)} s (cached layers when the image test built it before)`);
    lab = await createLab();
    hosts = await addHosts(lab);
    configDir = await mkdtemp(join(tmpdir(), `fsk-${process.pid}-config-`));
    volume = new ProjectedVolume(configDir);
  });

  after(async () => {
    await removeAll();
    if (configDir) await rm(configDir, { recursive: true, force: true });
    await execa('ip', ['netns', 'del', VRF], { reject: false });
    await lab?.cleanup();
    log(`timing kube-ovn-pod test total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  const events = (name: string) => containerEvents(name);

  async function waitEvent(name: string, event: string, match: (e: Record<string, unknown>) => boolean = () => true, timeoutMs = 60_000) {
    return waitFor(async () => (await events(name)).find((e) => e.event === event && match(e)), {
      timeoutMs,
      intervalMs: 300,
      what: `event ${event} in ${name}'s log`,
    });
  }

  /** kubelet's probe: the spec's exec command in the container; exit code, output, wall time. */
  async function probe(name: string, p: Probe | undefined): Promise<{ ok: boolean; line: string; ms: number; how: string }> {
    assert.ok(p?.exec, 'an exec probe');
    const started = performance.now();
    const r = await podman(['exec', name, ...p.exec.command], { reject: false, timeoutMs: (p.timeoutSeconds ?? 1) * 1000 + 10_000 });
    const ms = performance.now() - started;
    if (/unknown command "probe"/.test(r.stderr)) {
      // `frr-supervisor probe` comes with another branch (issue 24, exec probes). Until it is merged, the probe's
      // meaning is checked over HTTP from the container's namespace, and this says so.
      const path = p.exec.command.at(-1) === 'ready' ? '/readyz' : '/livez';
      const h = await lab.exec(lab.gwNs, [process.execPath, HTTP_GET, `http://${GW}:${HTTP_PORT}${path}`]);
      const { status, body } = JSON.parse(h.stdout) as { status: number; body: string };
      return {
        ok: status === 200,
        line: body.trim().slice(0, 200),
        ms,
        how: `HTTP GET ${path} (this build has no \`frr-supervisor probe\` yet)`,
      };
    }
    return { ok: r.exitCode === 0, line: `${r.stdout}${r.stderr}`.trim().slice(0, 200), ms, how: p.exec.command.join(' ') };
  }

  async function routerPeer(): Promise<{ established: boolean; prefixesReceived: number } | undefined> {
    return parseBgpSummary(await router.vtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' }).find((x) => x.peer === GW);
  }

  /** The init containers (Kube-OVN's `init` by the lab's init step, the no-op `frr-config` by podman), then frr. */
  async function startPod(pod: Pod, name: string, evpn: boolean): Promise<{ frr: Container; grace: number; cannot: string[] }> {
    const { frr, inits, grace } = partsOf(pod);
    assert.deepEqual(
      inits.map((c) => c.name),
      ['init', 'frr-config'],
    );
    const cannot = await kubeOvnInit(lab, evpn);
    for (const c of cannot) log(`Kube-OVN init step not possible here: ${c}`);
    const noop = inits[1]!;
    const initName = ownContainer(`${name}-frr-config`);
    await podman(podmanArgsFor(noop, { name: initName, netns: lab.gwNs, volumes: {} }));
    const done = await waitFor(
      async () => {
        const s = await inspectContainer(initName);
        return s && !s.State.Running && s.State.Status === 'exited' && s.State;
      },
      { timeoutMs: 30_000, what: 'the frr-config init container to finish' },
    );
    assert.equal(done.ExitCode, 0, 'the no-op frr-config exits 0');
    ownContainer(name);
    // The lab's netns VRF backend creates a network namespace for the VRF and switches forwarding on in it: that needs
    // a writable /proc/sys, which a container does not get (podman, like kubelet, mounts it read-only). Kube-OVN's
    // kernel VRF lives in the Pod's own namespace, where its privileged init container switched forwarding on.
    const extra = evpn ? ['--security-opt', 'unmask=/proc/sys'] : [];
    if (evpn) log('lab only (netns VRF backend): the frr container gets a writable /proc/sys (--security-opt unmask=/proc/sys)');
    await podman(podmanArgsFor(frr, { name, netns: lab.gwNs, volumes: { [CONFIG_VOLUME]: configDir }, grace, extra }));
    return { frr, grace, cannot };
  }

  async function stopPod(name: string, grace: number): Promise<void> {
    const started = performance.now();
    await podman(['stop', '-t', String(grace), name], { timeoutMs: (grace + 30) * 1000 });
    const seconds = (performance.now() - started) / 1000;
    log(`timing podman stop (grace ${grace} s) ${seconds.toFixed(1)} s`);
    const state = await inspectContainer(name);
    assert.equal(state?.State.ExitCode, 0, 'exit 0: stopped by itself, not SIGKILLed at the end of the grace period');
    assert.ok(seconds < grace, `stopped in ${seconds.toFixed(1)} s, within the ${grace} s grace period`);
    const ev = await events(name);
    assert.ok(
      ev.some((e) => e.event === 'drained'),
      'the BGP sessions were drained first',
    );
    assert.ok(
      ev.some((e) => e.event === 'stopped'),
      'a clean stop',
    );
  }

  test('BGP-only: the mutated Pod comes up, BGP Established, packets cross, exec probes pass', async () => {
    router = await lab.startRouter(bgpRouterConf({ connected: true }));
    const pod = mutatePod(kubeOvnGatewayPod(), { image: TAG });
    volume.update({ 'bgp-conf.yaml': BGP, 'gateway.yaml': GATEWAY_BGP });
    const started = performance.now();
    const { frr } = await startPod(pod, NAME, false);
    await waitEvent(NAME, 'config_applied', (e) => e.generation === 1);
    await waitFor(async () => (await routerPeer())?.prefixesReceived === 2, {
      timeoutMs: 60_000,
      what: 'both advertised CIDRs at the router',
    });
    log(`timing container start to both prefixes at the router ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const startup = await waitFor(
      async () => {
        const r = await probe(NAME, frr.startupProbe);
        return r.ok && r;
      },
      { timeoutMs: 30_000, what: 'the startup probe to pass' },
    );
    const ready = await waitFor(
      async () => {
        const r = await probe(NAME, frr.readinessProbe);
        return r.ok && r;
      },
      { timeoutMs: 30_000, what: 'the readiness probe to pass' },
    );
    const live = await probe(NAME, frr.livenessProbe);
    assert.ok(live.ok, live.line);
    for (const [what, r] of Object.entries({ startup, live, ready }))
      log(`probe ${what}: ${r.how} -> ok in ${r.ms.toFixed(0)} ms: ${r.line}`);
    assertDelivered(await steadyWindow(hostFlows(hosts, { target: 'both' }), 2000), 1500);
  });

  test('a ConfigMap edit, written the way kubelet writes it, is applied in the same container (no restart)', async () => {
    const before = await inspectContainer(NAME);
    const m = await LossMeter.start(hostFlows(hosts));
    let stats: Record<string, FlowStats>;
    try {
      await m.waitFlowing({ timeoutMs: 10_000 });
      volume.update({ 'bgp-conf.yaml': docsBgpConf({ hold: '9s', keepalive: '3s', connect: '3s' }), 'gateway.yaml': GATEWAY_BGP });
      const applied = await waitEvent(NAME, 'config_applied', (e) => e.generation === 2);
      log(`ConfigMap edit applied, restarted ${JSON.stringify(applied.restarted)}`);
      await waitFor(async () => (await routerPeer())?.prefixesReceived === 2, {
        timeoutMs: 30_000,
        what: 'both prefixes at the router again',
      });
      await sleep(2000);
      stats = await m.stop();
    } catch (e) {
      await m.close();
      throw e;
    }
    for (const s of Object.values(stats)) log(`during the ConfigMap edit (bgpd restart): ${formatFlow(s)}`);
    const after = await inspectContainer(NAME);
    assert.equal(after?.Id, before?.Id, 'the same container');
    assert.equal(after?.State.Pid, before?.State.Pid, 'the same process 1: no container restart');
    const running = await podman(['exec', NAME, 'vtysh', '-c', 'show running-config']);
    assert.match(running.stdout, /neighbor 10\.0\.1\.1 timers connect 3/);
  });

  test('stopping the Pod drains within its grace period; the router withdraws the routes', async () => {
    await stopPod(NAME, partsOf(mutatePod(kubeOvnGatewayPod(), { image: TAG })).grace);
    await waitFor(async () => ((await routerPeer())?.prefixesReceived ?? 0) === 0, { timeoutMs: 10_000, what: 'the router to withdraw' });
    await podman(['rm', '-f', NAME]);
    await lab.exec(lab.gwNs, ['ip', 'route', 'del', VPC.routedCidr], { reject: false });
  });

  test("EVPN: on Kube-OVN's devices (learning on, no MTU, routes in table 2000) the supervisor takes over; type-5 both ways, packets cross, probes pass, stop drains", async () => {
    const name = `${NAME}-evpn`;
    await evpnRouterDevices(lab, 1016);
    await router.stop();
    router = await lab.startRouter(evpnRouterConf(1016, GW, RT, { connected: true, unicast: true }));
    const pod = mutatePod(kubeOvnGatewayPod({ evpn: true }), { image: TAG });
    volume.update({ 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': docsEvpnConf(1016), 'gateway.yaml': GATEWAY_EVPN });
    const started = performance.now();
    const { frr, grace, cannot } = await startPod(pod, name, true);
    const before = JSON.parse((await lab.exec(lab.gwNs, ['ip', '-d', '-json', 'link', 'show', 'vxlan-vpn'])).stdout) as Array<{
      mtu: number;
      linkinfo?: { info_data?: { learning?: boolean } };
    }>;
    log(`Kube-OVN's vxlan-vpn before the supervisor: mtu ${before[0]?.mtu}, learning ${String(before[0]?.linkinfo?.info_data?.learning)}`);
    assert.equal(before[0]?.linkinfo?.info_data?.learning, true, 'as Kube-OVN creates it: learning on');
    const applied = await waitEvent(name, 'config_applied', () => true, 90_000);
    log(`first apply: ${JSON.stringify({ generation: applied.generation, restarted: applied.restarted })}`);
    const dp = (await events(name)).filter((e) => typeof e.event === 'string' && /^dataplane/.test(e.event));
    for (const e of dp.slice(0, 6)) log(`data plane event: ${JSON.stringify(e).slice(0, 400)}`);
    assert.deepEqual(
      dp.filter((e) => e.event === 'dataplane_failed'),
      [],
    );
    // The VXLAN the init step made now lives in the VRF namespace, without learning, with an MTU.
    const pid = (await inspectContainer(name))!.State.Pid;
    const inVrf = async (argv: string[]) => (await execa('nsenter', ['-t', String(pid), '-m', '-n', 'ip', '-n', VRF, ...argv])).stdout;
    const vx = JSON.parse(await inVrf(['-d', '-json', 'link', 'show', 'vxlan-vpn'])) as Array<{
      mtu: number;
      master?: string;
      linkinfo?: { info_data?: { learning?: boolean } };
    }>;
    log(`vxlan-vpn after: mtu ${vx[0]?.mtu}, learning ${String(vx[0]?.linkinfo?.info_data?.learning)}, master ${String(vx[0]?.master)}`);
    assert.equal(vx[0]?.linkinfo?.info_data?.learning, false, 'learning off');
    assert.equal(vx[0]?.master, 'br-vpn');
    // What stays of Kube-OVN's devices in the Pod's own namespace (netns backend: the bridge lives in the VRF namespace).
    const leftBridge = await lab.exec(lab.gwNs, ['ip', '-br', 'link', 'show', 'br-vpn'], { reject: false });
    const table2000 = await lab.exec(lab.gwNs, ['ip', 'route', 'show', 'table', '2000'], { reject: false });
    log(
      `left in the Pod's namespace: br-vpn ${leftBridge.exitCode === 0 ? `still there (${leftBridge.stdout.trim()})` : 'gone'}; table 2000: ${table2000.stdout.trim().replace(/\n/g, '; ') || 'empty'}`,
    );
    await waitFor(
      async () =>
        listType5Routes(await router.vtysh('show bgp l2vpn evpn route type prefix json')).some(
          (r) => !r.local && r.prefix === VPC.routedCidr,
        ),
      { timeoutMs: 60_000, what: `type-5 ${VPC.routedCidr} from the gateway at the router` },
    );
    log(`timing container start to type-5 at the router ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const ready = await waitFor(
      async () => {
        const r = await probe(name, frr.readinessProbe);
        return r.ok && r;
      },
      { timeoutMs: 60_000, what: 'the readiness probe to pass' },
    );
    const live = await probe(name, frr.livenessProbe);
    assert.ok(live.ok, live.line);
    log(`probe ready: ${ready.how} -> ok in ${ready.ms.toFixed(0)} ms; live ${live.ms.toFixed(0)} ms`);
    // The takeover happens before the first BGP session (no route exists before it, so no traffic can be hit by it);
    // once traffic flows, nothing touches the devices again: a steady window with the resync running loses nothing.
    assertDelivered(await steadyWindow(hostFlows(hosts, { target: 'both' }), 3000), 2500);
    log(`what Kube-OVN's init does that this kernel cannot: ${cannot.length === 0 ? 'nothing' : cannot.join('; ')}`);
    await stopPod(name, grace);
  });
  test("the companion's webhook container, as deploy/kube-ovn/companion.yaml runs it (user 65534, read-only root, no capabilities), answers an AdmissionReview over HTTPS", async () => {
    const docs = parseAllDocuments(readFileSync(join(REPO, 'deploy/kube-ovn/companion.yaml'), 'utf8')).map(
      (d) => d.toJS() as Record<string, unknown>,
    );
    const dep = docs.find((d) => d.kind === 'Deployment') as {
      spec: {
        template: {
          spec: { securityContext: { runAsUser: number }; containers: Container[]; volumes: Array<{ name: string; secret?: unknown }> };
        };
      };
    };
    const podSpec = dep.spec.template.spec;
    const web = podSpec.containers.find((c) => c.args?.[0] === 'webhook');
    assert.ok(web);
    // The Secret volume: the files webhook-certs.sh writes, readable as kubelet's default mode 0644 makes them.
    const certs = join(configDir, '..', `fsk-${process.pid}-certs`);
    await execa('bash', [join(REPO, 'deploy/kube-ovn/webhook-certs.sh'), certs]);
    await chmod(certs, 0o755);
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) await chmod(join(certs, f), 0o644);
    const ns = await lab.addNamespace('wh');
    const name = `${NAME}-webhook`;
    const spec: Container = {
      ...web,
      image: TAG, // the image under test (the manifest names the released one)
      securityContext: { ...web.securityContext, runAsUser: podSpec.securityContext.runAsUser },
    };
    const volume = podSpec.volumes.find((v) => v.secret)!.name;
    ownContainer(name);
    try {
      const ro = (spec.securityContext as { readOnlyRootFilesystem?: boolean }).readOnlyRootFilesystem ? ['--read-only'] : [];
      await podman(podmanArgsFor(spec, { name, netns: ns, volumes: { [volume]: certs }, extra: ro }));
      const port = Number(web.ports?.[0]?.containerPort);
      const pod = kubeOvnGatewayPod({ evpn: true });
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'default', object: pod },
      };
      const client = `
        const https = require('node:https');
        const [port, ca, body] = [process.argv[1], require('node:fs').readFileSync(process.argv[2]), require('node:fs').readFileSync(0)];
        const req = https.request({ host: '127.0.0.1', port, path: '/mutate-pod', method: 'POST', ca, servername: 'frr-supervisor-kube-ovn.kube-system.svc',
          headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body: t }))); });
        req.on('error', (e) => process.stdout.write(JSON.stringify({ status: 0, body: String(e) })));
        req.end(body);`;
      const answer = await waitFor(
        async () => {
          const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '-e', client, String(port), join(certs, 'ca.crt')], {
            input: JSON.stringify(review),
            reject: false,
          });
          const a = JSON.parse(r.stdout || '{"status":0}') as { status: number; body: string };
          return a.status === 200 && a;
        },
        { timeoutMs: 30_000, what: 'the webhook container to answer over HTTPS' },
      );
      const response = (JSON.parse(answer.body) as { response: { uid: string; allowed: boolean; patch: string } }).response;
      assert.equal(response.uid, 'u-1');
      assert.equal(response.allowed, true);
      const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString()) as PatchOp[];
      const image = web.args?.[web.args.indexOf('--supervisor-image') + 1] ?? '';
      assert.deepEqual(applyPatch(pod, patch), mutatePod(pod, { image }));
      const state = await inspectContainer(name);
      assert.equal(state?.State.Running, true, 'still running');
      const listening = (await events(name)).find((e) => e.event === 'webhook_listening');
      assert.ok(listening, 'webhook_listening logged');
      log(
        `companion webhook container (user ${String(podSpec.securityContext.runAsUser)}, read-only root, capabilities dropped) answered with a ${patch.length}-operation patch`,
      );
    } finally {
      await podman(['rm', '-f', '-t', '0', name], { reject: false });
      await rm(certs, { recursive: true, force: true });
    }
  });
});
