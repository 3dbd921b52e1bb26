/**
 * Partition reassignment under load, through real processes: a partition on nodes {1,2,3}
 * moves to {2,3,4} while an acks=all producer keeps writing. The new replica catches up and
 * joins the ISR, the controller switches the replica set, node 1 drops its copy, and nothing
 * acknowledged is lost, duplicated or invented. A WatchReassignments stream through the gateway
 * follows another move from in progress to completed.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import { Producer, type Ack } from './producer';
import { call, type PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { readPartition } from './workload';

jest.setTimeout(120_000);

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({
    storageNodes: 4,
    controllerArgs: ['--node-heartbeat-interval-ms=250', '--node-session-timeout-ms=2000'],
    storageNodeArgs: ['--replica-lag-time-max-ms=2000'],
  }));
});

afterAll(() => stopWithClients({ cluster, clients }));

/** Partition directories of `topic` under a storage node's data directory. */
async function partitionDirs(nodeId: number, topic: string): Promise<string[]> {
  const root = join(cluster.dataDir, `storage-node-${nodeId}`, 'partitions');
  try {
    await access(root);
  } catch {
    return [];
  }
  return (await readdir(root)).filter((name) => name.startsWith(`${topic}-0.`));
}

it('moves a partition from {1,2,3} to {2,3,4} while acks=all writes go on, losing nothing', async () => {
  const topic = 'moving';
  const created = await call(clients.admin, clients.admin.createTopics, {
    topics: [{ name: topic, partitionCount: -1, replicationFactor: -1, replicaAssignments: [{ partition: 0, replicas: [1, 2, 3] }], configs: { 'min.insync.replicas': '2' } }],
    validateOnly: false,
    timeoutMs: 10_000,
  });
  expect(created.results[0]?.errorCode).toBe(v1.ErrorCode.NONE);
  await cluster.waitForLeaders(topic);
  // Leaders are in the metadata before every replica has opened its log (and made its directory).
  for (let attempt = 0; attempt < 100 && (await partitionDirs(1, topic)).length === 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await partitionDirs(1, topic)).toHaveLength(1);

  const acks: Ack[] = [];
  const producer = new Producer(clients, 0, 5, acks, topic);
  const running = producer.run();
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const answer = await call(clients.admin, clients.admin.reassignPartitions, { partitions: [{ topic, partition: 0, targetReplicas: [2, 3, 4], cancel: false }], validateOnly: false, timeoutMs: 10_000 });
  expect(answer.results.map((result) => result.errorCode)).toEqual([v1.ErrorCode.NONE]);
  const moved = await cluster.metadata().waitFor((image) => {
    const state = image.topics.get(topic)?.partitions[0];
    return state !== undefined && state.replicas.join(',') === '2,3,4' && state.addingReplicas.length === 0 && state.removingReplicas.length === 0 && state.leader >= 0;
  }, 60_000);
  const state = moved?.topics.get(topic)?.partitions[0];
  expect(state?.replicas).toEqual([2, 3, 4]);
  expect(state?.isr.every((id) => [2, 3, 4].includes(id))).toBe(true);
  expect((await call(clients.admin, clients.admin.listReassignments, { partitions: [] })).reassignments).toEqual([]);

  // Writes go on against the new replica set.
  const ackedAtMove = acks.length;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  producer.stop();
  await running;
  expect(acks.length).toBeGreaterThan(ackedAtMove);

  const stored = await readPartition(clients, topic, 0, { deadlineMs: 30_000 });
  const at = new Map(stored.map((record) => [record.offset, record.value]));
  expect(acks.filter((ack) => at.get(ack.offset) !== ack.value)).toEqual([]);
  const values = stored.map((record) => record.value ?? '');
  expect(new Set(values).size).toBe(values.length);
  expect(values.filter((value) => !producer.sent.has(value))).toEqual([]);

  // Node 1 no longer hosts the partition: its directory goes.
  for (let attempt = 0; attempt < 100 && (await partitionDirs(1, topic)).length > 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await partitionDirs(1, topic)).toEqual([]);
});

it('relays a WatchReassignments stream through the gateway from the move in progress to its completion', async () => {
  const topic = 'watched';
  const created = await call(clients.admin, clients.admin.createTopics, {
    topics: [{ name: topic, partitionCount: -1, replicationFactor: -1, replicaAssignments: [{ partition: 0, replicas: [1, 2, 3] }], configs: {} }],
    validateOnly: false,
    timeoutMs: 10_000,
  });
  expect(created.results[0]?.errorCode).toBe(v1.ErrorCode.NONE);
  await cluster.waitForLeaders(topic);

  // Node 4 is held (SIGSTOP, well within its session timeout) until the watch has seen the
  // move under way: it cannot catch up before that, so the first message is the move in
  // progress whatever the timing.
  const node4 = cluster.storageNode(4).child;
  node4.kill('SIGSTOP');
  const watched: v1.WatchReassignmentsResponse[] = [];
  let ended: Promise<void> = Promise.resolve();
  try {
    const answer = await call(clients.admin, clients.admin.reassignPartitions, { partitions: [{ topic, partition: 0, targetReplicas: [2, 3, 4], cancel: false }], validateOnly: false, timeoutMs: 10_000 });
    expect(answer.results.map((result) => result.errorCode)).toEqual([v1.ErrorCode.NONE]);
    const watch = clients.admin.watchReassignments({ partitions: [{ topic, partition: 0 }], progressIntervalMs: 0 });
    ended = new Promise<void>((resolve, reject) => {
      watch.on('data', (message: v1.WatchReassignmentsResponse) => watched.push(message));
      watch.on('end', resolve);
      watch.on('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      watch.once('data', () => resolve());
      ended.then(() => reject(new Error('the watch ended before its first message')), reject);
    });
  } finally {
    node4.kill('SIGCONT');
  }
  expect(watched[0]?.reassignments.map((status) => [status.topic, status.partition, status.state])).toEqual([[topic, 0, v1.ReassignmentState.IN_PROGRESS]]);
  // Node 4 catches up and joins: the stream says so and ends.
  await ended;
  expect(watched.at(-1)?.reassignments.map((status) => [status.state, status.replicas])).toEqual([[v1.ReassignmentState.COMPLETED, [2, 3, 4]]]);
});
