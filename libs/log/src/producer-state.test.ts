import fc from 'fast-check';
import { StarlaneError } from '@starlane/model';
import { crc32c } from '@starlane/record-batch';
import {
  ProducerStateManager,
  isNextSequence,
  lastSequenceOf,
  producerBatchesRetained,
  producerIdsMax,
  type AppendedProducerBatch,
  type ProducerAppendCheck,
  type ProducerBatchHeader,
} from './producer-state';

const int32Max = 2 ** 31 - 1;

/** A producer batch of `count` records starting at sequence `seq`. */
function batch(producerId: bigint, producerEpoch: number, seq: number, count = 1): ProducerBatchHeader {
  return { producerId, producerEpoch, baseSequence: seq, lastOffsetDelta: count - 1, recordCount: count };
}

/** Drives a manager the way the log does: check, then append at the log end and update. */
class FakeLog {
  readonly manager: ProducerStateManager;
  readonly appended: AppendedProducerBatch[] = [];
  logEndOffset = 0n;
  clockMs = 1_000n;

  constructor(manager = new ProducerStateManager()) {
    this.manager = manager;
  }

  produce(header: ProducerBatchHeader): ProducerAppendCheck {
    const result = this.manager.check(header);
    if (result.kind === 'append') this.append(header);
    return result;
  }

  /** Appends without checking, as a follower does with the leader's batches. */
  append(header: ProducerBatchHeader): AppendedProducerBatch {
    const appended = { ...header, baseOffset: this.logEndOffset, maxTimestamp: this.clockMs };
    this.manager.update(appended);
    this.appended.push(appended);
    this.logEndOffset += BigInt(header.lastOffsetDelta) + 1n;
    return appended;
  }
}

function expectError(action: () => unknown, code: string, message?: RegExp): void {
  expect(action).toThrow(StarlaneError);
  expect(action).toThrow(expect.objectContaining({ code }));
  if (message !== undefined) expect(action).toThrow(message);
}

describe('sequence arithmetic', () => {
  it('wraps from 2^31-1 to 0, as Kafka does', () => {
    expect(lastSequenceOf(0, 4)).toBe(4);
    // base 2147483646, lastOffsetDelta 3: sequences 2147483646, 2147483647, 0, 1
    expect(lastSequenceOf(int32Max - 1, 3)).toBe(1);
    expect(lastSequenceOf(int32Max, 0)).toBe(int32Max);
    expect(lastSequenceOf(int32Max, 1)).toBe(0);
    expect(isNextSequence(4, 5)).toBe(true);
    expect(isNextSequence(int32Max, 0)).toBe(true);
    expect(isNextSequence(4, 6)).toBe(false);
    expect(isNextSequence(4, 4)).toBe(false);
    expect(isNextSequence(int32Max - 1, 0)).toBe(false);
  });
});

describe('ProducerStateManager.check', () => {
  // The worked example of check's comment: producer 7 at epoch 0 with batches 0-4 (offsets
  // 100-104), 5-9 (110-114) and 10-10 (120-120).
  function workedExample(): ProducerStateManager {
    const manager = new ProducerStateManager();
    manager.update({ ...batch(7n, 0, 0, 5), baseOffset: 100n, maxTimestamp: 1n });
    manager.update({ ...batch(7n, 0, 5, 5), baseOffset: 110n, maxTimestamp: 2n });
    manager.update({ ...batch(7n, 0, 10, 1), baseOffset: 120n, maxTimestamp: 3n });
    return manager;
  }

  it('answers the worked example', () => {
    const manager = workedExample();
    expect(manager.check(batch(7n, 0, 5, 5))).toEqual({ kind: 'duplicate', firstOffset: 110n, lastOffset: 114n });
    expect(manager.check(batch(7n, 0, 11, 2))).toEqual({ kind: 'append' });
    expectError(() => manager.check(batch(7n, 0, 12, 2)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /sent sequence 12, expected 11/);
    expect(manager.check(batch(7n, 1, 0, 3))).toEqual({ kind: 'append' });
    expectError(() => manager.check(batch(7n, 1, 11, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /new epoch 1 at sequence 11/);
    expect(manager.check(batch(-1n, -1, -1, 3))).toEqual({ kind: 'append' });
  });

  it('detects a retry of each of the last 5 batches, but not of the 6th-oldest', () => {
    const log = new FakeLog();
    const sent: ProducerBatchHeader[] = [];
    for (let i = 0; i < 6; i++) {
      const header = batch(1n, 0, i * 2, 2); // sequences 0-1, 2-3, ..., 10-11
      expect(log.produce(header)).toEqual({ kind: 'append' });
      sent.push(header);
    }
    for (let i = 1; i < 6; i++) {
      const original = log.appended[i];
      expect(original).toBeDefined();
      expect(log.produce(sent[i] as ProducerBatchHeader)).toEqual({
        kind: 'duplicate',
        firstOffset: original?.baseOffset,
        lastOffset: (original?.baseOffset ?? 0n) + 1n,
      });
    }
    // The oldest batch fell out of the window: not recognised, and out of sequence.
    expectError(() => log.produce(sent[0] as ProducerBatchHeader), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.manager.producer(1n)?.batches).toHaveLength(producerBatchesRetained);
    // Duplicates appended nothing.
    expect(log.logEndOffset).toBe(12n);
  });

  it('treats a batch covering a different range of a retained batch as out of order, not a duplicate', () => {
    const log = new FakeLog();
    log.produce(batch(1n, 0, 0, 4));
    expectError(() => log.produce(batch(1n, 0, 0, 2)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expectError(() => log.produce(batch(1n, 0, 2, 2)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  it('fences a producer with an older epoch, even when its sequence would fit', () => {
    const log = new FakeLog();
    log.produce(batch(3n, 0, 0, 2));
    expect(log.produce(batch(3n, 1, 0, 2))).toEqual({ kind: 'append' }); // epoch bump at sequence 0
    expectError(() => log.produce(batch(3n, 0, 2, 1)), 'INVALID_PRODUCER_EPOCH', /epoch 0, older than the current epoch 1/);
    // A retry from the old epoch is not a duplicate either: the epoch bump forgot its batches.
    expectError(() => log.produce(batch(3n, 0, 0, 2)), 'INVALID_PRODUCER_EPOCH');
    expect(log.manager.producer(3n)).toMatchObject({ producerEpoch: 1, batches: [{ firstSeq: 0, lastSeq: 1, firstOffset: 2n, lastOffset: 3n }] });
  });

  it('requires a new epoch to start at sequence 0', () => {
    const log = new FakeLog();
    log.produce(batch(3n, 0, 0, 2));
    expectError(() => log.produce(batch(3n, 1, 2, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expectError(() => log.produce(batch(3n, 5, 1, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.produce(batch(3n, 5, 0, 1))).toEqual({ kind: 'append' }); // epochs may skip
  });

  it('refuses a sequence gap and a sequence going backwards', () => {
    const log = new FakeLog();
    log.produce(batch(2n, 0, 0, 3)); // 0-2
    expectError(() => log.produce(batch(2n, 0, 4, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /expected 3/);
    expectError(() => log.produce(batch(2n, 0, 1, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(log.produce(batch(2n, 0, 3, 1))).toEqual({ kind: 'append' });
  });

  it('follows sequences across the int32 wrap-around', () => {
    const log = new FakeLog();
    // An unknown producer may start anywhere (see the next test): start just before the wrap.
    expect(log.produce(batch(9n, 0, int32Max - 1, 2))).toEqual({ kind: 'append' }); // 2147483646-2147483647
    expect(log.produce(batch(9n, 0, 0, 3))).toEqual({ kind: 'append' }); // 0-2
    expect(log.produce(batch(9n, 0, 3, 1))).toEqual({ kind: 'append' });
    // A batch straddling the wrap: 2147483647, 0, 1 after a producer ended at 2147483646.
    expect(log.produce(batch(10n, 0, int32Max - 3, 3))).toEqual({ kind: 'append' }); // ..44-..46
    expect(log.produce(batch(10n, 0, int32Max, 3))).toEqual({ kind: 'append' }); // 2147483647, 0, 1
    expect(log.manager.producer(10n)?.batches.at(-1)).toMatchObject({ firstSeq: int32Max, lastSeq: 1 });
    expect(log.produce(batch(10n, 0, int32Max, 3))).toEqual({ kind: 'duplicate', firstOffset: 9n, lastOffset: 11n });
    expectError(() => log.produce(batch(10n, 0, 3, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /expected 2/);
    expect(log.produce(batch(10n, 0, 2, 1))).toEqual({ kind: 'append' });
  });

  it('accepts an unknown producer at any sequence and starts tracking it (KIP-360)', () => {
    const log = new FakeLog();
    expect(log.produce(batch(4n, 3, 42, 2))).toEqual({ kind: 'append' });
    expect(log.manager.producer(4n)).toMatchObject({ producerEpoch: 3, batches: [{ firstSeq: 42, lastSeq: 43 }] });
    expectError(() => log.produce(batch(4n, 3, 45, 1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  it('never tracks non-idempotent batches', () => {
    const log = new FakeLog();
    for (let i = 0; i < 3; i++) expect(log.produce(batch(-1n, -1, -1, 2))).toEqual({ kind: 'append' });
    expect(log.manager.size).toBe(0);
    expect(log.manager.endOffset).toBe(6n); // they still move the end of the covered log
  });

  it.each([
    [{ producerEpoch: -1 }, /producer epoch -1/],
    [{ producerEpoch: 32768 }, /producer epoch 32768/],
    [{ baseSequence: -1 }, /base sequence -1/],
    [{ lastOffsetDelta: 2, recordCount: 2 }, /lastOffsetDelta 2 does not match record count 2/],
    [{ lastOffsetDelta: -1, recordCount: 0 }, /lastOffsetDelta -1/],
  ])('refuses malformed idempotence fields %j with INVALID_RECORD', (fields, message) => {
    const manager = new ProducerStateManager();
    expectError(() => manager.check({ ...batch(5n, 0, 0, 1), ...fields }), 'INVALID_RECORD', message);
  });
});

describe('ProducerStateManager.update', () => {
  it('keeps the last 5 batches of the current epoch, oldest first, and the newest timestamp', () => {
    const log = new FakeLog();
    for (let i = 0; i < 7; i++) {
      log.clockMs = BigInt(100 + i);
      log.produce(batch(1n, 0, i, 1));
    }
    const state = log.manager.producer(1n);
    expect(state?.batches.map((b) => b.firstSeq)).toEqual([2, 3, 4, 5, 6]);
    expect(state?.lastTimestamp).toBe(106n);
    expect(log.manager.endOffset).toBe(7n);
  });

  it('records replicated batches without judging them (the leader already did)', () => {
    const log = new FakeLog();
    log.append(batch(1n, 2, 0, 1));
    log.append(batch(1n, 2, 7, 1)); // a gap the leader accepted
    log.append(batch(1n, 1, 0, 1)); // even a lower epoch: the log is the truth
    expect(log.manager.producer(1n)).toMatchObject({ producerEpoch: 1, batches: [{ firstSeq: 0, firstOffset: 2n }] });
  });

  it('asserts that batches arrive in offset order', () => {
    const manager = new ProducerStateManager();
    manager.update({ ...batch(1n, 0, 0, 3), baseOffset: 10n, maxTimestamp: 0n });
    expect(() => manager.update({ ...batch(1n, 0, 3, 1), baseOffset: 12n, maxTimestamp: 0n })).toThrow(/before the end of the producer state at 13/);
  });
});

describe('ProducerStateManager.truncateTo', () => {
  it('drops the batches the log lost and forgets producers left with none', () => {
    // Producer 7 with batches at 100-104, 110-114, 120-120 (the truncateTo comment's example),
    // producer 8 with one batch at 105-109.
    const manager = new ProducerStateManager();
    manager.update({ ...batch(7n, 0, 0, 5), baseOffset: 100n, maxTimestamp: 1n });
    manager.update({ ...batch(8n, 0, 0, 5), baseOffset: 105n, maxTimestamp: 2n });
    manager.update({ ...batch(7n, 0, 5, 5), baseOffset: 110n, maxTimestamp: 3n });
    manager.update({ ...batch(7n, 0, 10, 1), baseOffset: 120n, maxTimestamp: 4n });

    manager.truncateTo(110n);
    expect(manager.producer(7n)?.batches.map((b) => [b.firstOffset, b.lastOffset])).toEqual([[100n, 104n]]);
    expect(manager.producer(7n)?.lastTimestamp).toBe(1n); // the surviving batch's timestamp
    expect(manager.producer(8n)?.batches).toHaveLength(1);
    expect(manager.endOffset).toBe(110n);
    // The producer's retry of the lost batch 5-9 is appended again, in sequence.
    expect(manager.check(batch(7n, 0, 5, 5))).toEqual({ kind: 'append' });

    manager.truncateTo(100n);
    expect(manager.producer(7n)).toBeUndefined();
    expect(manager.producer(8n)).toBeUndefined();
    expect(manager.size).toBe(0);
    expect(manager.endOffset).toBe(100n);
    // Forgotten producers are unknown producers: any sequence is accepted.
    expect(manager.check(batch(7n, 0, 5, 5))).toEqual({ kind: 'append' });
  });

  it('drops a batch the truncation point falls inside, and keeps endOffset when truncating past it', () => {
    const manager = new ProducerStateManager();
    manager.update({ ...batch(1n, 0, 0, 2), baseOffset: 0n, maxTimestamp: 0n });
    manager.update({ ...batch(1n, 0, 2, 5), baseOffset: 2n, maxTimestamp: 0n });
    manager.truncateTo(50n);
    expect(manager.endOffset).toBe(7n);
    expect(manager.producer(1n)?.batches).toHaveLength(2);
    manager.truncateTo(4n);
    expect(manager.producer(1n)?.batches.map((b) => b.lastSeq)).toEqual([1]);
  });
});

describe('ProducerStateManager.expire', () => {
  it('forgets producers idle for at least the expiration, by their newest batch timestamp', () => {
    const log = new FakeLog();
    log.clockMs = 1_000n;
    log.produce(batch(1n, 0, 0));
    log.clockMs = 5_000n;
    log.produce(batch(2n, 0, 0));
    log.clockMs = 2_000n; // CreateTime from a client with a slow clock still counts as activity
    log.produce(batch(1n, 0, 1));

    expect(log.manager.expire(9_999n, 8_000)).toBe(0); // 1: idle 7 999 ms
    expect(log.manager.expire(10_000n, 8_000)).toBe(1); // 1: idle 8 000 ms, expired
    expect(log.manager.producer(1n)).toBeUndefined();
    expect(log.manager.producer(2n)).toBeDefined();
    expect(log.manager.expire(13_000n, 8_000)).toBe(1);
    expect(log.manager.size).toBe(0);
    // The expired producer's next batch is accepted as from an unknown producer.
    expect(log.produce(batch(1n, 0, 2))).toEqual({ kind: 'append' });
  });
});

describe('ProducerStateManager eviction', () => {
  it('evicts the least recently updated producer past producerIdsMax', () => {
    const log = new FakeLog(new ProducerStateManager({ producerIdsMax: 3 }));
    log.produce(batch(1n, 0, 0));
    log.produce(batch(2n, 0, 0));
    log.produce(batch(3n, 0, 0));
    log.produce(batch(1n, 0, 1)); // 1 is now the most recently updated; 2 the least
    log.produce(batch(4n, 0, 0));
    expect(log.manager.size).toBe(3);
    expect(log.manager.producerStates().map((p) => p.producerId)).toEqual([3n, 1n, 4n]);
    log.produce(batch(5n, 0, 0));
    expect(log.manager.producerStates().map((p) => p.producerId)).toEqual([1n, 4n, 5n]);
  });

  it('bounds the option by producerIdsMax', () => {
    expect(() => new ProducerStateManager({ producerIdsMax: 0 })).toThrow(/producerIdsMax/);
    expect(() => new ProducerStateManager({ producerIdsMax: producerIdsMax + 1 })).toThrow(/producerIdsMax/);
  });
});

describe('producer state snapshot', () => {
  function sampleLog(): FakeLog {
    const log = new FakeLog();
    log.produce(batch(1n, 0, 0, 3));
    log.produce(batch(-1n, -1, -1, 2));
    log.clockMs = -1n; // "no timestamp" must survive too
    log.produce(batch(2n, 32767, int32Max, 3));
    for (let i = 3; i < 12; i++) log.produce(batch(1n, 0, i, 1));
    log.produce(batch(9223372036854775807n, 0, 0, 1));
    return log;
  }

  it('round-trips the state, its LRU order and its offset', () => {
    const live = sampleLog().manager;
    const bytes = live.snapshot();
    const restored = ProducerStateManager.fromSnapshot(bytes);
    expect(restored.producerStates()).toEqual(live.producerStates());
    expect(restored.endOffset).toBe(live.endOffset);
    expect(restored.snapshot().equals(bytes)).toBe(true);
    // The restored state makes the same decisions.
    for (const header of [batch(1n, 0, 10), batch(1n, 0, 12), batch(1n, 0, 13), batch(2n, 32767, 2), batch(2n, 0, 0)]) {
      expect(outcome(() => restored.check(header))).toEqual(outcome(() => live.check(header)));
    }
  });

  it('round-trips an empty state', () => {
    const empty = new ProducerStateManager();
    const restored = ProducerStateManager.fromSnapshot(empty.snapshot());
    expect(restored.size).toBe(0);
    expect(restored.endOffset).toBe(0n);
    expect(empty.snapshot()).toHaveLength(18);
  });

  it('keeps the most recently updated producers when loaded with a smaller bound', () => {
    const restored = ProducerStateManager.fromSnapshot(sampleLog().manager.snapshot(), { producerIdsMax: 2 });
    expect(restored.producerStates().map((p) => p.producerId)).toEqual([1n, 9223372036854775807n]);
  });

  it('rejects every single-byte corruption', () => {
    const bytes = sampleLog().manager.snapshot();
    for (let at = 0; at < bytes.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const corrupted = Buffer.from(bytes);
        corrupted[at] = (corrupted[at] ?? 0) ^ mask;
        expectCorrupt(corrupted);
      }
    }
  });

  it('rejects every truncation and any trailing bytes', () => {
    const bytes = sampleLog().manager.snapshot();
    for (let length = 0; length < bytes.length; length++) expectCorrupt(bytes.subarray(0, length));
    expectCorrupt(Buffer.concat([bytes, Buffer.alloc(1)]));
  });

  it('rejects structure the writer never produces, even under a valid CRC', () => {
    const valid = sampleLog().manager.snapshot();
    // Layout: an 18-byte header, then the least recently updated producer (2): id at 18,
    // epoch at 26, batch count at 28, first batch from 29 (firstSeq 2147483647, offsets 5-7).
    const cases: [string, (b: Buffer) => void, RegExp][] = [
      ['unknown version', (b) => b.writeInt16BE(2, 0), /version 2 is not supported/],
      ['negative snapshot offset', (b) => b.writeBigInt64BE(-1n, 6), /snapshot offset -1 is negative/],
      ['too many producers', (b) => b.writeInt32BE(producerIdsMax + 1, 14), /producer count/],
      ['more producers than bytes', (b) => b.writeInt32BE(5, 14), /truncated/],
      ['negative producer id', (b) => b.writeBigInt64BE(-3n, 18), /has id -3/],
      ['no batches', (b) => b.writeInt8(0, 28), /0 batches/],
      ['six batches', (b) => b.writeInt8(6, 28), /6 batches/],
      ['inconsistent sequences', (b) => b.writeInt32BE(9, 29), /sequences/],
      ['offsets past the snapshot offset', (b) => b.writeBigInt64BE(1n, 6), /past 1/],
    ];
    for (const [, mutate, message] of cases) {
      const bytes = Buffer.from(valid);
      mutate(bytes);
      if (bytes.readInt16BE(0) === 1) bytes.writeUInt32BE(crc32c(bytes.subarray(6)), 2);
      expectCorrupt(bytes, message);
    }
  });

  it('rejects a producer that appears twice', () => {
    const manager = new ProducerStateManager();
    manager.update({ ...batch(1n, 0, 0), baseOffset: 0n, maxTimestamp: 0n });
    manager.update({ ...batch(2n, 0, 0), baseOffset: 1n, maxTimestamp: 0n });
    const bytes = manager.snapshot();
    bytes.writeBigInt64BE(1n, 18 + 11 + 32); // producer 2's id becomes 1
    bytes.writeUInt32BE(crc32c(bytes.subarray(6)), 2);
    expectCorrupt(bytes, /producer 1 appears twice/);
  });
});

function expectCorrupt(bytes: Buffer, message?: RegExp): void {
  let thrown: unknown;
  try {
    ProducerStateManager.fromSnapshot(bytes);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StarlaneError);
  expect((thrown as StarlaneError).code).toBe('CORRUPT_MESSAGE');
  if (message !== undefined) expect((thrown as StarlaneError).message).toMatch(message);
}

type Outcome = ProducerAppendCheck | { kind: 'error'; code: string };

function outcome(action: () => ProducerAppendCheck): Outcome {
  try {
    return action();
  } catch (error) {
    if (error instanceof StarlaneError) return { kind: 'error', code: error.code };
    throw error;
  }
}

/**
 * What a client does next, turned into a batch header by a client-side model of each producer
 * (its epoch, next sequence and recent batches), so that appends, retries, gaps, epoch bumps and
 * zombies all happen often.
 */
type Intent =
  | { kind: 'next'; producer: number; records: number }
  | { kind: 'retry'; producer: number; back: number }
  | { kind: 'gap'; producer: number; skip: number }
  | { kind: 'bump'; producer: number; records: number }
  | { kind: 'zombie'; producer: number }
  | { kind: 'plain'; records: number }
  | { kind: 'tick'; ms: number };

const producerIndex = fc.integer({ min: 0, max: 5 });
const intent: fc.Arbitrary<Intent> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('next' as const), producer: producerIndex, records: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('retry' as const), producer: producerIndex, back: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gap' as const), producer: producerIndex, skip: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bump' as const), producer: producerIndex, records: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('zombie' as const), producer: producerIndex }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('plain' as const), records: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: -5, max: 50 }) }) },
);

interface ClientProducer {
  epoch: number;
  nextSeq: number;
  sent: ProducerBatchHeader[];
}

/** Some producers start near the wrap-around, so sequences cross 2^31-1 -> 0 in most runs. */
function clientsFor(startSeqs: readonly number[]): ClientProducer[] {
  return startSeqs.map((nextSeq) => ({ epoch: 0, nextSeq, sent: [] }));
}

function headerFor(intentValue: Intent, clients: ClientProducer[]): ProducerBatchHeader | null {
  if (intentValue.kind === 'tick') return null;
  if (intentValue.kind === 'plain') return batch(-1n, -1, -1, intentValue.records);
  const client = clients[intentValue.producer];
  if (client === undefined) return null;
  const id = BigInt(intentValue.producer);
  switch (intentValue.kind) {
    case 'next':
    case 'bump': {
      if (intentValue.kind === 'bump') {
        client.epoch++;
        client.nextSeq = 0;
      }
      const header = batch(id, client.epoch, client.nextSeq, intentValue.records);
      client.nextSeq = lastSequenceOf(client.nextSeq, intentValue.records);
      client.nextSeq = client.nextSeq === int32Max ? 0 : client.nextSeq + 1;
      client.sent.push(header);
      if (client.sent.length > 10) client.sent.shift();
      return header;
    }
    case 'retry':
      return client.sent[client.sent.length - 1 - (intentValue.back % Math.max(1, client.sent.length))] ?? batch(id, client.epoch, 0);
    case 'gap':
      return batch(id, client.epoch, (client.nextSeq + intentValue.skip) % int32Max, 1);
    case 'zombie':
      return batch(id, Math.max(0, client.epoch - 1), client.nextSeq, 1);
  }
}

/**
 * The naive model: every appended batch of every producer, unbounded, and Kafka's rules
 * evaluated over that history (the current epoch is the last batch's; the batches a retry can
 * match are the last five of that epoch).
 */
function modelCheck(history: readonly AppendedProducerBatch[], header: ProducerBatchHeader): Outcome {
  if (header.producerId < 0n) return { kind: 'append' };
  const own = history.filter((b) => b.producerId === header.producerId);
  const latest = own.at(-1);
  if (latest === undefined) return { kind: 'append' };
  const lastSeq = lastSequenceOf(header.baseSequence, header.lastOffsetDelta);
  if (header.producerEpoch === latest.producerEpoch) {
    // Only the batches since the last epoch change count: a new epoch clears the earlier ones.
    let changeIndex = own.length - 1;
    while (changeIndex >= 0 && own[changeIndex]?.producerEpoch === latest.producerEpoch) changeIndex--;
    const sinceChange = own.slice(changeIndex + 1).slice(-producerBatchesRetained);
    const match = sinceChange.find((b) => b.baseSequence === header.baseSequence && lastSequenceOf(b.baseSequence, b.lastOffsetDelta) === lastSeq);
    if (match !== undefined) return { kind: 'duplicate', firstOffset: match.baseOffset, lastOffset: match.baseOffset + BigInt(match.lastOffsetDelta) };
  }
  if (header.producerEpoch < latest.producerEpoch) return { kind: 'error', code: 'INVALID_PRODUCER_EPOCH' };
  if (header.producerEpoch > latest.producerEpoch) return header.baseSequence === 0 ? { kind: 'append' } : { kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
  return isNextSequence(lastSequenceOf(latest.baseSequence, latest.lastOffsetDelta), header.baseSequence)
    ? { kind: 'append' }
    : { kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
}

const startSeqs = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: int32Max - 6, max: int32Max })), { minLength: 6, maxLength: 6 });

describe('producer state properties', () => {
  it('replaying update over the appended batch headers rebuilds a byte-identical snapshot', () => {
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 80 }), startSeqs, fc.integer({ min: 1, max: 8 }), (intents, seqs, idsMax) => {
        const clients = clientsFor(seqs);
        const log = new FakeLog(new ProducerStateManager({ producerIdsMax: idsMax }));
        for (const step of intents) {
          if (step.kind === 'tick') log.clockMs += BigInt(step.ms);
          const header = headerFor(step, clients);
          if (header !== null) outcome(() => log.produce(header));
        }
        const rebuilt = new ProducerStateManager({ producerIdsMax: idsMax });
        for (const appended of log.appended) rebuilt.update(appended);
        expect(rebuilt.snapshot().equals(log.manager.snapshot())).toBe(true);
        // And the snapshot itself reloads to the same bytes.
        expect(ProducerStateManager.fromSnapshot(log.manager.snapshot(), { producerIdsMax: idsMax }).snapshot().equals(log.manager.snapshot())).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('decides every batch as the naive model over the full history does', () => {
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 80 }), startSeqs, (intents, seqs) => {
        const clients = clientsFor(seqs);
        const log = new FakeLog();
        for (const step of intents) {
          const header = headerFor(step, clients);
          if (header === null) continue;
          const expected = modelCheck(log.appended, header);
          expect(outcome(() => log.produce(header))).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
