/**
 * Reading whole batches out of one segment, by offset (through the sparse offset index) or by
 * timestamp (through the time index). The log decides which segments to ask; this finds the
 * bytes.
 */
import { StarlaneError } from '@starlane/model';
import { batchHeaderBytes, batchLogOverheadBytes, batchSize, currentMagic, lastOffset, readBatch, readBatchHeader, scanBatches, type BatchHeader } from '@starlane/record-batch';
import type { IndexCache } from './index-cache';
import { storedBatchBytesMax } from './partition-files';
import type { Segment } from './segment';

/** Extra bytes a read into a caller's buffer takes beyond maxBytes, to finish a first batch
 * that is slightly larger without another read. */
export const readSlackBytes = 64 * 1024;

export interface SegmentReadRules {
  /** Whether offsets may have gaps (the log is or was compacted). */
  readonly gapsAllowed: boolean;
  readonly maxMessageBytes: number;
  readonly indexIntervalBytes: number;
}

export interface SegmentRead {
  readonly records: Buffer;
  readonly nextOffset: bigint;
}

/** Index of the last segment whose base offset is at or below `offset` (0 if none). */
export function segmentIndexFor(segments: readonly Segment[], offset: bigint): number {
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if ((segments[middle]?.baseOffset ?? 0n) <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** Batches of `segment` from the one holding `offset`, below `limit`, up to `maxBytes`; null if none. */
export async function readFromSegment(
  indexCache: IndexCache,
  segment: Segment,
  offset: bigint,
  limit: bigint,
  maxBytes: number,
  buffer: Buffer | undefined,
  rules: SegmentReadRules,
): Promise<SegmentRead | null> {
  const indexes = segment.indexesLoaded ? indexCache.touch(segment) : await indexCache.indexesOf(segment, rules.indexIntervalBytes, storedBatchBytesMax);
  const indexed = indexes.offset.lookup(Math.max(0, Number(offset - segment.baseOffset)));
  try {
    return await readFromPosition(segment, indexed, offset, limit, maxBytes, buffer, rules);
  } catch (error) {
    // A damaged index entry can point into the middle of a batch; the batches themselves may
    // be fine. Walking from the segment's start is slower but needs no index.
    if (indexed === 0 || !(error instanceof StarlaneError && error.code === 'CORRUPT_MESSAGE')) throw error;
    return readFromPosition(segment, 0, offset, limit, maxBytes, buffer, rules);
  }
}

/** Bytes of a segment read into memory, starting at file position `at`. */
class ReadWindow {
  bytes: Buffer = Buffer.alloc(0);
  at: number;

  constructor(
    private readonly segment: Segment,
    private readonly committed: number,
    private readonly buffer: Buffer | undefined,
    start: number,
  ) {
    this.at = start;
  }

  /** Replaces the window with `length` bytes from `from` (into the caller's buffer when it fits). */
  async fill(from: number, length: number): Promise<void> {
    const wanted = Math.min(length, this.committed - from);
    const buffer = this.buffer;
    this.bytes = buffer !== undefined && buffer.length >= wanted ? buffer.subarray(0, wanted) : Buffer.allocUnsafe(wanted);
    this.at = from;
    const read = await this.segment.file.read(this.bytes, 0, wanted, from);
    this.bytes = this.bytes.subarray(0, read);
  }

  /** Reads on until the bytes in hand reach `end`, keeping what was already read. */
  async extendTo(end: number): Promise<void> {
    const have = this.bytes.length;
    const wanted = Math.min(end, this.committed) - this.at;
    if (wanted <= have) return;
    let grown: Buffer;
    const buffer = this.buffer;
    if (this.bytes.buffer === buffer?.buffer && buffer.length >= wanted) {
      grown = buffer.subarray(0, wanted);
    } else {
      grown = Buffer.allocUnsafe(wanted);
      this.bytes.copy(grown, 0, 0, have);
    }
    const read = await this.segment.file.read(grown, have, wanted - have, this.at + have);
    this.bytes = grown.subarray(0, have + read);
  }
}

/**
 * One positional read from `start` (a batch boundary at or before `offset`), then everything
 * else in memory. Reads again only when the index entry lies further back than `maxBytes`
 * or the first wanted batch is larger than what was read.
 */
async function readFromPosition(
  segment: Segment,
  start: number,
  offset: bigint,
  limit: bigint,
  maxBytes: number,
  buffer: Buffer | undefined,
  rules: SegmentReadRules,
): Promise<SegmentRead | null> {
  const committed = segment.size;
  const { gapsAllowed } = rules;
  let position = start;
  const window = new ReadWindow(segment, committed, buffer, position);
  // With a caller's buffer to spare, read a little past maxBytes: a first batch slightly over
  // the limit (common when batches and maxBytes are both ~1 MiB) then needs no second read.
  const slack = buffer === undefined ? 0 : Math.max(0, Math.min(buffer.length - maxBytes, readSlackBytes));
  const firstRead = Math.max(maxBytes, batchHeaderBytes) + slack;
  await window.fill(position, firstRead);
  // Walk batch headers from the index entry to the batch holding `offset`.
  let first: BatchHeader;
  for (;;) {
    if (position + batchHeaderBytes > committed) return null;
    if (position + batchHeaderBytes > window.at + window.bytes.length) await window.fill(position, firstRead);
    const header = readBatchHeader(window.bytes, position - window.at);
    // A damaged index entry can point at bytes that are no batch header: check that it is one
    // before trusting its offsets (the caller then walks from the segment's start).
    if (
      header.magic !== currentMagic ||
      header.batchLength < batchHeaderBytes - batchLogOverheadBytes ||
      position + batchSize(header) > committed ||
      header.baseOffset < segment.baseOffset ||
      header.baseOffset >= segment.nextOffset
    ) {
      throw new StarlaneError('CORRUPT_MESSAGE', `no batch boundary at position ${position} of ${segment.logPath}`);
    }
    if (header.baseOffset >= limit) return null;
    if (lastOffset(header) >= offset) {
      first = header;
      break;
    }
    position += batchSize(header);
  }
  if (first.baseOffset > offset && !gapsAllowed) {
    throw new StarlaneError('CORRUPT_MESSAGE', `the batch found for offset ${offset} in ${segment.logPath} starts at ${first.baseOffset}`);
  }
  // The first wanted batch is returned whole, even past maxBytes: read the rest of it.
  const firstSize = batchSize(first);
  await window.extendTo(position + firstSize);
  const region = window.bytes.subarray(position - window.at);
  const scan = scanBatches(region, { batchBytesMax: Math.max(firstSize, rules.maxMessageBytes, maxBytes) });
  let end = 0;
  let nextOffset = offset;
  for (const batch of scan.batches) {
    if (batch.header.baseOffset >= limit) break;
    if (end > 0 && (gapsAllowed ? batch.header.baseOffset < nextOffset : batch.header.baseOffset !== nextOffset)) break;
    if (end > 0 && batch.position + batch.bytes.length > maxBytes) break;
    end = batch.position + batch.bytes.length;
    nextOffset = lastOffset(batch.header) + 1n;
  }
  if (end === 0) return null;
  return { records: region.subarray(0, end), nextOffset };
}

/**
 * Kafka's ListOffsets by time over `segments`: the first record whose timestamp is at or after
 * `timestampMs` and whose offset is at or past `logStart()`, or null if every record is older.
 */
export async function findOffsetForTimestamp(
  segments: readonly Segment[],
  indexCache: IndexCache,
  indexIntervalBytes: number,
  timestampMs: bigint,
  logStart: () => bigint,
): Promise<{ offset: bigint; timestampMs: bigint } | null> {
  for (const segment of segments) {
    if (segment.maxTimestamp < timestampMs) continue;
    const indexes = await indexCache.indexesOf(segment, indexIntervalBytes, storedBatchBytesMax);
    let from = indexes.offset.lookup(indexes.time.lookup(timestampMs));
    // A batch's maxTimestamp comes from its producer and says only that some record may
    // qualify: keep looking through the segment until a record really does.
    while (from < segment.size) {
      let candidate: { bytes: Buffer; end: number } | null = null;
      await segment.scan(from, segment.size, storedBatchBytesMax, (batch) => {
        if (batch.header.maxTimestamp < timestampMs || lastOffset(batch.header) < logStart()) return true;
        candidate = { bytes: Buffer.from(batch.bytes), end: batch.position + batch.bytes.length };
        return false;
      });
      if (candidate === null) break;
      const found: { bytes: Buffer; end: number } = candidate;
      const { records } = await readBatch(found.bytes);
      const record = records.find((r) => r.timestamp >= timestampMs && r.offset >= logStart());
      if (record !== undefined) return { offset: record.offset, timestampMs: record.timestamp };
      from = found.end;
    }
  }
  return null;
}
