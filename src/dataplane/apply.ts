/**
 * Reconciling the data plane: read the current state, plan, run the steps in order (stop at the first failure),
 * read again to confirm. Also the kernel-VRF probe: the kernel backend fails with a clear message on a kernel
 * without VRF devices instead of an `ip` error.
 */
import { execRunner, formatArgv, ipArgv } from './exec.ts';
import type { Runner } from './exec.ts';
import { plan } from './plan.ts';
import { readState } from './state.ts';
import type { ReadOptions } from './state.ts';
import { commandSteps, ownedFromDesired, VrfUnsupportedError } from './types.ts';
import type { CurrentDataplane, DesiredDataplane, OwnedNames, Step } from './types.ts';

/** What the data plane logs through (pino's Logger fits). */
export interface DataplaneLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ReconcileOptions extends ReadOptions {
  /**
   * What we own when `desired` is undefined (removal): the names to look for (see ownedFromSpec). Ignored when
   * `desired` is given (its own names are used).
   */
  owned?: OwnedNames;
  /** Plan only: read and plan, run nothing. */
  dryRun?: boolean;
  logger?: DataplaneLogger;
}

export interface ReconcileResult {
  /** The command steps that ran (dryRun: that would run), in order. */
  steps: Step[];
  /** What the plan could not do (warning steps), for logs and status. */
  warnings: string[];
  /** At least one command ran. */
  changed: boolean;
  /** A step replaced something zebra knew (VXLAN or VRF recreated): restart zebra, then bgpd. */
  restartZebra: boolean;
}

/** One step that failed: its argv, why it ran, and what the command said. */
export interface StepFailure {
  step: Step;
  index: number;
  total: number;
  stderr: string;
  exitCode: number | undefined;
}

function describeFailure(f: StepFailure): string {
  return `data plane step ${f.index + 1}/${f.total} failed: ${formatArgv(f.step.argv)} (${f.step.why}): ${f.stderr.trim() || `exit ${String(f.exitCode)}, no output`}`;
}

/**
 * Steps that failed: names the first one's argv and carries ip's stderr (the message lists every failure).
 * `ran` holds the steps that succeeded: a caller still restarts zebra when one of them asks for it.
 */
export class DataplaneStepError extends Error {
  readonly step: Step;
  readonly index: number;
  readonly total: number;
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(
    readonly failures: readonly StepFailure[],
    readonly ran: readonly Step[],
  ) {
    const first = failures[0];
    if (!first) throw new Error('DataplaneStepError without a failure');
    super(failures.map(describeFailure).join('; '));
    this.name = 'DataplaneStepError';
    this.step = first.step;
    this.index = first.index;
    this.total = first.total;
    this.stderr = first.stderr;
    this.exitCode = first.exitCode;
  }

  /** A step that ran (and succeeded) replaced something zebra knew. */
  get restartZebra(): boolean {
    return this.ran.some((s) => s.restartZebra === true);
  }
}

export type VrfSupportStatus = 'supported' | 'unsupported' | 'unknown';

export interface VrfSupport {
  status: VrfSupportStatus;
  /** How the answer was found (the probe and what it said). */
  detail: string;
}

const NO_VRF_RE = /Unknown device type|Operation not supported/i;

/**
 * Whether the kernel can create VRF devices: creates a throwaway VRF device in a throwaway network namespace
 * (`unshare --net`, nothing to clean up); when unshare is not permitted, in the gateway namespace under a
 * throwaway name, deleted at once.
 */
export async function detectVrfSupport(opts: { netns?: string; runner?: Runner } = {}): Promise<VrfSupport> {
  const runner = opts.runner ?? execRunner;
  const probe = ['unshare', '--net', '--', 'ip', 'link', 'add', 'fsvrfprobe', 'type', 'vrf', 'table', '1'];
  const r = await runner(probe);
  if (r.exitCode === 0) return { status: 'supported', detail: `${formatArgv(probe)} succeeded` };
  if (r.exitCode !== undefined && !/^unshare:/m.test(r.stderr) && NO_VRF_RE.test(r.stderr)) {
    return { status: 'unsupported', detail: `${formatArgv(probe)}: ${r.stderr.trim()}` };
  }
  // unshare missing or not permitted: probe where we run, under a name nobody else uses.
  const name = `fsvrfp${process.pid % 100_000}`;
  const add = ipArgv(opts.netns, 'link', 'add', name, 'type', 'vrf', 'table', '4294967294');
  const r2 = await runner(add);
  if (r2.exitCode === 0) {
    await runner(ipArgv(opts.netns, 'link', 'del', name));
    return { status: 'supported', detail: `${formatArgv(add)} succeeded` };
  }
  if (NO_VRF_RE.test(r2.stderr)) return { status: 'unsupported', detail: `${formatArgv(add)}: ${r2.stderr.trim()}` };
  return { status: 'unknown', detail: `${formatArgv(probe)}: ${r.stderr.trim()}; ${formatArgv(add)}: ${r2.stderr.trim()}` };
}

function hasKernelVrf(current: CurrentDataplane, name: string): boolean {
  return current.gatewayLinks.some((l) => l.name === name && l.kind === 'vrf');
}

/** A VRF device creation that failed because the kernel has no VRF devices. */
function isVrfAdd(argv: readonly string[]): boolean {
  const i = argv.indexOf('type');
  return argv.includes('link') && argv.includes('add') && argv[i + 1] === 'vrf';
}

/**
 * Brings the data plane to `desired` (undefined: removes what `opts.owned` names). Runs the planned steps in
 * order and stops at the first failure (DataplaneStepError); then reads the state again and fails if anything is
 * still to do. The kernel backend fails with VrfUnsupportedError on a kernel without VRF devices.
 */
export async function reconcile(desired: DesiredDataplane | undefined, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const runner = opts.runner ?? execRunner;
  const owned = desired ? ownedFromDesired(desired) : opts.owned;
  if (owned === undefined) throw new Error('reconcile: without a desired data plane, opts.owned must name what to remove');
  const readOpts: ReadOptions = { ...opts, runner };
  const log = opts.logger;

  const current = await readState(owned, readOpts);
  if (desired?.backend === 'kernel' && !hasKernelVrf(current, desired.vrf.name)) {
    const support = await detectVrfSupport({ netns: opts.netns, runner });
    if (support.status === 'unsupported') {
      log?.warn({ event: 'dataplane_no_vrf', detail: support.detail }, 'kernel VRF devices are not available');
      throw new VrfUnsupportedError();
    }
  }

  const planned = plan(desired, current);
  const warnings = planned.filter((s) => s.warning).map((s) => s.why);
  for (const w of warnings) log?.warn({ event: 'dataplane_warning' }, w);
  const steps = commandSteps(planned);
  const restartZebra = steps.some((s) => s.restartZebra === true);
  if (opts.dryRun) {
    for (const s of steps) log?.info({ event: 'dataplane_step', dryRun: true, argv: s.argv }, s.why);
    return { steps, warnings, changed: false, restartZebra };
  }

  // A failing step stops the plan unless it is independent (a route, a sysctl): then the others still run, and
  // every failure is reported at the end.
  const failures: StepFailure[] = [];
  const ran: Step[] = [];
  for (const [i, s] of steps.entries()) {
    log?.info({ event: 'dataplane_step', argv: s.argv, ...(s.restartZebra && { restartZebra: true }) }, s.why);
    const r = await runner(s.argv, s.input === undefined ? undefined : { input: s.input });
    if (r.exitCode === 0) {
      ran.push(s);
      continue;
    }
    if (isVrfAdd(s.argv) && NO_VRF_RE.test(r.stderr)) throw new VrfUnsupportedError();
    failures.push({ step: s, index: i, total: steps.length, stderr: r.stderr, exitCode: r.exitCode });
    if (!s.independent) break;
  }
  if (failures.length > 0) throw new DataplaneStepError(failures, ran);

  if (steps.length > 0) {
    const after = commandSteps(plan(desired, await readState(owned, readOpts)));
    if (after.length > 0) {
      throw new Error(
        `the data plane did not converge: after ${steps.length} step(s), still to do: ${after.map((s) => `${formatArgv(s.argv)} (${s.why})`).join('; ')}`,
      );
    }
    log?.info({ event: 'dataplane_reconciled', steps: steps.length, restartZebra }, `data plane reconciled in ${steps.length} step(s)`);
  }
  return { steps, warnings, changed: steps.length > 0, restartZebra };
}
