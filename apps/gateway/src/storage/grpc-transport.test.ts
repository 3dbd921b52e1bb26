import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from '@starlane/metadata';
import { internalV1, v1 } from '@starlane/proto';
import { appendPartitionsMax, appendRequestBytesMax } from '../limits';
import { GrpcStorageTransport, composeAppend } from './grpc-transport';
import type { AppendCall } from './transport';

function queued(acks: v1.Acks, partitions: [string, number, number][], timeoutMs = 1000): { item: { call: AppendCall; bytes: number } } {
  const data = partitions.map(([topic, partition, bytes]) => ({ topic, topicId: `${topic}-id`, partition, currentLeaderEpoch: 0, recordBatches: Buffer.alloc(bytes) }));
  return { item: { call: { acks, timeoutMs, partitions: data }, bytes: partitions.reduce((sum, [, , bytes]) => sum + bytes, 0) } };
}

describe('composeAppend', () => {
  it('merges queued appends for distinct partitions with the same acks into one request', () => {
    const queue = [queued(v1.Acks.LEADER, [['a', 0, 10]], 900), queued(v1.Acks.LEADER, [['a', 1, 10], ['b', 0, 10]], 500), queued(v1.Acks.LEADER, [['a', 0, 10]])];
    const { request, taken, timeoutMs } = composeAppend(queue, 7n);
    // The third names a-0 again: a request carries a partition at most once.
    expect(taken).toBe(2);
    expect(request.requestId).toBe(7n);
    expect(request.partitions.map((data) => `${data.topic}-${data.partition}`)).toEqual(['a-0', 'a-1', 'b-0']);
    expect(timeoutMs).toBe(500);
  });

  it('stops at a different acks level and at the byte bound', () => {
    expect(composeAppend([queued(v1.Acks.LEADER, [['a', 0, 1]]), queued(v1.Acks.ALL, [['a', 1, 1]])], 1n).taken).toBe(1);
    const half = Math.ceil(appendRequestBytesMax / 2) + 1;
    expect(composeAppend([queued(v1.Acks.LEADER, [['a', 0, half]]), queued(v1.Acks.LEADER, [['a', 1, half]])], 1n).taken).toBe(1);
    // A single write larger than the bound still goes, alone.
    expect(composeAppend([queued(v1.Acks.LEADER, [['a', 0, appendRequestBytesMax * 2]])], 1n).taken).toBe(1);
  });

  it('stops before naming more partitions than a storage node accepts in one request', () => {
    const many = (topic: string): [string, number, number][] => Array.from({ length: 6000 }, (_, partition): [string, number, number] => [topic, partition, 1]);
    const { request, taken } = composeAppend([queued(v1.Acks.LEADER, many('a')), queued(v1.Acks.LEADER, many('b'))], 1n);
    expect(taken).toBe(1);
    expect(request.partitions.length).toBeLessThanOrEqual(appendPartitionsMax);
  });
});

describe('GrpcStorageTransport', () => {
  it('still sends after a stream broke while it was write-blocked', async () => {
    // A storage node that takes the stream and never reads it: the gateway's writes block on
    // HTTP/2 flow control, then the node goes away.
    let streamOpened!: () => void;
    const opened = new Promise<void>((resolve) => (streamOpened = resolve));
    const server = new grpc.Server();
    server.addService(internalV1.StorageNodeServiceService, {
      appendStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        call.pause();
        streamOpened();
      },
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    const transport = new GrpcStorageTransport();
    const node: NodeInfo = { nodeId: 1, host: '127.0.0.1', port, rack: '', state: 'active', nodeEpoch: 1, offlineLogDirIds: [] };
    const append = (partition: number, bytes: number, timeoutMs: number) =>
      transport.append(node, { acks: v1.Acks.LEADER, timeoutMs, partitions: [{ topic: 't', topicId: 't-id', partition, currentLeaderEpoch: 0, recordBatches: Buffer.alloc(bytes) }] });
    try {
      // 40 MiB: more than the 16 MiB flow-control window, so the stream is write-blocked.
      const firstWave = Array.from({ length: 40 }, (_, partition) => append(partition, 1024 * 1024, 30_000));
      await opened;
      server.forceShutdown();
      const outcomes = await Promise.allSettled(firstWave);
      expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
      // The node is gone for good here, so the next append must fail promptly, not hang.
      let guard: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        append(99, 10, 1000).then(
          () => 'answered',
          (error: { code?: string }) => `failed: ${error.code}`,
        ),
        new Promise<string>((resolve) => (guard = setTimeout(() => resolve('still pending after 10 s'), 10_000))),
      ]);
      clearTimeout(guard);
      expect(late).toBe('failed: BROKER_NOT_AVAILABLE');
    } finally {
      transport.close();
      server.forceShutdown();
    }
  });
});
