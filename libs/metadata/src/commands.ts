/**
 * The controller's commands as pure functions: each takes the current state (and, for
 * liveness, what the controller knows about node sessions) and returns its answer together
 * with the records that carry it out. Nothing here changes state; the caller records the
 * records in its store and then applies them (`applyBatch`). Failures of a whole command are
 * thrown as StarlaneError; batch commands (topics) report one result per item instead.
 */
import { StarlaneError, assert, validateTopicName, type ErrorCode } from '@starlane/model';
import type { ControllerState, NodeRegistration } from './controller-state';
import { noLeader, topicById, type ConfigMap, type PartitionState, type TopicState } from './image';
import { placeReplicas, type MetadataRandom } from './placement';
import { batchRecordsMax, type MetadataRecord, type NodeRecord, type PartitionRecord } from './records';
import { topicConfigDefaults, validateTopicConfigs } from './topic-configs';

/** Largest partition count of one topic: each partition is a log directory on every replica. */
export const topicPartitionsMax = 10_000;
/** Producer ids handed out per block when the caller does not say (Kafka's block size). */
export const producerIdBlockSizeDefault = 1000;
/** Largest producer id block handed out at once. */
export const producerIdBlockSizeMax = 100_000;
/** Producer ids are int64. */
const producerIdMax = 2n ** 63n - 1n;
/** Default partition count and replication factor when the cluster configs do not set them. */
export const builtInTopicDefaults = { partitions: 1, replicationFactor: 1 } as const;

/** A per-item failure: the catalogue code and a message for humans. */
export interface ItemError {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface CommandOutcome<T> {
  readonly result: T;
  /** Empty when nothing changes. */
  readonly records: readonly MetadataRecord[];
}

/** What the controller knows about node sessions (soft state: not recorded). */
export interface NodeSessions {
  /** Whether the node has heartbeated within the session timeout. */
  isLive(nodeId: number): boolean;
}

function itemError(error: unknown): ItemError {
  if (error instanceof StarlaneError) return { code: error.code, message: error.message };
  throw error;
}

// ---------------------------------------------------------------------------
// Leadership

/** Node ids that may lead and join ISRs: registered and active. */
function activeNodes(state: ControllerState): Set<number> {
  const active = new Set<number>();
  for (const registration of state.registrations.values()) if (registration.state === 'active') active.add(registration.nodeId);
  return active;
}

/**
 * A partition's next state with `leader` and `isr`, or undefined if neither changed. The
 * partition epoch grows with every change, the leader epoch with every change of leader
 * (including to and from no leader), so a deposed leader's requests are recognisably stale.
 */
function changePartition(partition: PartitionState, leader: number, isr: readonly number[]): PartitionState | undefined {
  const sameIsr = isr.length === partition.isr.length && isr.every((id, i) => id === partition.isr[i]);
  if (leader === partition.leader && sameIsr) return undefined;
  return {
    ...partition,
    leader,
    isr: [...isr],
    leaderEpoch: leader === partition.leader ? partition.leaderEpoch : partition.leaderEpoch + 1,
    partitionEpoch: partition.partitionEpoch + 1,
  };
}

/** The first replica, in preference order, that is in the ISR and may lead; else noLeader. */
function electLeader(partition: PartitionState, isr: readonly number[], canLead: (nodeId: number) => boolean): number {
  for (const replica of partition.replicas) if (isr.includes(replica) && canLead(replica)) return replica;
  return noLeader;
}

/**
 * Records taking `nodeId` out of leaderships and ISRs, as when it is fenced or shuts down: a
 * partition it leads gets another in-sync replica that may lead, or no leader. It leaves every
 * ISR except where it is the last member: that ISR keeps it, since it holds every acknowledged
 * record and must be the one elected when it comes back (no unclean election).
 */
function withdrawNode(state: ControllerState, nodeId: number, canLead: (nodeId: number) => boolean): PartitionRecord[] {
  const records: PartitionRecord[] = [];
  for (const topic of state.image.topics.values()) {
    for (const partition of topic.partitions) {
      if (partition.leader !== nodeId && !partition.isr.includes(nodeId)) continue;
      const shrunk = partition.isr.filter((id) => id !== nodeId);
      const isr = shrunk.length > 0 ? shrunk : partition.isr;
      const leader = partition.leader === nodeId || partition.leader === noLeader ? electLeader(partition, isr, (id) => id !== nodeId && canLead(id)) : partition.leader;
      const changed = changePartition(partition, leader, isr);
      if (changed !== undefined) records.push({ type: 'partition', topicId: topic.topicId, partition: changed });
    }
  }
  return records;
}

/** Records giving leaderless partitions a leader once `nodeId` may lead again. */
function electForReturningNode(state: ControllerState, nodeId: number, canLead: (nodeId: number) => boolean): PartitionRecord[] {
  const records: PartitionRecord[] = [];
  for (const topic of state.image.topics.values()) {
    for (const partition of topic.partitions) {
      if (partition.leader !== noLeader || !partition.replicas.includes(nodeId)) continue;
      const changed = changePartition(partition, electLeader(partition, partition.isr, canLead), partition.isr);
      if (changed !== undefined) records.push({ type: 'partition', topicId: topic.topicId, partition: changed });
    }
  }
  return records;
}

function nodeRecord(registration: NodeRegistration, changes: Partial<NodeRegistration>): NodeRecord {
  return { type: 'node', ...registration, ...changes };
}

// ---------------------------------------------------------------------------
// Node lifecycle

export interface RegisterNodeInput {
  readonly nodeId: number;
  readonly incarnationId: string;
  /** Empty for a node whose directories are new. */
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
}

/**
 * Registers a node incarnation. A retry of the same incarnation is answered with its epoch and
 * changes nothing; a new incarnation gets a new epoch and starts fenced (its leaderships move
 * away now: the new process may have lost what the old one had not flushed). A new incarnation
 * is refused while the previous one still has a live session, since then two processes are
 * configured with one id, unless the previous one announced a controlled shutdown.
 */
export function registerNode(state: ControllerState, input: RegisterNodeInput, sessions: NodeSessions): CommandOutcome<{ nodeEpoch: number }> {
  if (!Number.isInteger(input.nodeId) || input.nodeId < 0) throw new StarlaneError('INVALID_REQUEST', `node id must be >= 0, got ${input.nodeId}`);
  if (input.incarnationId === '') throw new StarlaneError('INVALID_REQUEST', 'incarnation_id must be set');
  if (input.host === '') throw new StarlaneError('INVALID_REQUEST', 'host must be set');
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new StarlaneError('INVALID_REQUEST', `port must be from 1 to 65535, got ${input.port}`);
  if (input.clusterId !== '' && input.clusterId !== state.image.clusterId) {
    throw new StarlaneError('INCONSISTENT_CLUSTER_ID', `node ${input.nodeId} belongs to cluster ${input.clusterId}, this is cluster ${state.image.clusterId}`);
  }
  const existing = state.registrations.get(input.nodeId);
  if (existing !== undefined && existing.incarnationId === input.incarnationId) return { result: { nodeEpoch: existing.nodeEpoch }, records: [] };
  if (existing !== undefined && existing.state !== 'controlled-shutdown' && sessions.isLive(input.nodeId)) {
    throw new StarlaneError(
      'DUPLICATE_BROKER_REGISTRATION',
      `node ${input.nodeId} is registered by another live process (incarnation ${existing.incarnationId}); two processes may be configured with one node id, or the previous one has not yet timed out`,
    );
  }
  const active = activeNodes(state);
  const partitions = existing === undefined ? [] : withdrawNode(state, input.nodeId, (id) => active.has(id));
  // The node record comes first; the version after the whole batch is the new epoch.
  const nodeEpoch = state.image.version + 1 + partitions.length;
  const record: NodeRecord = {
    type: 'node',
    nodeId: input.nodeId,
    nodeEpoch,
    incarnationId: input.incarnationId,
    host: input.host,
    port: input.port,
    rack: input.rack,
    state: 'fenced',
  };
  return { result: { nodeEpoch }, records: [record, ...partitions] };
}

function currentRegistration(state: ControllerState, nodeId: number, nodeEpoch: number): NodeRegistration {
  const registration = state.registrations.get(nodeId);
  if (registration === undefined) throw new StarlaneError('BROKER_ID_NOT_REGISTERED', `node ${nodeId} is not registered; register first`);
  if (registration.nodeEpoch !== nodeEpoch) {
    throw new StarlaneError('STALE_BROKER_EPOCH', `node ${nodeId} epoch ${nodeEpoch} is not the current registration (epoch ${registration.nodeEpoch}); register again`);
  }
  return registration;
}

function leadsAny(state: ControllerState, nodeId: number): boolean {
  for (const topic of state.image.topics.values()) for (const partition of topic.partitions) if (partition.leader === nodeId) return true;
  return false;
}

export interface HeartbeatInput {
  readonly nodeId: number;
  readonly nodeEpoch: number;
  /** Highest metadata version the node has applied. */
  readonly metadataVersion: number;
}

export interface HeartbeatResult {
  readonly fenced: boolean;
  readonly shouldShutDown: boolean;
}

/**
 * A heartbeat. A fenced node is unfenced once it has applied the metadata version of its own
 * registration (so it never leads with metadata older than its registration), and then leads
 * again the leaderless partitions whose ISR it is in, with a new leader epoch.
 */
export function heartbeat(state: ControllerState, input: HeartbeatInput): CommandOutcome<HeartbeatResult> {
  const registration = currentRegistration(state, input.nodeId, input.nodeEpoch);
  if (registration.state === 'fenced' && input.metadataVersion >= registration.nodeEpoch) {
    const active = activeNodes(state);
    active.add(input.nodeId);
    const records = [nodeRecord(registration, { state: 'active' }), ...electForReturningNode(state, input.nodeId, (id) => active.has(id))];
    return { result: { fenced: false, shouldShutDown: false }, records };
  }
  const shuttingDown = registration.state === 'controlled-shutdown';
  return { result: { fenced: registration.state !== 'active', shouldShutDown: shuttingDown && !leadsAny(state, input.nodeId) }, records: [] };
}

export interface ControlledShutdownResult {
  /** Partitions the node still leads; empty means it may exit. */
  readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[];
}

/**
 * A node about to stop: it stops being eligible, its leaderships move to other in-sync replicas
 * that may lead, and partitions with no such replica (always the case with one replica) are
 * left without a leader rather than led by a process that is about to exit.
 */
export function controlledShutdown(state: ControllerState, input: { readonly nodeId: number; readonly nodeEpoch: number }): CommandOutcome<ControlledShutdownResult> {
  const registration = currentRegistration(state, input.nodeId, input.nodeEpoch);
  const records: MetadataRecord[] = [];
  if (registration.state !== 'controlled-shutdown') {
    const active = activeNodes(state);
    records.push(nodeRecord(registration, { state: 'controlled-shutdown' }), ...withdrawNode(state, input.nodeId, (id) => id !== input.nodeId && active.has(id)));
  }
  // Withdrawal leaves the node leading nothing; the answer lists what it still leads for callers that retry.
  const remaining: { topic: string; partition: number }[] = [];
  if (records.length === 0) {
    for (const topic of state.image.topics.values()) {
      for (const partition of topic.partitions) if (partition.leader === input.nodeId) remaining.push({ topic: topic.name, partition: partition.partition });
    }
  }
  return { result: { remainingLeaderships: remaining }, records };
}

/**
 * Fences every node that is not fenced and has no live session: it leaves leaderships and
 * ISRs as in `withdrawNode`. One batch for all of them, so watchers see one consistent change.
 */
export function fenceExpiredNodes(state: ControllerState, sessions: NodeSessions): CommandOutcome<{ fencedNodeIds: number[] }> {
  let current = state;
  const records: MetadataRecord[] = [];
  const fenced: number[] = [];
  const active = activeNodes(state);
  for (const registration of [...state.registrations.values()].sort((a, b) => a.nodeId - b.nodeId)) {
    // A node in controlled shutdown was withdrawn already; fencing it would let a late
    // heartbeat of that exiting incarnation unfence it and hand it leaderships again.
    if (registration.state === 'fenced' || registration.state === 'controlled-shutdown' || sessions.isLive(registration.nodeId)) continue;
    active.delete(registration.nodeId);
    fenced.push(registration.nodeId);
    records.push(nodeRecord(registration, { state: 'fenced' }));
    const withdrawn = withdrawNode(current, registration.nodeId, (id) => active.has(id));
    records.push(...withdrawn);
    // Later nodes in this pass see the partitions as already changed.
    current = withPartitions(current, withdrawn);
  }
  return { result: { fencedNodeIds: fenced }, records };
}

/** `state` with partition records applied to its topics (a scratch view; versions untouched). */
function withPartitions(state: ControllerState, records: readonly PartitionRecord[]): ControllerState {
  if (records.length === 0) return state;
  const topics = new Map(state.image.topics);
  for (const record of records) {
    const name = state.image.topicNamesById.get(record.topicId);
    const topic = name === undefined ? undefined : topics.get(name);
    assert(name !== undefined && topic !== undefined, `partition record for unknown topic id ${record.topicId}`);
    const partitions = topic.partitions.slice();
    partitions[record.partition.partition] = record.partition;
    topics.set(name, { ...topic, partitions });
  }
  return { ...state, image: { ...state.image, topics } };
}

// ---------------------------------------------------------------------------
// Producer ids

/** Hands out `count` ids (0 or less means the default block size), never the same id twice. */
export function allocateProducerIds(state: ControllerState, count: number): CommandOutcome<{ firstProducerId: bigint; count: number }> {
  const size = count <= 0 ? producerIdBlockSizeDefault : Math.min(count, producerIdBlockSizeMax);
  const first = state.nextProducerId;
  const next = first + BigInt(size);
  if (next > producerIdMax) throw new StarlaneError('UNKNOWN_SERVER_ERROR', 'producer ids are exhausted');
  return { result: { firstProducerId: first, count: size }, records: [{ type: 'producer-ids', nextProducerId: next }] };
}

// ---------------------------------------------------------------------------
// Topics

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

      let assignments: number[][];
      if (topic.replicaAssignments.length > 0) {
        // With explicit assignments the counts come from them; unset (0) or -1 is all that may be sent.
        if (![0, useDefault].includes(topic.partitionCount) || ![0, useDefault].includes(topic.replicationFactor)) {
          throw new StarlaneError('INVALID_REQUEST', 'partition_count and replication_factor must be unset (0 or -1) when replica_assignments is given');
        }
        if (topic.replicaAssignments.length > topicPartitionsMax) throw new StarlaneError('INVALID_PARTITIONS', `a topic may have at most ${topicPartitionsMax} partitions, got ${topic.replicaAssignments.length}`);
        plan(topic.replicaAssignments.length);
        assignments = checkAssignments(state, topic.replicaAssignments, 0, undefined, active);
      } else {
        const partitions = topic.partitionCount === useDefault ? defaultPartitions : topic.partitionCount;
        if (!Number.isInteger(partitions) || partitions < 1) throw new StarlaneError('INVALID_PARTITIONS', `partition count must be at least 1 (or -1 for the cluster default), got ${topic.partitionCount}`);
        if (partitions > topicPartitionsMax) throw new StarlaneError('INVALID_PARTITIONS', `a topic may have at most ${topicPartitionsMax} partitions, got ${partitions}`);
        const factor = topic.replicationFactor === useDefault ? defaultReplicationFactor : topic.replicationFactor;
        if (!Number.isInteger(factor) || factor < 1) throw new StarlaneError('INVALID_REPLICATION_FACTOR', `replication factor must be at least 1 (or -1 for the cluster default), got ${topic.replicationFactor}`);
        if (factor > active.size) {
          throw new StarlaneError('INVALID_REPLICATION_FACTOR', `replication factor ${factor} is larger than the ${active.size} available storage node${active.size === 1 ? '' : 's'}`);
        }
        plan(partitions);
        assignments = placeReplicas({ nodeIds: [...active], replicationFactor: factor, firstPartition: 0, partitionCount: partitions }, random);
      }
      validateTopicConfigs(topic.configs);
      const partitionCount = assignments.length;
      const replicationFactor = assignments[0]?.length ?? 0;
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

/** Sets or deletes config overrides; each topic's changes apply all or nothing. */
export function alterTopicConfigs(
  state: ControllerState,
  input: { readonly topics: readonly { readonly topic: string; readonly changes: readonly ConfigChangeInput[] }[]; readonly validateOnly: boolean },
): CommandOutcome<TopicResult[]> {
  const records: MetadataRecord[] = [];
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
      if (!input.validateOnly && !sameConfigs(configs, topic.configs)) records.push({ type: 'topic-configs', topicId: topic.topicId, configs });
      return { topic: name };
    } catch (error) {
      return { topic: name, error: itemError(error) };
    }
  });
  return { result: results, records };
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
        assignments = placeReplicas({ nodeIds: [...active], replicationFactor: factor, firstPartition: current, partitionCount: added }, random);
      }
      if (!input.validateOnly) records.push(...partitionRecords(topic.topicId, current, assignments, active));
      return { topic: request.topic };
    } catch (error) {
      return { topic: request.topic, error: itemError(error) };
    }
  });
  return { result: results, records };
}
