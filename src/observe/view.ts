/** What the observability layer reads from the supervisor (the config/apply side and the daemons). */
import type { ApplyRecord, DataplaneReport } from '../supervisor/apply.ts';
import type { DaemonStatus } from '../supervisor/daemons.ts';

export type ReadyWhen = 'applied' | 'any' | 'all';

export interface SupervisorView {
  startedAt: Date;
  lastBeat: Date;
  /** The input as last read: files and hashes, validity, problems (formatted lines). */
  input(): { sources: Array<{ name: string; sha256: string }>; valid: boolean; problems: string[] } | undefined;
  /** What runs: generation, config hash, when it was applied. */
  running(): { generation: number; hash: string; appliedAt: string } | undefined;
  lastApply(): ApplyRecord | undefined;
  lastSuccessAt(): Date | undefined;
  daemonStatus(): DaemonStatus[];
  /** Neighbour addresses of the running config. */
  neighbours(): string[];
  evpn(): { vni: number; vrf: string } | undefined;
  /** The data plane after the last reconcile: failed steps, IP forwarding (undefined before the first apply). */
  dataplane?(): DataplaneReport | undefined;
}
