/** `frr-supervisor webhook`: the mutating admission webhook that puts the supervisor into Kube-OVN's gateway Pods. */
import { createLogger } from '../log.ts';
import { parseListen } from '../observe/http.ts';
import { startWebhook } from '../kube-ovn/webhook.ts';
import { helpText, parseFlags, parseMs, UsageError } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';
import { stopSignal } from './run-cmd.ts';

export const WEBHOOK_FLAGS = {
  listen: { type: 'string', default: '0.0.0.0:8443', help: 'HOST:PORT of the HTTPS server (POST /mutate-pod, GET /healthz)' },
  'tls-cert': { type: 'string', help: "the server's certificate (PEM), e.g. a cert-manager Secret's tls.crt" },
  'tls-key': { type: 'string', help: "the certificate's private key (PEM)" },
  'supervisor-image': { type: 'string', help: 'the image the gateway Pods run frr-supervisor from (this one, usually)' },
  'image-pull-policy': { type: 'string', default: 'IfNotPresent', help: 'Always, IfNotPresent or Never' },
  'cert-reload': { type: 'string', default: '30s', help: 'how often the certificate files are checked for a change (0s: never)' },
  'log-level': { type: 'string', default: 'info', help: 'pino log level: debug, info, warn, error' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

export async function webhookCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, WEBHOOK_FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor webhook --tls-cert FILE --tls-key FILE --supervisor-image IMAGE [options]',
        "Serves the mutating admission webhook (AdmissionReview v1) for Kube-OVN 1.16's VPC egress gateway Pods: their frr container runs frr-supervisor from --supervisor-image with the config volume NAME-frr-supervisor, exec probes and a grace period that fits the drain; the frr-config init container becomes a no-op. Other Pods are left alone; it never denies. See deploy/kube-ovn/.",
        WEBHOOK_FLAGS,
      ),
    );
    return 0;
  }
  const certFile = flags['tls-cert'] as string | undefined;
  const keyFile = flags['tls-key'] as string | undefined;
  const image = flags['supervisor-image'] as string | undefined;
  if (!certFile || !keyFile) throw new UsageError('--tls-cert FILE and --tls-key FILE are required');
  if (!image) throw new UsageError('--supervisor-image IMAGE is required');
  const pull = flags['image-pull-policy'] as string;
  if (pull !== 'Always' && pull !== 'IfNotPresent' && pull !== 'Never')
    throw new UsageError(`--image-pull-policy must be Always, IfNotPresent or Never; got ${JSON.stringify(pull)}`);
  let where;
  try {
    where = parseListen(flags.listen as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const reloadMs = parseMs(flags['cert-reload'] as string, 'cert-reload');
  const logger = createLogger(flags['log-level'] as string);
  let hook;
  try {
    hook = await startWebhook({ ...where, certFile, keyFile, image, imagePullPolicy: pull, reloadMs, logger });
  } catch (e) {
    logger.fatal({ event: 'startup_failed', err: (e as Error).message }, `webhook: ${(e as Error).message}`);
    return 1;
  }
  const signal = await stopSignal();
  logger.info({ event: 'shutdown', signal });
  await hook.close();
  return 0;
}
