/**
 * The operator as real processes when things go wrong: killed in the middle of a pass, two
 * replicas electing a leader on a Lease, and an API server that closes watches, expires
 * resourceVersions and answers 409 and 500. One Starlane cluster serves the file; each test
 * watches a namespace of its own and elects on a Lease of its own.
 */
import type { RequestRecord } from '@starlane/kube-api';
import { backoffMs } from '@starlane/model';
import { killAll, metricValue, scrapeMetrics, startCluster, waitUntil, type AppProcess, type TestCluster } from '@starlane/testing';
import { informerRestartBackoff } from './informer';
import { Admin, KubeHarness, fastOperatorEnv, isLeader, operatorMetric, startOperator } from './test/harness';

jest.setTimeout(240_000);

let kube: KubeHarness;
let cluster: TestCluster;
let admin: Admin;
let namespaceCount = 0;

const leaseDurationMs = Number(fastOperatorEnv['STARLANE_LEASE_DURATION_MS']);
const retryPeriodMs = Number(fastOperatorEnv['STARLANE_RETRY_PERIOD_MS']);
/** Room for process scheduling on a busy machine (two cores shared), on top of what the election rules allow. */
const schedulingMarginMs = 1_000;

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

/** The API server's request log after `mark` (the last record when it was taken; records are kept by reference). */
function requestsSince(mark: RequestRecord | undefined): RequestRecord[] {
  const all = kube.server.requests();
  return all.slice(mark === undefined ? 0 : all.indexOf(mark) + 1);
}

function lastRequest(): RequestRecord | undefined {
  return kube.server.requests().at(-1);
}

/** Reconcile passes and resyncs (every Topic queued again), read in one scrape so they agree. */
async function passCounts(operator: AppProcess): Promise<{ reconciles: number; resyncs: number }> {
  const page = await scrapeMetrics((await operator.ready).metricsAddress);
  return { reconciles: metricValue(page, 'starlane_operator_reconciles_total', {}) ?? 0, resyncs: metricValue(page, 'starlane_operator_resyncs_total', {}) ?? 0 };
}

/** The `time` of the first log line of `event`, in ms. */
function loggedAtMs(operator: AppProcess, event: string): number | undefined {
  const line = operator.stdoutLines().find((text) => text.includes(`"event":${JSON.stringify(event)}`));
  return line === undefined ? undefined : Date.parse((JSON.parse(line) as { time: string }).time);
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

    expect(loggedAtMs(b, 'leading')).toBeUndefined();
    const killedAtMs = Date.now();
    await a.stop('SIGKILL');
    const leases = (await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`)) as { items: { spec: { holderIdentity: string; renewTime: string } }[] };
    expect(leases.items).toHaveLength(1);
    expect(leases.items[0]?.spec.holderIdentity).toBe(a.name);
    const renewedAtMs = Date.parse(leases.items[0]?.spec.renewTime ?? '');
    const leadingAtMs = await waitUntil('b leads', () => loggedAtMs(b, 'leading'), 60_000, 20);
    // Not before the lease could expire: b first saw a's last renewal no earlier than its renewTime, and waits a lease
    // duration from then (by its own clock, client-go's rule).
    expect(leadingAtMs).toBeGreaterThanOrEqual(renewedAtMs + leaseDurationMs);
    // Within the lease time: a's last renewal was at most at the kill; b saw it within a retry period and takes over
    // a lease duration later, on a retry tick. The margin is for process scheduling on a busy machine.
    const takeoverMs = leadingAtMs - killedAtMs;
    expect(takeoverMs).toBeLessThanOrEqual(leaseDurationMs + retryPeriodMs + schedulingMarginMs);
    expect(await isLeader(b)).toBe(true);
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
    const passesBefore = await passCounts(operator);
    const mark = lastRequest();
    await kube.applyTopic(ns, 'waits', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    // Three more election rounds provably ran (each a refused renewal), and none of them let it reconcile.
    const leaseWrites = (): number => requestsSince(mark).filter((r) => r.method === 'PUT' && r.path.includes(`/namespaces/${ns}/leases/`)).length;
    await waitUntil('three more Lease renewal attempts', () => leaseWrites() >= 3, 30_000);
    expect(actions(operator)).toBe(0);
    expect(await passCounts(operator)).toEqual(passesBefore);
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
    const windowStart = await passCounts(operator);
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
    // No hot loop while the faults lasted: per Topic, a few passes to create it and see its own writes, one for each
    // resync or new lead and each relist (each queues every Topic again), and one per injected write failure.
    const windowEnd = await passCounts(operator);
    const injectedWriteFailures = 3 + 3;
    expect(windowEnd.reconciles - windowStart.reconciles).toBeLessThanOrEqual(names.length * (6 + (windowEnd.resyncs - windowStart.resyncs) + lists) + injectedWriteFailures);

    // Converged: two resyncs look at every Topic again (the passes provably ran) and write nothing; one pass per Topic per resync.
    const before = await passCounts(operator);
    await waitUntil('two resyncs with a pass of every Topic each', async () => {
      const now = await passCounts(operator);
      return now.resyncs - before.resyncs >= 2 && now.reconciles - before.reconciles >= 2 * names.length;
    }, 60_000);
    const after = await passCounts(operator);
    expect(kube.topicWrites(ns)).toBe(writes);
    expect(after.reconciles - before.reconciles).toBeLessThanOrEqual(names.length * (after.resyncs - before.resyncs + 1));
    expect(await operatorMetric(operator, 'starlane_operator_informer_restarts_total')).toBeGreaterThan(0);
    await operator.stop('SIGTERM');
  });

  it('relists after the API server expired the resourceVersion of its watch (410 Gone), and sees what changed meanwhile', async () => {
    const { ns, env } = await scope();
    const operator = startOperator(kube, env);
    await operator.ready;
    await waitUntil('the operator leads', () => isLeader(operator), 30_000);
    await kube.applyTopic(ns, 'expiring', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'expiring', 'True', 'Reconciled');
    const topics = `/namespaces/${ns}/topics`;
    // A write the Topic watch does not see, then a compaction: the watch's resourceVersion is older than the history kept.
    await kube.createNamespace(`${ns}-elsewhere`);
    const mark = lastRequest();
    const { store, faults } = kube.server;
    store.compact();
    const compactedRv = store.resourceVersion;
    expect(faults.closeWatches({ path: topics })).toBe(1);
    await kube.patchTopic(ns, 'expiring', { spec: { partitions: 2 } });
    await waitUntil('2 partitions', async () => (await admin.describe('expiring'))?.partitions.length === 2, 60_000);
    const topic = await kube.waitForReady(ns, 'expiring', 'True', 'Reconciled');
    expect(topic.status).toMatchObject({ partitions: 2, observedGeneration: 2 });

    // From the request log: a watch from the expired resourceVersion (answered 410), then a LIST, then a watch from
    // the list's resourceVersion, with no restart after an error (client-node relists on 410 by itself).
    const reads = requestsSince(mark).filter((r) => r.method === 'GET' && r.path.endsWith(topics));
    const rvOf = (r: RequestRecord): number => Number(new URLSearchParams(r.query).get('resourceVersion') ?? Number.NaN);
    const expired = reads.findIndex((r) => r.watch && rvOf(r) < compactedRv);
    expect(expired).toBeGreaterThanOrEqual(0);
    const relist = reads.findIndex((r, index) => index > expired && !r.watch);
    expect(relist).toBeGreaterThan(expired);
    const resumed = reads.findIndex((r, index) => index > relist && r.watch && rvOf(r) >= compactedRv);
    expect(resumed).toBeGreaterThan(relist);
    await operator.stop('SIGTERM');
  });

  it('backs off a watch the API server keeps refusing, instead of retrying in a loop (client-node #1933)', async () => {
    const { ns, env } = await scope();
    const operator = startOperator(kube, env);
    await operator.ready;
    await waitUntil('caches filled and the operator leading', () => isLeader(operator), 30_000);
    const topics = `/namespaces/${ns}/topics`;
    const isWatch = (r: { path: string; watch: boolean }): boolean => r.watch && r.path.endsWith(topics);
    const isRestart = (line: string): boolean => line.includes('"event":"informer-restart"') && line.includes('"resource":"topics"');
    expect(operator.stdoutLines().filter(isRestart)).toEqual([]);
    kube.server.faults.failNext(500, 100_000, { watch: true, path: topics });
    const mark = lastRequest();
    const closedAtMs = performance.now();
    expect(kube.server.faults.closeWatches({ path: topics })).toBe(1);
    const attemptsWanted = 5;
    await waitUntil(`${attemptsWanted} watch attempts`, () => requestsSince(mark).filter(isWatch).length >= attemptsWanted, 60_000, 20);
    const elapsedMs = performance.now() - closedAtMs;
    const attempts = requestsSince(mark).filter(isWatch).length;
    // Every attempt after the first was scheduled by a restart that doubled its delay from 200 ms (backoffMs): a count,
    // not a rate. And the attempts cannot have come sooner than those delays allow: a loop would make them at once.
    const delays = operator.stdoutLines().filter(isRestart).map((line) => (JSON.parse(line) as { delayMs: number }).delayMs);
    expect(attempts).toBeLessThanOrEqual(delays.length + 1);
    expect(delays.slice(0, attemptsWanted - 1)).toEqual([0, 1, 2, 3].map((failures) => backoffMs(failures, informerRestartBackoff)));
    let earliestMs = 0;
    for (let failures = 0; failures < attempts - 1; failures += 1) earliestMs += backoffMs(failures, informerRestartBackoff);
    expect(elapsedMs).toBeGreaterThanOrEqual(earliestMs);
    kube.server.faults.clear();
    await kube.applyTopic(ns, 'after', { clusterRef: { name: 'main' }, partitions: 1, replicationFactor: 1 });
    await kube.waitForReady(ns, 'after', 'True', 'Reconciled', 60_000);
    await operator.stop('SIGTERM');
  });
});
