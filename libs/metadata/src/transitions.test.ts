import { applyDelta, emptyDelta, imageFromSnapshot, noLeader, type PartitionState, type TopicState } from './image';
import { changedPartitions, electionKind, isrChange } from './transitions';

const state = (changes: Partial<PartitionState> = {}): PartitionState => ({
  partition: 0,
  leader: 1,
  leaderEpoch: 3,
  partitionEpoch: 7,
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
  elr: [],
  offlineReplicas: [],
  addingReplicas: [],
  removingReplicas: [],
  ...changes,
});

const topic = (name: string, partitions: PartitionState[]): TopicState => ({ name, topicId: `id-${name}`, internal: false, partitions, configs: {} });

describe('changedPartitions', () => {
  it('visits only the partitions a delta changed, in topics both images have', () => {
    const before = imageFromSnapshot({
      clusterId: 'c',
      version: 1,
      controller: undefined,
      nodes: [],
      topics: [topic('a', [state(), state({ partition: 1 })]), topic('b', [state()])],
      clusterConfigs: {},
    });
    const shrunk = state({ partition: 1, isr: [1, 2], partitionEpoch: 8 });
    const after = applyDelta(before, {
      ...emptyDelta(1, 2),
      partitions: [{ topicId: 'id-a', partition: shrunk }],
      createdTopics: [topic('c', [state()])],
    });
    expect([...changedPartitions(before, after)].map((t) => [t.topic.name, t.before.partition, t.after])).toEqual([['a', 1, shrunk]]);
    expect([...changedPartitions(after, after)]).toEqual([]);
  });

  it('skips a topic deleted and created again under the same name', () => {
    const before = imageFromSnapshot({ clusterId: 'c', version: 1, controller: undefined, nodes: [], topics: [topic('a', [state()])], clusterConfigs: {} });
    const after = imageFromSnapshot({ clusterId: 'c', version: 2, controller: undefined, nodes: [], topics: [{ ...topic('a', [state({ leader: 2, leaderEpoch: 4 })]), topicId: 'new' }], clusterConfigs: {} });
    expect([...changedPartitions(before, after)]).toEqual([]);
  });
});

describe('isrChange', () => {
  it('tells a shrink, an expand and both at once', () => {
    expect(isrChange(state(), state({ isr: [1, 3] }))).toEqual({ shrank: true, expanded: false });
    expect(isrChange(state({ isr: [1] }), state({ isr: [1, 2] }))).toEqual({ shrank: false, expanded: true });
    expect(isrChange(state({ isr: [1, 2] }), state({ isr: [1, 3] }))).toEqual({ shrank: true, expanded: true });
    expect(isrChange(state(), state({ leader: 2, leaderEpoch: 4 }))).toEqual({ shrank: false, expanded: false });
  });
});

describe('electionKind', () => {
  it('counts a new leader from the ISR after a failure as clean', () => {
    expect(electionKind(state(), state({ leader: 2, leaderEpoch: 4, isr: [2, 3] }))).toBe('clean');
    expect(electionKind(state({ leader: noLeader, isr: [2] }), state({ leader: 2, leaderEpoch: 4, isr: [2] }))).toBe('clean');
  });

  it('counts a leader from outside the ISR as unclean', () => {
    expect(electionKind(state({ leader: noLeader, isr: [1] }), state({ leader: 3, leaderEpoch: 4, isr: [3] }))).toBe('unclean');
  });

  it('counts a move to the preferred replica while the old leader stays in sync as preferred', () => {
    expect(electionKind(state({ leader: 2 }), state({ leader: 1, leaderEpoch: 4 }))).toBe('preferred');
    // The preferred replica taking over from a leader that failed is a failover.
    expect(electionKind(state({ leader: 2 }), state({ leader: 1, leaderEpoch: 4, isr: [1, 3] }))).toBe('clean');
  });

  it('finds no election where the leader did not change or was lost', () => {
    expect(electionKind(state(), state({ isr: [1, 2], partitionEpoch: 8 }))).toBeUndefined();
    expect(electionKind(state(), state({ leader: noLeader, leaderEpoch: 4 }))).toBeUndefined();
  });
});
