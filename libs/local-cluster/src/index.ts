export { bundlePath, nodeLauncher, type NodeLauncherOptions } from './child-process';
export {
  dataDirVariable,
  devClusterLayout,
  layoutPorts,
  metricsPortOffset,
  operatorPortOffset,
  operatorProcess,
  portBaseDefault,
  portBaseFrom,
  portBaseVariable,
  portSpanMax,
  storageNodeCount,
  storageNodePortOffset,
  type Layout,
  type ProcessSpec,
  type Role,
} from './layout';
export { freePortBase, freePortBaseAttemptsMax } from './free-ports';
export { describeEvent, exitText, prettyLogLine } from './report';
export { RestartBackoff, restartBackoffMsMax, restartBackoffMsMin, stableUptimeMs, type RestartDecision } from './restart-backoff';
export { Supervisor, stopDeadlineMs, type ChildEvents, type ChildHandle, type ExitStatus, type Launcher, type SupervisorEvent, type SupervisorOptions } from './supervisor';
export { keepAliveScheduler, processAlive } from './keep-alive';
export { clusterResourcePath, createClusterResource, createCrds, writeClusterStatus } from './kube-resources';
