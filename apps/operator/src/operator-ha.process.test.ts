/**
 * The operator as real processes when things go wrong: killed in the middle of a pass, two
 * replicas electing a leader on a Lease, and an API server that closes watches, expires
 * resourceVersions and answers 409 and 500. One Starlane cluster serves the file; each test
 * watches a namespace of its own and elects on a Lease of its own.
 */
import { killAll, startCluster, waitUntil, type AppProcess, type TestCluster } from '@starlane/testing';
import { Admin, KubeHarness, fastOperatorEnv, isLeader, operatorMetric, startOperator } from './test/harness';

jest.setTimeout(240_000);

let kube: KubeHarness;
let cluster: TestCluster;
let admin: Admin;
let namespaceCount = 0;

const leaseDurationMs = Number(fastOperatorEnv['STARLANE_LEASE_DURATION_MS']);
const resyncPeriodMs = Number(fastOperatorEnv['STARLANE_RESYNC_PERIOD_MS']);

/** A namespace with a Cluster `main`, and the env of operators that watch only it and elect on a Lease of its own. */
async function scope(): Promise<{ ns: string; env: Record<string, string> }> {
  namespaceCount += 1;
  const ns = `ha${namespaceCount}`;
  await kube.createNamespace(ns);
  await kube.createCluster(ns, 'main', cluster, 2);
  return { ns, env: { STARLANE_WATCH_NAMESPACES: ns, STARLANE_LEASE_NAMESPACE: ns } };
}

/** Whether the operator's log shows it ran an admin action (only a leader does). */
function actions(operator: AppProcess): number {
  return operator.stdoutLines().filter((line) => line.includes('"event":"action"')).length;
}

beforeAll(async () => {
  [kube, cluster] = await Promise.all([KubeHarness.start(), startCluster({ storageNodes: 2 })]);
  admin = new Admin(cluster.gatewayAddress);
});

// A test that fails must not leave its faults armed for the next one.
afterEach(() => kube.server.faults.clear());

afterAll(async () => {
  admin?.close();
  await killAll();
  await cluster?.stop();
  await kube?.close();
});

describe('operator: crashes and leader election', () => {
  it('converges after being SIGKILLed in the middle of a pass, once a new operator takes over', async () => {
    const { ns, env } = await scope();
    const first = startOperator(kube, env);
    await first.ready;
    await waitUntil('the first operator leads', () => isLeader(first), 30_000);
    // Hold the status write that follows the topic's creation, and kill the operator while it waits.
    kube.server.faults.delayNext(10_000, 1, { method: 'PATCH', path: `/namespaces/${ns}/topics/crash/status` });
    await kube.applyTopic(ns, 'crash', { clusterRef: { name: 'main' }, topicName: 'crash_topic', partitions: 2, replicationFactor: 2 });
    await waitUntil('the topic created', async () => (await admin.describe('crash_topic')) !== undefined, 30_000);
    expect((await kube.getTopic(ns, 'crash'))?.status?.['topicId']).toBeUndefined();
    await first.stop('SIGKILL');

    const second = startOperator(kube, env);
    const topic = await kube.waitForReady(ns, 'crash', 'True', 'Reconciled', 60_000);
    expect(topic.status?.['topicId']).toBe((await admin.describe('crash_topic'))?.topicId);
    expect((await admin.describe('crash_topic'))?.partitions).toHaveLength(2);
    await second.stop('SIGTERM');
  });

  it('lets one of two operators reconcile, and the other take over within the lease time after the first is SIGKILLed', async () => {
    const { ns, env } = await scope();
    const a = startOperator(kube, env);
    await a.ready;
    await waitUntil('a leads', () => isLeader(a), 30_000);
    const b = startOperator(kube, env);
    await b.ready;
    await kube.applyTopic(ns, 'one', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'one', 'True', 'Reconciled');
    expect(await isLeader(b)).toBe(false);
    expect(actions(a)).toBeGreaterThan(0);
    expect(actions(b)).toBe(0);

    await a.stop('SIGKILL');
    // A standby takes over once it has seen the Lease unchanged for the lease duration (plus a retry period to notice).
    await waitUntil('b leads', () => isLeader(b), leaseDurationMs + 4 * Number(fastOperatorEnv['STARLANE_RETRY_PERIOD_MS']) + 2_000, 50);
    await kube.applyTopic(ns, 'two', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'two', 'True', 'Reconciled');
    expect(actions(b)).toBeGreaterThan(0);
    await b.stop('SIGTERM');
  });

  it('stops reconciling as soon as it cannot renew the Lease, and resumes once it can', async () => {
    const { ns, env } = await scope();
    const operator = startOperator(kube, env);
    await operator.ready;
    await waitUntil('the operator leads', () => isLeader(operator), 30_000);
    kube.server.faults.failNext(500, 100_000, { method: 'PUT', path: `/namespaces/${ns}/leases/` });
    // Within the renew deadline (plus a retry period and room for a busy machine) it stops leading.
    await waitUntil('the operator stops leading', async () => !(await isLeader(operator)), Number(fastOperatorEnv['STARLANE_RENEW_DEADLINE_MS']) + 3_000, 50);
    expect(operator.stdoutLines().some((line) => line.includes('"event":"not-leading"'))).toBe(true);
    await kube.applyTopic(ns, 'waits', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await new Promise((resolve) => setTimeout(resolve, resyncPeriodMs));
    expect(actions(operator)).toBe(0);
    expect((await kube.getTopic(ns, 'waits'))?.status).toBeUndefined();
    kube.server.faults.clear();
    await waitUntil('the operator leads again', () => isLeader(operator), 30_000);
    await kube.waitForReady(ns, 'waits', 'True', 'Reconciled');
    await operator.stop('SIGTERM');
  });

  it('gives the Lease up on SIGTERM, so a standby takes over without waiting for it to expire', async () => {
    const { env } = await scope();
    // A lease far longer than the wait below: only a released Lease can be taken over in time.
    const slow = { ...env, STARLANE_LEASE_DURATION_MS: '60000', STARLANE_RENEW_DEADLINE_MS: '40000' };
    const a = startOperator(kube, slow);
    await a.ready;
    await waitUntil('a leads', () => isLeader(a), 30_000);
    const b = startOperator(kube, slow);
    await b.ready;
    await waitUntil('b has looked at the Lease', () => b.stdoutLines().some((line) => line.includes('"event":"caches-synced"')), 30_000);
    const stopped = await a.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(a.stdoutLines().some((line) => line.includes('"event":"lease-released"'))).toBe(true);
    await waitUntil('b leads', () => isLeader(b), 20_000);
    await b.stop('SIGTERM');
  });
});

describe('operator: a faulty API server', () => {
  it('converges through closed watches, 410s, 409s and 500s, without a hot loop', async () => {
    const { ns, env } = await scope();
    const operator = startOperator(kube, env);
    await operator.ready;
    await waitUntil('the operator leads', () => isLeader(operator), 30_000);
    const topics = `/namespaces/${ns}/topics`;
    // Lists of the collection only (the test's own reads of single Topics are not the operator's).
    const isList = (r: { method: string; path: string; watch: boolean }): boolean => r.method === 'GET' && !r.watch && r.path.endsWith(topics);
    const listsBefore = kube.server.requests(isList).length;
    const { faults } = kube.server;
    faults.failNext(410, 2, { watch: true, path: topics });
    faults.failNext(500, 2, { watch: true, path: topics });
    faults.failNext(500, 1, { method: 'GET', watch: false, path: topics });
    faults.failNext(409, 3, { method: 'PATCH', path: topics });
    faults.failNext(500, 3, { method: 'PATCH', path: topics });
    // The Lease too: a 409 (another writer won) costs the lead until the next round, a 500 nothing before the renew deadline.
    faults.failNext(409, 1, { method: 'PUT', path: `/namespaces/${ns}/leases/` });
    faults.failNext(500, 1, { method: 'PUT', path: `/namespaces/${ns}/leases/` });
    expect(faults.closeWatches({ path: topics })).toBeGreaterThan(0);
    const names = ['f1', 'f2', 'f3', 'f4', 'f5'];
    for (const name of names) await kube.applyTopic(ns, name, { clusterRef: { name: 'main' }, partitions: 2, replicationFactor: 1, config: { 'retention.ms': '60000' } });
    faults.closeWatches({ path: topics });
    for (const name of names) await kube.waitForReady(ns, name, 'True', 'Reconciled', 90_000);
    for (const name of names) expect(await admin.overrides(name)).toEqual({ 'retention.ms': '60000' });
    await waitUntil('every injected fault served', () => faults.pendingFailures() === 0, 30_000);
    await waitUntil('the operator leads again', () => isLeader(operator), 30_000);

    // It relisted after the 410s and the failed watches, and not without end.
    const lists = kube.server.requests(isList).length - listsBefore;
    expect(lists).toBeGreaterThan(0);
    expect(lists).toBeLessThan(10);
    // Writes per Topic: finalizer, status while creating, Ready, and the retried ones; never a storm.
    const writes = kube.topicWrites(ns);
    expect(writes).toBeLessThan(names.length * 6 + 10);

    // Converged: resyncs look at every Topic again and write nothing.
    const reconcilesBefore = await operatorMetric(operator, 'starlane_operator_reconciles_total');
    await new Promise((resolve) => setTimeout(resolve, 3 * resyncPeriodMs));
    expect(kube.topicWrites(ns)).toBe(writes);
    const reconciles = (await operatorMetric(operator, 'starlane_operator_reconciles_total')) - reconcilesBefore;
    expect(reconciles).toBeGreaterThanOrEqual(names.length);
    expect(reconciles).toBeLessThanOrEqual(names.length * 5);
    expect(await operatorMetric(operator, 'starlane_operator_informer_restarts_total')).toBeGreaterThan(0);
    await operator.stop('SIGTERM');
  });

  it('backs off a watch the API server keeps refusing, instead of retrying in a loop (client-node #1933)', async () => {
    const { ns, env } = await scope();
    const operator = startOperator(kube, env);
    await operator.ready;
    await waitUntil('caches filled and the operator leading', () => isLeader(operator), 30_000);
    const topics = `/namespaces/${ns}/topics`;
    const isWatch = (r: { path: string; watch: boolean }): boolean => r.watch && r.path.endsWith(topics);
    kube.server.faults.failNext(500, 100_000, { watch: true, path: topics });
    const before = kube.server.requests(isWatch).length;
    expect(kube.server.faults.closeWatches({ path: topics })).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Back-off from 200 ms doubling: 200 + 400 + 800 + 1600 ms fill 3 s, so about five attempts, not hundreds.
    const attempts = kube.server.requests(isWatch).length - before;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(8);
    kube.server.faults.clear();
    await kube.applyTopic(ns, 'after', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'after', 'True', 'Reconciled', 60_000);
    await operator.stop('SIGTERM');
  });
});
