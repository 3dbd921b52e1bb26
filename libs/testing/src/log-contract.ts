/**
 * The partition log's contract, as one Jest suite run against every LogFileSystem
 * implementation (on disk and in memory): what a storage node may rely on whichever store
 * holds the data.
 */
import type { LogFileSystem } from '@starlane/io-ports';
import { cleanShutdownFileName, defaultLogConfig, leaderEpochFileName, loadedIndexesMax, PartitionLog, retentionCheckIntervalMs, stateFileName, type LogConfig } from '@starlane/log';
import { StarlaneError } from '@starlane/model';
import { buildBatch, crc32c, readBatch, scanBatches, type NewRecord } from '@starlane/record-batch';
import { ManualClock, ManualScheduler } from './manual-time';

/** An object's methods bound to it, so a test can wrap some and keep the rest. */
function bindAll<T extends object>(target: T): T {
  const bound: Record<string, unknown> = {};
  let proto: object | null = target;
  while (proto !== null && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (target as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof value === 'function' && !(name in bound)) bound[name] = (value as (...args: unknown[]) => unknown).bind(target);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return bound as T;
}

/** Waits for background work the scheduler started: polls `done` between event-loop turns. */
async function waitFor(done: () => boolean, turnsMax = 10_000): Promise<void> {
  for (let turn = 0; turn < turnsMax && !done(); turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  if (!done()) throw new Error(`condition not reached after ${turnsMax} event-loop turns`);
}

export interface LogContractHarness {
  readonly fs: LogFileSystem;
  /** A fresh directory for one test. */
  directory(): Promise<string>;
  cleanup?(): Promise<void>;
}

export function recordsFor(tag: string, count: number, timestamp = 1_700_000_000_000n): NewRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`${tag}-key-${i % 7}`),
    value: Buffer.from(`${tag}-value-${i}`),
    headers: [],
    timestamp: timestamp + BigInt(i),
  }));
}

export async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<{ offset: bigint; value: string }[]> {
  const out: { offset: bigint; value: string }[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, { maxBytes: 64 * 1024 });
    if (result.records.length === 0) break;
    for (const slice of scanBatches(result.records, { batchBytesMax: 1 << 30 }).batches) {
      for (const record of (await readBatch(slice.bytes)).records) {
        if (record.offset >= offset) out.push({ offset: record.offset, value: record.value?.toString() ?? '<null>' });
      }
    }
    offset = result.nextOffset;
  }
  return out;
}

export function describeLogContract(name: string, makeHarness: () => Promise<LogContractHarness>): void {
  describe(`partition log contract on ${name}`, () => {
    let harness: LogContractHarness;
    let clock: ManualClock;
    let scheduler: ManualScheduler;
    const open = async (directory: string, config: Partial<LogConfig> = {}): Promise<PartitionLog> =>
      (await PartitionLog.open({ directory, fs: harness.fs, clock, scheduler, config: { ...defaultLogConfig, ...config } })).log;

    beforeEach(async () => {
      harness = await makeHarness();
      clock = new ManualClock();
      scheduler = new ManualScheduler(clock);
    });
    afterEach(async () => {
      await harness.cleanup?.();
    });

    it('assigns contiguous offsets from 0 and reads every record back in order', async () => {
      const log = await open(await harness.directory());
      const first = await log.append(await buildBatch(recordsFor('a', 3)), 0);
      const second = await log.append(Buffer.concat([await buildBatch(recordsFor('b', 2)), await buildBatch(recordsFor('c', 4))]), 0);
      expect([first.baseOffset, first.lastOffset, second.baseOffset, second.lastOffset]).toEqual([0n, 2n, 3n, 8n]);
      expect(log.logEndOffset).toBe(9n);
      const values = (await readAll(log)).map((r) => `${r.offset}:${r.value}`);
      expect(values).toEqual([
        '0:a-value-0', '1:a-value-1', '2:a-value-2', '3:b-value-0', '4:b-value-1',
        '5:c-value-0', '6:c-value-1', '7:c-value-2', '8:c-value-3',
      ]);
      await log.close();
    });

    it('stamps the leader epoch and keeps the producer CRC valid', async () => {
      const log = await open(await harness.directory());
      await log.append(await buildBatch(recordsFor('a', 2)), 7);
      const { records } = await log.read(0n, { maxBytes: 1 << 20 });
      const decoded = await readBatch(records);
      expect(decoded.header).toMatchObject({ baseOffset: 0n, partitionLeaderEpoch: 7 });
      expect(log.endOffsetForEpoch(7)).toEqual({ epoch: 7, endOffset: 2n });
      await log.close();
    });

    it('returns whole batches from the one holding the offset, at least one whatever max bytes says', async () => {
      const log = await open(await harness.directory());
      for (let i = 0; i < 5; i++) await log.append(await buildBatch(recordsFor(`b${i}`, 10)), 0);
      const middle = await log.read(25n, { maxBytes: 1 });
      const batch = await readBatch(middle.records);
      expect(batch.header.baseOffset).toBe(20n);
      expect(middle.nextOffset).toBe(30n);
      const reused = Buffer.alloc(64 * 1024);
      const intoBuffer = await log.read(25n, { maxBytes: 1, buffer: reused });
      expect(intoBuffer.records.buffer).toBe(reused.buffer);
      expect(intoBuffer.records).toEqual(middle.records);
      const bounded = await log.read(0n, { maxBytes: 1 << 20, maxOffset: 20n });
      expect(scanBatches(bounded.records, { batchBytesMax: 1 << 20 }).batches.map((b) => b.header.baseOffset)).toEqual([0n, 10n]);
      await log.close();
    });

    it('answers OFFSET_OUT_OF_RANGE outside [log start, log end] and nothing at the end', async () => {
      const log = await open(await harness.directory());
      await log.append(await buildBatch(recordsFor('a', 3)), 0);
      await expect(log.read(4n, { maxBytes: 100 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
      await expect(log.read(-1n, { maxBytes: 100 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
      expect((await log.read(3n, { maxBytes: 100 })).records.length).toBe(0);
      await log.close();
    });

    it('refuses corrupt, oversized and empty input and keeps what it had', async () => {
      const log = await open(await harness.directory(), { maxMessageBytes: 2048 });
      await log.append(await buildBatch(recordsFor('ok', 2)), 0);
      const damaged = await buildBatch(recordsFor('bad', 2));
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
      await expect(log.append(damaged, 0)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
      await expect(log.append(await buildBatch([{ key: null, value: Buffer.alloc(4096), timestamp: 0n }]), 0)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
      await expect(log.append(Buffer.alloc(0), 0)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      await expect(log.append(Buffer.from('not a batch at all, just some bytes that go on for a while...........'), 0)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
      expect(log.logEndOffset).toBe(2n);
      expect((await readAll(log)).map((r) => r.value)).toEqual(['ok-value-0', 'ok-value-1']);
      await log.close();
    });

    it('rolls segments by size and by age, and reads across them', async () => {
      const log = await open(await harness.directory(), { segmentBytes: 600, segmentMs: 60_000 });
      for (let i = 0; i < 6; i++) await log.append(await buildBatch(recordsFor(`s${i}`, 4)), 0);
      const bySize = log.segmentCount;
      expect(bySize).toBeGreaterThan(1);
      clock.advance(60_000);
      await log.append(await buildBatch(recordsFor('late', 1)), 0);
      expect(log.segmentCount).toBe(bySize + 1);
      expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 25 }, (_, i) => BigInt(i)));
      await log.close();
    });

    it('reopens after a clean close with the same content, offsets and epochs', async () => {
      const directory = await harness.directory();
      const log = await open(directory, { segmentBytes: 500 });
      for (let i = 0; i < 8; i++) await log.append(await buildBatch(recordsFor(`r${i}`, 3)), i < 4 ? 1 : 2);
      const before = await readAll(log);
      await log.close();
      const { log: reopened, report } = await PartitionLog.open({ directory, fs: harness.fs, clock, scheduler, config: { ...defaultLogConfig, segmentBytes: 500 } });
      expect(report).toMatchObject({ cleanShutdown: true, segmentsRecovered: 0, bytesTruncated: 0 });
      expect(await readAll(reopened)).toEqual(before);
      expect(reopened.logEndOffset).toBe(24n);
      expect(reopened.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 12n });
      await reopened.append(await buildBatch(recordsFor('after', 1)), 2);
      expect(reopened.logEndOffset).toBe(25n);
      await reopened.close();
    });

    it('keeps the indexes of a bounded number of segments in memory, however many there are', async () => {
      const directory = await harness.directory();
      const log = await open(directory, { segmentBytes: 300, indexIntervalBytes: 50 });
      for (let i = 0; i < 60; i++) await log.append(await buildBatch(recordsFor(`m${i}`, 2, 1000n * BigInt(i))), 0);
      expect(log.segmentCount).toBeGreaterThan(3 * loadedIndexesMax);
      expect(log.segmentsWithLoadedIndexes).toBeLessThanOrEqual(loadedIndexesMax);
      // Reads and time lookups across every segment load indexes back on demand, within the bound.
      expect((await readAll(log)).length).toBe(120);
      expect(await log.offsetForTimestamp(30_000n)).toEqual({ offset: 60n, timestampMs: 30_000n });
      expect(log.segmentsWithLoadedIndexes).toBeLessThanOrEqual(loadedIndexesMax);
      await log.close();
      // Opening after a crash recovers every segment and stays within the bound too.
      await harness.fs.remove(`${directory}/${cleanShutdownFileName}`);
      await harness.fs.remove(`${directory}/${stateFileName}`);
      const recovered = await open(directory, { segmentBytes: 300, indexIntervalBytes: 50 });
      expect(recovered.segmentsWithLoadedIndexes).toBeLessThanOrEqual(loadedIndexesMax);
      expect((await readAll(recovered)).map((r) => r.offset)).toEqual(Array.from({ length: 120 }, (_, i) => BigInt(i)));
      await recovered.close();
    });

    it('keeps idempotent-producer state across rolls, restarts, crashes and truncation', async () => {
      const directory = await harness.directory();
      const config = { segmentBytes: 400 };
      const log = await open(directory, config);
      // Producer 7 sends 12 batches of 2 records: sequences 0-1, 2-3, ... 22-23.
      for (let n = 0; n < 12; n++) {
        await log.append(await buildBatch(recordsFor(`p${n}`, 2), { producerId: 7n, producerEpoch: 3, baseSequence: 2 * n }), 0);
      }
      await log.append(await buildBatch(recordsFor('plain', 1)), 0);
      const lastSequences = (state: ReturnType<PartitionLog['producerState']>): number[] => state?.batches.map((b) => b.lastSeq) ?? [];
      expect(log.segmentCount).toBeGreaterThan(2);
      expect(log.producerState(7n)).toMatchObject({ producerEpoch: 3 });
      expect(lastSequences(log.producerState(7n))).toEqual([15, 17, 19, 21, 23]);

      await log.close();
      const reopened = await open(directory, config);
      expect(lastSequences(reopened.producerState(7n))).toEqual([15, 17, 19, 21, 23]);

      // Truncating away the last three batches of producer 7 (offsets 18..23 and the plain one).
      await reopened.truncateTo(18n);
      expect(lastSequences(reopened.producerState(7n))).toEqual([9, 11, 13, 15, 17]);
      await reopened.release();

      // A crash-style open (no marker, no checkpoint) rebuilds the same state from snapshots and headers.
      await harness.fs.remove(`${directory}/${stateFileName}`);
      const recovered = await open(directory, config);
      expect(lastSequences(recovered.producerState(7n))).toEqual([9, 11, 13, 15, 17]);
      expect(recovered.producerState(8n)).toBeUndefined();
      await recovered.close();
    });

    it('rolls inside one coalesced write of many concurrent appends without stalling', async () => {
      const log = await open(await harness.directory(), { segmentBytes: 300 });
      const results = await Promise.all(Array.from({ length: 32 }, async (_, i) => log.append(await buildBatch(recordsFor(`c${i}`, 2)), 0)));
      expect(results.map((r) => r.baseOffset).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 32 }, (_, i) => BigInt(2 * i)));
      expect(log.segmentCount).toBeGreaterThan(4);
      await log.flush();
      expect(log.recoveryPoint).toBe(64n);
      await log.close();
    });

    it('refuses follower batches that do not continue the log, writing none of them', async () => {
      const log = await open(await harness.directory());
      await log.append(await buildBatch(recordsFor('a', 2)), 1);
      const good = await buildBatch(recordsFor('f', 2), { baseOffset: 2n, partitionLeaderEpoch: 1 });
      const gap = await buildBatch(recordsFor('g', 2), { baseOffset: 9n, partitionLeaderEpoch: 2 });
      await expect(log.appendAsFollower(Buffer.concat([good, gap]))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect(log.logEndOffset).toBe(2n);
      expect(log.latestEpoch).toBe(1);
      expect((await log.appendAsFollower(good)).lastOffset).toBe(3n);
      await log.close();
    });

    it('refuses producer batches that claim more offsets than they hold records', async () => {
      const log = await open(await harness.directory());
      const batch = await buildBatch(recordsFor('x', 2));
      batch.writeInt32BE(1_000_000, 23); // lastOffsetDelta, inside the CRC: recompute it
      batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
      await expect(log.append(batch, 0)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
      expect(log.logEndOffset).toBe(0n);
      await log.close();
    });

    it('re-reads epochs from recovered batches when the epoch checkpoint lags them', async () => {
      const directory = await harness.directory();
      const log = await open(directory);
      await log.append(await buildBatch(recordsFor('e1', 2)), 1);
      const stale = await harness.fs.readFile(`${directory}/${leaderEpochFileName}`);
      await log.append(await buildBatch(recordsFor('e2', 3)), 2);
      await log.release();
      // As if the process died after writing epoch 2's batch but before its checkpoint.
      await harness.fs.writeFileAtomic(`${directory}/${leaderEpochFileName}`, stale ?? Buffer.alloc(0));
      await harness.fs.remove(`${directory}/${stateFileName}`);
      const recovered = await open(directory);
      expect(recovered.latestEpoch).toBe(2);
      expect(recovered.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 2n });
      expect(recovered.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 5n });
      await recovered.close();
    });

    it('cuts the log at a missing segment rather than leaving a hole in its offsets', async () => {
      const directory = await harness.directory();
      const log = await open(directory, { segmentBytes: 300 });
      for (let i = 0; i < 12; i++) await log.append(await buildBatch(recordsFor(`h${i}`, 2)), 0);
      await log.close();
      const segments = (await harness.fs.list(directory)).filter((name) => name.endsWith('.log'));
      expect(segments.length).toBeGreaterThan(3);
      const missing = segments[2] ?? '';
      await harness.fs.remove(`${directory}/${missing}`);
      await harness.fs.remove(`${directory}/${cleanShutdownFileName}`);
      const { log: recovered, report } = await PartitionLog.open({ directory, fs: harness.fs, clock, scheduler, config: { ...defaultLogConfig, segmentBytes: 300 } });
      expect(report.segmentsDeleted).toBeGreaterThan(0);
      expect(recovered.logEndOffset).toBe(BigInt(missing.replace('.log', '')));
      expect((await readAll(recovered)).map((r) => r.offset)).toEqual(Array.from({ length: Number(recovered.logEndOffset) }, (_, i) => BigInt(i)));
      await recovered.close();
    });

    it('forgets epochs and producers when the whole log is replaced', async () => {
      const log = await open(await harness.directory());
      await log.append(await buildBatch(recordsFor('p', 2), { producerId: 7n, producerEpoch: 0, baseSequence: 0 }), 3);
      await log.truncateFullyAndStartAt(1000n);
      expect([log.logStartOffset, log.logEndOffset, log.latestEpoch]).toEqual([1000n, 1000n, -1]);
      expect(log.producerState(7n)).toBeUndefined();
      expect(log.endOffsetForEpoch(3)).toEqual({ epoch: -1, endOffset: -1n });
      expect((await log.append(await buildBatch(recordsFor('n', 1)), 4)).baseOffset).toBe(1000n);
      await log.close();
    });

    it('truncated at its end, drops an epoch recorded there without a write; below its start, starts empty at the offset', async () => {
      const directory = await harness.directory();
      const log = await open(directory, { segmentBytes: 1, retentionBytes: 1 });
      for (let i = 0; i < 3; i++) await log.append(await buildBatch(recordsFor(`t${i}`, 3)), 1);
      await log.assignLeaderEpoch(2);
      await log.truncateTo(9n);
      expect([log.logEndOffset, log.latestEpoch]).toEqual([9n, 1]);
      expect((await harness.fs.readFile(`${directory}/${leaderEpochFileName}`))?.toString()).toBe('0\n1\n1 0\n');
      await log.deleteOldSegments();
      expect(log.logStartOffset).toBe(6n);
      await log.truncateTo(4n);
      expect([log.logStartOffset, log.logEndOffset, log.latestEpoch]).toEqual([4n, 4n, -1]);
      expect((await log.append(await buildBatch(recordsFor('u', 1)), 3)).baseOffset).toBe(4n);
      await log.close();
    });

    it('takes follower batches larger than max.message.bytes', async () => {
      const log = await open(await harness.directory(), { maxMessageBytes: 100 });
      const big = await buildBatch(recordsFor('big', 20));
      expect(big.length).toBeGreaterThan(100);
      await expect(log.append(big, 0)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
      expect((await log.appendAsFollower(big)).lastOffset).toBe(19n);
      expect((await readAll(log)).length).toBe(20);
      await log.close();
    });

    it('keeps a compacted log whole when its policy later becomes delete', async () => {
      const directory = await harness.directory();
      const log = await open(directory, { cleanupPolicy: 'compact', segmentBytes: 300 });
      for (let i = 0; i < 30; i++) await log.append(await buildBatch([{ key: Buffer.from(`k${i % 3}`), value: Buffer.from(`v${i}`), timestamp: 0n }]), 0);
      expect((await log.compact()).recordsRemoved).toBeGreaterThan(0);
      const survivors = await readAll(log);
      await log.close();
      const reopened = await open(directory, { cleanupPolicy: 'delete', segmentBytes: 300 });
      expect(reopened.logEndOffset).toBe(30n);
      expect(await readAll(reopened)).toEqual(survivors);
      await reopened.close();
    });

    it('looks past a batch whose header timestamp promises more than its records hold', async () => {
      const log = await open(await harness.directory());
      const liar = await buildBatch([{ key: null, value: Buffer.from('old'), timestamp: 1000n }]);
      liar.writeBigInt64BE(9000n, 35); // maxTimestamp, inside the CRC
      liar.writeUInt32BE(crc32c(liar.subarray(21)), 17);
      await log.append(liar, 0);
      await log.append(await buildBatch([{ key: null, value: Buffer.from('new'), timestamp: 5000n }]), 0);
      expect(await log.offsetForTimestamp(4000n)).toEqual({ offset: 1n, timestampMs: 5000n });
      await log.close();
    });

    it('commits many concurrent durable appends with far fewer fsyncs than appends', async () => {
      let syncs = 0;
      const counting: LogFileSystem = {
        ...bindAll(harness.fs),
        open: async (path, options) => {
          const file = await harness.fs.open(path, options);
          return { ...bindAll(file), sync: async () => { syncs++; await file.sync(); } };
        },
      };
      const directory = await harness.directory();
      const { log } = await PartitionLog.open({ directory, fs: counting, clock, scheduler, config: { ...defaultLogConfig, flushMessages: 1 } });
      const before = syncs;
      await Promise.all(Array.from({ length: 64 }, async (_, i) => log.append(await buildBatch(recordsFor(`g${i}`, 1)), 0)));
      expect(log.recoveryPoint).toBe(64n);
      expect(syncs - before).toBeLessThanOrEqual(8);
      await log.close();
    });

    it('goes offline when a change to its files fails part-way, instead of serving a torn state', async () => {
      let failRemovals = false;
      const faulty: LogFileSystem = {
        ...bindAll(harness.fs),
        remove: async (path) => {
          if (failRemovals) throw new StarlaneError('STORAGE_UNAVAILABLE', `injected failure removing ${path}`);
          await harness.fs.remove(path);
        },
      };
      const directory = await harness.directory();
      const { log } = await PartitionLog.open({ directory, fs: faulty, clock, scheduler, config: { ...defaultLogConfig, segmentBytes: 300 } });
      for (let i = 0; i < 10; i++) await log.append(await buildBatch(recordsFor(`t${i}`, 2)), 0);
      failRemovals = true;
      await expect(log.truncateTo(4n)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(log.append(await buildBatch(recordsFor('after', 1)), 0)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(log.read(0n, { maxBytes: 100 })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      failRemovals = false;
      await log.release();
      const reopened = await open(directory, { segmentBytes: 300 });
      expect((await readAll(reopened)).map((r) => r.offset)).toEqual(Array.from({ length: Number(reopened.logEndOffset) }, (_, i) => BigInt(i)));
      await reopened.close();
    });

    it('finds offsets by timestamp', async () => {
      const log = await open(await harness.directory(), { segmentBytes: 400 });
      for (let i = 0; i < 6; i++) await log.append(await buildBatch(recordsFor(`t${i}`, 5, 1000n * BigInt(i + 1))), 0);
      expect(await log.offsetForTimestamp(0n)).toEqual({ offset: 0n, timestampMs: 1000n });
      expect(await log.offsetForTimestamp(3002n)).toEqual({ offset: 12n, timestampMs: 3002n });
      expect(await log.offsetForTimestamp(3005n)).toEqual({ offset: 15n, timestampMs: 4000n });
      expect(await log.offsetForTimestamp(99_999n)).toBeNull();
      await log.close();
    });

    it('truncates to an offset, dropping later segments and epochs, and appends on from there', async () => {
      const log = await open(await harness.directory(), { segmentBytes: 500 });
      for (let i = 0; i < 8; i++) await log.append(await buildBatch(recordsFor(`x${i}`, 3)), i < 5 ? 3 : 4);
      await log.truncateTo(10n);
      // The batch holding offset 10 (9..11) goes whole.
      expect(log.logEndOffset).toBe(9n);
      expect(log.latestEpoch).toBe(3);
      expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 9 }, (_, i) => BigInt(i)));
      const next = await log.append(await buildBatch(recordsFor('new', 2)), 5);
      expect(next.baseOffset).toBe(9n);
      expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 9n });
      await log.close();
    });

    it('deletes whole segments by retention.bytes and retention.ms and moves the log start', async () => {
      const log = await open(await harness.directory(), { segmentBytes: 400, segmentMs: 1_800_000, retentionBytes: 900, retentionMs: 3_600_000 });
      for (let i = 0; i < 10; i++) await log.append(await buildBatch(recordsFor(`d${i}`, 3, BigInt(clock.nowMs()))), 0);
      const segments = log.segmentCount;
      const deleted = await log.deleteOldSegments();
      expect(deleted).toBeGreaterThan(0);
      expect(log.segmentCount).toBe(segments - deleted);
      expect(log.sizeBytes).toBeLessThan(900 + 400);
      expect(log.logStartOffset).toBeGreaterThan(0n);
      await expect(log.read(0n, { maxBytes: 100 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
      expect((await readAll(log))[0]?.offset).toBe(log.logStartOffset);

      // Past segment.ms the next append rolls, and past retention.ms every older segment goes.
      clock.advance(3_600_010);
      await log.append(await buildBatch(recordsFor('fresh', 1, BigInt(clock.nowMs()))), 0);
      // Retention also runs by itself on the log's scheduler.
      const start = log.logStartOffset;
      await scheduler.advance(retentionCheckIntervalMs);
      await log.flush();
      await waitFor(() => log.logStartOffset > start);
      expect((await readAll(log)).map((r) => r.value)).toEqual(['fresh-value-0']);
      await log.close();
    });

    it('compacts closed segments to the newest record per key, keeping offsets, while appends go on', async () => {
      const directory = await harness.directory();
      const config = { cleanupPolicy: 'compact' as const, segmentBytes: 700, deleteRetentionMs: 60_000 };
      const log = await open(directory, config);
      const now = BigInt(clock.nowMs());
      // Five rounds over keys k0..k4: round r writes value `k<i>@<r>`; k4's last word is an old
      // tombstone and k3's a fresh one.
      const written: { key: string; value: string | null; offset: bigint }[] = [];
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 5; i++) {
          const key = `k${i}`;
          const last = round === 4;
          const value = last && i === 4 ? null : last && i === 3 ? null : `${key}@${round}`;
          const timestamp = last && i === 4 ? now - 120_000n : now;
          const result = await log.append(await buildBatch([{ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp }]), 0);
          written.push({ key, value, offset: result.baseOffset });
        }
      }
      // A few more records so every round above sits in closed segments.
      for (let i = 0; i < 8; i++) await log.append(await buildBatch([{ key: Buffer.from('filler'), value: Buffer.from(`f${i}`), timestamp: now }]), 0);
      const activeBase = log.logEndOffset;
      const segmentsBefore = log.segmentCount;
      expect(segmentsBefore).toBeGreaterThan(2);

      const appending = (async () => {
        for (let i = 0; i < 10; i++) await log.append(await buildBatch([{ key: Buffer.from('live'), value: Buffer.from(`l${i}`), timestamp: now }]), 0);
      })();
      const report = await log.compact();
      await appending;
      expect(report.segmentsCleaned).toBeGreaterThan(0);
      expect(report.recordsRemoved).toBeGreaterThan(0);
      expect(report.bytesAfter).toBeLessThan(report.bytesBefore);

      const survivors = new Map<bigint, string>();
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const result = await log.read(offset, { maxBytes: 1 << 20 });
        for (const slice of scanBatches(result.records, { batchBytesMax: 1 << 20 }).batches) {
          for (const record of (await readBatch(slice.bytes)).records) {
            survivors.set(record.offset, `${record.key?.toString()}=${record.value?.toString() ?? '<tombstone>'}`);
          }
        }
        offset = result.nextOffset;
      }
      // Each surviving record is at the offset it was written at.
      for (const entry of written) {
        const seen = survivors.get(entry.offset);
        if (seen !== undefined) expect(seen).toBe(`${entry.key}=${entry.value ?? '<tombstone>'}`);
      }
      const compactedRange = [...survivors.entries()].filter(([o, v]) => o < activeBase && !v.startsWith('filler') && !v.startsWith('live'));
      // In the cleaned segments no key appears twice, the old tombstone is gone, the fresh one stays.
      expect(compactedRange.map(([, v]) => v).sort()).toEqual(['k0=k0@4', 'k1=k1@4', 'k2=k2@4', 'k3=<tombstone>']);
      expect([...survivors.values()].filter((v) => v.startsWith('live'))).toHaveLength(10);

      // The compacted log, gaps and all, survives a clean restart and a full recovery scan.
      await log.close();
      const reopened = await open(directory, config);
      expect(reopened.logEndOffset).toBe(log.logEndOffset);
      expect((await readAll(reopened)).length).toBe(survivors.size);
      await reopened.close();
      await harness.fs.remove(`${directory}/${cleanShutdownFileName}`);
      await harness.fs.remove(`${directory}/${stateFileName}`);
      const { log: recovered, report: recovery } = await PartitionLog.open({ directory, fs: harness.fs, clock, scheduler, config: { ...defaultLogConfig, ...config } });
      expect(recovery).toMatchObject({ cleanShutdown: false, bytesTruncated: 0, segmentsDeleted: 0 });
      expect((await readAll(recovered)).length).toBe(survivors.size);
      await recovered.close();
    });

    it('makes appends durable per the flush policy, with many appends sharing an fsync', async () => {
      const log = await open(await harness.directory(), { flushMessages: 1 });
      const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => log.append(await buildBatch(recordsFor(`f${i}`, 1)), 0)));
      expect(results.map((r) => r.baseOffset).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
      expect(log.recoveryPoint).toBe(50n);
      await log.close();
    });
  });
}
