/** `frr-supervisor render` and `frr-supervisor check`: validate the input once, print the config or `ok`. */
import { INPUT_FLAGS, loadForCommand } from './input.ts';
import { renderFrrConf } from '../render/frr-conf.ts';
import { helpText, parseFlags } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

const FLAGS = {
  ...INPUT_FLAGS,
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
  const spec = await loadForCommand(flags, io);
  if (typeof spec === 'number') return spec;
  if (cmd === 'render') io.stdout(renderFrrConf(spec));
  else io.stdout('ok\n');
  return 0;
}
