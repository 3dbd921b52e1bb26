/**
 * The cluster metadata image: what every process knows about nodes, topics and partitions.
 *
 * The controller owns the authoritative image and publishes it as a snapshot followed by
 * deltas; storage nodes and gateways keep a copy by applying them in version order. Images are
 * immutable values: applying a delta returns a new image that shares unchanged parts with the
 * old one, so a reader holding an image never sees it change under it.
 *
 * Domain types only; `@starlane/metadata-rpc` translates to and from the wire messages.
 */
import { StarlaneError } from '@starlane/model';

export type NodeState = 'active' | 'fenced' | 'controlled-shutdown';

/** A storage node as the controller sees it. */
export interface NodeInfo {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** Rack or zone; empty when none. */
  readonly rack: string;
  readonly state: NodeState;
  /** The epoch of the node's registration in force (KIP-903: leaders check fetches quote it). */
  readonly nodeEpoch: number;
  /** Log directories that failed since the node registered; its replicas there are offline. */
  readonly offlineLogDirIds: readonly string[];
}

/** Sentinel leader id of a partition without a leader. */
export const noLeader = -1;

/** Replication state of one partition (Kafka's PartitionRegistration). */
export interface PartitionState {
  readonly partition: number;
  /** Node id of the leader, or `noLeader`. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /** Preferred leader first. */
  readonly replicas: readonly number[];
  /**
   * In-sync replicas, leader included. Empty only while the partition waits for an eligible
   * leader replica (`elr`) to return: its last member registered after an unclean shutdown.
   */
  readonly isr: readonly number[];
  /**
   * Eligible leader replicas (KIP-966): replicas that left the ISR while the ISR they left
   * was below the topic's min.insync.replicas. The high watermark does not advance while the
   * ISR is below min.insync.replicas, so each holds every committed record and may lead when
   * no ISR member can. Never overlaps the ISR; empty whenever the ISR has at least
   * min.insync.replicas members. Absent from metadata written before it existed, read as [].
   */
  readonly elr: readonly number[];
  readonly offlineReplicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** Topic config overrides by Kafka name ("retention.ms" → "604800000"). */
export type ConfigMap = Readonly<Record<string, string>>;

export interface TopicState {
  readonly name: string;
  /** UUID string; partition directories are named by it. */
  readonly topicId: string;
  readonly internal: boolean;
  /** Ordered by partition index, index i at position i. */
  readonly partitions: readonly PartitionState[];
  readonly configs: ConfigMap;
}

/** Where the active controller can be reached. */
export interface ControllerInfo {
  readonly controllerId: number;
  readonly host: string;
  readonly port: number;
  readonly controllerEpoch: number;
}

export interface MetadataImage {
  readonly clusterId: string;
  /** Increases with every change; not contiguous. 0 for the empty image. */
  readonly version: number;
  readonly controller: ControllerInfo | undefined;
  readonly nodes: ReadonlyMap<number, NodeInfo>;
  /** By topic name. */
  readonly topics: ReadonlyMap<string, TopicState>;
  /** Topic id → topic name. */
  readonly topicNamesById: ReadonlyMap<string, string>;
  readonly clusterConfigs: ConfigMap;
}

/** Changes between two versions. Every entry carries the full new state of what it names. */
export interface MetadataDelta {
  /** The version this delta applies on top of. */
  readonly baseVersion: number;
  /** The version after applying it. */
  readonly version: number;
  readonly nodes: readonly NodeInfo[];
  readonly removedNodeIds: readonly number[];
  readonly createdTopics: readonly TopicState[];
  readonly deletedTopics: readonly { readonly topicId: string; readonly name: string }[];
  readonly partitions: readonly { readonly topicId: string; readonly partition: PartitionState }[];
  readonly topicConfigs: readonly { readonly topicId: string; readonly configs: ConfigMap }[];
  /** The complete new cluster-level set, when it changed. */
  readonly clusterConfigs: ConfigMap | undefined;
}

export const emptyImage: MetadataImage = {
  clusterId: '',
  version: 0,
  controller: undefined,
  nodes: new Map(),
  topics: new Map(),
  topicNamesById: new Map(),
  clusterConfigs: {},
};

export function emptyDelta(baseVersion: number, version: number): MetadataDelta {
  return {
    baseVersion,
    version,
    nodes: [],
    removedNodeIds: [],
    createdTopics: [],
    deletedTopics: [],
    partitions: [],
    topicConfigs: [],
    clusterConfigs: undefined,
  };
}

/** Builds an image from full state (a snapshot). */
export function imageFromSnapshot(snapshot: {
  clusterId: string;
  version: number;
  controller: ControllerInfo | undefined;
  nodes: readonly NodeInfo[];
  topics: readonly TopicState[];
  clusterConfigs: ConfigMap;
}): MetadataImage {
  const nodes = new Map(snapshot.nodes.map((node) => [node.nodeId, node]));
  const topics = new Map(snapshot.topics.map((topic) => [topic.name, topic]));
  const topicNamesById = new Map(snapshot.topics.map((topic) => [topic.topicId, topic.name]));
  return { clusterId: snapshot.clusterId, version: snapshot.version, controller: snapshot.controller, nodes, topics, topicNamesById, clusterConfigs: snapshot.clusterConfigs };
}

/**
 * Applies a delta. Throws METADATA_OUT_OF_SYNC when the delta does not follow this image
 * (the receiver missed something and must resynchronise from a snapshot), or when it names
 * a topic the image does not have.
 */
export function applyDelta(image: MetadataImage, delta: MetadataDelta): MetadataImage {
  if (delta.baseVersion !== image.version) {
    throw new StarlaneError('METADATA_OUT_OF_SYNC', `delta applies to version ${delta.baseVersion}, image is at ${image.version}`);
  }
  let nodes = image.nodes;
  if (delta.nodes.length > 0 || delta.removedNodeIds.length > 0) {
    const next = new Map(nodes);
    for (const node of delta.nodes) next.set(node.nodeId, node);
    for (const id of delta.removedNodeIds) next.delete(id);
    nodes = next;
  }
  let topics = image.topics;
  let topicNamesById = image.topicNamesById;
  const touchesTopics = delta.createdTopics.length + delta.deletedTopics.length + delta.partitions.length + delta.topicConfigs.length > 0;
  if (touchesTopics) {
    const nextTopics = new Map(topics);
    const nextNames = new Map(topicNamesById);
    for (const { topicId, name } of delta.deletedTopics) {
      if (nextNames.get(topicId) === name) nextTopics.delete(name);
      nextNames.delete(topicId);
    }
    for (const topic of delta.createdTopics) {
      nextTopics.set(topic.name, topic);
      nextNames.set(topic.topicId, topic.name);
    }
    const topicById = (topicId: string): TopicState => {
      const name = nextNames.get(topicId);
      const topic = name === undefined ? undefined : nextTopics.get(name);
      if (topic === undefined) throw new StarlaneError('METADATA_OUT_OF_SYNC', `delta ${delta.version} names unknown topic id ${topicId}`);
      return topic;
    };
    for (const { topicId, partition } of delta.partitions) {
      const topic = topicById(topicId);
      if (partition.partition > topic.partitions.length) {
        throw new StarlaneError('METADATA_OUT_OF_SYNC', `delta ${delta.version} adds partition ${partition.partition} of ${topic.name} after a gap`);
      }
      const partitions = topic.partitions.slice();
      partitions[partition.partition] = partition;
      nextTopics.set(topic.name, { ...topic, partitions });
    }
    for (const { topicId, configs } of delta.topicConfigs) {
      const topic = topicById(topicId);
      nextTopics.set(topic.name, { ...topic, configs });
    }
    topics = nextTopics;
    topicNamesById = nextNames;
  }
  return {
    clusterId: image.clusterId,
    version: delta.version,
    controller: image.controller,
    nodes,
    topics,
    topicNamesById,
    clusterConfigs: delta.clusterConfigs ?? image.clusterConfigs,
  };
}

/** Topic by id, or undefined. */
export function topicById(image: MetadataImage, topicId: string): TopicState | undefined {
  const name = image.topicNamesById.get(topicId);
  return name === undefined ? undefined : image.topics.get(name);
}

/** The effective value of a topic config: topic override, then cluster default, then undefined. */
export function effectiveConfig(image: MetadataImage, topic: TopicState, name: string): string | undefined {
  return topic.configs[name] ?? image.clusterConfigs[name];
}

/** The effective config set of a topic (cluster defaults overlaid with topic overrides). */
export function effectiveConfigs(image: MetadataImage, topic: TopicState): ConfigMap {
  return { ...image.clusterConfigs, ...topic.configs };
}
