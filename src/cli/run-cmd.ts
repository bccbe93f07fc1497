/** `frr-supervisor run`: the long-running sidecar. */
import { hostFacts } from '../config/facts.ts';
import { createLogger } from '../log.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { helpText, parseFlags, parseMs, UsageError } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';
import { parseListen } from '../observe/http.ts';
import { HEARTBEAT_MS } from '../observe/health.ts';

/** The longest a SIGTERM/SIGINT shutdown may take (the Pod's grace period in deploy/ is 30 s). */
export const SHUTDOWN_LIMIT_MS = 20_000;

/**
 * Resolves with the first SIGTERM or SIGINT. The listeners stay (`process.on`, not `once`): execa's subprocess cleanup
 * (signal-exit, installed while a vtysh or ip call runs) re-raises a signal on this process when it finds no listener
 * but its own, and a `once` listener is gone by then: a SIGTERM during a vtysh call killed the supervisor before its
 * drain. A second signal changes nothing (the shutdown under way is bounded by SHUTDOWN_LIMIT_MS).
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => resolve(sig));
  });
}

export const RUN_FLAGS = {
  'config-dir': { type: 'string', help: 'the watched config directory (projected volume)' },
  env: { type: 'boolean', help: "read BgpConf/EvpnConf from Kube-OVN's environment variables" },
  'frr-bin-dir': { type: 'string', default: '/usr/lib/frr', help: 'where zebra, staticd, bgpd (and bfdd, mgmtd) are' },
  'frr-config-dir': { type: 'string', default: '/etc/frr', help: 'where frr.conf is written (DIR/PATHSPACE with --pathspace)' },
  'frr-run-dir': { type: 'string', default: '/var/run/frr', help: "FRR's pid files and sockets" },
  pathspace: { type: 'string', help: 'FRR pathspace (-N NAME), so several instances can run on one host' },
  debounce: { type: 'string', default: '500ms', help: 'quiet time after a config change before it is applied' },
  resync: {
    type: 'string',
    default: '10s',
    help: 'this often without file events: reload the input if a file was touched, check the EVPN devices, retry a failed apply (0s: never)',
  },
  'vtysh-timeout': { type: 'string', default: '3s', help: 'timeout of every vtysh call' },
  listen: {
    type: 'string',
    default: '0.0.0.0:9180',
    help: 'HOST:PORT of /livez, /readyz, /status, /metrics (127.0.0.1:9180 when a proxy exposes metrics)',
  },
  'poll-interval': { type: 'string', default: '5s', help: "how often FRR's state is read (over the daemons' vty sockets)" },
  'ready-when': {
    type: 'string',
    default: 'any',
    help: 'readiness: applied (config applied, daemons up), any (and one neighbour Established), all (every neighbour Established)',
  },
  'log-level': { type: 'string', default: 'info', help: 'pino log level: debug, info, warn, error' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, RUN_FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor run --config-dir DIR [options]',
        'Runs FRR (zebra, staticd, bgpd; mgmtd on FRR 9 and later; bfdd while gateway.yaml bfd is enabled) as child processes with the config rendered from DIR, applies every change to DIR by restarting only what must restart (graceful restart keeps the routes at the peers), restarts crashed daemons with backoff, and on SIGTERM/SIGINT drains the BGP sessions and stops. Logs are JSON lines on stdout.',
        RUN_FLAGS,
      ),
    );
    return 0;
  }
  const configDir = flags['config-dir'] as string | undefined;
  const env = flags.env === true;
  if (!configDir && !env && !io.env.LOCAL_ASN) throw new UsageError('--config-dir DIR or --env is required');
  const readyWhen = flags['ready-when'] as string;
  if (readyWhen !== 'applied' && readyWhen !== 'any' && readyWhen !== 'all')
    throw new UsageError(`--ready-when must be applied, any or all; got ${JSON.stringify(readyWhen)}`);
  const listen = flags.listen as string;
  try {
    parseListen(listen);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const logger = createLogger(flags['log-level'] as string);
  const supervisor = new Supervisor({
    ...(configDir && { configDir }),
    env,
    facts: hostFacts(io.env),
    frrBinDir: flags['frr-bin-dir'] as string,
    frrConfigDir: flags['frr-config-dir'] as string,
    frrRunDir: flags['frr-run-dir'] as string,
    ...(typeof flags.pathspace === 'string' && { pathspace: flags.pathspace }),
    debounceMs: parseMs(flags.debounce as string, 'debounce'),
    resyncMs: parseMs(flags.resync as string, 'resync'),
    vtyshTimeoutMs: parseMs(flags['vtysh-timeout'] as string, 'vtysh-timeout'),
    pollIntervalMs: parseMs(flags['poll-interval'] as string, 'poll-interval'),
    listen,
    readyWhen,
    logger,
  });
  const stopped = stopSignal();
  try {
    await supervisor.start();
  } catch (e) {
    logger.fatal({ event: 'startup_failed', err: (e as Error).message }, `startup failed: ${(e as Error).message}`);
    await supervisor.shutdown('startup failure');
    return 1;
  }
  // The heartbeat keeps the event loop alive (daemons and watchers do not hold it) and proves it turns (/livez).
  const heartbeat = setInterval(() => supervisor.beat(), HEARTBEAT_MS);
  const signal = await stopped;
  clearInterval(heartbeat);
  // The drain and stops have their own timeouts; this bounds the whole (e.g. a daemon that even SIGKILL
  // cannot stop because the KILL capability was dropped) so the Pod's grace period is never used up silently.
  const limit = setTimeout(() => {
    logger.error(
      { event: 'shutdown_timeout', seconds: SHUTDOWN_LIMIT_MS / 1000 },
      `shutdown did not finish in ${SHUTDOWN_LIMIT_MS / 1000} s; exiting`,
    );
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  await supervisor.shutdown(signal);
  clearTimeout(limit);
  return 0;
}
