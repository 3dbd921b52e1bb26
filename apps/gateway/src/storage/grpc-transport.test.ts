import { v1 } from '@starlane/proto';
import { appendRequestBytesMax } from '../limits';
import { composeAppend } from './grpc-transport';
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
});
