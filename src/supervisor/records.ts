/**
 * What the apply pipeline records and the observability layer (src/observe/) reads: the outcome of each run, the
 * step in progress, the data plane's state. Plain data, no behaviour: observe/ depends on this, not on the Applier.
 */
import type { DaemonName } from '../frr/daemon.ts';
import type { ForwardingCheck } from '../dataplane/forwarding.ts';
import type { StepKind } from './plan.ts';

export type ApplyResult = 'applied' | 'unchanged' | 'invalid' | 'failed';

/** Every run of the pipeline, real apply or not (a resync that found nothing to do, a retry still backing off). */
export interface ApplyCheck {
  at: string;
  /** retry-pending: a failed input whose backoff has not passed; slot-pending: a change waiting for its drain slot. */
  result: ApplyResult | 'retry-pending' | 'slot-pending';
  reason: string;
}

export interface ApplyRecord {
  result: ApplyResult;
  /** Increments on every config that was written and (re)started. */
  generation: number;
  /** The rendering's shown hash (password tokens redacted before hashing). */
  hash?: string;
  at: string;
  durationMs: number;
  restarted: DaemonName[];
  /** Applied in place with vtysh (the plan's `live` step, src/render/live-commands.ts): nothing restarted. */
  live?: boolean;
  reason: string;
  error?: string;
  /** Milliseconds spent in each phase (load, write, restart, verify), for the log line and /status. */
  phases?: Record<string, number>;
  /** Set on a retry of an input whose apply failed before: the attempt number (1 = the first retry). */
  retry?: number;
  /** The plan's steps, in order (src/supervisor/plan.ts), and the one that failed. */
  steps?: StepKind[];
  failedStep?: StepKind;
}

/** The step of the change plan being carried out now (like `show watchfrr`'s phase), for /status and the logs. */
export interface ApplyProgress {
  step: StepKind;
  /** 1-based position in the plan, and the plan's length. */
  index: number;
  of: number;
  /** What the step does, in words (e.g. "restart bgpd (SIGKILL, graceful)"). */
  detail: string;
  since: string;
}

/**
 * The data plane as last reconciled and checked (every apply and resync). A failure here does not stop FRR: BGP
 * runs with what could be set up (a prefix without its route is simply not announced), and /readyz and /status
 * name the failing steps until a resync succeeds.
 */
export interface DataplaneReport {
  ok: boolean;
  checkedAt: string;
  /** The reconcile error (every failed step, or why the plan could not be made). */
  error?: string;
  failedSteps?: Array<{ argv: string[]; why: string; error: string }>;
  /** What the plan could not do (a missing internal interface). */
  warnings: string[];
  forwarding?: ForwardingCheck;
}
