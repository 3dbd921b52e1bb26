/**
 * Hand-written protobuf codecs for the messages that carry record batches through the gateway.
 *
 * The generated codec copies a `bytes` field on decode (`Buffer.from(reader.bytes())`) and
 * twice on encode (into the writer's chunks, then `Buffer.from(finish())`); at data-plane
 * rates those copies and the garbage they leave dominated the gateway's CPU (docs/gateway.md
 * has the measurement). These codecs produce and accept exactly the same wire bytes as the
 * generated ones (the tests check both directions), but decode record batches as views of the
 * received message and encode a request into one buffer of the exact size.
 *
 * Everything else in these messages is decoded with the generated code.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { type internalV1, v1 } from '@starlane/proto';

/** A view of `bytes`, not a copy. */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function asBigInt(value: bigint | string): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

// ---------------------------------------------------------------------------
// Decoding (views for bytes fields)

function decodeProducePartitionData(reader: BinaryReader, length: number): v1.ProducePartitionData {
  const end = reader.pos + length;
  const message: v1.ProducePartitionData = { topic: '', partition: 0, payload: undefined };
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case (1 << 3) | WireType.LengthDelimited:
        message.topic = reader.string();
        break;
      case (2 << 3) | WireType.Varint:
        message.partition = reader.int32();
        break;
      case (3 << 3) | WireType.LengthDelimited:
        message.payload = { $case: 'recordBatches', value: view(reader.bytes()) };
        break;
      case (4 << 3) | WireType.LengthDelimited:
        message.payload = { $case: 'records', value: v1.ProduceRecords.decode(reader, reader.uint32()) };
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return message;
}

/** ProduceStreamRequest, with record_batches as views of `buffer`. */
export function decodeProduceStreamRequest(buffer: Buffer): v1.ProduceStreamRequest {
  const reader = new BinaryReader(buffer);
  const message: v1.ProduceStreamRequest = { requestId: 0n, acks: v1.Acks.UNSPECIFIED, timeoutMs: 0, partitions: [] };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case (1 << 3) | WireType.Varint:
        message.requestId = asBigInt(reader.uint64());
        break;
      case (2 << 3) | WireType.Varint:
        message.acks = reader.int32() as v1.Acks;
        break;
      case (3 << 3) | WireType.Varint:
        message.timeoutMs = reader.int32();
        break;
      case (4 << 3) | WireType.LengthDelimited:
        message.partitions.push(decodeProducePartitionData(reader, reader.uint32()));
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return message;
}

/** ProduceRequest, with record_batches as views of `buffer`. */
export function decodeProduceRequest(buffer: Buffer): v1.ProduceRequest {
  const reader = new BinaryReader(buffer);
  const message: v1.ProduceRequest = { acks: v1.Acks.UNSPECIFIED, timeoutMs: 0, partitions: [] };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case (1 << 3) | WireType.Varint:
        message.acks = reader.int32() as v1.Acks;
        break;
      case (2 << 3) | WireType.Varint:
        message.timeoutMs = reader.int32();
        break;
      case (3 << 3) | WireType.LengthDelimited:
        message.partitions.push(decodeProducePartitionData(reader, reader.uint32()));
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return message;
}

function decodeFetchPartitionResult(reader: BinaryReader, length: number): v1.FetchPartitionResult {
  const end = reader.pos + length;
  const message: v1.FetchPartitionResult = {
    topic: '',
    partition: 0,
    highWatermark: 0n,
    lastStableOffset: 0n,
    logStartOffset: 0n,
    nextOffset: 0n,
    payload: undefined,
    errorCode: v1.ErrorCode.NONE,
    errorMessage: '',
  };
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case (1 << 3) | WireType.LengthDelimited:
        message.topic = reader.string();
        break;
      case (2 << 3) | WireType.Varint:
        message.partition = reader.int32();
        break;
      case (3 << 3) | WireType.Varint:
        message.highWatermark = asBigInt(reader.int64());
        break;
      case (4 << 3) | WireType.Varint:
        message.lastStableOffset = asBigInt(reader.int64());
        break;
      case (5 << 3) | WireType.Varint:
        message.logStartOffset = asBigInt(reader.int64());
        break;
      case (6 << 3) | WireType.Varint:
        message.nextOffset = asBigInt(reader.int64());
        break;
      case (7 << 3) | WireType.LengthDelimited:
        message.payload = { $case: 'recordBatches', value: view(reader.bytes()) };
        break;
      case (8 << 3) | WireType.LengthDelimited:
        message.payload = { $case: 'records', value: v1.RecordList.decode(reader, reader.uint32()) };
        break;
      case (14 << 3) | WireType.Varint:
        message.errorCode = reader.int32() as v1.ErrorCode;
        break;
      case (15 << 3) | WireType.LengthDelimited:
        message.errorMessage = reader.string();
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return message;
}

/** ReadStreamResponse, with record_batches as views of `buffer`. */
export function decodeReadStreamResponse(buffer: Buffer): internalV1.ReadStreamResponse {
  const reader = new BinaryReader(buffer);
  const message: internalV1.ReadStreamResponse = { requestId: 0n, partitions: [], errorCode: v1.ErrorCode.NONE, errorMessage: '' };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case (1 << 3) | WireType.Varint:
        message.requestId = asBigInt(reader.uint64());
        break;
      case (2 << 3) | WireType.LengthDelimited:
        message.partitions.push(decodeFetchPartitionResult(reader, reader.uint32()));
        break;
      case (14 << 3) | WireType.Varint:
        message.errorCode = reader.int32() as v1.ErrorCode;
        break;
      case (15 << 3) | WireType.LengthDelimited:
        message.errorMessage = reader.string();
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return message;
}

// ---------------------------------------------------------------------------
// Encoding (one exact-size buffer; proto3 defaults omitted as the generated code does)

function varintSize(value: bigint): number {
  let size = 1;
  let rest = value >> 7n;
  while (rest > 0n) {
    size += 1;
    rest >>= 7n;
  }
  return size;
}

/** Size of an unsigned value below 2^53 as a varint. */
function uintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

/** Size of an int32/int64 field value (negative numbers take ten bytes, as protobuf sign-extends them). */
function intSize(value: number): number {
  return value < 0 ? 10 : uintSize(value);
}

class Out {
  pos = 0;
  constructor(readonly buffer: Buffer) {}

  uint(value: number): void {
    while (value >= 0x80) {
      this.buffer[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.pos++] = value;
  }

  bigUint(value: bigint): void {
    while (value >= 0x80n) {
      this.buffer[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buffer[this.pos++] = Number(value);
  }

  int(value: number): void {
    if (value < 0) this.bigUint(BigInt.asUintN(64, BigInt(value)));
    else this.uint(value);
  }

  bytes(value: Uint8Array): void {
    this.uint(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  string(value: string, byteLength: number): void {
    this.uint(byteLength);
    this.pos += this.buffer.write(value, this.pos, 'utf8');
  }
}

interface PartitionLayout {
  readonly topicBytes: number;
  readonly topicIdBytes: number;
  readonly size: number;
}

function appendPartitionLayout(data: internalV1.AppendPartitionData): PartitionLayout {
  const topicBytes = Buffer.byteLength(data.topic, 'utf8');
  const topicIdBytes = Buffer.byteLength(data.topicId, 'utf8');
  let size = 0;
  if (topicBytes > 0) size += 1 + uintSize(topicBytes) + topicBytes;
  if (topicIdBytes > 0) size += 1 + uintSize(topicIdBytes) + topicIdBytes;
  if (data.partition !== 0) size += 1 + intSize(data.partition);
  if (data.currentLeaderEpoch !== 0) size += 1 + intSize(data.currentLeaderEpoch);
  if (data.recordBatches.length > 0) size += 1 + uintSize(data.recordBatches.length) + data.recordBatches.length;
  return { topicBytes, topicIdBytes, size };
}

/** AppendStreamRequest as the generated encoder would write it, in one allocation and one copy of each batch payload. */
export function encodeAppendStreamRequest(request: internalV1.AppendStreamRequest): Buffer {
  const layouts = request.partitions.map(appendPartitionLayout);
  let size = 0;
  if (request.requestId !== 0n) size += 1 + varintSize(request.requestId);
  if (request.acks !== 0) size += 1 + intSize(request.acks);
  if (request.timeoutMs !== 0) size += 1 + intSize(request.timeoutMs);
  for (const layout of layouts) size += 1 + uintSize(layout.size) + layout.size;
  const out = new Out(Buffer.allocUnsafe(size));
  if (request.requestId !== 0n) {
    out.uint((1 << 3) | WireType.Varint);
    out.bigUint(request.requestId);
  }
  if (request.acks !== 0) {
    out.uint((2 << 3) | WireType.Varint);
    out.int(request.acks);
  }
  if (request.timeoutMs !== 0) {
    out.uint((3 << 3) | WireType.Varint);
    out.int(request.timeoutMs);
  }
  request.partitions.forEach((data, index) => {
    const layout = layouts[index]!;
    out.uint((4 << 3) | WireType.LengthDelimited);
    out.uint(layout.size);
    if (layout.topicBytes > 0) {
      out.uint((1 << 3) | WireType.LengthDelimited);
      out.string(data.topic, layout.topicBytes);
    }
    if (layout.topicIdBytes > 0) {
      out.uint((2 << 3) | WireType.LengthDelimited);
      out.string(data.topicId, layout.topicIdBytes);
    }
    if (data.partition !== 0) {
      out.uint((3 << 3) | WireType.Varint);
      out.int(data.partition);
    }
    if (data.currentLeaderEpoch !== 0) {
      out.uint((4 << 3) | WireType.Varint);
      out.int(data.currentLeaderEpoch);
    }
    if (data.recordBatches.length > 0) {
      out.uint((5 << 3) | WireType.LengthDelimited);
      out.bytes(data.recordBatches);
    }
  });
  return out.buffer;
}

/**
 * A FetchPartitionResult to a client: a record_batches payload is copied once into the
 * message; a records payload (already per-record work) goes through the generated encoder.
 */
function fetchResultBody(result: v1.FetchPartitionResult): { size: number; write: (out: Out) => void } {
  const topicBytes = Buffer.byteLength(result.topic, 'utf8');
  const messageBytes = Buffer.byteLength(result.errorMessage, 'utf8');
  const payload = result.payload;
  const records = payload?.$case === 'records' ? Buffer.from(v1.RecordList.encode(payload.value).finish()) : undefined;
  const batches = payload?.$case === 'recordBatches' ? payload.value : undefined;
  const longs: [number, bigint][] = [
    [3, result.highWatermark],
    [4, result.lastStableOffset],
    [5, result.logStartOffset],
    [6, result.nextOffset],
  ];
  const longBits = (value: bigint): bigint => BigInt.asUintN(64, value);
  let size = 0;
  if (topicBytes > 0) size += 1 + uintSize(topicBytes) + topicBytes;
  if (result.partition !== 0) size += 1 + intSize(result.partition);
  for (const [, value] of longs) if (value !== 0n) size += 1 + varintSize(longBits(value));
  if (batches !== undefined) size += 1 + uintSize(batches.length) + batches.length;
  if (records !== undefined) size += 1 + uintSize(records.length) + records.length;
  if (result.errorCode !== 0) size += 1 + intSize(result.errorCode);
  if (messageBytes > 0) size += 1 + uintSize(messageBytes) + messageBytes;
  return {
    size,
    write(out) {
      if (topicBytes > 0) {
        out.uint((1 << 3) | WireType.LengthDelimited);
        out.string(result.topic, topicBytes);
      }
      if (result.partition !== 0) {
        out.uint((2 << 3) | WireType.Varint);
        out.int(result.partition);
      }
      for (const [field, value] of longs) {
        if (value === 0n) continue;
        out.uint((field << 3) | WireType.Varint);
        out.bigUint(longBits(value));
      }
      // A present oneof is written even when empty, as the generated encoder does.
      if (batches !== undefined) {
        out.uint((7 << 3) | WireType.LengthDelimited);
        out.bytes(batches);
      }
      if (records !== undefined) {
        out.uint((8 << 3) | WireType.LengthDelimited);
        out.bytes(records);
      }
      if (result.errorCode !== 0) {
        out.uint((14 << 3) | WireType.Varint);
        out.int(result.errorCode);
      }
      if (messageBytes > 0) {
        out.uint((15 << 3) | WireType.LengthDelimited);
        out.string(result.errorMessage, messageBytes);
      }
    },
  };
}

/** A message whose field 1 is `repeated FetchPartitionResult`: FetchResponse and SubscribeResponse. */
function encodeFetchResults(results: readonly v1.FetchPartitionResult[]): Buffer {
  const bodies = results.map(fetchResultBody);
  let size = 0;
  for (const body of bodies) size += 1 + uintSize(body.size) + body.size;
  const out = new Out(Buffer.allocUnsafe(size));
  for (const body of bodies) {
    out.uint((1 << 3) | WireType.LengthDelimited);
    out.uint(body.size);
    body.write(out);
  }
  return out.buffer;
}

export function encodeFetchResponse(response: v1.FetchResponse): Buffer {
  return encodeFetchResults(response.partitions);
}

export function encodeSubscribeResponse(response: v1.SubscribeResponse): Buffer {
  return encodeFetchResults(response.partitions);
}
