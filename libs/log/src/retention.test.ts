import { segmentsToDelete, type SegmentSummary } from './retention';

const policy = { retentionMs: 1000, retentionBytes: -1, cleanupPolicy: 'delete' as const };
const segment = (baseOffset: bigint, sizeBytes: number, maxTimestamp: bigint): SegmentSummary => ({ baseOffset, sizeBytes, maxTimestamp });

describe('segmentsToDelete', () => {
  it('deletes expired segments from the oldest, never the active one', () => {
    const segments = [segment(0n, 100, 10n), segment(10n, 100, 20n), segment(20n, 100, 5000n), segment(30n, 0, -1n)];
    expect(segmentsToDelete(segments, policy, 2000)).toBe(2);
    expect(segmentsToDelete([segment(0n, 100, 10n)], policy, 99_999)).toBe(0);
  });

  it('does not let an empty segment (left by compaction) block time retention', () => {
    const segments = [segment(0n, 100, 10n), segment(10n, 0, -1n), segment(20n, 100, 30n), segment(30n, 10, 5000n)];
    expect(segmentsToDelete(segments, { ...policy, cleanupPolicy: 'compact,delete' as const }, 2000)).toBe(3);
  });

  it('deletes by size while the rest still reaches retention.bytes', () => {
    const segments = [segment(0n, 100, 10n), segment(10n, 100, 20n), segment(20n, 100, 30n), segment(30n, 50, 40n)];
    expect(segmentsToDelete(segments, { retentionMs: -1, retentionBytes: 150, cleanupPolicy: 'delete' }, 0)).toBe(2);
  });

  it('never deletes under cleanup.policy=compact', () => {
    expect(segmentsToDelete([segment(0n, 100, 10n), segment(10n, 1, 20n)], { ...policy, cleanupPolicy: 'compact' }, 99_999)).toBe(0);
  });
});
