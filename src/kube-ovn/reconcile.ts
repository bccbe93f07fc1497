/**
 * kube-ovn-sync's decisions, pure: from the Kube-OVN objects (the informers' caches) and the ConfigMaps the companion
 * wrote earlier, what to apply and what to delete. src/kube-ovn/sync.ts only carries the plan out with client-node.
 *
 * Rules:
 * - a gateway with a BgpConf, in a namespace the controller may write (--namespaces): its ConfigMap (+ Secret when the
 *   BgpConf has a password; else its Secret is deleted) is applied, when the mapping and the supervisor's validator
 *   accept it;
 * - a gateway whose objects are invalid (a BgpConf missing or rejected, an unknown subnet, ...): its problems are
 *   reported and its objects are left as they are, so running supervisors keep the last good config;
 * - a ConfigMap of the companion (label MANAGED_BY) whose gateway is gone, or has no BgpConf any more: deleted, with
 *   its Secret.
 */
import type { Problem } from '../config/problems.ts';
import { checkConfig, gatewayKey, manifests, mapGateway, objectSource } from './mapping.ts';
import type { GatewayRef, KubeObject, KubeOvnObjects } from './mapping.ts';
import { KUBE_OVN_GATEWAY_NAME_LABEL, configMapName, secretName } from './names.ts';

/** A ConfigMap of the companion's, as listed (by the MANAGED_BY label) in a namespace. */
export interface ExistingConfigMap {
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

export interface ObjectRef {
  kind: 'ConfigMap' | 'Secret';
  namespace: string;
  name: string;
  /** The gateway is gone (or has no BgpConf): always sent. Else the Secret of a gateway without password. */
  prune?: true;
}

export interface SyncPlan {
  /** Full objects for server-side apply. */
  apply: KubeObject[];
  delete: ObjectRef[];
  /** Per gateway (`namespace/name`), the problems found; a gateway with errors is in `kept`. */
  problems: Map<string, Problem[]>;
  /** Gateways whose objects are invalid: their ConfigMap and Secret are left as they are. */
  kept: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function planSync(
  objects: KubeOvnObjects,
  existing: readonly ExistingConfigMap[],
  namespaces: ReadonlySet<string>,
): Promise<SyncPlan> {
  const plan: SyncPlan = { apply: [], delete: [], problems: new Map(), kept: [] };
  /** Gateways that should have objects, or keep the ones they have (by `namespace/name`). */
  const wanted = new Set<string>();
  for (const gw of objects.gateways) {
    const ref: GatewayRef = { namespace: String(gw.metadata?.namespace ?? ''), name: String(gw.metadata?.name ?? '') };
    const key = gatewayKey(ref);
    const spec = isObj(gw.spec) ? gw.spec : {};
    const bgp = typeof spec.bgpConf === 'string' && spec.bgpConf !== '';
    const evpn = typeof spec.evpnConf === 'string' && spec.evpnConf !== '';
    if (!bgp && !evpn) continue; // no FRR in this gateway: not ours (a ConfigMap left from before is pruned below)
    if (!namespaces.has(ref.namespace)) {
      plan.problems.set(key, [
        {
          severity: 'error',
          source: objectSource('VpcEgressGateway', ref.name, ref.namespace),
          path: '',
          message: `namespace ${ref.namespace} is not in --namespaces (${[...namespaces].join(', ')}): its ConfigMap is not written; add it there and give the companion a RoleBinding in it`,
        },
      ]);
      continue;
    }
    wanted.add(key);
    const { config, problems } = mapGateway(objects, ref);
    if (config) problems.push(...(await checkConfig(config, objects)));
    if (problems.length > 0) plan.problems.set(key, problems);
    if (!config || problems.some((p) => p.severity === 'error')) {
      plan.kept.push(key);
      continue;
    }
    plan.apply.push(...manifests(config, { ownerReference: true }));
    if (config.password === undefined) plan.delete.push({ kind: 'Secret', namespace: ref.namespace, name: secretName(ref.name) });
  }
  for (const cm of existing) {
    const gateway = cm.labels[KUBE_OVN_GATEWAY_NAME_LABEL];
    // Only what the companion names the way it writes: another ConfigMap carrying the label by mistake stays.
    if (gateway === undefined || cm.name !== configMapName(gateway) || !namespaces.has(cm.namespace)) continue;
    if (wanted.has(gatewayKey({ namespace: cm.namespace, name: gateway }))) continue;
    plan.delete.push({ kind: 'ConfigMap', namespace: cm.namespace, name: cm.name, prune: true });
    plan.delete.push({ kind: 'Secret', namespace: cm.namespace, name: secretName(gateway), prune: true });
  }
  return plan;
}
