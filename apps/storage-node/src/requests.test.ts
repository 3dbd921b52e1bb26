/**
 * The request checks and the append, read and offset lookups, driven by metadata images built
 * from plain values over real partition logs on the in-memory filesystem. Time is manual: a read
 * that must wait waits until the test advances the scheduler or appends, and since all the
 * work is promise continuations, `settle()` finishes it; no test sleeps.
 */
import { BatchField, crc32c } from '@starlane/record-batch';
import { errorCodeFromProto } from '@starlane/metadata-rpc';
import { StarlaneError } from '@starlane/model';
import { v1, type internalV1 } from '@starlane/proto';
import { settle } from '@starlane/testing';
import { batch, image, managerHarness, recordsOf, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import { appendPartition, checkAppendRequest } from './appends';
import { listOffset, offsetForLeaderEpoch } from './offsets';
import { ReadOperation, type ReadSpec } from './reads';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const otherId = '0b7e4e3c-4c55-4d6f-8a2a-1f1b9c2d3e4f';

let harness: ManagerHarness;

/** orders: p0 led here in epoch 3, p1 led by node 2 with a replica here, p2 not here at all. */
function ordersTopic(configs: Record<string, string> = {}): ReturnType<typeof topic> {
  return topic({
    name: 'orders',
    topicId: ordersId,
    partitions: [{ leaderEpoch: 3 }, { leader: 2, leaderEpoch: 1, replicas: [2, thisNode] }, { leader: 2, replicas: [2] }],
    configs,
  });
}

beforeEach(async () => {
  harness = await managerHarness({ inMemory: true });
  harness.manager.apply(image(1, [ordersTopic()]));
  await settled(harness.manager);
});
afterEach(async () => {
  await harness.cleanUp();
});

function data(records: Buffer, overrides: Partial<internalV1.AppendPartitionData> = {}): internalV1.AppendPartitionData {
  return { topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 3, recordBatches: records, ...overrides };
}

async function append(records: Buffer, overrides: Partial<internalV1.AppendPartitionData> = {}): Promise<v1.ProducePartitionResult> {
  return appendPartition(harness.manager, data(records, overrides), 'all', 1000);
}

const codeOf = (result: { errorCode: v1.ErrorCode }): string | undefined => errorCodeFromProto(result.errorCode);

function readSpec(partitions: Partial<internalV1.ReadPartition>[], overrides: Partial<ReadSpec> = {}): ReadSpec {
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 0,
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    partitions: partitions.map((partition) => ({ topic: 'orders', topicId: ordersId, partition: 0, offset: 0n, maxBytes: 0, currentLeaderEpoch: 3, ...partition })),
    ...overrides,
  };
}

/** Starts a read; `result` settles when it answers, `answered` says whether it has. */
function startRead(spec: ReadSpec): { result: Promise<v1.FetchPartitionResult[]>; answered: () => boolean; operation: ReadOperation } {
  let done = false;
  let operation: ReadOperation | undefined;
  const result = new Promise<v1.FetchPartitionResult[]>((resolve) => {
    operation = new ReadOperation(harness.manager, harness.scheduler, spec, (results) => {
      done = true;
      resolve(results);
    });
  });
  (operation as ReadOperation).start();
  return { result, answered: () => done, operation: operation as ReadOperation };
}

async function read(spec: ReadSpec): Promise<v1.FetchPartitionResult[]> {
  return startRead(spec).result;
}

function payload(result: v1.FetchPartitionResult | undefined): Buffer {
  return result?.payload?.$case === 'recordBatches' ? result.payload.value : Buffer.alloc(0);
}

describe('append', () => {
  it('assigns offsets, stamps the leader epoch and reports the log start offset', async () => {
    const first = await append(await batch('a', 3));
    const second = await append(await batch('b', 2));
    expect(first).toMatchObject({ topic: 'orders', partition: 0, baseOffset: 0n, logStartOffset: 0n, logAppendTimeMs: -1n, errorCode: v1.ErrorCode.NONE });
    expect(second.baseOffset).toBe(3n);
    const [result] = await read(readSpec([{}]));
    expect((await recordsOf(payload(result))).map((record) => [record.offset, record.value, record.epoch])).toEqual([
      [0n, 'a-0', 3],
      [1n, 'a-1', 3],
      [2n, 'a-2', 3],
      [3n, 'b-0', 3],
      [4n, 'b-1', 3],
    ]);
  });

  it('checks the topic id, the partition, the replica, the epoch and leadership', async () => {
    const records = await batch('x');
    const cases: [Partial<internalV1.AppendPartitionData>, string][] = [
      [{ topicId: '' }, 'UNKNOWN_TOPIC_ID'],
      [{ topicId: otherId, topic: 'payments' }, 'UNKNOWN_TOPIC_ID'],
      [{ topicId: otherId }, 'INCONSISTENT_TOPIC_ID'],
      [{ topic: 'payments' }, 'INCONSISTENT_TOPIC_ID'],
      [{ partition: 7 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ partition: -1 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ partition: 2, currentLeaderEpoch: 0 }, 'NOT_LEADER_OR_FOLLOWER'],
      [{ partition: 1, currentLeaderEpoch: 1 }, 'NOT_LEADER_OR_FOLLOWER'],
      [{ currentLeaderEpoch: 2 }, 'FENCED_LEADER_EPOCH'],
      [{ currentLeaderEpoch: 4 }, 'UNKNOWN_LEADER_EPOCH'],
    ];
    for (const [overrides, code] of cases) {
      const result = await append(records, overrides);
      expect({ overrides, code: codeOf(result), baseOffset: result.baseOffset }).toEqual({ overrides, code, baseOffset: -1n });
    }
    // -1 means "not known to the caller" and skips the epoch check, as in Kafka.
    expect(codeOf(await append(records, { currentLeaderEpoch: -1 }))).toBeUndefined();
  });

  it('refuses batches over max.message.bytes, corrupt batches and invalid records, and writes none of them', async () => {
    harness.manager.apply(image(2, [ordersTopic({ 'max.message.bytes': '2000', 'segment.bytes': '100000' })]));
    const big = await batch('big', 1, { valueBytes: 4000 });
    expect(codeOf(await append(big))).toBe('MESSAGE_TOO_LARGE');

    const flipped = await batch('flip', 2);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0xff, flipped.length - 1);
    expect(codeOf(await append(flipped))).toBe('CORRUPT_MESSAGE');

    const cut = await batch('cut', 2);
    expect(codeOf(await append(cut.subarray(0, cut.length - 5)))).toBe('CORRUPT_MESSAGE');
    expect(codeOf(await append(Buffer.from('not a record batch at all, just text that is long enough to have a header')))).toBe('CORRUPT_MESSAGE');

    // A batch claiming more offsets than it has records (CRC recomputed: the batch is intact).
    const claims = await batch('claims', 2);
    claims.writeInt32BE(9, BatchField.lastOffsetDelta);
    claims.writeUInt32BE(crc32c(claims.subarray(BatchField.attributes)), BatchField.crc);
    expect(codeOf(await append(claims))).toBe('INVALID_RECORD');

    expect(codeOf(await append(Buffer.alloc(0)))).toBe('INVALID_REQUEST');
    expect(codeOf(await append(Buffer.concat([await batch('s', 1, { valueBytes: 1500 }), ...Array.from({ length: 80 }, () => Buffer.alloc(1500))])))).toBe('RECORD_LIST_TOO_LARGE');
    expect(harness.manager.partition(ordersId, 0)?.onlineLog?.logEndOffset).toBe(0n);
  });

  it('checks acks and repeated partitions once per request', () => {
    const one = data(Buffer.alloc(0));
    expect(checkAppendRequest(v1.Acks.LEADER, 0, [one])).toMatchObject({ ok: true, acks: 'leader', timeoutMs: 30_000 });
    expect(checkAppendRequest(v1.Acks.NONE, 10, [one])).toMatchObject({ ok: true, acks: 'leader', timeoutMs: 10 });
    expect(checkAppendRequest(v1.Acks.UNSPECIFIED, 0, [one])).toMatchObject({ ok: true, acks: 'all' });
    expect(checkAppendRequest(7 as v1.Acks, 0, [one])).toMatchObject({ ok: false, code: 'INVALID_REQUIRED_ACKS' });
    expect(checkAppendRequest(v1.Acks.ALL, 0, [one, { ...one }])).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    expect(checkAppendRequest(v1.Acks.ALL, 0, [one, { ...one, partition: 1 }])).toMatchObject({ ok: true });
  });

  it('reports a partition whose log is offline as KAFKA_STORAGE_ERROR', async () => {
    harness.manager.partition(ordersId, 0)?.fail(new StarlaneError('STORAGE_UNAVAILABLE', 'disk gone'));
    expect(codeOf(await append(await batch('x')))).toBe('KAFKA_STORAGE_ERROR');
  });
});

describe('read', () => {
  beforeEach(async () => {
    for (const tag of ['a', 'b', 'c']) await append(await batch(tag, 2, { valueBytes: 1000 }));
  });

  it('returns whole batches from the one holding the offset, with the watermarks and the next offset', async () => {
    const [result] = await read(readSpec([{ offset: 3n }]));
    expect(result).toMatchObject({ highWatermark: 6n, lastStableOffset: 6n, logStartOffset: 0n, nextOffset: 6n, errorCode: v1.ErrorCode.NONE });
    expect((await recordsOf(payload(result))).map((record) => record.offset)).toEqual([2n, 3n, 4n, 5n]);
  });

  it('keeps to max_bytes per partition and per response, but always returns the first batch whole', async () => {
    const [small] = await read(readSpec([{ maxBytes: 10 }]));
    expect(small?.nextOffset).toBe(2n);
    const twoBatches = payload((await read(readSpec([{}])))[0]).length;
    const [partitionBound] = await read(readSpec([{ maxBytes: Math.ceil(twoBatches * 0.7) }]));
    expect(partitionBound?.nextOffset).toBe(4n);

    harness.manager.apply(image(2, [ordersTopic(), topic({ name: 'payments', topicId: otherId })]));
    await settled(harness.manager);
    await appendPartition(harness.manager, data(await batch('p', 1), { topic: 'payments', topicId: otherId, currentLeaderEpoch: 0 }), 'all', 1000);
    const [orders, payments] = await read(readSpec([{}, { topic: 'payments', topicId: otherId, currentLeaderEpoch: 0 }], { maxBytes: 100 }));
    expect(orders?.nextOffset).toBe(2n);
    // The response is full: the second partition gets nothing, without an error.
    expect(payments).toMatchObject({ nextOffset: 0n, payload: undefined, errorCode: v1.ErrorCode.NONE, highWatermark: 1n });
  });

  it('refuses offsets past the high watermark and below the log start, saying where the log is', async () => {
    const [past] = await read(readSpec([{ offset: 7n }]));
    expect(past).toMatchObject({ errorCode: v1.ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 6n, logStartOffset: 0n, nextOffset: 7n, payload: undefined });
    const [negative] = await read(readSpec([{ offset: -1n }]));
    expect(codeOf(negative as v1.FetchPartitionResult)).toBe('OFFSET_OUT_OF_RANGE');
    const [atEnd] = await read(readSpec([{ offset: 6n }]));
    expect(atEnd).toMatchObject({ errorCode: v1.ErrorCode.NONE, nextOffset: 6n, payload: undefined });

    // Retention by size drops the oldest segments: the log now starts past offset 0.
    harness.manager.apply(image(2, [ordersTopic({ 'segment.bytes': '1500', 'retention.bytes': '1' })]));
    await append(await batch('d', 1, { valueBytes: 1000 }));
    await harness.manager.partition(ordersId, 0)?.onlineLog?.deleteOldSegments();
    const logStartOffset = harness.manager.partition(ordersId, 0)?.onlineLog?.logStartOffset ?? 0n;
    expect(logStartOffset).toBeGreaterThan(0n);
    const [below] = await read(readSpec([{ offset: 0n }]));
    expect(below).toMatchObject({ errorCode: v1.ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset, highWatermark: 7n });
  });

  it('applies the same partition checks as appends, reading only from the leader', async () => {
    const [follower, fenced, unknown] = await read(readSpec([{ partition: 1, currentLeaderEpoch: 1 }, { currentLeaderEpoch: 1 }, { topicId: otherId, topic: '' }]));
    expect([follower, fenced, unknown].map((result) => codeOf(result as v1.FetchPartitionResult))).toEqual(['NOT_LEADER_OR_FOLLOWER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_TOPIC_ID']);
    expect(follower).toMatchObject({ highWatermark: -1n, logStartOffset: -1n, nextOffset: 0n });
  });

  it('waits for min_bytes and is woken by an append, without the timer', async () => {
    const waiting = startRead(readSpec([{ offset: 6n }], { minBytes: 1, maxWaitMs: 10_000 }));
    await settle();
    expect(waiting.answered()).toBe(false);
    await append(await batch('d', 1));
    const [result] = await waiting.result;
    expect((await recordsOf(payload(result))).map((record) => record.value)).toEqual(['d-0']);
    expect(result?.highWatermark).toBe(7n);
  });

  it('answers with nothing once max_wait_ms has passed', async () => {
    const waiting = startRead(readSpec([{ offset: 6n }], { minBytes: 1, maxWaitMs: 500 }));
    await harness.scheduler.advance(499);
    expect(waiting.answered()).toBe(false);
    await harness.scheduler.advance(1);
    expect(waiting.answered()).toBe(true);
    const [result] = await waiting.result;
    expect(result).toMatchObject({ errorCode: v1.ErrorCode.NONE, nextOffset: 6n, payload: undefined, highWatermark: 6n });
  });

  it('waits until min_bytes are there across appends', async () => {
    const waiting = startRead(readSpec([{ offset: 6n }], { minBytes: 3000, maxWaitMs: 10_000 }));
    await append(await batch('d', 1, { valueBytes: 1000 }));
    await settle();
    expect(waiting.answered()).toBe(false);
    await append(await batch('e', 2, { valueBytes: 1000 }));
    const [result] = await waiting.result;
    expect(result?.nextOffset).toBe(9n);
  });

  it('answers a waiting read when the partition stops being led here', async () => {
    const waiting = startRead(readSpec([{ offset: 6n }], { minBytes: 1, maxWaitMs: 10_000 }));
    await settle();
    harness.manager.apply(image(2, [topic({ name: 'orders', topicId: ordersId, partitions: [{ leader: 2, leaderEpoch: 4, replicas: [thisNode, 2] }] })]));
    const [result] = await waiting.result;
    expect(codeOf(result as v1.FetchPartitionResult)).toBe('FENCED_LEADER_EPOCH');
  });

  it('answers at once when asked to hurry, and never after a cancel', async () => {
    const hurried = startRead(readSpec([{ offset: 6n }], { minBytes: 1, maxWaitMs: 10_000 }));
    await settle();
    hurried.operation.hurry();
    await expect(hurried.result).resolves.toHaveLength(1);

    const cancelled = startRead(readSpec([{ offset: 6n }], { minBytes: 1, maxWaitMs: 10_000 }));
    await settle();
    cancelled.operation.cancel();
    await append(await batch('d', 1));
    await harness.scheduler.advance(10_000);
    expect(cancelled.answered()).toBe(false);
  });

  it('waits for a partition that is still opening', async () => {
    const laterId = 'a1b2c3d4-0000-4000-8000-000000000001';
    harness.manager.apply(image(2, [ordersTopic(), topic({ name: 'later', topicId: laterId })]));
    const waiting = startRead(readSpec([{ topic: 'later', topicId: laterId, currentLeaderEpoch: 0 }], { minBytes: 1, maxWaitMs: 10_000 }));
    await settled(harness.manager);
    await appendPartition(harness.manager, data(await batch('late'), { topic: 'later', topicId: laterId, currentLeaderEpoch: 0 }), 'leader', 1000);
    const [result] = await waiting.result;
    expect(result?.nextOffset).toBe(1n);
  });
});

describe('ListOffsets and OffsetsForLeaderEpoch', () => {
  const lookup = (spec: v1.OffsetSpec['spec'], overrides: Partial<internalV1.OffsetLookup> = {}): internalV1.OffsetLookup => ({
    topic: 'orders',
    topicId: ordersId,
    partition: 0,
    currentLeaderEpoch: 3,
    spec: { spec },
    ...overrides,
  });

  beforeEach(async () => {
    await append(await batch('a', 2, { timestamp: 1000n })); // 0-1 at 1000, 1001
    await append(await batch('b', 2, { timestamp: 5000n })); // 2-3 at 5000, 5001
    await append(await batch('c', 1, { timestamp: 3000n })); // 4 at 3000
  });

  it('answers EARLIEST, LATEST, MAX_TIMESTAMP and timestamps', async () => {
    const ask = async (spec: v1.OffsetSpec['spec']): Promise<[bigint, bigint, number]> => {
      const result = await listOffset(harness.manager, lookup(spec));
      expect(result.errorCode).toBe(v1.ErrorCode.NONE);
      return [result.offset, result.timestampMs, result.leaderEpoch];
    };
    expect(await ask({ $case: 'boundary', value: v1.OffsetBoundary.EARLIEST })).toEqual([0n, -1n, 3]);
    expect(await ask({ $case: 'boundary', value: v1.OffsetBoundary.LATEST })).toEqual([5n, -1n, 3]);
    expect(await ask({ $case: 'boundary', value: v1.OffsetBoundary.MAX_TIMESTAMP })).toEqual([3n, 5001n, 3]);
    expect(await ask({ $case: 'timestampMs', value: 1001n })).toEqual([1n, 1001n, 3]);
    expect(await ask({ $case: 'timestampMs', value: 2000n })).toEqual([2n, 5000n, 3]);
    expect(await ask({ $case: 'timestampMs', value: 9000n })).toEqual([-1n, -1n, -1]);
  });

  it('refuses forms ListOffsets does not take, and checks the partition', async () => {
    for (const spec of [undefined, { $case: 'offset' as const, value: 3n }, { $case: 'boundary' as const, value: v1.OffsetBoundary.UNSPECIFIED }, { $case: 'timestampMs' as const, value: -2n }]) {
      expect(codeOf(await listOffset(harness.manager, lookup(spec)))).toBe('INVALID_REQUEST');
    }
    expect(codeOf(await listOffset(harness.manager, lookup({ $case: 'boundary', value: v1.OffsetBoundary.LATEST }, { currentLeaderEpoch: 9 })))).toBe('UNKNOWN_LEADER_EPOCH');
    expect(codeOf(await listOffset(harness.manager, lookup({ $case: 'boundary', value: v1.OffsetBoundary.LATEST }, { partition: 1, currentLeaderEpoch: 1 })))).toBe('NOT_LEADER_OR_FOLLOWER');
  });

  it('tells where an epoch ends', async () => {
    const ask = (leaderEpoch: number, replicaNodeId = 2): internalV1.OffsetsForLeaderEpochPartitionResult =>
      offsetForLeaderEpoch(harness.manager, replicaNodeId, { topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 3, leaderEpoch });
    expect(ask(3)).toMatchObject({ leaderEpoch: 3, endOffset: 5n, errorCode: v1.ErrorCode.NONE });
    expect(ask(1)).toMatchObject({ leaderEpoch: 1, endOffset: 0n });
    expect(ask(7)).toMatchObject({ leaderEpoch: -1, endOffset: -1n });
    expect(ask(3, -1)).toMatchObject({ leaderEpoch: 3, endOffset: 5n });
    expect(codeOf(offsetForLeaderEpoch(harness.manager, 2, { topic: 'orders', topicId: otherId, partition: 0, currentLeaderEpoch: 3, leaderEpoch: 3 }))).toBe('INCONSISTENT_TOPIC_ID');
  });
});
