import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd } from './etcd';

jest.setTimeout(30_000);

describe('startEtcd', () => {
  it('answers once started, and removes its temporary directory when killed', async () => {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      await client.put('key').value('value');
      await expect(client.get('key').string()).resolves.toBe('value');
    } finally {
      client.close();
    }
    await expect(etcd.kill()).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(etcd.dataDir)).toBe(false);
  });

  it('keeps what it stored across a restart on the same directory and ports', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'starlane-etcd-test-'));
    try {
      const first = await startEtcd({ dataDir });
      const client = new Etcd3({ hosts: first.endpoint });
      try {
        await client.put('kept').value('yes');
        // etcd ends itself with the signal it was sent, once it has shut down cleanly.
        await expect(first.stop()).resolves.toEqual({ code: null, signal: 'SIGTERM' });
        expect(existsSync(dataDir)).toBe(true);
        const second = await startEtcd({ dataDir, clientPort: first.clientPort, peerPort: first.peerPort });
        await expect(client.get('kept').string()).resolves.toBe('yes');
        await second.stop();
      } finally {
        client.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects when etcd cannot start', async () => {
    const blocker = await startEtcd();
    try {
      await expect(startEtcd({ clientPort: blocker.clientPort })).rejects.toThrow(/etcd exited/);
    } finally {
      await blocker.stop();
    }
  });
});
