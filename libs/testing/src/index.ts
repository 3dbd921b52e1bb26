export { describeAppContract, launchApp, stopDeadlineMs, type AppContractSpec } from './app-contract';
export { healthStatus, reflectionServices, watchHealth, type HealthWatch } from './grpc-probes';
export { killAll, logLinesMax, startApp, stderrBytesMax, type AppProcess, type ExitStatus, type ReadyEvent } from './process';
export { appBundle, workspaceRoot } from './workspace';
export { ManualClock, ManualScheduler, describeLogContract, readAll, recordsFor, type LogContractHarness } from './log-contract';
export { TestCluster, freePort, startCluster, type ClusterOptions } from './cluster';
