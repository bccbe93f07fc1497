/**
 * Live changes, the executor: runs the commands of src/render/live-commands.ts through vtysh (one invocation: vtysh
 * stops at the first command FRR refuses), then the running-config comparison every apply ends with. Any error or
 * difference is a fallback: logged as `live_apply_fallback` with the stage and the reason, counted
 * (frr_supervisor_live_apply_fallbacks_total), and the caller takes the restart path, which replaces whatever the
 * commands left half done (the restarted bgpd gets the whole rendering).
 *
 * One thing a restart did that the commands do not: a session FRR holds down because the peer sent more than the
 * limit (`Idle (PfxCt)`) comes back only by a reset, and a new `maximum-prefix` does not reset it (seen on 8.4.4: still
 * down 40 s after the limit was raised live). So after commands that change a limit, every neighbour held down that way
 * is cleared (`clear bgp X`), as the restart would have brought it up again (and a peer still over the limit is torn
 * down again, as after the restart).
 */
import type { Vtysh } from '../frr/vtysh.ts';
import { redactSecrets } from '../frr/running-config.ts';
import type { Logger } from '../log.ts';
import { parseBgpNeighbors } from '../state/bgp.ts';

/** Why a live change fell back: vtysh refused a command (or failed), the running config differs, or it was not tried. */
export type LiveFallbackStage = 'vtysh' | 'verify' | 'precondition';

export type LiveOutcome =
  { applied: true; commandsMs: number; verifyMs: number } | { applied: false; stage: LiveFallbackStage; reason: string };

export interface LiveApplyOptions {
  commands: string[];
  /** The next rendering: what the running config must equal afterwards. */
  conf: string;
  vtysh: Vtysh;
  /** How the commands are sent (default: one vtysh call to bgpd, {@link sendLiveCommands}). */
  send?: (commands: string[], vtysh: Vtysh) => Promise<void>;
  logger: Logger;
  /** The running-config comparison (the Applier's verify): resolves when equal, throws with the difference. */
  verify: (conf: string, timeoutMs: number) => Promise<void>;
  /** How long the comparison may wait for the running config to match (default 1000 ms: vtysh returns once applied). */
  verifyTimeoutMs?: number;
  /** Called once per fallback (the metric). */
  onFallback?: (stage: LiveFallbackStage) => void;
}

/** Logs and counts a fallback to the restart path; returns the outcome. */
export function liveFallback(
  o: Pick<LiveApplyOptions, 'logger' | 'onFallback'>,
  stage: LiveFallbackStage,
  reason: string,
): LiveOutcome & { applied: false } {
  const why = redactSecrets(reason);
  o.logger.warn({ event: 'live_apply_fallback', stage, reason: why }, `live change not taken (${stage}): ${why}; restarting instead`);
  o.onFallback?.(stage);
  return { applied: false, stage, reason: why };
}

/** The live commands in one vtysh call to bgpd (vtysh stops at the first command FRR refuses, and exits 1). */
export async function sendLiveCommands(commands: string[], vtysh: Vtysh): Promise<void> {
  await vtysh.run(commands, { daemon: 'bgpd' });
}

/** Resets the neighbours held down for sending more prefixes than the limit (`Idle (PfxCt)`). */
async function clearPrefixLimited(o: Pick<LiveApplyOptions, 'vtysh' | 'logger'>): Promise<void> {
  const held = parseBgpNeighbors(await o.vtysh.run(['show bgp neighbors json'], { daemon: 'bgpd' })).filter((n) => n.prefixLimitExceeded);
  for (const n of held) {
    await o.vtysh.run([`clear bgp ${n.peer}`], { daemon: 'bgpd' });
    o.logger.info(
      { event: 'live_prefix_limit_cleared', peer: n.peer },
      `maximum-prefix changed: ${n.peer}, held down for exceeding the old limit, reset (as a restart would)`,
    );
  }
}

/** Runs the live commands and verifies; never throws. */
export async function applyLive(o: LiveApplyOptions): Promise<LiveOutcome> {
  const t0 = performance.now();
  try {
    await (o.send ?? sendLiveCommands)(o.commands, o.vtysh);
    if (o.commands.some((c) => /\bmaximum-prefix\b/.test(c))) await clearPrefixLimited(o);
  } catch (e) {
    return liveFallback(o, 'vtysh', (e as Error).message);
  }
  const t1 = performance.now();
  try {
    await o.verify(o.conf, o.verifyTimeoutMs ?? 1000);
  } catch (e) {
    return liveFallback(o, 'verify', (e as Error).message);
  }
  return { applied: true, commandsMs: Math.round(t1 - t0), verifyMs: Math.round(performance.now() - t1) };
}
