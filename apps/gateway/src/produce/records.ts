/**
 * Structured records in, one RecordBatch v2 out: the one place the gateway encodes batches
 * (docs/data-plane.md). Raw `record_batches` payloads never come here.
 */
import { StarlaneError } from '@starlane/model';
import { buildBatch, Compression, type NewRecord } from '@starlane/record-batch';
import type { v1 } from '@starlane/proto';
import { producerEpochMax, produceRecordsMax } from '../limits';

/** Kafka's default `max.message.bytes` (1 MiB + the 12-byte log overhead). */
export const maxMessageBytesDefault = 1024 * 1024 + 12;

const compressionByName: Readonly<Record<string, Compression>> = {
  uncompressed: Compression.none,
  none: Compression.none,
  gzip: Compression.gzip,
  snappy: Compression.snappy,
  lz4: Compression.lz4,
  zstd: Compression.zstd,
};

/**
 * The codec for batches the gateway builds, from the topic's `compression.type`: `producer`
 * (Kafka's default) and unset leave them uncompressed, since the gateway is the producer here.
 */
export function compressionForTopic(compressionType: string | undefined): Compression {
  if (compressionType === undefined || compressionType === 'producer') return Compression.none;
  const compression = compressionByName[compressionType.trim().toLowerCase()];
  if (compression === undefined) throw new StarlaneError('UNSUPPORTED_COMPRESSION_TYPE', `the topic's compression.type ${JSON.stringify(compressionType)} is not one the gateway can write`);
  return compression;
}

/** `max.message.bytes` from a topic's effective configs, or Kafka's default. */
export function maxMessageBytes(value: string | undefined): number {
  const parsed = value === undefined ? Number.NaN : Number(value);
  return Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : maxMessageBytesDefault;
}

/** Whether `cleanup.policy` includes compaction (null keys are then refused). */
export function isCompacted(cleanupPolicy: string | undefined): boolean {
  return cleanupPolicy !== undefined && cleanupPolicy.split(',').some((policy) => policy.trim() === 'compact');
}

export interface RecordsToBatchOptions {
  readonly compression: Compression;
  /** Stamped on records whose timestamp is 0. */
  readonly nowMs: number;
  readonly compacted: boolean;
  readonly maxMessageBytes: number;
}

/** A failure of one entry, with the record errors Kafka's ProduceResponse carries. */
export class RecordsRejected extends StarlaneError {
  constructor(
    code: StarlaneError['code'],
    message: string,
    readonly recordErrors: readonly { readonly recordIndex: number; readonly message: string }[] = [],
  ) {
    super(code, message);
  }
}

/** Checks the idempotence fields of a structured payload (set or not). */
export function validateProducerIdentity(records: v1.ProduceRecords): void {
  const producer = records.producer;
  if (producer === undefined) return;
  if (producer.producerId < 0n) throw new StarlaneError('INVALID_REQUEST', `producer_id ${producer.producerId} is negative`);
  if (producer.producerEpoch < 0 || producer.producerEpoch > producerEpochMax) {
    throw new StarlaneError('INVALID_REQUEST', `producer_epoch ${producer.producerEpoch} is outside 0..${producerEpochMax}`);
  }
  if (records.baseSequence < 0) throw new StarlaneError('INVALID_REQUEST', `base_sequence ${records.baseSequence} is negative`);
}

/**
 * Encodes `records` as one batch: timestamps of 0 become `nowMs`, the topic's compression
 * applies, and idempotence fields go into the header. Throws RecordsRejected (INVALID_RECORD
 * with record errors, INVALID_TIMESTAMP, MESSAGE_TOO_LARGE) or StarlaneError.
 */
export async function recordsToBatch(records: v1.ProduceRecords, options: RecordsToBatchOptions): Promise<Buffer> {
  const list = records.records;
  if (list.length === 0) throw new StarlaneError('INVALID_REQUEST', 'the records payload holds no record');
  if (list.length > produceRecordsMax) throw new RecordsRejected('MESSAGE_TOO_LARGE', `${list.length} records in one entry; at most ${produceRecordsMax}`);
  validateProducerIdentity(records);
  const now = BigInt(options.nowMs);
  const converted: NewRecord[] = new Array<NewRecord>(list.length);
  const nullKeys: { recordIndex: number; message: string }[] = [];
  for (let index = 0; index < list.length; index++) {
    const record = list[index]!;
    if (record.timestampMs < 0n) {
      throw new RecordsRejected('INVALID_TIMESTAMP', `record ${index} has a negative timestamp ${record.timestampMs}`, [{ recordIndex: index, message: 'negative timestamp' }]);
    }
    const key = record.nullableKey?.value ?? null;
    if (key === null && options.compacted) nullKeys.push({ recordIndex: index, message: 'a compacted topic needs a key on every record' });
    converted[index] = {
      key,
      value: record.nullableValue?.value ?? null,
      headers: record.headers.map((header) => ({ key: header.key, value: header.nullableValue?.value ?? null })),
      timestamp: record.timestampMs === 0n ? now : record.timestampMs,
    };
  }
  if (nullKeys.length > 0) throw new RecordsRejected('INVALID_RECORD', `${nullKeys.length} records without a key on a compacted topic`, nullKeys);
  const producer = records.producer;
  const batch = await buildBatch(converted, {
    compression: options.compression,
    ...(producer === undefined ? {} : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: records.baseSequence }),
  });
  if (batch.length > options.maxMessageBytes) {
    throw new RecordsRejected('MESSAGE_TOO_LARGE', `the records make a batch of ${batch.length} bytes; the topic's max.message.bytes is ${options.maxMessageBytes}`);
  }
  return batch;
}

/**
 * The one key all records of a `partition = -1` entry share: a Buffer, null when every key is
 * null, or undefined when the keys differ (the entry would span partitions).
 */
export function sharedKey(records: readonly v1.Record[]): Buffer | null | undefined {
  const first = records[0]?.nullableKey?.value ?? null;
  for (let index = 1; index < records.length; index++) {
    const key = records[index]!.nullableKey?.value ?? null;
    if (key === null ? first !== null : first === null || !key.equals(first)) return undefined;
  }
  return first;
}
