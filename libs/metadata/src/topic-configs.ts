/**
 * Topic configs the controller accepts, with their built-in defaults: the partition log's
 * settings (validated by `parseLogConfig`, the same code the storage node runs) and a few
 * topic settings that are not the log's (min.insync.replicas, compression.type, ...).
 * Names and default values are Kafka's, so tools written for Kafka read them unchanged.
 */
import { defaultLogConfig, logConfigNames, parseLogConfig } from '@starlane/log';
import { StarlaneError } from '@starlane/model';
import { effectiveConfig, type ConfigMap, type MetadataImage, type TopicState } from './image';

/** Kafka spells "never" for flush.messages and flush.ms as Long.MAX_VALUE. */
const never = '9223372036854775807';

const logDefaults: Readonly<Record<string, string>> = {
  'cleanup.policy': defaultLogConfig.cleanupPolicy,
  'segment.bytes': String(defaultLogConfig.segmentBytes),
  'segment.ms': String(defaultLogConfig.segmentMs),
  'retention.ms': String(defaultLogConfig.retentionMs),
  'retention.bytes': String(defaultLogConfig.retentionBytes),
  'flush.messages': defaultLogConfig.flushMessages === -1 ? never : String(defaultLogConfig.flushMessages),
  'flush.ms': defaultLogConfig.flushMs === -1 ? never : String(defaultLogConfig.flushMs),
  'index.interval.bytes': String(defaultLogConfig.indexIntervalBytes),
  'max.message.bytes': String(defaultLogConfig.maxMessageBytes),
  'delete.retention.ms': String(defaultLogConfig.deleteRetentionMs),
  'min.compaction.lag.ms': String(defaultLogConfig.minCompactionLagMs),
};

interface TopicSetting {
  readonly defaultValue: string;
  /** Throws INVALID_CONFIG explaining why `value` is not acceptable. */
  check(name: string, value: string): void;
}

function invalid(message: string): never {
  throw new StarlaneError('INVALID_CONFIG', message);
}

function oneOf(values: readonly string[], defaultValue: string): TopicSetting {
  return {
    defaultValue,
    check(name, value) {
      if (!values.includes(value)) invalid(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
    },
  };
}

function integer(min: number, max: number, defaultValue: string): TopicSetting {
  return {
    defaultValue,
    check(name, value) {
      if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) invalid(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    },
  };
}

/** Kafka's boolean: "true" or "false", any case, surrounding spaces ignored. */
function parseBoolean(value: string): boolean | undefined {
  const trimmed = value.trim().toLowerCase();
  return trimmed === 'true' ? true : trimmed === 'false' ? false : undefined;
}

function boolean(defaultValue: 'true' | 'false'): TopicSetting {
  return {
    defaultValue,
    check(name, value) {
      if (parseBoolean(value) === undefined) invalid(`${name} must be true or false, got ${JSON.stringify(value)}`);
    },
  };
}

/** Kafka's default min.insync.replicas. */
const minInsyncReplicasDefault = 1;

const otherSettings: Readonly<Record<string, TopicSetting>> = {
  'min.insync.replicas': integer(1, 2 ** 31 - 1, String(minInsyncReplicasDefault)),
  'compression.type': oneOf(['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'], 'producer'),
  'message.timestamp.type': oneOf(['CreateTime', 'LogAppendTime'], 'CreateTime'),
  'unclean.leader.election.enable': boolean('false'),
};

/** Every topic config name the controller accepts, sorted. */
export const topicConfigNames: readonly string[] = [...logConfigNames, ...Object.keys(otherSettings)].sort();

/** Built-in default of every accepted topic config. */
export const topicConfigDefaults: ConfigMap = Object.fromEntries(
  topicConfigNames.map((name) => [name, logDefaults[name] ?? otherSettings[name]?.defaultValue ?? '']),
);

/**
 * Checks a complete set of topic config overrides; INVALID_CONFIG naming the first bad setting.
 * Values are trimmed of nothing and kept as given.
 */
export function validateTopicConfigs(configs: ConfigMap): void {
  const log: Record<string, string> = {};
  for (const [name, value] of Object.entries(configs)) {
    // Own properties only: a name such as `constructor` must be an unknown config, not Object.prototype's.
    const other = Object.hasOwn(otherSettings, name) ? otherSettings[name] : undefined;
    if (other !== undefined) other.check(name, value);
    else if (logConfigNames.includes(name)) log[name] = value;
    else invalid(`unknown topic config ${JSON.stringify(name)}; known: ${topicConfigNames.join(', ')}`);
  }
  parseLogConfig(log);
}

export type ConfigSource = 'default' | 'cluster' | 'topic';

export interface EffectiveConfig {
  readonly value: string;
  readonly source: ConfigSource;
}

/** Every accepted config of a topic with its effective value and where the value comes from. */
export function describeTopicConfigs(image: MetadataImage, topic: TopicState): ReadonlyMap<string, EffectiveConfig> {
  const described = new Map<string, EffectiveConfig>();
  // Cluster configs hold node-level settings too (num.partitions, ...): only topic settings are listed.
  const names = new Set([...topicConfigNames, ...Object.keys(topic.configs)]);
  for (const name of [...names].sort()) {
    const own = topic.configs[name];
    const cluster = image.clusterConfigs[name];
    if (own !== undefined) described.set(name, { value: own, source: 'topic' });
    else if (cluster !== undefined) described.set(name, { value: cluster, source: 'cluster' });
    else {
      const builtIn = topicConfigDefaults[name];
      if (builtIn !== undefined) described.set(name, { value: builtIn, source: 'default' });
    }
  }
  return described;
}

/**
 * Whether a partition of `topic` whose in-sync replicas cannot lead may elect any live replica
 * instead, losing what only the ISR had (Kafka's unclean.leader.election.enable): the topic's
 * override, else the cluster default, else false. A cluster value that is not a boolean counts
 * as false, the safe reading.
 */
export function uncleanLeaderElectionEnabled(image: MetadataImage, topic: TopicState): boolean {
  const value = effectiveConfig(image, topic, 'unclean.leader.election.enable');
  return value !== undefined && parseBoolean(value) === true;
}

/** A topic's min.insync.replicas and where it comes from. */
export interface MinInsyncReplicas {
  readonly value: number;
  readonly source: ConfigSource;
}

/**
 * The min.insync.replicas of a topic whose overrides are `configs`: its own, else the cluster
 * default, else 1. A value that is not a whole number of at least 1 (only a cluster value can
 * be one: overrides are validated) counts as 1, as storage nodes read it.
 */
export function effectiveMinInsyncReplicas(image: MetadataImage, configs: ConfigMap): MinInsyncReplicas {
  const own = configs['min.insync.replicas'];
  const cluster = image.clusterConfigs['min.insync.replicas'];
  const [raw, source]: [string | undefined, ConfigSource] = own !== undefined ? [own, 'topic'] : cluster !== undefined ? [cluster, 'cluster'] : [undefined, 'default'];
  const value = raw === undefined ? minInsyncReplicasDefault : Number(raw);
  return Number.isSafeInteger(value) && value >= 1 ? { value, source } : { value: minInsyncReplicasDefault, source: 'default' };
}

/**
 * Why a topic with `minInsync` cannot work on `replicas` replicas, or undefined when it can;
 * callers say which topic (or partition) it is about.
 *
 * Kafka accepts min.insync.replicas above the replication factor; its acks=all writes then
 * fail with NOT_ENOUGH_REPLICAS. Starlane also holds the high watermark while the ISR is below
 * min.insync.replicas (docs/replication.md), so acks=leader and acks=none writes would be
 * answered and never become visible: nothing tells the producer that its records are stuck.
 * The controller therefore refuses such a setting (and a reassignment to fewer replicas)
 * rather than accept a topic that silently takes writes it will never show.
 */
export function minInsyncReplicasProblem(minInsync: MinInsyncReplicas, replicas: number): string | undefined {
  if (minInsync.value <= replicas) return undefined;
  const from = minInsync.source === 'cluster' ? ' (the cluster default)' : '';
  return `min.insync.replicas ${minInsync.value}${from} is more than the replication factor ${replicas}: acks=all writes would always fail and other writes would never become visible to consumers`;
}
