import { decodeHighWatermarks, encodeHighWatermarks } from './hw-checkpoint';
import { partitionKey } from './partition-dirs';

describe('high-watermark checkpoint format', () => {
  it('round-trips entries, topic ids and partitions included', () => {
    const entries = new Map([
      [partitionKey('5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42', 0), 3n],
      [partitionKey('5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42', 11), 9_007_199_254_740_993n],
    ]);
    const data = encodeHighWatermarks(entries);
    expect(data.toString()).toBe('0\n2\n5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42 0 3\n5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42 11 9007199254740993\n');
    expect(decodeHighWatermarks(data)).toEqual(entries);
    expect(decodeHighWatermarks(encodeHighWatermarks(new Map()))).toEqual(new Map());
  });

  it.each([
    ['', /unknown checkpoint version/],
    ['1\n0\n', /unknown checkpoint version/],
    ['0\n2\nt 0 1\n', /entry count "2" does not match the 1 entries/],
    ['0\n1\nt zero 1\n', /entry 1 is malformed/],
    ['0\n1\nt 0 -1\n', /entry 1 is malformed/],
  ])('refuses %j', (text, message) => {
    expect(() => decodeHighWatermarks(Buffer.from(text))).toThrow(message);
  });
});
