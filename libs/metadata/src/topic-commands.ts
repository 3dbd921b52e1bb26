/**
 * The topic commands (CreateTopics, DeleteTopics, AlterTopicConfigs, CreatePartitions) as pure
 * functions, like the others in `commands.ts`: each returns its answer and the records that
 * carry it out, one result per topic, a failing topic never stopping the others.
 */
import { StarlaneError, validateTopicName } from '@starlane/model';
import { activeNodes, electLeaderless, electorate, itemError, racksOf, type CommandOutcome, type ItemError } from './commands';
import { originalReplicas } from './partition-commands';
import type { ControllerState } from './controller-state';
import { noLeader, topicById, type ConfigMap, type PartitionState, type TopicState } from './image';
import { placeReplicas, type MetadataRandom } from './placement';
import { batchRecordsMax, type MetadataRecord, type PartitionRecord } from './records';
import { effectiveMinInsyncReplicas, minInsyncReplicasProblem, topicConfigDefaults, uncleanLeaderElectionEnabled, validateTopicConfigs } from './topic-configs';

/** Largest partition count of one topic: each partition is a log directory on every replica. */
export const topicPartitionsMax = 10_000;
/** Default partition count and replication factor when the cluster configs do not set them. */
export const builtInTopicDefaults = { partitions: 1, replicationFactor: 1 } as const;


export interface NewTopicInput {
  readonly name: string;
  /** -1: the cluster default (as Kafka); 0 or below is invalid. */
  readonly partitionCount: number;
  /** -1: the cluster default (as Kafka); 0 or below is invalid. */
  readonly replicationFactor: number;
  /** Explicit placement, partitions 0..n-1; empty: the controller places replicas. */
  readonly replicaAssignments: readonly { readonly partition: number; readonly replicas: readonly number[] }[];
  readonly configs: ConfigMap;
}

export interface CreateTopicResult {
  readonly name: string;
  /** Empty on error and with validateOnly. */
  readonly topicId: string;
  /** -1 on error. */
  readonly partitionCount: number;
  /** -1 on error. */
  readonly replicationFactor: number;
  readonly error?: ItemError;
}

function clusterDefault(state: ControllerState, name: string, fallback: number): number {
  const raw = state.image.clusterConfigs[name];
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(value) && value >= 1 ? value : fallback;
}

/** Kafka refuses names that differ only in '.' versus '_': both map to one metric name. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

function partitionRecords(topicId: string, firstPartition: number, assignments: readonly (readonly number[])[], active: ReadonlySet<number>): PartitionRecord[] {
  return assignments.map((replicas, i) => {
    // Replicas that cannot serve now start outside the ISR; assignment checks ensured one can.
    const isr = replicas.filter((id) => active.has(id));
    return {
      type: 'partition',
      topicId,
      partition: {
        partition: firstPartition + i,
        leader: isr[0] ?? noLeader,
        leaderEpoch: 0,
        partitionEpoch: 0,
        replicas: [...replicas],
        isr,
        elr: [],
        offlineReplicas: [],
        addingReplicas: [],
        removingReplicas: [],
      },
    };
  });
}

/**
 * Checks explicit assignments for partitions firstPartition.. in order: every index once, at
 * least one replica, no node twice, every node registered, the same count everywhere (equal to
 * `replicationFactor` when given), and at least one replica that can lead now.
 */
function checkAssignments(
  state: ControllerState,
  assignments: NewTopicInput['replicaAssignments'],
  firstPartition: number,
  replicationFactor: number | undefined,
  active: ReadonlySet<number>,
): number[][] {
  const fail = (why: string): never => {
    throw new StarlaneError('INVALID_REPLICA_ASSIGNMENT', why);
  };
  const sorted = [...assignments].sort((a, b) => a.partition - b.partition);
  const expected = replicationFactor ?? sorted[0]?.replicas.length ?? 0;
  return sorted.map((assignment, i) => {
    if (assignment.partition !== firstPartition + i) {
      fail(`assignments must name partitions ${firstPartition} to ${firstPartition + sorted.length - 1} once each; found partition ${assignment.partition} where partition ${firstPartition + i} was expected`);
    }
    const replicas = assignment.replicas;
    if (replicas.length === 0) fail(`partition ${assignment.partition} has no replicas`);
    if (new Set(replicas).size !== replicas.length) fail(`partition ${assignment.partition} lists a node more than once: [${replicas.join(', ')}]`);
    if (replicas.length !== expected) fail(`partition ${assignment.partition} has ${replicas.length} replicas where the others have ${expected}`);
    for (const id of replicas) if (!state.registrations.has(id)) fail(`partition ${assignment.partition} names node ${id}, which is not registered`);
    if (!replicas.some((id) => active.has(id))) fail(`every replica of partition ${assignment.partition} is fenced or shutting down: [${replicas.join(', ')}]`);
    return [...replicas];
  });
}

/** Kafka's "use the default" in counts. */
const useDefault = -1;

/** What `createTopics` decides once per request, for `planAssignments`. */
interface CreationContext {
  readonly active: ReadonlySet<number>;
  readonly racks: ReadonlyMap<number, string>;
  /** Counts `partitions` against the request's bound; throws past it. */
  readonly plan: (partitions: number) => void;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
}

/** A new topic's replicas per partition: its explicit assignments, checked, or a placement. */
function planAssignments(state: ControllerState, topic: NewTopicInput, context: CreationContext, random: MetadataRandom): number[][] {
  const { active, racks, plan, defaultPartitions, defaultReplicationFactor } = context;
  if (topic.replicaAssignments.length > 0) {
    // With explicit assignments the counts come from them; unset (0) or -1 is all that may be sent.
    if (![0, useDefault].includes(topic.partitionCount) || ![0, useDefault].includes(topic.replicationFactor)) {
      throw new StarlaneError('INVALID_REQUEST', 'partition_count and replication_factor must be unset (0 or -1) when replica_assignments is given');
    }
    if (topic.replicaAssignments.length > topicPartitionsMax) throw new StarlaneError('INVALID_PARTITIONS', `a topic may have at most ${topicPartitionsMax} partitions, got ${topic.replicaAssignments.length}`);
    plan(topic.replicaAssignments.length);
    return checkAssignments(state, topic.replicaAssignments, 0, undefined, active);
  }
  const partitions = topic.partitionCount === useDefault ? defaultPartitions : topic.partitionCount;
  if (!Number.isInteger(partitions) || partitions < 1) throw new StarlaneError('INVALID_PARTITIONS', `partition count must be at least 1 (or -1 for the cluster default), got ${topic.partitionCount}`);
  if (partitions > topicPartitionsMax) throw new StarlaneError('INVALID_PARTITIONS', `a topic may have at most ${topicPartitionsMax} partitions, got ${partitions}`);
  const factor = topic.replicationFactor === useDefault ? defaultReplicationFactor : topic.replicationFactor;
  if (!Number.isInteger(factor) || factor < 1) throw new StarlaneError('INVALID_REPLICATION_FACTOR', `replication factor must be at least 1 (or -1 for the cluster default), got ${topic.replicationFactor}`);
  if (factor > active.size) {
    throw new StarlaneError('INVALID_REPLICATION_FACTOR', `replication factor ${factor} is larger than the ${active.size} available storage node${active.size === 1 ? '' : 's'}`);
  }
  plan(partitions);
  return placeReplicas({ nodeIds: [...active], replicationFactor: factor, firstPartition: 0, partitionCount: partitions, racks }, random);
}

/**
 * Creates topics, each independently: a failing topic does not stop the others. With
 * `validateOnly` every check runs and nothing is recorded.
 */
export function createTopics(
  state: ControllerState,
  input: { readonly topics: readonly NewTopicInput[]; readonly validateOnly: boolean },
  random: MetadataRandom,
): CommandOutcome<CreateTopicResult[]> {
  const active = activeNodes(state);
  const racks = racksOf(state);
  const records: MetadataRecord[] = [];
  const counts = new Map<string, number>();
  for (const topic of input.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
  const taken = new Map<string, string>();
  for (const name of state.image.topics.keys()) taken.set(collisionKey(name), name);
  const defaultPartitions = clusterDefault(state, 'num.partitions', builtInTopicDefaults.partitions);
  const defaultReplicationFactor = clusterDefault(state, 'default.replication.factor', builtInTopicDefaults.replicationFactor);

  // Partitions planned by this request so far, validate_only included: checked before any
  // placement is computed, so one small request cannot buy seconds of synchronous work.
  let plannedPartitions = 0;
  const plan = (partitions: number): void => {
    if (plannedPartitions + 1 + partitions > batchRecordsMax) {
      throw new StarlaneError('INVALID_REQUEST', `the request creates more than ${batchRecordsMax} partitions at once; split it`);
    }
    plannedPartitions += 1 + partitions;
  };
  const results = input.topics.map((topic): CreateTopicResult => {
    const failed = (error: ItemError): CreateTopicResult => ({ name: topic.name, topicId: '', partitionCount: -1, replicationFactor: -1, error });
    try {
      validateTopicName(topic.name);
      if ((counts.get(topic.name) ?? 0) > 1) throw new StarlaneError('INVALID_REQUEST', `topic ${topic.name} is listed more than once in the request`);
      if (state.image.topics.has(topic.name)) throw new StarlaneError('TOPIC_ALREADY_EXISTS', `topic ${topic.name} already exists`);
      const collides = taken.get(collisionKey(topic.name));
      if (collides !== undefined) throw new StarlaneError('INVALID_TOPIC_EXCEPTION', `topic ${topic.name} collides with topic ${collides} ('.' and '_' are interchangeable in metric names)`);

      const assignments = planAssignments(state, topic, { active, racks, plan, defaultPartitions, defaultReplicationFactor }, random);
      validateTopicConfigs(topic.configs);
      const partitionCount = assignments.length;
      const replicationFactor = assignments[0]?.length ?? 0;
      const problem = minInsyncReplicasProblem(effectiveMinInsyncReplicas(state.image, topic.configs), replicationFactor);
      if (problem !== undefined) throw new StarlaneError('INVALID_CONFIG', `topic ${topic.name}: ${problem}`);
      taken.set(collisionKey(topic.name), topic.name);
      if (input.validateOnly) return { name: topic.name, topicId: '', partitionCount, replicationFactor };
      const topicId = newTopicId(state, random);
      records.push({ type: 'topic', topicId, name: topic.name, internal: false, configs: { ...topic.configs } }, ...partitionRecords(topicId, 0, assignments, active));
      return { name: topic.name, topicId, partitionCount, replicationFactor };
    } catch (error) {
      return failed(itemError(error));
    }
  });
  return { result: results, records };
}

function newTopicId(state: ControllerState, random: MetadataRandom): string {
  // A collision of random UUIDs is astronomically unlikely; the all-zero id is Kafka's "none".
  for (;;) {
    const id = random.uuid();
    if (id !== '00000000-0000-0000-0000-000000000000' && !state.image.topicNamesById.has(id)) return id;
  }
}

export interface DeleteTopicResult {
  readonly name: string;
  readonly topicId: string;
  readonly error?: ItemError;
}

/** Deletes topics by name, then by id; results in that order. */
export function deleteTopics(state: ControllerState, input: { readonly names: readonly string[]; readonly topicIds: readonly string[] }): CommandOutcome<DeleteTopicResult[]> {
  const records: MetadataRecord[] = [];
  const deleted = new Set<string>();
  const remove = (topic: TopicState): DeleteTopicResult => {
    if (deleted.has(topic.topicId)) {
      return { name: topic.name, topicId: topic.topicId, error: { code: 'INVALID_REQUEST', message: `topic ${topic.name} is listed more than once in the request` } };
    }
    deleted.add(topic.topicId);
    records.push({ type: 'remove-topic', topicId: topic.topicId });
    return { name: topic.name, topicId: topic.topicId };
  };
  const byName = input.names.map((name): DeleteTopicResult => {
    const topic = state.image.topics.get(name);
    if (topic === undefined) return { name, topicId: '', error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic ${name} does not exist` } };
    return remove(topic);
  });
  const byId = input.topicIds.map((topicId): DeleteTopicResult => {
    const topic = topicById(state.image, topicId);
    if (topic === undefined) return { name: '', topicId, error: { code: 'UNKNOWN_TOPIC_ID', message: `no topic has id ${topicId}` } };
    return remove(topic);
  });
  return { result: [...byName, ...byId], records };
}

export type ConfigChangeInput = { readonly name: string; readonly operation: 'set'; readonly value: string } | { readonly name: string; readonly operation: 'delete' };

export interface TopicResult {
  readonly topic: string;
  readonly error?: ItemError;
}

/**
 * Sets or deletes config overrides; each topic's changes apply all or nothing. A topic whose
 * change enables unclean.leader.election.enable has its leaderless partitions elected at once,
 * in the same batch, as Kafka does when the setting is turned on.
 */
export function alterTopicConfigs(
  state: ControllerState,
  input: { readonly topics: readonly { readonly topic: string; readonly changes: readonly ConfigChangeInput[] }[]; readonly validateOnly: boolean },
): CommandOutcome<TopicResult[]> {
  const records: MetadataRecord[] = [];
  const active = activeNodes(state);
  const voters = electorate(state, (id) => active.has(id));
  const counts = new Map<string, number>();
  for (const { topic } of input.topics) counts.set(topic, (counts.get(topic) ?? 0) + 1);
  const results = input.topics.map(({ topic: name, changes }): TopicResult => {
    try {
      if ((counts.get(name) ?? 0) > 1) throw new StarlaneError('INVALID_REQUEST', `topic ${name} is listed more than once in the request`);
      const topic = state.image.topics.get(name);
      if (topic === undefined) throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} does not exist`);
      const seen = new Set<string>();
      const configs: Record<string, string> = { ...topic.configs };
      for (const change of changes) {
        if (seen.has(change.name)) throw new StarlaneError('INVALID_REQUEST', `config ${change.name} is changed more than once`);
        seen.add(change.name);
        if (change.operation === 'set') configs[change.name] = change.value;
        else {
          // Deleting must still name a real setting: a typo should not silently do nothing.
          validateTopicConfigs({ [change.name]: topicConfigDefaultFor(change.name) });
          delete configs[change.name];
        }
      }
      validateTopicConfigs(configs);
      checkMinInsyncChange(state, topic, configs);
      if (!input.validateOnly && !sameConfigs(configs, topic.configs)) {
        records.push({ type: 'topic-configs', topicId: topic.topicId, configs });
        const cleared = clearStaleElrs(state, topic, configs);
        records.push(...cleared.records);
        const changed = { ...topic, configs, partitions: cleared.partitions };
        if (!uncleanLeaderElectionEnabled(state.image, topic) && uncleanLeaderElectionEnabled(state.image, changed)) records.push(...electLeaderless(state, [changed], voters));
      }
      return { topic: name };
    } catch (error) {
      return { topic: name, error: itemError(error) };
    }
  });
  return { result: results, records };
}

/**
 * A change of min.insync.replicas re-judges the eligible leader replicas: a partition whose
 * ISR now has at least the new value may advance its high watermark without them, so its ELR
 * is cleared in the same batch as the config (before any leader can act on the new value);
 * a partition whose ISR is still below it keeps its ELR, whose members still hold every
 * committed record (the high watermark stays where it is). Raising the value clears nothing:
 * replicas that leave from then on join the ELR.
 */
function clearStaleElrs(state: ControllerState, topic: TopicState, configs: ConfigMap): { records: PartitionRecord[]; partitions: PartitionState[] } {
  const minInsync = effectiveMinInsyncReplicas(state.image, configs).value;
  const records: PartitionRecord[] = [];
  const partitions = topic.partitions.map((partition) => {
    if (partition.elr.length === 0 || partition.isr.length < minInsync) return partition;
    const cleared: PartitionState = { ...partition, elr: [], partitionEpoch: partition.partitionEpoch + 1 };
    records.push({ type: 'partition', topicId: topic.topicId, partition: cleared });
    return cleared;
  });
  return { records, partitions };
}

/**
 * Refuses new overrides that change the topic's effective min.insync.replicas (its own or, once
 * an override is deleted, the cluster default) to more than the fewest replicas a partition
 * has or may go back to (`replicationFactorFloor`). A topic already in that state (created
 * before this check) may still change its other settings.
 */
function checkMinInsyncChange(state: ControllerState, topic: TopicState, configs: ConfigMap): void {
  const before = effectiveMinInsyncReplicas(state.image, topic.configs);
  const after = effectiveMinInsyncReplicas(state.image, configs);
  if (after.value === before.value) return;
  const problem = minInsyncReplicasProblem(after, replicationFactorFloor(state, topic));
  if (problem !== undefined) throw new StarlaneError('INVALID_CONFIG', `topic ${topic.name}: ${problem}`);
}

/**
 * The fewest replicas any partition of `topic` has or may come to have: a partition being
 * reassigned counts its target and its original replicas, since a cancel returns to them.
 */
function replicationFactorFloor(state: ControllerState, topic: TopicState): number {
  let floor = Number.MAX_SAFE_INTEGER;
  for (const partition of topic.partitions) {
    const target = partition.replicas.length - partition.removingReplicas.length;
    floor = Math.min(floor, target, originalReplicas(state, topic.topicId, partition).length);
  }
  return floor;
}

function topicConfigDefaultFor(name: string): string {
  // Any valid value will do for the name check; defaults are valid by construction.
  return Object.hasOwn(topicConfigDefaults, name) ? (topicConfigDefaults[name] ?? '') : '';
}

function sameConfigs(a: ConfigMap, b: ConfigMap): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export interface NewPartitionsInput {
  readonly topic: string;
  readonly totalCount: number;
  /** Placement of the new partitions only (current..total-1); empty: the controller places them. */
  readonly replicaAssignments: readonly { readonly partition: number; readonly replicas: readonly number[] }[];
}

/** Increases partition counts; counts never decrease. */
export function createPartitions(
  state: ControllerState,
  input: { readonly topics: readonly NewPartitionsInput[]; readonly validateOnly: boolean },
  random: MetadataRandom,
): CommandOutcome<TopicResult[]> {
  const active = activeNodes(state);
  const racks = racksOf(state);
  const records: MetadataRecord[] = [];
  const counts = new Map<string, number>();
  for (const { topic } of input.topics) counts.set(topic, (counts.get(topic) ?? 0) + 1);
  // As in createTopics: bounded before placement, validate_only included.
  let plannedPartitions = 0;
  const results = input.topics.map((request): TopicResult => {
    try {
      if ((counts.get(request.topic) ?? 0) > 1) throw new StarlaneError('INVALID_REQUEST', `topic ${request.topic} is listed more than once in the request`);
      const topic = state.image.topics.get(request.topic);
      if (topic === undefined) throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${request.topic} does not exist`);
      const current = topic.partitions.length;
      if (request.totalCount === current) throw new StarlaneError('INVALID_PARTITIONS', `topic ${topic.name} already has ${current} partitions`);
      if (request.totalCount < current) throw new StarlaneError('INVALID_PARTITIONS', `topic ${topic.name} has ${current} partitions; partition counts can only grow, not to ${request.totalCount}`);
      if (request.totalCount > topicPartitionsMax) throw new StarlaneError('INVALID_PARTITIONS', `a topic may have at most ${topicPartitionsMax} partitions, got ${request.totalCount}`);
      const added = request.totalCount - current;
      if (plannedPartitions + added > batchRecordsMax) throw new StarlaneError('INVALID_REQUEST', `the request adds more than ${batchRecordsMax} partitions at once; split it`);
      plannedPartitions += added;
      const factor = topic.partitions[0]?.replicas.length ?? 1;
      let assignments: number[][];
      if (request.replicaAssignments.length > 0) {
        if (request.replicaAssignments.length !== added) {
          throw new StarlaneError('INVALID_REPLICA_ASSIGNMENT', `${added} partitions are added but ${request.replicaAssignments.length} assignments were given`);
        }
        assignments = checkAssignments(state, request.replicaAssignments, current, factor, active);
      } else {
        if (factor > active.size) {
          throw new StarlaneError('INVALID_REPLICATION_FACTOR', `topic ${topic.name} has replication factor ${factor}, larger than the ${active.size} available storage node${active.size === 1 ? '' : 's'}`);
        }
        assignments = placeReplicas({ nodeIds: [...active], replicationFactor: factor, firstPartition: current, partitionCount: added, racks }, random);
      }
      if (!input.validateOnly) records.push(...partitionRecords(topic.topicId, current, assignments, active));
      return { topic: request.topic };
    } catch (error) {
      return { topic: request.topic, error: itemError(error) };
    }
  });
  return { result: results, records };
}
