import { emptyImage, type MetadataImage, type TopicState } from '@starlane/metadata';
import { checkAcknowledgedWrites, checkCommittedPrefixes, checkMonotonicLatest, partitionKey, partitionsNotRecovered, type ReplicaSnapshot } from './checks';

const replica = (nodeId: number, hw: bigint, values: string[], extra: Partial<ReplicaSnapshot> = {}): ReplicaSnapshot => ({
  nodeId,
  topicId: 't',
  partition: 0,
  leaderEpoch: 1,
  isLeader: false,
  highWatermark: hw,
  logStartOffset: 0n,
  logEndOffset: BigInt(values.length),
  records: values.map((value, i) => ({ offset: BigInt(i), value })),
  ...extra,
});

function imageWith(leader: number, leaderEpoch: number, isr: number[], replicas = [1, 2, 3]): MetadataImage {
  const topic: TopicState = {
    name: 'orders',
    topicId: 't',
    internal: false,
    configs: {},
    partitions: [{ partition: 0, leader, leaderEpoch, partitionEpoch: 1, replicas, isr, offlineReplicas: [], addingReplicas: [], removingReplicas: [], elr: [] }],
  };
  return { ...emptyImage, topics: new Map([['orders', topic]]) };
}

describe('simulation checks', () => {
  it('accepts replicas that agree below their high watermarks, divergent tails above them included', () => {
    const { violations, additions } = checkCommittedPrefixes(new Map(), [replica(1, 2n, ['a', 'b', 'c']), replica(2, 1n, ['a', 'x'])]);
    expect(violations).toEqual([]);
    expect([...(additions.get(partitionKey('t', 0)) ?? [])]).toEqual([
      [0n, 'a'],
      [1n, 'b'],
    ]);
  });

  it('finds two replicas that committed different records at one offset', () => {
    const { violations } = checkCommittedPrefixes(new Map(), [replica(1, 2n, ['a', 'b']), replica(2, 2n, ['a', 'x'])]);
    expect(violations).toEqual(['t-0 offset 1 was committed as b, node 2 has x below its high watermark 2']);
  });

  it('finds a committed record that changed since an earlier step', () => {
    const history = new Map([[partitionKey('t', 0), new Map([[0n, 'a']])]]);
    expect(checkCommittedPrefixes(history, [replica(1, 1n, ['z'])]).violations).toHaveLength(1);
  });

  it('holds the serving leader to every acknowledged acks=all write', () => {
    const image = imageWith(1, 4, [1, 2, 3]);
    const acknowledged = [{ topicId: 't', partition: 0, offset: 1n, value: 'b', leaderEpoch: 3 }];
    expect(checkAcknowledgedWrites(acknowledged, new Map(), image, [replica(1, 1n, ['a', 'b'], { isLeader: true, leaderEpoch: 4 })])).toEqual([]);
    expect(checkAcknowledgedWrites(acknowledged, new Map(), image, [replica(1, 1n, ['a'], { isLeader: true, leaderEpoch: 4 })])[0]).toMatch(/missing on leader 1/);
    expect(checkAcknowledgedWrites(acknowledged, new Map(), image, [replica(1, 1n, ['a', 'q'], { isLeader: true, leaderEpoch: 4 })])[0]).toMatch(/moved: leader 1 holds q/);
    // A replica that does not (yet) lead at the image's epoch is not the one serving the partition.
    expect(checkAcknowledgedWrites(acknowledged, new Map(), image, [replica(1, 1n, ['a'], { isLeader: true, leaderEpoch: 3 })])).toEqual([]);
  });

  it('takes a leader’s records below recordsFrom as the committed ones (verified at an earlier step)', () => {
    const image = imageWith(1, 4, [1, 2]);
    const acknowledged = [{ topicId: 't', partition: 0, offset: 1n, value: 'b', leaderEpoch: 4 }];
    const tail = { isLeader: true, leaderEpoch: 4, recordsFrom: 2n, records: [{ offset: 2n, value: 'c' }] };
    expect(checkAcknowledgedWrites(acknowledged, new Map([['t-0', new Map([[1n, 'b']])]]), image, [replica(1, 3n, ['a', 'b', 'c'], tail)])).toEqual([]);
    expect(checkAcknowledgedWrites(acknowledged, new Map([['t-0', new Map([[1n, 'z']])]]), image, [replica(1, 3n, ['a', 'z', 'c'], tail)])[0]).toMatch(/was replaced by z/);
  });

  it('flags LATEST going back within one leader epoch, not across epochs', () => {
    const seen = { client: 'reader-0', topicId: 't', partition: 0, leaderEpoch: 2, offset: 10n };
    expect(checkMonotonicLatest(seen, { ...seen, offset: 10n })).toBeUndefined();
    expect(checkMonotonicLatest(seen, { ...seen, leaderEpoch: 3, offset: 4n })).toBeUndefined();
    expect(checkMonotonicLatest(seen, { ...seen, offset: 9n })).toBe('reader-0 saw LATEST of t-0 go back from 10 to 9 within leader epoch 2');
  });

  it('names the partitions not yet led or not back to their full ISR', () => {
    expect(partitionsNotRecovered(imageWith(1, 1, [1, 2, 3]))).toEqual([]);
    expect(partitionsNotRecovered(imageWith(1, 1, [1, 3]))).toEqual(['orders-0 (leader 1, isr [1,3] of [1,2,3])']);
    expect(partitionsNotRecovered(imageWith(-1, 1, [2]))).toHaveLength(1);
  });
});
