/** Restart backoff of a daemon: 0.5 s doubling to 30 s; a daemon that stayed up a minute starts over. */
export const BACKOFF = { initialMs: 500, factor: 2, maxMs: 30_000, stableMs: 60_000 } as const;

export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF.maxMs, BACKOFF.initialMs * BACKOFF.factor ** Math.max(0, failures));
}
