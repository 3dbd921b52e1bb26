import { MemoryFileSystem } from '@starlane/io-ports';
import { NodeIdentity, cleanShutdownMarkerName, metaFileName } from './node-identity';

const dataDir = '/data';
let ids = 0;
const newId = (): string => `dir-${++ids}`;

async function fresh(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.makeDirectory(dataDir);
  return fs;
}

describe('NodeIdentity', () => {
  it('creates the identity of a new data directory, which counts as a clean start', async () => {
    const fs = await fresh();
    const identity = await NodeIdentity.load(fs, dataDir, 3, newId);
    expect({ nodeId: identity.nodeId, clusterId: identity.clusterId, clean: identity.cleanShutdown }).toEqual({ nodeId: 3, clusterId: '', clean: true });
    const again = await NodeIdentity.load(fs, dataDir, 3, newId);
    expect(again.directoryId).toBe(identity.directoryId);
    // No marker was left, so the second start reads as unclean.
    expect(again.cleanShutdown).toBe(false);
  });

  it('consumes the clean-shutdown marker at start', async () => {
    const fs = await fresh();
    await (await NodeIdentity.load(fs, dataDir, 3, newId)).markCleanShutdown();
    expect(await fs.exists(`${dataDir}/${cleanShutdownMarkerName}`)).toBe(true);
    expect((await NodeIdentity.load(fs, dataDir, 3, newId)).cleanShutdown).toBe(true);
    expect(await fs.exists(`${dataDir}/${cleanShutdownMarkerName}`)).toBe(false);
    expect((await NodeIdentity.load(fs, dataDir, 3, newId)).cleanShutdown).toBe(false);
  });

  it('stores the cluster id once and refuses another', async () => {
    const fs = await fresh();
    const identity = await NodeIdentity.load(fs, dataDir, 3, newId);
    await identity.storeClusterId('cluster-a');
    expect((await NodeIdentity.load(fs, dataDir, 3, newId)).clusterId).toBe('cluster-a');
    await expect(identity.storeClusterId('cluster-b')).rejects.toMatchObject({ code: 'INCONSISTENT_CLUSTER_ID' });
  });

  it('refuses a directory of another node id, or a meta file that is not ours', async () => {
    const fs = await fresh();
    await NodeIdentity.load(fs, dataDir, 3, newId);
    await expect(NodeIdentity.load(fs, dataDir, 4, newId)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('node 3') });
    await fs.writeFileAtomic(`${dataDir}/${metaFileName}`, Buffer.from('{"version":7}'));
    await expect(NodeIdentity.load(fs, dataDir, 3, newId)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await fs.writeFileAtomic(`${dataDir}/${metaFileName}`, Buffer.from('not json'));
    await expect(NodeIdentity.load(fs, dataDir, 3, newId)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
