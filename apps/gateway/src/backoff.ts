/**
 * The back-off bounds of every retry the gateway makes, under the one rule of `backoffMs`
 * (@starlane/model): the wait doubles with each attempt that made no progress, so no retry loop
 * can spin however often its answer repeats (a leader that lags, a node that cannot be reached,
 * a controller that redirects in circles). Kafka's clients do the same with `retry.backoff.ms`
 * and `retry.backoff.max.ms` (KIP-580); the gateway leaves out KIP-580's jitter, since its
 * retries already follow metadata changes that arrive at different times.
 *
 * Worked example with the leader bounds (10 ms first, 250 ms longest): attempts 0, 1, 2, 3, 4,
 * 5, 6 wait 10, 20, 40, 80, 160, 250, 250 ms.
 */
import type { BackoffBounds } from '@starlane/model';
import { controllerRetryBackoffMsInitial, controllerRetryBackoffMsMax, retryBackoffMsInitial, retryBackoffMsMax } from './limits';

/** Retries of partition requests (writes, reads, offset lookups) across leader changes. */
export const leaderRetryBackoff: BackoffBounds = { initialMs: retryBackoffMsInitial, maxMs: retryBackoffMsMax };

/** Retries of calls on the controller (redirects, no controller reachable). */
export const controllerRetryBackoff: BackoffBounds = { initialMs: controllerRetryBackoffMsInitial, maxMs: controllerRetryBackoffMsMax };
