// The one place for what differs between FRR versions: which daemons run, in which order, with which
// arguments, and what must restart after what. The supervisor asks the FRR it finds (`zebra --version` for the
// version, each daemon's `--help` for the options it takes) and drives it accordingly.
//
// Facts (seen on this project's machines):
// - FRR 8.4.4 (Debian bookworm): zebra, staticd, bgpd; every daemon takes `-f FILE`. No mgmtd binary.
// - FRR 10.3 (Debian trixie): the management daemon mgmtd must run before the others (without it zebra logs
//   "BE-client: ... can't send message on closed connection" and staticd's config has nowhere to go);
//   `show daemons` lists mgmtd zebra bgpd staticd. mgmtd and staticd refuse `-f` ("invalid option -- 'f'"):
//   their config arrives through mgmtd; zebra and bgpd still take `-f /dev/null`. `--help` lists
//   `-f, --config_file` exactly for the daemons that take it.
// - FRR 9.0 moved staticd's config to mgmtd (mgmtd first shipped in 8.5, unused by the daemons we run);
//   Kube-OVN's FRR 9.1.3 has mgmtd. Versions from 9.0 on are driven like 10.3; whether a daemon takes `-f` is
//   read from its `--help`, never assumed.
// - FRR 10.7.1 (Debian forky/sid, on trixie in the lab's container and the image): driven like 10.3 (mgmtd first;
//   mgmtd and staticd refuse `-f`, zebra, bgpd and bfdd take it). Graceful restart covers L2VPN EVPN from 10.6.0 on
//   (FRR PR 19778; the fix for suppress-fib-pending blocking it is in 10.7.0): the helper keeps the restarting
//   peer's EVPN routes as stale, and zebra keeps remote router MACs, neighbours and L3VNI next hops ("EVPN-GR:
//   client bgp has GR enabled. Retaining EVPN entries"). Before 10.6 (8.4.4, 10.3, Kube-OVN's 10.5.1) graceful
//   restart covers IPv4 and IPv6 unicast only.
// - Phased restarts: zebra restarted alone leaves bgpd's routes out of the kernel, so bgpd restarts after
//   zebra (as watchfrr does). mgmtd holds the running config of its backends (zebra, staticd): when mgmtd
//   restarts, everything after it restarts and gets its config again.
import { execa } from 'execa';
import { ALL_DAEMON_NAMES } from './daemon.ts';
import type { DaemonName } from './daemon.ts';

/** An FRR version, as `zebra --version` prints it ("zebra version 10.3", "zebra version 8.4.4"). */
export interface FrrVersion {
  major: number;
  minor: number;
  patch: number;
  /** The version as printed, e.g. "10.3" or "8.4.4". */
  text: string;
}

/** How to drive one FRR installation. */
export interface FrrFlavour {
  version: FrrVersion;
  /** The daemons to run, in start order (mgmtd first when there is one, then zebra). */
  daemons: readonly DaemonName[];
  /** The daemons that take `-f FILE` (the others get their config through mgmtd). */
  configFile: ReadonlySet<DaemonName>;
}

/** The first version whose daemons need mgmtd (staticd's config goes through it). */
export const MGMTD_SINCE = { major: 9, minor: 0 } as const;

/**
 * The first version with graceful restart for L2VPN EVPN (FRR PR 19778, "BGP GR Support For L2VPN EVPN" in
 * doc/user/bgp.rst): graceful restart configured in a BGP instance then covers its EVPN routes.
 */
export const EVPN_GR_SINCE = { major: 10, minor: 6 } as const;

/** The versions this project has been run against (the lab's and the image's). */
export const TESTED_VERSIONS = ['8.4.4', '10.3', '10.7.1'] as const;

const VERSION_RE = /\bversion\s+(\d+)\.(\d+)(?:\.(\d+))?/;

/** Parses `zebra --version` output; throws with the text when no version is found. */
export function parseFrrVersion(output: string): FrrVersion {
  const m = VERSION_RE.exec(output);
  if (!m) throw new Error(`cannot read an FRR version from ${JSON.stringify(output.split('\n')[0] ?? '')}`);
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { major, minor, patch, text: m[3] === undefined ? `${major}.${minor}` : `${major}.${minor}.${patch}` };
}

/** True when version >= major.minor. */
export function atLeast(v: FrrVersion, major: number, minor = 0): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** Whether a version's graceful restart covers L2VPN EVPN ({@link EVPN_GR_SINCE}). */
export function supportsEvpnGracefulRestart(v: FrrVersion): boolean {
  return atLeast(v, EVPN_GR_SINCE.major, EVPN_GR_SINCE.minor);
}

/** The daemons of a version, in start order (bfdd only with BFD on: {@link withBfd}). */
export function daemonsFor(v: FrrVersion): DaemonName[] {
  return ALL_DAEMON_NAMES.filter((d) => d !== 'bfdd' && (d !== 'mgmtd' || atLeast(v, MGMTD_SINCE.major, MGMTD_SINCE.minor)));
}

/** A version's daemon set with bfdd added (BFD on) or removed, in start order. */
export function withBfd(daemons: readonly DaemonName[], bfd: boolean): DaemonName[] {
  return ALL_DAEMON_NAMES.filter((d) => (d === 'bfdd' ? bfd : daemons.includes(d)));
}

/** Whether a daemon's `--help` output lists `-f, --config_file`. */
export function helpTakesConfigFile(help: string): boolean {
  return /^\s*-f,\s+--config_file\b/m.test(help);
}

/**
 * What must restart after `name` restarts (beyond itself), in start order: bfdd and bgpd after zebra (zebra's
 * clients, as watchfrr's phased restart does); everything after mgmtd. Nothing after bfdd: zebra asks bgpd to
 * register its BFD sessions again when a new bfdd connects (seen on 8.4.4: sessions back up without a bgpd restart).
 */
export function dependentsOf(name: DaemonName, daemons: readonly DaemonName[]): DaemonName[] {
  if (name === 'mgmtd') return daemons.filter((d) => d !== 'mgmtd');
  if (name === 'zebra') return daemons.filter((d) => d === 'bfdd' || d === 'bgpd');
  return [];
}

/**
 * What a config change restarts, in order. `bgpd`: bgpd alone. `zebra` (a change zebra must see: VRF, VNI,
 * backend, graceful restart): zebra and bgpd on FRR 8; on FRR 9 and later mgmtd holds zebra's config (`vrf` /
 * `vni` lines go through it, and it replays them to a restarted zebra), and `vtysh -b` only adds lines, so
 * mgmtd restarts too, with everything after it. Seen on 10.3: zebra and bgpd restarted alone came back
 * without the new `vrf NAME / vni N` line.
 */
export function restartSetFor(scope: 'bgpd' | 'zebra', daemons: readonly DaemonName[]): DaemonName[] {
  if (scope === 'bgpd') return ['bgpd'];
  const first: DaemonName = daemons.includes('mgmtd') ? 'mgmtd' : 'zebra';
  return [first, ...dependentsOf(first, daemons)];
}

/** A flavour from known facts (used where nothing can be asked, e.g. tests). */
export function flavourFor(version: FrrVersion, configFile?: Iterable<DaemonName>): FrrFlavour {
  const daemons = daemonsFor(version);
  const takesF = configFile
    ? new Set(configFile)
    : new Set(withBfd(daemons, true).filter((d) => !(atLeast(version, 10) && (d === 'mgmtd' || d === 'staticd'))));
  return { version, daemons, configFile: takesF };
}

/**
 * Asks the FRR in binDir: its version from `zebra --version`, the daemon set from the version, and which of
 * them take `-f` from their `--help` (a daemon whose binary is missing keeps the version's rule; starting it
 * fails later with a clear error and backoff). Throws a clear error when zebra is missing or prints no version.
 */
export async function detectFrr(binDir: string, timeoutMs = 10_000): Promise<FrrFlavour> {
  const run = async (name: DaemonName, arg: string): Promise<string | undefined> => {
    const bin = `${binDir}/${name}`;
    const r = await execa(bin, [arg], {
      reject: false,
      stdin: 'ignore',
      timeout: timeoutMs,
      extendEnv: false,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    });
    if (r.failed && r.exitCode === undefined) {
      if ((r as { code?: string }).code === 'ENOENT') return undefined;
      throw new Error(`${bin} ${arg} failed: ${r.shortMessage}`);
    }
    return `${String(r.stdout)}\n${String(r.stderr)}`;
  };
  const versionText = await run('zebra', '--version');
  if (versionText === undefined)
    throw new Error(`cannot tell the FRR version: ${binDir}/zebra not found (is FRR installed? --frr-bin-dir)`);
  const known = flavourFor(parseFrrVersion(versionText));
  const configFile = new Set<DaemonName>();
  // bfdd too: it runs only with BFD on, and may be turned on later.
  for (const d of withBfd(known.daemons, true)) {
    const help = await run(d, '--help');
    if (help === undefined ? known.configFile.has(d) : helpTakesConfigFile(help)) configFile.add(d);
  }
  return { ...known, configFile };
}

/**
 * Lines that FRR versions print differently for the same config, mapped to one form before the running config
 * is compared with the rendering: FRR 8.4.4 prints `neighbor X ebgp-multihop 255` as given, FRR 10.3 prints
 * the maximum hop count (255) as a bare `neighbor X ebgp-multihop`.
 */
export function canonicalConfigLine(line: string): string {
  return line.replace(/^(\s*neighbor \S+ ebgp-multihop) 255$/, '$1');
}
