/**
 * Bad input through the public API: every case gets a clear status with a stable code, nothing
 * already written is lost, and no process goes down.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import { attempt, call, errorCodeOf, type PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { createTopic, readPartition } from './workload';

jest.setTimeout(120_000);

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 1 }));
  await createTopic(clients, 'small', 1, { 'max.message.bytes': '1024' });
  await cluster.waitForLeaders('small');
});

afterAll(() => stopWithClients({ cluster, clients }));

function valueRecord(value: Buffer): v1.Record {
  return { nullableKey: undefined, nullableValue: { $case: 'value', value }, headers: [], timestampMs: 0n, offset: 0n, timestampType: 0, leaderEpoch: 0 };
}

async function produceTo(topic: string, partition: number, value: Buffer): Promise<v1.ProducePartitionResult> {
  const response = await call(clients.producer, clients.producer.produce, {
    acks: v1.Acks.ALL,
    timeoutMs: 5000,
    partitions: [{ topic, partition, payload: { $case: 'records', value: { records: [valueRecord(value)], producer: undefined, baseSequence: 0 } } }],
  });
  expect(response.partitions).toHaveLength(1);
  return response.partitions[0]!;
}

async function createResult(name: string, partitionCount: number): Promise<v1.CreateTopicResult> {
  const response = await call(clients.admin, clients.admin.createTopics, {
    topics: [{ name, partitionCount, replicationFactor: 1, replicaAssignments: [], configs: {} }],
    validateOnly: false,
    timeoutMs: 5000,
  });
  return response.results[0]!;
}

describe('bad input through the gateway', () => {
  it('refuses invalid topic names with INVALID_TOPIC_EXCEPTION', async () => {
    for (const name of ['bad/name', '.', '..', 'x'.repeat(250), 'spaces are bad', '']) {
      const result = await createResult(name, 1);
      expect([name, result.errorCode]).toEqual([name, v1.ErrorCode.INVALID_TOPIC_EXCEPTION]);
      expect(result.errorMessage).not.toBe('');
    }
  });

  it('refuses partition counts of zero or less with INVALID_PARTITIONS', async () => {
    for (const count of [0, -3]) {
      const result = await createResult(`count-${count}`, count);
      expect(result.errorCode).toBe(v1.ErrorCode.INVALID_PARTITIONS);
    }
  });

  it('answers produce and fetch on an unknown topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    expect((await produceTo('no-such-topic', 0, Buffer.from('x'))).errorCode).toBe(v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const fetched = await call(clients.consumer, clients.consumer.fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 0,
      isolationLevel: 0,
      format: v1.RecordFormat.RECORDS,
      partitions: [{ topic: 'no-such-topic', partition: 0, offset: 0n, maxBytes: 0 }],
    });
    expect(fetched.partitions[0]!.errorCode).toBe(v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const described = await call(clients.admin, clients.admin.describeTopics, { topics: ['no-such-topic'], topicIds: [], includeConfigs: false });
    expect(described.topics[0]!.errorCode).toBe(v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('refuses a record over max.message.bytes with MESSAGE_TOO_LARGE and keeps what was written', async () => {
    const first = await produceTo('small', 0, Buffer.from('fits'));
    expect(first.errorCode).toBe(v1.ErrorCode.NONE);
    const tooLarge = await produceTo('small', 0, Buffer.alloc(4096, 1));
    expect(tooLarge.errorCode).toBe(v1.ErrorCode.MESSAGE_TOO_LARGE);
    expect(tooLarge.errorMessage).toMatch(/1024/);
    const stored = await readPartition(clients, 'small', 0, { deadlineMs: 10_000 });
    expect(stored.map((record) => record.value)).toEqual(['fits']);
  });

  it('answers a fetch past the end with OFFSET_OUT_OF_RANGE', async () => {
    const fetched = await call(clients.consumer, clients.consumer.fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 0,
      isolationLevel: 0,
      format: v1.RecordFormat.BYTES,
      partitions: [{ topic: 'small', partition: 0, offset: 1000n, maxBytes: 0 }],
    });
    expect(fetched.partitions[0]!.errorCode).toBe(v1.ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('answers a partition index outside the topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    expect((await produceTo('small', 7, Buffer.from('x'))).errorCode).toBe(v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('answers malformed request bytes with INVALID_ARGUMENT and code INVALID_REQUEST', async () => {
    const raw = new grpc.Client(cluster.gatewayAddress, grpc.credentials.createInsecure());
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x07]);
    const identity = (value: Buffer): Buffer => value;
    try {
      for (const path of ['/starlane.v1.ProducerService/Produce', '/starlane.v1.ConsumerService/Fetch', '/starlane.v1.AdminService/CreateTopics']) {
        const error = await new Promise<grpc.ServiceError | null>((resolve) => raw.makeUnaryRequest(path, identity, identity, garbage, (failure) => resolve(failure)));
        expect([path, error?.code, errorCodeOf(error ?? undefined)]).toEqual([path, grpc.status.INVALID_ARGUMENT, 'INVALID_REQUEST']);
      }
      const subscribe = raw.makeServerStreamRequest('/starlane.v1.ConsumerService/Subscribe', identity, identity, garbage);
      subscribe.on('data', () => undefined);
      subscribe.on('error', () => undefined);
      const status = await new Promise<grpc.StatusObject>((resolve) => subscribe.on('status', resolve));
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      raw.close();
    }
  });

  it('is still up and serving after all of it', async () => {
    for (const name of ['controller', 'gateway', 'storage-node-1']) {
      const child = name === 'controller' ? cluster.controller : name === 'gateway' ? cluster.gateway : cluster.storageNode(1);
      expect([name, child.child.exitCode, child.child.signalCode]).toEqual([name, null, null]);
    }
    expect((await produceTo('small', 0, Buffer.from('still here'))).errorCode).toBe(v1.ErrorCode.NONE);
    const described = await attempt(clients.admin, clients.admin.describeCluster, {});
    expect(described.error).toBeUndefined();
    expect(described.response?.nodes).toHaveLength(1);
  });
});
