/**
 * Zigzag variable-length integers as Kafka writes them inside records (protobuf's sint32 and
 * sint64 encoding). Values are JS numbers from -2^52 to 2^52 - 1, so that their zigzag form is
 * a safe integer: every varint field of a record (lengths, offset deltas, timestamp deltas)
 * fits, and a value that does not is refused as corrupt.
 */
import { StarlaneError } from '@starlane/model';

/** A varlong takes at most 10 bytes; a varint at most 5. */
export const varlongBytesMax = 10;
export const varintBytesMax = 5;

/** Bytes `value` takes as a zigzag varint. */
export function varintSize(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    size++;
  }
  return size;
}

/** Writes `value` (a safe integer) as a zigzag varint at `position`; returns the next position. */
export function writeVarint(buffer: Buffer, position: number, value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 128) {
    buffer[position++] = (zigzag % 128) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  buffer[position++] = zigzag;
  return position;
}

export interface Decoded {
  value: number;
  /** Position after the varint. */
  next: number;
}

/**
 * Reads a zigzag varint or varlong at `position`, without reading past `end`.
 * Throws CORRUPT_MESSAGE on truncation, over-long encodings or values beyond 2^53.
 */
export function readVarint(buffer: Buffer, position: number, end: number): Decoded {
  let zigzag = 0;
  let multiplier = 1;
  for (let i = 0; i < varlongBytesMax; i++) {
    if (position >= end) throw new StarlaneError('CORRUPT_MESSAGE', 'a varint runs past the end of its record');
    const byte = buffer[position++] ?? 0;
    zigzag += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      if (!Number.isSafeInteger(zigzag)) throw new StarlaneError('CORRUPT_MESSAGE', 'a varint exceeds 2^53');
      const value = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
      return { value, next: position };
    }
    multiplier *= 128;
  }
  throw new StarlaneError('CORRUPT_MESSAGE', `a varint is longer than ${varlongBytesMax} bytes`);
}
