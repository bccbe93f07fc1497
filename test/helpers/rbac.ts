/** deploy/kube-ovn/sync-rbac.yaml, and Kubernetes RBAC's rule matching (what the API server's authorizer checks). */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export type Doc = Record<string, unknown> & { kind?: string; metadata?: Record<string, unknown> };
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export function loadSyncRbac(): Doc[] {
  const text = readFileSync(new URL('../../deploy/kube-ovn/sync-rbac.yaml', import.meta.url), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

export function rulesOf(docs: Doc[], clusterRole: string): Rule[] {
  const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata?.name === clusterRole) as { rules?: Rule[] } | undefined;
  return role?.rules ?? [];
}

/**
 * Whether the ServiceAccount may do `verb` on `group/resource` in `namespace` (undefined: cluster-wide), through the
 * file's ClusterRoleBindings (anywhere) and RoleBindings (their namespace only).
 */
export function allowed(docs: Doc[], verb: string, group: string, resource: string, namespace: string | undefined): boolean {
  const bound: Array<{ role: string; namespace?: string }> = [];
  for (const d of docs) {
    const ref = (d as { roleRef?: { name: string } }).roleRef;
    if (!ref) continue;
    if (d.kind === 'ClusterRoleBinding') bound.push({ role: ref.name });
    if (d.kind === 'RoleBinding') bound.push({ role: ref.name, namespace: String(d.metadata?.namespace) });
  }
  return bound.some(
    (b) =>
      (b.namespace === undefined || b.namespace === namespace) &&
      rulesOf(docs, b.role).some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb)),
  );
}
