/** `frr-supervisor run`: placeholder until the supervision layer lands. */
import type { Io } from './cli.ts';

export function runCommand(_argv: string[], io: Io): Promise<number> {
  io.stderr('error: run is not implemented yet\n');
  return Promise.resolve(2);
}
