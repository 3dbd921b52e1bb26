export { describeAppContract, launchApp, stopDeadlineMs, type AppContractSpec } from './app-contract';
export { FaultyFileSystem, type FaultMatcher, type FileOperation } from './faulty-fs';
export { metricValue, parseMetrics, scrapeMetrics, type MetricSample } from './metrics-scrape';
export { RecordingLogger, batch, clusterId, image, recordsOf, thisNode, topic, type TopicSpec } from './metadata-fixtures';
export { seededRandom } from './random';
export { unaryAttempt, unaryCall, unaryTimeoutMsDefault, type UnaryMethod } from './unary';
export { waitUntil } from './wait';
export { kubeBinaries, unzipEntries, type KubeBinaries } from './kube-binaries';
export { healthStatus, reflectionServices, watchHealth, type HealthWatch } from './grpc-probes';
export { ManualClock, ManualScheduler, manualEpochMs, manualTime } from './manual-time';
export { describeLogContract, readAll, recordsFor, type LogContractHarness } from './log-contract';
export {
  TestCluster,
  appBundle,
  freePort,
  killAll,
  logLinesMax,
  startApp,
  startCluster,
  stderrBytesMax,
  workspaceRoot,
  type AppProcess,
  type ClusterOptions,
  type ExitStatus,
  type ReadyEvent,
} from '@starlane/launcher';
export { checkAcknowledgedWrites, checkCommittedPrefixes, checkMonotonicLatest, partitionKey, partitionsNotRecovered, servingLeader } from './simulator/checks';
export type { AcknowledgedWrite, CommittedHistory, LatestObservation, ReplicaSnapshot } from './simulator/checks';
export { clientDeadlineMarginMs, clientSettingsDefault, produceTimeoutMs, SimClients, type ClientSettings, type ClientStats, type ClientTarget } from './simulator/clients';
export { ControllerHost, controllerDirectory, controllerEndpoint, type ControllerSettings, type MetadataPull } from './simulator/controller-host';
export { FaultInjector, faultKinds, faultSettingsDefault, type FaultKind, type FaultSettings, type FaultTargets } from './simulator/faults';
export { LogSnapshots, type LogReadStats, type SnapshotSource } from './simulator/log-snapshots';
export { messageFaultCount, networkSettingsDefault, SimNetwork, type EndpointId, type NetworkSettings, type NetworkStats, type SimStream, type StreamServer } from './simulator/network';
export { controllerCallDeadlineMs, DeadProcessError, fencedFileSystem, metadataReconnectMs, NodeHost, nodeEndpoint, type NodeStatus } from './simulator/node-host';
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
} from './simulator/sim-node';
export { HostScheduler, settle, SimClock, SimScheduler, simulatedEpochMs } from './simulator/sim-time';
export { runSimulation, simulationDefaults, type SimulationOptions, type SimulationResult } from './simulator/simulation';
export { failureReport, SimTrace, traceEventsMax, type TraceEvent } from './simulator/trace';
