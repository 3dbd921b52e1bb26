import fc from 'fast-check';
import { errorCodeFromProto, errorCodeToProto } from '@starlane/metadata-rpc';
import { errorCatalogue, type ErrorCode } from '@starlane/model';
import { internalV1 } from '@starlane/proto';
import type { ReplicaFetchRequest, ReplicaFetchResponse } from '@starlane/replica';
import {
  decodeAppendRequest,
  decodeAppendStreamRequest,
  decodeReplicaFetchRequest,
  decodeReplicaFetchResponse,
  encodeReadStreamResponse,
  encodeReplicaFetchRequest,
  encodeReplicaFetchResponse,
} from './wire-codec';

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
/** Catalogue codes, each with its message (an error with an empty message is still an error). */
const resultError = fc.option(fc.record({ code: fc.constantFrom(...(Object.keys(errorCatalogue) as ErrorCode[])), message: fc.string({ maxLength: 30 }) }), { nil: undefined });

/** Leaves out the optional fields that are undefined, as the decoder leaves them unset. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

const replicaFetchResponse: fc.Arbitrary<ReplicaFetchResponse> = fc
  .record({
    partitions: fc.array(
      fc
        .record({
          topic: fc.string({ maxLength: 20 }),
          topicId: fc.string({ maxLength: 40 }),
          partition: int32,
          highWatermark: int64,
          logStartOffset: int64,
          recordBatches: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
          divergingEpoch: fc.option(fc.record({ epoch: int32, endOffset: int64 }), { nil: undefined }),
          // Zero included: a oneof member is written even when it is 0.
          leaderLogEnd: fc.option(fc.oneof(fc.constant(0n), int64), { nil: undefined }),
          error: resultError,
        })
        .map(defined),
      { maxLength: 4 },
    ),
    error: resultError,
  })
  .map(defined);

/** The proto message the generated code encodes for a domain response. */
function toProto(response: ReplicaFetchResponse): internalV1.ReplicaFetchResponse {
  return {
    partitions: response.partitions.map((partition) => ({
      topic: partition.topic,
      topicId: partition.topicId,
      partition: partition.partition,
      highWatermark: partition.highWatermark,
      logStartOffset: partition.logStartOffset,
      recordBatches: partition.recordBatches,
      divergingEpoch: partition.divergingEpoch,
      leaderLogEnd: partition.leaderLogEnd === undefined ? undefined : { $case: 'logEndOffset', value: partition.leaderLogEnd },
      errorCode: errorCodeToProto(partition.error?.code),
      errorMessage: partition.error?.message ?? '',
    })),
    errorCode: errorCodeToProto(response.error?.code),
    errorMessage: response.error?.message ?? '',
  };
}

/** The domain response for what the generated decoder read. */
function fromProto(response: internalV1.ReplicaFetchResponse): ReplicaFetchResponse {
  const errorOf = (code: number, message: string) => {
    const known = errorCodeFromProto(code);
    return known === undefined ? undefined : { code: known, message };
  };
  return defined({
    partitions: response.partitions.map((partition) =>
      defined({
        topic: partition.topic,
        topicId: partition.topicId,
        partition: partition.partition,
        highWatermark: partition.highWatermark,
        logStartOffset: partition.logStartOffset,
        recordBatches: partition.recordBatches,
        divergingEpoch: partition.divergingEpoch,
        leaderLogEnd: partition.leaderLogEnd?.value,
        error: errorOf(partition.errorCode, partition.errorMessage),
      }),
    ),
    error: errorOf(response.errorCode, response.errorMessage),
  });
}

describe('replica fetch codecs', () => {
  it('encode the domain ReplicaFetchResponse byte for byte as the generated encoder does its proto form, and decode it back to the domain message, batches as a view', () => {
    fc.assert(
      fc.property(replicaFetchResponse, (response) => {
        const bytes = encodeReplicaFetchResponse(response);
        expect(Buffer.compare(bytes, Buffer.from(internalV1.ReplicaFetchResponse.encode(toProto(response)).finish()))).toBe(0);
        expect(decodeReplicaFetchResponse(bytes)).toEqual(response);
        expect(decodeReplicaFetchResponse(bytes)).toEqual(fromProto(internalV1.ReplicaFetchResponse.decode(bytes)));
        const first = decodeReplicaFetchResponse(bytes).partitions[0];
        if (first !== undefined && first.recordBatches.length > 0) expect(first.recordBatches.buffer).toBe(bytes.buffer);
      }),
    );
  });

  it('decode a ReplicaFetchRequest into the domain request the follower encoded', () => {
    const request: ReplicaFetchRequest = {
      replicaNodeId: 3,
      replicaNodeEpoch: 12n,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1024,
      partitions: [{ topic: 't', topicId: 'id', partition: 2, fetchOffset: 40n, lastFetchedEpoch: 4, currentLeaderEpoch: 5, logStartOffset: 0n, maxBytes: 64 }],
      removedPartitions: [{ topic: 'u', partition: 1 }],
    };
    expect(decodeReplicaFetchRequest(encodeReplicaFetchRequest(request))).toEqual(request);
  });

  it('skip unknown fields and refuse truncated input', () => {
    const bytes = encodeReplicaFetchResponse({
      partitions: [{ topic: 't', topicId: 'id', partition: 2, highWatermark: 5n, logStartOffset: 0n, recordBatches: Buffer.alloc(20, 3), divergingEpoch: { epoch: 1, endOffset: 4n }, leaderLogEnd: 9n, error: { code: 'OFFSET_OUT_OF_RANGE', message: 'out' } }],
    });
    const withUnknown = Buffer.concat([unknownFields, bytes, unknownFields]);
    expect(decodeReplicaFetchResponse(withUnknown)).toEqual(fromProto(internalV1.ReplicaFetchResponse.decode(withUnknown)));
    for (let cut = 1; cut < bytes.length; cut++) {
      const prefix = bytes.subarray(0, cut);
      let generated: internalV1.ReplicaFetchResponse | undefined;
      try {
        generated = internalV1.ReplicaFetchResponse.decode(prefix);
      } catch {
        generated = undefined;
      }
      if (generated === undefined) expect(() => decodeReplicaFetchResponse(prefix)).toThrow();
      else expect(decodeReplicaFetchResponse(prefix)).toEqual(fromProto(generated));
    }
  });
});
