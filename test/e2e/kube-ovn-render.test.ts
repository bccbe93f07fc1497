/**
 * The Kube-OVN config source end to end, with the real CLI and real FRR 8.4.4: `frr-supervisor kube-ovn-render` on
 * the objects of Kube-OVN's docs example (test/fixtures/kube-ovn/), its ConfigMap and Secret written as kubelet writes
 * a projected volume (lab/projected-volume.ts), then
 * - `frr-supervisor check` accepts the volume and `render` prints a config FRR's own parser (`vtysh --dryrun`) takes,
 *   for the docs' gateway1 (BGP + EVPN), gateway-bgp-only, and the dual-stack gateways with a password;
 * - `frr-supervisor run` in the lab's gateway namespace, on the rendered volume of a BGP-only gateway, reaches
 *   Established with the lab router and announces the gateway's ipBlock; a BgpConf edit, rendered again and written
 *   to the volume the kubelet way, is applied by the running supervisor (same process, no Pod replacement).
 * No Kubernetes API server can run here: the objects are the kubectl output as Kube-OVN 1.16 creates them.
 * (EVPN `run` needs the lab's netns VRF backend, which Kube-OVN's kernel VRF devices are not: EVPN is `check` +
 * `render` + FRR's parser here; the lab's EVPN tests cover the supervisor's EVPN mode itself.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { execa } from 'execa';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import { ProjectedVolume } from '../../lab/projected-volume.ts';
import { bgpRouterConf, GW, GW_PREFIX, RT } from '../../lab/configs.ts';
import { parseBgpNeighbors, parseBgpSummary } from '../../src/state/bgp.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = [join(REPO, 'bin/frr-supervisor.js')];
const FIXTURES = join(REPO, 'test/fixtures/kube-ovn');
const work = mkdtempSync(join(tmpdir(), 'kovn-render-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The real CLI as a process. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [...CLI, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    extendEnv: false,
    reject: false,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** kube-ovn-render's ConfigMap data and Secret data (decoded), as the files of the Pod's projected volume. */
async function renderVolume(objects: string, gateway: string): Promise<Record<string, string>> {
  const r = await cli(['kube-ovn-render', '--objects', objects, '--gateway', gateway]);
  assert.equal(r.code, 0, r.stderr);
  const files: Record<string, string> = {};
  for (const doc of parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; data: Record<string, string> })) {
    for (const [k, v] of Object.entries(doc.data)) files[k] = doc.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
  }
  return files;
}

describe('kube-ovn-render -> projected volume -> frr-supervisor check / render -> FRR 8.4.4 parser', { timeout: 120_000 }, () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['docs-objects.yaml', 'default/gateway1', '10.0.1.13', /vrf vrf-vpn\n vni 1016\n/],
    ['docs-objects.yaml', 'default/gateway-bgp-only', '10.0.1.14', /address-family ipv4 unicast\n {2}neighbor 10\.0\.1\.1 activate/],
    ['dual-stack-objects.yaml', 'tenant-a/gateway-ds-evpn', '10.20.0.3', /rd 10\.0\.2\.13:2000/],
    ['dual-stack-objects.yaml', 'tenant-a/gateway-ds-bgp', '10.20.0.5', /neighbor fd00:10:2::1 password s3cr3t-Pass/],
  ];
  for (const [objects, gateway, podIp, expect] of cases) {
    test(`${gateway} (${objects})`, async () => {
      const files = await renderVolume(join(FIXTURES, objects), gateway);
      const dir = join(work, gateway.replace('/', '_'));
      new ProjectedVolume(dir).update(files);
      const check = await cli(['check', '--config-dir', dir], { POD_IP: podIp });
      assert.equal(check.code, 0, check.stderr);
      assert.equal(check.stdout, 'ok'); // execa strips the final newline
      const render = await cli(['render', '--config-dir', dir], { POD_IP: podIp });
      assert.equal(render.code, 0, render.stderr);
      assert.match(render.stdout, expect);
      const conf = join(work, `${gateway.replace('/', '_')}.conf`);
      writeFileSync(conf, render.stdout);
      const dry = await execa('vtysh', ['--dryrun', '-f', conf], { reject: false });
      assert.equal(dry.exitCode, 0, `FRR's parser rejected the rendering:\n${dry.stdout}\n${dry.stderr}`);
    });
  }
});

/** The docs' objects with gateway-bgp-only forwarding (not SNAT) the lab's advertised prefix, and the BgpConf's timers. */
function labObjects(hold: string, keepalive: string): string {
  type Item = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
  const list = parse(readFileSync(join(FIXTURES, 'docs-objects.yaml'), 'utf8')) as { items: Item[] };
  for (const o of list.items) {
    if (o.kind === 'VpcEgressGateway' && o.metadata.name === 'gateway-bgp-only') o.spec.policies = [{ snat: false, ipBlocks: [GW_PREFIX] }];
    if (o.kind === 'BgpConf') Object.assign(o.spec, { holdTime: hold, keepaliveTime: keepalive, connectTime: '1s' });
  }
  const file = join(work, `lab-objects-${hold}.yaml`);
  writeFileSync(file, stringify(list));
  return file;
}

describe('kube-ovn-render -> frr-supervisor run in the lab, and a BgpConf edit through the volume', { timeout: 300_000 }, () => {
  const fx = useGatewayLab({ advertised: GW_PREFIX, routerConf: bgpRouterConf() });

  test('Established with the rendered config; the edited BgpConf applied by the same process', async () => {
    const files = await renderVolume(labObjects('90s', '30s'), 'default/gateway-bgp-only');
    assert.deepEqual((parse(files['gateway.yaml'] ?? '') as { advertise: string[] }).advertise, [GW_PREFIX]);
    const s = await fx.start({ files });
    await s.waitForEvent('config_applied');
    await waitFor(
      async () => {
        const peers = parseBgpSummary(await fx.router.vtysh('show bgp ipv4 unicast summary json'), { afi: 'ipv4Unicast' });
        return peers.find((p) => p.peer === GW)?.prefixesReceived === 1;
      },
      { timeoutMs: 30_000, what: `the router receives ${GW_PREFIX} from the gateway` },
    );
    const pid = s.pid;
    const configured = async (): Promise<number | undefined> =>
      parseBgpNeighbors(await s.vty.run([`show bgp neighbors ${RT} json`])).find((n) => n.peer === RT)?.configuredHoldTimeMsecs;
    assert.equal(await configured(), 90_000);

    // the BgpConf edit: kube-ovn-render again (what kube-ovn-sync applies), written as kubelet updates the volume
    const edited = await renderVolume(labObjects('60s', '20s'), 'default/gateway-bgp-only');
    assert.match(edited['bgp-conf.yaml'] ?? '', /holdTime: 60s/);
    const mark = s.events.length;
    s.volume.update(edited);
    await s.waitForEvent('config_applied', () => true, 30_000, mark);
    await waitFor(async () => (await configured()) === 60_000, { timeoutMs: 15_000, what: 'hold time 60 s configured' });
    assert.equal(s.pid, pid, 'the same supervisor process: no container restart, no Pod replacement');
  });
});
