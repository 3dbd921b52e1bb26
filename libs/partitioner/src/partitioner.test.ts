import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey, toPositive } from './partitioner';

// kafkajs exposes its Java-compatible murmur2 only as an internal CommonJS module.
const kafkaJsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer) => number;

/** kafkajs's DefaultPartitioner (the Java-compatible one) choosing for a keyed message. */
function kafkaJsPartition(key: Buffer, partitionCount: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('murmur2', () => {
  it("matches Kafka's UtilsTest vectors", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [input, expected] of vectors) expect(murmur2(Buffer.from(input))).toBe(expected);
  });

  it('toPositive clears the sign bit rather than negating', () => {
    expect(toPositive(-790332482)).toBe(1357151166);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(partitionForKey(Buffer.from('foobar'), 10)).toBe(6);
  });

  it('agrees with kafkajs on every tail length and on 5,000 random keys', () => {
    for (let length = 0; length <= 64; length++) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(kafkaJsMurmur2(key));
    }
    for (let i = 0; i < 5000; i++) {
      const key = randomBytes(1 + (i % 97));
      const partitions = 1 + (i % 61);
      expect(murmur2(key)).toBe(kafkaJsMurmur2(key));
      expect(partitionForKey(key, partitions)).toBe(kafkaJsPartition(key, partitions));
    }
  });

  it('agrees with kafkajs for arbitrary keys and partition counts (seeded)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 1, max: 10_000 }), (bytes, partitions) => {
        const key = Buffer.from(bytes);
        return partitionForKey(key, partitions) === kafkaJsPartition(key, partitions);
      }),
      { numRuns: 3000 },
    );
  });
});

