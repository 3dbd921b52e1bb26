import { MetadataController } from './controller';
import { applyDelta, noLeader, type MetadataDelta, type MetadataImage, type PartitionState } from './image';
import { seededRandom } from './placement';
import { MemoryMetadataStore, type MetadataStore } from './store';

const clusterId = 'AAAAAAAAAAAAAAAAAAAAAA';
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

interface Harness {
  controller: MetadataController;
  clock: TestClock;
  store: MetadataStore;
  deltas: MetadataDelta[];
}

async function open(store: MetadataStore = new MemoryMetadataStore(), clock = new TestClock(), seed = 1): Promise<Harness> {
  const controller = await MetadataController.open({
    store,
    clock,
    random: seededRandom(seed),
    controllerId: 0,
    host: '127.0.0.1',
    port: 9091,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs,
    initialClusterId: async () => clusterId,
  });
  const deltas: MetadataDelta[] = [];
  controller.subscribe((delta) => deltas.push(delta));
  return { controller, clock, store, deltas };
}

/** Registers a node and heartbeats it out of fencing; returns its epoch. */
async function activeNode(controller: MetadataController, nodeId: number, incarnationId = `incarnation-${nodeId}`): Promise<number> {
  const { nodeEpoch } = await controller.registerNode({ nodeId, incarnationId, clusterId: '', host: '127.0.0.1', port: 9000 + nodeId, rack: '' });
  await controller.heartbeat({ nodeId, nodeEpoch, metadataVersion: nodeEpoch });
  return nodeEpoch;
}

function partitionsOf(image: MetadataImage, topic: string): readonly PartitionState[] {
  return defined(image.topics.get(topic)).partitions;
}

const newTopic = (name: string, partitionCount = 1, replicationFactor = 1) => ({ name, partitionCount, replicationFactor, replicaAssignments: [], configs: {} });

describe('MetadataController', () => {
  describe('node registration', () => {
    it('gives a new incarnation a new, higher epoch and a retried one the same epoch', async () => {
      const { controller } = await open();
      const first = await controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '' });
      const retry = await controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '' });
      expect(retry.nodeEpoch).toBe(first.nodeEpoch);
      const other = await controller.registerNode({ nodeId: 2, incarnationId: 'b', clusterId: clusterId, host: 'h', port: 2, rack: '' });
      expect(other.nodeEpoch).toBeGreaterThan(first.nodeEpoch);
      expect(controller.image().nodes.get(1)).toEqual({ nodeId: 1, host: 'h', port: 1, rack: '', state: 'fenced', nodeEpoch: first.nodeEpoch, offlineLogDirIds: [] });
    });

    it('refuses a second incarnation while the first is live, and accepts it once the session expired', async () => {
      const { controller, clock } = await open();
      const epoch = await activeNode(controller, 1, 'first');
      await expect(controller.registerNode({ nodeId: 1, incarnationId: 'second', clusterId: '', host: 'h', port: 1, rack: '' })).rejects.toMatchObject({
        code: 'DUPLICATE_BROKER_REGISTRATION',
      });
      clock.now += sessionTimeoutMs;
      const second = await controller.registerNode({ nodeId: 1, incarnationId: 'second', clusterId: '', host: 'h', port: 1, rack: '' });
      expect(second.nodeEpoch).toBeGreaterThan(epoch);
      // The old incarnation is fenced off by its epoch.
      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch: epoch, metadataVersion: 1000 })).rejects.toMatchObject({ code: 'STALE_BROKER_EPOCH' });
    });

    it('accepts a new incarnation at once after a controlled shutdown', async () => {
      const { controller } = await open();
      const epoch = await activeNode(controller, 1, 'first');
      await controller.controlledShutdown({ nodeId: 1, nodeEpoch: epoch });
      await expect(controller.registerNode({ nodeId: 1, incarnationId: 'second', clusterId: '', host: 'h', port: 1, rack: '' })).resolves.toMatchObject({});
    });

    it.each([
      [{ clusterId: 'BBBBBBBBBBBBBBBBBBBBBB' }, 'INCONSISTENT_CLUSTER_ID'],
      [{ incarnationId: '' }, 'INVALID_REQUEST'],
      [{ host: '' }, 'INVALID_REQUEST'],
      [{ port: 0 }, 'INVALID_REQUEST'],
      [{ nodeId: -1 }, 'INVALID_REQUEST'],
    ])('refuses %j with %s', async (change, code) => {
      const { controller } = await open();
      await expect(controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '', ...change })).rejects.toMatchObject({ code });
    });

    it('answers heartbeats of unknown nodes and stale epochs with their codes', async () => {
      const { controller } = await open();
      const epoch = await activeNode(controller, 1);
      await expect(controller.heartbeat({ nodeId: 2, nodeEpoch: epoch, metadataVersion: 0 })).rejects.toMatchObject({ code: 'BROKER_ID_NOT_REGISTERED' });
      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch: epoch - 1, metadataVersion: 0 })).rejects.toMatchObject({ code: 'STALE_BROKER_EPOCH' });
    });

    it('unfences a node only once it has applied its own registration', async () => {
      const { controller } = await open();
      const { nodeEpoch } = await controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '' });
      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch - 1 })).resolves.toEqual({ fenced: true, shouldShutDown: false });
      expect(controller.image().nodes.get(1)?.state).toBe('fenced');
      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch })).resolves.toEqual({ fenced: false, shouldShutDown: false });
      expect(controller.image().nodes.get(1)?.state).toBe('active');
    });
  });

  describe('liveness', () => {
    it('judges sessions by when the check was asked and the heartbeat arrived, not by when a backed-up queue runs them', async () => {
      const { controller, clock } = await open();
      const epoch = await activeNode(controller, 1);
      const start = clock.now;
      clock.now = start + sessionTimeoutMs - 100;
      const check = controller.tick();
      clock.now = start + sessionTimeoutMs - 50;
      const beat = controller.heartbeat({ nodeId: 1, nodeEpoch: epoch, metadataVersion: epoch });
      // The queue was slow: both run long after they were asked.
      clock.now = start + 5 * sessionTimeoutMs;
      await expect(check).resolves.toEqual([]);
      await expect(beat).resolves.toMatchObject({ fenced: false });
      expect(controller.image().nodes.get(1)?.state).toBe('active');
    });

    it('fences a silent node, leaves its partitions without a leader, and makes it leader again with a new epoch when it returns', async () => {
      const { controller, clock } = await open();
      const epoch = await activeNode(controller, 1);
      await controller.createTopics({ topics: [newTopic('t', 2)], validateOnly: false });
      expect(partitionsOf(controller.image(), 't').map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch])).toEqual([
        [1, 0, 0],
        [1, 0, 0],
      ]);

      clock.now += sessionTimeoutMs - 1;
      await expect(controller.tick()).resolves.toEqual([]);
      clock.now += 1;
      await expect(controller.tick()).resolves.toEqual([1]);
      expect(controller.image().nodes.get(1)?.state).toBe('fenced');
      expect(partitionsOf(controller.image(), 't').map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch, p.isr])).toEqual([
        [noLeader, 1, 1, [1]],
        [noLeader, 1, 1, [1]],
      ]);
      // A second pass changes nothing.
      await expect(controller.tick()).resolves.toEqual([]);

      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch: epoch, metadataVersion: controller.image().version })).resolves.toEqual({ fenced: false, shouldShutDown: false });
      expect(partitionsOf(controller.image(), 't').map((p) => [p.leader, p.leaderEpoch, p.partitionEpoch])).toEqual([
        [1, 2, 2],
        [1, 2, 2],
      ]);
    });

    it('moves leadership to another in-sync replica and shrinks the ISR when a leader is fenced', async () => {
      const { controller, clock } = await open();
      const epochs = [await activeNode(controller, 1), await activeNode(controller, 2), await activeNode(controller, 3)];
      await controller.createTopics({ topics: [newTopic('t', 3, 3)], validateOnly: false });
      const before = partitionsOf(controller.image(), 't');
      const ledBy1 = defined(before.find((p) => p.leader === 1));

      clock.now += sessionTimeoutMs;
      // Nodes 2 and 3 heartbeat; node 1 stays silent.
      await controller.heartbeat({ nodeId: 2, nodeEpoch: defined(epochs[1]), metadataVersion: 0 });
      await controller.heartbeat({ nodeId: 3, nodeEpoch: defined(epochs[2]), metadataVersion: 0 });
      await expect(controller.tick()).resolves.toEqual([1]);
      const after = partitionsOf(controller.image(), 't');
      for (const partition of after) {
        expect(partition.isr).not.toContain(1);
        expect([2, 3]).toContain(partition.leader);
      }
      const moved = defined(after[ledBy1.partition]);
      // The next replica in preference order that is in sync leads.
      expect(moved.leader).toBe(ledBy1.replicas.find((id) => id !== 1));
      expect([moved.leaderEpoch, moved.partitionEpoch]).toEqual([1, 1]);
      // A partition that kept its leader only lost an ISR member: same leader epoch.
      const kept = defined(after.find((p) => p.partition !== ledBy1.partition));
      expect([kept.leaderEpoch, kept.partitionEpoch]).toEqual([0, 1]);
    });

    it('re-registration of a restarted node withdraws its leaderships until it has caught up', async () => {
      const { controller, clock } = await open();
      await activeNode(controller, 1, 'first');
      await controller.createTopics({ topics: [newTopic('t')], validateOnly: false });
      clock.now += sessionTimeoutMs;
      const { nodeEpoch } = await controller.registerNode({ nodeId: 1, incarnationId: 'second', clusterId: '', host: 'h', port: 1, rack: '' });
      expect(partitionsOf(controller.image(), 't')[0]).toMatchObject({ leader: noLeader, leaderEpoch: 1 });
      await controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch });
      expect(partitionsOf(controller.image(), 't')[0]).toMatchObject({ leader: 1, leaderEpoch: 2 });
    });
  });

  describe('controlled shutdown', () => {
    it('with one replica leaves nothing to wait for: the node may exit, its partitions have no leader', async () => {
      const { controller } = await open();
      const epoch = await activeNode(controller, 1);
      await controller.createTopics({ topics: [newTopic('t', 2)], validateOnly: false });
      await expect(controller.controlledShutdown({ nodeId: 1, nodeEpoch: epoch })).resolves.toEqual({ remainingLeaderships: [] });
      expect(controller.image().nodes.get(1)?.state).toBe('controlled-shutdown');
      expect(partitionsOf(controller.image(), 't').map((p) => p.leader)).toEqual([noLeader, noLeader]);
      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch: epoch, metadataVersion: 1000 })).resolves.toEqual({ fenced: true, shouldShutDown: true });
      // Asking again changes nothing.
      const version = controller.image().version;
      await expect(controller.controlledShutdown({ nodeId: 1, nodeEpoch: epoch })).resolves.toEqual({ remainingLeaderships: [] });
      expect(controller.image().version).toBe(version);
    });

    it('never hands leaderships back to an incarnation that shut down, even after its session lapsed', async () => {
      const { controller, clock } = await open();
      const epoch = await activeNode(controller, 1);
      await controller.createTopics({ topics: [newTopic('t', 1)], validateOnly: false });
      await controller.controlledShutdown({ nodeId: 1, nodeEpoch: epoch });
      clock.now += 2 * sessionTimeoutMs;
      await controller.tick();
      // A late heartbeat of the exiting process.
      await expect(controller.heartbeat({ nodeId: 1, nodeEpoch: epoch, metadataVersion: 1000 })).resolves.toEqual({ fenced: true, shouldShutDown: true });
      expect(controller.image().nodes.get(1)?.state).toBe('controlled-shutdown');
      expect(partitionsOf(controller.image(), 't').map((p) => p.leader)).toEqual([noLeader]);
    });

    it('moves leaderships to other in-sync replicas', async () => {
      const { controller } = await open();
      const epoch = await activeNode(controller, 1);
      await activeNode(controller, 2);
      await controller.createTopics({ topics: [newTopic('t', 4, 2)], validateOnly: false });
      await controller.controlledShutdown({ nodeId: 1, nodeEpoch: epoch });
      for (const partition of partitionsOf(controller.image(), 't')) expect([partition.leader, partition.isr]).toEqual([2, [2]]);
      // New topics avoid the node that is shutting down.
      await expect(controller.createTopics({ topics: [newTopic('u', 1, 2)], validateOnly: false })).resolves.toMatchObject([{ error: { code: 'INVALID_REPLICATION_FACTOR' } }]);
    });
  });

  describe('producer ids', () => {
    it('hands out blocks that never overlap, also across a restart', async () => {
      const store = new MemoryMetadataStore();
      const { controller } = await open(store);
      const a = await controller.allocateProducerIds(10);
      const b = await controller.allocateProducerIds(0);
      expect(a).toEqual({ firstProducerId: 0n, count: 10 });
      expect(b).toEqual({ firstProducerId: 10n, count: 1000 });
      await expect(controller.allocateProducerIds(10_000_000)).resolves.toEqual({ firstProducerId: 1010n, count: 100_000 });
      await controller.close();
      const reopened = await open(store);
      await expect(reopened.controller.allocateProducerIds(1)).resolves.toEqual({ firstProducerId: 101_010n, count: 1 });
    });
  });

  describe('versions and deltas', () => {
    it('publishes every change as a delta that takes the previous image to the current one', async () => {
      const { controller, clock, deltas } = await open();
      let image = controller.image();
      const epoch = await activeNode(controller, 1);
      await activeNode(controller, 2);
      await controller.createTopics({ topics: [newTopic('a', 3, 2), newTopic('b', 1, 1)], validateOnly: false });
      await controller.alterTopicConfigs({ topics: [{ topic: 'a', changes: [{ name: 'retention.ms', operation: 'set', value: '1000' }] }], validateOnly: false });
      await controller.createPartitions({ topics: [{ topic: 'b', totalCount: 3, replicaAssignments: [] }], validateOnly: false });
      await controller.deleteTopics({ names: ['a'], topicIds: [] });
      clock.now += sessionTimeoutMs;
      await controller.heartbeat({ nodeId: 1, nodeEpoch: epoch, metadataVersion: 0 });
      await controller.tick();
      await controller.allocateProducerIds(5);

      for (const delta of deltas) {
        expect(delta.version).toBeGreaterThan(delta.baseVersion);
        image = applyDelta(image, delta);
      }
      expect(image).toEqual(controller.image());
      expect(deltas.map((delta) => delta.createdTopics.map((t) => t.name))).toContainEqual(['a', 'b']);
      expect(deltas.map((delta) => delta.deletedTopics.map((t) => t.name))).toContainEqual(['a']);
    });

    it('recovers the same image from the store, with a higher version and controller epoch', async () => {
      const store = new MemoryMetadataStore();
      const first = await open(store);
      await activeNode(first.controller, 1);
      await first.controller.createTopics({ topics: [newTopic('a', 2)], validateOnly: false });
      const before = first.controller.image();
      await first.controller.close();
      const second = await open(store);
      const after = second.controller.image();
      expect(after.version).toBeGreaterThan(before.version);
      expect(after.controller?.controllerEpoch).toBe(defined(before.controller).controllerEpoch + 1);
      expect({ ...after, version: 0, controller: undefined }).toEqual({ ...before, version: 0, controller: undefined });
    });
  });

  it('runs concurrent commands one at a time', async () => {
    const { controller } = await open();
    await activeNode(controller, 1);
    const results = await Promise.all(Array.from({ length: 20 }, () => controller.createTopics({ topics: [newTopic('same')], validateOnly: false })));
    const codes = results.map(([result]) => defined(result).error?.code ?? 'created');
    expect(codes.filter((code) => code === 'created')).toHaveLength(1);
    expect(codes.filter((code) => code === 'TOPIC_ALREADY_EXISTS')).toHaveLength(19);
  });

  it('refuses changes after the store failed, and keeps its last good state', async () => {
    const store = new MemoryMetadataStore();
    const { controller } = await open(store);
    await activeNode(controller, 1);
    const version = controller.image().version;
    store.append = () => Promise.reject(new Error('disk on fire'));
    await expect(controller.createTopics({ topics: [newTopic('t')], validateOnly: false })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(controller.allocateProducerIds(1)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(controller.image().version).toBe(version);
    expect(controller.image().topics.size).toBe(0);
  });
});
