import { planReplicationFactor } from './replica-plan';

describe('planReplicationFactor', () => {
  it('leaves partitions that already have the replication factor alone', () => {
    expect(planReplicationFactor([[1, 2], [2, 3]], [1, 2, 3], 2)).toEqual([undefined, undefined]);
  });

  it('grows each partition with the nodes holding the fewest replicas of the topic', () => {
    expect(planReplicationFactor([[1], [2], [1]], [1, 2, 3], 2)).toEqual([[1, 3], [2, 3], [1, 2]]);
  });

  it('shrinks by dropping the last replicas, never the preferred leader', () => {
    expect(planReplicationFactor([[3, 1, 2], [2, 3, 1]], [1, 2, 3], 1)).toEqual([[3], [2]]);
  });

  it('adds no node twice and stops at the nodes there are', () => {
    expect(planReplicationFactor([[1]], [1, 2], 3)).toEqual([[1, 2]]);
  });
});
