// FRR version facts (src/frr/version.ts) and the capability check (src/frr/capabilities.ts), on real outputs:
// `zebra --version` and `staticd --help` of FRR 8.4.4 (this machine) and 10.3 (the image), the host's FRR asked
// for real, and /proc/PID/status lines as seen in the lab and in the image test's container.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  canonicalConfigLine,
  daemonsFor,
  dependentsOf,
  detectFrr,
  flavourFor,
  helpTakesConfigFile,
  parseFrrVersion,
  restartSetFor,
  supportsEvpnGracefulRestart,
  withBfd,
} from '../../src/frr/version.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { loadConfig } from '../../src/config/load.ts';
import { goldenCases } from '../helpers/golden.ts';
import { checkFrrCapabilities, effectiveCaps, missingFrrCaps } from '../../src/frr/capabilities.ts';

// The first line of `zebra --version` in each (the rest is the configure line).
const V844 = 'zebra version 8.4.4\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n';
const V103 = 'zebra version 10.3\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n';
const V1071 = 'zebra version 10.7.1\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n';
// FRR 10.3's `staticd --help` (trimmed): no -f; bgpd's has it.
const STATICD_103_HELP = `Usage: staticd [OPTION...]

  -h, --help         Display this help and exit
  -v, --version      Print program version
  -d, --daemon       Runs in daemon mode
  -N, --pathspace    Insert prefix into config & socket paths
      --vty_socket   Override vty socket path
  -i, --pid_file     Set process identifier file name
`;
const BGPD_HELP_LINE = '  -f, --config_file  Set configuration file name\n';

describe('FRR version facts', () => {
  it('reads the version from zebra --version (two or three parts)', () => {
    assert.deepEqual(parseFrrVersion(V844), { major: 8, minor: 4, patch: 4, text: '8.4.4' });
    assert.deepEqual(parseFrrVersion(V103), { major: 10, minor: 3, patch: 0, text: '10.3' });
    assert.deepEqual(parseFrrVersion('zebra version 9.1.3'), { major: 9, minor: 1, patch: 3, text: '9.1.3' });
    assert.throws(() => parseFrrVersion('zebra: command not found'), /cannot read an FRR version from "zebra: command not found"/);
  });

  it('FRR 8 runs zebra, staticd, bgpd; from 9.0 on mgmtd comes first', () => {
    assert.deepEqual(daemonsFor(parseFrrVersion(V844)), ['zebra', 'staticd', 'bgpd']);
    assert.deepEqual(daemonsFor(parseFrrVersion('zebra version 8.5.4')), ['zebra', 'staticd', 'bgpd']);
    assert.deepEqual(daemonsFor(parseFrrVersion('zebra version 9.1.3')), ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    assert.deepEqual(daemonsFor(parseFrrVersion(V103)), ['mgmtd', 'zebra', 'staticd', 'bgpd']);
  });

  it('FRR 10.7.1 is driven like 10.3: mgmtd first, no -f for mgmtd and staticd (seen in its --help)', () => {
    const v = parseFrrVersion(V1071);
    assert.deepEqual(v, { major: 10, minor: 7, patch: 1, text: '10.7.1' });
    assert.deepEqual(daemonsFor(v), ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    assert.deepEqual([...flavourFor(v).configFile].sort(), ['bfdd', 'bgpd', 'zebra']);
  });

  it('graceful restart covers L2VPN EVPN from FRR 10.6 on (not 8.4.4, 10.3, 10.5.1)', () => {
    for (const [text, yes] of [
      ['8.4.4', false],
      ['9.1.3', false],
      ['10.3', false],
      ['10.5.1', false],
      ['10.6.0', true],
      ['10.7.1', true],
      ['11.0', true],
    ] as const)
      assert.equal(supportsEvpnGracefulRestart(parseFrrVersion(`zebra version ${text}`)), yes, text);
  });

  it('EVPN graceful restart in the VRF instance is rendered only for an FRR that has it, and only with gracefulRestart on', async () => {
    const c = goldenCases().find((g) => g.name === 'docs-evpn');
    assert.ok(c?.configDir);
    const { spec } = await loadConfig({ configDir: c.configDir, facts: c.facts });
    assert.ok(spec);
    const vrfPart = (text: string): string => text.slice(text.indexOf(`router bgp 65002 vrf `));
    const on = renderFrrConf(spec, { evpnGracefulRestart: true });
    assert.match(vrfPart(on), /^ bgp graceful-restart\n bgp graceful-restart preserve-fw-state$/m);
    assert.doesNotMatch(vrfPart(renderFrrConf(spec)), /graceful-restart/, 'FRR before 10.6: as before');
    const off = renderFrrConf({ ...spec, gateway: { ...spec.gateway, gracefulRestart: false } }, { evpnGracefulRestart: true });
    assert.doesNotMatch(off, /graceful-restart/);
  });

  it('-f is passed only to the daemons whose --help lists it', () => {
    assert.equal(helpTakesConfigFile(STATICD_103_HELP), false);
    assert.equal(helpTakesConfigFile(STATICD_103_HELP + BGPD_HELP_LINE), true);
    // Without --help to ask: 10.x's mgmtd and staticd take no -f.
    assert.deepEqual(
      [...flavourFor(parseFrrVersion(V103)).configFile].sort(),
      ['bfdd', 'bgpd', 'zebra'],
      'bfdd too (BFD may be turned on)',
    );
    assert.deepEqual([...flavourFor(parseFrrVersion(V844)).configFile].sort(), ['bfdd', 'bgpd', 'staticd', 'zebra']);
  });

  it('phased restarts: bgpd after zebra, everything after mgmtd, nothing after staticd or bgpd', () => {
    const all = daemonsFor(parseFrrVersion(V103));
    assert.deepEqual(dependentsOf('zebra', all), ['bgpd']);
    assert.deepEqual(dependentsOf('mgmtd', all), ['zebra', 'staticd', 'bgpd']);
    assert.deepEqual(dependentsOf('staticd', all), []);
    assert.deepEqual(dependentsOf('bgpd', all), []);
    assert.deepEqual(dependentsOf('zebra', daemonsFor(parseFrrVersion(V844))), ['bgpd']);
  });

  it('a config change zebra must see restarts zebra then bgpd on FRR 8, mgmtd and everything after it on 10.3', () => {
    assert.deepEqual(restartSetFor('zebra', daemonsFor(parseFrrVersion(V844))), ['zebra', 'bgpd']);
    assert.deepEqual(restartSetFor('zebra', daemonsFor(parseFrrVersion(V103))), ['mgmtd', 'zebra', 'staticd', 'bgpd']);
    assert.deepEqual(restartSetFor('bgpd', daemonsFor(parseFrrVersion(V103))), ['bgpd']);
  });

  it('the running config in one form: 8.4.4 prints `ebgp-multihop 255`, 10.3 a bare `ebgp-multihop`', () => {
    assert.equal(canonicalConfigLine(' neighbor 10.0.1.1 ebgp-multihop 255'), ' neighbor 10.0.1.1 ebgp-multihop');
    assert.equal(canonicalConfigLine(' neighbor 10.0.1.1 ebgp-multihop'), ' neighbor 10.0.1.1 ebgp-multihop');
    assert.equal(canonicalConfigLine(' neighbor 10.0.1.1 ebgp-multihop 2'), ' neighbor 10.0.1.1 ebgp-multihop 2');
  });

  it("asks the host's FRR (8.4.4 on this machine) and keeps the version rule for a daemon that is missing", async () => {
    const host = await detectFrr('/usr/lib/frr');
    const printed = execFileSync('/usr/lib/frr/zebra', ['--version'], { encoding: 'utf8' });
    assert.equal(host.version.text, parseFrrVersion(printed).text);
    assert.deepEqual(host.daemons, daemonsFor(host.version));
    assert.deepEqual(
      [...host.configFile],
      withBfd(host.daemons, true).filter((d) => helpTakesConfigFile(execFileSync(`/usr/lib/frr/${d}`, ['--help'], { encoding: 'utf8' }))),
    );
    const dir = mkdtempSync(join(tmpdir(), 'frrsup-version-'));
    try {
      await assert.rejects(detectFrr(dir), new RegExp(`cannot tell the FRR version: ${dir}/zebra not found`));
      symlinkSync('/usr/lib/frr/zebra', join(dir, 'zebra'));
      const partial = await detectFrr(dir);
      assert.deepEqual(partial.daemons, host.daemons, 'a missing bgpd does not change the daemon set (it fails later, with backoff)');
      assert.ok(partial.configFile.has('bgpd'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FRR capabilities', () => {
  // CapEff of a root process with every capability (this lab), and of the image test's container with
  // deploy/reference-gateway.yaml's set minus SYS_ADMIN.
  const FULL = 'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n';
  const NO_SYS_ADMIN = 'CapEff:\t00000000000034e3\n';

  it('reads CapEff and names what is missing', () => {
    assert.equal(effectiveCaps(FULL), 0x1ffffffffffn);
    assert.deepEqual(missingFrrCaps(0x1ffffffffffn), []);
    assert.deepEqual(missingFrrCaps(effectiveCaps(NO_SYS_ADMIN) ?? 0n), ['SYS_ADMIN']);
    assert.deepEqual(missingFrrCaps(0n), ['NET_BIND_SERVICE', 'NET_ADMIN', 'NET_RAW', 'SYS_ADMIN']);
    assert.equal(effectiveCaps('Name:\tx\n'), undefined);
  });

  it('the check fails with the missing capability and where to add it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'frrsup-caps-'));
    try {
      const file = join(dir, 'status');
      writeFileSync(file, NO_SYS_ADMIN);
      await assert.rejects(
        checkFrrCapabilities(file),
        /missing capability SYS_ADMIN: FRR's daemons need NET_BIND_SERVICE, NET_ADMIN, NET_RAW, SYS_ADMIN .*deploy\/reference-gateway\.yaml/,
      );
      writeFileSync(file, FULL);
      await checkFrrCapabilities(file);
      await checkFrrCapabilities(join(dir, 'missing')); // no /proc: nothing to check
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
