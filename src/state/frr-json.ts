/**
 * Parsers for the outputs of FRR 8.4.4's `vtysh -c '... json'` (and `show running-config`) into clean,
 * typed structures. Pure functions, no I/O: the caller runs vtysh and hands the stdout text in.
 *
 * Every FRR quirk the supervisor has to know about is handled here, next to a comment naming it, so that
 * the rest of the code never sees `"n/a"`, numbers printed as strings, the 8.4 remote-VTEP array in
 * `numRemoteVteps`, empty output instead of `{}`, or the three shapes of `show bgp ... summary json`.
 *
 * Conventions shared by all parsers:
 * - Empty or whitespace-only text means "nothing" (an empty list / 0). FRR 8.4 really prints nothing for
 *   `show evpn vni json` when no VNI exists (or EVPN is off); vtysh also prints nothing on stdout when the
 *   daemon that owns the command is not running (it says "bgpd is not running" on stderr and exits 1), so
 *   the caller must look at vtysh's exit status to tell "no peers" from "no bgpd".
 * - Text that is not JSON (e.g. `% Unknown command: ...`) or JSON of the wrong shape throws
 *   {@link FrrJsonError}, whose message names the command.
 * - Numbers are coerced: JSON numbers, or strings holding a decimal number, are taken; `"n/a"` and anything
 *   else become `null` (or 0 where the type says `number`). No parser ever returns NaN.
 * - Missing optional fields never throw.
 */

/** Output that is not JSON at all, or JSON of a shape the command never prints. */
export class FrrJsonError extends Error {
  /** The vtysh command whose output could not be parsed, e.g. `show bgp vrf all summary json`. */
  readonly command: string;

  constructor(command: string, message: string, options?: ErrorOptions) {
    super(`${command}: ${message}`, options);
    this.name = 'FrrJsonError';
    this.command = command;
  }
}

/**
 * Any string, with the listed literals kept for editor completion (a plain `| string` would swallow them,
 * and lint flags it as a redundant union).
 */
type OpenString = string & Record<never, never>;

/** An address family as FRR keys it in JSON (`get_afi_safi_json_str`). */
export type Afi = 'ipv4Unicast' | 'ipv6Unicast' | 'l2VpnEvpn' | OpenString;

/** One peer in one VRF and one address family, from `show bgp ... summary json`. */
export interface PeerSummary {
  vrf: string;
  /** As FRR keys it: 'ipv4Unicast', 'ipv6Unicast', 'l2VpnEvpn'...; see {@link SummaryOptions.afi}. */
  afi: Afi;
  localAs: number;
  routerId: string;
  /** Neighbour address (or interface name) as keyed by FRR. */
  peer: string;
  remoteAs: number;
  /** FRR's `state`: 'Established', 'Active', 'Connect', 'Idle', 'Idle (Admin)', 'Idle (PfxCt)'... */
  state: string;
  established: boolean;
  /** `state` starts with 'Idle (Admin)' or `peerState` is 'Admin' (neighbor or whole instance shut down). */
  adminDown: boolean;
  /** From `peerUptimeMsec`; 0 when not established. */
  uptimeSeconds: number;
  /** `pfxRcd` (0 when missing or not a number). */
  prefixesReceived: number;
  /** `pfxSnt`. */
  prefixesSent: number;
  /** `msgRcvd`. */
  messagesReceived: number;
  /** `msgSent`. */
  messagesSent: number;
  connectionsEstablished: number;
  connectionsDropped: number;
}

export interface SummaryOptions {
  /**
   * The address family to report for the single-AFI form (`show bgp ipv4 unicast summary json`), which has
   * no AFI level and nothing inside naming the AFI. Default 'unknown'.
   */
  afi?: Afi;
}

/** One neighbour from `show bgp [vrf all] neighbors json`. */
export interface NeighborDetail {
  peer: string;
  /** Only known from `show bgp vrf all neighbors json` (VRF level); undefined for `show bgp neighbors json`. */
  vrf?: string;
  remoteAs: number;
  localAs: number;
  /** `bgpState`: the plain FSM state ('Idle' even when admin down: see {@link adminDown}). */
  state: string;
  established: boolean;
  /** `adminShutDown` (neighbor or instance shut down). */
  adminDown: boolean;
  /** `bgpTimerUpMsec` in seconds; 0 when not established. */
  uptimeSeconds: number;
  /** Negotiated hold time (`bgpTimerHoldTimeMsecs`); only when Established. */
  holdTimeMsecs?: number;
  /** Negotiated keepalive (`bgpTimerKeepAliveIntervalMsecs`); only when Established. */
  keepaliveIntervalMsecs?: number;
  /** `bgpTimerConfiguredHoldTimeMsecs` (the configured or the instance default). */
  configuredHoldTimeMsecs?: number;
  /** `bgpTimerConfiguredKeepAliveIntervalMsecs`. */
  configuredKeepaliveMsecs?: number;
  /** `connectRetryTimer` * 1000 (FRR prints that one in seconds). */
  configuredConnectRetryMsecs?: number;
  /**
   * `lastResetDueTo`, e.g. 'Waiting for peer OPEN', 'Admin. shutdown'. When that is a NOTIFICATION sent or
   * received, FRR's `lastNotificationReason` follows it: 'BGP Notification send: Cease/Maximum Number of Prefixes
   * Reached' (FRR 8.4.4 says only 'BGP Notification send' in lastResetDueTo).
   */
  lastResetReason?: string;
  /** `prefixesConfigExceedMax`: the peer sent more than `maximum-prefix` and FRR holds the session down. */
  prefixLimitExceeded: boolean;
  /**
   * `neighborCapabilities.gracefulRestart === 'advertisedAndReceived'`; undefined when FRR shows no
   * capabilities (it shows them only for an Established session).
   */
  gracefulRestartNegotiated?: boolean;
  /** Address families activated on the neighbour (keys of `addressFamilyInfo`), in every state. */
  afis: string[];
  /**
   * Address families negotiated in the OPEN exchange (`neighborCapabilities.multiprotocolExtensions` entries
   * with `advertisedAndReceived`); empty when not Established.
   */
  negotiatedAfis: string[];
  /** `externalBgpNbrMaxHopsAway` (eBGP only): 1 without ebgp-multihop, N with `ebgp-multihop N`. */
  ebgpMultihop?: number;
}

export interface EvpnVni {
  vni: number;
  type: 'L2' | 'L3' | OpenString;
  /** `tenantVrf` (list form) or `vrf` (detail / per-VNI form); '' when FRR names none. */
  vrf: string;
  /** 'Up' / 'Down': only the L3 detail / per-VNI form has it. */
  state?: string;
  /** `vxlanIf` (list), `vxlanInterface` (L2 detail) or `vxlanIntf` (L3 detail). */
  vxlanIf?: string;
  /** Only the L3 detail / per-VNI form has it. */
  routerMac?: string;
  remoteVteps: string[];
  /** null for an L3 VNI (`"n/a"`) or when FRR prints no count. */
  numRemoteVteps: number | null;
  numMacs?: number | null;
}

export interface VrfVni {
  vrf: string;
  vni: number;
  state: string;
  routerMac?: string;
  vxlanIf?: string;
  sviIf?: string;
}

/** One type-5 (IP prefix) route of `show bgp l2vpn evpn route type prefix json`, per RD. */
export interface EvpnType5Route {
  rd: string;
  /** FRR's route key, e.g. `[5]:[0]:[24]:[192.168.100.0]`. */
  route: string;
  /** `ip/ipLen` of the first path, e.g. `192.168.100.0/24`, when FRR prints them. */
  prefix?: string;
  /** The best path is our own (`peerId` is `(unspec)`): originated or re-advertised by this router. */
  local: boolean;
  /** `Rmac:` of the best path's extended communities. */
  routerMac?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Commands, as named in error messages.

const CMD_SUMMARY = 'show bgp [vrf all] [AFI] summary json';
const CMD_EVPN_SUMMARY = 'show bgp l2vpn evpn summary json';
const CMD_NEIGHBORS = 'show bgp [vrf all] neighbors json';
const CMD_EVPN_VNI = 'show evpn vni [detail|VNI] json';
const CMD_VRF_VNI = 'show vrf vni json';
const CMD_TYPE5 = 'show bgp l2vpn evpn route type prefix json';
const CMD_RUNNING = 'show running-config';

// ---------------------------------------------------------------------------------------------------------
// Helpers.

type JsonObject = { [key: string]: unknown };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the text; `undefined` for empty / whitespace-only output; FrrJsonError for anything not JSON. */
function parseText(text: string, command: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch (err) {
    const firstLine = trimmed.split(/\r?\n/, 1)[0] ?? '';
    const shown = firstLine.length > 120 ? `${firstLine.slice(0, 120)}...` : firstLine;
    throw new FrrJsonError(command, `output is not JSON: ${JSON.stringify(shown)}`, { cause: err });
  }
}

/** Like parseText, but the top level must be an object (or empty output, returned as `{}`). */
function parseObject(text: string, command: string): JsonObject {
  const value = parseText(text, command);
  if (value === undefined) return {};
  if (!isObject(value)) throw new FrrJsonError(command, `expected a JSON object, got ${describe(value)}`);
  return value;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `a ${typeof v}`;
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * A finite number from a JSON number or a string holding one (FRR prints some numbers as strings);
 * null for `"n/a"`, booleans, objects, NaN, anything else.
 */
function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!DECIMAL.test(s)) return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function num0(v: unknown): number {
  return toNumber(v) ?? 0;
}

function optNumber(v: unknown): number | undefined {
  return toNumber(v) ?? undefined;
}

/**
 * An AS number: a number, a decimal string, or asdot `X.Y` (FRR >= 9.1 can print `asdot` notation as a
 * string; 8.4 prints plain numbers). 0 when unusable.
 */
function toAsn(v: unknown): number {
  if (typeof v === 'string') {
    const m = /^(\d+)\.(\d+)$/.exec(v.trim());
    if (m) {
      const high = Number(m[1]);
      const low = Number(m[2]);
      if (high < 65536 && low < 65536) return high * 65536 + low;
    }
  }
  const n = toNumber(v);
  return n !== null && Number.isInteger(n) && n >= 0 ? n : 0;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function firstStr(obj: JsonObject, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const s = str(obj[k]);
    if (s !== undefined) return s;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// show bgp ... summary json

/**
 * AFI keys as `get_afi_safi_json_str` prints them: ipv4Unicast, ipv6Multicast, ipv4LabeledUnicast, ipv4Vpn,
 * ipv4Flowspec, l2VpnEvpn, linkStateLinkState... Used to tell the AFI level from the VRF level.
 */
const AFI_KEY = /^(?:ipv4|ipv6|l2Vpn|linkState)[A-Z][A-Za-z]*$/;

function isSummaryNode(v: unknown): v is JsonObject {
  return isObject(v) && isObject(v.peers);
}

/** lastResetDueTo, with the NOTIFICATION's reason when the reset was a NOTIFICATION (see NeighborDetail). */
function resetReason(dueTo: string | undefined, notification: string | undefined): string | undefined {
  if (dueTo === undefined || notification === undefined || !dueTo.startsWith('BGP Notification')) return dueTo;
  return `${dueTo}: ${notification}`;
}

function summaryPeers(node: JsonObject, vrf: string, afi: string): PeerSummary[] {
  const peers = node.peers;
  if (!isObject(peers)) return [];
  const routerId = str(node.routerId) ?? '';
  const instanceAs = toAsn(node.as);
  const out: PeerSummary[] = [];
  for (const [peer, raw] of Object.entries(peers)) {
    if (!isObject(raw)) continue;
    const peerState = str(raw.peerState);
    const state = str(raw.state) ?? 'Unknown';
    const established = state === 'Established';
    const localAs = toAsn(raw.localAs);
    out.push({
      vrf,
      afi,
      localAs: localAs !== 0 ? localAs : instanceAs,
      routerId,
      peer,
      remoteAs: toAsn(raw.remoteAs),
      state,
      established,
      adminDown: state.startsWith('Idle (Admin)') || peerState === 'Admin',
      // Quirk: peerUptimeMsec is the time since the last state change, so for a session that went down it
      // counts the down time. Only an Established session has an uptime.
      uptimeSeconds: established ? Math.floor(num0(raw.peerUptimeMsec) / 1000) : 0,
      prefixesReceived: num0(raw.pfxRcd),
      prefixesSent: num0(raw.pfxSnt),
      messagesReceived: num0(raw.msgRcvd),
      messagesSent: num0(raw.msgSent),
      connectionsEstablished: num0(raw.connectionsEstablished),
      connectionsDropped: num0(raw.connectionsDropped),
    });
  }
  return out;
}

function parseSummaryWith(text: string, command: string, defaultAfi: string): PeerSummary[] {
  const root = parseObject(text, command);
  // Quirk: three shapes, told apart by where the `peers` object sits.
  // - one AFI asked (`show bgp ipv4 unicast summary json`, `show bgp l2vpn evpn summary json`): the
  //   summary itself, no AFI level, nothing naming the AFI;
  // - `show bgp summary json`: AFI -> summary;
  // - `show bgp vrf all summary json`: VRF -> AFI -> summary (`show bgp vrf all ipv4 unicast summary json`:
  //   VRF -> summary, no AFI level).
  // A VRF or AFI without peers is `{}` (e.g. `"labgwvrf":{}`), and so is the whole output when nothing has
  // peers or the VRF does not exist.
  if (isSummaryNode(root)) return summaryPeers(root, str(root.vrfName) ?? 'default', defaultAfi);
  const out: PeerSummary[] = [];
  for (const [key1, level1] of Object.entries(root)) {
    if (!isObject(level1)) continue;
    if (isSummaryNode(level1)) {
      if (AFI_KEY.test(key1)) out.push(...summaryPeers(level1, str(level1.vrfName) ?? 'default', key1));
      else out.push(...summaryPeers(level1, key1, defaultAfi));
      continue;
    }
    for (const [key2, level2] of Object.entries(level1)) {
      if (isSummaryNode(level2)) out.push(...summaryPeers(level2, key1, key2));
    }
  }
  return out;
}

/**
 * `show bgp vrf all summary json` (VRF -> AFI -> peers), `show bgp summary json` (AFI -> peers) and the
 * single-AFI form (`show bgp ipv4 unicast summary json`, whose AFI comes from `options.afi`).
 * Empty output or `{}` -> [].
 */
export function parseBgpSummary(text: string, options: SummaryOptions = {}): PeerSummary[] {
  return parseSummaryWith(text, CMD_SUMMARY, options.afi ?? 'unknown');
}

/**
 * `show bgp l2vpn evpn summary json`: `{}` when the EVPN AFI is not active on any neighbour -> [].
 * Also accepts the multi-AFI forms and keeps only their l2VpnEvpn entries.
 */
export function parseEvpnSummary(text: string): PeerSummary[] {
  return parseSummaryWith(text, CMD_EVPN_SUMMARY, 'l2VpnEvpn').filter((p) => p.afi === 'l2VpnEvpn');
}

// ---------------------------------------------------------------------------------------------------------
// show bgp [vrf all] neighbors json

/** Keys that sit beside the peers: `vrfId`/`vrfName` (VRF level of `vrf all`), `bgpNoSuchNeighbor`. */
const NEIGHBOR_META_KEYS = new Set(['vrfId', 'vrfName', 'bgpNoSuchNeighbor']);

function isNeighborNode(v: unknown): v is JsonObject {
  return isObject(v) && (typeof v.bgpState === 'string' || 'remoteAs' in v);
}

function neighborDetail(peer: string, raw: JsonObject, vrf: string | undefined): NeighborDetail {
  const state = str(raw.bgpState) ?? 'Unknown';
  const established = state === 'Established';
  const caps = isObject(raw.neighborCapabilities) ? raw.neighborCapabilities : undefined;
  const mp = caps && isObject(caps.multiprotocolExtensions) ? caps.multiprotocolExtensions : {};
  const afInfo = isObject(raw.addressFamilyInfo) ? raw.addressFamilyInfo : {};
  const gr = caps ? str(caps.gracefulRestart) : undefined;
  const connectRetrySec = toNumber(raw.connectRetryTimer);
  const detail: NeighborDetail = {
    peer,
    remoteAs: toAsn(raw.remoteAs),
    localAs: toAsn(raw.localAs),
    state,
    established,
    adminDown: raw.adminShutDown === true,
    uptimeSeconds: established ? Math.floor(num0(raw.bgpTimerUpMsec) / 1000) : 0,
    // Quirk: bgpTimerHoldTimeMsecs/KeepAlive are printed in every state, but before a session is up they
    // are the configured values, not negotiated ones: report them only for an Established session.
    holdTimeMsecs: established ? optNumber(raw.bgpTimerHoldTimeMsecs) : undefined,
    keepaliveIntervalMsecs: established ? optNumber(raw.bgpTimerKeepAliveIntervalMsecs) : undefined,
    configuredHoldTimeMsecs: optNumber(raw.bgpTimerConfiguredHoldTimeMsecs),
    configuredKeepaliveMsecs: optNumber(raw.bgpTimerConfiguredKeepAliveIntervalMsecs),
    // Quirk: connectRetryTimer is in seconds, unlike its Msecs neighbours.
    configuredConnectRetryMsecs: connectRetrySec === null ? undefined : connectRetrySec * 1000,
    lastResetReason: resetReason(str(raw.lastResetDueTo), str(raw.lastNotificationReason)),
    prefixLimitExceeded: raw.prefixesConfigExceedMax === true,
    // Quirk: neighborCapabilities exists only for an Established session.
    gracefulRestartNegotiated: gr === undefined ? undefined : gr === 'advertisedAndReceived',
    afis: Object.keys(afInfo),
    negotiatedAfis: Object.entries(mp)
      .filter(([, v]) => isObject(v) && v.advertisedAndReceived === true)
      .map(([k]) => k),
    ebgpMultihop: optNumber(raw.externalBgpNbrMaxHopsAway),
  };
  if (vrf !== undefined) detail.vrf = vrf;
  return detail;
}

/**
 * `show bgp neighbors json` (peer -> detail) and `show bgp vrf all neighbors json` (VRF -> {vrfId,
 * vrfName, peer -> detail}). `{}` (no BGP instance) and `{"bgpNoSuchNeighbor":true}` (`show bgp neighbors
 * X json` for an unknown X) -> [].
 */
export function parseBgpNeighbors(text: string): NeighborDetail[] {
  const root = parseObject(text, CMD_NEIGHBORS);
  const out: NeighborDetail[] = [];
  const rootVrf = str(root.vrfName);
  for (const [key, value] of Object.entries(root)) {
    if (NEIGHBOR_META_KEYS.has(key)) continue;
    if (isNeighborNode(value)) {
      out.push(neighborDetail(key, value, rootVrf));
    } else if (isObject(value)) {
      // VRF level of `vrf all`.
      const vrf = str(value.vrfName) ?? key;
      for (const [peer, raw] of Object.entries(value)) {
        if (NEIGHBOR_META_KEYS.has(peer)) continue;
        if (isNeighborNode(raw)) out.push(neighborDetail(peer, raw, vrf));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// show evpn vni [detail|VNI] json

function vtepList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const item of v) {
    // 8.4 prints address strings; FRR >= 9 prints `{ip, flood}` objects in the detail form.
    const ip = isObject(item) ? str(item.ip) : str(item);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}

function evpnVni(raw: JsonObject, key: string | undefined): EvpnVni | undefined {
  const vni = toNumber(raw.vni) ?? (key === undefined ? null : toNumber(key));
  if (vni === null) return undefined;
  // Quirk (8.4, fixed in 9.0): the detail / per-VNI form of an L2 VNI puts the remote-VTEP ARRAY in
  // `numRemoteVteps` (and prints no `numRemoteVteps` at all when there is no remote VTEP); the list form
  // has a count in `numRemoteVteps` plus a `remoteVteps` array.
  const fromCount = vtepList(raw.numRemoteVteps);
  const remoteVteps = vtepList(raw.remoteVteps) ?? fromCount ?? [];
  const type = str(raw.type) ?? '';
  // Quirk: an L3 VNI's numRemoteVteps is the string "n/a" -> null. An L2 VNI without the field (detail
  // form, no remote VTEP) has none -> the list's length (0).
  let numRemoteVteps = fromCount !== undefined ? fromCount.length : toNumber(raw.numRemoteVteps);
  if (numRemoteVteps === null && raw.numRemoteVteps === undefined && type === 'L2') numRemoteVteps = remoteVteps.length;
  const out: EvpnVni = {
    vni,
    type,
    vrf: firstStr(raw, 'tenantVrf', 'vrf') ?? '',
    remoteVteps,
    numRemoteVteps,
  };
  const state = str(raw.state);
  if (state !== undefined) out.state = state;
  const vxlanIf = firstStr(raw, 'vxlanIf', 'vxlanInterface', 'vxlanIntf');
  if (vxlanIf !== undefined) out.vxlanIf = vxlanIf;
  const routerMac = str(raw.routerMac);
  if (routerMac !== undefined) out.routerMac = routerMac;
  if ('numMacs' in raw) out.numMacs = toNumber(raw.numMacs);
  return out;
}

/**
 * `show evpn vni json` (VNI -> entry), `show evpn vni detail json` (array of entries) and
 * `show evpn vni N json` (one entry; `{}` for an unknown VNI). Quirk: `show evpn vni json` prints NOTHING
 * (not `{}`) when there is no VNI or EVPN is off -> []. Sorted by VNI.
 */
export function parseEvpnVni(text: string): EvpnVni[] {
  const root = parseText(text, CMD_EVPN_VNI);
  if (root === undefined) return [];
  const out: EvpnVni[] = [];
  if (Array.isArray(root)) {
    for (const item of root) {
      if (!isObject(item)) throw new FrrJsonError(CMD_EVPN_VNI, `expected VNI objects in the array, got ${describe(item)}`);
      const v = evpnVni(item, undefined);
      if (v) out.push(v);
    }
  } else if (isObject(root)) {
    if ('vni' in root && !isObject(root.vni)) {
      const v = evpnVni(root, undefined);
      if (v) out.push(v);
    } else {
      for (const [key, value] of Object.entries(root)) {
        if (!isObject(value)) continue;
        const v = evpnVni(value, key);
        if (v) out.push(v);
      }
    }
  } else {
    throw new FrrJsonError(CMD_EVPN_VNI, `expected a JSON object or array, got ${describe(root)}`);
  }
  return out.sort((a, b) => a.vni - b.vni);
}

// ---------------------------------------------------------------------------------------------------------
// show vrf vni json

/** `show vrf vni json`: `{"vrfs":[{vrf, vni, vxlanIntf, sviIntf, state, routerMac}]}`; `{"vrfs":[]}` -> []. */
export function parseVrfVni(text: string): VrfVni[] {
  const root = parseObject(text, CMD_VRF_VNI);
  const vrfs = root.vrfs;
  if (vrfs === undefined) return [];
  if (!Array.isArray(vrfs)) throw new FrrJsonError(CMD_VRF_VNI, `expected "vrfs" to be an array, got ${describe(vrfs)}`);
  const out: VrfVni[] = [];
  for (const raw of vrfs) {
    if (!isObject(raw)) continue;
    const vni = toNumber(raw.vni);
    if (vni === null) continue;
    const entry: VrfVni = { vrf: str(raw.vrf) ?? '', vni, state: str(raw.state) ?? '' };
    const routerMac = str(raw.routerMac);
    if (routerMac !== undefined) entry.routerMac = routerMac;
    const vxlanIf = firstStr(raw, 'vxlanIntf', 'vxlanIf');
    if (vxlanIf !== undefined) entry.vxlanIf = vxlanIf;
    const sviIf = firstStr(raw, 'sviIntf', 'sviIf');
    if (sviIf !== undefined) entry.sviIf = sviIf;
    out.push(entry);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// show bgp l2vpn evpn route type prefix json

function bestPath(paths: unknown): JsonObject | undefined {
  // Quirk: `paths` is a list of lists (one inner list per path).
  if (!Array.isArray(paths)) return undefined;
  const flat = paths.flatMap((p: unknown) => (Array.isArray(p) ? (p as unknown[]) : [p])).filter(isObject);
  return flat.find((p) => p.bestpath === true) ?? flat[0];
}

/**
 * Every type-5 route, per RD, of `show bgp l2vpn evpn route type prefix json` (RD -> route key -> {prefix,
 * paths}; the `numPrefix`/`numPaths` keys beside the RDs and the `rd` key inside are metadata). Also
 * accepts the unfiltered `show bgp l2vpn evpn route json` and keeps only the `[5]:` routes.
 */
export function listType5Routes(text: string): EvpnType5Route[] {
  const root = parseObject(text, CMD_TYPE5);
  const out: EvpnType5Route[] = [];
  for (const [rdKey, rdNode] of Object.entries(root)) {
    if (!isObject(rdNode)) continue; // numPrefix, numPaths
    const rd = str(rdNode.rd) ?? rdKey;
    for (const [route, node] of Object.entries(rdNode)) {
      if (!isObject(node) || !route.startsWith('[5]:')) continue;
      const best = bestPath(node.paths);
      const entry: EvpnType5Route = { rd, route, local: best !== undefined && str(best.peerId) === '(unspec)' };
      if (best) {
        const ip = str(best.ip);
        const len = toNumber(best.ipLen);
        if (ip !== undefined && len !== null) entry.prefix = `${ip}/${len}`;
        const ecom = isObject(best.extendedCommunity) ? str(best.extendedCommunity.string) : undefined;
        const rmac = ecom === undefined ? undefined : /(?:^|\s)Rmac:(\S+)/.exec(ecom)?.[1];
        if (rmac !== undefined) entry.routerMac = rmac;
      }
      out.push(entry);
    }
  }
  return out;
}

/**
 * The number of DISTINCT type-5 route keys in `show bgp l2vpn evpn route type prefix json`: a prefix seen
 * under several RDs counts once (with an L3VNI in the default VRF, FRR re-advertises an imported prefix under
 * its own RD, so the same `[5]:[0]:[24]:[...]` appears under the peer's RD and ours). FRR's own `numPrefix`
 * counts (RD, route) pairs instead; use {@link listType5Routes} for those.
 */
export function countType5Prefixes(text: string): number {
  return new Set(listType5Routes(text).map((r) => r.route)).size;
}

// ---------------------------------------------------------------------------------------------------------
// show evpn rmac vni all json / show ip route vrf NAME summary json

const CMD_RMAC = 'show evpn rmac vni all json';
const CMD_ROUTE_SUMMARY = 'show ip route [vrf NAME] summary json';

/**
 * Remote VTEPs per L3 VNI, from the router MACs zebra learned (`show evpn rmac vni all json`: VNI ->
 * `{numRmacs, MAC: {routerMac, vtepIp}}`). `show evpn vni json` prints `"n/a"` as an L3 VNI's VTEP count,
 * so this is where an L3 VNI's remote VTEPs are. Empty output (no VNI): {}.
 */
export function parseEvpnRmac(text: string): Record<number, string[]> {
  if (text.trim() === '') return {};
  const root = parseObject(text, CMD_RMAC);
  const out: Record<number, string[]> = {};
  for (const [vniKey, node] of Object.entries(root)) {
    const vni = Number(vniKey);
    if (!Number.isInteger(vni) || !isObject(node)) continue;
    const vteps = new Set<string>();
    for (const entry of Object.values(node)) {
      if (isObject(entry)) {
        const ip = str(entry.vtepIp);
        if (ip) vteps.add(ip);
      }
    }
    out[vni] = [...vteps].sort();
  }
  return out;
}

/**
 * Route counts of one table (`show ip route [vrf NAME] summary json`: `{routes: [{type, rib, fib}], routesTotal}`).
 * BGP routes are listed as `ebgp` and `ibgp` entries; `bgp` sums them (and a plain `bgp` entry, if any).
 */
export function parseRouteSummary(text: string): { total: number; bgp: number } {
  if (text.trim() === '') return { total: 0, bgp: 0 };
  const root = parseObject(text, CMD_ROUTE_SUMMARY);
  let bgp = 0;
  if (Array.isArray(root.routes)) {
    for (const r of root.routes) {
      if (isObject(r) && typeof r.type === 'string' && /^(?:e|i)?bgp$/.test(r.type)) bgp += num0(r.rib);
    }
  }
  return { total: num0(root.routesTotal), bgp };
}

// ---------------------------------------------------------------------------------------------------------
// show running-config

/** Top-level header lines FRR prints (or a rendered frr.conf carries) that are not part of the compared config. */
const HEADER_LINE =
  /^(?:Building configuration\.\.\.|Current configuration:|end|frr version\s.*|frr defaults\s.*|hostname\s.*|log\s.*|no ip forwarding|no ipv6 forwarding|service integrated-vtysh-config)$/;

/** Block terminators: FRR 8.4 prints them, a hand-written or rendered frr.conf may leave them out. */
const BLOCK_END = /^(?:exit|exit-vrf|exit-address-family)$/;

/**
 * `show running-config` text (not JSON) reduced to the configuration lines, indentation kept, so that the
 * same function applied to a rendered frr.conf gives the same lines when FRR runs that config. Dropped:
 * FRR's header (`Building configuration...`, `Current configuration:`, `frr version`, `frr defaults`,
 * `hostname`, `log ...`, `no ip forwarding`, `no ipv6 forwarding`, `service integrated-vtysh-config`,
 * `end`), blank lines, comment lines (`!` or `#`, so also the `!` separators), block terminators (`exit`,
 * `exit-vrf`, `exit-address-family`) and trailing whitespace.
 *
 * Quirk: FRR 8.4 prints the default VRF's L3VNI (`vrf default` / ` vni 1016` in the input) as a top-level
 * `vni 1016` among the header lines, before `no ip forwarding`. So a `vrf default` block is flattened (its
 * lines dedented to the top level) and top-level `vni` lines are moved to the front.
 *
 * Throws FrrJsonError when vtysh printed an error (a line starting with `%`).
 */
export function parseRunningConfig(text: string): string[] {
  const vniLines: string[] = [];
  const out: string[] = [];
  let inDefaultVrf = false;
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trimEnd();
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('!') || trimmed.startsWith('#')) continue;
    if (trimmed.startsWith('%')) throw new FrrJsonError(CMD_RUNNING, `vtysh printed an error: ${JSON.stringify(trimmed)}`);
    const indented = /^\s/.test(line);
    if (!indented) inDefaultVrf = false;
    if (!indented && trimmed === 'vrf default') {
      inDefaultVrf = true;
      continue;
    }
    if (BLOCK_END.test(trimmed)) continue;
    if (!indented && HEADER_LINE.test(trimmed)) continue;
    if (inDefaultVrf && indented) {
      // Dedent by the block's one level (FRR indents with one space per level).
      line = line.replace(/^\s/, '');
    }
    if (/^vni\s/.test(line)) vniLines.push(line);
    else out.push(line);
  }
  return [...vniLines, ...out];
}
