export { TestCluster, allocatorEnvironment, colocatedNodeFlags, launchNodeFlagsVariable, startCluster, type ClusterOptions } from './cluster';
export { etcdBinaryVariable, startEtcd, type EtcdOptions, type EtcdProcess } from './etcd';
export { freePort } from './ports';
export { killAll, logLinesMax, startApp, stderrBytesMax, type AppProcess, type ExitStatus, type ReadyEvent } from './process';
export { appBundle, workspaceRoot } from './workspace';
