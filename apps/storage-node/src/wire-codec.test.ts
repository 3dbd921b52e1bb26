import fc from 'fast-check';
import { internalV1 } from '@starlane/proto';
import { decodeAppendRequest, decodeAppendStreamRequest, decodeReplicaFetchResponse, encodeReadStreamResponse, encodeReplicaFetchResponse } from './wire-codec';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const partitionData = fc.record({
  topic: fc.string({ maxLength: 20 }),
  topicId: fc.string({ maxLength: 40 }),
  partition: int32,
  currentLeaderEpoch: int32,
  recordBatches: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
});
const streamRequest = fc.record({
  requestId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  acks: int32,
  timeoutMs: int32,
  partitions: fc.array(partitionData, { maxLength: 4 }),
});

/** A field number no message here uses, with a value of each wire type. */
const unknownFields = Buffer.from([
  0xf8, 0x07, 0x96, 0x01, // field 127, varint
  0xf9, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, // field 127, fixed64
  0xfa, 0x07, 0x02, 0xaa, 0xbb, // field 127, length-delimited
  0xfd, 0x07, 1, 2, 3, 4, // field 127, fixed32
]);

describe('append request decoders', () => {
  it('decode AppendStreamRequest exactly as the generated decoder does', () => {
    fc.assert(
      fc.property(streamRequest, (request) => {
        const bytes = Buffer.from(internalV1.AppendStreamRequest.encode(request).finish());
        expect(decodeAppendStreamRequest(bytes)).toEqual(internalV1.AppendStreamRequest.decode(bytes));
      }),
    );
  });

  it('decode AppendRequest exactly as the generated decoder does', () => {
    fc.assert(
      fc.property(streamRequest, ({ acks, timeoutMs, partitions }) => {
        const bytes = Buffer.from(internalV1.AppendRequest.encode({ acks, timeoutMs, partitions }).finish());
        expect(decodeAppendRequest(bytes)).toEqual(internalV1.AppendRequest.decode(bytes));
      }),
    );
  });

  it('leave record_batches a view of the received bytes', () => {
    const batches = Buffer.from('record batch bytes');
    const bytes = Buffer.from(internalV1.AppendStreamRequest.encode({ requestId: 9n, acks: 2, timeoutMs: 0, partitions: [{ topic: 't', topicId: 'id', partition: 1, currentLeaderEpoch: 3, recordBatches: batches }] }).finish());
    const view = decodeAppendStreamRequest(bytes).partitions[0]?.recordBatches;
    expect(view?.buffer).toBe(bytes.buffer);
    expect(view?.toString()).toBe('record batch bytes');
  });

  it('skip unknown fields at every level', () => {
    const inner = Buffer.from(internalV1.AppendPartitionData.encode({ topic: 't', topicId: 'id', partition: 4, currentLeaderEpoch: 5, recordBatches: Buffer.from([1, 2]) }).finish());
    const withUnknownInner = Buffer.concat([unknownFields, inner, unknownFields]);
    const partitionsField = Buffer.concat([Buffer.from([0x22, withUnknownInner.length]), withUnknownInner]);
    const bytes = Buffer.concat([unknownFields, Buffer.from([0x08, 0x07]), partitionsField, unknownFields]);
    expect(decodeAppendStreamRequest(bytes)).toEqual(internalV1.AppendStreamRequest.decode(bytes));
    expect(decodeAppendStreamRequest(bytes)).toMatchObject({ requestId: 7n, partitions: [{ partition: 4, currentLeaderEpoch: 5 }] });
  });

  it('refuse truncated and malformed input with an error, never a wrong message', () => {
    const bytes = Buffer.from(internalV1.AppendStreamRequest.encode({ requestId: 1n, acks: 2, timeoutMs: 3, partitions: [{ topic: 't', topicId: 'id', partition: 1, currentLeaderEpoch: 0, recordBatches: Buffer.alloc(50, 1) }] }).finish());
    for (let cut = 1; cut < bytes.length; cut++) {
      const prefix = bytes.subarray(0, cut);
      let generated: unknown;
      try {
        generated = internalV1.AppendStreamRequest.decode(prefix);
      } catch {
        generated = undefined;
      }
      if (generated === undefined) expect(() => decodeAppendStreamRequest(prefix)).toThrow();
      else expect(decodeAppendStreamRequest(prefix)).toEqual(generated);
    }
    expect(() => decodeAppendStreamRequest(Buffer.from([0x0f]))).toThrow();
    expect(() => decodeAppendStreamRequest(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow();
  });

  it('encode read responses as the generated encoder does', () => {
    const response: internalV1.ReadStreamResponse = {
      requestId: 4n,
      partitions: [{ topic: 't', partition: 0, highWatermark: 9n, lastStableOffset: 9n, logStartOffset: 0n, nextOffset: 9n, payload: { $case: 'recordBatches', value: Buffer.from('batches') }, errorCode: 0, errorMessage: '' }],
      errorCode: 0,
      errorMessage: '',
    };
    expect(internalV1.ReadStreamResponse.decode(encodeReadStreamResponse(response))).toEqual(response);
  });
});

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const replicaFetchResponse = fc.record({
  partitions: fc.array(
    fc.record({
      topic: fc.string({ maxLength: 20 }),
      topicId: fc.string({ maxLength: 40 }),
      partition: int32,
      highWatermark: int64,
      logStartOffset: int64,
      recordBatches: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      divergingEpoch: fc.option(fc.record({ epoch: int32, endOffset: int64 }), { nil: undefined }),
      // Zero included: a oneof member is written even when it is 0.
      leaderLogEnd: fc.option(fc.record({ $case: fc.constant('logEndOffset' as const), value: fc.oneof(fc.constant(0n), int64) }), { nil: undefined }),
      errorCode: fc.integer({ min: 0, max: 120 }),
      errorMessage: fc.string({ maxLength: 30 }),
    }),
    { maxLength: 4 },
  ),
  errorCode: fc.integer({ min: 0, max: 120 }),
  errorMessage: fc.string({ maxLength: 30 }),
});

describe('replica fetch codecs', () => {
  it('encode ReplicaFetchResponse byte for byte as the generated encoder does, and decode it as the generated decoder does, batches as a view', () => {
    fc.assert(
      fc.property(replicaFetchResponse, (response) => {
        const bytes = encodeReplicaFetchResponse(response);
        expect(internalV1.ReplicaFetchResponse.decode(bytes)).toEqual(response);
        expect(Buffer.compare(bytes, Buffer.from(internalV1.ReplicaFetchResponse.encode(response).finish()))).toBe(0);
        expect(decodeReplicaFetchResponse(bytes)).toEqual(internalV1.ReplicaFetchResponse.decode(bytes));
        const first = decodeReplicaFetchResponse(bytes).partitions[0];
        if (first !== undefined && first.recordBatches.length > 0) expect(first.recordBatches.buffer).toBe(bytes.buffer);
      }),
    );
  });

  it('skip unknown fields and refuse truncated input', () => {
    const bytes = encodeReplicaFetchResponse({ partitions: [{ topic: 't', topicId: 'id', partition: 2, highWatermark: 5n, logStartOffset: 0n, recordBatches: Buffer.alloc(20, 3), divergingEpoch: { epoch: 1, endOffset: 4n }, leaderLogEnd: { $case: 'logEndOffset', value: 9n }, errorCode: 0, errorMessage: '' }], errorCode: 0, errorMessage: '' });
    const withUnknown = Buffer.concat([unknownFields, bytes, unknownFields]);
    expect(decodeReplicaFetchResponse(withUnknown)).toEqual(internalV1.ReplicaFetchResponse.decode(withUnknown));
    for (let cut = 1; cut < bytes.length; cut++) {
      const prefix = bytes.subarray(0, cut);
      let generated: unknown;
      try {
        generated = internalV1.ReplicaFetchResponse.decode(prefix);
      } catch {
        generated = undefined;
      }
      if (generated === undefined) expect(() => decodeReplicaFetchResponse(prefix)).toThrow();
      else expect(decodeReplicaFetchResponse(prefix)).toEqual(generated);
    }
  });
});
