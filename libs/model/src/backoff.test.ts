import { backoffDoublingsMax, backoffMs } from './backoff';

describe('backoffMs', () => {
  it('doubles from the first wait per attempt and stays at the longest (the worked example)', () => {
    const bounds = { initialMs: 10, maxMs: 250 };
    expect(Array.from({ length: 7 }, (_, attempt) => backoffMs(attempt, bounds))).toEqual([10, 20, 40, 80, 160, 250, 250]);
    expect(backoffMs(1_000_000, bounds)).toBe(250);
  });

  it('is bounded and finite for any attempt count, and never below the first wait', () => {
    const bounds = { initialMs: 1, maxMs: 2 ** 40 };
    for (const attempt of [-5, -1, 0, 0.5, 1, 31, 1_000, 1e9, Number.MAX_SAFE_INTEGER, Infinity]) {
      const wait = backoffMs(attempt, bounds);
      expect(Number.isFinite(wait)).toBe(true);
      expect(wait).toBeGreaterThanOrEqual(bounds.initialMs);
      expect(wait).toBeLessThanOrEqual(2 ** backoffDoublingsMax);
    }
  });

  it('counts a fractional attempt as the whole attempt below it', () => {
    expect(backoffMs(2.9, { initialMs: 100, maxMs: 10_000 })).toBe(400);
  });
});
