import { MemoryFileSystem } from '@starlane/io-ports';
import { fencedFileSystem } from './node-host';

describe('node host disk', () => {
  it('stops a dead incarnation’s filesystem for good, open handles included', async () => {
    const disk = new MemoryFileSystem();
    let alive = true;
    const fs = fencedFileSystem(disk, () => alive);
    await fs.makeDirectory('/d');
    const file = await fs.open('/d/log', { create: true });
    await file.write([Buffer.from('abc')], 0);
    await file.sync();
    alive = false;
    await expect(file.write([Buffer.from('zz')], 3)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(fs.open('/d/other', { create: true })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await disk.exists('/d/other')).toBe(false);
    expect(disk.rawFile('/d/log')?.toString()).toBe('abc');
  });

  it('keeps what was synced and a torn prefix of the rest after a crash', async () => {
    const disk = new MemoryFileSystem();
    await disk.makeDirectory('/d');
    const file = await disk.open('/d/log', { create: true });
    await file.write([Buffer.from('synced|')], 0);
    await file.sync();
    await file.write([Buffer.from('unsynced')], 7);
    disk.crash((_path, unsynced) => Math.floor(unsynced / 2));
    expect(disk.rawFile('/d/log')?.toString()).toBe('synced|unsy');
  });
});
