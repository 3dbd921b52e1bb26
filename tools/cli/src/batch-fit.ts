/**
 * How large the produce requests to one topic may be. Each partition's share of a request
 * becomes one RecordBatch, which the topic refuses when it is larger than `max.message.bytes`
 * (MESSAGE_TOO_LARGE) or than a whole segment, `segment.bytes` (RECORD_LIST_TOO_LARGE, as
 * Kafka). The CLI reads both from the topic's effective configs and keeps every request, all
 * its partitions together, under what one batch may hold, as Kafka's producer keeps
 * `batch.size` and `max.request.size` under the broker's limits.
 */
import { batchHeaderBytes } from '@starlane/record-batch';
import type { v1 } from '@starlane/proto';

/**
 * Room left for a codec's framing when a compressed topic's data does not compress: gzip,
 * snappy, lz4 and zstd add a few bytes per block and per frame, far less than 1% + 64 bytes.
 */
export function compressionSlackBytes(batchBytesMax: number): number {
  return Math.ceil(batchBytesMax / 100) + 64;
}

/** A positive whole config value, or undefined. */
function positive(configs: Readonly<Record<string, v1.ConfigValue>>, name: string): number | undefined {
  const value = Number(configs[name]?.value);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * The request bytes (as `recordBytes` counts them) under which every batch of a request fits
 * the topic whose effective configs are `configs`; undefined when they name neither limit.
 * At least 1: a record too large for the topic is still sent, alone, and refused with its code.
 */
export function requestBytesFitting(configs: Readonly<Record<string, v1.ConfigValue>>): number | undefined {
  const limits = [positive(configs, 'max.message.bytes'), positive(configs, 'segment.bytes')].filter((limit) => limit !== undefined);
  if (limits.length === 0) return undefined;
  const batchBytesMax = Math.min(...limits);
  const compression = configs['compression.type']?.value;
  const compressed = compression !== undefined && !['producer', 'uncompressed', 'none'].includes(compression.trim().toLowerCase());
  return Math.max(1, batchBytesMax - batchHeaderBytes - (compressed ? compressionSlackBytes(batchBytesMax) : 0));
}
