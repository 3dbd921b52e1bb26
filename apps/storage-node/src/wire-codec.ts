/**
 * Decoders for the two append requests that leave `record_batches` a view of the received
 * message. The generated decoder copies every `bytes` field (`Buffer.from(reader.bytes())`); on
 * the append path that is one memcpy of every produced byte for nothing, since the log only
 * rewrites two header fields in place and writes the same bytes out (docs/data-plane.md). The
 * gRPC library hands each message over in a buffer of its own, so keeping a view is safe.
 *
 * Read and replica fetch responses are encoded by the generated encoder, minus the copy its
 * serializer adds (`Buffer.from` of the encoded array): a response carries up to tens of MiB
 * of batches. ReplicaFetch messages are decoded into and encoded from the domain messages of
 * `@starlane/replica` directly (errors as catalogue codes); a follower decodes responses here,
 * keeping the batches a view.
 *
 * Everything else decodes as the generated code does: the last value of a scalar wins,
 * repeated messages accumulate, fields with an unexpected wire type and unknown fields are
 * skipped. Malformed input throws, which the gRPC server answers as a failed call.
 * `wire-codec.test.ts` checks these against the generated decoders.
 */
import type * as grpc from '@grpc/grpc-js';
import { errorCodeFromProto, errorCodeToProto } from '@starlane/metadata-rpc';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import { internalV1 } from '@starlane/proto';
import type { ReplicaFetchPartitionResult, ReplicaFetchRequest, ReplicaFetchResponse, ResultError } from '@starlane/replica';

const wireVarint = 0;
const wireFixed64 = 1;
const wireLengthDelimited = 2;
const wireFixed32 = 5;

class Reader {
  pos: number;

  constructor(
    readonly buffer: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  private truncated(): never {
    throw new StarlaneError('INVALID_REQUEST', 'truncated protobuf message');
  }

  /** A varint's low 32 bits as a signed integer (int32, enum and tag fields). */
  int32(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) this.truncated();
      const byte = this.buffer[this.pos++] as number;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result | 0;
    }
    throw new StarlaneError('INVALID_REQUEST', 'varint longer than 10 bytes');
  }

  uint64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.truncated();
      const byte = this.buffer[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new StarlaneError('INVALID_REQUEST', 'varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited field's payload; the reader moves past it. */
  span(): { start: number; end: number } {
    const length = this.int32();
    if (length < 0 || this.pos + length > this.end) this.truncated();
    const start = this.pos;
    this.pos += length;
    return { start, end: this.pos };
  }

  string(): string {
    const { start, end } = this.span();
    return this.buffer.toString('utf8', start, end);
  }

  /** The payload of a bytes field as a view of the message, not a copy. */
  bytesView(): Buffer {
    const { start, end } = this.span();
    return this.buffer.subarray(start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case wireVarint:
        this.int32();
        return;
      case wireFixed64:
        this.pos += 8;
        break;
      case wireLengthDelimited:
        this.span();
        return;
      case wireFixed32:
        this.pos += 4;
        break;
      default:
        throw new StarlaneError('INVALID_REQUEST', `unsupported protobuf wire type ${wireType}`);
    }
    if (this.pos > this.end) this.truncated();
  }
}

function decodePartitionData(reader: Reader): internalV1.AppendPartitionData {
  const { start, end } = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  const data: internalV1.AppendPartitionData = { topic: '', topicId: '', partition: 0, currentLeaderEpoch: 0, recordBatches: Buffer.alloc(0) };
  while (inner.pos < inner.end) {
    const tag = inner.int32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === wireLengthDelimited) data.topic = inner.string();
    else if (field === 2 && wireType === wireLengthDelimited) data.topicId = inner.string();
    else if (field === 3 && wireType === wireVarint) data.partition = inner.int32();
    else if (field === 4 && wireType === wireVarint) data.currentLeaderEpoch = inner.int32();
    else if (field === 5 && wireType === wireLengthDelimited) data.recordBatches = inner.bytesView();
    else inner.skip(wireType);
  }
  return data;
}

/** AppendStreamRequest: request_id 1, acks 2, timeout_ms 3, partitions 4. */
export function decodeAppendStreamRequest(bytes: Buffer): internalV1.AppendStreamRequest {
  const reader = new Reader(bytes, 0, bytes.length);
  const request: internalV1.AppendStreamRequest = { requestId: 0n, acks: 0, timeoutMs: 0, partitions: [] };
  while (reader.pos < reader.end) {
    const tag = reader.int32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === wireVarint) request.requestId = reader.uint64();
    else if (field === 2 && wireType === wireVarint) request.acks = reader.int32();
    else if (field === 3 && wireType === wireVarint) request.timeoutMs = reader.int32();
    else if (field === 4 && wireType === wireLengthDelimited) request.partitions.push(decodePartitionData(reader));
    else reader.skip(wireType);
  }
  return request;
}

/** AppendRequest: acks 1, timeout_ms 2, partitions 3. */
export function decodeAppendRequest(bytes: Buffer): internalV1.AppendRequest {
  const reader = new Reader(bytes, 0, bytes.length);
  const request: internalV1.AppendRequest = { acks: 0, timeoutMs: 0, partitions: [] };
  while (reader.pos < reader.end) {
    const tag = reader.int32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === wireVarint) request.acks = reader.int32();
    else if (field === 2 && wireType === wireVarint) request.timeoutMs = reader.int32();
    else if (field === 3 && wireType === wireLengthDelimited) request.partitions.push(decodePartitionData(reader));
    else reader.skip(wireType);
  }
  return request;
}

function decodeEpochEnd(reader: Reader): { epoch: number; endOffset: bigint } {
  const { start, end } = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  const epochEnd = { epoch: 0, endOffset: 0n };
  while (inner.pos < inner.end) {
    const tag = inner.int32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === wireVarint) epochEnd.epoch = inner.int32();
    else if (field === 2 && wireType === wireVarint) epochEnd.endOffset = BigInt.asIntN(64, inner.uint64());
    else inner.skip(wireType);
  }
  return epochEnd;
}

/** The catalogue error for a wire error code and message; undefined for NONE. */
function errorFromWire(code: number, message: string): ResultError | undefined {
  const known: ErrorCode | undefined = errorCodeFromProto(code);
  return known === undefined ? undefined : { code: known, message };
}

function decodeReplicaFetchPartitionResult(reader: Reader): ReplicaFetchPartitionResult {
  const { start, end } = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  const result: ReplicaFetchPartitionResult = { topic: '', topicId: '', partition: 0, highWatermark: 0n, logStartOffset: 0n, recordBatches: Buffer.alloc(0) };
  let errorCode = 0;
  let errorMessage = '';
  while (inner.pos < inner.end) {
    const tag = inner.int32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === wireLengthDelimited) result.topic = inner.string();
    else if (field === 2 && wireType === wireLengthDelimited) result.topicId = inner.string();
    else if (field === 3 && wireType === wireVarint) result.partition = inner.int32();
    else if (field === 4 && wireType === wireVarint) result.highWatermark = BigInt.asIntN(64, inner.uint64());
    else if (field === 5 && wireType === wireVarint) result.logStartOffset = BigInt.asIntN(64, inner.uint64());
    else if (field === 6 && wireType === wireLengthDelimited) result.recordBatches = inner.bytesView();
    else if (field === 7 && wireType === wireLengthDelimited) result.divergingEpoch = decodeEpochEnd(inner);
    else if (field === 8 && wireType === wireVarint) result.leaderLogEnd = BigInt.asIntN(64, inner.uint64());
    else if (field === 14 && wireType === wireVarint) errorCode = inner.int32();
    else if (field === 15 && wireType === wireLengthDelimited) errorMessage = inner.string();
    else inner.skip(wireType);
  }
  const error = errorFromWire(errorCode, errorMessage);
  if (error !== undefined) result.error = error;
  return result;
}

/**
 * ReplicaFetchResponse, as a follower receives it, straight into the domain message:
 * record_batches stays a view of the received message (the follower appends those bytes
 * unchanged). partitions 1, error_code 14, error_message 15.
 */
export function decodeReplicaFetchResponse(bytes: Buffer): ReplicaFetchResponse {
  const reader = new Reader(bytes, 0, bytes.length);
  const response: ReplicaFetchResponse = { partitions: [] };
  let errorCode = 0;
  let errorMessage = '';
  while (reader.pos < reader.end) {
    const tag = reader.int32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === wireLengthDelimited) response.partitions.push(decodeReplicaFetchPartitionResult(reader));
    else if (field === 14 && wireType === wireVarint) errorCode = reader.int32();
    else if (field === 15 && wireType === wireLengthDelimited) errorMessage = reader.string();
    else reader.skip(wireType);
  }
  const error = errorFromWire(errorCode, errorMessage);
  if (error !== undefined) response.error = error;
  return response;
}

/** A Buffer over an encoder's output, sharing its memory. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeReadResponse(response: internalV1.ReadResponse): Buffer {
  return asBuffer(internalV1.ReadResponse.encode(response).finish());
}

export function encodeReadStreamResponse(response: internalV1.ReadStreamResponse): Buffer {
  return asBuffer(internalV1.ReadStreamResponse.encode(response).finish());
}

/** Protobuf pieces for the hand-written encoder below: tags, varints and length prefixes. */
class Pieces {
  readonly parts: Buffer[] = [];
  bytes = 0;

  private push(part: Buffer): void {
    this.parts.push(part);
    this.bytes += part.length;
  }

  private varint(value: bigint): Buffer {
    const out: number[] = [];
    let rest = BigInt.asUintN(64, value);
    while (rest >= 0x80n) {
      out.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    out.push(Number(rest));
    return Buffer.from(out);
  }

  /** A varint field; zero is left out, as proto3 encoders do, unless the field has presence (a oneof member). */
  int(field: number, value: number | bigint, present = false): void {
    if (!present && (value === 0 || value === 0n)) return;
    this.push(Buffer.concat([this.varint(BigInt((field << 3) | wireVarint)), this.varint(BigInt(value))]));
  }

  /** A length-delimited field whose body is `body` (kept by reference, copied once at the end). */
  delimited(field: number, body: readonly Buffer[], bodyBytes: number): void {
    this.push(Buffer.concat([this.varint(BigInt((field << 3) | wireLengthDelimited)), this.varint(BigInt(bodyBytes))]));
    for (const part of body) this.push(part);
  }

  string(field: number, value: string): void {
    if (value !== '') {
      const bytes = Buffer.from(value, 'utf8');
      this.delimited(field, [bytes], bytes.length);
    }
  }
}

/**
 * ReplicaFetchResponse from the domain message, as the generated encoder would write the
 * proto one, with each record batch payload copied once (into the returned buffer) instead of
 * three times: a leader sends every appended byte to each follower, so these copies are a
 * large share of its work.
 */
export function encodeReplicaFetchResponse(response: ReplicaFetchResponse): Buffer {
  const out = new Pieces();
  for (const partition of response.partitions) {
    const inner = new Pieces();
    inner.string(1, partition.topic);
    inner.string(2, partition.topicId);
    inner.int(3, partition.partition);
    inner.int(4, partition.highWatermark);
    inner.int(5, partition.logStartOffset);
    if (partition.recordBatches.length > 0) inner.delimited(6, [partition.recordBatches], partition.recordBatches.length);
    if (partition.divergingEpoch !== undefined) {
      const epoch = new Pieces();
      epoch.int(1, partition.divergingEpoch.epoch);
      epoch.int(2, partition.divergingEpoch.endOffset);
      inner.delimited(7, epoch.parts, epoch.bytes);
    }
    if (partition.leaderLogEnd !== undefined) inner.int(8, partition.leaderLogEnd, true);
    if (partition.error !== undefined) {
      inner.int(14, errorCodeToProto(partition.error.code));
      inner.string(15, partition.error.message);
    }
    out.delimited(1, inner.parts, inner.bytes);
  }
  if (response.error !== undefined) {
    out.int(14, errorCodeToProto(response.error.code));
    out.string(15, response.error.message);
  }
  return Buffer.concat(out.parts, out.bytes);
}

/** ReplicaFetchRequest from the domain message (its fields are the proto message's). */
export function encodeReplicaFetchRequest(request: ReplicaFetchRequest): Buffer {
  return asBuffer(internalV1.ReplicaFetchRequest.encode(request).finish());
}

/** ReplicaFetchRequest as the leader's session takes it (no record bytes: the generated decoder). */
export function decodeReplicaFetchRequest(bytes: Buffer): ReplicaFetchRequest {
  const request = internalV1.ReplicaFetchRequest.decode(bytes);
  return {
    replicaNodeId: request.replicaNodeId,
    replicaNodeEpoch: request.replicaNodeEpoch,
    maxWaitMs: request.maxWaitMs,
    minBytes: request.minBytes,
    maxBytes: request.maxBytes,
    partitions: request.partitions,
    removedPartitions: request.removedPartitions,
  };
}

/** The ReplicaFetch method with domain messages on both sides (see `encodeReplicaFetchResponse`). */
export type ReplicaFetchMethod = Omit<typeof internalV1.StorageNodeServiceService.replicaFetch, 'requestSerialize' | 'requestDeserialize' | 'responseSerialize' | 'responseDeserialize'> & {
  readonly requestSerialize: (request: ReplicaFetchRequest) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => ReplicaFetchRequest;
  readonly responseSerialize: (response: ReplicaFetchResponse) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => ReplicaFetchResponse;
};

/** The service's handlers, with ReplicaFetch speaking the replica's domain messages. */
export type StorageNodeHandlers = Partial<Pick<internalV1.StorageNodeServiceServer, 'append' | 'appendStream' | 'read' | 'readStream' | 'listOffsets' | 'offsetsForLeaderEpoch'>> & {
  replicaFetch?: (call: grpc.ServerDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse>) => void;
};

/**
 * StorageNodeService with the append requests decoded and the read responses encoded by the
 * functions above, and ReplicaFetch carrying the replica's domain messages; everything else is
 * the generated definition.
 */
export const storageNodeServiceDefinition: Omit<typeof internalV1.StorageNodeServiceService, 'replicaFetch'> & { readonly replicaFetch: ReplicaFetchMethod } = {
  ...internalV1.StorageNodeServiceService,
  append: { ...internalV1.StorageNodeServiceService.append, requestDeserialize: decodeAppendRequest },
  appendStream: { ...internalV1.StorageNodeServiceService.appendStream, requestDeserialize: decodeAppendStreamRequest },
  read: { ...internalV1.StorageNodeServiceService.read, responseSerialize: encodeReadResponse },
  readStream: { ...internalV1.StorageNodeServiceService.readStream, responseSerialize: encodeReadStreamResponse },
  replicaFetch: {
    ...internalV1.StorageNodeServiceService.replicaFetch,
    requestSerialize: encodeReplicaFetchRequest,
    requestDeserialize: decodeReplicaFetchRequest,
    responseSerialize: encodeReplicaFetchResponse,
    responseDeserialize: decodeReplicaFetchResponse,
  },
};
