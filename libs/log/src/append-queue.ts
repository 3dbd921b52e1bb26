/**
 * The append path's pure parts: checking and splitting input into batches, the queue of
 * appends waiting for the drain and how much of it one gathered write takes, the continuity a
 * follower's batches must keep, and when the active segment rolls. The serial lane in which the
 * drain and every change to the segment list run is here too.
 */
import { StarlaneError } from '@starlane/model';
import { BatchField, batchHeaderBytes, batchLogOverheadBytes, lastOffset, validateBatch, type BatchHeader } from '@starlane/record-batch';
import type { LogConfig } from './config';
import { storageError } from './partition-files';
import type { Segment } from './segment';

/** Batch bytes one drain writes at most before resolving and starting over. */
export const appendCoalesceBytesMax = 16 * 1024 * 1024;
/** Batch bytes that may wait in the append queue; past this an append is refused (THROTTLING_QUOTA_EXCEEDED). */
export const appendQueueBytesMax = 256 * 1024 * 1024;
/** Largest offset a segment holds relative to its base (index entries are 32-bit). */
export const relativeOffsetMax = 2n ** 31n - 1n;

export interface AppendResult {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** Clock time the batches were written, for LogAppendTime answers. */
  readonly appendTimeMs: number;
}

export interface InputBatch {
  readonly bytes: Buffer;
  readonly header: BatchHeader;
}

export interface PendingAppend {
  readonly batches: readonly InputBatch[];
  readonly bytes: number;
  readonly records: number;
  /** Leader epoch to stamp, or null for a follower append (offsets already assigned). */
  readonly leaderEpoch: number | null;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * Splits and checks input batches: framing, size limit, magic, CRC. Nothing is copied.
 *
 * Only a producer's batches are held to `max.message.bytes`. A follower copies what its
 * leader accepted under the settings of that time; refusing it because the setting was
 * lowered since would leave the replica stuck behind that batch for good. Kafka's follower
 * append skips the record-size check for the same reason (UnifiedLog.appendAsFollower,
 * ignoreRecordSize). Its batches are bounded by the fetch response that carried them.
 */
export function splitInput(records: Buffer, fromProducer: boolean, maxMessageBytes: number): InputBatch[] {
  const batches: InputBatch[] = [];
  let position = 0;
  while (position < records.length) {
    if (records.length - position < batchLogOverheadBytes) throw new StarlaneError('CORRUPT_MESSAGE', `${records.length - position} trailing bytes are not a record batch`);
    const size = records.readInt32BE(position + BatchField.batchLength) + batchLogOverheadBytes;
    // A length past the input is damage; a whole batch over the limit is merely too large.
    if (size < batchHeaderBytes || position + size > records.length) throw new StarlaneError('CORRUPT_MESSAGE', `a record batch claims ${size} bytes but ${records.length - position} remain`);
    if (fromProducer && size > maxMessageBytes) {
      throw new StarlaneError('MESSAGE_TOO_LARGE', `a record batch of ${size} bytes exceeds max.message.bytes (${maxMessageBytes})`);
    }
    const bytes = records.subarray(position, position + size);
    const header = validateBatch(bytes);
    // A producer's batch holds exactly as many records as offsets it claims (Kafka refuses
    // the rest too); otherwise one small batch could burn two billion offsets. Replicated
    // batches may have compaction gaps, so followers only get the general checks.
    if (fromProducer && (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1)) {
      throw new StarlaneError('INVALID_RECORD', `a producer batch of ${header.recordCount} records claims ${header.lastOffsetDelta + 1} offsets`);
    }
    batches.push({ bytes, header });
    position += size;
  }
  if (batches.length === 0) throw new StarlaneError('INVALID_REQUEST', 'an append needs at least one record batch');
  return batches;
}

/** Takes appends off the front of `queue` for one gathered write: at least one, then up to `appendCoalesceBytesMax`. */
export function takeCoalesced(queue: PendingAppend[]): { taken: PendingAppend[]; takenBytes: number } {
  const taken: PendingAppend[] = [];
  let takenBytes = 0;
  while (queue.length > 0 && (taken.length === 0 || takenBytes + (queue[0]?.bytes ?? 0) <= appendCoalesceBytesMax)) {
    const next = queue.shift() as PendingAppend;
    taken.push(next);
    takenBytes += next.bytes;
  }
  return { taken, takenBytes };
}

/**
 * A follower's batches must continue the log at `next` exactly, all of them, before any is
 * written: the base offset of the first batch that does not, or null if they all do.
 */
export function followerDiscontinuity(batches: readonly InputBatch[], next: bigint, gapsAllowed: boolean): bigint | null {
  let expected = next;
  for (const batch of batches) {
    // A compacted leader's batches may skip offsets, never go back.
    if (gapsAllowed ? batch.header.baseOffset < expected : batch.header.baseOffset !== expected) return batch.header.baseOffset;
    expected = lastOffset(batch.header) + 1n;
  }
  return null;
}

/** Whether a batch of `incomingBytes` ending at `incomingLastOffset` must start a new segment. */
export function shouldRoll(active: Segment, config: LogConfig, incomingBytes: number, incomingLastOffset: bigint, nowMs: number, pendingBytes: number): boolean {
  const size = active.size + pendingBytes;
  if (size === 0) return false;
  // Indexes hold offsets relative to the segment's base in 31 bits, as Kafka's do.
  if (incomingLastOffset - active.baseOffset > relativeOffsetMax) return true;
  if (size + incomingBytes > config.segmentBytes) return true;
  return active.firstAppendMs !== null && nowMs - active.firstAppendMs >= config.segmentMs;
}

/** Tasks run one after another, never overlapping; a task that fails does not stop the next. */
export class SerialLane {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `task` after every earlier lane task. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/**
 * Batches bound for one segment, written with one gathered positional write at the segment's
 * end. `bytes` is the running size of `buffers`: summing them per batch would be quadratic.
 */
export class GatheredWrite {
  readonly position: number;
  bytes = 0;
  private readonly buffers: Buffer[] = [];
  private readonly headers: BatchHeader[] = [];
  private readonly positions: number[] = [];

  constructor(readonly segment: Segment) {
    this.position = segment.size;
  }

  get empty(): boolean {
    return this.buffers.length === 0;
  }

  add(bytes: Buffer, header: BatchHeader): void {
    this.positions.push(this.position + this.bytes);
    this.buffers.push(bytes);
    this.bytes += bytes.length;
    this.headers.push(header);
  }

  /** Writes the batches, then indexes them and moves the segment's end past them. */
  async write(indexIntervalBytes: number, nowMs: number): Promise<void> {
    const { segment, position, bytes, buffers, headers, positions } = this;
    try {
      await segment.file.write(buffers, position);
    } catch (error) {
      throw storageError(`cannot write ${segment.logPath}`, error);
    }
    headers.forEach((header, index) => segment.indexBatch(header, positions[index] ?? 0, indexIntervalBytes));
    segment.size = position + bytes;
    segment.dirty = true;
    segment.firstAppendMs ??= nowMs;
  }
}

/** An append whose batches were placed: its offsets and the headers as written. */
export interface AcceptedAppend {
  readonly item: PendingAppend;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly headers: readonly BatchHeader[];
}
