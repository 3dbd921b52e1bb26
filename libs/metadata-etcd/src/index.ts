export { clusterNamespace, connectEtcd, etcdFailure, etcdPrefixDefault, etcdRequestTimeoutMsDefault, etcdResponseBytesMax, type EtcdConnectionOptions } from './client';
export {
  ControllerElection,
  ControllerLeadership,
  controllerLeaseTtlMsDefault,
  decodeLeader,
  electionKey,
  encodeLeader,
  type ControllerElectionOptions,
  type ControllerEndpoint,
  type ElectedController,
  type ElectionLogger,
  type LeaderListener,
  type MonotonicClock,
} from './election';
export {
  EtcdMetadataStore,
  batchKey,
  chunksMax,
  metadataKeys,
  snapshotIntervalBatchesDefault,
  valueBytesMaxDefault,
  type EtcdMetadataStoreOptions,
  type EtcdStoreRecovery,
  type StoreFence,
} from './etcd-store';
