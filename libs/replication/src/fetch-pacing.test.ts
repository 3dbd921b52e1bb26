import { FetchPacing } from './fetch-pacing';

const bounds = { backoffMsInitial: 200, backoffMsMax: 2_000, repeatLogIntervalMs: 30_000 };

describe('fetch pacing', () => {
  it('doubles the back-off for each failure in a row up to the maximum, and starts over after progress', () => {
    const pacing = new FetchPacing(bounds);
    const delays = [0, 1, 2, 3, 4, 5].map(() => pacing.failed(1_000) - 1_000);
    expect(delays).toEqual([200, 400, 800, 1_600, 2_000, 2_000]);
    expect(pacing.failures).toBe(6);
    pacing.progressed();
    expect(pacing.failed(5_000)).toBe(5_200);
  });

  it('acts on a truncation answer once; the same answer for the same log state is a repeat that backs off', () => {
    const pacing = new FetchPacing(bounds);
    const stuck = { logEndOffset: 10n, lastEpoch: 2 };
    expect(pacing.truncation('epoch 0 ends at 10', stuck, 0)).toEqual({ kind: 'act' });
    expect(pacing.truncation('epoch 0 ends at 10', stuck, 5)).toEqual({ kind: 'repeated', retryAtMs: 205, report: true, repeats: 1 });
    expect(pacing.truncation('epoch 0 ends at 10', stuck, 300)).toEqual({ kind: 'repeated', retryAtMs: 700, report: false, repeats: 1 });
    expect(pacing.truncation('epoch 0 ends at 10', stuck, 800)).toEqual({ kind: 'repeated', retryAtMs: 1_600, report: false, repeats: 2 });
    // Reported again once the interval has passed, with every repeat since the last report.
    expect(pacing.truncation('epoch 0 ends at 10', stuck, 30_005)).toEqual({ kind: 'repeated', retryAtMs: 31_605, report: true, repeats: 3 });
  });

  it('acts again when the answer or the log state changed, and after progress', () => {
    const pacing = new FetchPacing(bounds);
    expect(pacing.truncation('epoch 3 ends at 40', { logEndOffset: 50n, lastEpoch: 4 }, 0).kind).toBe('act');
    // KIP-101 rounds: each answer after a cut meets a new log state.
    expect(pacing.truncation('epoch 3 ends at 40', { logEndOffset: 40n, lastEpoch: 3 }, 1).kind).toBe('act');
    expect(pacing.truncation('epoch 2 ends at 30', { logEndOffset: 40n, lastEpoch: 3 }, 2).kind).toBe('act');
    pacing.progressed();
    expect(pacing.truncation('epoch 2 ends at 30', { logEndOffset: 40n, lastEpoch: 3 }, 3).kind).toBe('act');
    expect(pacing.failures).toBe(0);
  });
});
