import { devClusterLayout } from '@starlane/local-cluster';
import { localClusterManifest, localClusterPath, localClusterStatus } from './cluster-resource';

const layout = devClusterLayout({ portBase: 29090, dataRoot: '/data' });

describe('the local Cluster resource', () => {
  it('describes the local cluster: three storage nodes, one embedded controller, one gateway at its gRPC port', () => {
    expect(localClusterManifest(layout)).toEqual({
      apiVersion: 'starlane.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'local', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'starlane-kube' } },
      spec: {
        storageNodes: { replicas: 3 },
        controllers: { mode: 'Embedded', replicas: 1 },
        gateways: { replicas: 1, grpcPort: 29090 },
      },
    });
    expect(localClusterPath).toBe('/apis/starlane.dev/v1alpha1/namespaces/default/clusters/local');
  });

  it("says where the cluster's gateway and controller listen, Ready=True for the generation it observed, and names no Kafka address", () => {
    const status = localClusterStatus(layout, 4, new Date('2026-01-02T03:04:05.678Z'));
    expect(status).toEqual({
      observedGeneration: 4,
      gatewayAddress: '127.0.0.1:29090',
      controllerAddresses: ['127.0.0.1:29091'],
      storageNodes: 3,
      phase: 'Running',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 4,
          lastTransitionTime: '2026-01-02T03:04:05Z',
          reason: 'Reconciled',
          message: 'the local cluster of npm run kube is serving (every storage node active)',
        },
      ],
    });
    expect(status).not.toHaveProperty('kafkaAddress');
  });
});
