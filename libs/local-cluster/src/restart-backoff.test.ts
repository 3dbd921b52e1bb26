import { RestartBackoff, restartBackoffMsMax, restartBackoffMsMin, stableUptimeMs } from './restart-backoff';

describe('RestartBackoff', () => {
  it('doubles the delay with each fast failure in a row, up to the ceiling, and says when the process crash-loops', () => {
    const backoff = new RestartBackoff();
    const delays = Array.from({ length: 8 }, () => backoff.onExit(500));
    expect(delays.map((decision) => decision.delayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(delays.map((decision) => decision.failuresInARow)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(delays.map((decision) => decision.crashLooping)).toEqual([false, false, false, false, false, true, true, true]);
  });

  it('starts over after a run of stableUptimeMs: the next failure waits the minimum again', () => {
    const backoff = new RestartBackoff();
    for (let failure = 0; failure < 10; failure++) backoff.onExit(0);
    expect(backoff.onExit(stableUptimeMs)).toEqual({ delayMs: restartBackoffMsMin, failuresInARow: 1, crashLooping: false });
    expect(backoff.onExit(stableUptimeMs - 1).delayMs).toBe(2 * restartBackoffMsMin);
  });

  it('never waits longer than the ceiling however long a process keeps failing', () => {
    const backoff = new RestartBackoff();
    let last = backoff.onExit(0);
    for (let failure = 0; failure < 10_000; failure++) last = backoff.onExit(0);
    expect(last.delayMs).toBe(restartBackoffMsMax);
    expect(Number.isFinite(last.delayMs)).toBe(true);
  });
});
