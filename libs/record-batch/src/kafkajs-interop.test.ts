/**
 * Cross-checks the codec against an independent implementation: the record batch encoder and
 * decoder inside kafkajs, a real Kafka client. Batches go both ways.
 */
import { buildBatch, readBatch } from './batch';
import { Compression } from './compression';
import type { NewRecord } from './records';

interface KafkaJsEncoder {
  buffer: Buffer;
}
interface KafkaJsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}
// kafkajs exposes its codec only through internal CommonJS modules.
const { RecordBatch: KafkaJsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (options: object) => Promise<KafkaJsEncoder> };
const KafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: object) => KafkaJsEncoder;
const decodeKafkaJsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{ firstOffset: string; records: KafkaJsRecord[] }>;
const KafkaJsDecoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromValue(value: string | number): unknown };

const baseTimestamp = 1_700_000_000_000n;
const records: NewRecord[] = Array.from({ length: 25 }, (_, i) => ({
  key: i % 5 === 0 ? null : Buffer.from(`key-${i}`),
  value: i % 7 === 3 ? null : Buffer.from(`value ${i} `.repeat(i + 1)),
  headers: i % 2 === 0 ? [{ key: `h${i}`, value: Buffer.from(`hv${i}`) }] : [],
  timestamp: baseTimestamp + BigInt(i * 10),
}));

describe('interoperability with kafkajs', () => {
  it.each([
    ['uncompressed', Compression.none],
    ['gzip', Compression.gzip],
  ])('reads %s batches kafkajs writes, CRC checked', async (_name, compression) => {
    const kafkaRecords = records.map((record, i) =>
      KafkaJsRecord({
        offsetDelta: i,
        timestampDelta: Long.fromValue(Number(record.timestamp - baseTimestamp)),
        key: record.key,
        value: record.value,
        headers: Object.fromEntries((record.headers ?? []).map((h) => [h.key, h.value])),
      }),
    );
    const encoded = await KafkaJsRecordBatch({
      compression,
      firstOffset: Long.fromValue('4200000000000'),
      firstTimestamp: Long.fromValue(Number(baseTimestamp)),
      maxTimestamp: Long.fromValue(Number(baseTimestamp) + 240),
      lastOffsetDelta: records.length - 1,
      producerId: Long.fromValue(99),
      producerEpoch: 2,
      firstSequence: 10,
      records: kafkaRecords,
    });
    const decoded = await readBatch(encoded.buffer);
    expect(decoded.header).toMatchObject({ baseOffset: 4_200_000_000_000n, producerId: 99n, producerEpoch: 2, baseSequence: 10, compression, recordCount: 25 });
    expect(decoded.records).toEqual(records.map((r, i) => ({ ...r, offset: 4_200_000_000_000n + BigInt(i) })));
  });

  it.each([
    ['uncompressed', Compression.none],
    ['gzip', Compression.gzip],
  ])('writes %s batches kafkajs reads', async (_name, compression) => {
    const batch = await buildBatch(records, { compression, baseOffset: 77n });
    const decoded = await decodeKafkaJsBatch(new KafkaJsDecoder(batch));
    expect(decoded.firstOffset).toBe('77');
    expect(
      decoded.records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })),
    ).toEqual(
      records.map((r, i) => ({
        offset: String(77 + i),
        timestamp: String(r.timestamp),
        key: r.key,
        value: r.value,
        headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value])),
      })),
    );
  });
});
