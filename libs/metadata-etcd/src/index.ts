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
} from './election';
export { type MonotonicClock } from './lease-keeper';
export { ControllerRegistration, type ControllerRegistrationOptions, type RegisteredController } from './registration';
export { EtcdMetadataStore, type EtcdMetadataStoreOptions, type EtcdStoreRecovery, type StoreFence } from './etcd-store';
