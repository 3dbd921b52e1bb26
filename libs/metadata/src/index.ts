export {
  applyDelta,
  effectiveConfig,
  effectiveConfigs,
  emptyDelta,
  emptyImage,
  imageFromSnapshot,
  noLeader,
  topicById,
  type ConfigMap,
  type ControllerInfo,
  type MetadataDelta,
  type MetadataImage,
  type NodeInfo,
  type NodeState,
  type PartitionState,
  type TopicState,
} from './image';
export {
  type CommandOutcome,
  type ItemError,
  type NodeSessions,
} from './commands';
export {
  controlledShutdown,
  fenceExpiredNodes,
  heartbeat,
  offlineLogDirIdsMax,
  registerNode,
  type ControlledShutdownResult,
  type HeartbeatInput,
  type HeartbeatResult,
  type RegisterNodeInput,
} from './node-commands';
export {
  alterPartition,
  electPreferredLeaders,
  preferredLeaderElectionsPerPassMax,
  reassignPartitions,
  type AlterPartitionInput,
  type AlterPartitionResult,
  type IsrChangeInput,
  type IsrMemberInput,
  type PartitionReassignmentInput,
  type PartitionReassignmentResult,
  type PreferredLeadersResult,
  type TopicPartitionRef,
} from './partition-commands';
export {
  allocateProducerIds,
  producerIdBlockSizeDefault,
  producerIdBlockSizeMax,
} from './producer-id-commands';
export {
  alterTopicConfigs,
  builtInTopicDefaults,
  createPartitions,
  createTopics,
  deleteTopics,
  topicPartitionsMax,
  type ConfigChangeInput,
  type CreateTopicResult,
  type DeleteTopicResult,
  type NewPartitionsInput,
  type NewTopicInput,
  type TopicResult,
} from './topic-commands';
export { type NodeHeartbeat, type NodeRegistrationRequest, type NodeRegistrationResult } from './node-messages';
export { MetadataController, pendingCommandsMax, type DeltaListener, type MetadataControllerOptions } from './controller';
export {
  applyBatch,
  emptyControllerState,
  nextBatch,
  snapshotOf,
  stateFromSnapshot,
  type ControllerState,
  type MetadataSnapshot,
  type NodeRegistration,
  type ReassignmentInfo,
} from './controller-state';
export {
  FileMetadataStore,
  encodeFrame,
  frameBytesMax,
  frameHeaderBytes,
  journalFileName,
  snapshotFileName,
  snapshotIntervalRecordsDefault,
  type FileMetadataStoreOptions,
  type FileStoreRecovery,
} from './file-store';
export { placeReplicas, seededRandom, type MetadataRandom, type PlacementInput } from './placement';
export { describePartitions, listTopics, listTopicsPageSizeDefault, listTopicsPageSizeMax, lookupTopics, nodesById, type TopicLookup, type TopicPage } from './queries';
export { listReassignments, type ReassignmentView } from './queries';
export {
  batchFromJson,
  batchRecordsMax,
  batchToJson,
  recordFromJson,
  recordToJson,
  type ClusterConfigsRecord,
  type ClusterRecord,
  type ControllerRecord,
  type MetadataBatch,
  type MetadataRecord,
  type NodeRecord,
  type PartitionRecord,
  type ProducerIdsRecord,
  type ReassignmentRecord,
  type RemoveTopicRecord,
  type TopicConfigsRecord,
  type TopicRecord,
} from './records';
export { MemoryMetadataStore, type LoadedMetadata, type MetadataStore } from './store';
export { changedPartitions, electionKind, electionKinds, isrChange, type ElectionKind, type PartitionTransition } from './transitions';
export { describeTopicConfigs, topicConfigDefaults, topicConfigNames, validateTopicConfigs, type ConfigSource, type EffectiveConfig } from './topic-configs';
export { uncleanLeaderElectionEnabled } from './topic-configs';
