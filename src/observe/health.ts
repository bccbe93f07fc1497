/**
 * Liveness and readiness, as pure functions of the supervisor's view and the last poll.
 * Liveness never depends on BGP peers: an upstream outage must not make kubelet kill the gateway.
 */
import type { FrrSnapshot } from './poller.ts';
import type { ReadyWhen, SupervisorView } from './view.ts';

export interface Verdict {
  ok: boolean;
  reason: string;
  details?: Record<string, unknown>;
}

/** vtysh failing this many polls in a row makes the supervisor not live. */
export const LIVENESS_POLL_FAILURES = 3;
/** Slack on top of a down daemon's backoff before liveness fails (start timeout plus margin). */
export const DAEMON_DOWN_GRACE_MS = 10_000;
/** The event loop must have turned within this long. */
export const LOOP_STALL_MS = 10_000;
/** How often the heartbeat proves the loop turns (every timer wake-up costs CPU in an idle process). */
export const HEARTBEAT_MS = 5_000;

export function liveness(view: SupervisorView, consecutivePollFailures: number, now = Date.now()): Verdict {
  const stalled = now - view.lastBeat.getTime();
  if (stalled > LOOP_STALL_MS) return { ok: false, reason: `the supervisor loop has not run for ${stalled} ms` };
  for (const d of view.daemonStatus()) {
    if (d.running || !d.downSince) continue;
    const down = now - new Date(d.downSince).getTime();
    const allowed = (d.nextAttemptMs ?? 0) + DAEMON_DOWN_GRACE_MS;
    if (down > allowed) {
      return {
        ok: false,
        reason: `${d.name} has been down for ${Math.round(down / 1000)} s, past its restart backoff`,
        details: { daemon: d.name, lastExit: d.lastExit, lastError: d.lastError },
      };
    }
  }
  if (consecutivePollFailures >= LIVENESS_POLL_FAILURES) {
    return { ok: false, reason: `FRR did not answer ${consecutivePollFailures} polls in a row (timeouts, or no daemon answering)` };
  }
  if (!view.running()) return { ok: true, reason: 'alive; waiting for a valid config (no daemons started yet)' };
  return { ok: true, reason: 'alive' };
}

export function readiness(view: SupervisorView, snapshot: FrrSnapshot | undefined, when: ReadyWhen): Verdict {
  if (!view.lastSuccessAt()) {
    const input = view.input();
    const why =
      input && !input.valid
        ? `the input is invalid: ${input.problems.filter((p) => p.startsWith('error')).join('; ')}`
        : 'no config applied yet';
    return { ok: false, reason: `not ready: ${why}` };
  }
  const down = view.daemonStatus().filter((d) => !d.running);
  if (down.length > 0) return { ok: false, reason: `not ready: ${down.map((d) => d.name).join(', ')} not running` };
  // BGP runs with a broken data plane (see Applier.reconcileDataplane), but the gateway does not carry traffic right.
  const dp = view.dataplane?.();
  if (dp && !dp.ok) {
    const why = [dp.error, ...(dp.forwarding?.problems ?? [])].filter(Boolean).join('; ');
    return {
      ok: false,
      reason: `not ready: data plane: ${why}`,
      details: { failedSteps: dp.failedSteps ?? [], forwarding: dp.forwarding ?? null },
    };
  }
  if (when === 'applied') return { ok: true, reason: 'ready: config applied and daemons up' };
  if (!snapshot) return { ok: false, reason: 'not ready: no FRR state polled yet' };
  const configured = view.neighbours();
  const up = new Set(snapshot.peers.filter((p) => p.established).map((p) => p.peer));
  const established = configured.filter((n) => up.has(n));
  const details = { established, notEstablished: configured.filter((n) => !up.has(n)) };
  if (when === 'any') {
    return established.length > 0
      ? { ok: true, reason: `ready: ${established.length}/${configured.length} neighbours Established`, details }
      : { ok: false, reason: `not ready: none of ${configured.length} neighbours is Established`, details };
  }
  return established.length === configured.length
    ? { ok: true, reason: `ready: all ${configured.length} neighbours Established`, details }
    : {
        ok: false,
        reason: `not ready: ${configured.length - established.length}/${configured.length} neighbours not Established`,
        details,
      };
}
