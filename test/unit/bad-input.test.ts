/**
 * Bad input, table-driven: every case must exit 1 with nothing on stdout and an error line naming the file
 * (or environment variable) and the field. `render` is used so that "nothing on stdout" means nothing rendered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';

const BGP = `localASN: 65002
peerASN: 65001
routerId: 10.0.1.13
neighbours: [10.0.1.1]
`;
const bgp = (extra: string): string => BGP + extra;
const bgpWith = (field: string, value: string): string =>
  BGP.split('\n')
    .filter((l) => !l.startsWith(`${field}:`))
    .join('\n') + `\n${field}: ${value}\n`;
const EVPN = `vni: 1016\nrouteTargets: ["65000:1016"]\n`;

interface Case {
  name: string;
  files?: Record<string, string>;
  /** Extra setup in the config dir (symlinks, directories). */
  setup?: (dir: string) => void;
  env?: Record<string, string>;
  args?: string[];
  /** Substrings that must appear together on one stderr line starting with `error: `. */
  expect: string;
}

const cases: Case[] = [
  // required fields and types
  {
    name: 'missing localASN',
    files: { 'bgp-conf.yaml': 'peerASN: 65001\nrouterId: 10.0.1.13\nneighbours: [10.0.1.1]\n' },
    expect: 'bgp-conf.yaml: localASN: is required',
  },
  {
    name: 'missing peerASN',
    files: { 'bgp-conf.yaml': 'localASN: 65002\nrouterId: 10.0.1.13\nneighbours: [10.0.1.1]\n' },
    expect: 'bgp-conf.yaml: peerASN: is required',
  },
  {
    name: 'missing neighbours',
    files: { 'bgp-conf.yaml': 'localASN: 65002\npeerASN: 65001\nrouterId: 10.0.1.13\n' },
    expect: 'bgp-conf.yaml: neighbours: is required',
  },
  {
    name: 'empty neighbours',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '[]') },
    expect: 'bgp-conf.yaml: neighbours: must list at least one',
  },
  {
    name: 'neighbours not a list',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '10.0.1.1') },
    expect: 'bgp-conf.yaml: neighbours: must be a list',
  },
  {
    name: 'ASN as a quoted string',
    files: { 'bgp-conf.yaml': bgpWith('localASN', '"65002"') },
    expect: 'bgp-conf.yaml: localASN: must be an AS number',
  },
  {
    name: 'ASN zero',
    files: { 'bgp-conf.yaml': bgpWith('peerASN', '0') },
    expect: 'bgp-conf.yaml: peerASN: must be an AS number, an integer 1..4294967295',
  },
  {
    name: 'ASN too large',
    files: { 'bgp-conf.yaml': bgpWith('localASN', '4294967296') },
    expect: 'bgp-conf.yaml: localASN: must be an AS number',
  },
  {
    name: 'ASN fractional',
    files: { 'bgp-conf.yaml': bgpWith('localASN', '65002.5') },
    expect: 'bgp-conf.yaml: localASN: must be an AS number',
  },
  {
    name: 'ASN asdot',
    files: { 'bgp-conf.yaml': bgpWith('localASN', '"1.10"') },
    expect: 'bgp-conf.yaml: localASN: asdot notation "1.10" is not accepted',
  },
  {
    name: 'ebgpMultiHop as a string',
    files: { 'bgp-conf.yaml': bgp('ebgpMultiHop: "true"\n') },
    expect: 'bgp-conf.yaml: ebgpMultiHop: must be true or false',
  },
  // addresses
  {
    name: 'neighbour with CIDR',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '[10.0.1.1/24]') },
    expect: 'bgp-conf.yaml: neighbours[0]: "10.0.1.1/24" is not a valid neighbour IP address: an address without a prefix length',
  },
  {
    name: 'neighbour with zone id',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '["fe80::1%net1"]') },
    expect: 'bgp-conf.yaml: neighbours[0]: "fe80::1%net1" is not a valid neighbour IP address: zone ids',
  },
  {
    name: 'neighbour not an IP',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '[10.0.1.1, router.example]') },
    expect: 'bgp-conf.yaml: neighbours[1]: "router.example" is not a valid',
  },
  {
    name: 'neighbour link-local',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '["fe80::1"]') },
    expect: 'bgp-conf.yaml: neighbours[0]: "fe80::1": a link-local address',
  },
  {
    name: 'duplicate neighbours',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '["fd00::1", "fd00:0:0::1"]') },
    expect: 'bgp-conf.yaml: neighbours[1]: fd00::1 is listed twice',
  },
  {
    name: 'neighbour equals router id',
    files: { 'bgp-conf.yaml': bgpWith('neighbours', '[10.0.1.13]') },
    expect: 'bgp-conf.yaml: neighbours[0]: 10.0.1.13 equals the router id',
  },
  {
    name: 'router id IPv6',
    files: { 'bgp-conf.yaml': bgpWith('routerId', '"fd00::13"') },
    expect: 'bgp-conf.yaml: routerId: "fd00::13" must be an IPv4 address',
  },
  {
    name: 'router id missing and no default',
    files: {
      'bgp-conf.yaml': 'localASN: 65002\npeerASN: 65001\nneighbours: [10.0.1.1]\n',
      'gateway.yaml': 'externalInterface: frrsup-none0\n',
    },
    env: { POD_IP: 'fd00::13' },
    expect:
      'bgp-conf.yaml: routerId: is not set, POD_IP ("fd00::13") is not a usable IPv4 address, and the external interface frrsup-none0 has no global IPv4 address',
  },
  // durations
  {
    name: 'duration unparsable',
    files: { 'bgp-conf.yaml': bgp('holdTime: 90 seconds\n') },
    expect: 'bgp-conf.yaml: holdTime: "90 seconds" is not a duration',
  },
  {
    name: 'duration as a number',
    files: { 'bgp-conf.yaml': bgp('holdTime: 90\n') },
    expect: 'bgp-conf.yaml: holdTime: must be a duration string',
  },
  {
    name: 'duration negative',
    files: { 'bgp-conf.yaml': bgp('connectTime: -10s\n') },
    expect: 'bgp-conf.yaml: connectTime: "-10s": a negative duration',
  },
  {
    name: 'duration fractional seconds',
    files: { 'bgp-conf.yaml': bgp('keepaliveTime: 1500ms\n') },
    expect: 'bgp-conf.yaml: keepaliveTime: "1500ms" is 1.5 s: FRR takes whole seconds',
  },
  {
    name: 'hold time 2s',
    files: { 'bgp-conf.yaml': bgp('holdTime: 2s\n') },
    expect: 'bgp-conf.yaml: holdTime: 2 s is not allowed: 0 (no keepalives) or 3..65535 s',
  },
  { name: 'hold time too long', files: { 'bgp-conf.yaml': bgp('holdTime: 19h\n') }, expect: 'bgp-conf.yaml: holdTime: "19h" is 68400 s' },
  {
    name: 'keepalive more than hold/3',
    files: { 'bgp-conf.yaml': bgp('holdTime: 90s\nkeepaliveTime: 31s\n') },
    expect: 'bgp-conf.yaml: keepaliveTime: 31 s is more than a third of holdTime (90 s)',
  },
  {
    name: 'keepalive zero',
    files: { 'bgp-conf.yaml': bgp('keepaliveTime: 0s\n') },
    expect: 'bgp-conf.yaml: keepaliveTime: "0s" is 0 s; allowed: 1..65535 s',
  },
  {
    name: 'connect zero',
    files: { 'bgp-conf.yaml': bgp('connectTime: "0"\n') },
    expect: 'bgp-conf.yaml: connectTime: "0" is 0 s; allowed: 1..65535 s',
  },
  // password
  {
    name: 'password with a space',
    files: { 'bgp-conf.yaml': bgp('password: two words\n') },
    expect: 'bgp-conf.yaml: password: must be one word of printable ASCII',
  },
  {
    name: 'password with quotes',
    files: { 'bgp-conf.yaml': bgp(`password: 'a"b'\n`) },
    expect: 'bgp-conf.yaml: password: must not contain quotes',
  },
  {
    name: 'password too long',
    files: { 'bgp-conf.yaml': bgp(`password: ${'x'.repeat(81)}\n`) },
    expect: 'bgp-conf.yaml: password: is 81 characters long; at most 80',
  },
  {
    name: 'password file with a newline inside',
    files: { 'bgp-conf.yaml': BGP, 'bgp-password': 'line1\nline2\n' },
    expect: 'bgp-password: must be one word of printable ASCII',
  },
  { name: 'password file empty', files: { 'bgp-conf.yaml': BGP, 'bgp-password': '\n' }, expect: 'bgp-password: must not be empty' },
  // injection
  {
    name: 'newline injection in a neighbour',
    files: {
      'bgp-conf.json': JSON.stringify({
        localASN: 65002,
        peerASN: 65001,
        routerId: '10.0.1.13',
        neighbours: ['10.0.1.1\n neighbor 6.6.6.6 remote-as 666'],
      }),
    },
    expect: 'bgp-conf.json: neighbours[0]:',
  },
  {
    name: 'newline injection in the password',
    files: {
      'bgp-conf.json': JSON.stringify({
        localASN: 65002,
        peerASN: 65001,
        routerId: '10.0.1.13',
        neighbours: ['10.0.1.1'],
        password: 'x\nline vty',
      }),
    },
    expect: 'bgp-conf.json: password: must be one word',
  },
  {
    name: 'injection in a VRF name',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'vrf: {name: "a b"}\n' },
    expect: 'gateway.yaml: vrf.name: must be a Linux interface name',
  },
  // EVPN
  {
    name: 'VNI zero',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 0\nrouteTargets: ["65000:1"]\n' },
    expect: 'evpn-conf.yaml: vni: must be a VXLAN network identifier, an integer 1..16777215',
  },
  {
    name: 'VNI too large',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 16777216\nrouteTargets: ["65000:1"]\n' },
    expect: 'evpn-conf.yaml: vni: must be a VXLAN network identifier',
  },
  {
    name: 'VNI missing',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'routeTargets: ["65000:1"]\n' },
    expect: 'evpn-conf.yaml: vni: is required',
  },
  {
    name: 'route targets empty',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 1016\nrouteTargets: []\n' },
    expect: 'evpn-conf.yaml: routeTargets: must list at least one',
  },
  {
    name: 'route target malformed',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 1016\nrouteTargets: ["65000"]\n' },
    expect: 'evpn-conf.yaml: routeTargets[0]: "65000" is not a route target',
  },
  {
    name: 'route target ASN2 local part too large',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 1016\nrouteTargets: ["65000:4294967296"]\n' },
    expect: 'evpn-conf.yaml: routeTargets[0]: "65000:4294967296": with a 2-byte AS number the local part must be 0..4294967295',
  },
  {
    name: 'route target ASN4 local part too large',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 1016\nrouteTargets: ["4200000000:65536"]\n' },
    expect: 'evpn-conf.yaml: routeTargets[0]: "4200000000:65536": with a 4-byte AS number the local part must be 0..65535',
  },
  {
    name: 'route target IPv4 local part too large',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': 'vni: 1016\nrouteTargets: ["10.0.1.13:70000"]\n' },
    expect: 'evpn-conf.yaml: routeTargets[0]: "10.0.1.13:70000": with an IPv4 address the local part must be 0..65535',
  },
  { name: 'EvpnConf without BgpConf', files: { 'evpn-conf.yaml': EVPN }, expect: 'evpn-conf.yaml: an EvpnConf needs a BgpConf' },
  {
    name: 'wrong kind in bgp-conf.yaml',
    files: { 'bgp-conf.yaml': `apiVersion: kubeovn.io/v1\nkind: EvpnConf\nspec:\n  ${EVPN.replace('\n', '\n  ')}` },
    expect: 'bgp-conf.yaml: kind: must be BgpConf',
  },
  {
    name: 'field path inside a whole resource',
    files: {
      'bgp-conf.yaml':
        'apiVersion: kubeovn.io/v1\nkind: BgpConf\nmetadata: {name: x}\nspec:\n  localASN: 65002\n  peerASN: 65001\n  routerId: 10.0.1.13\n  neighbours: [10.0.1.1, 10.0.1.1]\n',
    },
    expect: 'bgp-conf.yaml: spec.neighbours[1]: 10.0.1.1 is listed twice',
  },
  // gateway.yaml changeDrain (strict: an unknown key is an error)
  {
    name: 'changeDrain with a misspelt key',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'changeDrain: {slott: 10s}\n' },
    expect: 'gateway.yaml: changeDrain.slott: unknown field (known: enabled, slot, slots, settle, maxWait, anchors)',
  },
  {
    name: 'changeDrain slot not a duration',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'changeDrain: {slot: 10}\n' },
    expect: 'gateway.yaml: changeDrain.slot: must be a duration string',
  },
  {
    name: 'changeDrain slots out of range',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'changeDrain: {slots: 0}\n' },
    expect: 'gateway.yaml: changeDrain.slots:',
  },
  {
    name: 'changeDrain not a mapping',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'changeDrain: true\n' },
    expect: 'gateway.yaml: changeDrain: must be a mapping',
  },
  // gateway.yaml
  {
    name: 'advertise not a CIDR',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'advertise: [10.17.0.0]\n' },
    expect: 'gateway.yaml: advertise[0]: "10.17.0.0" is not a valid CIDR',
  },
  {
    name: 'advertise with host bits',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'advertise: [10.17.0.1/16]\n' },
    expect: 'gateway.yaml: advertise[0]: "10.17.0.1/16" is not a valid CIDR: host bits are set; the network is 10.17.0.0/16',
  },
  {
    name: 'reserved VRF table',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'vrf: {table: 254}\n' },
    expect: 'gateway.yaml: vrf.table: table 254 is reserved',
  },
  {
    name: 'vxlan port out of range',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'vxlan: {port: 70000}\n' },
    expect: 'gateway.yaml: vxlan.port: must be a UDP port',
  },
  // device names (the supervisor creates, enslaves and deletes devices by these names; ip reads a leading '-' as an option)
  {
    name: 'internal interface is the external interface (EVPN)',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': EVPN, 'gateway.yaml': 'externalInterface: net1\ninternalInterface: net1\n' },
    expect:
      'gateway.yaml: internalInterface: "net1" is also the externalInterface: with an EvpnConf the internal interface is enslaved to the VRF',
  },
  {
    name: 'internal interface named like the VRF',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'internalInterface: vrf-vpn\n' },
    expect: 'gateway.yaml: vrf.name: "vrf-vpn" is also the internalInterface: every device name',
  },
  {
    name: 'bridge named like the external interface',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': EVPN, 'gateway.yaml': 'bridge: {name: net1}\n' },
    expect: 'gateway.yaml: bridge.name: "net1" is also the externalInterface: every device name',
  },
  {
    name: 'vxlan named like the internal interface',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': EVPN, 'gateway.yaml': 'internalInterface: eth1\nvxlan: {name: eth1}\n' },
    expect: 'gateway.yaml: vxlan.name: "eth1" is also the internalInterface',
  },
  {
    name: 'interface name starting with a dash',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'externalInterface: "-net1"\n' },
    expect: 'gateway.yaml: externalInterface: must not start with \'-\' (ip and bridge would read it as an option); got the string "-net1"',
  },
  {
    name: 'VRF name is an ip option',
    files: { 'bgp-conf.yaml': BGP, 'evpn-conf.yaml': EVPN, 'gateway.yaml': 'vrf: {name: "-force"}\n' },
    expect: "gateway.yaml: vrf.name: must not start with '-'",
  },
  {
    name: 'maximumPrefix negative',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'maximumPrefix: -1\n' },
    expect:
      'gateway.yaml: maximumPrefix: must be a prefix count per neighbour and address family (0 = no limit), an integer 0..4294967295; got -1',
  },
  {
    name: 'maximumPrefix as a string',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'maximumPrefix: "10000"\n' },
    expect:
      'gateway.yaml: maximumPrefix: must be a prefix count per neighbour and address family (0 = no limit), an integer 0..4294967295; got the string "10000" (write 10000 without quotes',
  },
  // BFD (gateway.yaml bfd)
  {
    name: 'bfd not a mapping',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: true\n' },
    expect: 'gateway.yaml: bfd: must be a mapping; got boolean true',
  },
  {
    name: 'bfd.enabled not a boolean',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: "yes"}\n' },
    expect: 'gateway.yaml: bfd.enabled: must be true or false; got the string "yes"',
  },
  {
    name: 'bfd.receiveInterval below 10 ms',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, receiveInterval: 5}\n' },
    expect: 'gateway.yaml: bfd.receiveInterval: must be an interval in milliseconds, an integer 10..60000; got 5',
  },
  {
    name: 'bfd.transmitInterval above 60000 ms',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, transmitInterval: 60001}\n' },
    expect: 'gateway.yaml: bfd.transmitInterval: must be an interval in milliseconds, an integer 10..60000; got 60001',
  },
  {
    name: 'bfd.transmitInterval as a duration string',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, transmitInterval: 300ms}\n' },
    expect: 'gateway.yaml: bfd.transmitInterval: must be an interval in milliseconds, an integer 10..60000; got the string "300ms"',
  },
  {
    name: 'bfd.detectMultiplier 1',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, detectMultiplier: 1}\n' },
    expect: 'gateway.yaml: bfd.detectMultiplier: must be a detection multiplier, an integer 2..255; got 1',
  },
  {
    name: 'bfd.echoMode not a boolean',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, echoMode: 1}\n' },
    expect: 'gateway.yaml: bfd.echoMode: must be true or false; got number 1',
  },
  {
    name: 'bfd.passiveMode not a boolean',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, passiveMode: null2}\n' },
    expect: 'gateway.yaml: bfd.passiveMode: must be true or false',
  },
  {
    name: 'bfd.minimumTtl 255',
    files: { 'bgp-conf.yaml': bgp('ebgpMultiHop: true\n'), 'gateway.yaml': 'bfd: {enabled: true, minimumTtl: 255}\n' },
    expect: 'gateway.yaml: bfd.minimumTtl: must be a minimum TTL, an integer 1..254; got 255',
  },
  {
    name: 'bfd.minimumTtl without ebgpMultiHop',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: true, minimumTtl: 250}\n' },
    expect: 'gateway.yaml: bfd.minimumTtl: applies only to multihop BFD sessions: set ebgpMultiHop: true',
  },
  {
    name: 'bfd: a bad value is an error even with enabled false',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'bfd: {enabled: false, detectMultiplier: 300}\n' },
    expect: 'gateway.yaml: bfd.detectMultiplier: must be a detection multiplier, an integer 2..255; got 300',
  },
  {
    name: 'maximumPrefix too large',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'maximumPrefix: 4294967296\n' },
    expect: 'gateway.yaml: maximumPrefix: must be a prefix count',
  },
  {
    name: 'unknown vrf backend',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'vrfBackend: vrrp\n' },
    expect: 'gateway.yaml: vrfBackend: must be "kernel" or "netns"',
  },
  // file-level problems
  {
    name: 'YAML syntax error with line and column',
    files: { 'bgp-conf.yaml': 'localASN: 65002\npeerASN: [65001\n' },
    expect: 'bgp-conf.yaml: YAML syntax error at line',
  },
  { name: 'JSON syntax error', files: { 'bgp-conf.json': '{"localASN": 65002,,}' }, expect: 'bgp-conf.json: JSON syntax error' },
  {
    name: 'duplicate YAML key',
    files: { 'bgp-conf.yaml': BGP + 'localASN: 65003\n' },
    expect: 'bgp-conf.yaml: duplicate key "localASN" at line 5, column 1',
  },
  {
    name: 'duplicate JSON key',
    files: { 'bgp-conf.json': '{"localASN": 65002, "localASN": 65003}' },
    expect: 'bgp-conf.json: duplicate key "localASN" at line 1',
  },
  {
    name: 'nesting too deep (would overflow the parser)',
    files: { 'bgp-conf.yaml': '['.repeat(5000) },
    expect: 'bgp-conf.yaml: the document is nested more than 64 levels deep',
  },
  {
    name: 'loopback POD_IP is no router id',
    files: {
      'bgp-conf.yaml': 'localASN: 65002\npeerASN: 65001\nneighbours: [10.0.1.1]\n',
      'gateway.yaml': 'externalInterface: frrsup-none0\n',
    },
    env: { POD_IP: '127.0.0.1' },
    expect: 'routerId: is not set, POD_IP ("127.0.0.1") is not a usable IPv4 address',
  },
  {
    name: 'vrf named default',
    files: { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'vrf: {name: default}\n' },
    expect: 'gateway.yaml: vrf.name: "default" is FRR\'s default VRF',
  },
  {
    name: 'control characters in an unknown key cannot forge a line',
    files: { 'bgp-conf.yaml': 'localASN: 65002\n"x\\nerror: forged": 1\n' },
    expect: 'bgp-conf.yaml: peerASN: is required',
  },
  { name: 'empty file', files: { 'bgp-conf.yaml': '' }, expect: 'bgp-conf.yaml: the file is empty' },
  { name: 'file over 1 MiB', files: { 'bgp-conf.yaml': BGP + '#'.repeat(1024 * 1024) }, expect: 'bgp-conf.yaml: the file is' },
  {
    name: 'directory instead of a file',
    setup: (d) => mkdirSync(join(d, 'bgp-conf.yaml')),
    expect: 'bgp-conf.yaml: the file is not a regular file',
  },
  {
    name: 'symlink loop',
    setup: (d) => {
      symlinkSync('evpn-conf.yaml', join(d, 'bgp-conf.yaml'));
      symlinkSync('bgp-conf.yaml', join(d, 'evpn-conf.yaml'));
    },
    expect: 'bgp-conf.yaml: the file is a symlink loop',
  },
  {
    name: 'both yaml and json',
    files: { 'bgp-conf.yaml': BGP, 'bgp-conf.json': '{}' },
    expect: 'bgp-conf.yaml, bgp-conf.json: both files exist',
  },
  {
    name: 'BgpConf gracefulRestart not a boolean',
    files: { 'bgp-conf.yaml': bgpWith('gracefulRestart', '"yes"') },
    expect: 'bgp-conf.yaml: gracefulRestart: must be true or false; got',
  },
  { name: 'not a mapping', files: { 'bgp-conf.yaml': '- 1\n- 2\n' }, expect: 'bgp-conf.yaml: must be a mapping' },
  { name: 'binary file', files: { 'bgp-conf.yaml': 'localASN: 6500\u0000\u0001' }, expect: 'bgp-conf.yaml: the file contains NUL bytes' },
  {
    name: 'alias bomb',
    files: {
      'bgp-conf.yaml':
        'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
    },
    expect: 'bgp-conf.yaml: too many YAML aliases',
  },
  { name: 'no BgpConf at all', files: { 'gateway.yaml': '{}\n' }, expect: 'no bgp-conf.yaml or bgp-conf.json: a BgpConf is required' },
  // Kube-OVN environment
  {
    name: 'env: LOCAL_ASN not a number',
    env: { LOCAL_ASN: 'sixty-five', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1' },
    args: ['--env'],
    expect: 'LOCAL_ASN: localASN: must be a whole number',
  },
  {
    name: 'env: NEIGHBOURS with an empty element',
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1,,10.0.1.2' },
    args: ['--env'],
    expect: 'NEIGHBOURS: neighbours[1]:',
  },
  // Kube-OVN writes `90s` (Go durations, read with Go's grammar): what Go rejects is rejected, naming the variable
  {
    name: 'env: hold time with an unknown unit',
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1', BGP_HOLD_TIME: '90sec' },
    args: ['--env'],
    expect: 'BGP_HOLD_TIME: holdTime: unknown unit "sec" in duration "90sec"',
  },
  {
    name: 'env: keepalive time not a duration',
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1', BGP_KEEPALIVE_TIME: 'thirty' },
    args: ['--env'],
    expect: 'BGP_KEEPALIVE_TIME: keepaliveTime: invalid duration "thirty"',
  },
  {
    name: "env: connect time above 65535 s (Kube-OVN's range)",
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1', BGP_CONNECT_TIME: '20h' },
    args: ['--env'],
    expect: 'BGP_CONNECT_TIME: connectTime: "20h" is 72000 s; allowed: 0..65535 s',
  },
  {
    name: 'env: negative hold time',
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1', BGP_HOLD_TIME: '-90s' },
    args: ['--env'],
    expect: 'BGP_HOLD_TIME: holdTime: "-90s" is -90 s; allowed: 0..65535 s',
  },
  {
    name: 'env: a duration Kube-OVN truncates to a value FRR refuses (connect 500ms -> 0 s)',
    env: { LOCAL_ASN: '65002', PEER_ASN: '65001', ROUTER_ID: '10.0.1.13', NEIGHBOURS: '10.0.1.1', BGP_CONNECT_TIME: '500ms' },
    args: ['--env'],
    expect: 'BGP_CONNECT_TIME: connectTime: "0s" is 0 s; allowed: 1..65535 s',
  },
  {
    name: 'env: bad route target',
    env: {
      LOCAL_ASN: '65002',
      PEER_ASN: '65001',
      ROUTER_ID: '10.0.1.13',
      NEIGHBOURS: '10.0.1.1',
      VNI: '1016',
      ROUTE_TARGETS: '65000:1016,bogus',
    },
    args: ['--env'],
    expect: 'ROUTE_TARGETS: routeTargets[1]: "bogus" is not a route target',
  },
  {
    name: 'env: VNI without BGP',
    env: { VNI: '1016', ROUTE_TARGETS: '65000:1016' },
    args: ['--env'],
    expect: 'VNI: an EvpnConf needs a BgpConf',
  },
];

test(`at least 40 distinct bad-input cases (${cases.length})`, () => {
  assert.ok(cases.length >= 40);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
});

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'frrsup-bad-'));
    try {
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), text);
      c.setup?.(dir);
      const args = c.args ?? [];
      const res = await runCli(['render', ...(args.includes('--env') ? [] : ['--config-dir', dir]), ...args], c.env ?? {});
      assert.equal(res.code, 1, `exit code; stderr:\n${res.stderr}`);
      assert.equal(res.stdout, '', 'nothing on stdout');
      const lines = res.stderr.split('\n').filter((l) => l.startsWith('error: '));
      assert.ok(
        lines.some((l) => l.includes(c.expect)),
        `expected an error line containing ${JSON.stringify(c.expect)}; got:\n${res.stderr}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('all problems are reported at once, not only the first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-bad-'));
  try {
    writeFileSync(join(dir, 'bgp-conf.yaml'), 'localASN: 0\npeerASN: "x"\nrouterId: 10.0.1.13\nneighbours: [nope]\nholdTime: 1s\n');
    writeFileSync(join(dir, 'evpn-conf.yaml'), 'vni: -1\nrouteTargets: [x]\n');
    const res = await runCli(['check', '--config-dir', dir]);
    assert.equal(res.code, 1);
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('error: '));
    for (const path of ['localASN', 'peerASN', 'neighbours[0]', 'holdTime', 'vni', 'routeTargets[0]']) {
      assert.ok(
        errors.some((l) => l.includes(`: ${path}: `)),
        `no error for ${path}:\n${res.stderr}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BGP-only: the internal interface may be the external interface (it is not used without an EvpnConf)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-ok-'));
  try {
    writeFileSync(join(dir, 'bgp-conf.yaml'), BGP);
    writeFileSync(join(dir, 'gateway.yaml'), 'externalInterface: eth0\n');
    const res = await runCli(['check', '--config-dir', dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'ok\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown fields are warnings, not errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-warn-'));
  try {
    writeFileSync(
      join(dir, 'bgp-conf.yaml'),
      `apiVersion: kubeovn.io/v1\nkind: BgpConf\nmetadata: {name: x}\nspec:\n  localASN: 65002\n  peerASN: 65001\n  routerId: 10.0.1.13\n  neighbours: [10.0.1.1]\n  bfd: true\nstatus: {ready: true}\n`,
    );
    const res = await runCli(['check', '--config-dir', dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'ok\n');
    assert.match(res.stderr, /^warning: bgp-conf\.yaml: spec\.bfd: unknown field, ignored/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every problem line is one printable line, whatever the input quotes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-print-'));
  try {
    writeFileSync(join(dir, 'bgp-conf.json'), '{"a":\nerror: forged}');
    writeFileSync(join(dir, 'gateway.yaml'), '"k\\nerror: forged\\u2028x\\u0085y": 1\nexternalInterface: "net1\\u0085error: forged"\n');
    const res = await runCli(['check', '--config-dir', dir]);
    assert.equal(res.code, 1);
    const lines = res.stderr.split('\n').filter(Boolean);
    for (const l of lines) {
      assert.match(l, /^(error|warning): (bgp-conf\.json|gateway\.yaml)/, `a forged or broken line: ${JSON.stringify(l)}`);
      // eslint-disable-next-line no-control-regex -- finding control characters is the point
      assert.doesNotMatch(l, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    }
    assert.ok(
      lines.some((l) => l.includes('\\x0aerror: forged')),
      res.stderr,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2', async () => {
  assert.equal((await runCli(['render', '--bogus'])).code, 2);
  assert.equal((await runCli(['render'])).code, 2);
  assert.equal((await runCli(['nonsense'])).code, 2);
  const help = await runCli(['render', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--config-dir/);
});

test('a password value is never echoed, whatever its type or the file syntax around it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-pwecho-'));
  const inputs: Array<[string, string, string]> = [
    ['bgp-conf.yaml', bgp('password: 12345678\n'), 'bgp-conf.yaml: password: must be a string (quote it'],
    ['bgp-conf.yaml', bgp('password: [12345678]\n'), 'bgp-conf.yaml: password: must be a string'],
    ['bgp-conf.yaml', bgp('password: 12345678.5\n'), 'bgp-conf.yaml: password: must be a string'],
    ['bgp-conf.json', '{"localASN": 65002, "password": 12345678x}', 'bgp-conf.json: JSON syntax error'],
    ['bgp-conf.json', '{"localASN": 65002, "password": s12345678}', 'bgp-conf.json: JSON syntax error'],
  ];
  try {
    for (const [name, text, expect] of inputs) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      writeFileSync(join(dir, name), text);
      const res = await runCli(['check', '--config-dir', dir]);
      assert.equal(res.code, 1, text);
      assert.ok(res.stderr.includes(expect), `${text}\n${res.stderr}`);
      assert.ok(!res.stderr.includes('12345678'), `the password is echoed for ${JSON.stringify(text)}:\n${res.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
