/** Parsers of zebra's route outputs. */
import { isObject, parseObject, num0 } from './json.ts';

const CMD_ROUTE_SUMMARY = 'show ip route [vrf NAME] summary json';

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
