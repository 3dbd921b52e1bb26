/**
 * A gateway whose controllers cannot be reached: it listens but is not ready, and answers every
 * request at once with a retriable error saying it has no metadata, instead of waiting and then
 * calling an existing topic unknown. Once a controller is there, it becomes ready and serves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { errorCodeMetadataKey } from '@starlane/service-host';
import { appBundle, freePort, healthStatus, killAll, startApp, unaryAttempt, type AppProcess, type UnaryMethod } from '@starlane/testing';

jest.setTimeout(120_000);

/** A deadline well below the 30 s a request used to wait for metadata: an answer within it came without waiting. */
const answerDeadlineMs = 5_000;

/** Calls with the answer's deadline, resolving with the error instead of rejecting. */
const attempt = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<{ response?: Res; error?: grpc.ServiceError }> =>
  unaryAttempt(client, method, request, answerDeadlineMs);

function launch(name: string, app: string, args: string[]): AppProcess {
  return startApp({ name, command: process.execPath, args: [appBundle(app), '--metrics-port=0', '--listen-host=127.0.0.1', ...args] });
}

async function readyzStatus(metricsAddress: string): Promise<number> {
  return (await fetch(`http://${metricsAddress}/readyz`)).status;
}

describe('a gateway without metadata', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'starlane-gateway-readiness-'));
  });

  afterAll(async () => {
    await killAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it('is not ready and refuses requests at once, saying why, until a controller gives it metadata', async () => {
    const controllerPort = await freePort();
    const gateway = launch('gateway', 'gateway', ['--grpc-port=0', `--controllers=127.0.0.1:${controllerPort}`]);
    const { grpcAddress, metricsAddress } = await gateway.ready;
    const credentials = grpc.credentials.createInsecure();
    const admin = new v1.AdminServiceClient(grpcAddress, credentials);
    const producer = new v1.ProducerServiceClient(grpcAddress, credentials);
    const consumer = new v1.ConsumerServiceClient(grpcAddress, credentials);
    try {
      expect(await readyzStatus(metricsAddress)).toBe(503);
      await expect(healthStatus(grpcAddress)).resolves.toBe('NOT_SERVING');

      const described = await attempt(admin, admin.describeTopics, { topics: ['orders'], topicIds: [], includeConfigs: false });
      expect(described.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(described.error?.metadata.get(errorCodeMetadataKey)).toEqual(['LEADER_NOT_AVAILABLE']);
      expect(described.error?.details).toMatch(new RegExp(`^the gateway has no cluster metadata yet: no snapshot from controllers 127\\.0\\.0\\.1:${controllerPort}.*; retry$`));

      const produced = await attempt(producer, producer.produce, {
        acks: v1.Acks.ALL,
        timeoutMs: 0,
        partitions: [{ topic: 'orders', partition: 0, payload: { $case: 'recordBatches', value: Buffer.from('x') } }],
      });
      expect(produced.response?.partitions.map((result) => result.errorCode)).toEqual([v1.ErrorCode.LEADER_NOT_AVAILABLE]);

      const fetched = await attempt(consumer, consumer.fetch, { maxWaitMs: 0, minBytes: 0, maxBytes: 0, isolationLevel: 0, format: 0, partitions: [{ topic: 'orders', partition: 0, offset: 0n, maxBytes: 0 }] });
      expect(fetched.response?.partitions.map((result) => result.errorCode)).toEqual([v1.ErrorCode.LEADER_NOT_AVAILABLE]);

      const offsets = await attempt(admin, admin.listOffsets, { isolationLevel: 0, partitions: [{ topic: 'orders', partition: 0, spec: { spec: { $case: 'boundary', value: v1.OffsetBoundary.LATEST } } }] });
      expect(offsets.response?.partitions.map((result) => result.errorCode)).toEqual([v1.ErrorCode.LEADER_NOT_AVAILABLE]);

      // A controller appears where the gateway looks: the gateway becomes ready and answers from metadata.
      const controller = launch('controller', 'controller', [`--grpc-port=${controllerPort}`, `--data-dir=${join(scratch, 'controller')}`]);
      await controller.ready;
      const deadline = performance.now() + 30_000;
      while ((await readyzStatus(metricsAddress)) !== 200 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await readyzStatus(metricsAddress)).toBe(200);
      await expect(healthStatus(grpcAddress)).resolves.toBe('SERVING');
      const known = await attempt(admin, admin.describeTopics, { topics: ['orders'], topicIds: [], includeConfigs: false });
      expect(known.response?.topics.map((topic) => [topic.name, topic.errorCode])).toEqual([['orders', v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    } finally {
      for (const client of [admin, producer, consumer]) client.close();
    }
  });
});
