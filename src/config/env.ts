/**
 * Kube-OVN compatibility: the environment variables Kube-OVN 1.16's controller sets on the gateway Pod's
 * `frr-config` init container (pkg/controller/vpc_egress_gateway.go, vpcEgressGatewayInitContainerFRRConfig),
 * read as its `kube-ovn-cmd frr-render` reads them (cmd/frr/frr.go), mapped onto BgpConf/EvpnConf fields.
 * An empty variable is unset (Kube-OVN always writes ROUTER_ID, `""` when the BgpConf has none). Conversion
 * problems name the variable.
 */
import { Reporter } from './problems.ts';
import type { Problem } from './problems.ts';
import type { FieldReporter } from './validate.ts';
import { parseGoDuration, truncatedSeconds } from './go-duration.ts';

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

/**
 * A timer variable as Kube-OVN's frr-render reads it (cmd/frr/frr.go parseDurationToSeconds): Go's
 * time.ParseDuration, then `int64(d.Seconds())` (truncated toward zero), then 0..65535. Its controller writes
 * `"%ds"` (`90s`). A bare number is taken as seconds too (Go would say "missing unit"): a hand-written `90`
 * means 90 s to a reader, and the supervisor's own earlier releases read it so.
 */
function envSeconds(raw: string, r: Reporter): number | undefined {
  const text = raw.trim();
  const shown = JSON.stringify(raw.slice(0, 40));
  if (/^\d{1,6}$/.test(text)) {
    const n = Number(text);
    if (n <= 65535) return n;
    r.error(`${shown} is ${n} s; allowed: 0..65535 s (as Kube-OVN's frr-render)`);
    return undefined;
  }
  const parsed = parseGoDuration(text);
  if ('error' in parsed) {
    r.error(`${parsed.error}: a Go duration like 90s or 1m30s (Kube-OVN writes whole seconds, "90s"), or a number of seconds`);
    return undefined;
  }
  const seconds = truncatedSeconds(parsed.ns);
  if (seconds < 0 || seconds > 65535) {
    r.error(`${shown} is ${seconds} s; allowed: 0..65535 s (as Kube-OVN's frr-render)`);
    return undefined;
  }
  if (parsed.ns !== BigInt(seconds) * 1_000_000_000n)
    r.warn(`${shown} is taken as ${seconds} s: Kube-OVN's frr-render truncates to whole seconds, and so does the supervisor`);
  return seconds;
}

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
      case 'BGP_CONNECT_TIME': {
        const seconds = envSeconds(raw, r);
        // the validators take Kubernetes durations: whole seconds from here on
        if (seconds !== undefined) target[fieldName] = `${seconds}s`;
        break;
      }
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
