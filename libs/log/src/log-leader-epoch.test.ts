/** A new leader's epoch recorded at its log end before it writes (Kafka's become-leader step), and retention bounded by the high watermark. */
import { buildBatch } from '@starlane/record-batch';
import { defaultLogConfig } from './config';
import { PartitionLog, leaderEpochFileName } from './log';
import { MemoryFileSystem, type Clock, type Scheduler } from '@starlane/io-ports';

/** Time that stands still: no background task runs during these tests. */
const time: Clock & Scheduler = { nowMs: () => 1_700_000_000_000, schedule: () => () => undefined };

async function open(fs: MemoryFileSystem): Promise<PartitionLog> {
  return (await PartitionLog.open({ directory: '/data/p0', fs, clock: time, scheduler: time, config: defaultLogConfig })).log;
}

const batch = (count: number): Promise<Buffer> => buildBatch(Array.from({ length: count }, (_, index) => ({ key: null, value: Buffer.from(`v${index}`), timestamp: 1n })));

describe('assignLeaderEpoch', () => {
  it('starts the epoch at the log end, so an epoch the log never wrote ends where the new one begins', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await log.append(await batch(3), 2);
    await log.assignLeaderEpoch(5);
    expect(log.latestEpoch).toBe(5);
    // Epochs 3 and 4 were never seen here: they end (as epoch 2) where epoch 5 began.
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 2, endOffset: 3n });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 3n });
    // The first write of the epoch does not move its start.
    await log.append(await batch(2), 5);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 3n });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 5n });
    await log.close();
  });

  it('writes the epoch to the checkpoint, ignores an epoch that is not newer, and recovery drops an epoch that holds no record', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await log.append(await batch(1), 4);
    await log.assignLeaderEpoch(3);
    expect(log.latestEpoch).toBe(4);
    await log.assignLeaderEpoch(6);
    expect((await fs.readFile(`/data/p0/${leaderEpochFileName}`))?.toString()).toContain('6 1');
    await log.close();
    // As Kafka's recovery does, entries starting at the log end are dropped on open: the node
    // leads again only by taking over anew, which records its epoch then.
    const reopened = await open(fs);
    expect(reopened.latestEpoch).toBe(4);
    await reopened.close();
  });
});

describe('retention bounded by the high watermark', () => {
  it('keeps segments holding offsets at or past retainFrom, and deletes them once it moves', async () => {
    const fs = new MemoryFileSystem();
    let highWatermark = 0n;
    const config = { ...defaultLogConfig, segmentBytes: 1, retentionBytes: 1 };
    const { log } = await PartitionLog.open({ directory: '/data/p0', fs, clock: time, scheduler: time, config, retainFrom: () => highWatermark });
    // Every batch is bigger than a segment, so every append after the first rolls one.
    for (let i = 0; i < 4; i += 1) await log.append(await batch(3), 1);
    expect(log.segmentCount).toBe(4);
    expect(await log.deleteOldSegments()).toBe(0);
    highWatermark = 6n;
    // Segments [0,3) and [3,6) lie wholly below the high watermark; [6,9) does not.
    expect(await log.deleteOldSegments()).toBe(2);
    expect(log.logStartOffset).toBe(6n);
    highWatermark = 12n;
    expect(await log.deleteOldSegments()).toBe(1);
    await log.close();
  });
});
