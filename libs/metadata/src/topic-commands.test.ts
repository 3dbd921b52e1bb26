import { alterTopicConfigs, createPartitions, createTopics, deleteTopics, topicPartitionsMax, type NewTopicInput } from './topic-commands';
import { applyBatch, emptyControllerState, nextBatch, type ControllerState } from './controller-state';
import type { NodeState } from './image';
import { seededRandom } from './placement';
import type { MetadataRecord } from './records';

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}


/** A state with the given nodes registered in the given states, built from records alone. */
function stateWith(nodes: Record<number, NodeState>): ControllerState {
  const records: MetadataRecord[] = [{ type: 'cluster', clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' }];
  for (const [id, state] of Object.entries(nodes)) {
    records.push({ type: 'node', nodeId: Number(id), nodeEpoch: 1, incarnationId: `i${id}`, host: 'h', port: 1, rack: '', state });
  }
  return applyBatch(emptyControllerState, nextBatch(emptyControllerState, records)).state;
}

function commit(state: ControllerState, records: readonly MetadataRecord[]): ControllerState {
  return applyBatch(state, nextBatch(state, records)).state;
}

const topic = (name: string, changes: Partial<NewTopicInput> = {}): NewTopicInput => ({ name, partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: {}, ...changes });

function createOne(state: ControllerState, input: NewTopicInput): { code: string | undefined; message: string | undefined } {
  const { result } = createTopics(state, { topics: [input], validateOnly: false }, seededRandom(7));
  return { code: result[0]?.error?.code, message: result[0]?.error?.message };
}

describe('createTopics', () => {
  const three = stateWith({ 1: 'active', 2: 'active', 3: 'active' });

  it('bounds the partitions one request may plan before computing any placement, validate_only included', () => {
    const topics = Array.from({ length: 50 }, (_, index) => topic(`big-${index}`, { partitionCount: topicPartitionsMax }));
    for (const validateOnly of [true, false]) {
      const { result } = createTopics(three, { topics, validateOnly }, seededRandom(3));
      const refused = result.filter((item) => item.error?.code === 'INVALID_REQUEST');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]?.error?.message).toMatch(/split it/);
      expect(result.filter((item) => item.error === undefined).length).toBeLessThan(topics.length);
    }
  });

  it('refuses a config named after an Object.prototype member as unknown, for that topic only', () => {
    const { result } = createTopics(three, { topics: [topic('odd', { configs: { constructor: '1' } }), topic('fine')], validateOnly: false }, seededRandom(1));
    expect(result.map((item) => item.error?.code)).toEqual(['INVALID_CONFIG', undefined]);
  });

  it.each([
    ['an empty name', topic(''), 'INVALID_TOPIC_EXCEPTION', /empty/],
    ['"."', topic('.'), 'INVALID_TOPIC_EXCEPTION', /reserved/],
    ['".."', topic('..'), 'INVALID_TOPIC_EXCEPTION', /reserved/],
    ['a 250-character name', topic('a'.repeat(250)), 'INVALID_TOPIC_EXCEPTION', /maximum is 249/],
    ['a space', topic('has space'), 'INVALID_TOPIC_EXCEPTION', /only ASCII letters/],
    ['a slash', topic('a/b'), 'INVALID_TOPIC_EXCEPTION', /only ASCII letters/],
    ['a non-ASCII letter', topic('café'), 'INVALID_TOPIC_EXCEPTION', /only ASCII letters/],
    ['0 partitions', topic('t', { partitionCount: 0 }), 'INVALID_PARTITIONS', /at least 1/],
    ['-2 partitions', topic('t', { partitionCount: -2 }), 'INVALID_PARTITIONS', /at least 1/],
    ['replication factor 0', topic('t', { replicationFactor: 0 }), 'INVALID_REPLICATION_FACTOR', /at least 1/],
    ['too many partitions', topic('t', { partitionCount: topicPartitionsMax + 1 }), 'INVALID_PARTITIONS', /at most/],
    ['replication factor -2', topic('t', { replicationFactor: -2 }), 'INVALID_REPLICATION_FACTOR', /at least 1/],
    ['more replicas than live nodes', topic('t', { replicationFactor: 4 }), 'INVALID_REPLICATION_FACTOR', /larger than the 3 available/],
    ['an unknown config', topic('t', { configs: { 'retention.hours': '1' } }), 'INVALID_CONFIG', /unknown topic config "retention.hours"/],
    ['a non-numeric config', topic('t', { configs: { 'retention.ms': 'soon' } }), 'INVALID_CONFIG', /retention.ms must be an integer/],
    ['a config out of range', topic('t', { configs: { 'segment.bytes': '1' } }), 'INVALID_CONFIG', /segment.bytes must be from 14/],
    ['a bad cleanup policy', topic('t', { configs: { 'cleanup.policy': 'shred' } }), 'INVALID_CONFIG', /cleanup.policy/],
    ['a bad min.insync.replicas', topic('t', { configs: { 'min.insync.replicas': '0' } }), 'INVALID_CONFIG', /min.insync.replicas/],
    ['a bad compression type', topic('t', { configs: { 'compression.type': 'brotli' } }), 'INVALID_CONFIG', /compression.type/],
    ['counts with assignments', topic('t', { partitionCount: 1, replicaAssignments: [{ partition: 0, replicas: [1] }] }), 'INVALID_REQUEST', /must be unset/],
    ['an assignment gap', topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 1, replicas: [1] }] }), 'INVALID_REPLICA_ASSIGNMENT', /partition 0 was expected/],
    [
      'a partition assigned twice',
      topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [1] }, { partition: 0, replicas: [2] }] }),
      'INVALID_REPLICA_ASSIGNMENT',
      /partition 1 was expected/,
    ],
    ['no replicas', topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [] }] }), 'INVALID_REPLICA_ASSIGNMENT', /no replicas/],
    ['a node twice', topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [1, 1] }] }), 'INVALID_REPLICA_ASSIGNMENT', /more than once/],
    ['an unknown node', topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [9] }] }), 'INVALID_REPLICA_ASSIGNMENT', /node 9, which is not registered/],
    [
      'uneven replica counts',
      topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [3] }] }),
      'INVALID_REPLICA_ASSIGNMENT',
      /has 1 replicas where the others have 2/,
    ],
  ])('refuses %s', (_what, input, code, message) => {
    const outcome = createOne(three, input);
    expect(outcome.code).toBe(code);
    expect(outcome.message).toMatch(message);
  });

  it('refuses assignments whose replicas are all fenced', () => {
    const state = stateWith({ 1: 'active', 2: 'fenced' });
    expect(createOne(state, topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [2] }] })).code).toBe('INVALID_REPLICA_ASSIGNMENT');
  });

  it('counts only active nodes as available', () => {
    const state = stateWith({ 1: 'active', 2: 'fenced', 3: 'controlled-shutdown' });
    expect(createOne(state, topic('t', { replicationFactor: 2 })).code).toBe('INVALID_REPLICATION_FACTOR');
    expect(createOne(stateWith({}), topic('t')).message).toMatch(/larger than the 0 available storage nodes/);
  });

  it('refuses existing names, colliding names and names listed twice, and creates the rest', () => {
    const { records } = createTopics(three, { topics: [topic('a.b')], validateOnly: false }, seededRandom(1));
    const state = commit(three, records);
    const { result } = createTopics(state, { topics: [topic('a.b'), topic('a_b'), topic('twice'), topic('twice'), topic('x.y'), topic('x_y'), topic('ok')], validateOnly: false }, seededRandom(1));
    expect(result.map((r) => [r.name, r.error?.code ?? 'created'])).toEqual([
      ['a.b', 'TOPIC_ALREADY_EXISTS'],
      ['a_b', 'INVALID_TOPIC_EXCEPTION'],
      ['twice', 'INVALID_REQUEST'],
      ['twice', 'INVALID_REQUEST'],
      ['x.y', 'created'],
      ['x_y', 'INVALID_TOPIC_EXCEPTION'],
      ['ok', 'created'],
    ]);
  });

  it('takes -1 as the cluster default, which cluster configs may set', () => {
    const { result } = createTopics(three, { topics: [topic('a', { partitionCount: -1, replicationFactor: -1 })], validateOnly: false }, seededRandom(1));
    expect(result[0]).toMatchObject({ partitionCount: 1, replicationFactor: 1 });
    const configured = commit(three, [{ type: 'cluster-configs', configs: { 'num.partitions': '6', 'default.replication.factor': '3' } }]);
    const second = createTopics(configured, { topics: [topic('b', { partitionCount: -1, replicationFactor: -1 })], validateOnly: false }, seededRandom(1));
    expect(second.result[0]).toMatchObject({ partitionCount: 6, replicationFactor: 3 });
  });

  it('validates only, recording nothing, with validateOnly', () => {
    const { result, records } = createTopics(three, { topics: [topic('a', { partitionCount: 3, replicationFactor: 2 }), topic('')], validateOnly: true }, seededRandom(1));
    expect(records).toEqual([]);
    expect(result.map((r) => [r.topicId, r.partitionCount, r.replicationFactor, r.error?.code])).toEqual([
      ['', 3, 2, undefined],
      ['', -1, -1, 'INVALID_TOPIC_EXCEPTION'],
    ]);
  });

  it('places explicit assignments as given, leader first, with fenced replicas outside the ISR', () => {
    const state = stateWith({ 1: 'active', 2: 'active', 3: 'fenced' });
    const { result, records } = createTopics(
      state,
      { topics: [topic('t', { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 1, replicas: [3, 1] }, { partition: 0, replicas: [2, 1] }] })], validateOnly: false },
      seededRandom(1),
    );
    expect(result[0]).toMatchObject({ partitionCount: 2, replicationFactor: 2 });
    const created = defined(commit(state, records).image.topics.get('t'));
    expect(created.partitions.map((p) => [p.replicas, p.isr, p.leader])).toEqual([
      [[2, 1], [2, 1], 2],
      [[3, 1], [1], 1],
    ]);
  });
});

describe('deleteTopics', () => {
  it('deletes by name and by id, and reports unknown and repeated topics', () => {
    let state = stateWith({ 1: 'active' });
    state = commit(state, createTopics(state, { topics: [topic('a'), topic('b')], validateOnly: false }, seededRandom(1)).records);
    const b = defined(state.image.topics.get('b'));
    const { result, records } = deleteTopics(state, { names: ['a', 'missing', 'b'], topicIds: [b.topicId, 'no-such-id'] });
    expect(result.map((r) => [r.name, r.error?.code])).toEqual([
      ['a', undefined],
      ['missing', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['b', undefined],
      ['b', 'INVALID_REQUEST'],
      ['', 'UNKNOWN_TOPIC_ID'],
    ]);
    expect(commit(state, records).image.topics.size).toBe(0);
  });
});

describe('alterTopicConfigs', () => {
  let state: ControllerState;
  beforeEach(() => {
    state = stateWith({ 1: 'active' });
    state = commit(state, createTopics(state, { topics: [topic('t', { configs: { 'retention.ms': '1000' } })], validateOnly: false }, seededRandom(1)).records);
  });

  it('sets and deletes overrides atomically per topic', () => {
    const { result, records } = alterTopicConfigs(state, {
      topics: [
        {
          topic: 't',
          changes: [
            { name: 'retention.ms', operation: 'delete' },
            { name: 'cleanup.policy', operation: 'set', value: 'compact' },
          ],
        },
      ],
      validateOnly: false,
    });
    expect(result).toEqual([{ topic: 't' }]);
    expect(commit(state, records).image.topics.get('t')?.configs).toEqual({ 'cleanup.policy': 'compact' });
  });

  it.each([
    [[{ name: 'retention.ms', operation: 'set' as const, value: 'x' }], 'INVALID_CONFIG'],
    [[{ name: 'nonsense', operation: 'set' as const, value: '1' }], 'INVALID_CONFIG'],
    [[{ name: 'nonsense', operation: 'delete' as const }], 'INVALID_CONFIG'],
    [
      [
        { name: 'retention.ms', operation: 'set' as const, value: '1' },
        { name: 'retention.ms', operation: 'delete' as const },
      ],
      'INVALID_REQUEST',
    ],
  ])('refuses %j with %s and changes nothing', (changes, code) => {
    const { result, records } = alterTopicConfigs(state, { topics: [{ topic: 't', changes }], validateOnly: false });
    expect(result[0]?.error?.code).toBe(code);
    expect(records).toEqual([]);
  });

  it('reports unknown topics, and records nothing when nothing changes or with validateOnly', () => {
    expect(alterTopicConfigs(state, { topics: [{ topic: 'missing', changes: [] }], validateOnly: false }).result[0]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(alterTopicConfigs(state, { topics: [{ topic: 't', changes: [{ name: 'retention.ms', operation: 'set', value: '1000' }] }], validateOnly: false }).records).toEqual([]);
    expect(alterTopicConfigs(state, { topics: [{ topic: 't', changes: [{ name: 'retention.ms', operation: 'set', value: '5' }] }], validateOnly: true }).records).toEqual([]);
  });
});

describe('createPartitions', () => {
  let state: ControllerState;
  beforeEach(() => {
    state = stateWith({ 1: 'active', 2: 'active' });
    state = commit(state, createTopics(state, { topics: [topic('t', { partitionCount: 2, replicationFactor: 2 })], validateOnly: false }, seededRandom(1)).records);
  });

  it('adds partitions with the topic replication factor', () => {
    const { result, records } = createPartitions(state, { topics: [{ topic: 't', totalCount: 5, replicaAssignments: [] }], validateOnly: false }, seededRandom(1));
    expect(result).toEqual([{ topic: 't' }]);
    const partitions = defined(commit(state, records).image.topics.get('t')).partitions;
    expect(partitions.map((p) => [p.partition, p.replicas.length, p.leaderEpoch])).toEqual([
      [0, 2, 0],
      [1, 2, 0],
      [2, 2, 0],
      [3, 2, 0],
      [4, 2, 0],
    ]);
  });

  it.each([
    [{ topic: 'missing', totalCount: 3, replicaAssignments: [] }, 'UNKNOWN_TOPIC_OR_PARTITION'],
    [{ topic: 't', totalCount: 2, replicaAssignments: [] }, 'INVALID_PARTITIONS'],
    [{ topic: 't', totalCount: 1, replicaAssignments: [] }, 'INVALID_PARTITIONS'],
    [{ topic: 't', totalCount: topicPartitionsMax + 1, replicaAssignments: [] }, 'INVALID_PARTITIONS'],
    [{ topic: 't', totalCount: 4, replicaAssignments: [{ partition: 2, replicas: [1, 2] }] }, 'INVALID_REPLICA_ASSIGNMENT'],
    [{ topic: 't', totalCount: 3, replicaAssignments: [{ partition: 2, replicas: [1] }] }, 'INVALID_REPLICA_ASSIGNMENT'],
    [{ topic: 't', totalCount: 3, replicaAssignments: [{ partition: 0, replicas: [1, 2] }] }, 'INVALID_REPLICA_ASSIGNMENT'],
  ])('refuses %j with %s', (request, code) => {
    const { result, records } = createPartitions(state, { topics: [request], validateOnly: false }, seededRandom(1));
    expect(result[0]?.error?.code).toBe(code);
    expect(records).toEqual([]);
  });
});
