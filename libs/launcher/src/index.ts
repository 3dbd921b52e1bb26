export { TestCluster, freePort, launchNodeFlagsVariable, startCluster, type ClusterOptions } from './cluster';
export { killAll, logLinesMax, startApp, stderrBytesMax, type AppProcess, type ExitStatus, type ReadyEvent } from './process';
export { appBundle, workspaceRoot } from './workspace';
