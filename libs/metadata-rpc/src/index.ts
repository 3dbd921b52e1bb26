export { adminRequestItemsMax, checkAdminItemCount, describeTopicsResponse, itemErrorFields, listTopicsResponse } from './admin-reads';
export { reconnectBackoffMsInitialDefault, reconnectBackoffMsMaxDefault, reconnectDelayMs, type ReconnectState } from './watcher';
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
  alterPartitionResultToProto,
  snapshotToProto,
  topicFromProto,
  topicToProto,
} from './codec';
export { MetadataWatcher, snapshotTopicsMax, type ClientLogger, type MetadataListener, type MetadataWatcherOptions } from './watcher';
export { controllerRequestTimeoutMsDefault } from './controller-channel';
export { GrpcControllerPort, alterPartitionResultFromProto, isrChangeFromProto, isrChangeToProto, redirectsInARowMax } from './grpc-controller-port';
