/**
 * What the gateway does to a storage node's read result before a client sees it: trims a
 * trailing partial batch, works out next_offset from the batch headers, and for
 * RECORD_FORMAT_RECORDS decodes the batches into records (dropping records before the
 * requested offset and control records). BYTES results pass through as views of the
 * received buffer.
 */
import { type StarlaneError, wireErrorCode } from '@starlane/model';
import { BatchAttribute, lastOffset, readBatch, scanBatches } from '@starlane/record-batch';
import { v1 } from '@starlane/proto';
import { asStarlaneError } from '../produce/partition-writer';

/** Largest single batch the gateway will frame while scanning a read result. */
const scanBatchBytesMax = 2 ** 31 - 1;

export interface NormalizedRead {
  /** Whole batches only (a view of the node's buffer). */
  readonly batches: Buffer;
  /** Where the next read of this partition starts. */
  readonly nextOffset: bigint;
}

/**
 * Whole batches of `result` and the offset after them. The node's next_offset is trusted when
 * it is ahead (a compacted range with no batch left), never when it is behind the batches.
 */
export function normalizeRead(result: v1.FetchPartitionResult, requestedOffset: bigint): NormalizedRead {
  const payload = result.payload;
  const bytes = payload?.$case === 'recordBatches' ? payload.value : Buffer.alloc(0);
  const scan = scanBatches(bytes, { batchBytesMax: scanBatchBytesMax });
  let nextOffset = requestedOffset;
  const last = scan.batches[scan.batches.length - 1];
  if (last !== undefined) nextOffset = lastOffset(last.header) + 1n;
  if (result.nextOffset > nextOffset && scan.end === bytes.length) nextOffset = result.nextOffset;
  return { batches: scan.end === bytes.length ? bytes : bytes.subarray(0, scan.end), nextOffset };
}

/** Decodes batches into structured records at or after `fromOffset`, skipping control batches. */
export async function batchesToRecords(batches: Buffer, fromOffset: bigint): Promise<v1.Record[]> {
  const records: v1.Record[] = [];
  const scan = scanBatches(batches, { batchBytesMax: scanBatchBytesMax });
  for (const slice of scan.batches) {
    if ((slice.header.attributes & BatchAttribute.control) !== 0) continue;
    if (lastOffset(slice.header) < fromOffset) continue;
    const decoded = await readBatch(slice.bytes);
    const timestampType = (decoded.header.attributes & BatchAttribute.logAppendTime) !== 0 ? v1.TimestampType.LOG_APPEND_TIME : v1.TimestampType.CREATE_TIME;
    for (const record of decoded.records) {
      if (record.offset < fromOffset) continue;
      records.push({
        nullableKey: record.key === null ? undefined : { $case: 'key', value: record.key },
        nullableValue: record.value === null ? undefined : { $case: 'value', value: record.value },
        headers: record.headers.map((header) => ({ key: header.key, nullableValue: header.value === null ? undefined : { $case: 'value', value: header.value } })),
        timestampMs: record.timestamp,
        offset: record.offset,
        timestampType,
        leaderEpoch: decoded.header.partitionLeaderEpoch,
      });
    }
  }
  return records;
}

/** An error result for one partition. */
export function fetchErrorResult(at: { topic: string; partition: number }, error: StarlaneError): v1.FetchPartitionResult {
  return {
    topic: at.topic,
    partition: at.partition,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    nextOffset: -1n,
    payload: undefined,
    errorCode: wireErrorCode(error.code) as v1.ErrorCode,
    errorMessage: error.message,
  };
}

/**
 * The client's view of one successful read: `format` decides bytes or records. Decoding
 * failures become the partition's error (UNSUPPORTED_COMPRESSION_TYPE, CORRUPT_MESSAGE).
 */
export async function presentRead(
  at: { topic: string; partition: number },
  result: v1.FetchPartitionResult,
  read: NormalizedRead,
  requestedOffset: bigint,
  format: v1.RecordFormat,
): Promise<v1.FetchPartitionResult> {
  const base = { ...result, topic: at.topic, partition: at.partition, nextOffset: read.nextOffset, errorCode: v1.ErrorCode.NONE, errorMessage: '' };
  if (read.batches.length === 0) return { ...base, payload: undefined };
  if (format !== v1.RecordFormat.RECORDS) return { ...base, payload: { $case: 'recordBatches', value: read.batches } };
  try {
    const records = await batchesToRecords(read.batches, requestedOffset);
    return { ...base, payload: records.length === 0 ? undefined : { $case: 'records', value: { records } } };
  } catch (error) {
    return fetchErrorResult(at, asStarlaneError(error));
  }
}

/** Whether a presented result carries records or batches. */
export function hasPayload(result: v1.FetchPartitionResult): boolean {
  const payload = result.payload;
  if (payload === undefined) return false;
  return payload.$case === 'recordBatches' ? payload.value.length > 0 : payload.value.records.length > 0;
}

/** Payload bytes of a presented result (batch bytes; for records, their key and value bytes). */
export function payloadBytes(result: v1.FetchPartitionResult): number {
  const payload = result.payload;
  if (payload === undefined) return 0;
  if (payload.$case === 'recordBatches') return payload.value.length;
  let bytes = 0;
  for (const record of payload.value.records) bytes += (record.nullableKey?.value.length ?? 0) + (record.nullableValue?.value.length ?? 0);
  return bytes;
}
