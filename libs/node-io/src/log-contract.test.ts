import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileSystem } from '@starlane/io-ports';
import { describeLogContract } from '@starlane/testing';
import { NodeFileSystem } from './node-fs';

describeLogContract('disk (NodeFileSystem)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'starlane-log-contract-'));
  let next = 0;
  return {
    fs: new NodeFileSystem(),
    directory: async () => join(root, `partition-${next++}`),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describeLogContract('memory (MemoryFileSystem)', async () => {
  let next = 0;
  return { fs: new MemoryFileSystem(), directory: async () => `/data/partition-${next++}` };
});
