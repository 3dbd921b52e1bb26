import { crc32c } from './crc32c';

describe('crc32c', () => {
  it('matches the CRC-32C check value and RFC 3720 vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it('accepts views without copying semantics changing the result', () => {
    const bytes = Buffer.from('xx123456789yy');
    expect(crc32c(new Uint8Array(bytes.buffer, bytes.byteOffset + 2, 9))).toBe(0xe3069283);
  });
});
