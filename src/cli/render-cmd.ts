/** `frr-supervisor render` and `frr-supervisor check`: validate the input once, print the config or `ok`. */
import { loadConfig } from '../config/load.ts';
import { formatProblem, hasErrors } from '../config/problems.ts';
import { hostFacts } from '../config/facts.ts';
import { renderFrrConf } from '../render/frr-conf.ts';
import { helpText, parseFlags } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

const FLAGS = {
  'config-dir': { type: 'string', help: 'the config directory (projected volume: bgp-conf.yaml, evpn-conf.yaml, gateway.yaml, bgp-password)' },
  env: { type: 'boolean', help: "read BgpConf/EvpnConf from Kube-OVN's environment variables (LOCAL_ASN, PEER_ASN, ...)" },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

export async function renderOrCheck(cmd: 'render' | 'check', argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        `frr-supervisor ${cmd} [--config-dir DIR] [--env]`,
        cmd === 'render'
          ? 'Validates the input and prints the FRR config (frr.conf) it renders. Exit 0: printed; 1: invalid input (errors on stderr, nothing on stdout); 2: usage error.'
          : 'Validates the input only. Prints "ok" (exit 0) or one line per problem on stderr (exit 1); 2: usage error.',
        FLAGS,
      ),
    );
    return 0;
  }
  const configDir = flags['config-dir'] as string | undefined;
  if (!configDir && !flags.env && !io.env.LOCAL_ASN) {
    io.stderr('error: --config-dir DIR or --env is required (see --help)\n');
    return 2;
  }
  const result = await loadConfig({ ...(configDir && { configDir }), env: flags.env === true, facts: hostFacts(io.env) });
  for (const p of result.problems) io.stderr(`${formatProblem(p)}\n`);
  if (hasErrors(result.problems) || !result.spec) return 1;
  if (cmd === 'render') io.stdout(renderFrrConf(result.spec));
  else io.stdout('ok\n');
  return 0;
}
