/**
 * The follower side of replication against a leader that only records what it is sent: a
 * real gRPC server on loopback, a real partition manager and log on disk.
 */
import * as grpc from '@grpc/grpc-js';
import { internalV1 } from '@starlane/proto';
import { withUnimplemented } from '@starlane/service-host';
import { image, managerHarness, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import { ReplicaFetchers } from './replica-fetcher';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const leader = 2;

interface SeenRequest {
  readonly stream: number;
  readonly nodeEpoch: bigint;
}

let harness: ManagerHarness;
let server: grpc.Server;
let fetchers: ReplicaFetchers | undefined;

afterEach(async () => {
  fetchers?.close();
  server.forceShutdown();
  await harness.cleanUp();
});

/** A leader that answers every fetch with nothing after a short wait, noting each request's stream and node epoch. */
async function recordingLeader(): Promise<{ port: number; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  let streams = 0;
  server = new grpc.Server();
  const definition = internalV1.StorageNodeServiceService;
  server.addService(
    definition,
    withUnimplemented(definition, {
      replicaFetch: (call: grpc.ServerDuplexStream<internalV1.ReplicaFetchRequest, internalV1.ReplicaFetchResponse>) => {
        const stream = ++streams;
        call.on('data', (request: internalV1.ReplicaFetchRequest) => {
          seen.push({ stream, nodeEpoch: request.replicaNodeEpoch });
          setTimeout(() => call.write({ partitions: [], errorCode: 0, errorMessage: '' }), 5);
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port, seen };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('replica fetcher', () => {
  it('opens a new stream quoting the new node epoch once this node registers again', async () => {
    harness = await managerHarness();
    const { port, seen } = await recordingLeader();
    const partitions = [{ leader, leaderEpoch: 1, partitionEpoch: 1, replicas: [leader, thisNode], isr: [leader, thisNode] }];
    harness.manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, partitions })], { otherNodes: [leader], ports: { [leader]: port } }));
    await settled(harness.manager);
    let nodeEpoch = 5n;
    const quiet = { info: () => undefined, warn: () => undefined };
    fetchers = new ReplicaFetchers({ manager: harness.manager, nodeEpoch: () => nodeEpoch, scheduler: harness.scheduler, nowMs: () => harness.clock.nowMs(), logger: quiet });
    fetchers.sync();

    await until(() => seen.filter((request) => request.nodeEpoch === 5n).length >= 2);
    nodeEpoch = 6n;
    await until(() => seen.some((request) => request.nodeEpoch === 6n));

    const first = seen.find((request) => request.nodeEpoch === 6n) as SeenRequest;
    const firstStream = (seen[0] as SeenRequest).stream;
    expect(first.stream).not.toBe(firstStream);
    // Nothing quotes the old epoch after the new one was first sent.
    expect(seen.slice(seen.indexOf(first)).every((request) => request.nodeEpoch === 6n)).toBe(true);
    expect(seen.filter((request) => request.stream === firstStream).every((request) => request.nodeEpoch === 5n)).toBe(true);
  });
});
