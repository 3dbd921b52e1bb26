import fc from 'fast-check';
import { readVarint, varintSize, writeVarint } from './varint';

function encode(value: number): string {
  const buffer = Buffer.alloc(10);
  return buffer.subarray(0, writeVarint(buffer, 0, value)).toString('hex');
}

describe('zigzag varints', () => {
  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [150, 'ac02'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('encodes %d as protobuf sint does (%s)', (value, hex) => {
    expect(encode(value)).toBe(hex);
    expect(varintSize(value)).toBe(hex.length / 2);
    expect(readVarint(Buffer.from(hex, 'hex'), 0, hex.length / 2)).toEqual({ value, next: hex.length / 2 });
  });

  it('round-trips every integer from -2^52 to 2^52 - 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }), (value) => {
        const buffer = Buffer.alloc(10);
        const end = writeVarint(buffer, 0, value);
        expect(end).toBe(varintSize(value));
        expect(readVarint(buffer, 0, end)).toEqual({ value, next: end });
      }),
    );
  });

  it('refuses truncated and over-long encodings as CORRUPT_MESSAGE', () => {
    expect(() => readVarint(Buffer.from('80', 'hex'), 0, 1)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
    expect(() => readVarint(Buffer.from('ffffffffffffffffffff01', 'hex'), 0, 11)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
    // The end bound is honoured even when the buffer goes on.
    expect(() => readVarint(Buffer.from('8001', 'hex'), 0, 1)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
  });
});
