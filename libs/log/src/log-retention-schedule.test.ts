/**
 * When retention runs by itself: every `retentionCheckIntervalMs` (Kafka's
 * log.retention.check.interval.ms, set by the opener), the first time soon after the log opens
 * rather than a whole interval later, so a process restarted more often than the interval still
 * applies retention.
 */
import { buildBatch } from '@starlane/record-batch';
import { defaultLogConfig } from './config';
import { PartitionLog, retentionCheckIntervalMs, retentionFirstCheckDelayMsMax } from './log';
import { MemoryFileSystem } from '@starlane/io-ports';
import { ManualTime } from '../test/manual-time';

/** Lets the promise callbacks of a task the scheduler started run to completion. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Segments of about 1 KiB, whose records (timestamp 1) are long past a 1 s retention.ms. */
const config = { ...defaultLogConfig, retentionMs: 1000, segmentBytes: 1200 };
const expiredBatch = (): Promise<Buffer> => buildBatch([{ key: null, value: Buffer.alloc(500, 7), timestamp: 1n }]);

async function appendSegments(log: PartitionLog, batches: number): Promise<void> {
  for (let i = 0; i < batches; i++) await log.append(await expiredBatch(), 0);
  expect(log.segmentCount).toBeGreaterThan(1);
}

/** Advances `ms` and reports whether retention deleted anything meanwhile. */
async function retentionRanWithin(log: PartitionLog, time: ManualTime, ms: number): Promise<boolean> {
  const start = log.logStartOffset;
  time.advance(ms);
  await settle();
  return log.logStartOffset > start;
}

describe('the retention schedule', () => {
  it('checks first 30 s after open, so a log reopened more often than the interval still applies retention', async () => {
    const time = new ManualTime();
    const fs = new MemoryFileSystem();
    expect(retentionFirstCheckDelayMsMax).toBeLessThan(retentionCheckIntervalMs);
    // Three runs of a process that lives two minutes each, well inside the 5-minute interval.
    for (let run = 0; run < 3; run++) {
      const { log } = await PartitionLog.open({ directory: '/data/p0', fs, clock: time, scheduler: time, config });
      await appendSegments(log, 6);
      expect(await retentionRanWithin(log, time, retentionFirstCheckDelayMsMax - 1)).toBe(false);
      expect(await retentionRanWithin(log, time, 1)).toBe(true);
      expect(await retentionRanWithin(log, time, 120_000 - retentionFirstCheckDelayMsMax)).toBe(false);
      await log.close();
    }
  });

  it('then runs every retentionCheckIntervalMs the opener sets', async () => {
    const time = new ManualTime();
    const intervalMs = 60_000;
    const { log } = await PartitionLog.open({ directory: '/data/p0', fs: new MemoryFileSystem(), clock: time, scheduler: time, config, retentionCheckIntervalMs: intervalMs });
    expect(await retentionRanWithin(log, time, retentionFirstCheckDelayMsMax)).toBe(false);
    for (let check = 0; check < 3; check++) {
      await appendSegments(log, 6);
      expect(await retentionRanWithin(log, time, intervalMs - 1)).toBe(false);
      expect(await retentionRanWithin(log, time, 1)).toBe(true);
    }
    await log.close();
  });

  it('with an interval shorter than the first-check bound, checks first after one interval', async () => {
    const time = new ManualTime();
    const { log } = await PartitionLog.open({ directory: '/data/p0', fs: new MemoryFileSystem(), clock: time, scheduler: time, config, retentionCheckIntervalMs: 2000 });
    await appendSegments(log, 6);
    expect(await retentionRanWithin(log, time, 1999)).toBe(false);
    expect(await retentionRanWithin(log, time, 1)).toBe(true);
    await log.close();
  });
});
