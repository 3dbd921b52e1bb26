/**
 * The one back-off rule of every retry the gateway makes: the wait before a retry doubles with
 * each attempt that made no progress, from a named first wait up to a named longest one, so no
 * retry loop can spin however often its answer repeats (a leader that lags, a node that cannot
 * be reached, a controller that redirects in circles). Kafka's clients do the same with
 * `retry.backoff.ms` and `retry.backoff.max.ms` (KIP-580); the gateway leaves out KIP-580's
 * jitter, since its retries already follow metadata changes that arrive at different times.
 *
 * Worked example with the leader bounds (10 ms first, 250 ms longest): attempts 0, 1, 2, 3, 4,
 * 5, 6 wait 10, 20, 40, 80, 160, 250, 250 ms.
 */
import { controllerRetryBackoffMsInitial, controllerRetryBackoffMsMax, retryBackoffMsInitial, retryBackoffMsMax } from './limits';

export interface BackoffBounds {
  /** The wait before the first retry. */
  readonly initialMs: number;
  /** The longest wait, however many attempts failed. */
  readonly maxMs: number;
}

/** Retries of partition requests (writes, reads, offset lookups) across leader changes. */
export const leaderRetryBackoff: BackoffBounds = { initialMs: retryBackoffMsInitial, maxMs: retryBackoffMsMax };

/** Retries of calls on the controller (redirects, no controller reachable). */
export const controllerRetryBackoff: BackoffBounds = { initialMs: controllerRetryBackoffMsInitial, maxMs: controllerRetryBackoffMsMax };

/** Doublings past which the wait is at its bound anyway; keeps 2 ** attempt finite. */
const doublingsMax = 30;

/** The wait before retry number `attempt` (0 for the first retry): `initialMs` doubled per attempt, at most `maxMs`. */
export function backoffMs(attempt: number, bounds: BackoffBounds): number {
  const doublings = Math.min(Math.max(0, Math.floor(attempt)), doublingsMax);
  return Math.min(bounds.maxMs, bounds.initialMs * 2 ** doublings);
}
