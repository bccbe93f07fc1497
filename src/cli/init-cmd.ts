/**
 * `frr-supervisor init`: the EVPN device reconcile, once (for an init container). Validates the input like
 * `check`, then creates or fixes the VRF, bridge and VXLAN devices. Exit 0: done (or nothing to do);
 * 1: invalid input or the devices could not be reconciled; 2: usage.
 */
import { printable } from '../config/problems.ts';
import { INPUT_FLAGS, loadForCommand } from './input.ts';
import { desiredFromHost } from '../dataplane/state.ts';
import { reconcile } from '../dataplane/apply.ts';
import { ownedFromSpec } from '../dataplane/types.ts';
import { formatArgv } from '../dataplane/exec.ts';
import { helpText, parseFlags } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';

const FLAGS = {
  ...INPUT_FLAGS,
  'dry-run': { type: 'boolean', help: 'print the steps without running them' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

export async function initCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor init --config-dir DIR [--env] [--dry-run]',
        'Validates the input, then reconciles the EVPN devices (VRF, bridge, VXLAN, internal interface, VRF routes) once and exits: for an init container. Exit 0: done or nothing to do; 1: invalid input or the devices could not be reconciled; 2: usage error.',
        FLAGS,
      ),
    );
    return 0;
  }
  const spec = await loadForCommand(flags, io);
  if (typeof spec === 'number') return spec;
  if (!spec.evpn) {
    io.stdout('ok: no EvpnConf, no EVPN devices to reconcile\n');
    return 0;
  }
  try {
    const desired = await desiredFromHost(spec);
    const r = await reconcile(desired, { owned: ownedFromSpec(spec), dryRun: flags['dry-run'] === true });
    for (const w of r.warnings) io.stderr(`warning: ${printable(w)}\n`);
    for (const s of r.steps) io.stdout(`${flags['dry-run'] ? 'would run' : 'ran'}: ${formatArgv(s.argv)}  # ${s.why}\n`);
    io.stdout(`ok: ${r.steps.length} step(s)\n`);
    return 0;
  } catch (e) {
    io.stderr(`error: EVPN data plane: ${printable((e as Error).message)}\n`);
    return 1;
  }
}
