/**
 * Per-partition log settings, named and defaulted as Kafka names and defaults them, so topic
 * configs carry over unchanged (`retention.ms`, `segment.bytes`, ...).
 */
import { StarlaneError } from '@starlane/model';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface LogConfig {
  /** Roll a new segment once the active one would exceed this (`segment.bytes`). */
  readonly segmentBytes: number;
  /** Roll a new segment once the active one is this old (`segment.ms`). */
  readonly segmentMs: number;
  /** Delete segments whose newest record is older than this; -1 keeps forever (`retention.ms`). */
  readonly retentionMs: number;
  /** Delete the oldest segments while the log is larger than this; -1 = no limit (`retention.bytes`). */
  readonly retentionBytes: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** fsync after this many records; -1 leaves durability to replication, as Kafka's default (`flush.messages`). */
  readonly flushMessages: number;
  /** fsync at least this often; -1 = never (`flush.ms`). */
  readonly flushMs: number;
  /** Bytes between sparse index entries (`index.interval.bytes`). */
  readonly indexIntervalBytes: number;
  /** Largest batch accepted (`max.message.bytes`). */
  readonly maxMessageBytes: number;
  /** How long tombstones survive compaction (`delete.retention.ms`). */
  readonly deleteRetentionMs: number;
  /** Records younger than this are not compacted (`min.compaction.lag.ms`). */
  readonly minCompactionLagMs: number;
}

const day = 24 * 60 * 60 * 1000;

export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * day,
  retentionMs: 7 * day,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  flushMessages: -1,
  flushMs: -1,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1024 * 1024 + 12,
  deleteRetentionMs: day,
  minCompactionLagMs: 0,
};

/** Segment files address positions with 32-bit integers, as Kafka's indexes do. */
export const segmentBytesMax = 2 ** 31 - 1;
/** Kafka's minimum segment.bytes. */
export const segmentBytesMin = 14;

type NumericKey = Exclude<keyof LogConfig, 'cleanupPolicy'>;

const numericKeys: Record<string, { key: NumericKey; min: number; max: number }> = {
  'segment.bytes': { key: 'segmentBytes', min: segmentBytesMin, max: segmentBytesMax },
  'segment.ms': { key: 'segmentMs', min: 1, max: Number.MAX_SAFE_INTEGER },
  'retention.ms': { key: 'retentionMs', min: -1, max: Number.MAX_SAFE_INTEGER },
  'retention.bytes': { key: 'retentionBytes', min: -1, max: Number.MAX_SAFE_INTEGER },
  'flush.messages': { key: 'flushMessages', min: -1, max: Number.MAX_SAFE_INTEGER },
  'flush.ms': { key: 'flushMs', min: -1, max: Number.MAX_SAFE_INTEGER },
  'index.interval.bytes': { key: 'indexIntervalBytes', min: 0, max: segmentBytesMax },
  'max.message.bytes': { key: 'maxMessageBytes', min: 0, max: segmentBytesMax },
  'delete.retention.ms': { key: 'deleteRetentionMs', min: 0, max: Number.MAX_SAFE_INTEGER },
  'min.compaction.lag.ms': { key: 'minCompactionLagMs', min: 0, max: Number.MAX_SAFE_INTEGER },
};

export const logConfigNames: readonly string[] = ['cleanup.policy', ...Object.keys(numericKeys)];

/**
 * Builds a LogConfig from Kafka-named overrides over `base`. Unknown names and bad values are
 * INVALID_CONFIG errors naming the setting. Kafka's "never" for flush.messages and flush.ms is
 * Long.MAX_VALUE; -1 is accepted as a clearer spelling of the same.
 */
export function parseLogConfig(overrides: Readonly<Record<string, string>>, base: LogConfig = defaultLogConfig): LogConfig {
  const config: { -readonly [K in keyof LogConfig]: LogConfig[K] } = { ...base };
  for (const [name, raw] of Object.entries(overrides)) {
    if (name === 'cleanup.policy') {
      const policy = raw.split(',').map((part) => part.trim()).sort().join(',');
      if (policy !== 'delete' && policy !== 'compact' && policy !== 'compact,delete') {
        throw new StarlaneError('INVALID_CONFIG', `cleanup.policy must be delete, compact or compact,delete, got ${JSON.stringify(raw)}`);
      }
      config.cleanupPolicy = policy;
      continue;
    }
    const spec = numericKeys[name];
    if (spec === undefined) throw new StarlaneError('INVALID_CONFIG', `unknown log config ${JSON.stringify(name)}`);
    if (!/^-?\d+$/.test(raw.trim())) throw new StarlaneError('INVALID_CONFIG', `${name} must be an integer, got ${JSON.stringify(raw)}`);
    const parsed = BigInt(raw.trim());
    // Kafka spells "never" as Long.MAX_VALUE.
    const value = parsed >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(parsed);
    const never = (name === 'flush.messages' || name === 'flush.ms') && value === Number.MAX_SAFE_INTEGER;
    if (!never && (value < spec.min || value > spec.max)) throw new StarlaneError('INVALID_CONFIG', `${name} must be from ${spec.min} to ${spec.max}, got ${raw}`);
    config[spec.key] = never ? -1 : value;
  }
  return config;
}
