/**
 * The fixed set of line shapes frr-templates/*.tmpl can produce, one regex per template line (with the
 * template's indentation), and a checker that rejects a rendering with any other line. With a Spec, each
 * line's variable parts are also checked against the Spec: a well-formed but foreign line (say, an injected
 * `neighbor X remote-as Y` for an X that is not a configured neighbour) fails too.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Spec } from '../../src/config/types.ts';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
/** Canonical (RFC 5952, lowercase hex) IPv6 as the renderer prints it; isIPv6 confirms. */
const IPV6 = '[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}';
const ADDR = `(?:${IPV4}|${IPV6})`;
const CIDR = `(?:${IPV4}/(?:3[0-2]|[12]?\\d)|${IPV6}/(?:12[0-8]|1[01]\\d|[1-9]?\\d))`;
const ASN = '[1-9]\\d{0,9}';
const NUM = '(?:0|[1-9]\\d{0,9})';
const NAME = '[A-Za-z0-9_.-]{1,15}';
const PASSWORD = '[\\x21\\x23-\\x26\\x28-\\x7e]{1,80}';
const RT = `(?:${ASN}|${IPV4}):${NUM}`;
const MAP = 'FRRSUP-EXPORT-V[46]';

type Groups = Record<string, string>;
type Check = (g: Groups, spec: Spec) => string | undefined;

export interface LineShape {
  name: string;
  re: RegExp;
  check?: Check;
}

const shape = (name: string, src: string, check?: Check): LineShape => ({ name, re: new RegExp(`^${src}$`), ...(check && { check }) });

const isNeighbour: Check = (g, s) => (s.bgp.neighbours.includes(g.addr ?? '') ? undefined : `${g.addr} is not a configured neighbour`);
const eq = (what: string, got: string | undefined, want: string | number | undefined): string | undefined =>
  got === String(want) ? undefined : `${what} ${JSON.stringify(got)} differs from the spec's ${JSON.stringify(want)}`;
const all =
  (...checks: Check[]): Check =>
  (g, s) => {
    for (const c of checks) {
      const r = c(g, s);
      if (r) return r;
    }
    return undefined;
  };

/** The route distinguisher the renderer must use (src/render/frr-conf.ts), restated. */
export const expectedRd = (spec: Spec): string | undefined =>
  spec.evpn && `${spec.bgp.routerId}:${spec.evpn.vni <= 65535 ? spec.evpn.vni : spec.evpn.vni % 65536}`;

/** The anchor the renderer must advertise and route (changeDrain.anchors; src/render/frr-conf.ts), restated. */
export const expectedAnchor = (spec: Spec): string | undefined => {
  const range = spec.evpn && spec.gateway.changeDrain.anchors;
  if (!range) return undefined;
  const [net = '', len = '32'] = range.split('/');
  const toInt = (a: string): number => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const n = toInt(net) + (toInt(spec.bgp.routerId) % 2 ** (32 - Number(len)));
  return `${[24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.')}/32`;
};

export const LINE_SHAPES: readonly LineShape[] = [
  // frr.conf.tmpl
  shape('frr defaults', 'frr defaults traditional'),
  shape('integrated config', 'service integrated-vtysh-config'),
  shape('separator', '!'),
  shape('vrf', `vrf (?<name>${NAME})`, (g, s) => (s.evpn ? eq('vrf', g.name, s.gateway.vrf.name) : 'a vrf block without EVPN')),
  shape('vrf vni', ` vni (?<vni>${NUM})`, (g, s) => eq('vni', g.vni, s.evpn?.vni)),
  shape('vrf anchor route', ` ip route (?<cidr>${CIDR}) blackhole`, (g, s) => eq('anchor', g.cidr, expectedAnchor(s))),
  shape('exit-vrf', 'exit-vrf'),
  shape('router bgp', `router bgp (?<asn>${ASN})`, (g, s) => eq('local AS', g.asn, s.bgp.localAsn)),
  shape('router-id', ` bgp router-id (?<id>${IPV4})`, (g, s) => eq('router id', g.id, s.bgp.routerId)),
  shape('no ebgp-requires-policy', ' no bgp ebgp-requires-policy'),
  shape('no default ipv4-unicast', ' no bgp default ipv4-unicast'),
  shape('graceful-restart', ' bgp graceful-restart', (_g, s) =>
    s.gateway.gracefulRestart ? undefined : 'graceful restart is off in the spec',
  ),
  shape('graceful-restart fw', ' bgp graceful-restart preserve-fw-state', (_g, s) =>
    s.gateway.gracefulRestart ? undefined : 'graceful restart is off in the spec',
  ),
  shape(
    'remote-as',
    ` neighbor (?<addr>${ADDR}) remote-as (?<asn>${ASN})`,
    all(isNeighbour, (g, s) => eq('peer AS', g.asn, s.bgp.peerAsn)),
  ),
  shape(
    'password',
    ` neighbor (?<addr>${ADDR}) password (?<pw>${PASSWORD})`,
    all(isNeighbour, (g, s) => eq('password', g.pw, s.bgp.password)),
  ),
  shape(
    'ebgp-multihop',
    ` neighbor (?<addr>${ADDR}) ebgp-multihop 255`,
    all(isNeighbour, (_g, s) => (s.bgp.ebgpMultiHop ? undefined : 'ebgpMultiHop is off in the spec')),
  ),
  shape(
    'timers',
    ` neighbor (?<addr>${ADDR}) timers (?<ka>${NUM}) (?<hold>${NUM})`,
    all(isNeighbour, (g, s) => eq('keepalive', g.ka, s.bgp.keepaliveTime) ?? eq('hold time', g.hold, s.bgp.holdTime)),
  ),
  shape(
    'timers connect',
    ` neighbor (?<addr>${ADDR}) timers connect (?<t>${NUM})`,
    all(isNeighbour, (g, s) => eq('connect time', g.t, s.bgp.connectTime)),
  ),
  shape('af separator', ' !'),
  shape('af l2vpn', ' address-family l2vpn evpn', (_g, s) => (s.evpn ? undefined : 'l2vpn evpn without EVPN')),
  shape('activate (evpn)', ` {2}neighbor (?<addr>${ADDR}) activate`, isNeighbour),
  shape('advertise-all-vni', '  advertise-all-vni'),
  shape('exit-address-family', ' exit-address-family'),
  shape('exit', 'exit'),
  shape(
    'router bgp vrf',
    `router bgp (?<asn>${ASN}) vrf (?<name>${NAME})`,
    (g, s) => eq('local AS', g.asn, s.bgp.localAsn) ?? eq('vrf', g.name, s.gateway.vrf.name),
  ),
  shape('advertise ipv4', '  advertise ipv4 unicast'),
  shape('advertise ipv6', '  advertise ipv6 unicast'),
  shape('rd', `  rd (?<rd>${IPV4}:${NUM})`, (g, s) => eq('rd', g.rd, expectedRd(s))),
  shape('route-target', `  route-target (?:import|export) (?<rt>${RT})`, (g, s) =>
    s.evpn?.routeTargets.includes(g.rt ?? '') ? undefined : `route target ${g.rt} is not in the spec`,
  ),
  shape('v4 prefix-list', 'ip prefix-list FRRSUP-V4-NO-DEFAULT seq 5 permit 0\\.0\\.0\\.0/0 ge 1 le 32'),
  shape('v6 prefix-list', 'ipv6 prefix-list FRRSUP-V6-NO-DEFAULT seq 5 permit ::/0 ge 1 le 128'),
  shape('route-map', `route-map ${MAP} permit 10`),
  shape('match v4', ' match ip address prefix-list FRRSUP-V4-NO-DEFAULT'),
  shape('match v6', ' match ipv6 address prefix-list FRRSUP-V6-NO-DEFAULT'),
  shape('end', 'end'),
  // BFD (gateway.yaml bfd)
  shape(
    'neighbor bfd',
    ` neighbor (?<addr>${ADDR}) bfd`,
    all(isNeighbour, (_g, s) => (s.gateway.bfd ? undefined : 'bfd is off in the spec')),
  ),
  shape(
    'neighbor bfd profile',
    ` neighbor (?<addr>${ADDR}) bfd profile FRRSUP-BFD`,
    all(isNeighbour, (_g, s) => (s.gateway.bfd && s.bgp.ebgpMultiHop ? undefined : 'a bfd profile without BFD on multihop neighbours')),
  ),
  shape('bfd', 'bfd', (_g, s) => (s.gateway.bfd ? undefined : 'a bfd block with bfd off')),
  shape('bfd profile', ' profile FRRSUP-BFD'),
  shape('bfd detect-multiplier', `  detect-multiplier (?<n>${NUM})`, (g, s) =>
    eq('detect-multiplier', g.n, s.gateway.bfd?.detectMultiplier),
  ),
  shape('bfd transmit-interval', `  transmit-interval (?<n>${NUM})`, (g, s) =>
    eq('transmit-interval', g.n, s.gateway.bfd?.transmitInterval),
  ),
  shape('bfd receive-interval', `  receive-interval (?<n>${NUM})`, (g, s) => eq('receive-interval', g.n, s.gateway.bfd?.receiveInterval)),
  shape('bfd passive-mode', '  passive-mode', (_g, s) => (s.gateway.bfd?.passiveMode ? undefined : 'passive-mode off in the spec')),
  shape('bfd echo-mode', '  echo-mode', (_g, s) => (s.gateway.bfd?.echoMode ? undefined : 'echo-mode off in the spec')),
  shape('bfd minimum-ttl', `  minimum-ttl (?<n>${NUM})`, (g, s) => eq('minimum-ttl', g.n, s.gateway.bfd?.minimumTtl)),
  shape('bfd exit', ' exit'),
  shape(
    'bfd peer',
    ` peer (?<addr>${ADDR})`,
    all(isNeighbour, (_g, s) =>
      s.gateway.bfd && !s.bgp.ebgpMultiHop ? undefined : 'a configured BFD peer without BFD on single-hop neighbours',
    ),
  ),
  shape('bfd peer profile', '  profile FRRSUP-BFD'),
  // address-family.tmpl
  shape('af unicast', ' address-family (?:ipv4|ipv6) unicast'),
  shape('network', `  network (?<cidr>${CIDR})`, (g, s) =>
    s.gateway.advertise?.includes(g.cidr ?? '') || g.cidr === expectedAnchor(s)
      ? undefined
      : `network ${g.cidr} is not in spec.gateway.advertise (nor the anchor)`,
  ),
  shape(
    'maximum-prefix',
    ` {2}neighbor (?<addr>${ADDR}) maximum-prefix (?<max>${NUM})`,
    all(isNeighbour, (g, s) =>
      s.gateway.maximumPrefix === 0
        ? 'maximum-prefix with maximumPrefix 0 (no limit)'
        : eq('maximum-prefix', g.max, s.gateway.maximumPrefix),
    ),
  ),
  shape('redistribute', `  redistribute (?:kernel|connected) route-map ${MAP}`, (_g, s) =>
    s.gateway.advertise === undefined ? undefined : 'redistribution with an advertise list',
  ),
];

/** Characters that must never appear in a rendering (besides the line feeds separating lines). */
const FORBIDDEN = /[^\x20-\x7e\n]|["']/;

/**
 * Every problem with a rendering: lines no template can produce, forbidden characters, lines that disagree with
 * the spec. Empty when the rendering is well-formed.
 */
export function checkRendering(text: string, spec?: Spec): string[] {
  const out: string[] = [];
  const bad = FORBIDDEN.exec(text);
  if (bad) out.push(`forbidden character ${JSON.stringify(bad[0])} at offset ${bad.index}`);
  if (!text.endsWith('\nend\n')) out.push(`does not end with "end" and a newline: ${JSON.stringify(text.slice(-40))}`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const remoteAs = new Set<string>();
  lines.forEach((line, i) => {
    const where = `line ${i + 1} ${JSON.stringify(line.length > 120 ? line.slice(0, 120) + '…' : line)}`;
    const s = LINE_SHAPES.find((sh) => sh.re.test(line));
    if (!s) return void out.push(`${where}: matches no template line shape`);
    const g: Groups = s.re.exec(line)?.groups ?? {};
    for (const v of [g.addr, g.id]) if (v !== undefined && !isIPv4(v) && !isIPv6(v)) out.push(`${where}: ${v} is not an IP address`);
    if (g.cidr !== undefined && !isIPv4(g.cidr.split('/')[0]!) && !isIPv6(g.cidr.split('/')[0]!))
      out.push(`${where}: ${g.cidr} is not a CIDR`);
    for (const n of [g.asn, g.vni, g.ka, g.hold, g.t, g.max])
      if (n !== undefined && Number(n) > 4294967295) out.push(`${where}: ${n} is out of range`);
    if (spec && s.check) {
      const r = s.check(g, spec);
      if (r) out.push(`${where}: ${r}`);
    }
    if (s.name === 'remote-as' && g.addr) remoteAs.add(g.addr);
  });
  if (spec) {
    const missing = spec.bgp.neighbours.filter((n) => !remoteAs.has(n));
    if (missing.length > 0 || remoteAs.size !== spec.bgp.neighbours.length)
      out.push(`neighbours rendered (${[...remoteAs].join(' ')}) differ from the spec's (${spec.bgp.neighbours.join(' ')})`);
  }
  return out;
}
