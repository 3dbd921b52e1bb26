/**
 * The operator as a real process against the local Kubernetes API and a real Starlane cluster:
 * Topic resources become topics with their partitions and configs, changes are applied,
 * refusals say why, drift is reverted, and deletion follows the policy. One cluster and one
 * operator serve every test of the file, each test in its own namespace.
 */
import { killAll, startCluster, type AppProcess, type TestCluster } from '@starlane/testing';
import { Admin, KubeHarness, operatorMetric, startOperator } from './test/harness';

jest.setTimeout(180_000);

let kube: KubeHarness;
let cluster: TestCluster;
let admin: Admin;
let operator: AppProcess;
let namespaceCount = 0;

/** A fresh namespace with a Cluster named `main` that points at the shared Starlane cluster. */
async function namespace(): Promise<string> {
  namespaceCount += 1;
  const name = `t${namespaceCount}`;
  await kube.createNamespace(name);
  await kube.createCluster(name, 'main', cluster, 2);
  return name;
}

beforeAll(async () => {
  [kube, cluster] = await Promise.all([KubeHarness.start(), startCluster({ storageNodes: 2 })]);
  admin = new Admin(cluster.gatewayAddress);
  operator = startOperator(kube);
  await operator.ready;
});

afterAll(async () => {
  admin?.close();
  await operator?.stop('SIGTERM');
  await cluster?.stop();
  await kube?.close();
  await killAll();
});

describe('operator: Topic reconciliation', () => {
  it('creates the topic with its partitions and configs, then reports Ready with the observed generation', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'orders', { clusterRef: { name: 'main' }, topicName: 'orders_v1', partitions: 3, replicationFactor: 2, config: { 'retention.ms': '3600000' } });
    const topic = await kube.waitForReady(ns, 'orders', 'True', 'Reconciled');
    expect(topic.metadata.finalizers).toContain('starlane.dev/topic');
    expect(topic.status).toMatchObject({ topicName: 'orders_v1', partitions: 3, replicationFactor: 2, observedGeneration: topic.metadata.generation });
    const described = await admin.describe('orders_v1');
    expect(described?.partitions).toHaveLength(3);
    expect(described?.partitions.every((partition) => partition.replicas.length === 2)).toBe(true);
    expect(described?.topicId).toBe(topic.status?.['topicId']);
    expect(await admin.overrides('orders_v1')).toEqual({ 'retention.ms': '3600000' });
    expect(await operatorMetric(operator, 'starlane_operator_reconciles_total', { result: 'converged' })).toBeGreaterThan(0);
  });
});
