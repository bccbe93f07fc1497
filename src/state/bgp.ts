/** Parsers of bgpd's `show bgp ... json` outputs: sessions per VRF and address family, neighbours' detail. */
import { isObject, parseObject, toNumber, num0, optNumber, toAsn, str } from './json.ts';
import type { JsonObject, OpenString } from './json.ts';

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
  /**
   * Address families for which this bgpd has sent End-of-RIB to the peer on the current session
   * (`gracefulRestartInfo.endOfRibSend`; FRR sends it after its updates, and only to a peer with the graceful-restart
   * capability); empty when not Established.
   */
  eorSentAfis: string[];
  /** `externalBgpNbrMaxHopsAway` (eBGP only): 1 without ebgp-multihop, N with `ebgp-multihop N`. */
  ebgpMultihop?: number;
}

const CMD_SUMMARY = 'show bgp [vrf all] [AFI] summary json';
const CMD_EVPN_SUMMARY = 'show bgp l2vpn evpn summary json';
const CMD_NEIGHBORS = 'show bgp [vrf all] neighbors json';

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
  const grInfo = isObject(raw.gracefulRestartInfo) ? raw.gracefulRestartInfo : undefined;
  const eorSent = grInfo && isObject(grInfo.endOfRibSend) ? grInfo.endOfRibSend : {};
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
    eorSentAfis: established
      ? Object.entries(eorSent)
          .filter(([, v]) => v === true)
          .map(([k]) => k)
      : [],
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
