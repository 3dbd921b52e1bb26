import { MemoryFileSystem } from '@starlane/io-ports';
import { NodeIdentity, cleanShutdownMarkerName, metaFileName } from './node-identity';

const dataDir = '/data';
let ids = 0;
const newId = (): string => `dir-${++ids}`;
/** The boot the tests run in, unless a test says otherwise. */
let boot: string | undefined = 'boot-1';
const readBootId = (): Promise<string | undefined> => Promise.resolve(boot);
const load = (fs: MemoryFileSystem, nodeId = 3): Promise<NodeIdentity> => NodeIdentity.load(fs, dataDir, nodeId, newId, readBootId);

async function fresh(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.makeDirectory(dataDir);
  return fs;
}

describe('NodeIdentity', () => {
  beforeEach(() => {
    boot = 'boot-1';
  });

  it('creates the identity of a new data directory, which may have lost what it held', async () => {
    const fs = await fresh();
    const identity = await load(fs);
    // New or wiped: whatever the directory held is gone (the controller withdraws nothing for
    // a node it never registered, so a first start is unaffected).
    expect({ nodeId: identity.nodeId, clusterId: identity.clusterId, nothingLost: identity.nothingUnflushedLost }).toEqual({ nodeId: 3, clusterId: '', nothingLost: false });
    const again = await load(fs);
    expect(again.directoryId).toBe(identity.directoryId);
  });

  it('reports a wiped data directory of a node that stopped cleanly as having lost its data', async () => {
    const fs = await fresh();
    await (await load(fs)).markCleanShutdown();
    // The directory is emptied (a new disk, an operator's rm -rf) while the boot goes on.
    await fs.remove(`${dataDir}/${metaFileName}`);
    await fs.remove(`${dataDir}/${cleanShutdownMarkerName}`);
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
  });

  it('reports nothing lost after a clean stop, in this boot or another, and consumes the marker', async () => {
    const fs = await fresh();
    await (await load(fs)).markCleanShutdown();
    expect(await fs.exists(`${dataDir}/${cleanShutdownMarkerName}`)).toBe(true);
    boot = 'boot-2';
    expect((await load(fs)).nothingUnflushedLost).toBe(true);
    expect(await fs.exists(`${dataDir}/${cleanShutdownMarkerName}`)).toBe(false);
  });

  it('reports nothing lost after an unclean stop within the same boot: the page cache outlived the process', async () => {
    const fs = await fresh();
    await (await load(fs)).registered();
    // Killed (no marker), restarted in the same boot.
    expect((await load(fs)).nothingUnflushedLost).toBe(true);
    expect((await load(fs)).nothingUnflushedLost).toBe(true);
  });

  it('reports a possible loss after an unclean stop in another boot (power loss, reboot)', async () => {
    const fs = await fresh();
    await (await load(fs)).registered();
    boot = 'boot-2';
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
  });

  it('counts a boot id that cannot be read as another boot', async () => {
    const fs = await fresh();
    boot = undefined;
    await (await load(fs)).registered();
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
    boot = 'boot-1';
    await (await load(fs)).registered();
    boot = undefined;
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
    boot = '';
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
  });

  it('keeps reporting a loss within the boot until the controller registered an incarnation that reported it', async () => {
    const fs = await fresh();
    await (await load(fs)).registered();
    boot = 'boot-2';
    // After a power loss, killed before it registered: the next process of this boot must still report the loss.
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
    const reporting = await load(fs);
    expect(reporting.nothingUnflushedLost).toBe(false);
    await reporting.registered();
    // The controller has heard; a kill from here on loses nothing more.
    expect((await load(fs)).nothingUnflushedLost).toBe(true);
  });

  it('reads a meta file written before boot ids were recorded as of another boot', async () => {
    const fs = await fresh();
    await fs.writeFileAtomic(`${dataDir}/${metaFileName}`, Buffer.from('{"version":1,"nodeId":3,"clusterId":"c","directoryId":"d"}'));
    expect((await load(fs)).nothingUnflushedLost).toBe(false);
    await fs.writeFileAtomic(`${dataDir}/${metaFileName}`, Buffer.from('{"version":1,"nodeId":3,"clusterId":"c","directoryId":"d","bootId":7}'));
    await expect(load(fs)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('stores the cluster id once and refuses another', async () => {
    const fs = await fresh();
    const identity = await load(fs);
    await identity.storeClusterId('cluster-a');
    expect((await load(fs)).clusterId).toBe('cluster-a');
    await expect(identity.storeClusterId('cluster-b')).rejects.toMatchObject({ code: 'INCONSISTENT_CLUSTER_ID' });
  });

  it('refuses a directory of another node id, or a meta file that is not ours', async () => {
    const fs = await fresh();
    await load(fs);
    await expect(load(fs, 4)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('node 3') });
    await fs.writeFileAtomic(`${dataDir}/${metaFileName}`, Buffer.from('{"version":7}'));
    await expect(load(fs)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await fs.writeFileAtomic(`${dataDir}/${metaFileName}`, Buffer.from('not json'));
    await expect(load(fs)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
