/**
 * `frr-supervisor kube-ovn-sync`: the in-cluster controller that keeps every Kube-OVN gateway's ConfigMap (+ Secret)
 * in step with its VpcEgressGateway, BgpConf, EvpnConf and Subnets (src/kube-ovn/sync.ts). Runs until SIGTERM/SIGINT.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../log.ts';
import { KubeOvnSync, healthServer } from '../kube-ovn/sync.ts';
import { parseListen } from '../observe/http.ts';
import { stopSignal } from './run-cmd.ts';
import { UsageError, helpText, parseFlags, parseMs } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

export const KUBE_OVN_SYNC_FLAGS = {
  namespaces: {
    type: 'string',
    default: 'default',
    help: "comma-separated namespaces whose gateways' ConfigMaps and Secrets it writes and prunes (each needs the RoleBinding of deploy/kube-ovn/sync-rbac.yaml)",
  },
  kubeconfig: { type: 'string', help: 'a kubeconfig file (default: $KUBECONFIG, else the in-cluster service account)' },
  listen: {
    type: 'string',
    help: 'HOST:PORT for /livez and /readyz (ready: every resource listed, the last reconcile wrote everything); none when unset',
  },
  debounce: { type: 'string', default: '500ms', help: 'a burst of watch events gives one reconcile' },
  resync: { type: 'string', default: '5m', help: 'reconcile and apply everything again this often, events or not (0s: never)' },
  'log-level': { type: 'string', default: 'info', help: 'pino log level: debug, info, warn, error' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

export async function kubeOvnSyncCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, KUBE_OVN_SYNC_FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor kube-ovn-sync [--namespaces NS[,NS...]] [options]',
        "Watches Kube-OVN's VpcEgressGateways, BgpConfs, EvpnConfs, Subnets and Vpcs and server-side applies, for each gateway with a BgpConf in --namespaces, the ConfigMap NAME-frr-supervisor (bgp-conf.yaml, evpn-conf.yaml, gateway.yaml) and, when the BgpConf has a password, the Secret NAME-frr-supervisor (bgp-password) that the supervisor reads; deletes them when the gateway is gone. Invalid objects are logged, naming the object and field, and the gateway's last good ConfigMap stays. Logs are JSON lines on stdout.",
        KUBE_OVN_SYNC_FLAGS,
      ),
    );
    return 0;
  }
  const namespaces =
    typeof flags.namespaces === 'string'
      ? flags.namespaces
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : [];
  if (namespaces.length === 0) throw new UsageError('--namespaces NS[,NS...] is required');
  for (const ns of namespaces)
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63)
      throw new UsageError(`--namespaces: ${JSON.stringify(ns)} is not a namespace name`);
  let listen: { host: string; port: number } | undefined;
  try {
    if (typeof flags.listen === 'string' && flags.listen !== '') listen = parseListen(flags.listen);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const debounceMs = parseMs(String(flags.debounce), 'debounce');
  const resyncMs = parseMs(String(flags.resync), 'resync');
  const kc = new KubeConfig();
  try {
    if (typeof flags.kubeconfig === 'string') kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    io.stderr(`error: cannot load the kubeconfig: ${(e as Error).message}\n`);
    return 1;
  }
  // Without a kubeconfig or a service account, client-node falls back to http://localhost:8080: no cluster at all.
  const cluster = kc.getCurrentCluster();
  if (
    !cluster ||
    (typeof flags.kubeconfig !== 'string' && !io.env.KUBECONFIG && cluster.name === 'cluster' && cluster.server === 'http://localhost:8080')
  ) {
    io.stderr('error: no Kubernetes cluster: not in a Pod with a service account, and no kubeconfig (--kubeconfig or $KUBECONFIG)\n');
    return 1;
  }
  const logger = createLogger(String(flags['log-level']));
  const sync = new KubeOvnSync(kc, { namespaces, debounceMs, resyncMs, retryMs: 5000, logger });
  const stopped = stopSignal();
  const health = listen && healthServer(sync);
  if (health && listen) {
    const at = listen;
    await new Promise<void>((resolve, reject) => {
      health.once('error', reject);
      health.listen(at.port, at.host, resolve);
    }).catch((e: unknown) => {
      throw new Error(`--listen ${at.host}:${at.port}: ${(e as Error).message}`);
    });
    logger.info({ event: 'http_listening', address: `${at.host}:${at.port}` }, 'serving /livez and /readyz');
  }
  await sync.start();
  const sig = await stopped;
  logger.info({ event: 'kube_ovn_sync_stopped', signal: sig }, 'kube-ovn-sync stopped');
  await sync.stop();
  health?.close();
  return 0;
}
