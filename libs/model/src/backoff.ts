/**
 * The one bounded exponential back-off rule of every retry in Starlane: the wait doubles with
 * each attempt that made no progress, from a named first wait up to a named longest one, so no
 * retry loop can spin however often its answer repeats. Kafka's clients do the same with
 * `retry.backoff.ms` and `retry.backoff.max.ms` (KIP-580), its replica fetcher with
 * `replica.fetch.backoff.ms`, Kubernetes with CrashLoopBackOff.
 *
 * Only the arithmetic lives here. Each place keeps its own named bounds and decides what counts
 * as an attempt and when the count starts over (an accepted heartbeat, a run that lasted, a
 * fetch that made progress), and whether some case goes without a delay at all.
 *
 * Worked example with bounds of 10 ms first and 250 ms longest: attempts 0, 1, 2, 3, 4, 5, 6
 * wait 10, 20, 40, 80, 160, 250, 250 ms; attempt 1,000,000 waits 250 ms too.
 */

export interface BackoffBounds {
  /** The wait before the first retry. */
  readonly initialMs: number;
  /** The longest wait, however many attempts failed. */
  readonly maxMs: number;
}

/** Doublings past which the wait is at its bound anyway (for any ratio of bounds below 2^30); keeps 2 ** attempt finite. */
export const backoffDoublingsMax = 30;

/** The wait before retry number `attempt` (0 for the first retry): `initialMs` doubled per attempt, at most `maxMs`. */
export function backoffMs(attempt: number, bounds: BackoffBounds): number {
  const doublings = Math.min(Math.max(0, Math.floor(attempt)), backoffDoublingsMax);
  return Math.min(bounds.maxMs, bounds.initialMs * 2 ** doublings);
}
