/**
 * Building a RecordBatch v2 from records, and reading records back out of one. Used by clients
 * and the gateway (structured records), by tests, and by the log cleaner; never on a storage
 * node's append or fetch path, which only handles batches as opaque, checked bytes.
 */
import { StarlaneError } from '@starlane/model';
import { BatchAttribute, BatchField, batchHeaderBytes, batchLogOverheadBytes, currentMagic, validateBatch, type BatchHeader } from './batch-header';
import { compress, decompress, type Compression } from './compression';
import { crc32c } from './crc32c';
import { decodeRecords, encodeRecords, type NewRecord, type StoredRecord } from './records';

/** Records one batch may hold: Kafka's offset deltas are int32, and a bound keeps memory sane. */
export const batchRecordsMax = 1_000_000;

export interface BatchOptions {
  readonly baseOffset?: bigint;
  readonly partitionLeaderEpoch?: number;
  readonly compression?: Compression;
  /** Idempotence: -1 / -1 / -1 for a plain producer. */
  readonly producerId?: bigint;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  readonly logAppendTime?: boolean;
}

/** Encodes `records` as one RecordBatch v2 with a correct CRC-32C. */
export async function buildBatch(records: readonly NewRecord[], options: BatchOptions = {}): Promise<Buffer> {
  if (records.length === 0) throw new StarlaneError('INVALID_RECORD', 'a record batch needs at least one record');
  if (records.length > batchRecordsMax) throw new StarlaneError('INVALID_RECORD', `a record batch holds at most ${batchRecordsMax} records`);
  const compression = options.compression ?? 0;
  let baseTimestamp = records[0]?.timestamp ?? 0n;
  let maxTimestamp = baseTimestamp;
  for (const record of records) {
    if (record.timestamp < baseTimestamp) baseTimestamp = record.timestamp;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  const body = await compress(compression, encodeRecords(records, baseTimestamp));
  const batch = Buffer.allocUnsafe(batchHeaderBytes + body.length);
  let attributes = compression;
  if (options.transactional) attributes |= BatchAttribute.transactional;
  if (options.logAppendTime) attributes |= BatchAttribute.logAppendTime;
  batch.writeBigInt64BE(options.baseOffset ?? 0n, BatchField.baseOffset);
  batch.writeInt32BE(batch.length - batchLogOverheadBytes, BatchField.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(currentMagic, BatchField.magic);
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeInt32BE(records.length - 1, BatchField.lastOffsetDelta);
  batch.writeBigInt64BE(baseTimestamp, BatchField.baseTimestamp);
  batch.writeBigInt64BE(maxTimestamp, BatchField.maxTimestamp);
  batch.writeBigInt64BE(options.producerId ?? -1n, BatchField.producerId);
  batch.writeInt16BE(options.producerEpoch ?? -1, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? -1, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordCount);
  body.copy(batch, BatchField.records);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
  return batch;
}

export interface DecodedBatch {
  readonly header: BatchHeader;
  readonly records: StoredRecord[];
}

/** Validates one batch (CRC included), decompresses it and decodes its records. */
export async function readBatch(batch: Buffer): Promise<DecodedBatch> {
  const header = validateBatch(batch);
  if (header.recordCount > batchRecordsMax) throw new StarlaneError('CORRUPT_MESSAGE', `record batch claims ${header.recordCount} records`);
  const body = await decompress(header.compression, batch.subarray(BatchField.records));
  const records = decodeRecords(body, header.recordCount, header.baseOffset, header.baseTimestamp);
  if ((header.attributes & BatchAttribute.logAppendTime) !== 0) {
    // With LogAppendTime the broker's time, kept as maxTimestamp, is every record's timestamp.
    return { header, records: records.map((record) => ({ ...record, timestamp: header.maxTimestamp })) };
  }
  return { header, records };
}

/**
 * Re-encodes `batch` keeping only `kept` of its records, as the log cleaner does: base offset,
 * last offset delta (so the batch still ends where it did), leader epoch, producer fields,
 * attributes and compression stay; records keep their offsets; the CRC is computed anew.
 */
export async function rebuildBatch(header: BatchHeader, kept: readonly StoredRecord[]): Promise<Buffer> {
  if (kept.length === 0) throw new StarlaneError('INVALID_RECORD', 'a rebuilt batch needs at least one record');
  const deltas = kept.map((record) => Number(record.offset - header.baseOffset));
  let maxTimestamp = kept[0]?.timestamp ?? header.baseTimestamp;
  for (const record of kept) if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  const body = await compress(header.compression, encodeRecords(kept, header.baseTimestamp, deltas));
  const batch = Buffer.allocUnsafe(batchHeaderBytes + body.length);
  batch.writeBigInt64BE(header.baseOffset, BatchField.baseOffset);
  batch.writeInt32BE(batch.length - batchLogOverheadBytes, BatchField.batchLength);
  batch.writeInt32BE(header.partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
  batch.writeInt8(currentMagic, BatchField.magic);
  batch.writeInt16BE(header.attributes, BatchField.attributes);
  batch.writeInt32BE(header.lastOffsetDelta, BatchField.lastOffsetDelta);
  batch.writeBigInt64BE(header.baseTimestamp, BatchField.baseTimestamp);
  batch.writeBigInt64BE((header.attributes & BatchAttribute.logAppendTime) !== 0 ? header.maxTimestamp : maxTimestamp, BatchField.maxTimestamp);
  batch.writeBigInt64BE(header.producerId, BatchField.producerId);
  batch.writeInt16BE(header.producerEpoch, BatchField.producerEpoch);
  batch.writeInt32BE(header.baseSequence, BatchField.baseSequence);
  batch.writeInt32BE(kept.length, BatchField.recordCount);
  body.copy(batch, BatchField.records);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
  return batch;
}
