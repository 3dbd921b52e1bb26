export { describeAppContract, launchApp, stopDeadlineMs, type AppContractSpec } from './app-contract';
export { FaultyFileSystem, type FaultMatcher, type FileOperation } from './faulty-fs';
export { metricValue, parseMetrics, scrapeMetrics, type MetricSample } from './metrics-scrape';
export { seededRandom } from './random';
export { unaryAttempt, unaryCall, unaryTimeoutMsDefault, type UnaryMethod } from './unary';
export { waitUntil } from './wait';
export { healthStatus, reflectionServices, watchHealth, type HealthWatch } from './grpc-probes';
export { ManualClock, ManualScheduler, describeLogContract, readAll, recordsFor, type LogContractHarness } from './log-contract';
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
export * from './simulator';
