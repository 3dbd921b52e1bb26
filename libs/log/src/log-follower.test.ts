/**
 * What a follower's log does with what its leader tells it: truncation at or past its end,
 * truncation at or below its start, and batches larger than its own max.message.bytes.
 */
import { buildBatch } from '@starlane/record-batch';
import { defaultLogConfig, type LogConfig } from './config';
import { PartitionLog, leaderEpochFileName } from './log';
import { MemoryFileSystem, type Clock, type Scheduler } from '@starlane/io-ports';

/** Time that stands still: no background task runs during these tests. */
const time: Clock & Scheduler = { nowMs: () => 1_700_000_000_000, schedule: () => () => undefined };
const directory = '/data/p0';

async function open(fs: MemoryFileSystem, config: Partial<LogConfig> = {}): Promise<PartitionLog> {
  return (await PartitionLog.open({ directory, fs, clock: time, scheduler: time, config: { ...defaultLogConfig, ...config } })).log;
}

const batch = (count: number, valueBytes = 2): Promise<Buffer> =>
  buildBatch(Array.from({ length: count }, (_, index) => ({ key: null, value: Buffer.alloc(valueBytes, index), timestamp: 1n })));

async function checkpoint(fs: MemoryFileSystem): Promise<string | undefined> {
  return (await fs.readFile(`${directory}/${leaderEpochFileName}`))?.toString();
}

describe('truncation at or past the log end', () => {
  it('drops an epoch recorded at the log end without a write, and writes the checkpoint', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await log.append(await batch(10), 0);
    // This replica led in epoch 2 and wrote nothing in it.
    await log.assignLeaderEpoch(2);
    expect(await checkpoint(fs)).toBe('0\n2\n0 0\n2 10\n');

    // A leader that never saw epoch 2 says epoch 0 ends at 10 here too: the cut changes no batch.
    await log.truncateTo(10n);
    expect(log.logEndOffset).toBe(10n);
    expect(log.latestEpoch).toBe(0);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: -1, endOffset: -1n });
    expect(await checkpoint(fs)).toBe('0\n1\n0 0\n');
    await log.close();
  });

  it('keeps the epochs that wrote records when cut past the end', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await log.append(await batch(3), 1);
    await log.append(await batch(2), 4);
    await log.truncateTo(50n);
    expect([log.logEndOffset, log.latestEpoch]).toEqual([5n, 4]);
    expect(await checkpoint(fs)).toBe('0\n2\n1 0\n4 3\n');
    await log.close();
  });
});

describe('truncation at or below the log start', () => {
  /** A log whose start moved to 6 by retention, ending at 9. */
  async function retained(fs: MemoryFileSystem): Promise<PartitionLog> {
    const log = await open(fs, { segmentBytes: 1, retentionBytes: 1 });
    for (let i = 0; i < 3; i += 1) await log.append(await batch(3), 1);
    await log.deleteOldSegments();
    expect([log.logStartOffset, log.logEndOffset]).toEqual([6n, 9n]);
    return log;
  }

  it('starts the log empty at the offset asked for, below the old start (Kafka truncateFullyAndStartAt)', async () => {
    const fs = new MemoryFileSystem();
    const log = await retained(fs);
    await log.truncateTo(4n);
    expect([log.logStartOffset, log.logEndOffset, log.latestEpoch]).toEqual([4n, 4n, -1]);
    expect((await log.append(await batch(1), 2)).baseOffset).toBe(4n);
    await log.close();
    // The new start survives a reopen.
    const reopened = await open(fs, { segmentBytes: 1, retentionBytes: 1 });
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([4n, 5n]);
    await reopened.close();
  });

  it('starts the log empty at the old start when cut exactly there', async () => {
    const fs = new MemoryFileSystem();
    const log = await retained(fs);
    await log.truncateTo(6n);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([6n, 6n]);
    await log.close();
  });
});

describe('follower appends', () => {
  it('copies batches larger than its max.message.bytes, which a leader append refuses', async () => {
    const fs = new MemoryFileSystem();
    const leader = await open(fs);
    await leader.append(await batch(2, 4_000), 3);
    const written = (await leader.read(0n, { maxBytes: 1 << 20 })).records;
    await leader.close();
    expect(written.length).toBeGreaterThan(8_000);

    // The topic's max.message.bytes was lowered after the leader wrote the batch.
    const follower = await open(new MemoryFileSystem(), { maxMessageBytes: 1_000 });
    await expect(follower.append(await batch(2, 4_000), 3)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(await follower.appendAsFollower(written)).toMatchObject({ baseOffset: 0n, lastOffset: 1n });
    expect([follower.logEndOffset, follower.latestEpoch]).toEqual([2n, 3]);
    expect((await follower.read(0n, { maxBytes: 100 })).records).toEqual(written);
    await follower.close();
  });
});

describe('batches larger than today’s settings', () => {
  it('survive recovery, a read and a truncation after max.message.bytes and segment.bytes were lowered below them', async () => {
    const fs = new MemoryFileSystem();
    const leader = await open(fs, { flushMessages: 1 });
    await leader.append(await batch(2, 4_000), 3);
    await leader.append(await batch(1), 3);
    // An unclean stop: the reopen recovers the active segment by scanning it.
    fs.crash();

    // Both settings were lowered below the batch already written.
    const recovered = await open(fs, { flushMessages: 1, maxMessageBytes: 1_000, segmentBytes: 1_000 });
    expect([recovered.logStartOffset, recovered.logEndOffset]).toEqual([0n, 3n]);
    expect((await recovered.read(0n, { maxBytes: 100 })).records.length).toBeGreaterThan(8_000);
    expect(await recovered.offsetForTimestamp(0n)).toMatchObject({ offset: 0n });
    await recovered.truncateTo(2n);
    expect(recovered.logEndOffset).toBe(2n);
    await recovered.close();
  });
});
