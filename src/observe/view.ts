/** What the observability layer reads from the supervisor (the config/apply side and the daemons). */
import type { ApplyCheck, ApplyProgress, ApplyRecord, DataplaneReport } from '../supervisor/records.ts';
import type { DaemonStatus } from '../supervisor/daemons.ts';

export type ReadyWhen = 'applied' | 'any' | 'all';

/** What the supervisor is doing now (watchfrr shows its phase the same way). */
export type Phase = 'starting' | 'idle' | 'applying' | 'stopping';

export interface SupervisorView {
  startedAt: Date;
  phase(): Phase;
  lastBeat: Date;
  /** The input as last read: files and hashes, validity, problems (formatted lines). */
  input(): { sources: Array<{ name: string; sha256: string }>; valid: boolean; problems: string[] } | undefined;
  /** What runs: generation, config hash, when it was applied. */
  running(): { generation: number; hash: string; appliedAt: string } | undefined;
  /** The last real outcome: applied, failed or invalid (a resync that found nothing to do does not replace it). */
  lastApply(): ApplyRecord | undefined;
  /** The step of the change plan in progress (undefined between applies), like `show watchfrr`'s phase. */
  applyProgress?(): ApplyProgress | undefined;
  /** The last runs of the apply pipeline, newest last, whatever they found (e.g. `unchanged` at every resync). */
  recentChecks(): ApplyCheck[];
  lastSuccessAt(): Date | undefined;
  daemonStatus(): DaemonStatus[];
  /** Neighbour addresses of the running config. */
  neighbours(): string[];
  evpn(): { vni: number; vrf: string } | undefined;
  /** The data plane after the last reconcile: failed steps, IP forwarding (undefined before the first apply). */
  dataplane?(): DataplaneReport | undefined;
}
