/**
 * `frr-supervisor kube-ovn-render --objects FILE --gateway NAMESPACE/NAME`: Kube-OVN's objects (kubectl output) ->
 * the gateway's ConfigMap (+ Secret) YAML on stdout, for GitOps pipelines. The mapping is src/kube-ovn/mapping.ts;
 * the result is checked with the supervisor's own validator before anything is printed.
 */
import { readFile, stat } from 'node:fs/promises';
import { stringify } from 'yaml';
import { formatProblem, hasErrors } from '../config/problems.ts';
import type { Problem } from '../config/problems.ts';
import { checkConfig, manifests, mapGateway, parseObjects } from '../kube-ovn/mapping.ts';
import { UsageError, helpText, parseFlags } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

/** kubectl's output for a large cluster (thousands of subnets) stays far below this. */
export const MAX_OBJECTS_BYTES = 64 * 1024 * 1024;

export const KUBE_OVN_RENDER_FLAGS = {
  objects: {
    type: 'string',
    help: 'the output of `kubectl get vpcegressgateway,bgpconf,evpnconf,subnet -A -o yaml` (add ,vpc for a custom VPC without spec.internalSubnet); - reads stdin',
  },
  gateway: { type: 'string', help: 'the VpcEgressGateway to render, as NAMESPACE/NAME' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

export function parseGatewayRef(text: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(text);
  if (!m?.[1] || !m[3]) throw new UsageError(`--gateway: ${JSON.stringify(text)} is not NAMESPACE/NAME (e.g. default/gateway1)`);
  return { namespace: m[1], name: m[3] };
}

async function readObjectsFile(file: string): Promise<string> {
  const st = await stat(file);
  if (!st.isFile()) throw new Error('is not a regular file');
  if (st.size > MAX_OBJECTS_BYTES) throw new Error(`is ${st.size} bytes; at most ${MAX_OBJECTS_BYTES} are read`);
  return readFile(file, 'utf8');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_OBJECTS_BYTES) throw new Error(`more than ${MAX_OBJECTS_BYTES} bytes; at most that many are read`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function kubeOvnRenderCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, KUBE_OVN_RENDER_FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor kube-ovn-render --objects FILE --gateway NAMESPACE/NAME',
        "Maps a Kube-OVN VpcEgressGateway, its BgpConf, EvpnConf and Subnets to the ConfigMap (bgp-conf.yaml, evpn-conf.yaml, gateway.yaml) and, when the BgpConf has a password, the Secret (bgp-password) the supervisor reads, checks them with the supervisor's validator and prints them as YAML. Exit 0: printed (warnings on stderr); 1: invalid objects (errors on stderr naming the object and field, nothing on stdout); 2: usage error.",
        KUBE_OVN_RENDER_FLAGS,
      ),
    );
    return 0;
  }
  if (typeof flags.objects !== 'string' || flags.objects === '') throw new UsageError('--objects FILE is required');
  if (typeof flags.gateway !== 'string' || flags.gateway === '') throw new UsageError('--gateway NAMESPACE/NAME is required');
  const ref = parseGatewayRef(flags.gateway);
  const file = flags.objects;
  const problems: Problem[] = [];
  const print = (): void => {
    for (const p of problems) io.stderr(`${formatProblem(p)}\n`);
  };
  let text: string;
  try {
    if (file === '-') text = await readStdin();
    else text = await readObjectsFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.stderr(`error: ${file === '-' ? 'stdin' : file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
    return 1;
  }
  const objects = parseObjects(text, file === '-' ? 'stdin' : file, problems);
  if (!objects) {
    print();
    return 1;
  }
  const { config, problems: mapped } = mapGateway(objects, ref);
  problems.push(...mapped);
  if (config) problems.push(...(await checkConfig(config, objects)));
  print();
  if (!config || hasErrors(problems)) return 1;
  io.stdout(
    manifests(config)
      .map((m) => `---\n${stringify(m, { lineWidth: 0 })}`)
      .join(''),
  );
  return 0;
}
