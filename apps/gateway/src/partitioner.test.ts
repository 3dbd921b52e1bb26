import { RoundRobinPartitioner } from './partitioner';

describe('RoundRobinPartitioner', () => {
  it('cycles through the partitions with a leader, per topic', () => {
    const partitioner = new RoundRobinPartitioner();
    expect([0, 1, 2, 3].map(() => partitioner.next('a', 4, [1, 3]))).toEqual([1, 3, 1, 3]);
    expect([0, 1, 2].map(() => partitioner.next('b', 3, []))).toEqual([0, 1, 2]);
  });
});
