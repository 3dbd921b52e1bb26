/**
 * The five compression types of RecordBatch v2 (attributes bits 0-2). Storage nodes never
 * call these on the append or fetch path; they serve clients that build or read batches and
 * the log cleaner, which must see keys.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrame as lz4CompressFrame, decompressFrame as lz4DecompressFrame } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { StarlaneError } from '@starlane/model';

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];
export const compressionNames: Record<Compression, string> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

/** A decompressed batch larger than this is refused: it bounds what a small, hostile
 * compressed batch can make us allocate. */
export const decompressedBytesMax = 64 * 1024 * 1024;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

// Java clients frame snappy the way snappy-java's SnappyOutputStream does ("xerial" framing):
// a 16-byte header, then blocks of (int32 compressed length, raw snappy block).
const xerialMagic = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const xerialHeaderBytes = 16;
/** Uncompressed bytes per xerial block, as snappy-java writes them. */
const xerialBlockBytes = 32 * 1024;

function corrupt(codec: string, why: string, cause?: unknown): StarlaneError {
  return new StarlaneError('CORRUPT_MESSAGE', `${codec} payload cannot be decompressed: ${why}`, cause === undefined ? undefined : { cause });
}

function snappyBlock(block: Buffer, budget: number): Buffer {
  // Raw snappy starts with the uncompressed length as an unsigned varint; refuse before allocating.
  let length = 0;
  let multiplier = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i] ?? 0;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  if (length > budget) throw corrupt('snappy', `it would inflate past ${decompressedBytesMax} bytes`);
  try {
    return snappyUncompress(block, { asBuffer: true }) as Buffer;
  } catch (error) {
    throw corrupt('snappy', 'invalid block', error);
  }
}

function snappyDecompress(payload: Buffer): Buffer {
  if (!isXerialSnappy(payload)) return snappyBlock(payload, decompressedBytesMax);
  const blocks: Buffer[] = [];
  let total = 0;
  let position = xerialHeaderBytes;
  while (position < payload.length) {
    if (position + 4 > payload.length) throw corrupt('snappy', 'truncated xerial block length');
    const size = payload.readInt32BE(position);
    position += 4;
    if (size < 0 || position + size > payload.length) throw corrupt('snappy', 'truncated xerial block');
    const block = snappyBlock(payload.subarray(position, position + size), decompressedBytesMax - total);
    total += block.length;
    blocks.push(block);
    position += size;
  }
  return Buffer.concat(blocks, total);
}

function snappyXerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.concat([xerialMagic, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])])];
  for (let position = 0; position < data.length; position += xerialBlockBytes) {
    const block = snappyCompress(data.subarray(position, position + xerialBlockBytes));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function checkInflated(codec: string, data: Buffer): Buffer {
  if (data.length > decompressedBytesMax) throw corrupt(codec, `it inflates past ${decompressedBytesMax} bytes`);
  return data;
}

export async function compress(compression: Compression, data: Buffer): Promise<Buffer> {
  switch (compression) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return gzipAsync(data);
    case Compression.snappy:
      return snappyXerialCompress(data);
    case Compression.lz4:
      return lz4CompressFrame(data);
    case Compression.zstd:
      return zstdCompress(data, 3);
  }
}

export async function decompress(compression: Compression, payload: Buffer): Promise<Buffer> {
  switch (compression) {
    case Compression.none:
      return payload;
    case Compression.gzip:
      try {
        return await gunzipAsync(payload, { maxOutputLength: decompressedBytesMax });
      } catch (error) {
        throw corrupt('gzip', 'invalid or too large', error);
      }
    case Compression.snappy:
      return snappyDecompress(payload);
    case Compression.lz4:
      try {
        return checkInflated('lz4', await lz4DecompressFrame(payload));
      } catch (error) {
        if (error instanceof StarlaneError) throw error;
        throw corrupt('lz4', 'invalid frame', error);
      }
    case Compression.zstd:
      try {
        return checkInflated('zstd', await zstdDecompress(payload));
      } catch (error) {
        if (error instanceof StarlaneError) throw error;
        throw corrupt('zstd', 'invalid frame', error);
      }
  }
}

export function isCompression(value: number): value is Compression {
  return Number.isInteger(value) && value >= 0 && value <= 4;
}

/** Whether a snappy payload uses the xerial framing of Java clients (else it is one raw block). */
export function isXerialSnappy(payload: Buffer): boolean {
  return payload.length >= xerialHeaderBytes && payload.subarray(0, 8).equals(xerialMagic);
}
