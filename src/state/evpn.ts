/** Parsers of zebra's EVPN outputs: VNIs, their VRFs, and the router MACs (remote VTEPs) of the L3 VNIs. */
import { FrrJsonError, isObject, parseObject, parseText, describe, toNumber, str, firstStr } from './json.ts';
import type { JsonObject, OpenString } from './json.ts';

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

const CMD_EVPN_VNI = 'show evpn vni [detail|VNI] json';
const CMD_VRF_VNI = 'show vrf vni json';

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
// show evpn rmac vni all json

const CMD_RMAC = 'show evpn rmac vni all json';

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
