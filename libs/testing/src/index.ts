export { describeAppContract, launchApp, stopDeadlineMs, type AppContractSpec } from './app-contract';
export { healthStatus, reflectionFilesContaining, reflectionServices } from './grpc-probes';
export { killAll, logLinesMax, startApp, type AppProcess, type ExitStatus, type ReadyEvent } from './process';
export { appBundle, workspaceRoot } from './workspace';
