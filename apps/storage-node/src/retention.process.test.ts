/**
 * Retention on its own schedule in a real cluster: a storage node started with
 * --log-retention-check-interval-ms deletes segments past retention.ms within that interval of
 * starting, without waiting for Kafka's default five minutes.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { buildBatch } from '@starlane/record-batch';
import { startCluster, unaryCall as call, waitUntil, type TestCluster } from '@starlane/testing';

jest.setTimeout(120_000);

const checkIntervalMs = 1000;

describe('retention schedule of a storage node', () => {
  let cluster: TestCluster;
  let admin: v1.AdminServiceClient;
  let producer: v1.ProducerServiceClient;

  beforeAll(async () => {
    cluster = await startCluster({ storageNodes: 1, storageNodeArgs: [`--log-retention-check-interval-ms=${checkIntervalMs}`] });
    admin = new v1.AdminServiceClient(cluster.gatewayAddress, grpc.credentials.createInsecure());
    producer = new v1.ProducerServiceClient(cluster.gatewayAddress, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    admin?.close();
    producer?.close();
    await cluster?.stop();
  });

  it('deletes segments past retention.ms within --log-retention-check-interval-ms', async () => {
    // Segments of one batch each; the records are years past the default retention.ms of 7 days.
    const created = await call(admin, admin.createTopics, {
      topics: [{ name: 'old', partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: { 'segment.bytes': '1024' } }],
      validateOnly: false,
      timeoutMs: 20_000,
    });
    expect(created.results[0]?.errorCode).toBe(v1.ErrorCode.NONE);
    await cluster.waitForLeaders('old');
    for (let index = 0; index < 4; index++) {
      const batch = await buildBatch([{ key: null, value: Buffer.alloc(600, index), timestamp: 1_000_000_000_000n + BigInt(index) }]);
      const produced = await call(producer, producer.produce, { acks: v1.Acks.ALL, timeoutMs: 10_000, partitions: [{ topic: 'old', partition: 0, payload: { $case: 'recordBatches', value: batch } }] });
      expect(produced.partitions[0]?.errorCode).toBe(v1.ErrorCode.NONE);
    }
    const earliest = async (): Promise<bigint> => {
      const answer = await call(admin, admin.listOffsets, {
        isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
        partitions: [{ topic: 'old', partition: 0, spec: { spec: { $case: 'boundary', value: v1.OffsetBoundary.EARLIEST } } }],
      });
      expect(answer.partitions[0]?.errorCode).toBe(v1.ErrorCode.NONE);
      return answer.partitions[0]?.offset ?? -1n;
    };
    // Every closed segment goes (the active one, holding the last batch, stays). The default
    // schedule would not look for 30 s after the log opened, nor again for five minutes.
    const start = await waitUntil('retention to move the log start', async () => ((await earliest()) === 3n ? 3n : undefined), 10 * checkIntervalMs);
    expect(start).toBe(3n);
  });
});
