/**
 * Translation between the metadata domain types (@starlane/metadata) and the wire messages of
 * starlane.internal.v1.ControllerService / starlane.v1 (generated, @starlane/proto).
 */
import { noLeader, type AlterPartitionResult, type ControllerInfo, type MetadataDelta, type MetadataImage, type NodeInfo, type NodeState, type PartitionState, type TopicState } from '@starlane/metadata';
import { errorCodeFromWire, wireErrorCode, type ErrorCode } from '@starlane/model';
import { internalV1, v1 } from '@starlane/proto';

const nodeStates: Record<NodeState, v1.NodeState> = {
  active: v1.NodeState.ACTIVE,
  fenced: v1.NodeState.FENCED,
  'controlled-shutdown': v1.NodeState.CONTROLLED_SHUTDOWN,
};

export function nodeToProto(node: NodeInfo): v1.Node {
  return {
    nodeId: node.nodeId,
    host: node.host,
    port: node.port,
    rack: node.rack,
    state: nodeStates[node.state],
    nodeEpoch: BigInt(node.nodeEpoch),
    offlineLogDirIds: [...node.offlineLogDirIds],
  };
}

export function nodeFromProto(node: v1.Node): NodeInfo {
  const state: NodeState = node.state === v1.NodeState.ACTIVE ? 'active' : node.state === v1.NodeState.CONTROLLED_SHUTDOWN ? 'controlled-shutdown' : 'fenced';
  return { nodeId: node.nodeId, host: node.host, port: node.port, rack: node.rack, state, nodeEpoch: Number(node.nodeEpoch), offlineLogDirIds: [...node.offlineLogDirIds] };
}

export function partitionToProto(partition: PartitionState): v1.PartitionInfo {
  return {
    partition: partition.partition,
    leaderId: partition.leader,
    leaderEpoch: partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch,
    replicas: [...partition.replicas],
    isr: [...partition.isr],
    offlineReplicas: [...partition.offlineReplicas],
    addingReplicas: [...partition.addingReplicas],
    removingReplicas: [...partition.removingReplicas],
    eligibleLeaderReplicas: [...partition.elr],
  };
}

export function partitionFromProto(partition: v1.PartitionInfo): PartitionState {
  return {
    partition: partition.partition,
    leader: partition.leaderId < 0 ? noLeader : partition.leaderId,
    leaderEpoch: partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch,
    replicas: partition.replicas,
    isr: partition.isr,
    // Empty from a controller that predates eligible leader replicas.
    elr: partition.eligibleLeaderReplicas,
    offlineReplicas: partition.offlineReplicas,
    addingReplicas: partition.addingReplicas,
    removingReplicas: partition.removingReplicas,
  };
}

/** One partition's answer to an ISR change request (AlterPartition). */
export function alterPartitionResultToProto(result: AlterPartitionResult): internalV1.AlterPartitionResult {
  return {
    topicId: result.topicId,
    topic: result.topic,
    partition: result.partition,
    state: result.state === undefined ? undefined : partitionToProto(result.state),
    errorCode: errorCodeToProto(result.error?.code),
    errorMessage: result.error?.message ?? '',
  };
}

export function topicToProto(topic: TopicState): internalV1.TopicMetadata {
  return { name: topic.name, topicId: topic.topicId, internal: topic.internal, partitions: topic.partitions.map(partitionToProto), configs: { ...topic.configs } };
}

export function topicFromProto(topic: internalV1.TopicMetadata): TopicState {
  return { name: topic.name, topicId: topic.topicId, internal: topic.internal, partitions: topic.partitions.map(partitionFromProto), configs: topic.configs };
}

export function controllerToProto(controller: ControllerInfo): internalV1.ControllerLocation {
  return { controllerId: controller.controllerId, host: controller.host, port: controller.port, controllerEpoch: BigInt(controller.controllerEpoch) };
}

export function controllerFromProto(location: internalV1.ControllerLocation): ControllerInfo {
  return { controllerId: location.controllerId, host: location.host, port: location.port, controllerEpoch: Number(location.controllerEpoch) };
}

/**
 * An image as snapshot messages, each holding at most `chunkBytesMax` of topic and node
 * entries (estimated), so a large cluster's snapshot never exceeds the gRPC message bound.
 * A topic is never split across chunks.
 */
export function snapshotToProto(image: MetadataImage, chunkBytesMax: number): internalV1.WatchMetadataResponse[] {
  const version = BigInt(image.version);
  const chunks: internalV1.MetadataSnapshot[] = [];
  let current: internalV1.MetadataSnapshot = {
    clusterId: image.clusterId,
    controller: image.controller === undefined ? undefined : controllerToProto(image.controller),
    nodes: [...image.nodes.values()].map(nodeToProto),
    topics: [],
    clusterConfigs: { configs: { ...image.clusterConfigs } },
    lastChunk: false,
  };
  let bytes = 0;
  for (const topic of image.topics.values()) {
    const message = topicToProto(topic);
    const size = internalV1.TopicMetadata.encode(message).finish().length;
    if (bytes > 0 && bytes + size > chunkBytesMax) {
      chunks.push(current);
      current = { clusterId: '', controller: undefined, nodes: [], topics: [], clusterConfigs: undefined, lastChunk: false };
      bytes = 0;
    }
    current.topics.push(message);
    bytes += size;
  }
  current.lastChunk = true;
  chunks.push(current);
  return chunks.map((snapshot) => ({ metadataVersion: version, update: { $case: 'snapshot', value: snapshot }, activeController: undefined, errorCode: 0, errorMessage: '' }));
}

export function deltaToProto(delta: MetadataDelta, topicName: (topicId: string) => string): internalV1.WatchMetadataResponse {
  const message: internalV1.MetadataDelta = {
    baseVersion: BigInt(delta.baseVersion),
    nodes: delta.nodes.map(nodeToProto),
    removedNodeIds: [...delta.removedNodeIds],
    createdTopics: delta.createdTopics.map(topicToProto),
    deletedTopics: delta.deletedTopics.map(({ topicId, name }) => ({ topicId, name })),
    partitions: delta.partitions.map(({ topicId, partition }) => ({ topicId, topic: topicName(topicId), partition: partitionToProto(partition) })),
    topicConfigs: delta.topicConfigs.map(({ topicId, configs }) => ({ topicId, topic: topicName(topicId), configs: { ...configs } })),
    clusterConfigs: delta.clusterConfigs === undefined ? undefined : { configs: { ...delta.clusterConfigs } },
  };
  return { metadataVersion: BigInt(delta.version), update: { $case: 'delta', value: message }, activeController: undefined, errorCode: 0, errorMessage: '' };
}

export function deltaFromProto(version: bigint, delta: internalV1.MetadataDelta): MetadataDelta {
  return {
    baseVersion: Number(delta.baseVersion),
    version: Number(version),
    nodes: delta.nodes.map(nodeFromProto),
    removedNodeIds: delta.removedNodeIds,
    createdTopics: delta.createdTopics.map(topicFromProto),
    deletedTopics: delta.deletedTopics.map(({ topicId, name }) => ({ topicId, name })),
    partitions: delta.partitions.map(({ topicId, partition }) => {
      if (partition === undefined) throw new TypeError(`partition update for ${topicId} has no partition state`);
      return { topicId, partition: partitionFromProto(partition) };
    }),
    topicConfigs: delta.topicConfigs.map(({ topicId, configs }) => ({ topicId, configs })),
    clusterConfigs: delta.clusterConfigs?.configs,
  };
}

/**
 * The proto enum value for a catalogue code (NONE for undefined). Total: error-codes.test.ts
 * proves every catalogue code has an enum value of its name and number; a number the enum
 * lacked would still leave as UNKNOWN_SERVER_ERROR rather than as a value no peer can name.
 */
export function errorCodeToProto(code: ErrorCode | undefined): v1.ErrorCode {
  if (code === undefined) return v1.ErrorCode.NONE;
  const wire = wireErrorCode(code);
  return v1.ErrorCode[wire] === undefined ? v1.ErrorCode.UNKNOWN_SERVER_ERROR : (wire as v1.ErrorCode);
}

/**
 * The catalogue code for a proto enum value (undefined for NONE). Total: a value this release
 * does not know (a newer peer's) is UNKNOWN_SERVER_ERROR, as the enum's comment asks.
 */
export function errorCodeFromProto(code: v1.ErrorCode): ErrorCode | undefined {
  return errorCodeFromWire(code);
}
