/**
 * Several gateway replicas behind one external router (ECMP), as Kube-OVN runs a VPC Egress Gateway with
 * `replicas: N`: N gateway namespaces (1..10), each with its own `frr-supervisor run` and FRR, its own underlay
 * address (its POD_IP and router id) and its own leg into the VPC, all peering with one FRR router.
 *
 *   remote host (<id>-rh)       router (<id>-rt)                       gateway i (<id>-g<i>)            VPC host (<id>-vpc)
 *   eth0 192.168.100.10 --- rh0 192.168.100.1    ubr 10.0.2.1/24 --- u<i> ~ net1 10.0.2.<11+i>   int0 10.16.0.<11+i> ~ v<i> --- vbr 10.16.0.1/16
 *                          (listen range 10.0.2.0/24,  (bridge)                                     (VPC side)               lo 10.17.0.10/32
 *                           maximum-paths 16)                                                                             default: ECMP via every int0
 *
 * The router accepts any gateway of 10.0.2.0/24 (`bgp listen range`, peer group GW), so a replica that joins with a
 * new address needs no router change. It hashes flows on L4 (fib_multipath_hash_policy 1), so flows with
 * different source ports spread over the gateways. Modes:
 * - `bgp`: IPv4 unicast; each gateway routes 10.17.0.0/16 via the VPC host from its own namespace (as Kube-OVN's
 *   init container does); the router's FIB has one next hop per gateway (its underlay address).
 * - `evpn`: the router has an L3VNI in its default VRF (bridge rtbr + VXLAN rtvx, local 10.0.2.1); each gateway has
 *   the netns VRF backend with its own VRF namespace; the router learns one type-5 path per gateway (route
 *   distinguisher `routerId:VNI`, different per replica) and its FIB has one VTEP per gateway.
 *
 * Per replica: extra gateway.yaml lines, a drain (SIGTERM: what Kubernetes sends), a node loss (link cut at the
 * router's bridge, then supervisor and FRR SIGKILLed by pid: no Cease, no FIN reaches the router) and a restart.
 * Extra router config lines (top level and inside `router bgp`) serve other features (e.g. BFD). Everything is
 * created inside the lab's namespaces and removed by `cleanup()`.
 *
 * Node loss, measured here: in EVPN mode the router keeps sending to a lost replica until its hold time expires
 * (graceful restart does not cover EVPN in FRR 8.4). BGP-only with graceful restart (the gateway's default), the
 * router then keeps the lost replica's routes as stale for the gateway's restart time (120 s) on top: give the
 * router `bgp graceful-restart stalepath-time S` (routerBgp) to bound that in a test (hold expiry + S seen).
 */
import { execa } from 'execa';
import { createLab, pidAlive, setForwarding, waitFor } from './lab.ts';
import type { Lab, RouterInstance } from './lab.ts';
import { startSupervisor } from './supervisor-process.ts';
import type { SupervisorProcess } from './supervisor-process.ts';
import { docsBgpConf, docsEvpnConf, RT_PREFIX } from './configs.ts';
import type { BgpConfOptions } from './configs.ts';
import { REMOTE, VPC } from './hosts.ts';
import { METER_PORT } from './loss-meter.ts';
import type { FlowSpec } from './loss-meter.ts';
import { listType5Routes } from './evpn-routes.ts';
import { ContainerRouter, ensureRouterImage } from './router-container.ts';

export type ReplicaMode = 'bgp' | 'evpn';

export const REPLICAS = {
  /** The router's address on the underlay bridge (every gateway's neighbour, the router's VTEP). */
  routerAddress: '10.0.2.1',
  underlayCidr: '10.0.2.0/24',
  prefixLen: 24,
  /** The most replicas a lab holds (Kube-OVN: 1 to 10). */
  max: 10,
  vni: 1016,
} as const;

/**
 * A prefix only replica i advertises (inside the routed CIDR, so the gateway routes it via the VPC host). Why, in EVPN
 * mode: an FRR router (8.4 here; FRRouting/frr issue 14108, seen up to 8.5) keeps a VTEP's router-MAC and next-hop
 * entries (neighbour and FDB entries in its kernel) per prefix using them, and when an ECMP type-5 route changes its
 * set of next hops (one replica leaving or joining), it may delete the entries of the VTEPs that stay: measured here,
 * every flow, through every replica, lost for the 2.3 s a single replica's bgpd restart took. A route of its own per
 * replica keeps each VTEP's entries referenced: then a replica's restart lost nothing (docs/investigations/2026-11-30-evpn-router-mac.md).
 */
export const uniquePrefix = (i: number): string => `10.17.255.${11 + i}/32`;

/** Replica i's underlay address (its POD_IP and router id): 10.0.2.11, 10.0.2.12, ... */
export const replicaAddress = (i: number): string => `10.0.2.${11 + i}`;
/** Replica i's address on the VPC side (its internal interface int0). */
export const replicaVpcAddress = (i: number): string => `10.16.0.${11 + i}`;

export interface ReplicaLabOptions {
  mode: ReplicaMode;
  /** Replicas started by `create` (default 3). */
  replicas?: number;
  /** The gateways' BgpConf timers (default hold 9s, keepalive 3s, connect 1s). */
  bgp?: BgpConfOptions;
  /** The router's `timers KEEPALIVE HOLD` towards the gateways (default 3 9). */
  routerKeepalive?: number;
  routerHold?: number;
  /** Extra gateway.yaml lines for replica i (YAML, top level), e.g. `bfd: ...` or `drain: ...`. */
  gatewayExtra?: (i: number) => string;
  /**
   * More CIDRs replica i advertises (besides 10.16.0.0/16 and 10.17.0.0/16). Default in EVPN mode: one prefix of its
   * own, 10.17.255.<11+i>/32 (see {@link uniquePrefix}); BGP-only: none.
   */
  advertiseExtra?: (i: number) => string[];
  /** Extra router config: lines before `router bgp` (e.g. a `bfd` block) and inside it (e.g. `neighbor GW bfd`). */
  routerTop?: string[];
  routerBgp?: string[];
  /** The router runs bfdd too (for `neighbor GW bfd` in routerBgp). */
  routerBfd?: boolean;
  /** The router keeps routes of a restarting gateway (graceful restart helper; FRR's default). Default true. */
  routerGracefulRestart?: boolean;
  /**
   * Which FRR is the router: `host`, the lab's own (Debian's FRR 8.4.4, default), or `frr10`, FRR 10.3 in a container
   * (lab/router-container.ts; needs podman and the trixie base of scripts/image-base.sh). FRR 8.4.4 loses the
   * router MACs of the VTEPs that stay when an ECMP type-5 route changes (FRRouting/frr#14108): EVPN tests that count
   * lost packets use `frr10`.
   */
  router?: 'host' | 'frr10';
  /** Supervisor flags (default --resync 2s --poll-interval 1s). */
  supervisorArgs?: string[];
  /** Environment of every supervisor (besides PATH and POD_IP). */
  env?: Record<string, string>;
}

export interface Replica {
  readonly index: number;
  readonly ns: string;
  readonly address: string;
  readonly vpcAddress: string;
  /** The VRF namespace (EVPN mode), unique per lab and replica. */
  readonly vrf: string;
  sup: SupervisorProcess;
  /** What its config volume holds. */
  files(): Record<string, string>;
}

let labSeq = 0;

/** Removes the VRF namespaces (`fsl<pid>e<n>r<i>`) that a killed run of this lab left (its pid is gone). */
async function sweepVrfNamespaces(): Promise<void> {
  const list = await execa('ip', ['netns', 'list'], { reject: false, stdin: 'ignore' });
  for (const name of String(list.stdout)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')) {
    const pid = Number(/^fsl(\d+)e\d+r\d+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!pidAlive(pid)) await execa('ip', ['netns', 'del', name], { reject: false, stdin: 'ignore' });
  }
}

/** The router's config: a peer group for the whole underlay subnet, ECMP, and in EVPN mode an L3VNI. */
export function replicaRouterConf(o: ReplicaLabOptions): string {
  const evpn = o.mode === 'evpn';
  return `frr defaults traditional
${evpn ? `vrf default\n vni ${REPLICAS.vni}\nexit-vrf\n` : ''}${(o.routerTop ?? []).map((l) => `${l}\n`).join('')}router bgp 65001
 bgp router-id ${REPLICAS.routerAddress}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
${o.routerGracefulRestart === false ? ' bgp graceful-restart-disable\n' : ''} neighbor GW peer-group
 neighbor GW remote-as 65002
 neighbor GW timers ${o.routerKeepalive ?? 3} ${o.routerHold ?? 9}
 bgp listen range ${REPLICAS.underlayCidr} peer-group GW
${(o.routerBgp ?? []).map((l) => ` ${l}\n`).join('')} address-family ipv4 unicast
  network ${RT_PREFIX}
  maximum-paths 16
${evpn ? '' : '  neighbor GW activate\n'} exit-address-family
${
  evpn
    ? ` address-family l2vpn evpn
  neighbor GW activate
  advertise-all-vni
  advertise ipv4 unicast
  route-target import 65000:${REPLICAS.vni}
  route-target export 65000:${REPLICAS.vni}
 exit-address-family
`
    : ''
}exit
`;
}

/** Replica i's gateway.yaml. */
export function replicaGatewayYaml(mode: ReplicaMode, vrf: string, extra = '', advertiseExtra: string[] = []): string {
  const base = `advertise: [${[VPC.connectedCidr, VPC.routedCidr, ...advertiseExtra].join(', ')}]\ninternalInterface: ${VPC.gatewayIf}\ninternalGateway: ${VPC.address}\n`;
  const evpn = mode === 'evpn' ? `vrfBackend: netns\nvrf: {name: ${vrf}, table: 2000}\n` : '';
  return `${base}${evpn}${extra ? `${extra.trimEnd()}\n` : ''}`;
}

export class ReplicaLab {
  readonly replicas: Replica[] = [];
  /** The router's vtysh (the lab's FRR instance, or the FRR 10.3 container). */
  router!: Pick<RouterInstance, 'vtysh'>;
  #container: ContainerRouter | undefined;
  remoteNs = '';
  vpcNs = '';
  readonly seq = labSeq++;

  private constructor(
    readonly lab: Lab,
    readonly opts: ReplicaLabOptions,
  ) {}

  /** The lab, its router, hosts and `opts.replicas` replicas (each applied; the router not yet waited on). */
  static async create(opts: ReplicaLabOptions): Promise<ReplicaLab> {
    await sweepVrfNamespaces();
    const lab = await createLab();
    const r = new ReplicaLab(lab, opts);
    try {
      await r.#setup();
      for (let i = 0; i < (opts.replicas ?? 3); i++) await r.addReplica();
      await Promise.all(r.replicas.map((x) => x.sup.waitForEvent('config_applied', () => true, 90_000)));
    } catch (e) {
      await r.cleanup().catch(() => undefined);
      throw e;
    }
    return r;
  }

  get rtNs(): string {
    return this.lab.rtNs;
  }

  async #ip(ns: string, ...args: string[]): Promise<void> {
    await execa('ip', ['-n', ns, ...args], { stdin: 'ignore' });
  }

  async #sysctl(ns: string, key: string, value: string): Promise<void> {
    await execa('ip', ['netns', 'exec', ns, 'tee', `/proc/sys/${key.replaceAll('.', '/')}`], { input: `${value}\n`, stdout: 'ignore' });
  }

  async #setup(): Promise<void> {
    const { lab } = this;
    const rt = lab.rtNs;
    // underlay bridge at the router
    // A bridge takes the lowest MAC of its ports unless it has one of its own: a replica's port going (its namespace
    // removed by a drain or a node loss) would change the router's (or the VPC host's) MAC under the other replicas,
    // whose neighbour entries then point at a MAC nobody has (every flow lost until they re-resolve, ~30 s).
    await this.#ip(rt, 'link', 'add', 'ubr', 'address', '02:00:00:00:02:01', 'type', 'bridge');
    await this.#ip(rt, 'addr', 'add', `${REPLICAS.routerAddress}/${REPLICAS.prefixLen}`, 'dev', 'ubr');
    await this.#ip(rt, 'link', 'set', 'ubr', 'up');
    // remote host behind the router
    this.remoteNs = await lab.addNamespace('rh');
    await execa('ip', ['link', 'add', REMOTE.routerIf, 'netns', rt, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.remoteNs]);
    await this.#ip(rt, 'addr', 'add', `${REMOTE.routerAddress}/${REMOTE.prefixLen}`, 'dev', REMOTE.routerIf);
    await this.#ip(rt, 'link', 'set', REMOTE.routerIf, 'up');
    await this.#ip(this.remoteNs, 'addr', 'add', `${REMOTE.address}/${REMOTE.prefixLen}`, 'dev', 'eth0');
    await this.#ip(this.remoteNs, 'link', 'set', 'eth0', 'up');
    await this.#ip(this.remoteNs, 'route', 'add', 'default', 'via', REMOTE.routerAddress);
    // VPC host: a bridge every gateway's int0 joins
    this.vpcNs = await lab.addNamespace('vpc');
    await this.#ip(this.vpcNs, 'link', 'add', 'vbr', 'address', '02:00:00:00:16:01', 'type', 'bridge');
    await this.#ip(this.vpcNs, 'addr', 'add', `${VPC.address}/${VPC.prefixLen}`, 'dev', 'vbr');
    await this.#ip(this.vpcNs, 'addr', 'add', `${VPC.routedAddress}/32`, 'dev', 'lo');
    await this.#ip(this.vpcNs, 'link', 'set', 'vbr', 'up');
    for (const ns of [rt, this.vpcNs]) {
      await setForwarding(ns);
      // flows with different source ports take different paths
      await this.#sysctl(ns, 'net.ipv4.fib_multipath_hash_policy', '1');
    }
    if (this.opts.mode === 'evpn') {
      await lab.exec(rt, ['ip', 'link', 'add', 'rtbr', 'type', 'bridge']);
      await lab.exec(rt, [
        'ip',
        'link',
        'add',
        'rtvx',
        'type',
        'vxlan',
        'id',
        String(REPLICAS.vni),
        'local',
        REPLICAS.routerAddress,
        'dstport',
        '4789',
        'nolearning',
      ]);
      await lab.exec(rt, ['ip', 'link', 'set', 'rtvx', 'master', 'rtbr']);
      await lab.exec(rt, ['bridge', 'link', 'set', 'dev', 'rtvx', 'learning', 'off']);
      await lab.exec(rt, ['ip', 'link', 'set', 'rtbr', 'up']);
      await lab.exec(rt, ['ip', 'link', 'set', 'rtvx', 'up']);
    }
    if (this.opts.router === 'frr10') {
      await ensureRouterImage();
      this.#container = await ContainerRouter.start({
        ns: rt,
        config: replicaRouterConf(this.opts),
        daemons: this.opts.routerBfd ? ['bgpd', 'bfdd'] : ['bgpd'],
        dir: lab.tmpDir,
      });
      this.router = this.#container;
    } else {
      this.router = await lab.startRouter(
        replicaRouterConf(this.opts),
        this.opts.routerBfd ? { daemons: ['zebra', 'bfdd', 'staticd', 'bgpd'] } : {},
      );
    }
  }

  /** Creates replica `index` (default: the next one) and starts its supervisor. */
  async addReplica(index = this.replicas.length): Promise<Replica> {
    if (index >= REPLICAS.max) throw new Error(`at most ${REPLICAS.max} replicas`);
    if (this.replicas.some((r) => r.index === index)) throw new Error(`replica ${index} exists`);
    const { lab, opts } = this;
    const ns = await lab.addNamespace(`g${index}`);
    const address = replicaAddress(index);
    const vpcAddress = replicaVpcAddress(index);
    // underlay leg: net1 in the gateway, u<i> on the router's bridge
    await execa('ip', ['link', 'add', 'net1', 'netns', ns, 'type', 'veth', 'peer', 'name', `u${index}`, 'netns', lab.rtNs]);
    await this.#ip(lab.rtNs, 'link', 'set', `u${index}`, 'master', 'ubr');
    await this.#ip(lab.rtNs, 'link', 'set', `u${index}`, 'up');
    await this.#ip(ns, 'addr', 'add', `${address}/${REPLICAS.prefixLen}`, 'dev', 'net1');
    await this.#ip(ns, 'link', 'set', 'net1', 'up');
    await setForwarding(ns);
    await this.#attachVpc(ns, index);
    // BGP-only, Kube-OVN's init container routes the VPC's CIDRs via the internal gateway in the Pod's namespace.
    if (opts.mode === 'bgp') await this.#ip(ns, 'route', 'add', VPC.routedCidr, 'via', VPC.address);
    const vrf = `fsl${process.pid}e${this.seq}r${index}`;
    const files = (): Record<string, string> => ({
      'bgp-conf.yaml': docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s', ...opts.bgp, neighbours: [REPLICAS.routerAddress] }),
      ...(opts.mode === 'evpn' && { 'evpn-conf.yaml': docsEvpnConf(REPLICAS.vni) }),
      'gateway.yaml': replicaGatewayYaml(
        opts.mode,
        vrf,
        opts.gatewayExtra?.(index),
        opts.advertiseExtra ? opts.advertiseExtra(index) : opts.mode === 'evpn' ? [uniquePrefix(index)] : [],
      ),
    });
    const sup = startSupervisor(lab, {
      files: files(),
      ns,
      podIp: address,
      args: opts.supervisorArgs ?? ['--resync', '2s', '--poll-interval', '1s'],
      ...(opts.env && { env: opts.env }),
    });
    const replica: Replica = { index, ns, address, vpcAddress, vrf, sup, files };
    this.replicas.push(replica);
    await this.#updateVpcRoute();
    return replica;
  }

  /** The VPC leg: int0 (replica i's VPC address) in the gateway, v<i> on the VPC host's bridge. */
  async #attachVpc(ns: string, index: number): Promise<void> {
    await execa('ip', ['link', 'add', VPC.gatewayIf, 'netns', ns, 'type', 'veth', 'peer', 'name', `v${index}`, 'netns', this.vpcNs]);
    await this.#ip(this.vpcNs, 'link', 'set', `v${index}`, 'master', 'vbr');
    await this.#ip(this.vpcNs, 'link', 'set', `v${index}`, 'up');
    await this.#ip(ns, 'addr', 'add', `${replicaVpcAddress(index)}/${VPC.prefixLen}`, 'dev', VPC.gatewayIf);
    await this.#ip(ns, 'link', 'set', VPC.gatewayIf, 'up');
  }

  /**
   * Plugs replica i into the VPC again when its int0 is gone, as the CNI plugs a new Pod: with the netns backend
   * int0 lives in the VRF namespace, which a drained supervisor removes (the veth pair goes with it).
   */
  async #reattachVpc(index: number): Promise<void> {
    const r = this.replica(index);
    const has = async (ns: string, dev: string): Promise<boolean> =>
      (await execa('ip', ['-n', ns, 'link', 'show', dev], { reject: false, stdin: 'ignore' })).exitCode === 0;
    if (await has(r.ns, VPC.gatewayIf)) return;
    if (this.opts.mode === 'evpn' && (await has(r.vrf, VPC.gatewayIf))) return; // still in the VRF namespace (node loss)
    // The kernel destroys a namespace (and the veth in it) asynchronously once its last reference is gone.
    const deadline = Date.now() + 10_000;
    while ((await has(this.vpcNs, `v${index}`)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    if (await has(this.vpcNs, `v${index}`)) await this.#ip(this.vpcNs, 'link', 'del', `v${index}`);
    await this.#attachVpc(r.ns, index);
  }

  replica(index: number): Replica {
    const r = this.replicas.find((x) => x.index === index);
    if (!r) throw new Error(`no replica ${index}`);
    return r;
  }

  /** The VPC host's default route: ECMP over every replica (the VPC router's side of the gateway set). */
  async #updateVpcRoute(): Promise<void> {
    const hops = this.replicas.flatMap((r) => ['nexthop', 'via', r.vpcAddress]);
    await this.#ip(this.vpcNs, 'route', 'replace', 'default', ...hops);
  }

  /** Starts replica i's supervisor again (same dirs and pathspace), with its files; plugs its VPC leg back first. */
  async restart(index: number): Promise<void> {
    const r = this.replica(index);
    await this.#reattachVpc(index);
    r.sup.start({
      files: r.files(),
      args: this.opts.supervisorArgs ?? ['--resync', '2s', '--poll-interval', '1s'],
      ...(this.opts.env && { env: this.opts.env }),
    });
  }

  /** Drain: SIGTERM to replica i's supervisor (what the kubelet sends), waits for its exit. */
  async drain(index: number, timeoutMs = 30_000): Promise<{ code: number | undefined; signal: string | undefined; ms: number }> {
    return this.replica(index).sup.stop('SIGTERM', timeoutMs);
  }

  /**
   * Node loss: replica i's link is cut at the router's bridge first (so that nothing the dying processes' kernel
   * sockets send reaches the router), then its supervisor and FRR daemons are SIGKILLed by pid.
   */
  async nodeLoss(index: number): Promise<void> {
    const r = this.replica(index);
    await this.cutLink(index);
    const pids = (await Promise.all((['bgpd', 'staticd', 'bfdd', 'zebra'] as const).map((d) => r.sup.daemonPid(d)))).filter(
      (p): p is number => p !== undefined,
    );
    const supPid = r.sup.pid;
    for (const p of [...(supPid ? [supPid] : []), ...pids]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await r.sup.stop('SIGKILL');
    await r.sup.cleanup();
  }

  async cutLink(index: number): Promise<void> {
    await this.#ip(this.lab.rtNs, 'link', 'set', `u${index}`, 'down');
  }

  async restoreLink(index: number): Promise<void> {
    await this.#ip(this.lab.rtNs, 'link', 'set', `u${index}`, 'up');
  }

  /** Writes new files to every replica's volume at once (a ConfigMap edit as every kubelet sees it). */
  updateAll(files: (r: Replica) => Record<string, string>): void {
    for (const r of this.replicas) r.sup.volume.update(files(r));
  }

  /** The router's FIB next hops for a prefix (underlay gateway addresses, BGP-only; VTEP addresses, EVPN). */
  async routerNextHops(prefix = VPC.routedCidr): Promise<string[]> {
    const res = await this.lab.exec(this.lab.rtNs, ['ip', '-j', 'route', 'show', prefix]);
    const routes = JSON.parse(res.stdout || '[]') as Array<{ gateway?: string; nexthops?: Array<{ gateway?: string }> }>;
    return routes
      .flatMap((r) => (r.nexthops ? r.nexthops.map((h) => h.gateway) : [r.gateway]))
      .filter((g): g is string => g !== undefined)
      .sort();
  }

  /** The router's FIB routes inside a range (e.g. changeDrain anchors): `PREFIX via NEXTHOP`, sorted. */
  async routerAnchors(range = '10.17.255.0/24'): Promise<string[]> {
    const res = await this.lab.exec(this.lab.rtNs, ['ip', '-j', 'route', 'show', 'root', range]);
    return (JSON.parse(res.stdout || '[]') as Array<{ dst: string; gateway?: string }>)
      .map((r) => `${r.dst.includes('/') ? r.dst : `${r.dst}/32`} via ${r.gateway ?? '?'}`)
      .sort();
  }

  /** The route distinguishers under which the router holds a type-5 route for the VPC CIDR, received from a gateway. */
  async routerType5Rds(prefix = VPC.routedCidr): Promise<string[]> {
    const routes = listType5Routes(await this.router.vtysh('show bgp l2vpn evpn route type prefix json'));
    return routes
      .filter((r) => r.prefix === prefix && !r.local)
      .map((r) => r.rd)
      .sort();
  }

  /**
   * EVPN: the VTEPs whose router MAC the router's kernel knows (neighbour entries on rtbr that zebra installs with
   * the type-5 route); a FIB next hop without one is a black hole. BGP-only: the FIB next hops.
   */
  async routerVteps(): Promise<string[]> {
    if (this.opts.mode !== 'evpn') return this.routerNextHops();
    const res = await this.lab.exec(this.lab.rtNs, ['ip', '-j', 'neigh', 'show', 'dev', 'rtbr']);
    return (JSON.parse(res.stdout || '[]') as Array<{ dst?: string; lladdr?: string }>)
      .filter((n) => n.dst !== undefined && n.lladdr !== undefined)
      .map((n) => n.dst as string)
      .sort();
  }

  /**
   * EVPN: samples the router every 100 ms until stopped, and returns the moments a FIB next hop of the VPC CIDR had no
   * router MAC (a black hole for the flows hashed to it: FRRouting/frr#14108), ms after the start.
   */
  watchRouterMacs(): { stop: () => Promise<Array<{ atMs: number; missing: string[] }>> } {
    const seen: Array<{ atMs: number; missing: string[] }> = [];
    const t0 = Date.now();
    let on = this.opts.mode === 'evpn';
    const loop = (async () => {
      while (on) {
        try {
          const [hops, vteps] = await Promise.all([this.routerNextHops(), this.routerVteps()]);
          const missing = hops.filter((h) => !vteps.includes(h));
          if (missing.length > 0) seen.push({ atMs: Date.now() - t0, missing });
        } catch {
          // a sample that failed is no sample
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    return {
      stop: async () => {
        on = false;
        await loop;
        return seen;
      },
    };
  }

  /**
   * Waits until the router's FIB has exactly these gateways' next hops for the VPC CIDR (EVPN: and knows their router
   * MACs; a lost replica's entry may outlive its routes, FRRouting/frr#14108).
   */
  async waitNextHops(indexes: number[], timeoutMs = 60_000): Promise<number> {
    const want = indexes.map(replicaAddress).sort().join(',');
    const t0 = Date.now();
    const known = async (): Promise<boolean> => {
      const vteps = await this.routerVteps();
      return indexes.every((i) => vteps.includes(replicaAddress(i)));
    };
    await waitFor(async () => (await this.routerNextHops()).join(',') === want && (await known()), {
      timeoutMs,
      intervalMs: 50,
      what: `router next hops ${want} for ${VPC.routedCidr} (now ${(await this.routerNextHops().catch(() => [])).join(',')})`,
    });
    return Date.now() - t0;
  }

  /** Received packets on replica i's underlay interface (every probe the router sent it, besides BGP). */
  async rxPackets(index: number): Promise<number> {
    const res = await execa('ip', ['-n', this.replica(index).ns, '-s', '-j', 'link', 'show', 'dev', 'net1']);
    const doc = JSON.parse(res.stdout) as Array<{ stats64?: { rx?: { packets?: number } } }>;
    return doc[0]?.stats64?.rx?.packets ?? 0;
  }

  /**
   * The gateway the router's FIB picks for a flow right now (`ip route get` with the flow's 5-tuple as it enters
   * from the remote host): its underlay address, BGP-only, or its VTEP, EVPN.
   */
  async flowNextHop(flow: FlowSpec): Promise<string | undefined> {
    const argv = ['ip', '-j', 'route', 'get', flow.dst, 'from', REMOTE.address, 'iif', REMOTE.routerIf, 'ipproto', 'udp'];
    argv.push('sport', String(flow.srcPort ?? 0), 'dport', String(METER_PORT));
    const res = await this.lab.exec(this.lab.rtNs, argv);
    return (JSON.parse(res.stdout) as Array<{ gateway?: string }>)[0]?.gateway;
  }

  /** `count` flows remote host -> VPC host (routed address), each with its own fixed source port. */
  flows(count = 12, rate = 200): FlowSpec[] {
    return Array.from({ length: count }, (_, k) => ({
      label: `f${k}`,
      from: this.remoteNs,
      to: this.vpcNs,
      dst: VPC.routedAddress,
      srcPort: 41_000 + k,
      rate,
    }));
  }

  /** Stops every supervisor, removes the VRF namespaces, then the lab. */
  async cleanup(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.sup.cleanup().catch(() => undefined)));
    for (const r of this.replicas) await execa('ip', ['netns', 'del', r.vrf], { reject: false, stdin: 'ignore' });
    await this.#container?.stop();
    await this.lab.cleanup();
  }
}
