/**
 * Replication liveness through real processes: replicas return to the ISR after leadership
 * changes on a topic nobody writes to, where no new leader ever appends in its epoch.
 *
 * The scenario of a demoted leader whose epoch history ends in an epoch it recorded but never
 * wrote in: the topic's first leader and then the next one are restarted (SIGTERM), so a third
 * leader takes over in epoch 2 with `2 10` at its log end; it is then stopped (SIGSTOP) long
 * enough to lose leadership and continued. It must truncate that epoch away once and fetch on,
 * not loop on the same divergence.
 *
 * And a follower restarted behind batches larger than the topic's max.message.bytes (lowered
 * after they were written) copies them as they are and rejoins the ISR: the setting limits what
 * producers send, not what replicas copy.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MetadataImage, PartitionState } from '@starlane/metadata';
import { v1 } from '@starlane/proto';
import type { AppProcess, TestCluster } from '@starlane/testing';
import { call, type PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed, readPartition, sameKeyRecords as records } from './workload';

jest.setTimeout(180_000);

/** Short sessions and lag limits, so a stopped node loses leadership and the ISR within the test's time. */
const sessionTimeoutMs = 1_500;
const replicaLagTimeMaxMs = 2_000;
/** How long the ISR may take to be whole again once the stopped node runs: a few fetch rounds and one ISR proposal. */
const isrRestoredWithinMs = 15_000;
/** Divergence lines a replica may log on its way back: one per truncation, a few at most. */
const divergenceLinesMax = 5;

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({
    storageNodes: 3,
    // No preferred-leader balancing: the test decides where leadership goes.
    controllerArgs: ['--node-heartbeat-interval-ms=200', `--node-session-timeout-ms=${sessionTimeoutMs}`, '--leader-imbalance-check-interval-ms=0'],
    storageNodeArgs: [`--replica-lag-time-max-ms=${replicaLagTimeMaxMs}`],
  }));
});

afterAll(() => stopWithClients({ cluster, clients }));

async function partitionState(topic: string, accept: (state: PartitionState, image: MetadataImage) => boolean, what: string, timeoutMs = 30_000): Promise<PartitionState> {
  const image = await cluster.metadata().waitFor((current) => {
    const state = current.topics.get(topic)?.partitions[0];
    return state !== undefined && accept(state, current);
  }, timeoutMs);
  const state = image?.topics.get(topic)?.partitions[0];
  if (state === undefined) throw new Error(`${topic}-0: timed out waiting for ${what}`);
  return state;
}

const fullIsr = (state: PartitionState): boolean => state.isr.length === state.replicas.length;

/** Restarts the leader with SIGTERM; resolves once another replica leads in a later epoch and the ISR is whole again. */
async function restartLeader(topic: string, before: PartitionState): Promise<PartitionState> {
  await cluster.restart(`storage-node-${before.leader}`, 'SIGTERM');
  return partitionState(topic, (state, image) => state.leaderEpoch > before.leaderEpoch && state.leader !== before.leader && image.nodes.get(state.leader)?.state === 'active' && fullIsr(state), 'a new leader and a whole ISR');
}

/** Counts a process's log lines that contain `text`, from now on (the launcher keeps only the latest lines). */
function countLines(app: AppProcess, text: string): () => number {
  let count = 0;
  const stdout = app.child.stdout;
  if (stdout === null) throw new Error(`${app.name} has no stdout`);
  createInterface({ input: stdout }).on('line', (line) => {
    if (line.includes(text)) count += 1;
  });
  return () => count;
}

/** The leader-epoch checkpoint of `topic`-0 on a node, as lines. */
async function epochCheckpoint(nodeId: number, topic: string): Promise<string[]> {
  const partitions = join(cluster.dataDir, `storage-node-${nodeId}`, 'partitions');
  const directory = (await readdir(partitions)).find((name) => name.startsWith(`${topic}-0.`));
  if (directory === undefined) throw new Error(`node ${nodeId} has no directory for ${topic}-0`);
  return (await readFile(join(partitions, directory, 'leader-epoch-checkpoint'), 'utf8')).trim().split('\n');
}

it('a leader demoted with an epoch it never wrote in truncates it once and rejoins the ISR', async () => {
  const topic = 'idle';
  await createTopic(clients, topic, 1, {}, 3);
  const first = await partitionState(topic, (state, image) => image.nodes.get(state.leader)?.state === 'active' && fullIsr(state), 'a leader and a whole ISR');
  await produceKeyed(clients, topic, records(0, 10), { recordsPerRequest: 10, inflightMax: 1, acks: v1.Acks.ALL });

  // Leadership moves twice without a write: the leader of epoch 2 records `2 10` and nothing else.
  const second = await restartLeader(topic, first);
  const third = await restartLeader(topic, second);
  expect([first.leaderEpoch, second.leaderEpoch, third.leaderEpoch]).toEqual([0, 1, 2]);
  expect(await epochCheckpoint(third.leader, topic)).toEqual(['0', '2', '0 0', '2 10']);

  // Stopped past the session timeout, the leader is fenced and leadership moves on without it.
  const stopped = cluster.storageNode(third.leader);
  const divergenceLines = countLines(stopped, 'follower log diverges from the leader');
  stopped.child.kill('SIGSTOP');
  try {
    await partitionState(topic, (state) => state.leader !== third.leader && state.leader >= 0 && !state.isr.includes(third.leader), 'leadership to move off the stopped node');
  } finally {
    stopped.child.kill('SIGCONT');
  }

  const restored = await partitionState(topic, fullIsr, 'the ISR to be whole again', isrRestoredWithinMs);
  expect(restored.isr).toContain(third.leader);
  expect(divergenceLines()).toBeLessThanOrEqual(divergenceLinesMax);

  // Every replica takes acks=all writes again, and the demoted leader stays quiet meanwhile.
  await produceKeyed(clients, topic, records(10, 10), { recordsPerRequest: 10, inflightMax: 1, acks: v1.Acks.ALL });
  const stored = await readPartition(clients, topic, 0, { deadlineMs: 30_000 });
  expect(stored.map((record) => record.value)).toEqual(records(0, 20).map((record) => record.value));
  expect(divergenceLines()).toBeLessThanOrEqual(divergenceLinesMax);
});

it('a follower restarted behind batches larger than a since lowered max.message.bytes copies them and rejoins the ISR', async () => {
  const topic = 'large';
  await createTopic(clients, topic, 1, {}, 3);
  const first = await partitionState(topic, (state, image) => image.nodes.get(state.leader)?.state === 'active' && fullIsr(state), 'a leader and a whole ISR');
  const behind = first.replicas.find((nodeId) => nodeId !== first.leader) ?? -1;
  await cluster.kill(`storage-node-${behind}`, 'SIGTERM');

  // Batches of about 200 KiB each, written while the follower is away.
  const value = 'x'.repeat(40 * 1024);
  const large = Array.from({ length: 20 }, (_, index) => ({ key: 'k', value: `${index}-${value}` }));
  await produceKeyed(clients, topic, large, { recordsPerRequest: 5, inflightMax: 1, acks: v1.Acks.ALL });
  const altered = await call(clients.admin, clients.admin.alterTopicConfigs, {
    topics: [{ topic, changes: [{ name: 'max.message.bytes', operation: v1.ConfigOperation.SET, value: '10000' }] }],
    validateOnly: false,
  });
  expect(altered.results[0]?.errorCode).toBe(v1.ErrorCode.NONE);
  await cluster.metadata().waitFor((image) => image.topics.get(topic)?.configs['max.message.bytes'] === '10000', 30_000);

  await cluster.start(`storage-node-${behind}`);
  const restored = await partitionState(topic, (state) => fullIsr(state) && state.isr.includes(behind), 'the restarted follower to rejoin the ISR', 30_000);
  expect(restored.isr).toHaveLength(3);
});
