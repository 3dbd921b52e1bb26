/**
 * Kafka's default partitioner for keyed records, so a key lands in the same partition whether
 * it was written through Starlane or a Kafka client.
 */

/** Kafka's murmur2 seed and mixing constants (org.apache.kafka.common.utils.Utils#murmur2). */
const seed = 0x9747b28c;
const m = 0x5bd1e995;
const r = 24;

/**
 * Kafka's murmur2 hash of `data`: 32-bit signed arithmetic as Java does it (Math.imul for the
 * wrapping multiply, `>>>` for Java's unsigned shift, `| 0` back to int32).
 * Worked example: murmur2("foobar") is -790332482, so with 10 partitions the key goes to
 * (-790332482 & 0x7fffffff) % 10 = 1357151166 % 10 = 6.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (seed ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // Java's switch on length % 4 falls through from 3 to 2 to 1.
  const tail = length & ~3;
  const remainder = length % 4;
  if (remainder >= 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (remainder >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (remainder >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for negatives). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** The partition Kafka's default partitioner gives a non-null key. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}
