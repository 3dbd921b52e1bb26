import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '@starlane/node-io';
import { initialClusterId, legacyClusterFileName, newClusterId } from './cluster-identity';

const fs = new NodeFileSystem();

describe('cluster identity', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starlane-cluster-id-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes 22-character base64url ids, different each time', () => {
    const ids = new Set(Array.from({ length: 100 }, newClusterId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('makes a new id when there is no legacy cluster.json', async () => {
    await expect(initialClusterId(fs, dir, () => 'AAAAAAAAAAAAAAAAAAAAAA')).resolves.toBe('AAAAAAAAAAAAAAAAAAAAAA');
  });

  it('takes the id of a legacy cluster.json', async () => {
    await writeFile(join(dir, legacyClusterFileName), '{"formatVersion": 1, "clusterId": "BBBBBBBBBBBBBBBBBBBBBB"}');
    await expect(initialClusterId(fs, dir, () => 'AAAAAAAAAAAAAAAAAAAAAA')).resolves.toBe('BBBBBBBBBBBBBBBBBBBBBB');
  });

  it.each([
    ['torn JSON', '{"formatVersion": 1, "clus', /is not valid JSON/],
    ['a foreign format', '{"formatVersion": 9, "clusterId": "AAAAAAAAAAAAAAAAAAAAAA"}', /does not hold a format 1 cluster id/],
    ['a malformed id', '{"formatVersion": 1, "clusterId": "short"}', /does not hold a format 1 cluster id/],
  ])('refuses %s rather than forming a new cluster over it', async (_what, text, message) => {
    await writeFile(join(dir, legacyClusterFileName), text);
    await expect(initialClusterId(fs, dir)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(message) });
    expect(await readFile(join(dir, legacyClusterFileName), 'utf8')).toBe(text);
  });
});
