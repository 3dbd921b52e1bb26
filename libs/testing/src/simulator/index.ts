export { checkAcknowledgedWrites, checkCommittedPrefixes, checkMonotonicLatest, partitionKey, partitionsNotRecovered, servingLeader } from './checks';
export type { AcknowledgedWrite, CommittedHistory, LatestObservation, ReplicaSnapshot } from './checks';
export { clientDeadlineMarginMs, clientSettingsDefault, produceTimeoutMs, SimClients, type ClientSettings, type ClientStats, type ClientTarget } from './clients';
export { ControllerHost, controllerDirectory, controllerEndpoint, type ControllerSettings, type MetadataPull } from './controller-host';
export { FaultInjector, faultKinds, faultSettingsDefault, type FaultKind, type FaultSettings, type FaultTargets } from './faults';
export { networkSettingsDefault, SimNetwork, type EndpointId, type NetworkSettings, type NetworkStats, type SimStream, type StreamServer } from './network';
export { controllerCallDeadlineMs, fencedFileSystem, metadataReconnectMs, NodeHost, nodeEndpoint, type NodeStatus } from './node-host';
export type {
  SimControllerLink,
  SimError,
  SimLatestOffset,
  SimLogger,
  SimNode,
  SimNodeEnvironment,
  SimNodeFactory,
  SimProduceRequest,
  SimProduceResult,
  SimRecord,
  SimReplicaState,
  SimStreamPort,
} from './sim-node';
export { HostScheduler, settle, SimClock, SimScheduler, simulatedEpochMs } from './sim-time';
export { runSimulation, simulationDefaults, type SimulationOptions, type SimulationResult } from './simulation';
export { failureReport, SimTrace, traceEventsMax, type TraceEvent } from './trace';
