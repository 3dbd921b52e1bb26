/**
 * A storage node reports a failed log directory in its heartbeats: the controller records it,
 * moves the node's leaderships to other in-sync replicas and takes it out of ISRs, as KRaft
 * handles offline log directories, until a new incarnation registers.
 */
import { offlineLogDirIdsMax } from './node-commands';
import { MetadataController } from './controller';
import { noLeader, type MetadataImage, type PartitionState } from './image';
import { seededRandom } from './placement';
import { describePartitions } from './queries';
import { MemoryMetadataStore, type MetadataStore } from './store';

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}

const clock = { nowMs: (): number => 1_700_000_000_000 };

function open(store: MetadataStore = new MemoryMetadataStore()): Promise<MetadataController> {
  return MetadataController.open({
    store,
    clock,
    random: seededRandom(1),
    controllerId: 0,
    host: '127.0.0.1',
    port: 9091,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 60_000,
    initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
  });
}

/** Registers a node incarnation and heartbeats it out of fencing; returns its epoch. */
async function activeNode(controller: MetadataController, nodeId: number, incarnationId = `incarnation-${nodeId}`): Promise<number> {
  const { nodeEpoch } = await controller.registerNode({ nodeId, incarnationId, clusterId: '', host: '127.0.0.1', port: 9000 + nodeId, rack: '' });
  await controller.heartbeat({ nodeId, nodeEpoch, metadataVersion: nodeEpoch });
  return nodeEpoch;
}

function partitionOf(image: MetadataImage, topic: string, index = 0): PartitionState {
  return defined(image.topics.get(topic)?.partitions[index]);
}

async function clusterWithTopics(controller: MetadataController): Promise<Map<number, number>> {
  const epochs = new Map<number, number>();
  for (const id of [1, 2, 3]) epochs.set(id, await activeNode(controller, id));
  const assignments = (replicas: number[][]) => replicas.map((nodes, partition) => ({ partition, replicas: nodes }));
  await controller.createTopics({
    topics: [
      { name: 'replicated', partitionCount: 0, replicationFactor: 0, replicaAssignments: assignments([[1, 2, 3]]), configs: {} },
      { name: 'single', partitionCount: 0, replicationFactor: 0, replicaAssignments: assignments([[1]]), configs: {} },
      { name: 'followed', partitionCount: 0, replicationFactor: 0, replicaAssignments: assignments([[2, 1]]), configs: {} },
    ],
    validateOnly: false,
  });
  return epochs;
}

describe('offline log directories', () => {
  it('move the leaderships of the reporting node to in-sync replicas and take it out of ISRs, once', async () => {
    const controller = await open();
    const epochs = await clusterWithTopics(controller);
    const nodeEpoch = defined(epochs.get(1));
    const before = controller.image();
    expect(partitionOf(before, 'replicated')).toMatchObject({ leader: 1, isr: [1, 2, 3] });

    const result = await controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: before.version, offlineLogDirIds: ['dir-1'] });
    expect(result).toEqual({ fenced: false, shouldShutDown: false });
    const after = controller.image();
    // Led elsewhere with a new leader epoch; node 1 left the ISR.
    expect(partitionOf(after, 'replicated')).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 });
    expect(partitionOf(after, 'followed')).toMatchObject({ leader: 2, isr: [2] });
    // Where it is the last in-sync replica it stays in the ISR (its log is the best copy) but leads nothing.
    expect(partitionOf(after, 'single')).toMatchObject({ leader: noLeader, isr: [1] });
    // Everyone sees the directory offline, and its replicas listed as offline.
    expect(after.nodes.get(1)).toMatchObject({ state: 'active', nodeEpoch, offlineLogDirIds: ['dir-1'] });
    expect(describePartitions(after, defined(after.topics.get('replicated')))[0]?.offlineReplicas).toEqual([1]);

    // Reported again: nothing new to record.
    const version = after.version;
    await controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: version, offlineLogDirIds: ['dir-1'] });
    expect(controller.image().version).toBe(version);
  });

  it('keep the node from leading and from joining ISRs until a new incarnation registers', async () => {
    const store = new MemoryMetadataStore();
    const controller = await open(store);
    const epochs = await clusterWithTopics(controller);
    await controller.heartbeat({ nodeId: 1, nodeEpoch: defined(epochs.get(1)), metadataVersion: controller.image().version, offlineLogDirIds: ['dir-1'] });
    const topicId = defined(controller.image().topics.get('replicated')).topicId;

    // The leader cannot add it back.
    const current = partitionOf(controller.image(), 'replicated');
    const [join] = await controller.alterPartition({
      nodeId: 2,
      nodeEpoch: defined(epochs.get(2)),
      partitions: [{ topicId, partition: 0, leaderEpoch: current.leaderEpoch, partitionEpoch: current.partitionEpoch, newIsr: [{ nodeId: 2 }, { nodeId: 3 }, { nodeId: 1, nodeEpoch: defined(epochs.get(1)) }] }],
    });
    expect(join?.error?.code).toBe('INELIGIBLE_REPLICA');
    // Preferred-leader balancing does not hand it back its leadership.
    await controller.electPreferredLeaders();
    expect(partitionOf(controller.image(), 'replicated').leader).toBe(2);

    // The record survives a controller restart.
    const reopened = await open(store);
    expect(reopened.controllerState().registrations.get(1)?.offlineLogDirIds).toEqual(['dir-1']);

    // The operator restarts the node (a controlled shutdown first), which registers a new
    // incarnation with its directory online again and leads where it is the last in-sync replica.
    await reopened.controlledShutdown({ nodeId: 1, nodeEpoch: defined(epochs.get(1)) });
    const restarted = await activeNode(reopened, 1, 'after-disk-replacement');
    expect(reopened.image().nodes.get(1)).toMatchObject({ state: 'active', nodeEpoch: restarted, offlineLogDirIds: [] });
    expect(partitionOf(reopened.image(), 'single')).toMatchObject({ leader: 1, isr: [1] });
  });

  it('refuses a heartbeat reporting more directories than the bound, or an empty id', async () => {
    const controller = await open();
    const nodeEpoch = await activeNode(controller, 1);
    const tooMany = Array.from({ length: offlineLogDirIdsMax + 1 }, (_, index) => `dir-${index}`);
    await expect(controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch, offlineLogDirIds: tooMany })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch, offlineLogDirIds: [''] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(controller.image().nodes.get(1)?.offlineLogDirIds).toEqual([]);
  });
});
