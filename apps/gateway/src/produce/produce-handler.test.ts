import { StarlaneError } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { BatchField, Compression, readBatch, readBatchHeader } from '@starlane/record-batch';
import { FakeMetadata, FakeTransport, appendOk, image, node, settle, topic } from '../fakes';
import { partitionForKey } from '@starlane/partitioner';
import { RoundRobinPartitioner } from '../partitioner';
import { noAckBytesMax } from '../limits';
import { PartitionWriter } from './partition-writer';
import { ProduceHandler, type ProduceInput } from './produce-handler';

function record(key: string | null, value: string | null, timestampMs = 0n): v1.Record {
  return {
    nullableKey: key === null ? undefined : { $case: 'key', value: Buffer.from(key) },
    nullableValue: value === null ? undefined : { $case: 'value', value: Buffer.from(value) },
    headers: [],
    timestampMs,
    offset: 0n,
    timestampType: v1.TimestampType.UNSPECIFIED,
    leaderEpoch: 0,
  };
}

function records(list: v1.Record[], extra: Partial<v1.ProduceRecords> = {}): v1.ProducePartitionData['payload'] {
  return { $case: 'records', value: { records: list, producer: undefined, baseSequence: 0, ...extra } };
}

function entry(topicName: string, partition: number, payload: v1.ProducePartitionData['payload']): v1.ProducePartitionData {
  return { topic: topicName, partition, payload };
}

function setup(options: { requestBytesMax?: number; configs?: Record<string, string> } = {}) {
  const metadata = new FakeMetadata(
    image(1, [node(1), node(2)], [topic('t', [1, 2, 1, 2]), topic('compact', [1], { configs: { 'cleanup.policy': 'compact' } }), topic('zipped', [1], { configs: options.configs ?? { 'compression.type': 'gzip' } })]),
  );
  const transport = new FakeTransport();
  const writer = new PartitionWriter({ metadata, transport, now: metadata.now });
  const handler = new ProduceHandler({
    metadata,
    writer,
    partitioner: new RoundRobinPartitioner(),
    now: metadata.now,
    requestBytesMax: options.requestBytesMax ?? 1024 * 1024,
    autoCreator: undefined,
  });
  /** Queues, answers every append with offset 100 + index, and returns the results. */
  let answered = 0;
  const produce = async (input: Partial<ProduceInput> & { partitions: v1.ProducePartitionData[] }): Promise<v1.ProducePartitionResult[]> => {
    const queued = await handler.queue({ acks: v1.Acks.LEADER, timeoutMs: 0, ...input });
    let done = false;
    void queued.results.then(() => (done = true));
    // Answer appends as they go out (writes to one partition go one after another at first).
    while (!done) {
      await settle();
      for (; answered < transport.appends.length; answered++) transport.appends[answered]!.answer([appendOk(100n + BigInt(answered))]);
    }
    return queued.results;
  };
  return { metadata, transport, handler, produce };
}

const codeOf = (result: v1.ProducePartitionResult): v1.ErrorCode => result.errorCode;

describe('ProduceHandler', () => {
  it('refuses acks out of range and a negative timeout for the whole request', async () => {
    const { handler } = setup();
    await expect(handler.queue({ acks: 7, timeoutMs: 0, partitions: [] })).rejects.toMatchObject({ code: 'INVALID_REQUIRED_ACKS' });
    await expect(handler.queue({ acks: -1, timeoutMs: 0, partitions: [] })).rejects.toMatchObject({ code: 'INVALID_REQUIRED_ACKS' });
    await expect(handler.queue({ acks: v1.Acks.ALL, timeoutMs: -5, partitions: [] })).rejects.toBeInstanceOf(StarlaneError);
  });

  it('answers every bad entry with its own code and writes the good ones', async () => {
    const { produce, transport } = setup();
    const results = await produce({
      partitions: [
        entry('bad name!', 0, { $case: 'recordBatches', value: Buffer.from('x') }),
        entry('missing', 0, { $case: 'recordBatches', value: Buffer.from('x') }),
        entry('t', 9, { $case: 'recordBatches', value: Buffer.from('x') }),
        entry('t', -2, { $case: 'recordBatches', value: Buffer.from('x') }),
        entry('t', 0, undefined),
        entry('t', 0, { $case: 'recordBatches', value: Buffer.alloc(0) }),
        entry('t', 0, records([])),
        entry('t', -1, { $case: 'recordBatches', value: Buffer.from('x') }),
        entry('t', -1, records([record('a', '1')], { producer: { producerId: 1n, producerEpoch: 0 } })),
        entry('t', -1, records([record('a', '1'), record('b', '2')])),
        entry('compact', 0, records([record('k', '1'), record(null, '2')])),
        entry('t', 1, records([record('a', '1')], { producer: { producerId: 1n, producerEpoch: 40000 } })),
        entry('t', 3, { $case: 'recordBatches', value: Buffer.from('raw') }),
      ],
    });
    expect(results.map(codeOf)).toEqual([
      v1.ErrorCode.INVALID_TOPIC_EXCEPTION,
      v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_RECORD,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.NONE,
    ]);
    expect(results[10]!.recordErrors).toEqual([{ recordIndex: 1, message: expect.any(String) }]);
    expect(results.map((result) => result.topic)).toEqual(['bad name!', 'missing', 't', 't', 't', 't', 't', 't', 't', 't', 'compact', 't', 't']);
    // Only the raw batch went out, untouched, to partition 3's leader.
    expect(transport.appends).toHaveLength(1);
    expect(transport.appends[0]!.node).toBe(2);
    expect(transport.appends[0]!.call.partitions[0]!.recordBatches.toString()).toBe('raw');
    expect(results[12]).toMatchObject({ partition: 3, baseOffset: 100n });
  });

  it('fails every entry with MESSAGE_TOO_LARGE when the request exceeds the byte bound', async () => {
    const { produce, transport } = setup({ requestBytesMax: 1024 });
    const results = await produce({ partitions: [entry('t', 0, { $case: 'recordBatches', value: Buffer.alloc(600) }), entry('t', 1, { $case: 'recordBatches', value: Buffer.alloc(600) })] });
    expect(results.map(codeOf)).toEqual([v1.ErrorCode.MESSAGE_TOO_LARGE, v1.ErrorCode.MESSAGE_TOO_LARGE]);
    expect(transport.appends).toHaveLength(0);
  });

  it("puts a keyed entry where Kafka's default partitioner would and round-robins null keys", async () => {
    const { produce, transport } = setup();
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const results = await produce({ partitions: keys.map((key) => entry('t', -1, records([record(key, 'v'), record(key, 'w')]))) });
    expect(results.map((result) => result.partition)).toEqual(keys.map((key) => partitionForKey(Buffer.from(key), 4)));
    const sent = transport.appends.map((append) => append.call.partitions[0]!.partition);
    expect(sent.sort()).toEqual(results.map((result) => result.partition).sort());
    const nullKeyed = await produce({ partitions: [0, 1, 2, 3].map(() => entry('t', -1, records([record(null, 'v')]))) });
    expect(nullKeyed.map((result) => result.partition).sort()).toEqual([0, 1, 2, 3]);
  });

  it('turns structured records into one batch: timestamps stamped, compression per topic, idempotence in the header', async () => {
    const { produce, transport, metadata } = setup();
    await produce({
      partitions: [
        entry('zipped', 0, records([record('k', 'hello'), record(null, null, 1234n)], { producer: { producerId: 42n, producerEpoch: 3 }, baseSequence: 7 })),
      ],
    });
    const batch = transport.appends[0]!.call.partitions[0]!.recordBatches;
    const header = readBatchHeader(batch);
    expect(header.compression).toBe(Compression.gzip);
    expect([header.producerId, header.producerEpoch, header.baseSequence, header.recordCount]).toEqual([42n, 3, 7, 2]);
    const decoded = await readBatch(batch);
    expect(decoded.records.map((stored) => [stored.key?.toString() ?? null, stored.value?.toString() ?? null, stored.timestamp])).toEqual([
      ['k', 'hello', BigInt(metadata.nowMs)],
      [null, null, 1234n],
    ]);
    expect(batch.readInt32BE(BatchField.partitionLeaderEpoch)).toBe(-1);
  });

  it('refuses a built batch larger than the topic allows', async () => {
    const { produce } = setup({ configs: { 'max.message.bytes': '100' } });
    const results = await produce({ partitions: [entry('zipped', 0, records([record('k', 'x'.repeat(50)), record('k', 'y'.repeat(60))]))] });
    expect(results.map(codeOf)).toEqual([v1.ErrorCode.MESSAGE_TOO_LARGE]);
  });

  it('answers ACKS_NONE once queued, with offsets unknown', async () => {
    const { handler, transport } = setup();
    const queued = await handler.queue({ acks: v1.Acks.NONE, timeoutMs: 0, partitions: [entry('t', 0, { $case: 'recordBatches', value: Buffer.from('x') }), entry('nope', 0, { $case: 'recordBatches', value: Buffer.from('x') })] });
    const results = await queued.results;
    expect(results.map((result) => [result.errorCode, result.baseOffset])).toEqual([
      [v1.ErrorCode.NONE, -1n],
      [v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ]);
    await settle();
    // The write still goes out, as LEADER to the node.
    expect(transport.appends[0]!.call.acks).toBe(v1.Acks.LEADER);
  });
});

describe('acks=NONE', () => {
  it('answers at once while unsettled writes stay under the bound, then waits for earlier writes to settle', async () => {
    const { handler, transport } = setup({ requestBytesMax: noAckBytesMax });
    const big = (partition: number): v1.ProducePartitionData => entry('t', partition, { $case: 'recordBatches', value: Buffer.alloc(noAckBytesMax / 2 + 1) });
    // Two writes to different partitions fit under the bound together only if under half each: the second waits.
    const first = await handler.queue({ acks: v1.Acks.NONE, timeoutMs: 0, partitions: [big(0)] });
    expect((await first.results).map(codeOf)).toEqual([v1.ErrorCode.NONE]);
    let secondQueued = false;
    const second = handler.queue({ acks: v1.Acks.NONE, timeoutMs: 0, partitions: [big(1)] }).then((queued) => {
      secondQueued = true;
      return queued;
    });
    await settle();
    expect(secondQueued).toBe(false);
    // The first write settles at its leader: the second may go.
    transport.appends[0]!.answer([appendOk(0n)]);
    await settle();
    expect(secondQueued).toBe(true);
    expect((await (await second).results).map(codeOf)).toEqual([v1.ErrorCode.NONE]);
  });

  it('answers every entry at once with LEADER_NOT_AVAILABLE while the gateway has no metadata', async () => {
    const metadata = new FakeMetadata();
    const transport = new FakeTransport();
    const handler = new ProduceHandler({ metadata, writer: new PartitionWriter({ metadata, transport, now: metadata.now }), partitioner: new RoundRobinPartitioner(), now: metadata.now, requestBytesMax: 1024, autoCreator: undefined });
    const queued = await handler.queue({ acks: v1.Acks.ALL, timeoutMs: 0, partitions: [entry('t', 0, records([record(null, 'a')])), entry('t', -1, records([record('k', 'b')]))] });
    const results = await queued.results;
    expect(results.map((result) => [result.topic, result.partition, result.errorCode])).toEqual([
      ['t', 0, v1.ErrorCode.LEADER_NOT_AVAILABLE],
      ['t', -1, v1.ErrorCode.LEADER_NOT_AVAILABLE],
    ]);
    expect(results[0]!.errorMessage).toMatch(/^the gateway has no cluster metadata yet: .*; retry$/);
    expect(metadata.waiting).toBe(0);
    expect(transport.appends).toHaveLength(0);
  });
});
