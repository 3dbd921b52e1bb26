import { joinPath } from './file-system';
import { MemoryFileSystem } from './memory-fs';

describe('MemoryFileSystem', () => {
  it('keeps synced bytes across a crash and loses the unsynced tail', async () => {
    const fs = new MemoryFileSystem();
    await fs.makeDirectory('/data');
    const file = await fs.open(joinPath('/data', 'a.log'), { create: true });
    await file.write([Buffer.from('synced')], 0);
    await file.sync();
    await file.write([Buffer.from('-lost')], 6);
    fs.crash();
    expect((await fs.readFile('/data/a.log'))?.toString()).toBe('synced');
  });

  it('keeps a torn prefix of the unsynced tail when asked', async () => {
    const fs = new MemoryFileSystem();
    await fs.makeDirectory('/data');
    const file = await fs.open('/data/a.log', { create: true });
    await file.write([Buffer.from('abc')], 0);
    await file.sync();
    await file.write([Buffer.from('defgh')], 3);
    fs.crash((_path, unsyncedBytes) => unsyncedBytes - 3);
    expect((await fs.readFile('/data/a.log'))?.toString()).toBe('abcde');
  });

  it('closes handles opened before a crash', async () => {
    const fs = new MemoryFileSystem();
    await fs.makeDirectory('/data');
    const file = await fs.open('/data/a.log', { create: true });
    fs.crash();
    await expect(file.size()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('removes a directory tree and nothing beside it', async () => {
    const fs = new MemoryFileSystem();
    await fs.makeDirectory('/data/a/b');
    await fs.makeDirectory('/data/ab');
    await fs.writeFileAtomic('/data/a/b/f', Buffer.from('x'));
    await fs.writeFileAtomic('/data/ab/g', Buffer.from('y'));
    await fs.removeTree('/data/a');
    expect(await fs.list('/data')).toEqual(['ab']);
    expect(await fs.exists('/data/a/b/f')).toBe(false);
    expect(await fs.readFile('/data/ab/g')).toEqual(Buffer.from('y'));
  });

  it('joins paths with single separators', () => {
    expect(joinPath('/data/', '/p0', 'x.log')).toBe('/data/p0/x.log');
  });
});
