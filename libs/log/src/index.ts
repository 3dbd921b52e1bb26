export { LatestOffsets, compactionKeysMax, survivesCompaction } from './compaction';
export { defaultLogConfig, logConfigNames, parseLogConfig, segmentBytesMax, type CleanupPolicy, type LogConfig } from './config';
export {
  LeaderEpochCache,
  leaderEpochEntriesMax,
  parseLeaderEpochs,
  serializeLeaderEpochs,
  type EpochEndOffset,
  type LeaderEpochEntry,
} from './leader-epoch-cache';
export {
  PartitionLog,
  appendCoalesceBytesMax,
  replacedSegmentCloseDelayMs,
  type CompactionReport,
  appendQueueBytesMax,
  compactionIntervalMs,
  retentionCheckIntervalMs,
  retentionFirstCheckDelayMsMax,
  cleanShutdownFileName,
  leaderEpochFileName,
  producerSnapshotSuffix,
  loadedIndexesMax,
  recoveryCheckpointIntervalMs,
  stateFileName,
  producerSnapshotsRetained,
  readSlackBytes,
  relativeOffsetMax,
  type AppendResult,
  type BackgroundTask,
  type OpenReport,
  type PartitionLogOptions,
  type ReadResult,
} from './log';
export {
  ProducerStateManager,
  isNextSequence,
  lastSequenceOf,
  noProducerId,
  producerBatchesRetained,
  producerIdsMax,
  type AppendedProducerBatch,
  type ProducerAppendCheck,
  type ProducerBatchHeader,
  type ProducerStateView,
} from './producer-state';
export { segmentsToDelete, type SegmentSummary } from './retention';
export { segmentFileName } from './segment';
