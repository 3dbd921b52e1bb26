import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { NodeFileSystem } from './node-fs';

describe('NodeFileSystem errors', () => {
  it('are STORAGE_UNAVAILABLE naming the operation, the path and the errno once', async () => {
    const missing = join(tmpdir(), `starlane-missing-${process.pid}`, 'partition-0');
    const listing = new NodeFileSystem().list(missing);
    await expect(listing).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(listing).rejects.toHaveProperty('message', `list ${missing}: ENOENT: no such file or directory, scandir '${missing}'`);
  });
});
