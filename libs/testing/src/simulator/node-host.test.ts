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

  it('reports every change to bytes a segment file already held, and nothing else', async () => {
    const disk = new MemoryFileSystem();
    let rewrites = 0;
    const fs = fencedFileSystem(disk, () => true, () => (rewrites += 1));
    await fs.makeDirectory('/d');
    const segment = await fs.open('/d/00000000000000000000.log', { create: true });
    await segment.write([Buffer.from('abc')], 0);
    await segment.write([Buffer.from('def')], 3);
    await segment.truncate(6);
    const index = await fs.open('/d/00000000000000000000.index', { create: true });
    await index.write([Buffer.from('12345678')], 0);
    await index.truncate(0);
    await fs.writeFileAtomic('/d/leader-epoch-checkpoint', Buffer.from('0'));
    expect(rewrites).toBe(0);
    await segment.write([Buffer.from('X')], 1);
    await segment.truncate(2);
    await fs.rename('/d/00000000000000000000.log', '/d/00000000000000000000.log.deleted');
    await fs.remove('/d/00000000000000000000.log.deleted');
    expect(rewrites).toBe(3);
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
