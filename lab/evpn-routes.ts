/**
 * EVPN type-5 routes as the demo and the tests read them (`show bgp l2vpn evpn route type prefix json`); the
 * supervisor itself counts imported routes from zebra's route summary and never reads this large output.
 */
import { isObject, parseObject, str, toNumber } from '../src/state/json.ts';
import type { JsonObject } from '../src/state/json.ts';

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

const CMD_TYPE5 = 'show bgp l2vpn evpn route type prefix json';

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
