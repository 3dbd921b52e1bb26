/**
 * The log cleaner's decisions for `cleanup.policy=compact`, kept pure: which records of a
 * closed segment survive. A record survives unless a later record in the cleaned range has the
 * same key, or it is a tombstone (null value) older than `delete.retention.ms`. Records with a
 * null key cannot be compacted and are dropped (Kafka refuses them on compacted topics at
 * produce time; batches here arrive opaque, so the cleaner enforces it).
 */
import type { StoredRecord } from '@starlane/record-batch';

/** Distinct keys one cleaning pass aims to track: checked between segments, so one segment's
 * keys may carry the map past it; the pass then cleans only the segments read so far. */
export const compactionKeysMax = 1_000_000;

export function compactionKey(record: Pick<StoredRecord, 'key'>): string | null {
  return record.key === null ? null : record.key.toString('base64');
}

/** Newest offset of each key over a range of the log, bounded by `compactionKeysMax`. */
export class LatestOffsets {
  private readonly latest = new Map<string, bigint>();

  get size(): number {
    return this.latest.size;
  }

  get full(): boolean {
    return this.latest.size >= compactionKeysMax;
  }

  record(record: Pick<StoredRecord, 'key' | 'offset'>): void {
    const key = compactionKey(record);
    if (key !== null) this.latest.set(key, record.offset);
  }

  newest(record: Pick<StoredRecord, 'key'>): bigint | undefined {
    const key = compactionKey(record);
    return key === null ? undefined : this.latest.get(key);
  }
}

/** Whether `record` survives cleaning. `tombstoneHorizon`: tombstones older than this go. */
export function survivesCompaction(record: StoredRecord, latest: LatestOffsets, tombstoneHorizon: bigint): boolean {
  if (record.key === null) return false;
  const newest = latest.newest(record);
  if (newest !== undefined && record.offset < newest) return false;
  return !(record.value === null && record.timestamp < tombstoneHorizon);
}
