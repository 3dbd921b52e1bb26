/**
 * The operator's settings (flags or STARLANE_* variables, through the service host). The
 * Kubernetes connection itself comes from KUBECONFIG (a kubeconfig file), else from the pod's
 * in-cluster service account, as kubectl and client-go do.
 */
import { hostname } from 'node:os';
import { durationMsOption, integerOption, stringOption } from '@starlane/service-host';
import { clusterUnreachableReleaseMsDefault, leaderElectionDurationsDefault, workQueueBoundsDefault } from '@starlane/reconcile';

/** Admin calls to Starlane wait this long at most; a cluster that does not answer is "unreachable" and retried with back-off. */
export const adminCallTimeoutMsDefault = 10_000;
/** Topics reconciled at once: admin calls are per topic, and a cluster with hundreds of Topics must not wait on one slow one. */
export const workersDefault = 4;
export const workersMax = 64;

/** The Lease the operator replicas elect their leader on (in STARLANE_LEASE_NAMESPACE). */
export const leaseNameDefault = 'starlane-operator';

export const operatorOptions = {
  watchNamespaces: {
    ...stringOption({ help: 'comma-separated namespaces whose Topics and Clusters are watched; empty for all', default: '', metavar: 'NS,...' }),
    // An empty value means "all namespaces", so it must pass the parser.
    parse: (raw: string): string => raw.trim(),
  },
  leaseNamespace: stringOption({ help: 'namespace of the leader-election Lease', default: 'default', pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ }),
  leaseName: stringOption({ help: 'name of the leader-election Lease', default: leaseNameDefault, pattern: /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/ }),
  leaseHolder: stringOption({ help: 'identity written into the Lease (unique per replica)', default: `${hostname()}-${process.pid}` }),
  leaseDurationMs: durationMsOption({ help: 'how long standbys wait, from the last renewal they saw, before taking the lease over', default: leaderElectionDurationsDefault.leaseDurationMs, minMs: 1000, stepMs: 1000, stepReason: 'a Lease holds whole seconds' }),
  renewDeadlineMs: durationMsOption({ help: 'how long the leader keeps reconciling without a successful renewal', default: leaderElectionDurationsDefault.renewDeadlineMs, minMs: 100 }),
  retryPeriodMs: durationMsOption({ help: 'interval between attempts to acquire or renew the lease', default: leaderElectionDurationsDefault.retryPeriodMs, minMs: 50 }),
  resyncPeriodMs: durationMsOption({ help: 'every Topic is reconciled again this often (reverts drift made behind its back)', default: workQueueBoundsDefault.resyncPeriodMs, minMs: 100 }),
  retryBackoffMsInitial: durationMsOption({ help: 'first wait before a failed Topic is retried (doubles per failure)', default: workQueueBoundsDefault.retryBackoff.initialMs, minMs: 1 }),
  retryBackoffMsMax: durationMsOption({ help: 'longest wait before a failed Topic is retried', default: workQueueBoundsDefault.retryBackoff.maxMs, minMs: 1 }),
  clusterUnreachableReleaseMs: durationMsOption({ help: 'how long a deleted Topic waits for an unreachable Starlane cluster before its finalizer is released', default: clusterUnreachableReleaseMsDefault, minMs: 0 }),
  adminCallTimeoutMs: durationMsOption({ help: 'deadline of each call to the Starlane admin API', default: adminCallTimeoutMsDefault, minMs: 100 }),
  workers: integerOption({ help: 'Topics reconciled concurrently', default: workersDefault, min: 1, max: workersMax }),
};
