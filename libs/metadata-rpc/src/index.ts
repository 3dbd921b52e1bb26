export { adminRequestItemsMax, checkAdminItemCount, describeTopicsResponse, itemErrorFields, listTopicsResponse } from './admin-reads';
export {
  controllerFromProto,
  controllerToProto,
  deltaFromProto,
  deltaToProto,
  errorCodeFromProto,
  errorCodeToProto,
  nodeFromProto,
  nodeToProto,
  partitionFromProto,
  partitionToProto,
  snapshotToProto,
  topicFromProto,
  topicToProto,
} from './codec';
export {
  MetadataWatcher,
  reconnectBackoffMsInitialDefault,
  reconnectBackoffMsMaxDefault,
  reconnectDelayMs,
  snapshotTopicsMax,
  type ClientLogger,
  type MetadataListener,
  type MetadataWatcherOptions,
  type ReconnectState,
} from './watcher';
export {
  NodeSession,
  controlledShutdownRetryMs,
  redirectsInARowMax,
  type ControlledShutdownOutcome,
  type NodeRegistration,
  type NodeSessionOptions,
} from './node-session';
