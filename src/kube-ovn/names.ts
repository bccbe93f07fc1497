/**
 * The names that tie Kube-OVN's objects to the supervisor's config volume: the sync controller and
 * `kube-ovn-render` write these objects, the webhook mounts them into the gateway Pod. One place, so the
 * writer and the reader cannot drift.
 */

/** Labels Kube-OVN 1.16 puts on a VPC egress gateway's Pods (pkg/controller/vpc_egress_gateway.go). */
export const KUBE_OVN_GATEWAY_APP_LABEL = { app: 'vpc-egress-gateway' } as const;
export const KUBE_OVN_GATEWAY_NAME_LABEL = 'ovn.kubernetes.io/vpc-egress-gateway';

/** The ConfigMap (bgp-conf.yaml, evpn-conf.yaml with an EvpnConf, gateway.yaml) of gateway NAME, in its namespace. */
export const configMapName = (gateway: string): string => `${gateway}-frr-supervisor`;
/** The Secret (key bgp-password) of gateway NAME, present only when its BgpConf has a password. */
export const secretName = (gateway: string): string => `${gateway}-frr-supervisor`;
/** Label on every object the companion writes, so it can find (and prune) its own objects. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'frr-supervisor-kube-ovn' } as const;

/** Where the webhook mounts the projected volume in the supervised container (its --config-dir). */
export const CONFIG_DIR = '/etc/frr-supervisor';
export const CONFIG_VOLUME = 'frr-supervisor-config';
/** The supervisor's HTTP port (metrics, /livez, /readyz, /status). */
export const HTTP_PORT = 9180;
