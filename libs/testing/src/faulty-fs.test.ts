/**
 * The faulty filesystem, and what a partition log does when the disk fails under it: every kind
 * of runtime failure (a write, an fsync, a roll, the leader-epoch checkpoint) takes the log
 * offline and is reported once through `onFailure`, which is how a storage node learns that its
 * log directory failed.
 */
import { MemoryFileSystem } from '@starlane/io-ports';
import { PartitionLog, defaultLogConfig, leaderEpochFileName, type LogConfig } from '@starlane/log';
import type { StarlaneError } from '@starlane/model';
import { buildBatch } from '@starlane/record-batch';
import { FaultyFileSystem } from './faulty-fs';
import { ManualClock, ManualScheduler } from './manual-time';

const batch = (value: string): Promise<Buffer> => buildBatch([{ key: null, value: Buffer.from(value), timestamp: 1_700_000_000_000n }]);

async function openLog(config: Partial<LogConfig> = {}): Promise<{ log: PartitionLog; fs: FaultyFileSystem; failures: StarlaneError[] }> {
  const fs = new FaultyFileSystem(new MemoryFileSystem());
  const clock = new ManualClock();
  const failures: StarlaneError[] = [];
  const { log } = await PartitionLog.open({
    directory: '/data/orders-0',
    fs,
    clock,
    scheduler: new ManualScheduler(clock),
    config: { ...defaultLogConfig, ...config },
    onFailure: (error) => failures.push(error),
  });
  return { log, fs, failures };
}

describe('FaultyFileSystem', () => {
  it('refuses the chosen operations with the errno, as NodeFileSystem reports it, until healed', async () => {
    const fs = new FaultyFileSystem(new MemoryFileSystem());
    await fs.makeDirectory('/d');
    fs.failWhen((operation, path) => operation === 'writeFileAtomic' && path.endsWith('/a'), 'ENOSPC');
    await expect(fs.writeFileAtomic('/d/a', Buffer.from('x'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining('ENOSPC') });
    await fs.writeFileAtomic('/d/b', Buffer.from('y'));
    expect(await fs.readFile('/d/a')).toBeNull();
    expect(fs.injected).toBe(1);
    fs.heal();
    await fs.writeFileAtomic('/d/a', Buffer.from('x'));
    expect(await fs.readFile('/d/a')).toEqual(Buffer.from('x'));
  });
});

describe('a partition log on a failing disk', () => {
  it.each([
    ['a write (ENOSPC)', 'write', 'ENOSPC', {}],
    ['an fsync (EIO)', 'sync', 'EIO', { flushMessages: 1 }],
  ] as const)('goes offline on %s and reports it once', async (_what, operation, errno, config) => {
    const { log, fs, failures } = await openLog(config);
    await log.append(await batch('before'), 0);
    fs.failWhen((failing) => failing === operation, errno);
    await expect(log.append(await batch('lost'), 0)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(log.append(await batch('after'), 0)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(failures).toHaveLength(1);
    // The log names what failed; the cause keeps the errno.
    const failure = failures[0];
    expect(`${failure?.message} ${failure?.cause instanceof Error ? failure.cause.message : ''}`).toContain(errno);
    await log.release();
  });

  it('goes offline when a roll cannot create the next segment', async () => {
    const { log, fs, failures } = await openLog({ segmentBytes: 200 });
    await log.append(await batch('a'.repeat(120)), 0);
    fs.failWhen((operation, path) => operation === 'open' && path.endsWith('.log'), 'ENOSPC');
    await expect(log.append(await batch('b'.repeat(120)), 0)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(failures).toHaveLength(1);
    await log.release();
  });

  it('goes offline when the leader-epoch checkpoint cannot be written', async () => {
    const { log, fs, failures } = await openLog();
    fs.failWhen((operation, path) => operation === 'writeFileAtomic' && path.endsWith(leaderEpochFileName), 'EIO');
    await expect(log.assignLeaderEpoch(3)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(failures).toHaveLength(1);
    await log.release();
  });
});
