import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C (Castagnoli), the checksum of RecordBatch v2. Native (SSE4.2/ARMv8 instructions
 * through @node-rs/crc32): a pure-JS CRC is the top hotspot of a Node Kafka client.
 */
export function crc32c(bytes: Uint8Array): number {
  return nativeCrc32c(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) >>> 0;
}
