/**
 * Which closed segments retention deletes, decided from their summaries alone (pure, so it is
 * tested without files). Kafka's rules: a segment goes when its newest record is older than
 * `retention.ms`, or while the log without it would still be at least `retention.bytes`.
 * Deletion is always a prefix of the log: offsets never get holes in the middle.
 */
import type { LogConfig } from './config';

export interface SegmentSummary {
  readonly baseOffset: bigint;
  readonly sizeBytes: number;
  /** Largest record timestamp in the segment; -1 if it has none. */
  readonly maxTimestamp: bigint;
}

/**
 * How many of the oldest segments to delete. `segments` is the whole log in offset order; the
 * last one is the active segment and is never deleted.
 */
export function segmentsToDelete(segments: readonly SegmentSummary[], config: Pick<LogConfig, 'retentionMs' | 'retentionBytes' | 'cleanupPolicy'>, nowMs: number): number {
  if (config.cleanupPolicy === 'compact') return 0;
  let totalBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  let count = 0;
  for (const segment of segments.slice(0, -1)) {
    // An empty closed segment (compaction can leave one) holds nothing to keep.
    const expired = config.retentionMs >= 0 && (segment.sizeBytes === 0 || (segment.maxTimestamp >= 0n && segment.maxTimestamp < BigInt(nowMs - config.retentionMs)));
    const oversize = config.retentionBytes >= 0 && totalBytes - segment.sizeBytes >= config.retentionBytes;
    if (!expired && !oversize) break;
    totalBytes -= segment.sizeBytes;
    count++;
  }
  return count;
}

/**
 * `count` (from segmentsToDelete) cut back so that no segment holding an offset at or past
 * `retainFrom` goes: a segment may go only if every offset in it lies below the bound, that is,
 * if the next one starts there or before. Unbounded when `retainFrom` is undefined.
 */
export function boundRetention(segments: readonly SegmentSummary[], count: number, retainFrom: bigint | undefined): number {
  let bounded = count;
  while (retainFrom !== undefined && bounded > 0 && (segments[bounded] as SegmentSummary).baseOffset > retainFrom) bounded -= 1;
  return bounded;
}
