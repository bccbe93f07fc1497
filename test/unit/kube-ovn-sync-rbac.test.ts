// deploy/kube-ovn/sync-rbac.yaml: strictly valid against the Kubernetes schemas (a broken copy fails), least privilege
// (exactly the verbs the controller's code uses, no wildcard, no read of Secrets), bindings that point at what exists.
// That the rules cover every request the controller actually makes is checked in kube-ovn-sync.test.ts, on the
// requests recorded by its local API server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KUBE_OVN_SYNC_FLAGS } from '../../src/cli/kube-ovn-sync-cmd.ts';
import { WATCHED } from '../../src/kube-ovn/sync.ts';
import { validateManifest } from '../helpers/k8s-schemas.ts';
import { loadSyncRbac, rulesOf } from '../helpers/rbac.ts';

describe('deploy/kube-ovn/sync-rbac.yaml', () => {
  const docs = loadSyncRbac();

  it('every object is valid against its Kubernetes schema, strictly; a misspelt field is caught', () => {
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRole', 'RoleBinding'],
    );
    for (const d of docs) assert.deepEqual(validateManifest(d).errors, [], `${String(d.kind)}`);
    const broken = structuredClone(docs[1]) as { rules: Array<Record<string, unknown>> };
    const rule = broken.rules[0];
    assert.ok(rule);
    rule.verb = rule.verbs;
    delete rule.verbs;
    assert.ok(validateManifest(broken).errors.length > 0);
  });

  it('grants exactly what the code uses: list/watch of the watched Kube-OVN kinds; ConfigMap list/create/patch/delete and Secret create/patch/delete per namespace', () => {
    const read = rulesOf(docs, 'frr-supervisor-kube-ovn-sync-read');
    assert.deepEqual(read, [{ apiGroups: ['kubeovn.io'], resources: WATCHED.map((w) => w.plural), verbs: ['list', 'watch'] }]);
    const write = rulesOf(docs, 'frr-supervisor-kube-ovn-sync-write');
    assert.deepEqual(write, [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'create', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'patch', 'delete'] },
    ]);
    assert.doesNotMatch(JSON.stringify(docs), /"\*"/, 'no wildcard');
  });

  it('the bindings name the ServiceAccount and roles of this file; the RoleBinding is in the default --namespaces', () => {
    const sa = docs.find((d) => d.kind === 'ServiceAccount') as { metadata: { name: string; namespace: string } };
    for (const b of docs.filter((d) => String(d.kind).endsWith('Binding')) as Array<{
      roleRef: { kind: string; name: string };
      subjects: Array<{ kind: string; name: string; namespace: string }>;
    }>) {
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
      assert.ok(docs.some((d) => d.kind === b.roleRef.kind && (d.metadata as { name: string }).name === b.roleRef.name));
    }
    const rb = docs.find((d) => d.kind === 'RoleBinding') as { metadata: { namespace: string } };
    assert.equal(rb.metadata.namespace, KUBE_OVN_SYNC_FLAGS.namespaces.default);
    assert.equal(sa.metadata.name, 'frr-supervisor-kube-ovn', "the companion Deployment's serviceAccountName");
  });
});
