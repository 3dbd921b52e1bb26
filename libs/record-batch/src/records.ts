/**
 * Records inside a batch:
 *   varint length | i8 attributes | varlong timestampDelta | varint offsetDelta |
 *   varint keyLength (-1 = null) | key | varint valueLength (-1 = null, a tombstone) | value |
 *   varint headerCount | headers (varint keyLength, key, varint valueLength, value)
 */
import { StarlaneError } from '@starlane/model';
import { readVarint, varintSize, writeVarint } from './varint';

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

/** A record as producers hand it over: no offset yet. */
export interface NewRecord {
  readonly key: Buffer | null;
  /** null is a tombstone: on a compacted topic it deletes the key. */
  readonly value: Buffer | null;
  readonly headers?: readonly RecordHeader[];
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: bigint;
}

/** A record read back from a batch. */
export interface StoredRecord extends NewRecord {
  readonly offset: bigint;
  readonly headers: readonly RecordHeader[];
}

/** Headers a record may carry; more is refused as corrupt input. */
export const recordHeadersMax = 10_000;

function bytesSize(value: Buffer | null): number {
  return value === null ? varintSize(-1) : varintSize(value.length) + value.length;
}

function bodySize(record: NewRecord, offsetDelta: number, timestampDelta: number): number {
  let size = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(record.key) + bytesSize(record.value);
  const headers = record.headers ?? [];
  size += varintSize(headers.length);
  for (const header of headers) size += bytesSize(Buffer.from(header.key, 'utf8')) + bytesSize(header.value);
  return size;
}

function writeBytes(buffer: Buffer, position: number, value: Buffer | null): number {
  if (value === null) return writeVarint(buffer, position, -1);
  const next = writeVarint(buffer, position, value.length);
  value.copy(buffer, next);
  return next + value.length;
}

/**
 * Encodes records (uncompressed), timestamps relative to `baseTimestamp`, with offset deltas
 * 0..n-1 unless `offsetDeltas` gives them (a compacted batch keeps its records' offsets).
 */
export function encodeRecords(records: readonly NewRecord[], baseTimestamp: bigint, offsetDeltas?: readonly number[]): Buffer {
  const deltaOf = (index: number): number => offsetDeltas?.[index] ?? index;
  const sizes = records.map((record, index) => bodySize(record, deltaOf(index), Number(record.timestamp - baseTimestamp)));
  const total = sizes.reduce((sum, size) => sum + varintSize(size) + size, 0);
  const buffer = Buffer.allocUnsafe(total);
  let position = 0;
  records.forEach((record, index) => {
    position = writeVarint(buffer, position, sizes[index] ?? 0);
    buffer[position++] = 0; // attributes: unused in v2
    position = writeVarint(buffer, position, Number(record.timestamp - baseTimestamp));
    position = writeVarint(buffer, position, deltaOf(index));
    position = writeBytes(buffer, position, record.key);
    position = writeBytes(buffer, position, record.value);
    const headers = record.headers ?? [];
    position = writeVarint(buffer, position, headers.length);
    for (const header of headers) {
      position = writeBytes(buffer, position, Buffer.from(header.key, 'utf8'));
      position = writeBytes(buffer, position, header.value);
    }
  });
  return buffer;
}

function readBytes(buffer: Buffer, position: number, end: number): { value: Buffer | null; next: number } {
  const length = readVarint(buffer, position, end);
  if (length.value === -1) return { value: null, next: length.next };
  if (length.value < 0 || length.next + length.value > end) throw new StarlaneError('CORRUPT_MESSAGE', `a record field of ${length.value} bytes runs past its record`);
  return { value: buffer.subarray(length.next, length.next + length.value), next: length.next + length.value };
}

/**
 * Decodes `count` records from uncompressed record bytes. Keys, values and header values are
 * views into `buffer`, not copies.
 */
export function decodeRecords(buffer: Buffer, count: number, baseOffset: bigint, baseTimestamp: bigint): StoredRecord[] {
  const records: StoredRecord[] = [];
  let position = 0;
  for (let index = 0; index < count; index++) {
    const length = readVarint(buffer, position, buffer.length);
    const end = length.next + length.value;
    if (length.value < 0 || end > buffer.length) throw new StarlaneError('CORRUPT_MESSAGE', `record ${index} of ${count} runs past its batch`);
    let cursor = length.next + 1; // attributes: unused in v2
    const timestampDelta = readVarint(buffer, cursor, end);
    const offsetDelta = readVarint(buffer, timestampDelta.next, end);
    const key = readBytes(buffer, offsetDelta.next, end);
    const value = readBytes(buffer, key.next, end);
    const headerCount = readVarint(buffer, value.next, end);
    if (headerCount.value < 0 || headerCount.value > recordHeadersMax) throw new StarlaneError('CORRUPT_MESSAGE', `record ${index} claims ${headerCount.value} headers`);
    cursor = headerCount.next;
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount.value; h++) {
      const headerKey = readBytes(buffer, cursor, end);
      if (headerKey.value === null) throw new StarlaneError('CORRUPT_MESSAGE', `record ${index} has a header with a null key`);
      const headerValue = readBytes(buffer, headerKey.next, end);
      headers.push({ key: headerKey.value.toString('utf8'), value: headerValue.value });
      cursor = headerValue.next;
    }
    if (cursor !== end) throw new StarlaneError('CORRUPT_MESSAGE', `record ${index} has ${end - cursor} bytes left over`);
    records.push({
      offset: baseOffset + BigInt(offsetDelta.value),
      timestamp: baseTimestamp + BigInt(timestampDelta.value),
      key: key.value,
      value: value.value,
      headers,
    });
    position = end;
  }
  if (position !== buffer.length) throw new StarlaneError('CORRUPT_MESSAGE', `${buffer.length - position} bytes follow the last of ${count} records`);
  return records;
}
