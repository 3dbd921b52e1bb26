/**
 * The operator as a real process against the local Kubernetes API and a real Starlane cluster:
 * Topic resources become topics with their partitions and configs, changes are applied,
 * refusals say why, drift is reverted, and deletion follows the policy. One cluster and one
 * operator serve every test of the file, each test in its own namespace.
 */
import { killAll, startCluster, waitUntil, type AppProcess, type TestCluster } from '@starlane/testing';
import { Admin, KubeHarness, logMark, operatorMetric, readyOf, startOperator, waitForPasses } from './test/harness';

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
    expect(await operatorMetric(operator, 'starlane_operator_reconcile_duration_seconds_count')).toBeGreaterThan(0);
    expect(await operatorMetric(operator, 'starlane_operator_leader')).toBe(1);
    const { metricsAddress } = await operator.ready;
    const page = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    for (const name of ['starlane_operator_queue_depth', 'starlane_operator_reconcile_errors_total', 'starlane_operator_informer_restarts_total']) expect(page).toContain(`# TYPE ${name} `);
    expect((await fetch(`http://${metricsAddress}/readyz`)).status).toBe(200);
    expect((await fetch(`http://${metricsAddress}/healthz`)).status).toBe(200);
    // Written by server-side apply under the operator's field manager: the finalizer, and the status through /status.
    const managers = (topic.metadata as { managedFields?: { manager: string; operation: string; subresource?: string }[] }).managedFields ?? [];
    expect(managers).toEqual(expect.arrayContaining([
      expect.objectContaining({ manager: 'starlane-operator', operation: 'Apply', subresource: 'status' }),
      expect.objectContaining({ manager: 'starlane-operator', operation: 'Apply', fieldsV1: { 'f:metadata': { 'f:finalizers': { 'v:"starlane.dev/topic"': {} } } } }),
    ]));
  });

  it('applies a config change and adds partitions, and refuses a partition decrease with a reason and one Warning event', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'payments', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1, config: { 'retention.ms': '60000' } });
    await kube.waitForReady(ns, 'payments', 'True', 'Reconciled');

    await kube.patchTopic(ns, 'payments', { spec: { partitions: 3, config: { 'retention.ms': '120000', 'cleanup.policy': 'compact' } } });
    const grown = await kube.waitForReady(ns, 'payments', 'True', 'Reconciled');
    expect(grown.metadata.generation).toBe(2);
    expect(grown.status).toMatchObject({ partitions: 3, observedGeneration: 2 });
    expect((await admin.describe('payments'))?.partitions).toHaveLength(3);
    expect(await admin.overrides('payments')).toEqual({ 'retention.ms': '120000', 'cleanup.policy': 'compact' });

    await kube.patchTopic(ns, 'payments', { spec: { partitions: 2 } });
    const refused = await kube.waitForReady(ns, 'payments', 'False', 'PartitionDecreaseNotSupported');
    expect(readyOf(refused)?.message).toMatch(/set spec.partitions to at least 3/);
    expect((await admin.describe('payments'))?.partitions).toHaveLength(3);
    const events = await waitUntil('the refusal event', async () => {
      const found = (await kube.events(ns, 'payments')).filter((event) => event.reason === 'PartitionDecreaseNotSupported');
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(events[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Topic', name: 'payments' } });

    // A refusal is not retried in a loop: two more passes (resyncs) provably ran, wrote nothing and recorded no second event.
    const writesBefore = kube.topicWrites(ns);
    await waitForPasses(operator, logMark(operator), ns, ['payments'], 2);
    expect(kube.topicWrites(ns)).toBe(writesBefore);
    expect((await kube.events(ns, 'payments')).filter((event) => event.reason === 'PartitionDecreaseNotSupported')).toHaveLength(1);

    await kube.patchTopic(ns, 'payments', { spec: { partitions: 3 } });
    await kube.waitForReady(ns, 'payments', 'True', 'Reconciled');
  });

  it('reverts drift of what the Topic declares on resync, and leaves undeclared configs alone', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'drift', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1, config: { 'retention.ms': '60000' } });
    await kube.waitForReady(ns, 'drift', 'True', 'Reconciled');
    // What `starlane topics alter-config` would send, behind the operator's back.
    await admin.setConfig('drift', 'retention.ms', '999999');
    await admin.setConfig('drift', 'segment.ms', '777777');
    await waitUntil('the declared config set back', async () => (await admin.overrides('drift'))['retention.ms'] === '60000', 30_000);
    expect(await admin.overrides('drift')).toEqual({ 'retention.ms': '60000', 'segment.ms': '777777' });
  });

  it('changes the replication factor through a partition reassignment', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'replicated', { clusterRef: { name: 'main' }, partitions: 2, replicationFactor: 1 });
    await kube.waitForReady(ns, 'replicated', 'True', 'Reconciled');
    await kube.patchTopic(ns, 'replicated', { spec: { replicationFactor: 2 } });
    const done = await waitUntil('replication factor 2', async () => {
      const topic = await kube.waitForReady(ns, 'replicated', 'True', 'Reconciled');
      return topic.status?.['replicationFactor'] === 2 ? topic : undefined;
    }, 90_000);
    expect(done.status).toMatchObject({ replicationFactor: 2, observedGeneration: 2 });
    expect((await admin.describe('replicated'))?.partitions.map((partition) => partition.replicas.length)).toEqual([2, 2]);
  });

  it('refuses bad input with a clear reason and one Warning event, without crashing or retrying in a loop', async () => {
    const ns = await namespace();
    // What the CRD schema rejects never reaches the operator: the API server answers 422.
    const zero = await kube.call('POST', kube.topicPath(ns), { apiVersion: 'starlane.dev/v1alpha1', kind: 'Topic', metadata: { name: 'zero' }, spec: { clusterRef: { name: 'main' }, partitions: 0 } });
    expect(zero.status).toBe(422);
    const badName = await kube.call('POST', kube.topicPath(ns), { apiVersion: 'starlane.dev/v1alpha1', kind: 'Topic', metadata: { name: 'bad' }, spec: { clusterRef: { name: 'main' }, topicName: 'no spaces!', partitions: 1 } });
    expect(badName.status).toBe(422);

    // What passes admission and Starlane refuses: the operator says why.
    const cases: { name: string; spec: Record<string, unknown>; reason: string; says: RegExp }[] = [
      { name: 'dots', spec: { topicName: '..', partitions: 1 }, reason: 'InvalidTopicName', says: /spec.topicName/ },
      { name: 'unknown-config', spec: { partitions: 1, config: { 'no.such.config': '1' } }, reason: 'InvalidConfig', says: /no.such.config/ },
      { name: 'bad-value', spec: { partitions: 1, config: { 'retention.ms': 'forever' } }, reason: 'InvalidConfig', says: /retention.ms/ },
      { name: 'too-many-replicas', spec: { partitions: 1, replicationFactor: 5 }, reason: 'ReplicationFactorTooLarge', says: /lower it or add nodes/ },
    ];
    for (const bad of cases) await kube.applyTopic(ns, bad.name, { clusterRef: { name: 'main' }, ...bad.spec });
    for (const bad of cases) {
      const topic = await kube.waitForReady(ns, bad.name, 'False', bad.reason);
      expect(readyOf(topic)?.message).toMatch(bad.says);
    }
    await waitUntil('one Warning event per refused Topic', async () => {
      const events = await kube.events(ns);
      return cases.every((bad) => events.some((event) => event.involvedObject.name === bad.name && event.reason === bad.reason && event.type === 'Warning'));
    }, 30_000);
    const writesBefore = kube.topicWrites(ns);
    await waitForPasses(operator, logMark(operator), ns, cases.map((bad) => bad.name), 2);
    expect(kube.topicWrites(ns)).toBe(writesBefore);
    const events = await kube.events(ns);
    for (const bad of cases) expect(events.filter((event) => event.involvedObject.name === bad.name && event.reason === bad.reason)).toHaveLength(1);
    expect(operator.child.exitCode).toBeNull();
    for (const bad of cases) expect(await admin.describe(bad.name === 'dots' ? '..' : bad.name)).toBeUndefined();
  });

  it('lets the older of two Topics that claim one topic name manage it, and refuses the other', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'claim-a', { clusterRef: { name: 'main' }, topicName: 'claimed', partitions: 1, replicationFactor: 1, config: { 'retention.ms': '60000' } });
    await kube.waitForReady(ns, 'claim-a', 'True', 'Reconciled');
    await kube.applyTopic(ns, 'claim-b', { clusterRef: { name: 'main' }, topicName: 'claimed', partitions: 1, replicationFactor: 1, config: { 'retention.ms': '120000' } });
    const refused = await kube.waitForReady(ns, 'claim-b', 'False', 'TopicNameConflict');
    expect(readyOf(refused)?.message).toMatch(/claim-a already manages topic "claimed"/);
    // Both were looked at again (a resync), and the refused one changed nothing.
    await waitForPasses(operator, logMark(operator), ns, ['claim-a', 'claim-b'], 1);
    expect(await admin.overrides('claimed')).toEqual({ 'retention.ms': '60000' });
    // Deleting the refused one leaves the topic to the older one.
    await kube.deleteTopic(ns, 'claim-b');
    await kube.waitForGone(ns, 'claim-b');
    expect(await admin.describe('claimed')).toBeDefined();
    expect(readyOf(await kube.getTopic(ns, 'claim-a'))).toMatchObject({ status: 'True', reason: 'Reconciled' });
  });

  it('pauses reconciliation of one Topic while it carries the pause annotation', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'paused', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'paused', 'True', 'Reconciled');
    await kube.patchTopic(ns, 'paused', { metadata: { annotations: { 'starlane.dev/paused': 'true' } }, spec: { partitions: 2 } });
    await waitUntil('the paused condition', async () => (await kube.getTopic(ns, 'paused'))?.status?.conditions?.find((c) => c.type === 'ReconciliationPaused' && c.status === 'True'), 30_000);
    // Passes of the paused Topic provably ran after it was paused, and added no partition.
    await waitForPasses(operator, logMark(operator), ns, ['paused'], 2);
    expect((await admin.describe('paused'))?.partitions).toHaveLength(1);
    await kube.patchTopic(ns, 'paused', { metadata: { annotations: { 'starlane.dev/paused': null } } });
    await waitUntil('2 partitions once resumed', async () => (await admin.describe('paused'))?.partitions.length === 2, 30_000);
    const resumed = await kube.waitForReady(ns, 'paused', 'True', 'Reconciled');
    expect(resumed.status?.conditions?.some((c) => c.type === 'ReconciliationPaused')).toBe(false);
  });
});

describe('operator: Topic deletion', () => {
  it('deletes the topic of a Topic with deletionPolicy Delete and keeps the one of a Topic with Retain', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'gone-with-it', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1, deletionPolicy: 'Delete' });
    await kube.applyTopic(ns, 'kept', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1, deletionPolicy: 'Retain' });
    await kube.waitForReady(ns, 'gone-with-it', 'True', 'Reconciled');
    await kube.waitForReady(ns, 'kept', 'True', 'Reconciled');
    await kube.deleteTopic(ns, 'gone-with-it');
    await kube.deleteTopic(ns, 'kept');
    await kube.waitForGone(ns, 'gone-with-it');
    await kube.waitForGone(ns, 'kept');
    await waitUntil('the topic deleted', async () => (await admin.describe('gone-with-it')) === undefined, 30_000);
    expect(await admin.describe('kept')).toBeDefined();
    const events = await kube.events(ns);
    expect(events.find((event) => event.involvedObject.name === 'gone-with-it' && event.reason === 'TopicDeleted')).toBeDefined();
    expect(events.find((event) => event.involvedObject.name === 'kept' && event.reason === 'TopicRetained')).toBeDefined();
  });

  it('releases the finalizer with a Warning event when the Cluster resource is gone, so the Topic can still be deleted', async () => {
    const ns = await namespace();
    await kube.applyTopic(ns, 'orphan', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'orphan', 'True', 'Reconciled');
    await kube.request('DELETE', kube.clusterPath(ns, 'main'));
    await kube.deleteTopic(ns, 'orphan');
    await kube.waitForGone(ns, 'orphan');
    const released = (await kube.events(ns, 'orphan')).find((event) => event.reason === 'FinalizerReleased');
    expect(released).toMatchObject({ type: 'Warning', message: expect.stringMatching(/was not deleted/) });
    // The topic itself was not touched: nobody could ask the cluster.
    expect(await admin.describe('orphan')).toBeDefined();
  });

  it('retries an unreachable cluster with back-off, and releases the finalizer of a deleted Topic once it has been unreachable too long', async () => {
    const ns = await namespace();
    // A Cluster whose address answers nothing.
    await kube.request('POST', kube.clusterPath(ns), { apiVersion: 'starlane.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'dead', namespace: ns }, spec: { storageNodes: { replicas: 1 } } });
    await kube.request('PATCH', `${kube.clusterPath(ns, 'dead')}/status`, { status: { gatewayAddress: '127.0.0.1:1' } }, 'application/merge-patch+json');
    await kube.applyTopic(ns, 'stranded', { clusterRef: { name: 'dead' }, partitions: 1, replicationFactor: 1 });
    const waiting = await kube.waitForReady(ns, 'stranded', 'False', 'ClusterUnreachable');
    expect(readyOf(waiting)?.message).toMatch(/retrying with back-off/);
    await kube.deleteTopic(ns, 'stranded');
    await kube.waitForGone(ns, 'stranded', 60_000);
    const released = (await kube.events(ns, 'stranded')).find((event) => event.reason === 'FinalizerReleased');
    expect(released).toMatchObject({ type: 'Warning', message: expect.stringMatching(/was not deleted/) });
  });
});
