/**
 * `starlane topics ...`: create, list, describe, alter, delete, add-partitions. Each is one
 * AdminService call; per-topic failures are reported per topic and make the exit code 1.
 */
import { v1 } from '@starlane/proto';
import { UsageError, itemFailure, type ServerError } from '../errors';
import { toJson } from '../json';
import { idList, renderTable } from '../table';
import { parseInteger, parseKeyValue } from '../values';
import { exitCodes } from '../errors';
import type { CommandSpec, ParsedArgs } from '../command';
import type { CommandContext } from '../context';

/** Topics per page asked of ListTopics (the gateway caps it at its own maximum). */
export const listPageSize = 1000;
/** Pages read by `topics list` before giving up: a bound on a listing that never ends. */
export const listPagesMax = 10_000;

/** Prints a per-item failure and returns whether there was one. */
function report(context: CommandContext, failure: ServerError | undefined): boolean {
  if (failure === undefined) return false;
  context.note(`error: ${failure.describe()}`);
  return true;
}

function configsFrom(args: ParsedArgs, option: string): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const text of args.strings(option)) {
    const { key, value } = parseKeyValue(text, `--${option}`);
    configs[key] = value;
  }
  return configs;
}

export const topicsCreate: CommandSpec = {
  path: ['topics', 'create'],
  summary: 'Create topics',
  usage: 'NAME...',
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER },
  options: {
    partitions: { type: 'string', short: 'p', valueName: 'N', description: 'Partitions (default: the cluster default)' },
    'replication-factor': { type: 'string', short: 'r', valueName: 'N', description: 'Replicas per partition (default: the cluster default)' },
    config: { type: 'string', short: 'c', multiple: true, valueName: 'KEY=VALUE', description: 'Topic config override, Kafka names (e.g. retention.ms=86400000)' },
    'if-not-exists': { type: 'boolean', description: 'Succeed if a topic already exists' },
    'validate-only': { type: 'boolean', description: 'Check the request without creating anything' },
  },
  details: `Examples:
  starlane topics create orders --partitions 6 --replication-factor 3
  starlane topics create compacted -c cleanup.policy=compact -c min.compaction.lag.ms=60000`,
  async run(context, args) {
    const partitions = args.has('partitions') ? parseInteger(args.string('partitions')!, '--partitions', 1) : -1;
    const replicationFactor = args.has('replication-factor') ? parseInteger(args.string('replication-factor')!, '--replication-factor', 1, 32767) : -1;
    const configs = configsFrom(args, 'config');
    const ifNotExists = args.flag('if-not-exists');
    const validateOnly = args.flag('validate-only');
    const response = await context.gateway.createTopics({
      topics: args.positionals.map((name) => ({ name, partitionCount: partitions, replicationFactor, replicaAssignments: [], configs })),
      validateOnly,
      timeoutMs: context.callTimeoutMs,
    });
    let failed = false;
    for (const result of response.results) {
      if (result.errorCode === v1.ErrorCode.TOPIC_ALREADY_EXISTS && ifNotExists) {
        context.print(`Topic ${result.name} already exists.`);
        continue;
      }
      if (report(context, itemFailure(result.errorCode, result.errorMessage, `topic ${result.name}`))) {
        failed = true;
        continue;
      }
      const shape = `${result.partitionCount} partition${result.partitionCount === 1 ? '' : 's'}, replication factor ${result.replicationFactor}`;
      context.print(validateOnly ? `Topic ${result.name} is valid (${shape}).` : `Created topic ${result.name} (${shape}).`);
    }
    return failed ? exitCodes.serverError : exitCodes.ok;
  },
};

export const topicsList: CommandSpec = {
  path: ['topics', 'list'],
  summary: 'List topics',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    internal: { type: 'boolean', description: 'Include internal topics (names starting with __)' },
    names: { type: 'boolean', short: 'q', description: 'Print names only, one per line' },
    json: { type: 'boolean', description: 'Print one JSON object per topic' },
  },
  async run(context, args) {
    const topics: v1.TopicListing[] = [];
    let pageToken = '';
    for (let page = 0; page < listPagesMax; page += 1) {
      const response = await context.gateway.listTopics({ includeInternal: args.flag('internal'), pageSize: listPageSize, pageToken });
      topics.push(...response.topics);
      pageToken = response.nextPageToken;
      if (pageToken === '') break;
    }
    if (args.flag('json')) {
      for (const topic of topics) {
        context.print(toJson({ name: topic.name, topicId: topic.topicId, partitions: topic.partitionCount, internal: topic.internal }));
      }
    } else if (args.flag('names')) {
      for (const topic of topics) context.print(topic.name);
    } else {
      const rows = topics.map((topic) => [topic.name, String(topic.partitionCount), topic.topicId]);
      for (const line of renderTable(['NAME', 'PARTITIONS', 'TOPIC-ID'], rows)) context.print(line);
    }
    return exitCodes.ok;
  },
};

const configSourceNames: Readonly<Record<number, string>> = {
  [v1.ConfigSource.DEFAULT]: 'default',
  [v1.ConfigSource.CLUSTER]: 'cluster',
  [v1.ConfigSource.TOPIC]: 'topic',
};

function configSource(source: v1.ConfigSource): string {
  return configSourceNames[source] ?? 'unknown';
}

function replicationFactorOf(topic: v1.TopicDescription): number {
  return topic.partitions[0]?.replicas.length ?? 0;
}

function describeText(topic: v1.TopicDescription, overridesOnly: boolean): string[] {
  const lines = [
    `Topic: ${topic.name}  TopicId: ${topic.topicId}  PartitionCount: ${topic.partitions.length}  ReplicationFactor: ${replicationFactorOf(topic)}${topic.internal ? '  Internal: true' : ''}`,
  ];
  const configs = Object.entries(topic.configs)
    .filter(([, config]) => !overridesOnly || config.source === v1.ConfigSource.TOPIC)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (configs.length > 0) {
    lines.push('Configs:');
    const rows = configs.map(([name, config]) => [`  ${name}`, config.value, configSource(config.source)]);
    lines.push(...renderTable(['  NAME', 'VALUE', 'SOURCE'], rows));
  }
  const rows = topic.partitions.map((partition) => [
    String(partition.partition),
    partition.leaderId < 0 ? 'none' : String(partition.leaderId),
    String(partition.leaderEpoch),
    idList(partition.replicas),
    idList(partition.isr),
    idList(partition.offlineReplicas),
  ]);
  lines.push(...renderTable(['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'OFFLINE'], rows));
  return lines;
}

function describeJson(topic: v1.TopicDescription): string {
  return toJson({
    name: topic.name,
    topicId: topic.topicId,
    internal: topic.internal,
    partitions: topic.partitions.map((partition) => ({
      partition: partition.partition,
      leader: partition.leaderId,
      leaderEpoch: partition.leaderEpoch,
      replicas: partition.replicas,
      isr: partition.isr,
      offlineReplicas: partition.offlineReplicas,
      addingReplicas: partition.addingReplicas,
      removingReplicas: partition.removingReplicas,
    })),
    configs: Object.fromEntries(Object.entries(topic.configs).map(([name, config]) => [name, { value: config.value, source: configSource(config.source) }])),
  });
}

export const topicsDescribe: CommandSpec = {
  path: ['topics', 'describe'],
  summary: 'Show partitions (leader, replicas, ISR) and configs of topics',
  usage: 'NAME...',
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER },
  options: {
    'overrides-only': { type: 'boolean', description: 'Show only configs set on the topic' },
    json: { type: 'boolean', description: 'Print one JSON object per topic' },
  },
  details: `Configs are listed with their source: topic (an override), cluster (a cluster-wide
default) or default (Starlane's built-in). A partition without a leader shows LEADER none.`,
  async run(context, args) {
    const response = await context.gateway.describeTopics({ topics: [...args.positionals], topicIds: [], includeConfigs: true });
    let failed = false;
    let first = true;
    for (const topic of response.topics) {
      if (report(context, itemFailure(topic.errorCode, topic.errorMessage, `topic ${topic.name}`))) {
        failed = true;
        continue;
      }
      if (args.flag('json')) {
        context.print(describeJson(topic));
        continue;
      }
      if (!first) context.print('');
      first = false;
      for (const line of describeText(topic, args.flag('overrides-only'))) context.print(line);
    }
    return failed ? exitCodes.serverError : exitCodes.ok;
  },
};

export const topicsAlter: CommandSpec = {
  path: ['topics', 'alter'],
  summary: 'Set or delete topic config overrides',
  usage: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    set: { type: 'string', short: 's', multiple: true, valueName: 'KEY=VALUE', description: 'Set an override' },
    delete: { type: 'string', short: 'd', multiple: true, valueName: 'KEY', description: 'Delete an override (back to the default)' },
    'validate-only': { type: 'boolean', description: 'Check the change without applying it' },
  },
  details: `The changes to one topic apply together or not at all.

Example:
  starlane topics alter orders --set retention.ms=3600000 --delete cleanup.policy`,
  async run(context, args) {
    const name = args.positionals[0]!;
    const changes: v1.ConfigChange[] = [];
    for (const [key, value] of Object.entries(configsFrom(args, 'set'))) changes.push({ name: key, operation: v1.ConfigOperation.SET, value });
    for (const key of args.strings('delete')) changes.push({ name: key, operation: v1.ConfigOperation.DELETE, value: '' });
    if (changes.length === 0) throw new UsageError('nothing to change: give --set KEY=VALUE or --delete KEY', 'topics alter');
    const validateOnly = args.flag('validate-only');
    const response = await context.gateway.alterTopicConfigs({ topics: [{ topic: name, changes }], validateOnly });
    let failed = false;
    for (const result of response.results) {
      if (report(context, itemFailure(result.errorCode, result.errorMessage, `topic ${result.topic}`))) failed = true;
      else context.print(validateOnly ? `Config changes to topic ${result.topic} are valid.` : `Altered configs of topic ${result.topic}.`);
    }
    return failed ? exitCodes.serverError : exitCodes.ok;
  },
};

export const topicsDelete: CommandSpec = {
  path: ['topics', 'delete'],
  summary: 'Delete topics',
  usage: 'NAME...',
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER },
  options: {
    'if-exists': { type: 'boolean', description: 'Succeed if a topic does not exist' },
  },
  async run(context, args) {
    const response = await context.gateway.deleteTopics({ topics: [...args.positionals], topicIds: [], timeoutMs: context.callTimeoutMs });
    let failed = false;
    for (const result of response.results) {
      if (result.errorCode === v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && args.flag('if-exists')) {
        context.print(`Topic ${result.name} does not exist.`);
        continue;
      }
      if (report(context, itemFailure(result.errorCode, result.errorMessage, `topic ${result.name}`))) failed = true;
      else context.print(`Deleted topic ${result.name}.`);
    }
    return failed ? exitCodes.serverError : exitCodes.ok;
  },
};

export const topicsAddPartitions: CommandSpec = {
  path: ['topics', 'add-partitions'],
  summary: "Increase a topic's partition count",
  usage: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    total: { type: 'string', short: 'n', valueName: 'N', description: 'The new total partition count (required; must exceed the current one)' },
    'validate-only': { type: 'boolean', description: 'Check the change without applying it' },
  },
  details: `Partition counts only grow. Records with a key that are written afterwards may map to
a different partition than before (murmur2 of the key modulo the count).`,
  async run(context, args) {
    const name = args.positionals[0]!;
    const totalText = args.string('total');
    if (totalText === undefined) throw new UsageError('--total N is required', 'topics add-partitions');
    const total = parseInteger(totalText, '--total', 1);
    const validateOnly = args.flag('validate-only');
    const response = await context.gateway.createPartitions({
      topics: [{ topic: name, totalCount: total, replicaAssignments: [] }],
      validateOnly,
      timeoutMs: context.callTimeoutMs,
    });
    let failed = false;
    for (const result of response.results) {
      if (report(context, itemFailure(result.errorCode, result.errorMessage, `topic ${result.topic}`))) failed = true;
      else context.print(validateOnly ? `Topic ${result.topic} can grow to ${total} partitions.` : `Topic ${result.topic} now has ${total} partitions.`);
    }
    return failed ? exitCodes.serverError : exitCodes.ok;
  },
};

export const topicCommands: readonly CommandSpec[] = [topicsCreate, topicsList, topicsDescribe, topicsAlter, topicsDelete, topicsAddPartitions];
