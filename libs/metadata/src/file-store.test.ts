import { MemoryFileSystem, joinPath } from '@starlane/io-ports';
import { MetadataController } from './controller';
import { applyBatch, emptyControllerState, snapshotOf, stateFromSnapshot, type ControllerState } from './controller-state';
import { FileMetadataStore, encodeFrame, frameHeaderBytes, journalFileName, snapshotFileName } from './file-store';
import type { PartitionRecord } from './records';
import { seededRandom } from './placement';
import { MemoryMetadataStore, type LoadedMetadata, type MetadataStore } from './store';

const directory = '/data/controller';

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}


function flipByte(bytes: Buffer, position: number): void {
  bytes.writeUInt8(bytes.readUInt8(position) ^ 0xff, position);
}

function replay(loaded: LoadedMetadata): ControllerState {
  let state = loaded.snapshot === undefined ? emptyControllerState : stateFromSnapshot(loaded.snapshot);
  for (const batch of loaded.batches) state = applyBatch(state, batch).state;
  return state;
}

async function openController(store: MetadataStore, seed = 1): Promise<MetadataController> {
  return MetadataController.open({
    store,
    clock: { nowMs: () => 1_700_000_000_000 },
    random: seededRandom(seed),
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

const stores: [string, () => { make: () => MetadataStore }][] = [
  [
    'memory store',
    () => {
      const store = new MemoryMetadataStore();
      return { make: () => store };
    },
  ],
  [
    'file store',
    () => {
      const fs = new MemoryFileSystem();
      return { make: () => new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 20 }) };
    },
  ],
];

describe.each(stores)('%s contract', (_name, setup) => {
  it('starts empty', async () => {
    await expect(setup().make().load()).resolves.toEqual({ snapshot: undefined, batches: [] });
  });

  it('gives back everything appended, through snapshots and restarts', async () => {
    const { make } = setup();
    const first = make();
    const state = await exercise(await openController(first), 40);
    await first.close();
    expect(replay(await make().load())).toEqual(state);
  });

  it('refuses a batch that does not follow its version', async () => {
    const store = setup().make();
    await store.load();
    await store.append({ baseVersion: 0, version: 1, records: [{ type: 'cluster', clusterId: 'x' }] }, () => ({ version: 1, records: [] }));
    await expect(store.append({ baseVersion: 0, version: 1, records: [{ type: 'cluster', clusterId: 'x' }] }, () => ({ version: 1, records: [] }))).rejects.toMatchObject({
      code: 'NOT_CONTROLLER',
    });
  });
});

describe('FileMetadataStore', () => {
  const journalPath = joinPath(directory, journalFileName);
  const snapshotPath = joinPath(directory, snapshotFileName);

  it('keeps every acknowledged batch through a crash', async () => {
    const fs = new MemoryFileSystem();
    const state = await exercise(await openController(new FileMetadataStore({ fs, directory })), 5);
    fs.crash();
    expect(replay(await new FileMetadataStore({ fs, directory }).load())).toEqual(state);
  });

  it('ignores a torn tail and truncates it, so later batches follow the last whole one', async () => {
    const fs = new MemoryFileSystem();
    const state = await exercise(await openController(new FileMetadataStore({ fs, directory })), 3);
    const whole = defined(fs.rawFile(journalPath)).length;
    // A crash in the middle of an append: half a frame reached the disk.
    const journal = await fs.open(journalPath, { create: false });
    const frame = Buffer.alloc(64, 7);
    frame.writeUInt32BE(1000, 0);
    await journal.write([frame], whole);
    fs.crash(() => 30);
    expect(defined(fs.rawFile(journalPath)).length).toBe(whole + 30);

    const reopened = new FileMetadataStore({ fs, directory });
    expect(replay(await reopened.load())).toEqual(state);
    expect(reopened.recovery).toEqual({ snapshotVersion: 0, journalBatches: expect.any(Number), truncatedBytes: 30 });
    expect(defined(fs.rawFile(journalPath)).length).toBe(whole);
    // Appending goes on from the cut, and survives another restart.
    const controller = await openController(reopened);
    await controller.createTopics({ topics: [{ name: 'after', partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: {} }], validateOnly: false });
    const later = controller.controllerState();
    fs.crash();
    expect(replay(await new FileMetadataStore({ fs, directory }).load())).toEqual(later);
  });

  it('stops at a damaged frame: the batches before it survive, the rest is cut', async () => {
    const fs = new MemoryFileSystem();
    const store = new FileMetadataStore({ fs, directory });
    const controller = await openController(store);
    const { nodeEpoch } = await controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '' });
    await controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch });
    const good = controller.controllerState();
    const goodBytes = defined(fs.rawFile(journalPath)).length;
    await controller.createTopics({ topics: [{ name: 'damaged', partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: {} }], validateOnly: false });
    await controller.createTopics({ topics: [{ name: 'after-damage', partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: {} }], validateOnly: false });
    // Flip one payload byte of the first frame after the good prefix.
    flipByte(defined(fs.rawFile(journalPath)), goodBytes + frameHeaderBytes + 5);

    const reopened = new FileMetadataStore({ fs, directory });
    expect(replay(await reopened.load())).toEqual(good);
    expect(defined(fs.rawFile(journalPath)).length).toBe(goodBytes);
  });

  it('writes snapshots and starts the journal over; replays the journal on top of the snapshot', async () => {
    const fs = new MemoryFileSystem();
    const store = new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 10 });
    const state = await exercise(await openController(store), 12);
    expect(fs.rawFile(snapshotPath)).not.toBeNull();
    const reopened = new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 10 });
    const loaded = await reopened.load();
    expect(defined(loaded.snapshot).version).toBeGreaterThan(0);
    expect(loaded.batches.length).toBeGreaterThan(0);
    expect(defined(loaded.batches[0]).baseVersion).toBe(defined(loaded.snapshot).version);
    expect(replay(loaded)).toEqual(state);
  });

  it('skips journal batches a snapshot already holds (a crash before the journal was started over)', async () => {
    const fs = new MemoryFileSystem();
    const store = new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 1_000_000 });
    const controller = await openController(store);
    const state = await exercise(controller, 4);
    const journal = Buffer.from(defined(fs.rawFile(journalPath)));
    await store.close();
    // Write a snapshot of the current state the way the store does, leaving the old journal in place.
    const compacting = new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 1 });
    const reloaded = await compacting.load();
    const controller2 = await openController(compacting);
    await controller2.allocateProducerIds(1);
    const finalState = controller2.controllerState();
    expect(replay(reloaded)).toEqual(state);
    expect(defined(fs.rawFile(journalPath)).length).toBe(0);
    const file = await fs.open(journalPath, { create: false });
    await file.write([journal], 0);
    await file.sync();

    expect(replay(await new FileMetadataStore({ fs, directory }).load())).toEqual(finalState);
  });

  it('refuses to start from a damaged snapshot rather than from nothing', async () => {
    const fs = new MemoryFileSystem();
    await exercise(await openController(new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 5 })), 3);
    flipByte(defined(fs.rawFile(snapshotPath)), frameHeaderBytes + 2);
    await expect(new FileMetadataStore({ fs, directory }).load()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(/damaged/) });
  });

  it('refuses to start when whole journal batches do not follow what was recovered (a lost snapshot)', async () => {
    const fs = new MemoryFileSystem();
    await exercise(await openController(new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 5 })), 4);
    // One more change after the last snapshot, so the journal starts above version 0.
    const store = new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 1_000_000 });
    await (await openController(store)).allocateProducerIds(1);
    await store.close();
    expect(defined(fs.rawFile(journalPath)).length).toBeGreaterThan(0);
    await fs.remove(snapshotPath);
    await expect(new FileMetadataStore({ fs, directory }).load()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(/missing snapshot/) });
  });

  it('reads a journal written before eligible leader replicas as having none, and keeps the ones it writes through a snapshot', async () => {
    const fs = new MemoryFileSystem();
    const topicId = '33333333-3333-4333-8333-333333333333';
    const partition = { partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1, 2], isr: [1, 2], offlineReplicas: [], addingReplicas: [], removingReplicas: [] };
    // A batch as the store wrote it before partitions had an `elr` field.
    const old = { baseVersion: 0, version: 3, records: [{ type: 'cluster', clusterId: 'x' }, { type: 'topic', topicId, name: 't', internal: false, configs: {} }, { type: 'partition', topicId, partition }] };
    await fs.makeDirectory(directory);
    const journal = await fs.open(journalPath, { create: true });
    await journal.write([encodeFrame(old)], 0);
    await journal.sync();
    const store = new FileMetadataStore({ fs, directory, snapshotIntervalRecords: 4 });
    const before = replay(await store.load());
    expect(before.image.topics.get('t')?.partitions[0]?.elr).toEqual([]);
    const shrunk: PartitionRecord = { type: 'partition', topicId, partition: { ...partition, isr: [1], elr: [2], partitionEpoch: 1 } };
    const batch = { baseVersion: 3, version: 4, records: [shrunk] };
    const after = applyBatch(before, batch).state;
    await store.append(batch, () => snapshotOf(after));
    await store.close();
    expect(fs.rawFile(snapshotPath)).not.toBeNull();
    const reloaded = replay(await new FileMetadataStore({ fs, directory }).load());
    expect(reloaded.image.topics.get('t')?.partitions[0]).toEqual(shrunk.partition);
    expect(reloaded).toEqual(after);
  });

  it('fails every later append once a write failed', async () => {
    const fs = new MemoryFileSystem();
    const store = new FileMetadataStore({ fs, directory });
    await store.load();
    await store.append({ baseVersion: 0, version: 1, records: [{ type: 'cluster', clusterId: 'x' }] }, () => ({ version: 1, records: [] }));
    fs.crash(); // invalidates the open journal handle, as a failed disk would
    const next = { baseVersion: 1, version: 2, records: [{ type: 'producer-ids' as const, nextProducerId: 5n }] };
    await expect(store.append(next, () => ({ version: 2, records: [] }))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(store.append(next, () => ({ version: 2, records: [] }))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });
});
