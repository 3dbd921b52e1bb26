/**
 * The gateway in a real cluster: a controller, two storage nodes and the gateway as separate
 * processes from their bundles, talking gRPC over loopback.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { buildBatch, readBatch, scanBatches } from '@starlane/record-batch';
import { errorCodeMetadataKey } from '@starlane/service-host';
import { startCluster, unaryCall, type TestCluster, type UnaryMethod } from '@starlane/testing';
import { partitionForKey } from '@starlane/partitioner';

jest.setTimeout(120_000);

/** Calls with a 60 s deadline. */
const call = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(client, method, request, 60_000);

function record(key: string | null, value: string): v1.Record {
  return {
    nullableKey: key === null ? undefined : { $case: 'key', value: Buffer.from(key) },
    nullableValue: { $case: 'value', value: Buffer.from(value) },
    headers: [{ key: 'h', nullableValue: { $case: 'value', value: Buffer.from('v') } }],
    timestampMs: 0n,
    offset: 0n,
    timestampType: v1.TimestampType.UNSPECIFIED,
    leaderEpoch: 0,
  };
}

function recordsEntry(topic: string, partition: number, list: v1.Record[]): v1.ProducePartitionData {
  return { topic, partition, payload: { $case: 'records', value: { records: list, producer: undefined, baseSequence: 0 } } };
}

function batchesEntry(topic: string, partition: number, bytes: Buffer): v1.ProducePartitionData {
  return { topic, partition, payload: { $case: 'recordBatches', value: bytes } };
}

const partitionCount = 4;
const requestBytesMax = 256 * 1024;

describe('gateway in a cluster', () => {
  let cluster: TestCluster;
  let admin: v1.AdminServiceClient;
  let producer: v1.ProducerServiceClient;
  let consumer: v1.ConsumerServiceClient;
  let groups: v1.ConsumerGroupServiceClient;

  const produce = (partitions: v1.ProducePartitionData[], acks = v1.Acks.ALL): Promise<v1.ProduceResponse> =>
    call(producer, producer.produce, { acks, timeoutMs: 10_000, partitions });
  const fetch = (partitions: { topic: string; partition: number; offset: bigint }[], format = v1.RecordFormat.RECORDS, maxWaitMs = 0): Promise<v1.FetchResponse> =>
    call(consumer, consumer.fetch, { maxWaitMs, minBytes: 0, maxBytes: 0, isolationLevel: v1.IsolationLevel.UNSPECIFIED, format, partitions: partitions.map((partition) => ({ ...partition, maxBytes: 0 })) });

  beforeAll(async () => {
    cluster = await startCluster({ storageNodes: 2, gatewayArgs: [`--produce-request-bytes-max=${requestBytesMax}`] });
    const credentials = grpc.credentials.createInsecure();
    admin = new v1.AdminServiceClient(cluster.gatewayAddress, credentials);
    producer = new v1.ProducerServiceClient(cluster.gatewayAddress, credentials);
    consumer = new v1.ConsumerServiceClient(cluster.gatewayAddress, credentials);
    groups = new v1.ConsumerGroupServiceClient(cluster.gatewayAddress, credentials);
    const created = await call(admin, admin.createTopics, {
      topics: [{ name: 'orders', partitionCount, replicationFactor: 1, replicaAssignments: [], configs: {} }],
      validateOnly: false,
      timeoutMs: 20_000,
    });
    expect(created.results.map((result) => [result.name, result.errorCode, result.partitionCount])).toEqual([['orders', v1.ErrorCode.NONE, partitionCount]]);
  });

  afterAll(async () => {
    for (const client of [admin, producer, consumer, groups]) client?.close();
    await cluster?.stop();
  });

  const keys = Array.from({ length: 24 }, (_, index) => `customer-${index}`);
  const perKey = 3;

  it('writes keyed records to their murmur2 partitions, in order, and reads them back by Fetch', async () => {
    // Produced right after CreateTopics answered: the gateway already routes the new topic.
    for (let round = 0; round < perKey; round++) {
      const response = await produce(keys.map((key) => recordsEntry('orders', -1, [record(key, `${key}#${round}`)])));
      response.partitions.forEach((result, index) => {
        expect({ key: keys[index], code: result.errorCode }).toEqual({ key: keys[index], code: v1.ErrorCode.NONE });
        expect(result.partition).toBe(partitionForKey(Buffer.from(keys[index]!), partitionCount));
        expect(result.baseOffset).toBeGreaterThanOrEqual(0n);
      });
    }
    const fetched = await fetch(Array.from({ length: partitionCount }, (_, partition) => ({ topic: 'orders', partition, offset: 0n })));
    const seen = new Map<string, string[]>();
    for (const result of fetched.partitions) {
      expect(result.errorCode).toBe(v1.ErrorCode.NONE);
      const list = result.payload?.$case === 'records' ? result.payload.value.records : [];
      list.forEach((stored, index) => {
        expect(stored.offset).toBe(BigInt(index));
        const key = stored.nullableKey!.value.toString();
        expect(partitionForKey(Buffer.from(key), partitionCount)).toBe(result.partition);
        seen.set(key, [...(seen.get(key) ?? []), stored.nullableValue!.value.toString()]);
        expect(stored.headers).toEqual([{ key: 'h', nullableValue: { $case: 'value', value: Buffer.from('v') } }]);
        expect(stored.timestampMs).toBeGreaterThan(0n);
      });
      expect(result.nextOffset).toBe(BigInt(list.length));
      expect(result.highWatermark).toBe(BigInt(list.length));
    }
    for (const key of keys) expect(seen.get(key)).toEqual(Array.from({ length: perKey }, (_, round) => `${key}#${round}`));
  });

  it('forwards raw batches untouched and returns them as bytes, over a ProduceStream in request order', async () => {
    await call(admin, admin.createTopics, { topics: [{ name: 'raw', partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: {} }], validateOnly: false, timeoutMs: 20_000 });
    const stream = producer.produceStream();
    const responses: v1.ProduceStreamResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (response: v1.ProduceStreamResponse) => responses.push(response));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const sent: Buffer[] = [];
    for (let index = 0; index < 50; index++) {
      const batch = await buildBatch([{ key: Buffer.from(`k${index}`), value: Buffer.from(`v${index}`), timestamp: 1000n + BigInt(index) }]);
      sent.push(batch);
      stream.write({ requestId: BigInt(index + 1), acks: v1.Acks.LEADER, timeoutMs: 10_000, partitions: [batchesEntry('raw', 0, batch)] });
    }
    // A request-level failure is answered in its place and the stream stays open.
    stream.write({ requestId: 99n, acks: 9 as v1.Acks, timeoutMs: 0, partitions: [batchesEntry('raw', 0, sent[0]!)] });
    stream.end();
    await done;
    expect(responses.map((response) => response.requestId)).toEqual([...Array.from({ length: 50 }, (_, index) => BigInt(index + 1)), 99n]);
    expect(responses.slice(0, 50).map((response) => response.partitions[0]!.baseOffset)).toEqual(Array.from({ length: 50 }, (_, index) => BigInt(index)));
    expect(responses[50]).toMatchObject({ errorCode: v1.ErrorCode.INVALID_REQUIRED_ACKS, partitions: [] });

    const fetched = await fetch([{ topic: 'raw', partition: 0, offset: 0n }], v1.RecordFormat.BYTES);
    const payload = fetched.partitions[0]!.payload;
    expect(payload?.$case).toBe('recordBatches');
    const batches = scanBatches(payload?.$case === 'recordBatches' ? payload.value : Buffer.alloc(0), { batchBytesMax: 1 << 20 }).batches;
    expect(batches).toHaveLength(50);
    for (const [index, slice] of batches.entries()) {
      // Only baseOffset and the leader epoch (outside the CRC) differ from what was sent.
      expect(slice.bytes.subarray(16)).toEqual(sent[index]!.subarray(16));
      const decoded = await readBatch(slice.bytes);
      expect(decoded.records[0]!.value?.toString()).toBe(`v${index}`);
    }
  });

  it('pushes new records to a subscriber as they are written and ends when the client cancels', async () => {
    const subscription = consumer.subscribe({
      partitions: Array.from({ length: partitionCount }, (_, partition) => ({ topic: 'orders', partition, start: { spec: { $case: 'boundary', value: v1.OffsetBoundary.EARLIEST } } })),
      maxBytesPerMessage: 0,
      isolationLevel: v1.IsolationLevel.UNSPECIFIED,
      format: v1.RecordFormat.RECORDS,
    });
    const received: { partition: number; key: string; value: string; offset: bigint }[] = [];
    let wanted = keys.length * perKey;
    let arrived: () => void = () => undefined;
    subscription.on('data', (message: v1.SubscribeResponse) => {
      for (const result of message.partitions) {
        expect(result.errorCode).toBe(v1.ErrorCode.NONE);
        for (const stored of result.payload?.$case === 'records' ? result.payload.value.records : []) {
          received.push({ partition: result.partition, key: stored.nullableKey!.value.toString(), value: stored.nullableValue!.value.toString(), offset: stored.offset });
        }
      }
      if (received.length >= wanted) arrived();
    });
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      subscription.on('error', (error: grpc.ServiceError) => resolve(error));
      subscription.on('end', () => resolve(undefined));
    });
    await new Promise<void>((resolve) => {
      arrived = resolve;
      if (received.length >= wanted) resolve();
    });
    expect(received).toHaveLength(wanted);
    for (const key of keys) expect(received.filter((item) => item.key === key).map((item) => item.value)).toEqual(Array.from({ length: perKey }, (_, round) => `${key}#${round}`));

    // Live: a record produced now reaches the subscriber.
    wanted += 1;
    const pushed = new Promise<void>((resolve) => (arrived = resolve));
    const started = Date.now();
    await produce([recordsEntry('orders', -1, [record('late', 'live')])], v1.Acks.LEADER);
    await pushed;
    expect(received[received.length - 1]).toMatchObject({ key: 'late', value: 'live', partition: partitionForKey(Buffer.from('late'), partitionCount) });
    expect(Date.now() - started).toBeLessThan(2000);

    subscription.cancel();
    const end = await ended;
    expect(end?.code ?? grpc.status.CANCELLED).toBe(grpc.status.CANCELLED);
  });

  it('answers ListOffsets from the leaders', async () => {
    const counts = new Map<number, bigint>();
    for (const key of [...keys, 'late']) {
      const partition = partitionForKey(Buffer.from(key), partitionCount);
      counts.set(partition, (counts.get(partition) ?? 0n) + (key === 'late' ? 1n : BigInt(perKey)));
    }
    const lookups = (value: v1.OffsetBoundary): v1.ListOffsetsPartition[] =>
      Array.from({ length: partitionCount }, (_, partition) => ({ topic: 'orders', partition, spec: { spec: { $case: 'boundary', value } } }));
    const latest = await call(admin, admin.listOffsets, { isolationLevel: v1.IsolationLevel.UNSPECIFIED, partitions: lookups(v1.OffsetBoundary.LATEST) });
    expect(latest.partitions.map((result) => [result.errorCode, result.offset])).toEqual(Array.from({ length: partitionCount }, (_, partition) => [v1.ErrorCode.NONE, counts.get(partition) ?? 0n]));
    const earliest = await call(admin, admin.listOffsets, { isolationLevel: v1.IsolationLevel.UNSPECIFIED, partitions: [...lookups(v1.OffsetBoundary.EARLIEST), { topic: 'nope', partition: 0, spec: { spec: { $case: 'boundary', value: v1.OffsetBoundary.EARLIEST } } }] });
    expect(earliest.partitions.map((result) => [result.errorCode, result.offset])).toEqual([
      ...Array.from({ length: partitionCount }, () => [v1.ErrorCode.NONE, 0n]),
      [v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ]);
  });

  it('answers every bad produce input with its code and keeps serving', async () => {
    const raw = await buildBatch([{ key: null, value: Buffer.from('x'), timestamp: 1n }]);
    const response = await produce([
      batchesEntry('missing-topic', 0, raw),
      batchesEntry('bad/name', 0, raw),
      batchesEntry('orders', 17, raw),
      batchesEntry('orders', -3, raw),
      { topic: 'orders', partition: 0, payload: undefined },
      batchesEntry('orders', 0, Buffer.alloc(0)),
      recordsEntry('orders', 0, []),
      batchesEntry('orders', -1, raw),
      recordsEntry('orders', -1, [record('a', '1'), record('b', '2')]),
    ]);
    expect(response.partitions.map((result) => result.errorCode)).toEqual([
      v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      v1.ErrorCode.INVALID_TOPIC_EXCEPTION,
      v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
      v1.ErrorCode.INVALID_REQUEST,
    ]);
    const tooLarge = await produce([batchesEntry('orders', 0, Buffer.alloc(requestBytesMax + 1))]);
    expect(tooLarge.partitions.map((result) => result.errorCode)).toEqual([v1.ErrorCode.MESSAGE_TOO_LARGE]);
    const badAcks = await call(producer, producer.produce, { acks: 12 as v1.Acks, timeoutMs: 0, partitions: [batchesEntry('orders', 0, raw)] }).catch((error: grpc.ServiceError) => error);
    expect(badAcks).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((badAcks as grpc.ServiceError).metadata.get(errorCodeMetadataKey)).toEqual(['INVALID_REQUIRED_ACKS']);
    // A corrupt batch is the leader's to refuse.
    const corrupt = Buffer.from(raw);
    corrupt[corrupt.length - 1]! ^= 0xff;
    const refused = await produce([batchesEntry('orders', 0, corrupt)]);
    expect(refused.partitions[0]!.errorCode).toBe(v1.ErrorCode.CORRUPT_MESSAGE);
    // Still serving.
    const fine = await produce([batchesEntry('raw', 0, raw)]);
    expect(fine.partitions[0]!.errorCode).toBe(v1.ErrorCode.NONE);
  });

  it('answers bad reads with their codes', async () => {
    const fetched = await fetch([
      { topic: 'missing-topic', partition: 0, offset: 0n },
      { topic: 'bad/name', partition: 0, offset: 0n },
      { topic: 'orders', partition: 0, offset: 1_000_000n },
    ]);
    expect(fetched.partitions.map((result) => result.errorCode)).toEqual([v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, v1.ErrorCode.INVALID_TOPIC_EXCEPTION, v1.ErrorCode.OFFSET_OUT_OF_RANGE]);
    const badWait = await call(consumer, consumer.fetch, { maxWaitMs: -1, minBytes: 0, maxBytes: 0, isolationLevel: 0, format: 0, partitions: [] }).catch((error: grpc.ServiceError) => error);
    expect(badWait).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const badSubscribe = consumer.subscribe({ partitions: [{ topic: 'orders', partition: 0, start: { spec: { $case: 'boundary', value: v1.OffsetBoundary.MAX_TIMESTAMP } } }], maxBytesPerMessage: 0, isolationLevel: 0, format: 0 });
    const status = await new Promise<grpc.ServiceError>((resolve) => badSubscribe.on('error', resolve));
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    const dropped = consumer.subscribe({ partitions: [{ topic: 'missing-topic', partition: 0, start: { spec: { $case: 'offset', value: 0n } } }], maxBytesPerMessage: 0, isolationLevel: 0, format: 0 });
    const messages: v1.SubscribeResponse[] = [];
    dropped.on('data', (message: v1.SubscribeResponse) => messages.push(message));
    await new Promise<void>((resolve) => dropped.on('end', resolve));
    expect(messages.flatMap((message) => message.partitions.map((result) => result.errorCode))).toEqual([v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  });

  it('hands out producer ids and bumps epochs', async () => {
    const fresh = await call(producer, producer.initProducerId, { current: undefined });
    expect(fresh.errorCode).toBe(v1.ErrorCode.NONE);
    expect(fresh.producer!.producerId).toBeGreaterThanOrEqual(0n);
    expect(fresh.producer!.producerEpoch).toBe(0);
    const other = await call(producer, producer.initProducerId, { current: undefined });
    expect(other.producer!.producerId).not.toBe(fresh.producer!.producerId);
    const bumped = await call(producer, producer.initProducerId, { current: fresh.producer });
    expect(bumped.producer).toEqual({ producerId: fresh.producer!.producerId, producerEpoch: 1 });
    const invalid = await call(producer, producer.initProducerId, { current: { producerId: -4n, producerEpoch: 0 } });
    expect(invalid.errorCode).toBe(v1.ErrorCode.INVALID_REQUEST);
  });

  it('forwards the metadata RPCs to the controller and leaves groups and reassignment unimplemented', async () => {
    const cluster_ = await call(admin, admin.describeCluster, {});
    expect(cluster_.nodes.map((node) => node.nodeId)).toEqual([1, 2]);
    const described = await call(admin, admin.describeTopics, { topics: ['orders'], topicIds: [], includeConfigs: false });
    expect(described.topics[0]!.partitions).toHaveLength(partitionCount);
    const grown = await call(admin, admin.createPartitions, { topics: [{ topic: 'raw', totalCount: 2, replicaAssignments: [] }], validateOnly: false, timeoutMs: 10_000 });
    expect(grown.results[0]!.errorCode).toBe(v1.ErrorCode.NONE);
    // Routable at once.
    const written = await produce([recordsEntry('raw', 1, [record(null, 'new partition')])]);
    expect(written.partitions[0]!.errorCode).toBe(v1.ErrorCode.NONE);
    const deleted = await call(admin, admin.deleteTopics, { topics: ['raw'], topicIds: [], timeoutMs: 10_000 });
    expect(deleted.results[0]!.errorCode).toBe(v1.ErrorCode.NONE);
    const gone = await produce([recordsEntry('raw', 0, [record(null, 'x')])]);
    expect(gone.partitions[0]!.errorCode).toBe(v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Forwarded to the controller: nothing is being moved.
    const reassign = await call(admin, admin.listReassignments, { partitions: [] });
    expect(reassign.reassignments).toEqual([]);
    const group = await call(groups, groups.listGroups, { states: [], pageSize: 0, pageToken: '' }).catch((error: grpc.ServiceError) => error);
    expect(group).toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });
});
