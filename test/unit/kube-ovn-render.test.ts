// `frr-supervisor kube-ovn-render`: kubectl output in, the gateway's ConfigMap (+ Secret) YAML out; errors name the
// object and field, and nothing is printed on stdout when there is one.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { MAIN_HELP } from '../../src/cli/cli.ts';
import { runCli } from '../helpers/cli.ts';
import { validateManifest } from '../helpers/k8s-schemas.ts';

const DOCS = fileURLToPath(new URL('../fixtures/kube-ovn/docs-objects.yaml', import.meta.url));
const DUAL = fileURLToPath(new URL('../fixtures/kube-ovn/dual-stack-objects.yaml', import.meta.url));
const docs = (text: string): Array<Record<string, unknown>> => parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);

describe('frr-supervisor kube-ovn-render', () => {
  it('prints the ConfigMap of the docs example gateway, valid against the Kubernetes schema', async () => {
    const r = await runCli(['kube-ovn-render', '--objects', DOCS, '--gateway', 'default/gateway1']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const out = docs(r.stdout);
    assert.deepEqual(
      out.map((o) => `${String(o.kind)} ${String((o.metadata as { name: string }).name)}`),
      ['ConfigMap gateway1-frr-supervisor'],
    );
    for (const o of out) assert.deepEqual(validateManifest(o).errors, []);
    assert.deepEqual(Object.keys(out[0]?.data as object).sort(), ['bgp-conf.yaml', 'evpn-conf.yaml', 'gateway.yaml']);
  });

  it('a password: a Secret too; warnings on stderr, exit 0', async () => {
    const r = await runCli(['kube-ovn-render', '--objects', DUAL, '--gateway', 'tenant-a/gateway-ds-evpn']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      docs(r.stdout).map((o) => o.kind),
      ['ConfigMap', 'Secret'],
    );
    assert.match(r.stderr, /^warning: Subnet subnet-a: spec\.gateway: /m);
  });

  it('invalid objects: exit 1, the problems on stderr naming the object and field, nothing on stdout', async () => {
    const r = await runCli(['kube-ovn-render', '--objects', DOCS, '--gateway', 'default/gateway9']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: VpcEgressGateway default\/gateway9: not found among the objects/);
    const missing = await runCli(['kube-ovn-render', '--objects', '/nonexistent/objects.yaml', '--gateway', 'default/gateway1']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error: /nonexistent/objects.yaml: no such file\n');
  });

  it('usage errors exit 2; --help and the main help name the command', async () => {
    assert.equal((await runCli(['kube-ovn-render', '--gateway', 'default/gateway1'])).code, 2);
    const bad = await runCli(['kube-ovn-render', '--objects', DOCS, '--gateway', 'gateway1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--gateway: "gateway1" is not NAMESPACE\/NAME/);
    const help = await runCli(['kube-ovn-render', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--objects VALUE/);
    assert.match(help.stdout, /--gateway VALUE/);
    assert.match(MAIN_HELP, /^ {2}kube-ovn-render /m);
    assert.match(MAIN_HELP, /^ {2}kube-ovn-sync /m);
    const sync = await runCli(['kube-ovn-sync', '--help']);
    assert.match(sync.stdout, /--namespaces VALUE/);
    assert.match(sync.stdout, /--namespaces VALUE .*\(default: default\)/);
    assert.equal((await runCli(['kube-ovn-sync', '--namespaces', 'Bad_NS'])).code, 2, 'not a namespace name');
  });

  it('--objects - reads kubectl output from stdin (a pipeline: kubectl get ... -o yaml | frr-supervisor kube-ovn-render ...)', async () => {
    const bin = fileURLToPath(new URL('../../bin/frr-supervisor.js', import.meta.url));
    const r = await execa(process.execPath, [bin, 'kube-ovn-render', '--objects', '-', '--gateway', 'default/gateway1'], {
      input: readFileSync(DOCS, 'utf8'),
      reject: false,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(
      docs(r.stdout).map((o) => o.kind),
      ['ConfigMap'],
    );
    const bad = await execa(process.execPath, [bin, 'kube-ovn-render', '--objects', '-', '--gateway', 'default/gateway1'], {
      input: 'items: [',
      reject: false,
    });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /^error: stdin: YAML syntax error/);
  });
});
