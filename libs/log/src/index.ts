export { defaultLogConfig, logConfigNames, parseLogConfig, segmentBytesMax, type CleanupPolicy, type LogConfig } from './config';
export { joinPath, type Clock, type LogFile, type LogFileSystem, type Scheduler } from './io';
export { LeaderEpochCache, parseLeaderEpochs, serializeLeaderEpochs } from './leader-epoch-cache';
export {
  PartitionLog,
  appendCoalesceBytesMax,
  appendQueueBytesMax,
  cleanShutdownFileName,
  leaderEpochFileName,
  recoveryCheckpointIntervalMs,
  stateFileName,
  type AppendResult,
  type OpenReport,
  type PartitionLogOptions,
  type ReadResult,
} from './log';
export { MemoryFileSystem } from './memory-fs';
export { segmentsToDelete, type SegmentSummary } from './retention';
export { segmentFileName } from './segment';
