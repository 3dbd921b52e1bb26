/**
 * Settings changed on an open log (a topic config change reaching the storage node), and the
 * lookups ListOffsets needs beyond offsetForTimestamp: the record with the largest timestamp and
 * the leader epoch of an offset.
 */
import { buildBatch } from '@starlane/record-batch';
import { defaultLogConfig, type LogConfig } from './config';
import { PartitionLog, recoveryCheckpointIntervalMs, retentionCheckIntervalMs, stateFileName } from './log';
import { MemoryFileSystem } from '@starlane/io-ports';
import { ManualTime } from '../test/manual-time';

async function openLog(config: Partial<LogConfig> = {}): Promise<{ log: PartitionLog; time: ManualTime; fs: MemoryFileSystem }> {
  const time = new ManualTime();
  const fs = new MemoryFileSystem();
  const { log } = await PartitionLog.open({ directory: '/data/p0', fs, clock: time, scheduler: time, config: { ...defaultLogConfig, ...config } });
  return { log, time, fs };
}

const batchOf = (valueBytes: number, timestamps: readonly bigint[] = [1n]): Promise<Buffer> =>
  buildBatch(timestamps.map((timestamp) => ({ key: null, value: Buffer.alloc(valueBytes, 7), timestamp })));

/** Lets the promise callbacks of a task the scheduler started run to completion. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('PartitionLog.reconfigure', () => {
  it('checks the next append against a lowered max.message.bytes', async () => {
    const { log } = await openLog();
    const batch = await batchOf(2000);
    await log.append(batch, 0);
    log.reconfigure({ ...log.logConfig, maxMessageBytes: 1000 });
    await expect(log.append(await batchOf(2000), 0)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await expect(log.append(await batchOf(10), 0)).resolves.toMatchObject({ baseOffset: 1n });
    expect(log.logConfig.maxMessageBytes).toBe(1000);
    await log.close();
  });

  it('rolls by a lowered segment.bytes from the next append on', async () => {
    const { log } = await openLog();
    for (let i = 0; i < 3; i++) await log.append(await batchOf(500), 0);
    expect(log.segmentCount).toBe(1);
    log.reconfigure({ ...log.logConfig, segmentBytes: 1200 });
    for (let i = 0; i < 4; i++) await log.append(await batchOf(500), 0);
    expect(log.segmentCount).toBeGreaterThanOrEqual(3);
    await log.close();
  });

  it('runs retention by the new retention.ms on its next pass, and the old schedule is gone', async () => {
    const { log, time } = await openLog({ retentionMs: -1, segmentBytes: 1200 });
    for (let i = 0; i < 6; i++) await log.append(await batchOf(500), 0);
    const segments = log.segmentCount;
    expect(segments).toBeGreaterThan(2);
    const timersBefore = time.pending;
    time.advance(retentionCheckIntervalMs);
    await settle();
    expect(log.logStartOffset).toBe(0n);

    log.reconfigure({ ...log.logConfig, retentionMs: 1000 });
    // The same set of timers, restarted: none of the old ones is left behind.
    expect(time.pending).toBe(timersBefore);
    time.advance(retentionCheckIntervalMs);
    await settle();
    expect(log.logStartOffset).toBeGreaterThan(0n);
    expect(log.segmentCount).toBe(1);
    await log.close();
  });

  it('leaves the recovery-point checkpoint on its schedule however often settings change', async () => {
    const { log, time, fs } = await openLog();
    await log.append(await batchOf(100, [1n, 2n, 3n]), 0);
    await log.flush();
    const checkpoint = async (): Promise<string> => ((await fs.readFile(`/data/p0/${stateFileName}`))?.toString() ?? '');
    expect(await checkpoint()).toContain('"recoveryPoint":"0"');
    for (let i = 1; i <= 4; i++) {
      time.advance(recoveryCheckpointIntervalMs / 4);
      log.reconfigure({ ...log.logConfig, retentionMs: 1000 * i });
      await settle();
    }
    expect(await checkpoint()).toContain('"recoveryPoint":"3"');
    await log.close();
  });

  it('is ignored by a closed log', async () => {
    const { log } = await openLog();
    await log.close();
    log.reconfigure({ ...defaultLogConfig, maxMessageBytes: 5 });
    expect(log.logConfig.maxMessageBytes).toBe(defaultLogConfig.maxMessageBytes);
  });
});

describe('PartitionLog.offsetForMaxTimestamp', () => {
  it('finds the first record carrying the largest timestamp', async () => {
    const { log } = await openLog({ segmentBytes: 300 });
    await log.append(await batchOf(10, [100n, 500n, 200n]), 0); // offsets 0-2
    await log.append(await batchOf(10, [900n, 300n]), 0); // offsets 3-4
    await log.append(await batchOf(10, [400n, 900n]), 0); // offsets 5-6
    expect(log.segmentCount).toBeGreaterThan(1);
    await expect(log.offsetForMaxTimestamp()).resolves.toEqual({ offset: 3n, timestampMs: 900n });
    await log.close();
  });

  it('is null for an empty log', async () => {
    const { log } = await openLog();
    await expect(log.offsetForMaxTimestamp()).resolves.toBeNull();
    await log.close();
  });
});

describe('PartitionLog.leaderEpochAt', () => {
  it('names the epoch that wrote each offset', async () => {
    const { log } = await openLog();
    await log.append(await batchOf(10, [1n, 2n]), 0); // 0-1 in epoch 0
    await log.append(await batchOf(10, [3n]), 4); // 2 in epoch 4
    await log.append(await batchOf(10, [4n, 5n]), 7); // 3-4 in epoch 7
    expect([0n, 1n, 2n, 3n, 4n, 99n].map((offset) => log.leaderEpochAt(offset))).toEqual([0, 0, 4, 7, 7, 7]);
    await log.close();
  });

  it('is -1 before any epoch', async () => {
    const { log } = await openLog();
    expect(log.leaderEpochAt(0n)).toBe(-1);
    await log.close();
  });
});
