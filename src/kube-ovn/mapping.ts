/**
 * Kube-OVN 1.16's objects -> the supervisor's config volume: from a VpcEgressGateway, the BgpConf and EvpnConf it
 * names and the Subnets of its policies, the files of the ConfigMap (bgp-conf.yaml, evpn-conf.yaml, gateway.yaml) and
 * the Secret (bgp-password) that `kube-ovn-render` prints and `kube-ovn-sync` applies. Pure: no I/O, no clock.
 *
 * What Kube-OVN does with the same objects (kubeovn/kube-ovn at 1533681d, v1.16.0-400,
 * pkg/controller/vpc_egress_gateway.go reconcileVpcEgressGatewayWorkload and dist/images/init-vpc-egress-gateway.sh):
 * - the non-SNAT policies' ipBlocks and their subnets' `spec.cidrBlock` (both families of a dual-stack subnet) are
 *   the gateway's NO_SNAT_SOURCES_IPV4/IPV6: routed into VRF table 2000 via the internal gateway in EVPN mode. They are
 *   what the gateway announces here (`advertise`); SNAT policies' sources are masqueraded, not announced.
 * - the internal gateway is the internal subnet's `spec.gateway` (INTERNAL_GATEWAY_IPV4/IPV6); the internal subnet is
 *   `spec.internalSubnet`, else the VPC's default subnet (Vpc `status.defaultLogicalSwitch`: the subnet of the VPC
 *   with `spec.default: true`, or a custom VPC's `spec.defaultSubnet`); the VPC is `spec.vpc`, else ovn-cluster.
 * - with a BgpConf the script keeps `eth0` (internal) and `net1` (external); with an EvpnConf it creates `vrf-vpn`
 *   (table 2000), `br-vpn` and `vxlan-vpn` (dstport 4789) and enslaves eth0 to the VRF.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { Reporter } from '../config/problems.ts';
import type { Problem } from '../config/problems.ts';
import { compareCidrs, parseAddress, parseCidr } from '../config/net.ts';
import type { Family } from '../config/net.ts';
import { KUBE_OVN_GATEWAY_NAME_LABEL, MANAGED_BY, configMapName, secretName } from './names.ts';

export const KUBE_OVN_API_VERSION = 'kubeovn.io/v1';
/** Kube-OVN's default VPC (the controller's --cluster-router default). */
export const DEFAULT_VPC = 'ovn-cluster';
/** What Kube-OVN's init script names and creates (init-vpc-egress-gateway.sh). */
export const KUBE_OVN_DEVICES = {
  internalInterface: 'eth0',
  externalInterface: 'net1',
  vrf: { name: 'vrf-vpn', table: 2000 },
  bridge: { name: 'br-vpn' },
  vxlan: { name: 'vxlan-vpn', port: 4789 },
} as const;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; [key: string]: unknown };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

/** The objects the mapping reads, by kind (cluster-scoped except the gateways). */
export interface KubeOvnObjects {
  gateways: KubeObject[];
  bgpConfs: KubeObject[];
  evpnConfs: KubeObject[];
  subnets: KubeObject[];
  /** Optional: only to find a VPC's default subnet exactly (`kubectl get ... ,vpc`). */
  vpcs: KubeObject[];
}

export interface GatewayRef {
  namespace: string;
  name: string;
}

/** What one gateway's supervisors read: the ConfigMap's files and, when the BgpConf has one, the password. */
export interface GatewayConfig {
  gateway: GatewayRef;
  /** The VpcEgressGateway's uid (for an ownerReference), when the object carried one. */
  uid?: string;
  /** ConfigMap data: bgp-conf.yaml, gateway.yaml and, with an EvpnConf, evpn-conf.yaml. */
  files: Record<string, string>;
  /** The Secret's `bgp-password`, when the BgpConf has `spec.password`. */
  password?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nameOf = (o: KubeObject): string => (typeof o.metadata?.name === 'string' ? o.metadata.name : '');
const nsOf = (o: KubeObject): string => (typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : '');

export const gatewayKey = (ref: GatewayRef): string => `${ref.namespace}/${ref.name}`;
/** How problems name an object: `VpcEgressGateway default/gateway1`, `BgpConf bgp-conf-6502`. */
export const objectSource = (kind: string, name: string, namespace?: string): string =>
  `${kind} ${namespace ? `${namespace}/` : ''}${name}`;

const KINDS: Record<string, keyof KubeOvnObjects> = {
  VpcEgressGateway: 'gateways',
  BgpConf: 'bgpConfs',
  EvpnConf: 'evpnConfs',
  Subnet: 'subnets',
  Vpc: 'vpcs',
};

/**
 * Sorts a list of objects (a `kubectl get -o yaml` List's items, or an informer's cache) by kind. Objects of other
 * kinds or API groups are skipped with a warning; a List nested in the list is opened.
 */
export function sortObjects(items: readonly unknown[], source: string, problems: Problem[]): KubeOvnObjects {
  const out: KubeOvnObjects = { gateways: [], bgpConfs: [], evpnConfs: [], subnets: [], vpcs: [] };
  const visit = (list: readonly unknown[], path: string): void => {
    list.forEach((item, i) => {
      const r = new Reporter(problems, source, `${path}[${i}]`);
      if (!isObj(item)) return r.error('is not a Kubernetes object');
      if (typeof item.kind === 'string' && item.kind.endsWith('List') && Array.isArray(item.items))
        return visit(item.items, `${r.path}.items`);
      const slot = typeof item.kind === 'string' ? KINDS[item.kind] : undefined;
      if (!slot || item.apiVersion !== KUBE_OVN_API_VERSION) {
        return r.warn(`${String(item.apiVersion)} ${String(item.kind)} is not read (only kubeovn.io/v1 ${Object.keys(KINDS).join(', ')})`);
      }
      const o = item as KubeObject;
      if (nameOf(o) === '') return r.error(`a ${String(item.kind)} without metadata.name`);
      out[slot].push(o);
    });
  };
  visit(items, 'items');
  return out;
}

/**
 * Reads `kubectl get vpcegressgateway,bgpconf,evpnconf,subnet -o yaml` output (a v1 List; JSON too, or several
 * YAML documents of objects or Lists). Problems name the file.
 */
export function parseObjects(text: string, source: string, problems: Problem[]): KubeOvnObjects | undefined {
  const r = new Reporter(problems, source);
  const items: unknown[] = [];
  for (const doc of parseAllDocuments(text, { strict: true, stringKeys: true })) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      r.error(`YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${err.message.split(/[\r\n]/)[0] ?? ''}`);
      return undefined;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 50 });
    } catch (e) {
      r.error(`cannot be read: ${(e as Error).message}`);
      return undefined;
    }
    if (value !== null && value !== undefined) items.push(value);
  }
  if (items.length === 0) {
    r.error('has no objects: expected the output of kubectl get vpcegressgateway,bgpconf,evpnconf,subnet -o yaml');
    return undefined;
  }
  // One List (what kubectl prints): its items are the objects, so paths read items[N].
  const only = items.length === 1 ? items[0] : undefined;
  if (isObj(only) && only.kind === 'List' && Array.isArray(only.items)) return sortObjects(only.items, source, problems);
  return sortObjects(items, source, problems);
}

/** The CIDRs of a Subnet's `spec.cidrBlock` ("10.16.0.0/16" or dual stack "10.16.0.0/16,fd00:10:16::/112"). */
function splitList(value: unknown): string[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [];
}

interface Cidr {
  family: Family;
  bytes: number[];
  length: number;
  canonical: string;
}

/** An ipBlock: a CIDR with no host bits, or a bare address (Kube-OVN routes it as a host route). */
function parseBlock(text: string): Cidr | string {
  if (!text.includes('/')) {
    const a = parseAddress(text);
    if (typeof a === 'string') return a;
    return parseBlock(`${a.canonical}/${a.family === 4 ? 32 : 128}`);
  }
  return parseCidr(text);
}

/**
 * The config of gateway `ref`, or the problems that prevent it (each naming the object and field). Warnings may
 * come with a config.
 */
export function mapGateway(objects: KubeOvnObjects, ref: GatewayRef): { config?: GatewayConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const gwSource = objectSource('VpcEgressGateway', ref.name, ref.namespace);
  const root = new Reporter(problems, gwSource);
  const gw = objects.gateways.find((g) => nameOf(g) === ref.name && nsOf(g) === ref.namespace);
  if (!gw) {
    const others = objects.gateways.map((g) => gatewayKey({ namespace: nsOf(g), name: nameOf(g) }));
    root.error(
      `not found among the objects${others.length > 0 ? ` (there are: ${others.join(', ')})` : ' (there is no VpcEgressGateway)'}`,
    );
    return { problems };
  }
  const spec = isObj(gw.spec) ? gw.spec : {};
  const str = (key: string): string | undefined => (typeof spec[key] === 'string' && spec[key] !== '' ? spec[key] : undefined);

  // BgpConf and EvpnConf
  const bgpName = str('bgpConf');
  const evpnName = str('evpnConf');
  if (bgpName === undefined) {
    if (evpnName !== undefined)
      root
        .at('spec')
        .at('evpnConf')
        .error(`names EvpnConf ${JSON.stringify(evpnName)}, but an EvpnConf needs a BgpConf and spec.bgpConf is not set`);
    else
      root
        .at('spec')
        .at('bgpConf')
        .error('is not set: this gateway runs no BGP (Kube-OVN adds no FRR container), so there is nothing to supervise');
    return { problems };
  }
  const bgp = objects.bgpConfs.find((o) => nameOf(o) === bgpName);
  if (!bgp)
    root
      .at('spec')
      .at('bgpConf')
      .error(`BgpConf ${JSON.stringify(bgpName)} not found`);
  const evpn = evpnName === undefined ? undefined : objects.evpnConfs.find((o) => nameOf(o) === evpnName);
  if (evpnName !== undefined && !evpn)
    root
      .at('spec')
      .at('evpnConf')
      .error(`EvpnConf ${JSON.stringify(evpnName)} not found`);

  // advertise: the non-SNAT policies' ipBlocks and subnets' CIDRs
  const advertise = new Map<string, Cidr>();
  const policies = Array.isArray(spec.policies) ? spec.policies : [];
  const subnetByName = (name: string): KubeObject | undefined => objects.subnets.find((s) => nameOf(s) === name);
  policies.forEach((p: unknown, i) => {
    const pr = root.at('spec').at('policies').at(i);
    if (!isObj(p)) return pr.error('is not a mapping');
    if (p.snat === true) {
      // Masqueraded sources are not announced. But Kube-OVN's init script installs its SNAT rules only without a
      // BgpConf (init-vpc-egress-gateway.sh skips them when ENABLE_BGP=true): say so, the traffic leaves as is.
      pr.at('snat').warn(
        "true: this policy's sources are not announced, and with a BgpConf Kube-OVN's init script installs no SNAT rules (it skips them when ENABLE_BGP=true): their traffic leaves unmasqueraded and the routers have no route back",
      );
      return;
    }
    const blocks = Array.isArray(p.ipBlocks) ? p.ipBlocks : [];
    blocks.forEach((b: unknown, j) => {
      const br = pr.at('ipBlocks').at(j);
      const c = typeof b === 'string' ? parseBlock(b.trim()) : 'not a string';
      if (typeof c === 'string') return br.error(`${JSON.stringify(b)} is not a CIDR or IP address: ${c}`);
      advertise.set(c.canonical, c);
    });
    const subnets = Array.isArray(p.subnets) ? p.subnets : [];
    subnets.forEach((s: unknown, j) => {
      const sr = pr.at('subnets').at(j);
      const subnet = typeof s === 'string' ? subnetByName(s) : undefined;
      if (!subnet) return sr.error(`Subnet ${JSON.stringify(s)} not found`);
      const sspec = isObj(subnet.spec) ? subnet.spec : {};
      const subSource = new Reporter(problems, objectSource('Subnet', nameOf(subnet))).at('spec').at('cidrBlock');
      const cidrs = splitList(sspec.cidrBlock);
      if (cidrs.length === 0) return subSource.error(`is empty (the subnet is named by ${gwSource} ${sr.path}): nothing to announce`);
      for (const text of cidrs) {
        const c = parseCidr(text);
        if (typeof c === 'string') subSource.error(`${JSON.stringify(text)} is not a valid CIDR: ${c}`);
        else advertise.set(c.canonical, c);
      }
      if (!validated(subnet))
        sr.warn(`Subnet ${JSON.stringify(s)} is not validated (status.conditions): Kube-OVN does not reconcile the gateway until it is`);
    });
  });
  const cidrs = [...advertise.values()].sort(compareCidrs);
  if (cidrs.length === 0)
    root.at('spec').at('policies').warn('no non-SNAT policy gives a CIDR: the gateway announces nothing (advertise: [])');

  // EVPN mode: the internal gateway, the next hop of the advertised CIDRs in the VRF
  let internalGateway: string | undefined;
  if (evpnName !== undefined) internalGateway = internalGatewayOf(objects, spec, root, cidrs);

  if (problems.some((p) => p.severity === 'error') || !bgp) return { problems };

  // the files
  const bgpSpec = isObj(bgp.spec) ? { ...bgp.spec } : bgp.spec;
  let password: string | undefined;
  if (isObj(bgpSpec)) {
    // Kube-OVN reads an empty routerId or password as unset (`omitempty` strings; ROUTER_ID="" falls back to POD_IP).
    for (const key of ['routerId', 'password']) if (bgpSpec[key] === '') delete bgpSpec[key];
    if (bgpSpec.password !== undefined && bgpSpec.password !== null) {
      password = typeof bgpSpec.password === 'string' ? bgpSpec.password : JSON.stringify(bgpSpec.password);
      delete bgpSpec.password; // into the Secret: a ConfigMap is readable by more people
    }
  }
  const files: Record<string, string> = {
    'bgp-conf.yaml': resourceYaml('BgpConf', bgp, bgpSpec),
    'gateway.yaml': gatewayYaml(ref, cidrs, evpnName !== undefined, internalGateway),
  };
  if (evpn) files['evpn-conf.yaml'] = resourceYaml('EvpnConf', evpn, evpn.spec);
  const uid = gw.metadata?.uid;
  return {
    config: { gateway: ref, ...(typeof uid === 'string' && uid !== '' && { uid }), files, ...(password !== undefined && { password }) },
    problems,
  };
}

function validated(subnet: KubeObject): boolean {
  const status = isObj(subnet.status) ? subnet.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  return conditions.some((c: unknown) => isObj(c) && c.type === 'Validated' && c.status === 'True');
}

function internalGatewayOf(objects: KubeOvnObjects, spec: Obj, root: Reporter, cidrs: Cidr[]): string | undefined {
  const named = typeof spec.internalSubnet === 'string' && spec.internalSubnet !== '' ? spec.internalSubnet : undefined;
  let subnetName = named;
  const where = named ? root.at('spec').at('internalSubnet') : root.at('spec').at('vpc');
  if (!subnetName) {
    const vpcName = typeof spec.vpc === 'string' && spec.vpc !== '' ? spec.vpc : DEFAULT_VPC;
    const vpc = objects.vpcs.find((v) => nameOf(v) === vpcName);
    const fromStatus = isObj(vpc?.status) && typeof vpc.status.defaultLogicalSwitch === 'string' ? vpc.status.defaultLogicalSwitch : '';
    if (fromStatus !== '') subnetName = fromStatus;
    else {
      const defaults = objects.subnets.filter((s) => isObj(s.spec) && s.spec.vpc === vpcName && s.spec.default === true);
      if (defaults.length === 1 && defaults[0]) subnetName = nameOf(defaults[0]);
      else {
        root
          .at('spec')
          .at('internalSubnet')
          .error(
            `is not set, and the default subnet of VPC ${JSON.stringify(vpcName)} is unknown (${defaults.length === 0 ? 'no' : 'more than one'} Subnet of that VPC has spec.default: true): set spec.internalSubnet, or add the Vpc to the objects (kubectl get ...,vpc)`,
          );
        return undefined;
      }
    }
  }
  const subnet = objects.subnets.find((s) => nameOf(s) === subnetName);
  if (!subnet) {
    where.error(`the internal subnet ${JSON.stringify(subnetName)} is not among the objects (Subnet not found)`);
    return undefined;
  }
  const sr = new Reporter(root.problems, objectSource('Subnet', nameOf(subnet))).at('spec').at('gateway');
  const byFamily = new Map<Family, string>();
  for (const text of splitList(isObj(subnet.spec) ? subnet.spec.gateway : undefined)) {
    const a = parseAddress(text);
    if (typeof a === 'string') {
      sr.error(`${JSON.stringify(text)} is not a valid gateway address: ${a}`);
      return undefined;
    }
    byFamily.set(a.family, a.canonical);
  }
  const families = new Set(cidrs.map((c) => c.family));
  // gateway.yaml takes one next hop: the IPv4 gateway when IPv4 CIDRs are announced, else the IPv6 one.
  const family: Family = families.has(4) || !families.has(6) ? 4 : 6;
  const gateway = byFamily.get(family) ?? byFamily.get(family === 4 ? 6 : 4);
  if (gateway === undefined) {
    sr.error('is empty: the internal gateway is the next hop of the announced CIDRs in the VRF');
    return undefined;
  }
  if (families.has(4) && families.has(6))
    sr.warn(
      `the gateway announces IPv4 and IPv6 CIDRs, and gateway.yaml has one internalGateway (${gateway}): the supervisor routes only the ${family === 4 ? 'IPv4' : 'IPv6'} CIDRs in the VRF (Kube-OVN's init container routes the others via INTERNAL_GATEWAY_IPV${family === 4 ? 6 : 4})`,
    );
  return gateway;
}

/** A BgpConf/EvpnConf as the supervisor reads it: the whole resource, without what the cluster added. */
function resourceYaml(kind: string, o: KubeObject, spec: unknown): string {
  return stringify({ apiVersion: KUBE_OVN_API_VERSION, kind, metadata: { name: nameOf(o) }, spec }, { lineWidth: 0 });
}

function gatewayYaml(ref: GatewayRef, cidrs: Cidr[], evpn: boolean, internalGateway: string | undefined): string {
  const d = KUBE_OVN_DEVICES;
  const doc: Obj = {
    advertise: cidrs.map((c) => c.canonical),
    externalInterface: d.externalInterface,
    internalInterface: d.internalInterface,
  };
  if (evpn) {
    if (internalGateway !== undefined) doc.internalGateway = internalGateway;
    doc.vrf = { ...d.vrf };
    doc.bridge = { ...d.bridge };
    doc.vxlan = { ...d.vxlan };
  }
  const head = `# VpcEgressGateway ${gatewayKey(ref)}: advertise = its non-SNAT policies' subnets and ipBlocks; devices as Kube-OVN's init script names them\n`;
  return head + stringify(doc, { lineWidth: 0 });
}

/** A placeholder Pod IP for checking a BgpConf without routerId: each replica's router id is its own POD_IP. */
const CHECK_POD_IP = '192.0.2.1';

/**
 * Runs the supervisor's own validator on the files (as `frr-supervisor check` would read them from the volume), and
 * names the object each problem comes from: bgp-conf.yaml -> the BgpConf, evpn-conf.yaml -> the EvpnConf,
 * bgp-password -> the BgpConf's spec.password, gateway.yaml -> the file made from the VpcEgressGateway.
 */
export async function checkConfig(config: GatewayConfig, objects: KubeOvnObjects): Promise<Problem[]> {
  const files: Record<string, string> = { ...config.files };
  if (config.password !== undefined) files['bgp-password'] = config.password;
  const result = await loadConfig({
    files,
    facts: { env: { POD_IP: CHECK_POD_IP }, interfaceIPv4: () => Promise.resolve(undefined) },
  });
  const gw = objects.gateways.find((g) => nameOf(g) === config.gateway.name && nsOf(g) === config.gateway.namespace);
  const spec = isObj(gw?.spec) ? gw.spec : {};
  const sourceOf = (p: Problem): Problem => {
    if (p.source === 'bgp-conf.yaml') return { ...p, source: objectSource('BgpConf', String(spec.bgpConf)) };
    if (p.source === 'bgp-password') return { ...p, source: objectSource('BgpConf', String(spec.bgpConf)), path: 'spec.password' };
    if (p.source === 'evpn-conf.yaml') return { ...p, source: objectSource('EvpnConf', String(spec.evpnConf)) };
    if (p.source === 'gateway.yaml')
      return { ...p, source: `gateway.yaml of ${objectSource('VpcEgressGateway', config.gateway.name, config.gateway.namespace)}` };
    return p;
  };
  return result.problems.map(sourceOf);
}

/** What the companion writes for a gateway: its ConfigMap and, with a password, its Secret. */
export function manifests(config: GatewayConfig, opts: { ownerReference?: boolean } = {}): KubeObject[] {
  const { namespace, name } = config.gateway;
  const labels = { ...MANAGED_BY, [KUBE_OVN_GATEWAY_NAME_LABEL]: name };
  const owner =
    opts.ownerReference && config.uid !== undefined
      ? { ownerReferences: [{ apiVersion: KUBE_OVN_API_VERSION, kind: 'VpcEgressGateway', name, uid: config.uid }] }
      : {};
  const out: KubeObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMapName(name), namespace, labels, ...owner },
      data: { ...config.files },
    },
  ];
  if (config.password !== undefined) {
    out.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secretName(name), namespace, labels, ...owner },
      type: 'Opaque',
      data: { 'bgp-password': Buffer.from(config.password, 'utf8').toString('base64') },
    });
  }
  return out;
}
