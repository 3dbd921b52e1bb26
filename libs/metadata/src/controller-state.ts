/**
 * The controller's state: the published metadata image plus what only the controller needs
 * (node incarnations and epochs, the producer id watermark). It changes only by applying
 * record batches (`applyBatch`), which also yields the `MetadataDelta` watchers receive, so
 * what watchers see is by construction what was recorded.
 */
import { assert } from '@starlane/model';
import { emptyDelta, emptyImage, type ConfigMap, type MetadataDelta, type MetadataImage, type NodeInfo, type PartitionState, type TopicState } from './image';
import type { MetadataBatch, MetadataRecord, NodeRecord } from './records';

/** A node's registration as the controller keeps it. */
export interface NodeRegistration {
  readonly nodeId: number;
  /** Version of the batch that recorded this registration; see NodeRecord. */
  readonly nodeEpoch: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  readonly state: NodeInfo['state'];
  /** What the incarnation reported at registration; see NodeRecord. */
  readonly cleanShutdown: boolean;
  /** Log directories the incarnation reported failed; see NodeRecord. */
  readonly offlineLogDirIds: readonly string[];
}

export interface ControllerState {
  /** What every process sees; `image.version` is the state's version. */
  readonly image: MetadataImage;
  readonly registrations: ReadonlyMap<number, NodeRegistration>;
  /** The next producer id to hand out; every id below it has been handed out. */
  readonly nextProducerId: bigint;
  /**
   * Reassignments in progress by `reassignmentKey`: exactly the partitions with adding or
   * removing replicas have an entry.
   */
  readonly reassignments: ReadonlyMap<string, ReassignmentInfo>;
}

/** What the controller keeps about a reassignment in progress; see ReassignmentRecord. */
export interface ReassignmentInfo {
  readonly originalReplicas: readonly number[];
  readonly startedAtMs: number;
}

export const emptyControllerState: ControllerState = { image: emptyImage, registrations: new Map(), nextProducerId: 0n, reassignments: new Map() };

/** The key of a partition in `ControllerState.reassignments`. */
export function reassignmentKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

/** Whether a move of the partition's replicas is under way. */
export function reassigning(partition: PartitionState): boolean {
  return partition.addingReplicas.length > 0 || partition.removingReplicas.length > 0;
}

/** A complete state as records, at a version: what a store writes as its snapshot. */
export interface MetadataSnapshot {
  readonly version: number;
  readonly records: readonly MetadataRecord[];
}

function nodeInfo(registration: NodeRegistration): NodeInfo {
  return {
    nodeId: registration.nodeId,
    host: registration.host,
    port: registration.port,
    rack: registration.rack,
    state: registration.state,
    nodeEpoch: registration.nodeEpoch,
    offlineLogDirIds: registration.offlineLogDirIds,
  };
}

/** Mutable working copy of one batch's changes, turned into the next state and the delta. */
class BatchApplier {
  readonly registrations: Map<number, NodeRegistration>;
  readonly topics: Map<string, TopicState>;
  readonly topicNamesById: Map<string, string>;
  clusterId: string;
  controller: MetadataImage['controller'];
  clusterConfigs: ConfigMap;
  clusterConfigsChanged = false;
  nextProducerId: bigint;
  readonly reassignments: Map<string, ReassignmentInfo>;
  readonly changedNodes = new Set<number>();
  /** Topic ids created in this batch (their partitions and configs travel inside the created topic). */
  readonly createdTopics = new Set<string>();
  readonly deletedTopics = new Map<string, string>();
  readonly changedPartitions = new Map<string, Map<number, PartitionState>>();
  readonly changedConfigs = new Set<string>();

  constructor(private readonly state: ControllerState) {
    const image = state.image;
    this.registrations = new Map(state.registrations);
    this.topics = new Map(image.topics);
    this.topicNamesById = new Map(image.topicNamesById);
    this.clusterId = image.clusterId;
    this.controller = image.controller;
    this.clusterConfigs = image.clusterConfigs;
    this.nextProducerId = state.nextProducerId;
    this.reassignments = new Map(state.reassignments);
  }

  private topic(topicId: string, what: string): TopicState {
    const name = this.topicNamesById.get(topicId);
    const topic = name === undefined ? undefined : this.topics.get(name);
    assert(topic !== undefined, `${what} names unknown topic id ${topicId}`);
    return topic;
  }

  apply(record: MetadataRecord): void {
    switch (record.type) {
      case 'cluster':
        assert(this.clusterId === '' || this.clusterId === record.clusterId, `cluster id ${record.clusterId} would replace ${this.clusterId}`);
        this.clusterId = record.clusterId;
        return;
      case 'controller':
        assert(this.controller === undefined || record.controllerEpoch > this.controller.controllerEpoch, 'controller epochs only increase');
        this.controller = { controllerId: record.controllerId, host: record.host, port: record.port, controllerEpoch: record.controllerEpoch };
        return;
      case 'node':
        this.applyNode(record);
        return;
      case 'topic': {
        assert(!this.topics.has(record.name), `topic ${record.name} already exists`);
        assert(!this.topicNamesById.has(record.topicId), `topic id ${record.topicId} already exists`);
        this.topics.set(record.name, { name: record.name, topicId: record.topicId, internal: record.internal, partitions: [], configs: record.configs });
        this.topicNamesById.set(record.topicId, record.name);
        this.createdTopics.add(record.topicId);
        return;
      }
      case 'partition': {
        const topic = this.topic(record.topicId, 'partition record');
        const index = record.partition.partition;
        assert(index <= topic.partitions.length, `partition ${index} of ${topic.name} would leave a gap`);
        const partitions = topic.partitions.slice();
        partitions[index] = record.partition;
        this.topics.set(topic.name, { ...topic, partitions });
        if (!reassigning(record.partition)) this.reassignments.delete(reassignmentKey(record.topicId, index));
        if (!this.createdTopics.has(record.topicId)) {
          let changed = this.changedPartitions.get(record.topicId);
          if (changed === undefined) this.changedPartitions.set(record.topicId, (changed = new Map()));
          changed.set(index, record.partition);
        }
        return;
      }
      case 'reassignment': {
        const topic = this.topic(record.topicId, 'reassignment record');
        const partition = topic.partitions[record.partition];
        assert(partition !== undefined && reassigning(partition), `reassignment record for partition ${record.partition} of ${topic.name}, which is not being reassigned`);
        const original = partition.replicas.filter((id) => !partition.addingReplicas.includes(id));
        assert(
          original.length === record.originalReplicas.length && original.every((id) => record.originalReplicas.includes(id)),
          `reassignment record for partition ${record.partition} of ${topic.name} names other original replicas`,
        );
        this.reassignments.set(reassignmentKey(record.topicId, record.partition), { originalReplicas: record.originalReplicas, startedAtMs: record.startedAtMs });
        return;
      }
      case 'topic-configs': {
        const topic = this.topic(record.topicId, 'topic-configs record');
        this.topics.set(topic.name, { ...topic, configs: record.configs });
        if (!this.createdTopics.has(record.topicId)) this.changedConfigs.add(record.topicId);
        return;
      }
      case 'remove-topic': {
        const topic = this.topic(record.topicId, 'remove-topic record');
        this.topics.delete(topic.name);
        this.topicNamesById.delete(record.topicId);
        this.changedPartitions.delete(record.topicId);
        this.changedConfigs.delete(record.topicId);
        topic.partitions.forEach((_, index) => this.reassignments.delete(reassignmentKey(record.topicId, index)));
        // A topic created and removed within one batch was never seen by anyone.
        if (!this.createdTopics.delete(record.topicId)) this.deletedTopics.set(record.topicId, topic.name);
        return;
      }
      case 'cluster-configs':
        this.clusterConfigs = record.configs;
        this.clusterConfigsChanged = true;
        return;
      case 'producer-ids':
        assert(record.nextProducerId > this.nextProducerId, 'producer ids are never handed out twice');
        this.nextProducerId = record.nextProducerId;
        return;
    }
  }

  private applyNode(record: NodeRecord): void {
    const previous = this.registrations.get(record.nodeId);
    assert(previous === undefined || record.nodeEpoch >= previous.nodeEpoch, `node ${record.nodeId} epoch went back`);
    const { type: _type, cleanShutdown, offlineLogDirIds, ...registration } = record;
    this.registrations.set(record.nodeId, { ...registration, cleanShutdown: cleanShutdown ?? true, offlineLogDirIds: offlineLogDirIds ?? [] });
    this.changedNodes.add(record.nodeId);
  }

  finish(batch: MetadataBatch): { state: ControllerState; delta: MetadataDelta } {
    const changedNodes = [...this.changedNodes].sort((a, b) => a - b).map((id) => {
      const registration = this.registrations.get(id);
      assert(registration !== undefined, `changed node ${id} has no registration`);
      return nodeInfo(registration);
    });
    const nodes = new Map(this.state.image.nodes);
    for (const node of changedNodes) nodes.set(node.nodeId, node);
    const image: MetadataImage = {
      clusterId: this.clusterId,
      version: batch.version,
      controller: this.controller,
      nodes: this.changedNodes.size === 0 ? this.state.image.nodes : nodes,
      topics: this.topics,
      topicNamesById: this.topicNamesById,
      clusterConfigs: this.clusterConfigs,
    };
    const topicById = (topicId: string): TopicState => this.topic(topicId, 'delta');
    const delta: MetadataDelta = {
      ...emptyDelta(batch.baseVersion, batch.version),
      nodes: changedNodes,
      createdTopics: [...this.createdTopics].map(topicById),
      deletedTopics: [...this.deletedTopics].map(([topicId, name]) => ({ topicId, name })),
      // The last record for a partition is its final state in this batch.
      partitions: [...this.changedPartitions].flatMap(([topicId, changed]) => [...changed].sort(([a], [b]) => a - b).map(([, partition]) => ({ topicId, partition }))),
      topicConfigs: [...this.changedConfigs].map((topicId) => ({ topicId, configs: topicById(topicId).configs })),
      clusterConfigs: this.clusterConfigsChanged ? this.clusterConfigs : undefined,
    };
    return { state: { image, registrations: this.registrations, nextProducerId: this.nextProducerId, reassignments: this.reassignments }, delta };
  }
}

/**
 * Applies a batch, returning the next state and the delta that takes an image at the batch's
 * base version to the new one. The batch must follow the state (an assertion: records come only
 * from this controller's commands or its own store). Never mutates `state`.
 */
export function applyBatch(state: ControllerState, batch: MetadataBatch): { state: ControllerState; delta: MetadataDelta } {
  assert(batch.baseVersion === state.image.version, `batch ${batch.baseVersion}..${batch.version} does not follow version ${state.image.version}`);
  assert(batch.version === batch.baseVersion + batch.records.length, 'a batch advances the version by its record count');
  const applier = new BatchApplier(state);
  for (const record of batch.records) applier.apply(record);
  return applier.finish(batch);
}

/** The next batch from `state` holding `records`. */
export function nextBatch(state: ControllerState, records: readonly MetadataRecord[]): MetadataBatch {
  return { baseVersion: state.image.version, version: state.image.version + records.length, records };
}

function byName(a: TopicState, b: TopicState): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The records that recreate `state` from the empty state (topics in name order). */
export function snapshotOf(state: ControllerState): MetadataSnapshot {
  const image = state.image;
  const records: MetadataRecord[] = [];
  if (image.clusterId !== '') records.push({ type: 'cluster', clusterId: image.clusterId });
  if (image.controller !== undefined) records.push({ type: 'controller', ...image.controller });
  for (const registration of [...state.registrations.values()].sort((a, b) => a.nodeId - b.nodeId)) records.push({ type: 'node', ...registration });
  if (Object.keys(image.clusterConfigs).length > 0) records.push({ type: 'cluster-configs', configs: image.clusterConfigs });
  for (const topic of [...image.topics.values()].sort(byName)) {
    records.push({ type: 'topic', topicId: topic.topicId, name: topic.name, internal: topic.internal, configs: topic.configs });
    for (const partition of topic.partitions) records.push({ type: 'partition', topicId: topic.topicId, partition });
    for (const partition of topic.partitions) {
      const reassignment = state.reassignments.get(reassignmentKey(topic.topicId, partition.partition));
      if (reassignment !== undefined) records.push({ type: 'reassignment', topicId: topic.topicId, partition: partition.partition, ...reassignment });
    }
  }
  if (state.nextProducerId > 0n) records.push({ type: 'producer-ids', nextProducerId: state.nextProducerId });
  return { version: image.version, records };
}

/** The state a snapshot describes. */
export function stateFromSnapshot(snapshot: MetadataSnapshot): ControllerState {
  // Replayed as one batch from version 0 and then re-stamped with the snapshot's version.
  const { state } = applyBatch(emptyControllerState, { baseVersion: 0, version: snapshot.records.length, records: snapshot.records });
  return { ...state, image: { ...state.image, version: snapshot.version } };
}
