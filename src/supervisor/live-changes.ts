/**
 * The live changes the supervisor (its Applier) and `frr-supervisor plan` use: none yet, so every change restarts
 * what the planner says (src/supervisor/plan.ts). A LivePlanner plugged in here is consulted for changes of bgpd's
 * part alone; the Applier verifies what it did and falls back to the restart on any difference.
 */
import type { LiveChanges } from './plan.ts';

export const LIVE_CHANGES: LiveChanges | undefined = undefined;
