/**
 * The Cluster resource that stands for the local Starlane cluster, so a Topic can name it in
 * `spec.clusterRef` (deploy/examples/topic.yaml does). Nothing reconciles Cluster resources
 * yet, so `npm run kube` writes the status itself, through the status subresource as a
 * controller would: where the cluster's public gRPC API and its controllers listen, which is
 * what the operator dials for a Topic.
 */
import { crdApiVersion, crdGroup, crdVersion, type ClusterSpec, type ClusterStatus } from '@starlane/crds';
import { storageNodeCount, type Layout } from '@starlane/local-cluster';

export const localClusterName = 'local';
export const localClusterNamespace = 'default';

/** Where the Cluster lives in the API (its status subresource is this plus `/status`). */
export const localClusterPath = `/apis/${crdGroup}/${crdVersion}/namespaces/${localClusterNamespace}/clusters/${localClusterName}`;

/** The Cluster as created: what the local cluster is (one controller, three storage nodes, one gateway). */
export function localClusterManifest(layout: Layout): Record<string, unknown> {
  const gateway = layout.processes.find((spec) => spec.app === 'gateway');
  const spec: ClusterSpec = {
    storageNodes: { replicas: storageNodeCount },
    controllers: { mode: 'Embedded', replicas: 1 },
    // No spec.defaults: a Topic without a replicationFactor gets the Starlane cluster's own default.
    gateways: { replicas: 1, ...(gateway === undefined ? {} : { grpcPort: gateway.grpcPort }) },
  };
  return {
    apiVersion: crdApiVersion,
    kind: 'Cluster',
    metadata: {
      name: localClusterName,
      namespace: localClusterNamespace,
      // Recommended label (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels):
      // this cluster's processes are run by `npm run kube`, not by an operator.
      labels: { 'app.kubernetes.io/managed-by': 'starlane-kube' },
    },
    spec,
  };
}

/**
 * The status of a running local cluster. No Kafka-protocol listener exists yet, so
 * `kafkaAddress` is left out rather than naming a port nothing listens on.
 */
export function localClusterStatus(layout: Layout, generation: number, now: Date): ClusterStatus {
  const address = (app: string): string[] => layout.processes.filter((spec) => spec.app === app).map((spec) => `${layout.host}:${spec.grpcPort}`);
  return {
    observedGeneration: generation,
    gatewayAddress: address('gateway')[0] ?? '',
    controllerAddresses: address('controller'),
    storageNodes: layout.processes.filter((spec) => spec.app === 'storage-node').length,
    phase: 'Running',
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: generation,
        lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        reason: 'Reconciled',
        message: 'the local cluster of npm run kube is serving (every storage node active)',
      },
    ],
  };
}
