/**
 * Controller failover with the etcd metadata store: three controllers, a storage node and a
 * gateway; the active controller is SIGKILLed and a standby takes over within seconds, while
 * the storage node stays in the cluster and the gateway keeps serving, admin calls included.
 */
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import { call, type PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed, readPartition, sameKeyRecords, type KeyedRecord } from './workload';

jest.setTimeout(120_000);

const leaseTtlMs = 1000;
/** From the crash to a standby serving: the lease TTL, etcd's 500 ms expiry check, a metadata load, and slack. */
const failoverMsMax = leaseTtlMs + 4000;

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 1, controllers: 3, metadataStore: 'etcd', controllerArgs: [`--controller-lease-ttl-ms=${leaseTtlMs}`] }));
});

afterAll(() => stopWithClients({ cluster, clients }));

const records = (prefix: string, count: number): KeyedRecord[] => sameKeyRecords(0, count, prefix);

async function produce(topic: string, values: { key: string; value: string }[]): Promise<void> {
  await produceKeyed(clients, topic, values, { recordsPerRequest: 5, inflightMax: 2, acks: v1.Acks.ALL });
}

describe('controller failover over etcd', () => {
  it('a standby takes over within seconds of a crash, and the storage node and the gateway carry on with it', async () => {
    await createTopic(clients, 'before', 1);
    await cluster.waitForLeaders('before');
    await produce('before', records('before', 10));
    const crashed = await cluster.waitForActiveController();
    const epochBefore = cluster.metadata().current().controller?.controllerEpoch ?? 0;

    const crashedAt = performance.now();
    await cluster.kill(crashed, 'SIGKILL');
    const successor = await cluster.waitForActiveController((name) => name !== crashed, failoverMsMax);
    expect(performance.now() - crashedAt).toBeLessThan(failoverMsMax);
    expect(cluster.controllerNames).toContain(successor);
    expect(cluster.metadata().current().controller?.controllerEpoch).toBeGreaterThan(epochBefore);

    // The storage node stays in the cluster: active and leading under the new controller, its
    // heartbeats redirected there.
    await cluster.waitForActiveNodes(1, failoverMsMax);
    await cluster.waitForLeaders('before', failoverMsMax);

    // The gateway forwards admin calls to the new active controller and routes by its metadata.
    await createTopic(clients, 'after', 2);
    await cluster.waitForLeaders('after', failoverMsMax);
    const listed = await call(clients.admin, clients.admin.listTopics, { includeInternal: false, pageSize: 0, pageToken: '' });
    expect(listed.topics.map((topic) => topic.name).sort()).toEqual(['after', 'before']);
    await produce('after', records('after', 10));
    await produce('before', records('again', 5));
    const after = (await readPartition(clients, 'after', 0, { deadlineMs: 10_000 })).concat(await readPartition(clients, 'after', 1, { deadlineMs: 10_000 }));
    expect(after.map((record) => record.value)).toEqual(records('after', 10).map((record) => record.value));
    const before = await readPartition(clients, 'before', 0, { deadlineMs: 10_000 });
    expect(before.map((record) => record.value)).toEqual([...records('before', 10), ...records('again', 5)].map((record) => record.value));

    // The crashed controller comes back as a standby.
    await cluster.start(crashed);
    expect(await cluster.waitForActiveController()).toBe(successor);
  });
});
