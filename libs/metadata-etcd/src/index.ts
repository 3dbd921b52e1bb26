export { clusterNamespace, connectEtcd, etcdPrefixDefault, type EtcdConnectionOptions } from './client';
export {
  ControllerElection,
  ControllerLeadership,
  controllerLeaseTtlMsDefault,
  type ControllerElectionOptions,
  type ControllerEndpoint,
  type ElectedController,
  type ElectionLogger,
  type LeaderListener,
  type MonotonicClock,
} from './election';
export { EtcdMetadataStore, type EtcdMetadataStoreOptions, type EtcdStoreRecovery, type StoreFence } from './etcd-store';
