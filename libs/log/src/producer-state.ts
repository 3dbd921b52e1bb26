/**
 * Idempotent-producer state of one partition: Kafka's ProducerStateManager without
 * transactions. For every producer id it keeps the producer epoch and the sequence and offset
 * ranges of the producer's last five batches, which is enough to
 * - answer a retried batch with the offsets it got the first time, instead of appending it
 *   twice (a producer has at most five requests in flight per partition, so a retry is always
 *   one of the last five batches);
 * - refuse a batch that skips sequence numbers (OUT_OF_ORDER_SEQUENCE_NUMBER: an earlier batch
 *   was lost, and appending this one would reorder the producer's records);
 * - fence a zombie producer whose epoch is older than the one seen (INVALID_PRODUCER_EPOCH).
 *
 * The state is a function of the batch headers in the log, so it survives a leader change: a
 * new leader loads the latest snapshot (`fromSnapshot`) and replays `update` over the headers
 * of the batches after the snapshot's offset.
 *
 * Protocol, per batch, in log order: `check` (leader, client produce only) -> append to the
 * log -> `update`. `check` reads only what `update` recorded, so the second batch of a producer
 * in one produce request must be checked after the first was updated.
 *
 * Pure state: no clock (expiry takes `nowMs`), no I/O (the log writes `snapshot()` bytes).
 */
import { StarlaneError, assert } from '@starlane/model';
import { crc32c } from '@starlane/record-batch';

/** The producer id of a batch from a non-idempotent producer (Kafka's NO_PRODUCER_ID). */
export const noProducerId = -1n;
/** Batches remembered per producer: the Java producer's max.in.flight.requests.per.connection cap. */
export const producerBatchesRetained = 5;
/**
 * Producer ids tracked per partition. Each costs a few hundred bytes; past the bound the least
 * recently updated producer is forgotten, which is what expiry would do to it later anyway (it
 * keeps producing, with its next sequence accepted as from an unknown producer; see `check`).
 */
export const producerIdsMax = 1_000_000;

/** Layout of `snapshot()`; see there. */
export const producerSnapshotVersion = 1;
const snapshotCrcOffset = 2;
const snapshotCrcCoverageStart = 6;
const snapshotHeaderBytes = 18;
const snapshotProducerBytes = 8 + 2 + 1;
const snapshotBatchBytes = 4 + 4 + 8 + 8 + 8;
/** Largest snapshot a valid state can produce (about 171 MB at the default bounds). */
export const producerSnapshotBytesMax = snapshotHeaderBytes + producerIdsMax * (snapshotProducerBytes + producerBatchesRetained * snapshotBatchBytes);

const int16Min = -(2 ** 15);
const int16Max = 2 ** 15 - 1;
const int32Min = -(2 ** 31);
const int32Max = 2 ** 31 - 1;
const int64Max = 2n ** 63n - 1n;
const int64Min = -(2n ** 63n);

/** The fields of a RecordBatch v2 header that idempotence looks at (a `BatchHeader` fits). */
export interface ProducerBatchHeader {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
  readonly recordCount: number;
}

/** A batch as appended: with its assigned base offset and its largest timestamp. */
export interface AppendedProducerBatch extends ProducerBatchHeader {
  readonly baseOffset: bigint;
  readonly maxTimestamp: bigint;
}

export type ProducerAppendCheck =
  | { readonly kind: 'append' }
  /** A retry of a batch already in the log: answer success with these offsets, append nothing. */
  | { readonly kind: 'duplicate'; readonly firstOffset: bigint; readonly lastOffset: bigint };

export interface ProducerBatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  /** The batch's maxTimestamp; the newest batch's is the producer's last activity, for expiry. */
  readonly maxTimestamp: bigint;
}

export interface ProducerStateView {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** Oldest first; 1 to `producerBatchesRetained` batches, all of `producerEpoch`. */
  readonly batches: readonly ProducerBatchMetadata[];
  readonly lastTimestamp: bigint;
}

export interface ProducerStateOptions {
  /** Producer ids tracked before the least recently updated is evicted; 1..producerIdsMax. */
  readonly producerIdsMax?: number;
}

interface ProducerEntry {
  producerEpoch: number;
  /** Never empty: a producer whose last batch is gone is forgotten instead (see `truncateTo`). */
  batches: ProducerBatchMetadata[];
}

const append: ProducerAppendCheck = Object.freeze({ kind: 'append' });

/**
 * Sequence of the last record of a batch: sequences are int32 and wrap from 2^31-1 to 0, as in
 * Kafka's DefaultRecordBatch.incrementSequence. A batch at base 2147483646 with lastOffsetDelta 3
 * holds 2147483646, 2147483647, 0, 1: its last sequence is 1.
 */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence > int32Max - lastOffsetDelta) return lastOffsetDelta - (int32Max - baseSequence) - 1;
  return baseSequence + lastOffsetDelta;
}

/** Whether `nextSeq` directly follows `lastSeq`, wrapping 2147483647 -> 0 (Kafka's inSequence). */
export function isNextSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === int32Max);
}

function invalidRecord(batch: ProducerBatchHeader, why: string): StarlaneError {
  return new StarlaneError('INVALID_RECORD', `batch of producer ${batch.producerId}: ${why}`);
}

export class ProducerStateManager {
  /**
   * Map iteration order is insertion order, and `update` re-inserts its producer: the first key
   * is always the least recently updated one. That makes eviction O(1) and the snapshot order
   * (and so its bytes) a function of the sequence of updates alone.
   */
  private readonly producers = new Map<bigint, ProducerEntry>();
  private readonly idsMax: number;
  private nextOffset = 0n;

  constructor(options: ProducerStateOptions = {}) {
    this.idsMax = options.producerIdsMax ?? producerIdsMax;
    assert(Number.isInteger(this.idsMax) && this.idsMax >= 1 && this.idsMax <= producerIdsMax, `producerIdsMax must be in 1..${producerIdsMax}, got ${this.idsMax}`);
  }

  /** Producer ids tracked. */
  get size(): number {
    return this.producers.size;
  }

  /**
   * The offset after the last batch this state has seen (Kafka's mapEndOffset): a snapshot
   * covers the log up to here, and a rebuild replays the log from here.
   */
  get endOffset(): bigint {
    return this.nextOffset;
  }

  producer(producerId: bigint): ProducerStateView | undefined {
    const entry = this.producers.get(producerId);
    return entry === undefined ? undefined : view(producerId, entry);
  }

  /** Tracked producers, least recently updated first. */
  producerStates(): ProducerStateView[] {
    return [...this.producers].map(([producerId, entry]) => view(producerId, entry));
  }

  /**
   * Decides what to do with a batch a client produced, before it is appended. Throws
   * INVALID_RECORD (malformed idempotence fields), INVALID_PRODUCER_EPOCH or
   * OUT_OF_ORDER_SEQUENCE_NUMBER; returns 'duplicate' with the original offsets for a retry.
   *
   * Worked example, producer 7 at epoch 0 with batches of sequences 0-4 (offsets 100-104),
   * 5-9 (110-114) and 10-10 (120-120) in the log:
   * - epoch 0, sequences 5-9: duplicate, offsets 110-114;
   * - epoch 0, sequences 11-12: append;
   * - epoch 0, sequences 12-13: OUT_OF_ORDER_SEQUENCE_NUMBER (11 is missing);
   * - epoch 1, sequence 0: append (a new epoch restarts at 0); epoch 1, sequence 11: out of order;
   * - any batch with producer id -1 (a non-idempotent producer) is appended untracked.
   *
   * An unknown producer id is accepted at any sequence and starts being tracked (Kafka >= 2.5,
   * KIP-360). A producer is unknown here after its state expired, was evicted, or its batches
   * were truncated away, none of which the producer did wrong; Kafka 2.x before KIP-360 answered
   * UNKNOWN_PRODUCER_ID, which forced the client to reset its sequences and so lose
   * idempotence anyway. The price, as in Kafka: a retry of a batch older than the forgotten
   * state is not recognised as a duplicate.
   */
  check(batch: ProducerBatchHeader): ProducerAppendCheck {
    // Kafka's hasProducerId(): any negative id means "not idempotent".
    if (batch.producerId < 0n) return append;
    if (!Number.isInteger(batch.producerEpoch) || batch.producerEpoch < 0 || batch.producerEpoch > int16Max) {
      throw invalidRecord(batch, `producer epoch ${batch.producerEpoch} is not an int16 >= 0`);
    }
    if (!Number.isInteger(batch.baseSequence) || batch.baseSequence < 0 || batch.baseSequence > int32Max) {
      throw invalidRecord(batch, `base sequence ${batch.baseSequence} is not an int32 >= 0`);
    }
    // The sequence range is derived from lastOffsetDelta (as Kafka does), which is only the
    // record count minus one in a batch fresh from a producer: compaction never touched it.
    if (!Number.isInteger(batch.lastOffsetDelta) || batch.lastOffsetDelta < 0 || batch.lastOffsetDelta > int32Max || batch.recordCount !== batch.lastOffsetDelta + 1) {
      throw invalidRecord(batch, `lastOffsetDelta ${batch.lastOffsetDelta} does not match record count ${batch.recordCount}`);
    }

    const entry = this.producers.get(batch.producerId);
    if (entry === undefined) return append;

    const firstSeq = batch.baseSequence;
    if (batch.producerEpoch === entry.producerEpoch) {
      // Duplicates first, as Kafka does: a retry of an earlier batch is out of sequence too.
      const lastSeq = lastSequenceOf(firstSeq, batch.lastOffsetDelta);
      for (const retained of entry.batches) {
        if (retained.firstSeq === firstSeq && retained.lastSeq === lastSeq) {
          return { kind: 'duplicate', firstOffset: retained.firstOffset, lastOffset: retained.lastOffset };
        }
      }
    }
    if (batch.producerEpoch < entry.producerEpoch) {
      throw new StarlaneError(
        'INVALID_PRODUCER_EPOCH',
        `producer ${batch.producerId} has epoch ${batch.producerEpoch}, older than the current epoch ${entry.producerEpoch}`,
      );
    }
    if (batch.producerEpoch > entry.producerEpoch) {
      if (firstSeq !== 0) {
        throw new StarlaneError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${batch.producerId} starts new epoch ${batch.producerEpoch} at sequence ${firstSeq}, not 0`,
        );
      }
      return append;
    }
    const latest = entry.batches[entry.batches.length - 1];
    assert(latest !== undefined, 'a tracked producer has at least one batch');
    if (!isNextSequence(latest.lastSeq, firstSeq)) {
      throw new StarlaneError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${batch.producerId} at epoch ${batch.producerEpoch} sent sequence ${firstSeq}, expected ${lastSequenceOf(latest.lastSeq, 1)}`,
      );
    }
    return append;
  }

  /**
   * Records a batch that is now in the log: after a successful append (leader or follower) and
   * while rebuilding from batch headers. Batches arrive in offset order. Nothing is validated
   * against the current state, as Kafka does for replicated batches: the log is the truth, and
   * a follower must end with the leader's state even if the leader accepted something odd. A
   * different epoch (even a lower one) replaces the producer's batches, as Kafka's
   * ProducerStateEntry.addBatch does.
   *
   * Batches of non-idempotent producers only advance `endOffset`.
   */
  update(batch: AppendedProducerBatch): void {
    assert(batch.baseOffset >= this.nextOffset, `batch at ${batch.baseOffset} is before the end of the producer state at ${this.nextOffset}`);
    assert(Number.isInteger(batch.lastOffsetDelta) && batch.lastOffsetDelta >= 0 && batch.lastOffsetDelta <= int32Max, `lastOffsetDelta ${batch.lastOffsetDelta} is not an int32 >= 0`);
    const lastOffset = batch.baseOffset + BigInt(batch.lastOffsetDelta);
    assert(lastOffset <= int64Max - 1n, `batch end ${lastOffset} overflows int64`);
    this.nextOffset = lastOffset + 1n;
    if (batch.producerId < 0n) return;

    assert(batch.producerId <= int64Max, `producer id ${batch.producerId} overflows int64`);
    assert(Number.isInteger(batch.producerEpoch) && batch.producerEpoch >= int16Min && batch.producerEpoch <= int16Max, `producer epoch ${batch.producerEpoch} is not an int16`);
    assert(Number.isInteger(batch.baseSequence) && batch.baseSequence >= int32Min && batch.baseSequence <= int32Max, `base sequence ${batch.baseSequence} is not an int32`);
    assert(batch.maxTimestamp >= int64Min && batch.maxTimestamp <= int64Max, `timestamp ${batch.maxTimestamp} is not an int64`);

    const metadata: ProducerBatchMetadata = Object.freeze({
      firstSeq: batch.baseSequence,
      lastSeq: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
      firstOffset: batch.baseOffset,
      lastOffset,
      maxTimestamp: batch.maxTimestamp,
    });
    let entry = this.producers.get(batch.producerId);
    if (entry === undefined || entry.producerEpoch !== batch.producerEpoch) {
      entry = { producerEpoch: batch.producerEpoch, batches: [] };
    }
    entry.batches.push(metadata);
    if (entry.batches.length > producerBatchesRetained) entry.batches.shift();
    this.touch(batch.producerId, entry);
  }

  /**
   * The log was truncated to `offset` (it now ends just before it): forget the batches that
   * ended at or after it. A producer left with no batch is forgotten entirely, because its last
   * sequence is then unknown (its earlier batches were not retained here); it becomes an unknown
   * producer, exactly as after expiry. For state identical to the log's, reload the snapshot
   * before `offset` and replay, as Kafka does (`fromSnapshot` + `update`).
   *
   * Producer 7 with batches at 100-104, 110-114, 120-120: truncateTo(110) keeps 100-104;
   * truncateTo(100) forgets producer 7.
   */
  truncateTo(offset: bigint): void {
    assert(offset >= 0n, `truncation offset must be >= 0, got ${offset}`);
    for (const [producerId, entry] of this.producers) {
      while ((entry.batches[entry.batches.length - 1]?.lastOffset ?? -1n) >= offset) entry.batches.pop();
      // Deleting the current key while iterating a Map is well defined.
      if (entry.batches.length === 0) this.producers.delete(producerId);
    }
    if (offset < this.nextOffset) this.nextOffset = offset;
  }

  /**
   * Forgets producers idle for at least `producerIdExpirationMs` (Kafka's
   * producer.id.expiration.ms) by their newest batch's maxTimestamp, which is what Kafka
   * measures too. Returns how many were forgotten.
   */
  expire(nowMs: bigint, producerIdExpirationMs: number): number {
    assert(Number.isSafeInteger(producerIdExpirationMs) && producerIdExpirationMs >= 0, `producerIdExpirationMs must be a safe integer >= 0, got ${producerIdExpirationMs}`);
    const expiration = BigInt(producerIdExpirationMs);
    let expired = 0;
    for (const [producerId, entry] of this.producers) {
      if (nowMs - lastTimestampOf(entry) >= expiration) {
        this.producers.delete(producerId);
        expired++;
      }
    }
    return expired;
  }

  /**
   * The state as bytes, covering the log up to `endOffset`. Big-endian, like Kafka's own
   * producer snapshot (same header, different body):
   *
   *     0   version          int16   (1)
   *     2   crc              uint32  CRC-32C of every byte from offset 6 to the end
   *     6   snapshotOffset   int64   endOffset
   *     14  producerCount    int32
   *     18  producers, least recently updated first:
   *           producerId int64 | producerEpoch int16 | batchCount int8 (1..5)
   *           batchCount x (firstSeq int32 | lastSeq int32 | firstOffset int64 | lastOffset int64 | maxTimestamp int64)
   *
   * Deterministic: equal states (same updates in the same order) give equal bytes.
   */
  snapshot(): Buffer {
    let bytes = snapshotHeaderBytes;
    for (const entry of this.producers.values()) bytes += snapshotProducerBytes + entry.batches.length * snapshotBatchBytes;
    const buffer = Buffer.alloc(bytes);
    let at = buffer.writeInt16BE(producerSnapshotVersion, 0);
    at += 4; // the CRC, filled in last
    at = buffer.writeBigInt64BE(this.nextOffset, at);
    at = buffer.writeInt32BE(this.producers.size, at);
    for (const [producerId, entry] of this.producers) {
      at = buffer.writeBigInt64BE(producerId, at);
      at = buffer.writeInt16BE(entry.producerEpoch, at);
      at = buffer.writeInt8(entry.batches.length, at);
      for (const batch of entry.batches) {
        at = buffer.writeInt32BE(batch.firstSeq, at);
        at = buffer.writeInt32BE(batch.lastSeq, at);
        at = buffer.writeBigInt64BE(batch.firstOffset, at);
        at = buffer.writeBigInt64BE(batch.lastOffset, at);
        at = buffer.writeBigInt64BE(batch.maxTimestamp, at);
      }
    }
    assert(at === bytes, `snapshot wrote ${at} of ${bytes} bytes`);
    buffer.writeUInt32BE(crc32c(buffer.subarray(snapshotCrcCoverageStart)), snapshotCrcOffset);
    return buffer;
  }

  /**
   * Loads a snapshot written by `snapshot()`. A truncated, bit-flipped, unknown-version or
   * inconsistent snapshot is rejected with CORRUPT_MESSAGE; the log then falls back to an older
   * snapshot or to replaying from the log start. A snapshot holding more producers than this
   * manager's `producerIdsMax` loses the least recently updated ones, as live eviction would.
   */
  static fromSnapshot(bytes: Buffer, options: ProducerStateOptions = {}): ProducerStateManager {
    const manager = new ProducerStateManager(options);
    if (bytes.length < snapshotHeaderBytes) throw corrupt(`${bytes.length} bytes cannot hold the ${snapshotHeaderBytes}-byte header`);
    const version = bytes.readInt16BE(0);
    if (version !== producerSnapshotVersion) throw corrupt(`version ${version} is not supported (only ${producerSnapshotVersion})`);
    if (bytes.length > producerSnapshotBytesMax) throw corrupt(`${bytes.length} bytes exceed the ${producerSnapshotBytesMax}-byte maximum`);
    const storedCrc = bytes.readUInt32BE(snapshotCrcOffset);
    const actualCrc = crc32c(bytes.subarray(snapshotCrcCoverageStart));
    if (storedCrc !== actualCrc) throw corrupt(`CRC-32C is ${actualCrc.toString(16)}, the snapshot says ${storedCrc.toString(16)}`);

    // The CRC matched, so what follows guards against a writer bug rather than a bad disk:
    // structure that `snapshot()` never produces is still refused rather than trusted.
    const reader = new SnapshotReader(bytes, snapshotCrcCoverageStart);
    const snapshotOffset = reader.int64('snapshot offset');
    if (snapshotOffset < 0n) throw corrupt(`snapshot offset ${snapshotOffset} is negative`);
    const producerCount = reader.int32('producer count');
    if (producerCount < 0 || producerCount > producerIdsMax) throw corrupt(`producer count ${producerCount} is not in 0..${producerIdsMax}`);

    for (let p = 0; p < producerCount; p++) {
      const producerId = reader.int64('producer id');
      if (producerId < 0n) throw corrupt(`producer ${p} has id ${producerId}`);
      if (manager.producers.has(producerId)) throw corrupt(`producer ${producerId} appears twice`);
      const producerEpoch = reader.int16('producer epoch');
      const batchCount = reader.int8('batch count');
      if (batchCount < 1 || batchCount > producerBatchesRetained) throw corrupt(`producer ${producerId} has ${batchCount} batches, not 1..${producerBatchesRetained}`);
      const batches: ProducerBatchMetadata[] = [];
      for (let b = 0; b < batchCount; b++) {
        const firstSeq = reader.int32('first sequence');
        const lastSeq = reader.int32('last sequence');
        const firstOffset = reader.int64('first offset');
        const lastOffset = reader.int64('last offset');
        const maxTimestamp = reader.int64('max timestamp');
        const previous = batches[batches.length - 1];
        if (firstOffset < (previous === undefined ? 0n : previous.lastOffset + 1n) || lastOffset < firstOffset || lastOffset >= snapshotOffset) {
          throw corrupt(`producer ${producerId} batch ${b} spans offsets ${firstOffset}..${lastOffset}, out of order or past ${snapshotOffset}`);
        }
        const lastOffsetDelta = lastOffset - firstOffset;
        if (lastOffsetDelta > BigInt(int32Max) || lastSequenceOf(firstSeq, Number(lastOffsetDelta)) !== lastSeq) {
          throw corrupt(`producer ${producerId} batch ${b}: sequences ${firstSeq}..${lastSeq} do not match offsets ${firstOffset}..${lastOffset}`);
        }
        batches.push(Object.freeze({ firstSeq, lastSeq, firstOffset, lastOffset, maxTimestamp }));
      }
      manager.touch(producerId, { producerEpoch, batches });
    }
    if (reader.remaining !== 0) throw corrupt(`${reader.remaining} bytes follow the last producer`);
    manager.nextOffset = snapshotOffset;
    return manager;
  }

  /** Makes `producerId` the most recently updated, evicting the least recently updated past the bound. */
  private touch(producerId: bigint, entry: ProducerEntry): void {
    this.producers.delete(producerId);
    this.producers.set(producerId, entry);
    if (this.producers.size > this.idsMax) {
      const oldest = this.producers.keys().next();
      assert(oldest.done !== true, 'an over-full map has a first key');
      this.producers.delete(oldest.value);
    }
    assert(this.producers.size <= this.idsMax, 'producer state stays within producerIdsMax');
  }
}

function lastTimestampOf(entry: ProducerEntry): bigint {
  const latest = entry.batches[entry.batches.length - 1];
  assert(latest !== undefined, 'a tracked producer has at least one batch');
  return latest.maxTimestamp;
}

function view(producerId: bigint, entry: ProducerEntry): ProducerStateView {
  return { producerId, producerEpoch: entry.producerEpoch, batches: [...entry.batches], lastTimestamp: lastTimestampOf(entry) };
}

function corrupt(why: string): StarlaneError {
  return new StarlaneError('CORRUPT_MESSAGE', `producer state snapshot is corrupt: ${why}`);
}

/** Bounds-checked big-endian reads: running off the end is a truncated snapshot, not a RangeError. */
class SnapshotReader {
  constructor(
    private readonly bytes: Buffer,
    private at: number,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  int8(what: string): number {
    this.need(1, what);
    const value = this.bytes.readInt8(this.at);
    this.at += 1;
    return value;
  }

  int16(what: string): number {
    this.need(2, what);
    const value = this.bytes.readInt16BE(this.at);
    this.at += 2;
    return value;
  }

  int32(what: string): number {
    this.need(4, what);
    const value = this.bytes.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  int64(what: string): bigint {
    this.need(8, what);
    const value = this.bytes.readBigInt64BE(this.at);
    this.at += 8;
    return value;
  }

  private need(count: number, what: string): void {
    if (this.remaining < count) throw corrupt(`truncated: ${what} at byte ${this.at} needs ${count} bytes, ${this.remaining} remain`);
  }
}
