/**
 * The gateway Pod mutation, pure: a Pod as Kube-OVN 1.16 creates it for a VPC egress gateway with a BgpConf
 * (pkg/controller/vpc_egress_gateway.go) -> the same Pod with FRR run by frr-supervisor. No I/O; the webhook
 * (src/kube-ovn/webhook.ts) turns the difference into a JSONPatch.
 *
 * What changes, and why:
 * - container `frr` (name kept: Kube-OVN and its users look for it): this project's image runs `frr-supervisor run
 *   --config-dir CONFIG_DIR` under tini, instead of FRR's `docker-start` with the frr.conf that `frr-config` rendered
 *   once. POD_IP from the downward API (the default router id, as in Kube-OVN), the projected config volume (the
 *   ConfigMap and the optional Secret the companion's sync writes, src/kube-ovn/names.ts) read-only at CONFIG_DIR,
 *   port 9180, exec probes (kubelet cannot reach Pod IPs in custom VPCs; Kube-OVN's own bfdd sidecar uses exec
 *   probes there for the same reason), resources, and the capabilities of deploy/reference-gateway.yaml. Kube-OVN's
 *   `/etc/frr` emptyDir is no longer mounted in it: the supervisor writes FRR's config into the image's /etc/frr.
 * - init container `frr-config` (`kube-ovn-cmd frr-render`): replaced by a no-op that cannot fail (`true` in this
 *   project's image, which the Pod pulls anyway), its env dropped (it carried the BGP password in clear text).
 *   It stays in the list, under its name, so that Kube-OVN's view of the Pod keeps its shape.
 * - init container `init` (Kube-OVN's routes, forwarding, the VRF/bridge/VXLAN devices): untouched.
 * - terminationGracePeriodSeconds: raised to fit the supervisor's drain (Kube-OVN sets 0, or 30 with VPC BFD);
 *   never lowered.
 * - an annotation saying the Pod is supervised (and by which image), for `kubectl get pod -o yaml` readers.
 *
 * Idempotent: mutating a mutated Pod changes nothing (webhook reinvocation, a replayed request).
 */
import { isDeepStrictEqual } from 'node:util';
import { SHUTDOWN_BUDGET } from '../supervisor/lifecycle.ts';
import {
  CONFIG_DIR,
  CONFIG_VOLUME,
  configMapName,
  HTTP_PORT,
  KUBE_OVN_GATEWAY_APP_LABEL,
  KUBE_OVN_GATEWAY_NAME_LABEL,
  secretName,
} from './names.ts';

// ---- the few Kubernetes shapes this file reads and writes (the rest of the Pod passes through untouched) -------

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { apiVersion?: string; fieldPath: string } };
}
export interface Probe {
  exec?: { command: string[] };
  httpGet?: { path: string; port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}
export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, Json>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  [k: string]: unknown;
}
export interface Volume {
  name: string;
  [k: string]: unknown;
}
export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    initContainers?: Container[];
    containers?: Container[];
    volumes?: Volume[];
    terminationGracePeriodSeconds?: number;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

// ---- what the mutation writes ---------------------------------------------------------------------------------

/** Kube-OVN's container and init container names (vpcEgressGatewayContainerFRR, vpcEgressGatewayInitContainerFRRConfig). */
export const FRR_CONTAINER = 'frr';
export const FRR_CONFIG_INIT_CONTAINER = 'frr-config';
/** Set on a mutated Pod: the image that supervises its FRR. */
export const SUPERVISED_ANNOTATION = 'frr-supervisor.kube-ovn.io/image';
/** The exec probe commands (`frr-supervisor probe live|ready`: exit 0 or 1, one line saying why). */
export const PROBE_LIVE = ['frr-supervisor', 'probe', 'live'];
export const PROBE_READY = ['frr-supervisor', 'probe', 'ready'];
/** The image's entrypoint (Dockerfile): tini as process 1 forwards SIGTERM to the supervisor alone. */
export const SUPERVISOR_COMMAND = ['/usr/bin/tini', '--', 'frr-supervisor', 'run'];
/** The no-op that replaces `kube-ovn-cmd frr-render`. */
export const NOOP_COMMAND = ['true'];

/**
 * The capabilities, as deploy/reference-gateway.yaml (Dockerfile and deploy/README.md say why each): NET_ADMIN,
 * NET_RAW, NET_BIND_SERVICE, SYS_ADMIN are FRR's own (Kube-OVN's frr container adds the same four); CHOWN,
 * DAC_OVERRIDE, SETUID, SETGID, KILL because the supervisor runs as root, prepares FRR's run dir for user frr and
 * signals the daemons (a container runtime's defaults give them to Kube-OVN's frr container implicitly; here ALL is
 * dropped first); SYS_CHROOT for vrfBackend netns only (Kube-OVN's VRF is a kernel device), kept so that one spec runs
 * with either backend, and in a container runtime's default set anyway.
 */
export const CAPABILITIES = [
  'NET_ADMIN',
  'NET_RAW',
  'NET_BIND_SERVICE',
  'SYS_ADMIN',
  'SYS_CHROOT',
  'CHOWN',
  'DAC_OVERRIDE',
  'SETUID',
  'SETGID',
  'KILL',
];

/**
 * The longest the supervisor's SIGTERM shutdown can take by its own timeouts: the operation in flight
 * (SHUTDOWN_BUDGET.applyMs), a just-restarted bgpd's sessions (sessionWaitMs), the drain's vtysh call (3 s, run's
 * --vtysh-timeout default), then each daemon SIGTERM to SIGKILL (stopEachMs) for the five FRR may run (mgmtd, zebra,
 * staticd, bgpd, bfdd).
 */
export const DRAIN_WORST_CASE_MS = SHUTDOWN_BUDGET.applyMs + SHUTDOWN_BUDGET.sessionWaitMs + 3000 + 5 * SHUTDOWN_BUDGET.stopEachMs;
/** The grace period: the worst case plus a quarter for a loaded node, rounded up to 5 s (23 s -> 30 s). */
export const GRACE_SECONDS = Math.ceil((DRAIN_WORST_CASE_MS * 1.25) / 5000) * 5;

export interface MutateOptions {
  /** This project's image (the companion's --supervisor-image). */
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export const DEFAULT_RESOURCES = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

/** The gateway NAME of a Kube-OVN VPC egress gateway Pod (both labels of vegWorkloadLabels), else undefined. */
export function gatewayOf(pod: Pod): string | undefined {
  const labels = pod.metadata?.labels ?? {};
  if (labels.app !== KUBE_OVN_GATEWAY_APP_LABEL.app) return undefined;
  const name = labels[KUBE_OVN_GATEWAY_NAME_LABEL];
  return name ? name : undefined;
}

/** Why a Pod is left alone, or undefined when it is a gateway Pod with BGP (an `frr` container) to supervise. */
export function skipReason(pod: Pod): string | undefined {
  if (!gatewayOf(pod)) return `not a VPC egress gateway Pod (labels app=vpc-egress-gateway and ${KUBE_OVN_GATEWAY_NAME_LABEL})`;
  if (!pod.spec?.containers?.some((c) => c.name === FRR_CONTAINER)) return 'no frr container: the gateway has no BgpConf';
  return undefined;
}

function supervisorContainer(opts: MutateOptions): Container {
  const probe = (command: string[], t: Omit<Probe, 'exec'>): Probe => ({ exec: { command }, ...t });
  return {
    name: FRR_CONTAINER,
    image: opts.image,
    imagePullPolicy: opts.imagePullPolicy ?? 'IfNotPresent',
    command: SUPERVISOR_COMMAND,
    args: ['--config-dir', CONFIG_DIR],
    env: [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }],
    ports: [
      { name: 'http-metrics', containerPort: HTTP_PORT, protocol: 'TCP' },
      { name: 'bgp', containerPort: 179, protocol: 'TCP' },
    ],
    // Startup: the supervisor serves /livez before FRR starts; 60 s of slack for a slow node. An exec probe costs a
    // Node.js start (bench:probe), hence periods no shorter than the HTTP probes of deploy/reference-gateway.yaml.
    startupProbe: probe(PROBE_LIVE, { periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 30 }),
    livenessProbe: probe(PROBE_LIVE, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 }),
    readinessProbe: probe(PROBE_READY, { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2 }),
    resources: opts.resources ?? DEFAULT_RESOURCES,
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: CAPABILITIES },
    },
    volumeMounts: [{ name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true }],
  };
}

function noopInit(kubeOvn: Container, opts: MutateOptions): Container {
  return {
    name: kubeOvn.name,
    image: opts.image,
    imagePullPolicy: opts.imagePullPolicy ?? 'IfNotPresent',
    command: NOOP_COMMAND,
    resources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '10m', memory: '10Mi' } },
    securityContext: { runAsUser: 65534, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
}

/**
 * The config volume: the ConfigMap (required: without it the Pod waits in ContainerCreating, which says plainly that
 * the companion's sync has not written it) and the optional Secret with the BGP password. No `items`: the sync writes
 * evpn-conf.yaml only for an EVPN gateway, and a listed missing key would keep the Pod from starting.
 */
export function configVolume(gateway: string): Volume {
  return {
    name: CONFIG_VOLUME,
    projected: {
      sources: [{ configMap: { name: configMapName(gateway) } }, { secret: { name: secretName(gateway), optional: true } }],
    },
  };
}

/** The mutated Pod (a new object; the argument is not modified), or the same Pod when skipReason() says so. */
export function mutatePod(pod: Pod, opts: MutateOptions): Pod {
  const gateway = gatewayOf(pod);
  if (skipReason(pod) !== undefined || !gateway) return pod;
  const out = structuredClone(pod);
  const spec = out.spec!;
  spec.containers = spec.containers!.map((c) => (c.name === FRR_CONTAINER ? supervisorContainer(opts) : c));
  if (spec.initContainers)
    spec.initContainers = spec.initContainers.map((c) => (c.name === FRR_CONFIG_INIT_CONTAINER ? noopInit(c, opts) : c));
  const volume = configVolume(gateway);
  const volumes = (spec.volumes ?? []).filter((v) => v.name !== CONFIG_VOLUME);
  spec.volumes = [...volumes, volume];
  spec.terminationGracePeriodSeconds = Math.max(spec.terminationGracePeriodSeconds ?? 0, GRACE_SECONDS);
  out.metadata = { ...out.metadata, annotations: { ...out.metadata?.annotations, [SUPERVISED_ANNOTATION]: opts.image } };
  return out;
}

// ---- the JSONPatch (RFC 6902) from a Pod to its mutation ----------------------------------------------------------

export interface PatchOp {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

/** JSON Pointer escaping of one path segment (`/` in an annotation key). */
const ptr = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The patch that turns `before` into `after` = mutatePod(before): whole containers, init containers and annotations
 * replaced where they differ, the volume list and the grace period set. Empty when nothing changes.
 */
export function podPatch(before: Pod, after: Pod): PatchOp[] {
  const ops: PatchOp[] = [];
  const set = (path: string, had: unknown, value: unknown): void => {
    if (!isDeepStrictEqual(had, value)) ops.push({ op: had === undefined ? 'add' : 'replace', path, value });
  };
  const a = after.metadata?.annotations;
  const b = before.metadata?.annotations;
  if (a && !isDeepStrictEqual(a, b)) {
    if (before.metadata === undefined) ops.push({ op: 'add', path: '/metadata', value: {} });
    if (b === undefined) ops.push({ op: 'add', path: '/metadata/annotations', value: a });
    else for (const [k, v] of Object.entries(a)) set(`/metadata/annotations/${ptr(k)}`, b[k], v);
  }
  for (const list of ['initContainers', 'containers'] as const) {
    const bs = before.spec?.[list] ?? [];
    (after.spec?.[list] ?? []).forEach((c, i) => set(`/spec/${list}/${i}`, bs[i], c));
  }
  set('/spec/volumes', before.spec?.volumes, after.spec?.volumes);
  set('/spec/terminationGracePeriodSeconds', before.spec?.terminationGracePeriodSeconds, after.spec?.terminationGracePeriodSeconds);
  return ops;
}
