/** The input flags shared by render, check and init: load and validate once, print every problem. */
import { loadConfig } from '../config/load.ts';
import { formatProblem, hasErrors } from '../config/problems.ts';
import { hostFacts } from '../config/facts.ts';
import type { Spec } from '../config/types.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

export const INPUT_FLAGS = {
  'config-dir': {
    type: 'string',
    help: 'the config directory (projected volume: bgp-conf.yaml, evpn-conf.yaml, gateway.yaml, bgp-password)',
  },
  env: { type: 'boolean', help: "read BgpConf/EvpnConf from Kube-OVN's environment variables (LOCAL_ASN, PEER_ASN, ...)" },
} satisfies Record<string, FlagSpec>;

/** The validated spec, or the exit code: 1 invalid input (problems printed), 2 usage. */
export async function loadForCommand(flags: { 'config-dir'?: string | boolean; env?: string | boolean }, io: Io): Promise<Spec | 1 | 2> {
  const configDir = typeof flags['config-dir'] === 'string' ? flags['config-dir'] : undefined;
  if (!configDir && !flags.env && !io.env.LOCAL_ASN) {
    io.stderr('error: --config-dir DIR or --env is required (see --help)\n');
    return 2;
  }
  const result = await loadConfig({ ...(configDir && { configDir }), env: flags.env === true, facts: hostFacts(io.env) });
  for (const p of result.problems) io.stderr(`${formatProblem(p)}\n`);
  if (hasErrors(result.problems) || !result.spec) return 1;
  return result.spec;
}
