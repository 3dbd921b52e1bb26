/**
 * The storage node's replica: the partitions it hosts and how they replicate, with every
 * effect (files, time, the network, the controller) behind an injected port, so the same code
 * runs in the storage node and under the seeded cluster simulator.
 */
// The hosted partitions, their replication and the node that wires them.
export { ReplicaNode, type ProduceRequest, type ReplicaNodeOptions } from './replica-node';
export { HostedPartition, type IsrProposalAnswer, type PartitionStatus } from './hosted-partition';
export { PartitionManager, opensInParallelMax, type ManagerLogger, type PartitionManagerOptions } from './partition-manager';
export { lookupPartition, resultCode, type Lookup, type PartitionAddress } from './partition-checks';
export {
  deletionMarkerFileName,
  directoryTopicNameCharsMax,
  isSafeTopicId,
  parsePartitionDirectoryName,
  partitionDirectoryName,
  partitionKey,
  partitionsFolderName,
  type ParsedPartitionDirectory,
} from './partition-dirs';
export { decodeHighWatermarks, encodeHighWatermarks, highWatermarkCheckpointFileName, highWatermarkCheckpointIntervalMs } from './hw-checkpoint';
export {
  type ReplicaFetchPartition,
  type ReplicaFetchPartitionResult,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
  type ReplicaStream,
  type ReplicaStreamPort,
  type ResultError,
} from './replica-messages';
export {
  ReplicaFetchSession,
  replicaFetchBackoffMs,
  replicaFetchPartitionBytesDefault,
  replicaFetchResponseBytesMax,
  replicaFetchSessionPartitionsMax,
  replicaFetchWaitMsMax,
} from './replica-fetch-session';
export {
  LeaderFetcher,
  nodeEpochPollMs,
  repeatedDivergenceLogIntervalMs,
  replicaFetchBackoffMsInitial,
  replicaFetchBackoffMsMax,
  replicaFetchPartitionBytes,
  replicaFetchResponseBytes,
  replicaFetchWaitMs,
  replicaStreamBackoffMsInitial,
  replicaStreamBackoffMsMax,
  type DivergenceOutcome,
  type FetcherLogger,
  type LeaderAddress,
  type ReplicaFetcherOptions,
} from './leader-fetcher';
export { ReplicaFetchers } from './replica-fetchers';
export { IsrUpdater, alterPartitionBatchMax, alterPartitionTimeoutMs, eligibilityIn, isrCheckIntervalMs, type IsrUpdaterLogger, type IsrUpdaterOptions } from './isr-updater';
export {
  appendAsLeader,
  appendTimeoutMs,
  appendTimeoutMsDefault,
  appendTimeoutMsMax,
  latestOffset,
  offsetNotAvailable,
  type AckLevel,
  type LatestOffset,
  type ProduceFailure,
  type ProduceOutcome,
  type ProduceSuccess,
} from './produce';
// End of the replica's own exports.
// The node's lifecycle with the controller (registration, heartbeats, controlled shutdown, ISR change requests) over the controller port.
export { type ControllerPort, type NodeHeartbeat, type NodeRegistration, type NodeRegistrationRequest } from './controller-port';
export {
  NodeLifecycle,
  controlledShutdownRetryMs,
  controllerRetryBackoffMsInitial,
  controllerRetryBackoffMsMax,
  isrChangeAttemptsMaxDefault,
  type ControlledShutdownOutcome,
  type NodeLifecycleLogger,
  type NodeLifecycleOptions,
} from './node-lifecycle';
export { bootIdToRecord, bootIdOnceRegistered, nothingUnflushedLost, type BootIdReader, type DataAtStart } from './unflushed-loss';
