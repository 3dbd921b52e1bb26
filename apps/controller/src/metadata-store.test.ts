import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMetadataStore, MetadataController, applyBatch, emptyControllerState, journalFileName, seededRandom, stateFromSnapshot, type LoadedMetadata } from '@starlane/metadata';
import { NodeFileSystem } from '@starlane/node-io';

function replay(loaded: LoadedMetadata) {
  let state = loaded.snapshot === undefined ? emptyControllerState : stateFromSnapshot(loaded.snapshot);
  for (const batch of loaded.batches) state = applyBatch(state, batch).state;
  return state;
}

describe('the file metadata store on a real disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starlane-metadata-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recovers what was committed across snapshots, and cuts a torn tail', async () => {
    const fs = new NodeFileSystem();
    const store = new FileMetadataStore({ fs, directory: dir, snapshotIntervalRecords: 8 });
    const controller = await MetadataController.open({
      store,
      clock: { nowMs: () => 1_700_000_000_000 },
      random: seededRandom(3),
      controllerId: 0,
      host: '127.0.0.1',
      port: 9091,
      heartbeatIntervalMs: 100,
      sessionTimeoutMs: 1000,
      initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
    });
    const { nodeEpoch } = await controller.registerNode({ nodeId: 1, incarnationId: 'a', clusterId: '', host: 'h', port: 1, rack: '' });
    await controller.heartbeat({ nodeId: 1, nodeEpoch, metadataVersion: nodeEpoch });
    for (let i = 0; i < 10; i += 1) {
      await controller.createTopics({ topics: [{ name: `t${i}`, partitionCount: 2, replicationFactor: 1, replicaAssignments: [], configs: {} }], validateOnly: false });
    }
    await controller.allocateProducerIds(50);
    const state = controller.controllerState();
    await controller.close();

    const journal = join(dir, journalFileName);
    const size = (await stat(journal)).size;
    await appendFile(journal, Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 5, 6]));

    const reopened = new FileMetadataStore({ fs, directory: dir });
    expect(replay(await reopened.load())).toEqual(state);
    expect(reopened.recovery?.truncatedBytes).toBe(10);
    expect(reopened.recovery?.snapshotVersion).toBeGreaterThan(0);
    expect((await stat(journal)).size).toBe(size);
    await reopened.close();
  });
});
