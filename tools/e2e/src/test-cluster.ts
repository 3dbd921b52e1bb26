/**
 * The cluster a process-test file runs against: real processes started by the launcher, with
 * public clients on its gateway, and everything stopped again afterwards (also after a failed
 * start or test).
 */
import { killAll, startCluster, type ClusterOptions, type TestCluster } from '@starlane/testing';
import { publicClients, type PublicClients } from './clients';

/**
 * Short node sessions and lag limits, so a storage node that stops is fenced, loses its
 * leaderships and leaves the ISR within a test's time (the defaults are 1 s heartbeats, 6 s
 * sessions and Kafka's 30 s replica.lag.time.max.ms).
 */
export const quickFailureSettings = {
  controllerArgs: ['--node-heartbeat-interval-ms=200', '--node-session-timeout-ms=1500'],
  storageNodeArgs: ['--replica-lag-time-max-ms=2000'],
} as const satisfies ClusterOptions;

export interface ClusterWithClients {
  readonly cluster: TestCluster;
  readonly clients: PublicClients;
}

/** Starts a cluster (ready: every storage node active, the gateway with metadata) and opens public clients on its gateway. */
export async function startWithClients(options: ClusterOptions): Promise<ClusterWithClients> {
  const cluster = await startCluster(options);
  return { cluster, clients: publicClients(cluster.gatewayAddress) };
}

/** Closes the clients and stops the cluster, then kills any process still running; either may be missing after a failed start. */
export async function stopWithClients(started: Partial<ClusterWithClients>): Promise<void> {
  started.clients?.close();
  await started.cluster?.stop();
  await killAll();
}
