import { MetadataController } from './controller';
import { applyDelta, noLeader, type MetadataDelta, type MetadataImage, type PartitionState } from './image';
import { seededRandom } from './placement';
import { MemoryMetadataStore, type MetadataStore } from './store';

const sessionTimeoutMs = 1000;

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}

class TestClock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
}

async function open(store: MetadataStore = new MemoryMetadataStore(), clock = new TestClock()): Promise<{ controller: MetadataController; clock: TestClock; deltas: MetadataDelta[] }> {
  const controller = await MetadataController.open({
    store,
    clock,
    random: seededRandom(1),
    controllerId: 0,
    host: '127.0.0.1',
    port: 9091,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs,
    initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
  });
  const deltas: MetadataDelta[] = [];
  controller.subscribe((delta) => deltas.push(delta));
  return { controller, clock, deltas };
}

/** Registers a node incarnation and heartbeats it out of fencing; returns its epoch. */
async function activeNode(controller: MetadataController, nodeId: number, incarnationId = `incarnation-${nodeId}`, cleanShutdown = true): Promise<number> {
  const { nodeEpoch } = await controller.registerNode({ nodeId, incarnationId, clusterId: '', host: '127.0.0.1', port: 9000 + nodeId, rack: '', cleanShutdown });
  await controller.heartbeat({ nodeId, nodeEpoch, metadataVersion: nodeEpoch });
  return nodeEpoch;
}

function partitionOf(image: MetadataImage, topic: string, index = 0): PartitionState {
  return defined(image.topics.get(topic)?.partitions[index]);
}

const newTopic = (name: string, replicaAssignments: number[][]) => ({
  name,
  partitionCount: 0,
  replicationFactor: 0,
  replicaAssignments: replicaAssignments.map((replicas, partition) => ({ partition, replicas })),
  configs: {},
});

describe('MetadataController replication', () => {
  it('follows a replica through a crash, an unclean restart, re-admission by its leader and preferred-leader balancing', async () => {
    const { controller, clock } = await open();
    const epochs = new Map<number, number>();
    for (const id of [1, 2, 3]) epochs.set(id, await activeNode(controller, id));
    const [created] = await controller.createTopics({ topics: [newTopic('t', [[1, 2, 3]])], validateOnly: false });
    const topicId = defined(created).topicId;
    expect(partitionOf(controller.image(), 't')).toMatchObject({ leader: 1, isr: [1, 2, 3], leaderEpoch: 0 });

    // Node 1 goes silent: fenced, out of the ISR, leadership to node 2.
    clock.now += sessionTimeoutMs;
    for (const id of [2, 3]) await controller.heartbeat({ nodeId: id, nodeEpoch: defined(epochs.get(id)), metadataVersion: 0 });
    await controller.tick();
    expect(partitionOf(controller.image(), 't')).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 });

    // It comes back after a crash, and has caught up: the leader re-admits it, quoting its new epoch.
    const oldEpoch = defined(epochs.get(1));
    const newEpoch = await activeNode(controller, 1, 'after-crash', false);
    expect(controller.controllerState().registrations.get(1)?.cleanShutdown).toBe(false);
    const at = partitionOf(controller.image(), 't');
    const change = { topicId, partition: 0, leaderEpoch: at.leaderEpoch, partitionEpoch: at.partitionEpoch };
    const stale = await controller.alterPartition({ nodeId: 2, nodeEpoch: defined(epochs.get(2)), partitions: [{ ...change, newIsr: [{ nodeId: 2 }, { nodeId: 3 }, { nodeId: 1, nodeEpoch: oldEpoch }] }] });
    expect(stale[0]?.error?.code).toBe('INELIGIBLE_REPLICA');
    const [readmitted] = await controller.alterPartition({ nodeId: 2, nodeEpoch: defined(epochs.get(2)), partitions: [{ ...change, newIsr: [{ nodeId: 2 }, { nodeId: 3 }, { nodeId: 1, nodeEpoch: newEpoch }] }] });
    expect(readmitted).toMatchObject({ topic: 't', state: { leader: 2, isr: [2, 3, 1], leaderEpoch: 1, partitionEpoch: at.partitionEpoch + 1 } });
    expect(readmitted?.error).toBeUndefined();

    // Balancing gives leadership back to the preferred replica.
    await expect(controller.electPreferredLeaders()).resolves.toEqual({ elected: [{ topic: 't', partition: 0 }], more: false });
    expect(partitionOf(controller.image(), 't')).toMatchObject({ leader: 1, isr: [2, 3, 1], leaderEpoch: 2 });
    await expect(controller.electPreferredLeaders()).resolves.toEqual({ elected: [], more: false });
  });

  it('reassigns a partition end to end: start, list with its start time, complete on AlterPartition, and keeps it across a restart', async () => {
    const store = new MemoryMetadataStore();
    const { controller, clock, deltas } = await open(store);
    let followed = controller.image();
    const epochs = new Map<number, number>();
    for (const id of [1, 2, 3, 4]) epochs.set(id, await activeNode(controller, id));
    const [created] = await controller.createTopics({ topics: [newTopic('t', [[1, 2]])], validateOnly: false });
    const topicId = defined(created).topicId;

    clock.now += 5;
    const startedAtMs = clock.now;
    await expect(controller.reassignPartitions({ partitions: [{ topic: 't', partition: 0, targetReplicas: [3, 4], cancel: false }], validateOnly: false })).resolves.toEqual([{ topic: 't', partition: 0 }]);
    expect(controller.listReassignments()).toMatchObject([{ topic: 't', partition: 0, replicas: [3, 4, 1, 2], addingReplicas: [3, 4], removingReplicas: [1, 2], startedAtMs }]);

    // The reassignment survives a controller restart.
    await controller.close();
    const reopened = (await open(store, clock)).controller;
    expect(reopened.listReassignments([{ topic: 't', partition: 0 }])).toMatchObject([{ originalReplicas: [1, 2], startedAtMs }]);

    const at = partitionOf(reopened.image(), 't');
    const [done] = await reopened.alterPartition({
      nodeId: 1,
      nodeEpoch: defined(epochs.get(1)),
      partitions: [{ topicId, partition: 0, leaderEpoch: at.leaderEpoch, partitionEpoch: at.partitionEpoch, newIsr: [1, 2, 3, 4].map((nodeId) => ({ nodeId })) }],
    });
    expect(done?.error?.code).toBe('NEW_LEADER_ELECTED');
    expect(partitionOf(reopened.image(), 't')).toMatchObject({ replicas: [3, 4], isr: [3, 4], leader: 3, addingReplicas: [], removingReplicas: [] });
    expect(reopened.listReassignments()).toEqual([]);

    // Every change reached watchers of the first controller as deltas folding into its image.
    for (const delta of deltas) followed = applyDelta(followed, delta);
    expect(partitionOf(followed, 't')).toMatchObject({ replicas: [3, 4, 1, 2], addingReplicas: [3, 4] });
  });

  it('answers AlterPartition of an unknown node or stale epoch for the whole request', async () => {
    const { controller } = await open();
    const epoch = await activeNode(controller, 1);
    await expect(controller.alterPartition({ nodeId: 2, nodeEpoch: epoch, partitions: [] })).rejects.toMatchObject({ code: 'BROKER_ID_NOT_REGISTERED' });
    await expect(controller.alterPartition({ nodeId: 1, nodeEpoch: epoch + 1, partitions: [] })).rejects.toMatchObject({ code: 'STALE_BROKER_EPOCH' });
  });

  it('runs proposals one at a time: of two built on the same epochs, the second is stale', async () => {
    const { controller } = await open();
    const epoch = await activeNode(controller, 1);
    await activeNode(controller, 2);
    const [created] = await controller.createTopics({ topics: [newTopic('t', [[1, 2]])], validateOnly: false });
    const change = { topicId: defined(created).topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [{ nodeId: 1 }] };
    const results = await Promise.all([controller.alterPartition({ nodeId: 1, nodeEpoch: epoch, partitions: [change] }), controller.alterPartition({ nodeId: 1, nodeEpoch: epoch, partitions: [{ ...change, newIsr: [{ nodeId: 1 }, { nodeId: 2 }] }] })]);
    expect(results.map(([result]) => result?.error?.code)).toEqual([undefined, 'INVALID_UPDATE_VERSION']);
    expect(partitionOf(controller.image(), 't')).toMatchObject({ isr: [1], partitionEpoch: 1, leader: 1 });
  });

  it('elects a live out-of-sync replica once unclean election is turned on for a leaderless partition', async () => {
    const { controller, clock } = await open();
    await activeNode(controller, 1);
    const epoch2 = await activeNode(controller, 2);
    const [created] = await controller.createTopics({ topics: [newTopic('t', [[1, 2]])], validateOnly: false });
    const topicId = defined(created).topicId;
    await controller.alterPartition({ nodeId: 1, nodeEpoch: defined(controller.controllerState().registrations.get(1)).nodeEpoch, partitions: [{ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [{ nodeId: 1 }] }] });
    clock.now += sessionTimeoutMs;
    await controller.heartbeat({ nodeId: 2, nodeEpoch: epoch2, metadataVersion: 0 });
    await controller.tick();
    expect(partitionOf(controller.image(), 't')).toMatchObject({ leader: noLeader, isr: [1] });
    await controller.alterTopicConfigs({ topics: [{ topic: 't', changes: [{ name: 'unclean.leader.election.enable', operation: 'set', value: 'true' }] }], validateOnly: false });
    expect(partitionOf(controller.image(), 't')).toMatchObject({ leader: 2, isr: [2] });
  });
});
