/**
 * Kube-OVN compatibility: the environment variables Kube-OVN's controller sets on the gateway's FRR container
 * today, mapped onto BgpConf/EvpnConf fields. Conversion problems name the variable.
 */
import { Reporter } from './problems.ts';
import type { Problem } from './problems.ts';
import type { FieldReporter } from './validate.ts';

/** variable -> [resource, field]; docs/configuration.md's "Kube-OVN environment" table is this list. */
export const ENV_MAPPING = {
  LOCAL_ASN: ['bgp', 'localASN'],
  PEER_ASN: ['bgp', 'peerASN'],
  ROUTER_ID: ['bgp', 'routerId'],
  NEIGHBOURS: ['bgp', 'neighbours'],
  BGP_PASSWORD: ['bgp', 'password'],
  BGP_HOLD_TIME: ['bgp', 'holdTime'],
  BGP_KEEPALIVE_TIME: ['bgp', 'keepaliveTime'],
  BGP_CONNECT_TIME: ['bgp', 'connectTime'],
  BGP_EBGP_MULTIHOP: ['bgp', 'ebgpMultiHop'],
  VNI: ['evpn', 'vni'],
  ROUTE_TARGETS: ['evpn', 'routeTargets'],
} as const;
export type EnvVar = keyof typeof ENV_MAPPING;

export interface EnvInput {
  bgp: Record<string, unknown>;
  evpn?: Record<string, unknown>;
  bgpField: FieldReporter;
  evpnField: FieldReporter;
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim());

/** Converts the variables to resource-shaped values (typed as the CRDs declare them); reports what does not convert. */
export function readEnv(env: NodeJS.ProcessEnv, problems: Problem[]): EnvInput {
  const bgp: Record<string, unknown> = {};
  const evpn: Record<string, unknown> = {};
  const sourceOf = new Map<string, string>();
  for (const [name, [resource, fieldName]] of Object.entries(ENV_MAPPING) as Array<[EnvVar, readonly [string, string]]>) {
    const raw = env[name];
    sourceOf.set(`${resource}.${fieldName}`, name);
    if (raw === undefined || raw === '') continue;
    const r = new Reporter(problems, name, fieldName);
    const target = resource === 'bgp' ? bgp : evpn;
    switch (name) {
      case 'LOCAL_ASN':
      case 'PEER_ASN':
      case 'VNI':
        if (/^\d{1,10}$/.test(raw.trim())) target[fieldName] = Number(raw.trim());
        else if (name !== 'VNI' && /^\d+\.\d+$/.test(raw.trim()))
          target[fieldName] = raw.trim(); // asdot: the validator explains
        else r.error(`must be a whole number; got ${JSON.stringify(raw.slice(0, 40))}`);
        break;
      case 'BGP_HOLD_TIME':
      case 'BGP_KEEPALIVE_TIME':
      case 'BGP_CONNECT_TIME':
        // Kube-OVN passes whole seconds; the validators take Kubernetes durations.
        if (/^\d{1,6}$/.test(raw.trim())) target[fieldName] = `${Number(raw.trim())}s`;
        else r.error(`must be whole seconds, e.g. 90; got ${JSON.stringify(raw.slice(0, 40))}`);
        break;
      case 'BGP_EBGP_MULTIHOP':
        if (raw === 'true' || raw === 'false') target[fieldName] = raw === 'true';
        else r.error(`must be true or false; got ${JSON.stringify(raw.slice(0, 40))}`);
        break;
      case 'NEIGHBOURS':
      case 'ROUTE_TARGETS':
        target[fieldName] = list(raw);
        break;
      default:
        target[fieldName] = raw;
    }
  }
  const reporterFor =
    (resource: string): FieldReporter =>
    (fieldName) =>
      new Reporter(problems, sourceOf.get(`${resource}.${fieldName}`) ?? resource, fieldName);
  return {
    bgp,
    ...(Object.keys(evpn).length > 0 && { evpn }),
    bgpField: reporterFor('bgp'),
    evpnField: reporterFor('evpn'),
  };
}
