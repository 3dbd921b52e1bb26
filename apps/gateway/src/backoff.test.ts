import { backoffMs } from '@starlane/model';
import { controllerRetryBackoff, leaderRetryBackoff } from './backoff';
import { controllerRetryBackoffMsInitial, controllerRetryBackoffMsMax, retryBackoffMsInitial, retryBackoffMsMax } from './limits';

describe('backoffMs', () => {
  it('doubles from the first wait per attempt and stays at the longest', () => {
    expect(Array.from({ length: 8 }, (_, attempt) => backoffMs(attempt, leaderRetryBackoff))).toEqual([10, 20, 40, 80, 160, 250, 250, 250]);
    expect(Array.from({ length: 7 }, (_, attempt) => backoffMs(attempt, controllerRetryBackoff))).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('is bounded for any attempt count, and never below the first wait', () => {
    for (const bounds of [leaderRetryBackoff, controllerRetryBackoff]) {
      for (const attempt of [-5, -1, 0, 0.5, 1, 31, 1_000, 1e9, Number.MAX_SAFE_INTEGER]) {
        const wait = backoffMs(attempt, bounds);
        expect(wait).toBeGreaterThanOrEqual(bounds.initialMs);
        expect(wait).toBeLessThanOrEqual(bounds.maxMs);
      }
    }
  });

  it('uses the named bounds', () => {
    expect(leaderRetryBackoff).toEqual({ initialMs: retryBackoffMsInitial, maxMs: retryBackoffMsMax });
    expect(controllerRetryBackoff).toEqual({ initialMs: controllerRetryBackoffMsInitial, maxMs: controllerRetryBackoffMsMax });
  });
});
