/**
 * files (or Kube-OVN env) -> validated Spec. The one entry point of the config layer:
 * everything is read, every problem collected, and a Spec returned only when there is no error.
 */
import { createHash } from 'node:crypto';
import { Reporter, hasErrors } from './problems.ts';
import type { Problem } from './problems.ts';
import { parseConfigTexts, readConfigDir } from './files.ts';
import type { ParsedFile } from './files.ts';
import { readEnv } from './env.ts';
import { parseAddress, unusableUnicast } from './net.ts';
import * as f from './fields.ts';
import { BGP_FIELDS, EVPN_FIELDS, checkBfd, checkDeviceNames, validateBgp, validateEvpn, validateGateway } from './validate.ts';
import type { BgpDefaults, FieldReporter } from './validate.ts';
import type { GatewaySpec, Spec } from './types.ts';
import { GATEWAY_DEFAULTS } from './types.ts';
import type { HostFacts } from './facts.ts';

export interface LoadOptions {
  configDir?: string;
  /** The files' contents (name -> text) instead of a directory (checking what kube-ovn-render/-sync would write). */
  files?: Readonly<Record<string, string>>;
  /** Read BgpConf/EvpnConf from Kube-OVN's environment variables instead of files. */
  env?: boolean;
  facts: HostFacts;
}

export interface LoadResult {
  spec?: Spec;
  problems: Problem[];
  /** What was read: file names or `env`, with a hash of their content (for /status). */
  sources: Array<{ name: string; sha256: string }>;
  /**
   * True when the result read the host (the router id defaulted from the external interface's address): loading
   * the same files again may give another result, so a periodic resync must reload even if no file changed.
   */
  readHost: boolean;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A whole resource (`kubectl get -o yaml`) or a bare spec -> the spec mapping and its field reporters. */
function unwrap(
  file: ParsedFile,
  kind: string,
  known: readonly string[],
  problems: Problem[],
): { spec: Record<string, unknown>; field: FieldReporter } | undefined {
  const root = new Reporter(problems, file.name);
  const doc = f.mapping(file.value, root);
  if (!doc) return undefined;
  const isResource = 'spec' in doc || 'kind' in doc || 'apiVersion' in doc;
  let specRoot = root;
  let spec = doc;
  if (isResource) {
    if (doc.kind !== kind) root.at('kind').error(`must be ${kind}; got ${f.describe(doc.kind)}`);
    if (doc.apiVersion !== undefined && doc.apiVersion !== 'kubeovn.io/v1')
      root.at('apiVersion').warn(`expected kubeovn.io/v1; got ${f.describe(doc.apiVersion)}`);
    f.warnUnknown(doc, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], root);
    specRoot = root.at('spec');
    const s = f.mapping(doc.spec, specRoot);
    if (!s || doc.kind !== kind) return undefined;
    spec = s;
  }
  f.warnUnknown(spec, known, specRoot);
  return { spec, field: (name) => specRoot.at(name) };
}

async function routerIdDefault(facts: HostFacts, gateway: GatewaySpec): Promise<BgpDefaults['routerId']> {
  const podIp = facts.env.POD_IP;
  if (podIp) {
    const parsed = parseAddress(podIp);
    if (typeof parsed !== 'string' && parsed.family === 4 && !unusableUnicast(parsed)) return { value: parsed.canonical, source: 'POD_IP' };
  }
  const ifIp = await facts.interfaceIPv4(gateway.externalInterface);
  if (ifIp) return { value: ifIp, source: 'interface' };
  return {
    missing: `is not set, POD_IP (${podIp ? JSON.stringify(podIp) : 'unset'}) is not a usable IPv4 address, and the external interface ${gateway.externalInterface} has no global IPv4 address: set routerId`,
  };
}

export async function loadConfig(opts: LoadOptions): Promise<LoadResult> {
  let readHost = false;
  const facts: HostFacts = {
    env: opts.facts.env,
    interfaceIPv4: (ifname) => {
      readHost = true;
      return opts.facts.interfaceIPv4(ifname);
    },
  };
  const problems: Problem[] = [];
  const sources: LoadResult['sources'] = [];
  const files = opts.files ? parseConfigTexts(opts.files, problems) : opts.configDir ? await readConfigDir(opts.configDir, problems) : {};
  // A file that holds a password is listed without a hash: an unsalted hash of a weak password could be brute-forced.
  const holdsSecret = (file: ParsedFile): boolean => file.name === 'bgp-password' || /password/i.test(file.text);
  for (const file of Object.values(files))
    if (!file.failed) sources.push({ name: file.name, sha256: holdsSecret(file) ? '(holds a secret: not shown)' : sha(file.text) });

  const useEnv = opts.env === true || (!files.bgp && opts.facts.env.LOCAL_ASN !== undefined && opts.facts.env.LOCAL_ASN !== '');
  if (useEnv && files.bgp) {
    problems.push({
      severity: 'warning',
      source: files.bgp.name,
      path: '',
      message: 'ignored: --env reads BgpConf and EvpnConf from the Kube-OVN environment variables',
    });
  }

  let gateway: GatewaySpec | undefined = GATEWAY_DEFAULTS;
  if (files.gateway && !files.gateway.failed) {
    const r = new Reporter(problems, files.gateway.name);
    const doc = f.mapping(files.gateway.value, r);
    gateway = doc ? validateGateway(doc, r) : undefined;
  } else if (files.gateway?.failed) gateway = undefined;

  let password: string | undefined;
  if (files.password && !files.password.failed) {
    const text = files.password.text.replace(/\r?\n$/, '');
    password = f.password(text, new Reporter(problems, files.password.name));
  }

  let bgpInput: { spec: Record<string, unknown>; field: FieldReporter } | undefined;
  let evpnInput: { spec: Record<string, unknown>; field: FieldReporter } | undefined;
  let bgpPresent: boolean;
  let evpnPresent: boolean;
  if (useEnv) {
    const env = readEnv(opts.facts.env, problems);
    sources.push({
      name: 'env',
      sha256: sha(JSON.stringify([{ ...env.bgp, password: env.bgp.password === undefined ? null : '(secret)' }, env.evpn ?? null])),
    });
    bgpPresent = Object.keys(env.bgp).length > 0;
    evpnPresent = env.evpn !== undefined;
    bgpInput = { spec: env.bgp, field: env.bgpField };
    if (env.evpn) evpnInput = { spec: env.evpn, field: env.evpnField };
  } else {
    bgpPresent = files.bgp !== undefined;
    evpnPresent = files.evpn !== undefined;
    if (files.bgp && !files.bgp.failed) bgpInput = unwrap(files.bgp, 'BgpConf', BGP_FIELDS, problems);
    if (files.evpn && !files.evpn.failed) evpnInput = unwrap(files.evpn, 'EvpnConf', EVPN_FIELDS, problems);
  }

  if (!bgpPresent) {
    const where = useEnv ? 'LOCAL_ASN' : (opts.configDir ?? 'config');
    const what = useEnv ? 'the Kube-OVN environment has no BgpConf variables' : 'no bgp-conf.yaml or bgp-conf.json';
    problems.push({
      severity: 'error',
      source: evpnPresent ? (useEnv ? 'VNI' : (files.evpn?.name ?? where)) : where,
      path: '',
      message: evpnPresent ? `an EvpnConf needs a BgpConf, and there is none (${what})` : `${what}: a BgpConf is required`,
    });
  }

  let spec: Spec | undefined;
  let bgp: Spec['bgp'] | undefined;
  if (bgpInput && gateway) {
    const defaults: BgpDefaults = {
      routerId:
        bgpInput.spec.routerId === undefined || bgpInput.spec.routerId === null ? await routerIdDefault(facts, gateway) : { missing: '' },
      ...(password !== undefined && { password }),
    };
    bgp = validateBgp(bgpInput.spec, bgpInput.field, defaults);
  }
  const evpn = evpnInput ? validateEvpn(evpnInput.spec, evpnInput.field) : undefined;
  if (bgp?.gracefulRestart !== undefined && gateway) {
    // The BgpConf's spec.gracefulRestart wins over gateway.yaml's (default or set): one value downstream
    const own =
      files.gateway && !files.gateway.failed ? (files.gateway.value as Record<string, unknown> | null)?.gracefulRestart : undefined;
    if (typeof own === 'boolean' && own !== bgp.gracefulRestart)
      new Reporter(problems, files.gateway?.name ?? 'gateway.yaml', 'gracefulRestart').warn(
        `${own} is overridden by ${files.bgp?.name ?? 'the BgpConf'}'s gracefulRestart: ${bgp.gracefulRestart}`,
      );
    gateway = { ...gateway, gracefulRestart: bgp.gracefulRestart };
  }
  if (bgp && gateway && (!evpnInput || evpn) && checkBfd(gateway, bgp, new Reporter(problems, files.gateway?.name ?? 'gateway.yaml')))
    spec = { bgp, gateway, ...(evpn && { evpn }) };
  if (gateway && files.gateway && !files.gateway.failed) checkDeviceNames(gateway, evpnPresent, new Reporter(problems, files.gateway.name));
  if (spec?.gateway.advertise) {
    const families = new Set(spec.bgp.neighbours.map((n) => (n.includes(':') ? 6 : 4)));
    if (!spec.evpn) {
      for (const p of spec.gateway.advertise) {
        const fam = p.includes(':') ? 6 : 4;
        if (!families.has(fam)) {
          problems.push({
            severity: 'warning',
            source: files.gateway?.name ?? 'gateway.yaml',
            path: 'advertise',
            message: `${p} is IPv${fam} but no IPv${fam} neighbour is configured: it is not announced`,
          });
        }
      }
    }
  }
  return { ...(spec && !hasErrors(problems) && { spec }), problems, sources, readHost };
}
