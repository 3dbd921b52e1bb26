/**
 * Seeded simulation of the partition log against a simple model: random appends, reads,
 * flushes, truncations, clean restarts and crashes (with torn, unsynced tails) on the
 * in-memory filesystem. After every step the log must read back exactly what the model holds;
 * after a crash it must hold a batch-aligned prefix of what was appended that keeps at least
 * everything made durable. fast-check prints the seed and the shrunk steps on failure.
 */
import fc from 'fast-check';
import { buildBatch, readBatch, scanBatches } from '@starlane/record-batch';
import { defaultLogConfig, type LogConfig } from './config';
import { PartitionLog } from './log';
import { MemoryFileSystem, type Clock, type Scheduler } from '@starlane/io-ports';

interface ModelBatch {
  readonly baseOffset: bigint;
  readonly values: readonly string[];
  readonly epoch: number;
}

type Step =
  | { kind: 'append'; records: number; epochBump: boolean }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'flush' }
  | { kind: 'truncate'; at: number }
  | { kind: 'restart' }
  | { kind: 'crash'; keepUnsynced: number }
  /** Several appends, flushes and a truncation issued at once, then awaited together. */
  | { kind: 'burst'; ops: ({ op: 'append'; records: number } | { op: 'flush' } | { op: 'truncate'; at: number })[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), records: fc.integer({ min: 1, max: 6 }), epochBump: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), maxBytes: fc.integer({ min: 1, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), keepUnsynced: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      ops: fc.array(
        fc.oneof(
          { weight: 5, arbitrary: fc.record({ op: fc.constant('append' as const), records: fc.integer({ min: 1, max: 4 }) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('flush' as const) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
        ),
        { minLength: 2, maxLength: 12 },
      ),
    }),
  },
);

const clock: Clock = { nowMs: () => 1_700_000_000_000 };
const scheduler: Scheduler = { schedule: () => () => undefined };

function modelEnd(batches: readonly ModelBatch[]): bigint {
  const last = batches.at(-1);
  return last === undefined ? 0n : last.baseOffset + BigInt(last.values.length);
}

async function readEverything(log: PartitionLog): Promise<{ offset: bigint; value: string; epoch: number }[]> {
  const out: { offset: bigint; value: string; epoch: number }[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = await log.read(offset, { maxBytes: 4096 });
    expect(result.records.length).toBeGreaterThan(0);
    const scan = scanBatches(result.records, { batchBytesMax: 1 << 20 });
    expect(scan.end).toBe(result.records.length);
    for (const slice of scan.batches) {
      const decoded = await readBatch(slice.bytes);
      for (const record of decoded.records) out.push({ offset: record.offset, value: record.value?.toString() ?? '', epoch: decoded.header.partitionLeaderEpoch });
    }
    offset = result.nextOffset;
  }
  return out;
}

function flatten(batches: readonly ModelBatch[]): { offset: bigint; value: string; epoch: number }[] {
  return batches.flatMap((batch) => batch.values.map((value, i) => ({ offset: batch.baseOffset + BigInt(i), value, epoch: batch.epoch })));
}

async function simulate(steps: readonly Step[], config: LogConfig): Promise<void> {
  const fs = new MemoryFileSystem();
  const directory = '/data/topic-0';
  const open = async (): Promise<PartitionLog> => (await PartitionLog.open({ directory, fs, clock, scheduler, config })).log;
  let log = await open();
  let model: ModelBatch[] = [];
  let durableEnd = 0n;
  let epoch = 0;
  let serial = 0;

  for (const current of steps) {
    switch (current.kind) {
      case 'append': {
        if (current.epochBump) epoch++;
        const values = Array.from({ length: current.records }, () => `v${serial++}`);
        const batch = await buildBatch(values.map((value) => ({ key: null, value: Buffer.from(value), timestamp: 1000n })));
        const result = await log.append(batch, epoch);
        expect(result.baseOffset).toBe(modelEnd(model));
        model.push({ baseOffset: result.baseOffset, values, epoch });
        if (config.flushMessages === 1) durableEnd = modelEnd(model);
        break;
      }
      case 'read': {
        const end = modelEnd(model);
        if (end === 0n) break;
        const offset = BigInt(Math.min(Number(end) - 1, Math.floor(current.at * Number(end))));
        const result = await log.read(offset, { maxBytes: current.maxBytes });
        const first = await readBatch(scanBatches(result.records, { batchBytesMax: 1 << 20 }).batches[0]?.bytes ?? Buffer.alloc(0));
        const holder = model.find((batch) => batch.baseOffset <= offset && offset < batch.baseOffset + BigInt(batch.values.length));
        expect(first.header.baseOffset).toBe(holder?.baseOffset);
        break;
      }
      case 'flush':
        await log.flush();
        durableEnd = modelEnd(model);
        expect(log.recoveryPoint).toBe(durableEnd);
        break;
      case 'truncate': {
        const end = modelEnd(model);
        const offset = BigInt(Math.floor(current.at * Number(end)));
        await log.truncateTo(offset);
        model = model.filter((batch) => batch.baseOffset + BigInt(batch.values.length) - 1n < offset);
        if (durableEnd > modelEnd(model)) durableEnd = modelEnd(model);
        break;
      }
      case 'restart':
        await log.close();
        log = await open();
        durableEnd = modelEnd(model);
        break;
      case 'burst': {
        // Issued without awaiting: the log must apply them in call order, as the model does.
        const pending: Promise<unknown>[] = [];
        let end = modelEnd(model);
        let flushedUpTo = -1n;
        for (const op of current.ops) {
          if (op.op === 'append') {
            const values = Array.from({ length: op.records }, () => `v${serial++}`);
            const batch = await buildBatch(values.map((value) => ({ key: null, value: Buffer.from(value), timestamp: 1000n })));
            const expectedBase = end;
            model.push({ baseOffset: expectedBase, values, epoch });
            end += BigInt(values.length);
            pending.push(log.append(batch, epoch).then((result) => expect(result.baseOffset).toBe(expectedBase)));
          } else if (op.op === 'flush') {
            // A flush covers every append called before it (a later truncation may cut them).
            const upTo = end;
            pending.push(log.flush().then(() => expect(log.recoveryPoint >= upTo || log.logEndOffset < upTo).toBe(true)));
            flushedUpTo = upTo;
          } else {
            const offset = BigInt(Math.floor(op.at * Number(end)));
            model = model.filter((batch) => batch.baseOffset + BigInt(batch.values.length) - 1n < offset);
            end = modelEnd(model);
            if (durableEnd > end) durableEnd = end;
            if (flushedUpTo > end) flushedUpTo = end;
            pending.push(log.truncateTo(offset));
          }
        }
        await Promise.all(pending);
        if (config.flushMessages === 1) durableEnd = modelEnd(model);
        else if (flushedUpTo > durableEnd && flushedUpTo <= modelEnd(model)) durableEnd = flushedUpTo;
        if (durableEnd > modelEnd(model)) durableEnd = modelEnd(model);
        break;
      }
      case 'crash': {
        fs.crash((_path, unsynced) => Math.floor(current.keepUnsynced * unsynced));
        log = await open();
        // A batch-aligned prefix of what was appended, keeping everything that was durable.
        const recoveredEnd = log.logEndOffset;
        expect(recoveredEnd >= durableEnd).toBe(true);
        expect(recoveredEnd <= modelEnd(model)).toBe(true);
        model = model.filter((batch) => batch.baseOffset + BigInt(batch.values.length) <= recoveredEnd);
        expect(modelEnd(model)).toBe(recoveredEnd);
        durableEnd = recoveredEnd;
        break;
      }
    }
    expect(log.logEndOffset).toBe(modelEnd(model));
    expect(await readEverything(log)).toEqual(flatten(model));
    const lastEpoch = model.at(-1)?.epoch;
    if (lastEpoch !== undefined) expect(log.endOffsetForEpoch(lastEpoch).endOffset).toBe(modelEnd(model));
  }
  await log.close();
}

describe('partition log against a model (seeded simulation)', () => {
  const base: LogConfig = { ...defaultLogConfig, segmentBytes: 400, indexIntervalBytes: 100 };

  it('matches the model with flush policy "never" (durability only by explicit flush)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => simulate(steps, base)),
      { numRuns: 150 },
    );
  });

  it('matches the model with an fsync per append: nothing acknowledged is lost in a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => simulate(steps, { ...base, flushMessages: 1 })),
      { numRuns: 150 },
    );
  });
});
