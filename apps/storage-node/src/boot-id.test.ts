import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLinuxBootId } from './boot-id';

describe('readLinuxBootId', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'boot-id-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the boot id without its newline', async () => {
    await writeFile(join(dir, 'boot_id'), '5b0c3f9e-1f2a-4d8e-9a61-0e4c2b7d9f10\n');
    expect(await readLinuxBootId(join(dir, 'boot_id'))).toBe('5b0c3f9e-1f2a-4d8e-9a61-0e4c2b7d9f10');
  });

  it('answers unknown for a missing, empty or oversized file', async () => {
    expect(await readLinuxBootId(join(dir, 'absent'))).toBeUndefined();
    await writeFile(join(dir, 'empty'), '\n');
    expect(await readLinuxBootId(join(dir, 'empty'))).toBeUndefined();
    await writeFile(join(dir, 'large'), 'x'.repeat(100));
    expect(await readLinuxBootId(join(dir, 'large'))).toBeUndefined();
  });
});
