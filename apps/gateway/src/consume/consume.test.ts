import { StarlaneError } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { buildBatch, BatchAttribute, BatchField, crc32c } from '@starlane/record-batch';
import { FakeMetadata, FakeTransport, image, node, settle, topic } from '../fakes';
import { FetchHandler } from './fetch-handler';
import { lookUpOffsets } from './list-offsets';
import { Subscription, type SubscriptionSink } from './subscription';

async function batchAt(baseOffset: bigint, values: string[], control = false): Promise<Buffer> {
  const batch = await buildBatch(
    values.map((value, index) => ({ key: null, value: Buffer.from(value), timestamp: 10n + BigInt(index) })),
    { baseOffset, partitionLeaderEpoch: 4 },
  );
  if (control) {
    batch.writeInt16BE(batch.readInt16BE(BatchField.attributes) | BatchAttribute.control, BatchField.attributes);
    batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
  }
  return batch;
}

function readResult(payload: Buffer | undefined, highWatermark: bigint, errorCode = v1.ErrorCode.NONE): v1.FetchPartitionResult {
  return {
    topic: 't',
    partition: 0,
    highWatermark,
    lastStableOffset: highWatermark,
    logStartOffset: 0n,
    nextOffset: 0n,
    payload: payload === undefined ? undefined : { $case: 'recordBatches', value: payload },
    errorCode,
    errorMessage: '',
  };
}

function fetchRequest(partitions: { partition: number; offset: bigint }[], format = v1.RecordFormat.RECORDS, maxWaitMs = 500): v1.FetchRequest {
  return { maxWaitMs, minBytes: 1, maxBytes: 0, isolationLevel: 0, format, partitions: partitions.map((partition) => ({ topic: 't', ...partition, maxBytes: 0 })) };
}

const latest: v1.OffsetSpec = { spec: { $case: 'boundary', value: v1.OffsetBoundary.LATEST } };

describe('FetchHandler', () => {
  it('long-polls one leader, drops records before the offset and control batches, and sets next_offset', async () => {
    const metadata = new FakeMetadata(image(1, [node(1)], [topic('t', [1])]));
    const transport = new FakeTransport();
    const fetch = new FetchHandler({ metadata, transport, now: metadata.now }).fetch(fetchRequest([{ partition: 0, offset: 1n }]));
    await settle();
    expect(transport.reads).toHaveLength(1);
    expect(transport.reads[0]!.call).toMatchObject({ maxWaitMs: 500, minBytes: 1 });
    const data = Buffer.concat([await batchAt(0n, ['a', 'b', 'c']), await batchAt(3n, ['marker'], true), await batchAt(4n, ['d'])]);
    // A trailing partial batch is cut off.
    transport.reads[0]!.answer([readResult(Buffer.concat([data, (await batchAt(5n, ['e'])).subarray(0, 30)]), 6n)]);
    const result = (await fetch).partitions[0]!;
    expect(result.errorCode).toBe(v1.ErrorCode.NONE);
    expect(result.nextOffset).toBe(5n);
    const records = result.payload?.$case === 'records' ? result.payload.value.records : [];
    expect(records.map((stored) => [stored.offset, stored.nullableValue?.value.toString(), stored.leaderEpoch])).toEqual([
      [1n, 'b', 4],
      [2n, 'c', 4],
      [4n, 'd', 4],
    ]);
  });

  it('reads a partition again from its new leader after a leader change within the wait', async () => {
    const metadata = new FakeMetadata(image(1, [node(1), node(2)], [topic('t', [1])]));
    const transport = new FakeTransport();
    const fetch = new FetchHandler({ metadata, transport, now: metadata.now }).fetch(fetchRequest([{ partition: 0, offset: 0n }], v1.RecordFormat.BYTES));
    await settle();
    transport.reads[0]!.answer([readResult(undefined, -1n, v1.ErrorCode.NOT_LEADER_OR_FOLLOWER)]);
    await settle();
    metadata.publish(image(2, [node(1), node(2)], [topic('t', [2], { epochs: [1] })]));
    await settle();
    expect(transport.reads[1]).toMatchObject({ node: 2 });
    expect(transport.reads[1]!.call.partitions[0]!.currentLeaderEpoch).toBe(1);
    const batch = await batchAt(0n, ['x']);
    transport.reads[1]!.answer([readResult(batch, 1n)]);
    const result = (await fetch).partitions[0]!;
    expect(result.payload).toEqual({ $case: 'recordBatches', value: batch });
    expect(result.highWatermark).toBe(1n);
  });

  it('refuses a negative wait for the whole request and answers bad partitions one by one', async () => {
    const metadata = new FakeMetadata(image(1, [node(1)], [topic('t', [1])]));
    const handler = new FetchHandler({ metadata, transport: new FakeTransport(), now: metadata.now });
    await expect(handler.fetch({ ...fetchRequest([]), maxWaitMs: -1 })).rejects.toBeInstanceOf(StarlaneError);
    const response = await handler.fetch({
      ...fetchRequest([]),
      maxWaitMs: 0,
      partitions: [
        { topic: 'x y', partition: 0, offset: 0n, maxBytes: 0 },
        { topic: 'gone', partition: 0, offset: 0n, maxBytes: 0 },
        { topic: 't', partition: 5, offset: 0n, maxBytes: 0 },
        { topic: 't', partition: 0, offset: -1n, maxBytes: 0 },
      ],
    });
    expect(response.partitions.map((result) => result.errorCode)).toEqual([
      v1.ErrorCode.INVALID_TOPIC_EXCEPTION,
      v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      v1.ErrorCode.OFFSET_OUT_OF_RANGE,
    ]);
  });
});

class Sink implements SubscriptionSink {
  readonly messages: v1.SubscribeResponse[] = [];
  writable = true;
  ended = false;
  private drainListeners: (() => void)[] = [];

  write(message: v1.SubscribeResponse): boolean {
    this.messages.push(message);
    return this.writable;
  }

  onceDrained(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  drain(): void {
    this.writable = true;
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const listener of listeners) listener();
  }

  end(): void {
    this.ended = true;
  }
}

describe('Subscription', () => {
  const subscribeRequest = (start: v1.OffsetSpec['spec'], partitions = [0]): v1.SubscribeRequest => ({
    partitions: partitions.map((partition) => ({ topic: 't', partition, start: { spec: start } })),
    maxBytesPerMessage: 0,
    isolationLevel: 0,
    format: v1.RecordFormat.BYTES,
  });

  it('starts at LATEST, keeps one read outstanding per leader, pushes at once and waits for drain', async () => {
    const metadata = new FakeMetadata(image(1, [node(1), node(2)], [topic('t', [1, 2])]));
    const transport = new FakeTransport();
    transport.offsetAnswers = (_node, lookups) => lookups.map((lookup) => ({ topic: lookup.topic, partition: lookup.partition, offset: 7n, timestampMs: -1n, leaderEpoch: 0, errorCode: 0, errorMessage: '' }));
    const sink = new Sink();
    const subscription = new Subscription({ metadata, transport, now: metadata.now }, subscribeRequest({ $case: 'boundary', value: v1.OffsetBoundary.LATEST }, [0, 1]), sink);
    await subscription.start();
    await settle();
    expect(transport.reads.map((read) => [read.node, read.call.partitions[0]!.offset, read.call.minBytes])).toEqual([
      [1, 7n, 1],
      [2, 7n, 1],
    ]);
    sink.writable = false;
    const batch = await batchAt(7n, ['x', 'y']);
    transport.reads[0]!.answer([readResult(batch, 9n)]);
    await settle();
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.partitions[0]).toMatchObject({ partition: 0, nextOffset: 9n, payload: { $case: 'recordBatches', value: batch } });
    // Not writable: no new read for node 1 until the client drains.
    expect(transport.reads).toHaveLength(2);
    sink.drain();
    await settle();
    expect(transport.reads).toHaveLength(3);
    expect(transport.reads[2]).toMatchObject({ node: 1 });
    expect(transport.reads[2]!.call.partitions[0]!.offset).toBe(9n);
    subscription.close();
  });

  it('reports a failing partition once, drops it, and ends when none is left', async () => {
    const metadata = new FakeMetadata(image(1, [node(1)], [topic('t', [1])]));
    const transport = new FakeTransport();
    const sink = new Sink();
    const subscription = new Subscription({ metadata, transport, now: metadata.now }, subscribeRequest({ $case: 'offset', value: 100n }), sink);
    await subscription.start();
    await settle();
    transport.reads[0]!.answer([readResult(undefined, -1n, v1.ErrorCode.OFFSET_OUT_OF_RANGE)]);
    await settle();
    expect(sink.messages.flatMap((message) => message.partitions.map((result) => result.errorCode))).toEqual([v1.ErrorCode.OFFSET_OUT_OF_RANGE]);
    expect(sink.ended).toBe(true);
    expect(transport.reads).toHaveLength(1);
  });

  it('refuses MAX_TIMESTAMP starts and duplicates', () => {
    const metadata = new FakeMetadata(image(1, [node(1)], [topic('t', [1])]));
    const deps = { metadata, transport: new FakeTransport(), now: metadata.now };
    expect(() => new Subscription(deps, subscribeRequest({ $case: 'boundary', value: v1.OffsetBoundary.MAX_TIMESTAMP }), new Sink())).toThrow(StarlaneError);
    expect(() => new Subscription(deps, subscribeRequest({ $case: 'offset', value: 0n }, [0, 0]), new Sink())).toThrow(StarlaneError);
    expect(() => new Subscription(deps, { ...subscribeRequest({ $case: 'offset', value: 0n }), partitions: [] }, new Sink())).toThrow(StarlaneError);
  });
});

describe('without metadata', () => {
  it('answers Fetch, ListOffsets and Subscribe at once with LEADER_NOT_AVAILABLE saying there is no metadata yet', async () => {
    const metadata = new FakeMetadata();
    const transport = new FakeTransport();
    const deps = { metadata, transport, now: metadata.now };
    const fetched = await new FetchHandler(deps).fetch(fetchRequest([{ partition: 0, offset: 0n }]));
    expect(fetched.partitions.map((result) => [result.errorCode, result.errorMessage])).toEqual([[v1.ErrorCode.LEADER_NOT_AVAILABLE, expect.stringMatching(/^the gateway has no cluster metadata yet: /)]]);
    const offsets = await lookUpOffsets(deps, v1.IsolationLevel.READ_UNCOMMITTED, [{ topic: 't', partition: 0, spec: latest }], metadata.now() + 10_000);
    expect(offsets.map((result) => [result.errorCode, result.errorMessage])).toEqual([[v1.ErrorCode.LEADER_NOT_AVAILABLE, expect.stringMatching(/no cluster metadata yet/)]]);
    const sink: SubscriptionSink = { write: () => true, onceDrained: () => undefined, end: () => undefined };
    const subscription = new Subscription(deps, { partitions: [{ topic: 't', partition: 0, start: latest }], maxBytesPerMessage: 0, isolationLevel: 0, format: 0 }, sink);
    await expect(subscription.start()).rejects.toMatchObject({ code: 'LEADER_NOT_AVAILABLE' });
    // Nothing waited and nothing was sent to a node.
    expect(metadata.waiting).toBe(0);
    expect(transport.reads).toHaveLength(0);
  });
});

describe('lookUpOffsets', () => {
  it('asks a leader whose high watermark is behind its epoch start again after a growing back-off, until it answers', async () => {
    const metadata = new FakeMetadata(image(1, [node(1)], [topic('t', [1])]));
    const transport = new FakeTransport();
    const asked: number[] = [];
    transport.offsetAnswers = () => {
      asked.push(metadata.nowMs);
      const notYet = asked.length < 4;
      return [{ topic: 't', partition: 0, offset: notYet ? -1n : 42n, timestampMs: -1n, leaderEpoch: notYet ? -1 : 3, errorCode: notYet ? v1.ErrorCode.OFFSET_NOT_AVAILABLE : v1.ErrorCode.NONE, errorMessage: notYet ? 'not yet' : '' }];
    };
    const lookup = lookUpOffsets({ metadata, transport, now: metadata.now }, v1.IsolationLevel.READ_UNCOMMITTED, [{ topic: 't', partition: 0, spec: latest }], metadata.now() + 10_000);
    for (const waitMs of [10, 20, 40]) {
      await settle();
      expect(metadata.waiting).toBe(1);
      metadata.advance(waitMs - 1);
      await settle();
      expect(metadata.waiting).toBe(1);
      metadata.advance(1);
    }
    const [result] = await lookup;
    expect(result).toMatchObject({ offset: 42n, errorCode: v1.ErrorCode.NONE });
    expect(asked.map((at) => at - asked[0]!)).toEqual([0, 10, 30, 70]);
  });

  it('answers OFFSET_NOT_AVAILABLE when the deadline passes first', async () => {
    const metadata = new FakeMetadata(image(1, [node(1)], [topic('t', [1])]));
    const transport = new FakeTransport();
    transport.offsetAnswers = () => [{ topic: 't', partition: 0, offset: -1n, timestampMs: -1n, leaderEpoch: -1, errorCode: v1.ErrorCode.OFFSET_NOT_AVAILABLE, errorMessage: 'behind its epoch start' }];
    const lookup = lookUpOffsets({ metadata, transport, now: metadata.now }, v1.IsolationLevel.READ_UNCOMMITTED, [{ topic: 't', partition: 0, spec: latest }], metadata.now() + 100);
    for (let turn = 0; turn < 10; turn++) {
      await settle();
      metadata.advance(50);
    }
    const [result] = await lookup;
    expect(result).toMatchObject({ errorCode: v1.ErrorCode.OFFSET_NOT_AVAILABLE, errorMessage: 'behind its epoch start' });
  });
});
