import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StarlaneError } from '@starlane/model';
import { ensureWritableDirectory } from './directories';

describe('ensureWritableDirectory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'starlane-dirs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates nested directories and leaves no probe behind', async () => {
    const path = await ensureWritableDirectory(join(root, 'a', 'b'), 'data directory');
    expect(path).toBe(join(root, 'a', 'b'));
    expect(await readdir(path)).toEqual([]);
  });

  it('refuses a path under a regular file with CONFIG_INVALID', async () => {
    await writeFile(join(root, 'file'), 'x');
    const attempt = ensureWritableDirectory(join(root, 'file', 'data'), 'data directory');
    await expect(attempt).rejects.toBeInstanceOf(StarlaneError);
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^data directory .*file\/data is not writable \(ENOTDIR/) });
  });

  it('refuses a directory it cannot create, naming the errno once', async () => {
    const attempt = ensureWritableDirectory('/proc/starlane-data', 'data directory');
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(attempt).rejects.toHaveProperty('message', "data directory /proc/starlane-data is not writable (ENOENT: no such file or directory, mkdir '/proc/starlane-data')");
  });
});
