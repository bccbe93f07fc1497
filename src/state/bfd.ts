/** Parser of bfdd's `show bfd peers json` (FRR 8.4.4; real outputs in test/fixtures/frr-json/bfd/). */
import { FrrJsonError, isObject, num0, optNumber, parseText, str } from './json.ts';
import type { OpenString } from './json.ts';

export const CMD_BFD_PEERS = 'show bfd peers json';

/** One BFD session of bfdd. */
export interface BfdPeer {
  peer: string;
  /**
   * The local address; '' when FRR prints none. Quirk (8.4.4): a configured single-hop session (`peer X` without
   * `local-address`) never shows `local` or `interface`, even while bgpd uses it; a dynamic one (created by bgpd)
   * shows both.
   */
  local: string;
  /** The interface; '' when FRR prints none (multihop sessions, configured single-hop sessions). */
  iface: string;
  vrf: string;
  multihop: boolean;
  /** FRR's `status`: 'up', 'down', 'init', 'adm-down'. */
  status: 'up' | 'down' | 'init' | 'adm-down' | OpenString;
  up: boolean;
  /** Seconds since the session came up (`uptime`; FRR prints it only while up, `downtime` otherwise); 0 when not up. */
  uptimeSeconds: number;
  /** Seconds since it went down (`downtime`); 0 while up. */
  downtimeSeconds: number;
  /** Why it last went down (`diagnostic`, e.g. 'control detection time expired'), 'ok' if never. */
  diagnostic: string;
  passive: boolean;
  /** Configured locally, milliseconds. */
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
  /** What the peer announced (FRR shows 1000 ms before it heard from the peer). */
  remoteReceiveIntervalMs: number;
  remoteTransmitIntervalMs: number;
  remoteDetectMultiplier: number;
  /**
   * Negotiated while up (RFC 5880 6.8.2, 6.8.4): the packets sent every max(local transmit, remote receive) ms; the
   * session is declared down after remote multiplier x max(local receive, remote transmit) ms without a packet.
   */
  negotiated?: { transmitMs: number; receiveMs: number; detectTimeMs: number };
}

/**
 * Parses `show bfd peers json`: a JSON array of sessions (`[\n]` when there is none; empty text taken as none too).
 * Throws FrrJsonError for anything else.
 */
export function parseBfdPeers(text: string): BfdPeer[] {
  const value = parseText(text, CMD_BFD_PEERS);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new FrrJsonError(CMD_BFD_PEERS, 'expected a JSON array of sessions');
  const out: BfdPeer[] = [];
  for (const item of value) {
    if (!isObject(item)) continue;
    const peer = str(item.peer);
    if (peer === undefined) continue;
    const status = str(item.status) ?? 'unknown';
    const up = status === 'up';
    const s: BfdPeer = {
      peer,
      local: str(item.local) ?? '',
      iface: str(item.interface) ?? '',
      vrf: str(item.vrf) ?? 'default',
      multihop: item.multihop === true,
      status,
      up,
      uptimeSeconds: up ? num0(item.uptime) : 0,
      downtimeSeconds: up ? 0 : num0(item.downtime),
      diagnostic: str(item.diagnostic) ?? '',
      passive: item['passive-mode'] === true,
      receiveIntervalMs: num0(item['receive-interval']),
      transmitIntervalMs: num0(item['transmit-interval']),
      detectMultiplier: num0(item['detect-multiplier']),
      remoteReceiveIntervalMs: num0(item['remote-receive-interval']),
      remoteTransmitIntervalMs: num0(item['remote-transmit-interval']),
      remoteDetectMultiplier: num0(item['remote-detect-multiplier']),
    };
    const remoteMult = optNumber(item['remote-detect-multiplier']);
    if (up && remoteMult !== undefined) {
      const receiveMs = Math.max(s.receiveIntervalMs, s.remoteTransmitIntervalMs);
      s.negotiated = {
        transmitMs: Math.max(s.transmitIntervalMs, s.remoteReceiveIntervalMs),
        receiveMs,
        detectTimeMs: remoteMult * receiveMs,
      };
    }
    out.push(s);
  }
  return out;
}

/** A neighbour's BFD session in a VRF (an up one first, when a stale one of the other hop mode is left). */
export function bfdSessionFor(sessions: readonly BfdPeer[], neighbour: string, vrf = 'default'): BfdPeer | undefined {
  const mine = sessions.filter((s) => s.peer === neighbour && s.vrf === vrf);
  return mine.find((s) => s.up) ?? mine[0];
}
