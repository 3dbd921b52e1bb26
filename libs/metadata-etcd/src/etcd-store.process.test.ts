import { startEtcd, type EtcdProcess } from '@starlane/launcher';
import { MetadataController, applyBatch, emptyControllerState, seededRandom, snapshotOf, stateFromSnapshot, type ControllerState, type LoadedMetadata, type MetadataBatch, type MetadataRecord, type MetadataStore } from '@starlane/metadata';
import type { Etcd3, Namespace } from 'etcd3';
import { clusterNamespace, connectEtcd } from './client';
import { ControllerElection, type ControllerLeadership } from './election';
import { EtcdMetadataStore, batchKey, metadataKeys, type EtcdMetadataStoreOptions } from './etcd-store';

jest.setTimeout(30_000);

let etcd: EtcdProcess;
let client: Etcd3;
const elections: ControllerElection[] = [];
let prefixes = 0;

beforeAll(async () => {
  etcd = await startEtcd();
  client = connectEtcd({ endpoints: [etcd.endpoint] });
});

afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.close().catch(() => undefined)));
});

afterAll(async () => {
  client?.close();
  await etcd?.stop();
});

/** A namespace no other test uses. */
function freshNamespace(): Namespace {
  prefixes += 1;
  return clusterNamespace(client, `/starlane-test/store-${prefixes}/`);
}

async function elect(namespace: Namespace, controllerId = 0): Promise<ControllerLeadership> {
  const election = new ControllerElection({ namespace, candidate: { controllerId, host: '127.0.0.1', port: 9091 + controllerId }, leaseTtlMs: 1000 });
  elections.push(election);
  return election.campaign();
}

function replay(loaded: LoadedMetadata): ControllerState {
  let state = loaded.snapshot === undefined ? emptyControllerState : stateFromSnapshot(loaded.snapshot);
  for (const batch of loaded.batches) state = applyBatch(state, batch).state;
  return state;
}

async function openController(store: MetadataStore): Promise<MetadataController> {
  return MetadataController.open({
    store,
    clock: { nowMs: () => 1_700_000_000_000 },
    random: seededRandom(1),
    controllerId: 0,
    host: '127.0.0.1',
    port: 9091,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 1000,
    initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
  });
}

/** Some changes of every kind; returns the controller's state after them. */
async function exercise(controller: MetadataController, topics: number): Promise<ControllerState> {
  const { nodeEpoch } = await controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '' });
  await controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch });
  for (let i = 0; i < topics; i += 1) {
    await controller.createTopics({ topics: [{ name: `topic-${i}`, partitionCount: 2, replicationFactor: 1, replicaAssignments: [], configs: {} }], validateOnly: false });
    if (i % 3 === 0) await controller.allocateProducerIds(7);
  }
  await controller.deleteTopics({ names: ['topic-0'], topicIds: [] });
  return controller.controllerState();
}

async function keysUnder(namespace: Namespace, prefix: string): Promise<string[]> {
  return namespace.getAll().prefix(prefix).keys();
}

function clusterBatch(baseVersion: number): MetadataBatch {
  return { baseVersion, version: baseVersion + 1, records: [{ type: 'cluster', clusterId: 'x' }] };
}

const noSnapshot = (): never => {
  throw new Error('no snapshot expected');
};

/** Topic records with long names: `count` of them make about count × 1 KiB of JSON. */
function bulkyRecords(count: number, tag: string): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = `${tag}-${i}-${'x'.repeat(900)}`;
    records.push({ type: 'topic', topicId: `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`, name, internal: false, configs: {} });
  }
  return records;
}

describe('EtcdMetadataStore', () => {
  async function store(namespace: Namespace, options: Partial<EtcdMetadataStoreOptions> = {}): Promise<EtcdMetadataStore> {
    const fence = options.fence ?? (await elect(namespace));
    return new EtcdMetadataStore({ namespace, fence, ...options });
  }

  it('starts empty', async () => {
    const namespace = freshNamespace();
    await expect((await store(namespace)).load()).resolves.toEqual({ snapshot: undefined, batches: [] });
  });

  it('gives back everything appended, through snapshots and restarts', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const first = await store(namespace, { fence, snapshotIntervalBatches: 7 });
    const state = await exercise(await openController(first), 30);
    await first.close();
    const second = await store(namespace, { fence });
    const loaded = await second.load();
    expect(loaded.snapshot).toBeDefined();
    expect(loaded.batches.length).toBeLessThan(7);
    expect(replay(loaded)).toEqual(state);
    expect(second.recovery).toEqual({ snapshotVersion: loaded.snapshot?.version, batches: loaded.batches.length, version: state.image.version });
  });

  it('reads a batch written before eligible leader replicas as having none, and keeps the ones it writes through a snapshot', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const topicId = '33333333-3333-4333-8333-333333333333';
    const partition = { partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1, 2], isr: [1, 2], offlineReplicas: [], addingReplicas: [], removingReplicas: [] };
    // A batch as the store wrote it before partitions had an `elr` field.
    const old = { baseVersion: 0, version: 3, records: [{ type: 'cluster', clusterId: 'x' }, { type: 'topic', topicId, name: 't', internal: false, configs: {} }, { type: 'partition', topicId, partition }] };
    await namespace.put(batchKey(3)).value(JSON.stringify(old));
    await namespace.put(metadataKeys.version).value('3');
    const writer = await store(namespace, { fence, snapshotIntervalBatches: 2 });
    const before = replay(await writer.load());
    expect(before.image.topics.get('t')?.partitions[0]?.elr).toEqual([]);
    const shrunk: MetadataRecord = { type: 'partition', topicId, partition: { ...partition, isr: [1], elr: [2], partitionEpoch: 1 } };
    const batch: MetadataBatch = { baseVersion: 3, version: 4, records: [shrunk] };
    const after = applyBatch(before, batch).state;
    await writer.append(batch, () => snapshotOf(after));
    const loaded = await (await store(namespace, { fence })).load();
    expect(loaded.snapshot?.version).toBe(4);
    expect(replay(loaded)).toEqual(after);
    expect(replay(loaded).image.topics.get('t')?.partitions[0]?.elr).toEqual([2]);
  });

  it('refuses a batch that does not follow the stored version, and is unusable after', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const writer = await store(namespace, { fence });
    const stale = await store(namespace, { fence });
    await writer.load();
    await stale.load();
    await writer.append(clusterBatch(0), noSnapshot);
    await expect(stale.append(clusterBatch(0), noSnapshot)).rejects.toMatchObject({ code: 'NOT_CONTROLLER', message: expect.stringContaining('at version 1, not 0') });
    // What the store holds is unknown to it now: it refuses even a batch that would follow.
    await expect(stale.append(clusterBatch(1), noSnapshot)).rejects.toMatchObject({ code: 'NOT_CONTROLLER' });
    await writer.append(clusterBatch(1), noSnapshot);
    expect((await (await store(namespace, { fence })).load()).batches.map((batch) => batch.version)).toEqual([1, 2]);
  });

  it('writes a snapshot every N batches and deletes what it covers', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const writer = await store(namespace, { fence, snapshotIntervalBatches: 4 });
    await writer.load();
    let snapshots = 0;
    const snapshotAt = (version: number) => () => {
      snapshots += 1;
      return { version, records: [{ type: 'cluster', clusterId: `at-${version}` }] as MetadataRecord[] };
    };
    for (let base = 0; base < 10; base += 1) await writer.append(clusterBatch(base), snapshotAt(base + 1));
    expect(snapshots).toBe(2);
    expect(await keysUnder(namespace, metadataKeys.batches)).toEqual([batchKey(9), batchKey(10)]);
    expect(await keysUnder(namespace, metadataKeys.chunks)).toEqual([`${metadataKeys.chunks}0000000000000008/snapshot/000000`]);
    const loaded = await (await store(namespace, { fence })).load();
    expect(loaded.snapshot).toEqual({ version: 8, records: [{ type: 'cluster', clusterId: 'at-8' }] });
    expect(loaded.batches.map((batch) => batch.baseVersion)).toEqual([8, 9]);
  });

  it('splits snapshots and batches larger than etcd takes in one request into chunks', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const writer = await store(namespace, { fence, snapshotIntervalBatches: 2 });
    await writer.load();
    // About 2.5 MiB each, over etcd's default request limit of 1.5 MiB.
    const big: MetadataBatch = { baseVersion: 0, version: 2600, records: bulkyRecords(2600, 'batch') };
    await writer.append(big, noSnapshot);
    const snapshot = { version: 2601, records: bulkyRecords(2601, 'snapshot') };
    await writer.append({ baseVersion: 2600, version: 2601, records: [{ type: 'cluster', clusterId: 'x' }] }, () => snapshot);
    const chunkKeys = await keysUnder(namespace, metadataKeys.chunks);
    expect(chunkKeys.length).toBe(3);
    expect(chunkKeys.every((key) => key.startsWith(`${metadataKeys.chunks}0000000000002601/snapshot/`))).toBe(true);
    expect(await (await store(namespace, { fence })).load()).toEqual({ snapshot, batches: [] });

    // A chunked batch after the snapshot comes back whole too.
    const next: MetadataBatch = { baseVersion: 2601, version: 5201, records: bulkyRecords(2600, 'next') };
    await writer.append(next, noSnapshot);
    expect((await keysUnder(namespace, metadataKeys.chunks)).filter((key) => key.includes('/batch/'))).toHaveLength(3);
    expect(await (await store(namespace, { fence })).load()).toEqual({ snapshot, batches: [next] });
  });

  it('reads values split finer than the default', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const writer = await store(namespace, { fence, snapshotIntervalBatches: 3, valueBytesMax: 1024 });
    const state = await exercise(await openController(writer), 12);
    const loaded = await (await store(namespace, { fence, valueBytesMax: 1024 })).load();
    expect(replay(loaded)).toEqual(state);
    expect((await keysUnder(namespace, metadataKeys.chunks)).length).toBeGreaterThan(5);
  });

  it('refuses to load when a chunk is missing', async () => {
    const namespace = freshNamespace();
    const fence = await elect(namespace);
    const writer = await store(namespace, { fence, snapshotIntervalBatches: 1, valueBytesMax: 64 });
    await writer.load();
    await writer.append(clusterBatch(0), () => ({ version: 1, records: bulkyRecords(2, 'damaged') }));
    const [, second] = await keysUnder(namespace, metadataKeys.chunks);
    await namespace.delete().key(second ?? '');
    await expect((await store(namespace, { fence })).load()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining('chunk 1 of snapshot 1 is missing') });
  });

  it('never lets a deposed controller write', async () => {
    const namespace = freshNamespace();
    const deposed = await elect(namespace, 1);
    const store1 = await store(namespace, { fence: deposed });
    await store1.load();
    await store1.append(clusterBatch(0), noSnapshot);
    // The lease ends at etcd (an expiry, as the deposed controller would learn only later)
    // and another controller takes over and writes.
    await client.leaseClient.leaseRevoke({ ID: deposed.leaseId });
    const successor = await elect(namespace, 2);
    const store2 = await store(namespace, { fence: successor });
    await store2.load();
    await store2.append(clusterBatch(1), noSnapshot);
    await expect(store1.append(clusterBatch(1), noSnapshot)).rejects.toMatchObject({ code: 'NOT_CONTROLLER', message: expect.stringContaining('no longer holds the controller lease') });
    // Not even the next version, and not its snapshot chunks either.
    const store3 = await store(namespace, { fence: deposed, snapshotIntervalBatches: 1 });
    await store3.load();
    await expect(store3.append(clusterBatch(2), () => ({ version: 3, records: [] }))).rejects.toMatchObject({ code: 'NOT_CONTROLLER' });
    expect((await (await store(namespace, { fence: successor })).load()).batches.map((batch) => batch.version)).toEqual([1, 2]);
  });
});
