/**
 * Replication through real processes: a controller, three storage nodes and a gateway. A
 * topic with replication factor 3 and min.insync.replicas 2 takes acks=all writes; the
 * partition leader is SIGKILLed; a follower takes over with every acknowledged record, in
 * order, and writes go on; the old leader comes back as a follower and catches up.
 */
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import type { PublicClients } from './clients';
import { quickFailureSettings, startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed, readPartition, sameKeyRecords as records, type StoredRecord } from './workload';

jest.setTimeout(120_000);

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 3, ...quickFailureSettings }));
});

afterAll(() => stopWithClients({ cluster, clients }));

/** Reads partition 0 until it holds `count` records (a new leader's high watermark catches up as followers fetch). */
async function readAtLeast(topic: string, count: number): Promise<StoredRecord[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const read = await readPartition(clients, topic, 0, { deadlineMs: 30_000 });
    if (read.length >= count || Date.now() > deadline) return read;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('keeps every acks=all write across a SIGKILL of the leader, and the old leader catches up as a follower', async () => {
  const topic = 'replicated';
  await createTopic(clients, topic, 1, { 'min.insync.replicas': '2' }, 3);
  const before = await cluster.waitForLeaders(topic);
  const first = before.topics.get(topic)?.partitions[0];
  expect(first?.replicas).toHaveLength(3);
  expect(first?.isr).toHaveLength(3);
  const oldLeader = first?.leader ?? -1;

  await produceKeyed(clients, topic, records(0, 300), { recordsPerRequest: 10, inflightMax: 4, acks: v1.Acks.ALL });
  await cluster.kill(`storage-node-${oldLeader}`, 'SIGKILL');
  const after = await cluster.metadata().waitFor((image) => {
    const state = image.topics.get(topic)?.partitions[0];
    return state !== undefined && state.leader >= 0 && state.leader !== oldLeader;
  }, 30_000);
  const moved = after?.topics.get(topic)?.partitions[0];
  expect(moved?.leaderEpoch).toBeGreaterThan(first?.leaderEpoch ?? 0);
  expect(moved?.isr).not.toContain(oldLeader);

  const survived = await readAtLeast(topic, 300);
  expect(survived.map((record) => record.value)).toEqual(records(0, 300).map((record) => record.value));
  expect(survived.map((record) => record.offset)).toEqual(survived.map((_, index) => BigInt(index)));

  // Two in-sync replicas are still min.insync.replicas: acks=all goes on.
  await produceKeyed(clients, topic, records(300, 100), { recordsPerRequest: 10, inflightMax: 4, acks: v1.Acks.ALL });

  // The old leader returns, truncates what it may hold beyond the new leader's log, and follows.
  await cluster.start(`storage-node-${oldLeader}`);
  await produceKeyed(clients, topic, records(400, 50), { recordsPerRequest: 10, inflightMax: 4, acks: v1.Acks.ALL });
  const all = await readAtLeast(topic, 450);
  expect(all.map((record) => record.value)).toEqual(records(0, 450).map((record) => record.value));
});
