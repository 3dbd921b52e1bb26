import fc from 'fast-check';
import { internalV1, v1 } from '@starlane/proto';
import { decodeProduceRequest, decodeProduceStreamRequest, decodeReadStreamResponse, encodeAppendStreamRequest, encodeFetchResponse, encodeSubscribeResponse } from './codecs';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const bytes = fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array));
const text = fc.string({ maxLength: 12, unit: 'grapheme' });

const record: fc.Arbitrary<v1.Record> = fc.record({
  nullableKey: fc.option(bytes.map((value) => ({ $case: 'key' as const, value })), { nil: undefined }),
  nullableValue: fc.option(bytes.map((value) => ({ $case: 'value' as const, value })), { nil: undefined }),
  headers: fc.array(fc.record({ key: text, nullableValue: fc.option(bytes.map((value) => ({ $case: 'value' as const, value })), { nil: undefined }) }), { maxLength: 2 }),
  timestampMs: int64,
  offset: int64,
  timestampType: fc.constantFrom(0, 1, 2),
  leaderEpoch: int32,
});

const produceData: fc.Arbitrary<v1.ProducePartitionData> = fc.record({
  topic: text,
  partition: int32,
  payload: fc.oneof(
    fc.constant(undefined),
    bytes.map((value) => ({ $case: 'recordBatches' as const, value })),
    fc
      .record({
        records: fc.array(record, { maxLength: 3 }),
        producer: fc.option(fc.record({ producerId: int64, producerEpoch: int32 }), { nil: undefined }),
        baseSequence: int32,
      })
      .map((value) => ({ $case: 'records' as const, value })),
  ),
});

const fetchResult: fc.Arbitrary<v1.FetchPartitionResult> = fc.record({
  topic: text,
  partition: int32,
  highWatermark: int64,
  lastStableOffset: int64,
  logStartOffset: int64,
  nextOffset: int64,
  payload: fc.oneof(
    fc.constant(undefined),
    bytes.map((value) => ({ $case: 'recordBatches' as const, value })),
    fc.array(record, { maxLength: 3 }).map((records) => ({ $case: 'records' as const, value: { records } })),
  ),
  errorCode: fc.constantFrom(0, -1, 3, 6, 1000),
  errorMessage: text,
});

const generated = (bytesOut: Uint8Array): Buffer => Buffer.from(bytesOut);

describe('data-plane codecs', () => {
  it('decode produce requests exactly as the generated codec does', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), int32, int32, fc.array(produceData, { maxLength: 4 }), (requestId, acks, timeoutMs, partitions) => {
        const stream: v1.ProduceStreamRequest = { requestId, acks, timeoutMs, partitions };
        const wire = generated(v1.ProduceStreamRequest.encode(stream).finish());
        expect(decodeProduceStreamRequest(wire)).toEqual(v1.ProduceStreamRequest.decode(wire));
        const unary: v1.ProduceRequest = { acks, timeoutMs, partitions };
        const unaryWire = generated(v1.ProduceRequest.encode(unary).finish());
        expect(decodeProduceRequest(unaryWire)).toEqual(v1.ProduceRequest.decode(unaryWire));
      }),
      { numRuns: 300 },
    );
  });

  it('decode record batches as views of the received buffer', () => {
    const batches = Buffer.from('batch bytes');
    const wire = generated(v1.ProduceStreamRequest.encode({ requestId: 1n, acks: 2, timeoutMs: 0, partitions: [{ topic: 't', partition: 0, payload: { $case: 'recordBatches', value: batches } }] }).finish());
    const decoded = decodeProduceStreamRequest(wire);
    const payload = decoded.partitions[0]!.payload;
    expect(payload?.$case).toBe('recordBatches');
    const value = payload?.$case === 'recordBatches' ? payload.value : Buffer.alloc(0);
    expect(value.buffer).toBe(wire.buffer);
  });

  it('encode append requests byte for byte as the generated codec does', () => {
    const data: fc.Arbitrary<internalV1.AppendPartitionData> = fc.record({ topic: text, topicId: text, partition: int32, currentLeaderEpoch: int32, recordBatches: bytes });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), int32, int32, fc.array(data, { maxLength: 4 }), (requestId, acks, timeoutMs, partitions) => {
        const request: internalV1.AppendStreamRequest = { requestId, acks, timeoutMs, partitions };
        expect(encodeAppendStreamRequest(request)).toEqual(generated(internalV1.AppendStreamRequest.encode(request).finish()));
      }),
      { numRuns: 300 },
    );
  });

  it('decode read responses and encode fetch and subscribe responses as the generated codec does', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.array(fetchResult, { maxLength: 4 }), fc.constantFrom(0, 42), text, (requestId, partitions, errorCode, errorMessage) => {
        const response: internalV1.ReadStreamResponse = { requestId, partitions, errorCode, errorMessage };
        const wire = generated(internalV1.ReadStreamResponse.encode(response).finish());
        expect(decodeReadStreamResponse(wire)).toEqual(internalV1.ReadStreamResponse.decode(wire));
        expect(encodeFetchResponse({ partitions })).toEqual(generated(v1.FetchResponse.encode({ partitions }).finish()));
        expect(encodeSubscribeResponse({ partitions })).toEqual(generated(v1.SubscribeResponse.encode({ partitions }).finish()));
      }),
      { numRuns: 300 },
    );
  });
});
