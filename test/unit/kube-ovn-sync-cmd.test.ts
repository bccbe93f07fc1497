// `frr-supervisor kube-ovn-sync` as a process: the real CLI with a kubeconfig ($KUBECONFIG) pointing at a local HTTPS
// server in the Kubernetes API's wire format (no Kubernetes API server can be installed on these machines): it
// applies the gateways' ConfigMaps, serves /readyz, and stops with exit 0 on SIGTERM; without any cluster it exits 1.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { parseObjects } from '../../src/kube-ovn/mapping.ts';
import { readFileSync } from 'node:fs';
import { FakeApiServer, kubeconfigFor, selfSignedCert } from '../helpers/fake-kube-api.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/frr-supervisor.js');
const dir = mkdtempSync(join(tmpdir(), 'kovn-sync-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('frr-supervisor kube-ovn-sync (the process)', { timeout: 120_000 }, () => {
  it('applies, is ready, and stops with exit 0 on SIGTERM', async () => {
    console.log('# no Kubernetes API server can be installed on this machine: the CLI talks to a local HTTPS server');
    const objs = parseObjects(readFileSync(join(REPO, 'test/fixtures/kube-ovn/docs-objects.yaml'), 'utf8'), 'docs', []);
    assert.ok(objs);
    const api = new FakeApiServer({
      'vpc-egress-gateways': objs.gateways,
      'bgp-confs': objs.bgpConfs,
      'evpn-confs': objs.evpnConfs,
      subnets: objs.subnets,
      vpcs: [],
    });
    const tls = selfSignedCert(dir);
    await api.start(tls);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(api.url, tls.cert));
    const port = await freePort();
    const child = execa(process.execPath, [BIN, 'kube-ovn-sync', '--listen', `127.0.0.1:${port}`, '--debounce', '50ms'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig },
      extendEnv: false,
      reject: false,
    });
    try {
      await until('both ConfigMaps applied', () => api.requests.filter((r) => r.method === 'PATCH').length >= 2);
      await until('/readyz 200', async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
        } catch {
          return false;
        }
      });
      assert.ok(api.stored.has('configmaps/default/gateway1-frr-supervisor'));
      child.kill('SIGTERM');
      const r = await child;
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /"event":"kube_ovn_sync_started"/);
      assert.match(r.stdout, /"event":"kube_ovn_sync_stopped","signal":"SIGTERM"/);
    } finally {
      child.kill('SIGKILL');
      await api.stop();
    }
  });

  it('without a kubeconfig or a service account: exit 1, saying so (not an endless retry of localhost:8080)', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const r = await execa(process.execPath, [BIN, 'kube-ovn-sync'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: no Kubernetes cluster: not in a Pod with a service account, and no kubeconfig/);
  });
});
