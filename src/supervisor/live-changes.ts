/**
 * The live changes the supervisor (its Applier) and `frr-supervisor plan` use: advertised prefixes, neighbours and
 * maximum-prefix (src/render/live-commands.ts), sent to bgpd in one vtysh call. The planner consults them for changes
 * of bgpd's part alone (src/supervisor/plan.ts); the Applier verifies what they did and falls back to the restart on
 * any refusal or difference (src/supervisor/live-apply.ts).
 */
import { liveCommands } from '../render/live-commands.ts';
import { sendLiveCommands } from './live-apply.ts';
import type { LiveChanges } from './plan.ts';

export const LIVE_CHANGES: LiveChanges | undefined = { plan: liveCommands, run: sendLiveCommands };
