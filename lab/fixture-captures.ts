/**
 * The FRR answers a version's JSON fixtures are made of (test/fixtures/frr-json/VERSION/MODE/, read by the parsers'
 * tests): the commands the poller, the applier and the tests use, per lab mode, and the file each answer goes to.
 * The image test (FRR 10.7.1), the FRR 10.3 test (test/image/frr103.test.ts) and the FRR 10.7 test write them when
 * FRRSUP_CAPTURE_DIR is set.
 */

/** The commands to capture in each lab mode; `vrf` is the tenant VRF of the EVPN mode. */
export function fixtureCaptures(vrf: string): Record<'off' | 'evpn', string[]> {
  return {
    off: [
      'show bgp vrf all summary json',
      'show bgp vrf all neighbors json',
      'show bgp ipv4 unicast summary json',
      'show evpn vni json',
      'show running-config',
    ],
    evpn: [
      'show bgp vrf all summary json',
      'show bgp vrf all neighbors json',
      'show bgp l2vpn evpn summary json',
      'show evpn vni json',
      'show evpn vni detail json',
      'show vrf vni json',
      'show evpn rmac vni all json',
      `show ip route vrf ${vrf} summary json`,
      'show bgp l2vpn evpn route type prefix json',
      'show running-config',
    ],
  };
}

/** The fixture file of a command's answer: `show bgp vrf all summary json` -> `bgp_vrf_all_summary.json`. */
export function captureFileName(cmd: string, vrf: string): string {
  return (
    cmd
      .replace(vrf, 'VRF')
      .replace(/^show /, '')
      .replace(/ json$/, '')
      .replace(/[^a-zA-Z0-9]+/g, '_') + (cmd.endsWith(' json') ? '.json' : '.txt')
  );
}
