/**
 * The RecordBatch v2 header, read and patched in place on the bytes a producer sent.
 *
 *   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 = 2 |
 *   17 crc u32 | 21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 |
 *   35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 |
 *   57 recordCount i32 | 61 records...
 *
 * The CRC-32C covers bytes 21 to the end. baseOffset, batchLength and partitionLeaderEpoch lie
 * before it, which is why a log can assign offsets and stamp the leader epoch without
 * recomputing the CRC or decompressing anything.
 */
import { StarlaneError } from '@starlane/model';
import { isCompression, type Compression } from './compression';
import { crc32c } from './crc32c';

export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

/** Bytes before batchLength's count starts: baseOffset and batchLength themselves. */
export const batchLogOverheadBytes = 12;
/** A batch with no records. */
export const batchHeaderBytes = BatchField.records;
export const currentMagic = 2;

export const BatchAttribute = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

export interface BatchHeader {
  readonly baseOffset: bigint;
  /** Bytes after the batchLength field; the whole batch is batchLength + 12 bytes. */
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: Compression;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

export function batchSize(header: Pick<BatchHeader, 'batchLength'>): number {
  return header.batchLength + batchLogOverheadBytes;
}

export function lastOffset(header: Pick<BatchHeader, 'baseOffset' | 'lastOffsetDelta'>): bigint {
  return header.baseOffset + BigInt(header.lastOffsetDelta);
}

function corrupt(why: string): StarlaneError {
  return new StarlaneError('CORRUPT_MESSAGE', `record batch is corrupt: ${why}`);
}

/** Reads the header of the batch starting at `position`. Checks only that it fits. */
export function readBatchHeader(buffer: Buffer, position = 0): BatchHeader {
  if (buffer.length - position < batchHeaderBytes) throw corrupt(`${buffer.length - position} bytes cannot hold a ${batchHeaderBytes}-byte header`);
  const at = (field: number): number => position + field;
  const attributes = buffer.readInt16BE(at(BatchField.attributes));
  const compression = attributes & BatchAttribute.compressionMask;
  return {
    baseOffset: buffer.readBigInt64BE(at(BatchField.baseOffset)),
    batchLength: buffer.readInt32BE(at(BatchField.batchLength)),
    partitionLeaderEpoch: buffer.readInt32BE(at(BatchField.partitionLeaderEpoch)),
    magic: buffer.readInt8(at(BatchField.magic)),
    crc: buffer.readUInt32BE(at(BatchField.crc)),
    attributes,
    // Only meaningful once validateBatch has checked it is a known type.
    compression: compression as Compression,
    lastOffsetDelta: buffer.readInt32BE(at(BatchField.lastOffsetDelta)),
    baseTimestamp: buffer.readBigInt64BE(at(BatchField.baseTimestamp)),
    maxTimestamp: buffer.readBigInt64BE(at(BatchField.maxTimestamp)),
    producerId: buffer.readBigInt64BE(at(BatchField.producerId)),
    producerEpoch: buffer.readInt16BE(at(BatchField.producerEpoch)),
    baseSequence: buffer.readInt32BE(at(BatchField.baseSequence)),
    recordCount: buffer.readInt32BE(at(BatchField.recordCount)),
  };
}

/**
 * Checks what can be checked without decompressing: the framing, magic 2, a known
 * compression type, plausible counts, and the CRC-32C over bytes 21..end.
 * `batch` must be exactly one batch.
 */
export function validateBatch(batch: Buffer): BatchHeader {
  const header = readBatchHeader(batch);
  if (header.batchLength < batchHeaderBytes - batchLogOverheadBytes) throw corrupt(`batchLength ${header.batchLength} is below the header size`);
  if (batchSize(header) !== batch.length) throw corrupt(`batchLength says ${batchSize(header)} bytes, the batch has ${batch.length}`);
  if (header.magic !== currentMagic) throw corrupt(`magic ${header.magic} is not supported (only ${currentMagic})`);
  if (!isCompression(header.attributes & BatchAttribute.compressionMask)) throw corrupt(`unknown compression type ${header.attributes & BatchAttribute.compressionMask}`);
  if (header.recordCount < 0) throw corrupt(`negative record count ${header.recordCount}`);
  if (header.lastOffsetDelta < 0 || (header.recordCount > 0 && header.lastOffsetDelta < header.recordCount - 1)) {
    throw corrupt(`lastOffsetDelta ${header.lastOffsetDelta} cannot cover ${header.recordCount} records`);
  }
  const actual = crc32c(batch.subarray(BatchField.attributes));
  if (actual !== header.crc) throw corrupt(`CRC-32C is ${actual.toString(16)}, the header says ${header.crc.toString(16)}`);
  return header;
}

/** Assigns the batch's offsets by rewriting baseOffset in place (outside the CRC). */
export function setBaseOffset(batch: Buffer, baseOffset: bigint, position = 0): void {
  batch.writeBigInt64BE(baseOffset, position + BatchField.baseOffset);
}

/** Stamps the leader epoch in place (outside the CRC). */
export function setPartitionLeaderEpoch(batch: Buffer, epoch: number, position = 0): void {
  batch.writeInt32BE(epoch, position + BatchField.partitionLeaderEpoch);
}

export interface BatchSlice {
  readonly position: number;
  readonly header: BatchHeader;
  /** The batch's bytes: a view into the scanned buffer, not a copy. */
  readonly bytes: Buffer;
}

export interface ScanResult {
  readonly batches: BatchSlice[];
  /** Where the first byte not part of a whole batch starts (buffer.length if none). */
  readonly end: number;
}

/**
 * Splits concatenated batches (Kafka's `records` field, or a log segment's bytes) into views.
 * Stops at the first incomplete or implausible batch and says where; it does not check CRCs
 * (callers that need integrity call validateBatch on each slice).
 */
export function scanBatches(buffer: Buffer, options: { batchBytesMax: number; batchesMax?: number }): ScanResult {
  const batches: BatchSlice[] = [];
  let position = 0;
  while (buffer.length - position >= batchHeaderBytes && batches.length < (options.batchesMax ?? Number.MAX_SAFE_INTEGER)) {
    const batchLength = buffer.readInt32BE(position + BatchField.batchLength);
    const size = batchLength + batchLogOverheadBytes;
    if (batchLength < batchHeaderBytes - batchLogOverheadBytes || size > options.batchBytesMax || position + size > buffer.length) break;
    const bytes = buffer.subarray(position, position + size);
    batches.push({ position, header: readBatchHeader(bytes), bytes });
    position += size;
  }
  return { batches, end: position };
}

/**
 * The records in concatenated batches, from their headers' record counts, without building
 * views or checking CRCs: cheap enough to count every produced and fetched record for the
 * metrics. Stops at the first incomplete or implausible batch, as `scanBatches` does.
 */
export function countRecords(buffer: Buffer): number {
  let records = 0;
  let position = 0;
  while (buffer.length - position >= batchHeaderBytes) {
    const batchLength = buffer.readInt32BE(position + BatchField.batchLength);
    const size = batchLength + batchLogOverheadBytes;
    if (batchLength < batchHeaderBytes - batchLogOverheadBytes || position + size > buffer.length) break;
    records += Math.max(0, buffer.readInt32BE(position + BatchField.recordCount));
    position += size;
  }
  return records;
}
