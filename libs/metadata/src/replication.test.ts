import { controlledShutdown, fenceExpiredNodes, heartbeat, registerNode } from './node-commands';
import { alterPartition, electPreferredLeaders, reassignPartitions, type AlterPartitionResult, type IsrChangeInput, type PartitionReassignmentInput } from './partition-commands';
import { alterTopicConfigs } from './topic-commands';
import { applyBatch, emptyControllerState, nextBatch, snapshotOf, stateFromSnapshot, type ControllerState } from './controller-state';
import { noLeader, type ConfigMap, type NodeState, type PartitionState } from './image';
import { listReassignments } from './queries';
import { recordFromJson, type MetadataRecord } from './records';
import { topicConfigDefaults, uncleanLeaderElectionEnabled, validateTopicConfigs } from './topic-configs';

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}

const topicId = '11111111-1111-4111-8111-111111111111';
/** Node n is registered with epoch n (below the version of any state built here, as epochs are versions). */
const epochOf = (nodeId: number): number => nodeId;

interface NodeSpec {
  readonly state: NodeState;
  readonly clean?: boolean;
}

/**
 * A state built from records alone: nodes in the given states (epoch = id), and topic `t`
 * with the given partitions (unspecified fields: leader the first ISR member, epochs 0).
 */
function clusterWith(nodes: Record<number, NodeState | NodeSpec>, partitions: readonly Partial<PartitionState>[], configs: ConfigMap = {}, clusterConfigs: ConfigMap = {}): ControllerState {
  const records: MetadataRecord[] = [{ type: 'cluster', clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' }];
  if (Object.keys(clusterConfigs).length > 0) records.push({ type: 'cluster-configs', configs: clusterConfigs });
  for (const [id, spec] of Object.entries(nodes)) {
    const { state, clean = true } = typeof spec === 'string' ? { state: spec } : spec;
    records.push({ type: 'node', nodeId: Number(id), nodeEpoch: epochOf(Number(id)), incarnationId: `i${id}`, host: 'h', port: 1, rack: '', state, cleanShutdown: clean });
  }
  records.push({ type: 'topic', topicId, name: 't', internal: false, configs });
  partitions.forEach((spec, index) => {
    const replicas = spec.replicas ?? [1, 2, 3];
    const isr = spec.isr ?? replicas;
    records.push({
      type: 'partition',
      topicId,
      partition: {
        partition: index,
        leader: spec.leader ?? isr[0] ?? noLeader,
        leaderEpoch: spec.leaderEpoch ?? 0,
        partitionEpoch: spec.partitionEpoch ?? 0,
        replicas,
        isr,
        elr: spec.elr ?? [],
        offlineReplicas: [],
        addingReplicas: spec.addingReplicas ?? [],
        removingReplicas: spec.removingReplicas ?? [],
      },
    });
  });
  return applyBatch(emptyControllerState, nextBatch(emptyControllerState, records)).state;
}

function commit(state: ControllerState, records: readonly MetadataRecord[]): ControllerState {
  return applyBatch(state, nextBatch(state, records)).state;
}

function partitionOf(state: ControllerState, index = 0): PartitionState {
  return defined(state.image.topics.get('t')?.partitions[index]);
}

/** The parts of a partition the rules talk about. */
function shape(partition: PartitionState): Pick<PartitionState, 'leader' | 'isr' | 'replicas' | 'leaderEpoch' | 'partitionEpoch' | 'addingReplicas' | 'removingReplicas'> {
  const { leader, isr, replicas, leaderEpoch, partitionEpoch, addingReplicas, removingReplicas } = partition;
  return { leader, isr, replicas, leaderEpoch, partitionEpoch, addingReplicas, removingReplicas };
}

const allDead = { isLive: (): boolean => false };

function deadExcept(...live: number[]): { isLive(nodeId: number): boolean } {
  return { isLive: (nodeId) => live.includes(nodeId) };
}

/** A proposal from `leader` for partition 0 of `t` at the partition's current epochs. */
function propose(state: ControllerState, leader: number, isr: readonly (number | { nodeId: number; nodeEpoch: number })[], changes: Partial<IsrChangeInput> = {}): { result: AlterPartitionResult; state: ControllerState; records: readonly MetadataRecord[] } {
  const partition = partitionOf(state, changes.partition ?? 0);
  const outcome = alterPartition(state, {
    nodeId: leader,
    nodeEpoch: epochOf(leader),
    partitions: [
      {
        topicId,
        partition: partition.partition,
        leaderEpoch: partition.leaderEpoch,
        partitionEpoch: partition.partitionEpoch,
        newIsr: isr.map((member) => (typeof member === 'number' ? { nodeId: member } : member)),
        ...changes,
      },
    ],
  });
  return { result: defined(outcome.result[0]), state: commit(state, outcome.records), records: outcome.records };
}

describe('alterPartition', () => {
  const active3 = { 1: 'active', 2: 'active', 3: 'active' } as const;

  it('records a shrunk ISR with a new partition epoch and the same leader epoch, and answers with the new state', () => {
    const state = clusterWith(active3, [{ leader: 1, leaderEpoch: 4, partitionEpoch: 7 }]);
    const { result, state: after, records } = propose(state, 1, [1, 3]);
    expect(result.error).toBeUndefined();
    expect(records).toHaveLength(1);
    expect(shape(defined(result.state))).toEqual({ leader: 1, isr: [1, 3], replicas: [1, 2, 3], leaderEpoch: 4, partitionEpoch: 8, addingReplicas: [], removingReplicas: [] });
    expect(partitionOf(after)).toEqual(result.state);
  });

  it('allows shrinking below min.insync.replicas', () => {
    const state = clusterWith(active3, [{}], { 'min.insync.replicas': '3' });
    const { result, state: after } = propose(state, 1, [1]);
    expect(result.error).toBeUndefined();
    expect(partitionOf(after).isr).toEqual([1]);
  });

  it('grows the ISR with an active replica, quoting its current epoch or none', () => {
    const state = clusterWith(active3, [{ isr: [1] }]);
    const quoted = propose(state, 1, [1, { nodeId: 2, nodeEpoch: epochOf(2) }, { nodeId: 3, nodeEpoch: 0 }]);
    expect(quoted.result.error).toBeUndefined();
    expect(partitionOf(quoted.state)).toMatchObject({ isr: [1, 2, 3], leaderEpoch: 0, partitionEpoch: 1 });
  });

  it('records nothing and answers with the current state when the ISR is already the proposed one', () => {
    const state = clusterWith(active3, [{ partitionEpoch: 3 }]);
    const { result, records } = propose(state, 1, [1, 2, 3]);
    expect(result).toEqual({ topicId, topic: 't', partition: 0, state: partitionOf(state) });
    expect(records).toEqual([]);
  });

  it('refuses unregistered nodes and stale node epochs for the whole request', () => {
    const state = clusterWith(active3, [{}]);
    expect(() => alterPartition(state, { nodeId: 9, nodeEpoch: 1, partitions: [] })).toThrow(expect.objectContaining({ code: 'BROKER_ID_NOT_REGISTERED' }));
    expect(() => alterPartition(state, { nodeId: 1, nodeEpoch: epochOf(1) - 1, partitions: [] })).toThrow(expect.objectContaining({ code: 'STALE_BROKER_EPOCH' }));
  });

  it('answers unknown topic ids and partitions without a state', () => {
    const state = clusterWith(active3, [{}]);
    const { result } = alterPartition(state, {
      nodeId: 1,
      nodeEpoch: epochOf(1),
      partitions: [
        { topicId: 'no-such-id', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [{ nodeId: 1 }] },
        { topicId, partition: 5, leaderEpoch: 0, partitionEpoch: 0, newIsr: [{ nodeId: 1 }] },
      ],
    });
    expect(result.map((r) => [r.topic, r.partition, r.error?.code, r.state])).toEqual([
      ['', 0, 'UNKNOWN_TOPIC_ID', undefined],
      ['t', 5, 'UNKNOWN_TOPIC_OR_PARTITION', undefined],
    ]);
  });

  const base = { leader: 2, leaderEpoch: 5, partitionEpoch: 9 };
  it.each([
    ['a leader epoch ahead of the controller', 'NOT_CONTROLLER', 2, [2], { leaderEpoch: 6 }],
    ['a partition epoch ahead of the controller', 'NOT_CONTROLLER', 2, [2], { partitionEpoch: 10 }],
    ['an older leader epoch', 'FENCED_LEADER_EPOCH', 2, [2], { leaderEpoch: 4 }],
    ['an older leader epoch from a node that is not the leader (leader epoch first)', 'FENCED_LEADER_EPOCH', 1, [1], { leaderEpoch: 4, partitionEpoch: 8 }],
    ['a proposer that is not the leader', 'NOT_LEADER_OR_FOLLOWER', 1, [1, 2], {}],
    ['a proposer that is not the leader, with an old partition epoch (leadership first)', 'NOT_LEADER_OR_FOLLOWER', 3, [2, 3], { partitionEpoch: 8 }],
    ['an older partition epoch', 'INVALID_UPDATE_VERSION', 2, [2], { partitionEpoch: 8 }],
    ['an older partition epoch with an invalid ISR (epoch first)', 'INVALID_UPDATE_VERSION', 2, [1], { partitionEpoch: 8 }],
    ['an ISR without the leader', 'INVALID_REQUEST', 2, [1, 3], {}],
    ['an ISR with a node that is not a replica', 'INVALID_REQUEST', 2, [2, 4], {}],
    ['an ISR listing a node twice', 'INVALID_REQUEST', 2, [2, 1, 2], {}],
  ] as const)('refuses %s with %s and answers with the current state', (_what, code, proposer, isr, changes) => {
    const state = clusterWith({ ...active3, 4: 'active' }, [base]);
    const { result, records } = propose(state, proposer, isr, changes);
    expect(result.error?.code).toBe(code);
    expect(result.state).toEqual(partitionOf(state));
    expect(records).toEqual([]);
  });

  it.each([
    ['fenced', { 1: 'active', 2: 'active', 3: 'fenced' }, [1, 3]],
    ['in controlled shutdown', { 1: 'active', 2: 'active', 3: 'controlled-shutdown' }, [1, 3]],
    ['quoted with an old epoch', { 1: 'active', 2: 'active', 3: 'active' }, [1, { nodeId: 3, nodeEpoch: epochOf(3) - 1 }]],
  ] as const)('refuses to add a replica that is %s (INELIGIBLE_REPLICA)', (_what, nodes, isr) => {
    const state = clusterWith(nodes, [{ isr: [1, 2] }]);
    const { result, records } = propose(state, 1, isr);
    expect(result.error?.code).toBe('INELIGIBLE_REPLICA');
    expect(result.state).toEqual(partitionOf(state));
    expect(records).toEqual([]);
  });

  it('checks only the members being added: a kept member is not re-checked', () => {
    // Member 2 is quoted with a stale epoch but is already in the ISR: only additions are judged.
    const state = clusterWith(active3, [{ isr: [1, 2] }]);
    const { result } = propose(state, 1, [1, { nodeId: 2, nodeEpoch: 1 }, 3]);
    expect(result.error).toBeUndefined();
  });

  it('decides partitions in request order: a second proposal on the same epochs is stale', () => {
    const state = clusterWith(active3, [{}]);
    const change = { topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 0 };
    const { result, records } = alterPartition(state, {
      nodeId: 1,
      nodeEpoch: epochOf(1),
      partitions: [
        { ...change, newIsr: [{ nodeId: 1 }, { nodeId: 2 }] },
        { ...change, newIsr: [{ nodeId: 1 }] },
      ],
    });
    expect(result.map((r) => r.error?.code)).toEqual([undefined, 'INVALID_UPDATE_VERSION']);
    expect(result[1]?.state).toMatchObject({ isr: [1, 2], partitionEpoch: 1 });
    expect(partitionOf(commit(state, records)).isr).toEqual([1, 2]);
  });
});

describe('unclean shutdown', () => {
  it('records what a registration reports (a first one as clean); unset counts as clean, and old records without it read as clean', () => {
    const state = clusterWith({ 1: 'active' }, []);
    const unclean = registerNode(state, { nodeId: 1, incarnationId: 'x', clusterId: '', host: 'h', port: 1, rack: '', cleanShutdown: false }, allDead);
    const unset = registerNode(state, { nodeId: 3, incarnationId: 'y', clusterId: '', host: 'h', port: 1, rack: '' }, allDead);
    const first = registerNode(state, { nodeId: 2, incarnationId: 'z', clusterId: '', host: 'h', port: 1, rack: '', cleanShutdown: false }, allDead);
    expect(commit(state, unclean.records).registrations.get(1)?.cleanShutdown).toBe(false);
    expect(commit(state, unset.records).registrations.get(3)?.cleanShutdown).toBe(true);
    expect(commit(state, first.records).registrations.get(2)?.cleanShutdown).toBe(true);
    const old = recordFromJson({ type: 'node', nodeId: 4, nodeEpoch: 3, incarnationId: 'z', host: 'h', port: 1, rack: '', state: 'active' });
    expect(commit(state, [old]).registrations.get(4)?.cleanShutdown).toBe(true);
    expect(() => recordFromJson({ ...(old as object), cleanShutdown: 'no' })).toThrow(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }));
    const registered = commit(state, unclean.records);
    expect(stateFromSnapshot(snapshotOf(registered))).toEqual(registered);
  });

  it('takes a node that restarted uncleanly out of ISRs where others remain, keeps it where it is the last member, and elects it there when it returns', () => {
    const state = clusterWith({ 1: 'fenced', 2: 'active' }, [
      { replicas: [1, 2], isr: [1, 2], leader: 2 },
      { replicas: [1, 2], isr: [1], leader: noLeader, leaderEpoch: 3 },
    ]);
    const registered = registerNode(state, { nodeId: 1, incarnationId: 'again', clusterId: '', host: 'h', port: 1, rack: '', cleanShutdown: false }, allDead);
    const after = commit(state, registered.records);
    expect(shape(partitionOf(after, 0))).toMatchObject({ leader: 2, isr: [2] });
    expect(shape(partitionOf(after, 1))).toMatchObject({ leader: noLeader, isr: [1] });
    // No clean replica is in sync for partition 1: the unclean one is elected when it may lead.
    const back = heartbeat(after, { nodeId: 1, nodeEpoch: registered.result.nodeEpoch, metadataVersion: registered.result.nodeEpoch });
    const led = commit(after, back.records);
    expect(shape(partitionOf(led, 1))).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 4 });
    expect(partitionOf(led, 0).leader).toBe(2);
  });

  it('never elects an unclean replica ahead of a clean in-sync replica, whatever the preference order', () => {
    const state = clusterWith({ 1: { state: 'active', clean: false }, 2: 'active', 3: 'active' }, [{ replicas: [3, 1, 2], isr: [3, 1, 2], leader: 3, leaderEpoch: 2 }]);
    const { records } = fenceExpiredNodes(state, deadExcept(1, 2));
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 2, isr: [1, 2], leaderEpoch: 3 });
  });

  it('elects an unclean in-sync replica when no clean one may lead', () => {
    const state = clusterWith({ 1: { state: 'active', clean: false }, 2: 'fenced', 3: 'active' }, [{ replicas: [3, 2, 1], isr: [3, 1], leader: 3 }]);
    const { records } = fenceExpiredNodes(state, deadExcept(1, 2));
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 1 });
  });
});

describe('unclean leader election', () => {
  it('is configured with Kafka name and boolean rules, default false, topic over cluster', () => {
    expect(topicConfigDefaults['unclean.leader.election.enable']).toBe('false');
    expect(() => validateTopicConfigs({ 'unclean.leader.election.enable': ' TRUE ' })).not.toThrow();
    expect(() => validateTopicConfigs({ 'unclean.leader.election.enable': '1' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/true or false/) }));
    const topicOf = (state: ControllerState) => defined(state.image.topics.get('t'));
    const plain = clusterWith({ 1: 'active' }, []);
    expect(uncleanLeaderElectionEnabled(plain.image, topicOf(plain))).toBe(false);
    const cluster = clusterWith({ 1: 'active' }, [], {}, { 'unclean.leader.election.enable': 'True' });
    expect(uncleanLeaderElectionEnabled(cluster.image, topicOf(cluster))).toBe(true);
    const overridden = clusterWith({ 1: 'active' }, [], { 'unclean.leader.election.enable': 'false' }, { 'unclean.leader.election.enable': 'true' });
    expect(uncleanLeaderElectionEnabled(overridden.image, topicOf(overridden))).toBe(false);
  });

  it('when disabled leaves a partition whose last in-sync replica failed without a leader', () => {
    const state = clusterWith({ 1: 'active', 2: 'active' }, [{ replicas: [1, 2], isr: [1] }]);
    const { records } = fenceExpiredNodes(state, deadExcept(2));
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: noLeader, isr: [1], leaderEpoch: 1 });
  });

  it('when enabled elects a live replica outside the ISR and makes it the whole ISR', () => {
    const state = clusterWith({ 1: 'active', 2: 'active', 3: 'active' }, [{ replicas: [1, 2, 3], isr: [1], leaderEpoch: 2, partitionEpoch: 5 }], { 'unclean.leader.election.enable': 'true' });
    const { records } = fenceExpiredNodes(state, deadExcept(2, 3));
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 3, partitionEpoch: 6 });
  });

  it('prefers replicas of clean incarnations, and never elects a replica still being added', () => {
    const nodes = { 1: 'active', 2: { state: 'active', clean: false }, 3: 'active', 4: 'active' } as const;
    const state = clusterWith(nodes, [{ replicas: [4, 1, 2, 3], isr: [1], addingReplicas: [4], removingReplicas: [] }], { 'unclean.leader.election.enable': 'true' });
    const after = commit(state, fenceExpiredNodes(state, deadExcept(2, 3, 4)).records);
    expect(shape(partitionOf(after))).toMatchObject({ leader: 3, isr: [3] });
  });

  it('elects at once when a topic turns it on, in the same batch as the config', () => {
    const state = clusterWith({ 1: 'fenced', 2: 'active' }, [{ replicas: [1, 2], isr: [1], leader: noLeader }]);
    const { records } = alterTopicConfigs(state, { topics: [{ topic: 't', changes: [{ name: 'unclean.leader.election.enable', operation: 'set', value: 'true' }] }], validateOnly: false });
    expect(records.map((r) => r.type)).toEqual(['topic-configs', 'partition']);
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 1 });
    // Validation only records nothing.
    expect(alterTopicConfigs(state, { topics: [{ topic: 't', changes: [{ name: 'unclean.leader.election.enable', operation: 'set', value: 'true' }] }], validateOnly: true }).records).toEqual([]);
  });

  it('elects a returning replica outside the ISR when the in-sync one is still away', () => {
    const state = clusterWith({ 1: 'fenced', 2: 'fenced' }, [{ replicas: [1, 2], isr: [1], leader: noLeader }], { 'unclean.leader.election.enable': 'true' });
    const { records } = heartbeat(state, { nodeId: 2, nodeEpoch: epochOf(2), metadataVersion: 1000 });
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 2, isr: [2] });
  });

  it('applies to controlled shutdown of the last in-sync replica too', () => {
    const state = clusterWith({ 1: 'active', 2: 'active' }, [{ replicas: [1, 2], isr: [1] }], { 'unclean.leader.election.enable': 'true' });
    const { records } = controlledShutdown(state, { nodeId: 1, nodeEpoch: epochOf(1) });
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 2, isr: [2] });
  });
});

describe('electPreferredLeaders', () => {
  it('moves leadership to an in-sync, active preferred replica with a new leader epoch, ISR unchanged', () => {
    const state = clusterWith({ 1: 'active', 2: 'active', 3: 'active' }, [
      { replicas: [1, 2, 3], isr: [2, 1, 3], leader: 2, leaderEpoch: 4, partitionEpoch: 6 },
      { replicas: [1, 2, 3], isr: [1, 2], leader: 1 },
      { replicas: [3, 2], isr: [2], leader: 2 },
    ]);
    const { result, records } = electPreferredLeaders(state);
    expect(result).toEqual({ elected: [{ topic: 't', partition: 0 }], more: false });
    expect(shape(partitionOf(commit(state, records)))).toMatchObject({ leader: 1, isr: [2, 1, 3], leaderEpoch: 5, partitionEpoch: 7 });
  });

  it.each([
    ['fenced', 'fenced'],
    ['in controlled shutdown', 'controlled-shutdown'],
  ] as const)('leaves partitions whose preferred replica is %s', (_what, nodeState) => {
    const state = clusterWith({ 1: nodeState, 2: 'active' }, [{ replicas: [1, 2], isr: [2, 1], leader: 2 }]);
    expect(electPreferredLeaders(state)).toEqual({ result: { elected: [], more: false }, records: [] });
  });

  it('moves at most electionsMax leaderships per pass and says more remain', () => {
    const imbalanced = { replicas: [1, 2], isr: [1, 2], leader: 2 };
    const state = clusterWith({ 1: 'active', 2: 'active' }, [imbalanced, imbalanced, imbalanced]);
    const first = electPreferredLeaders(state, { electionsMax: 2 });
    expect(first.result).toEqual({ elected: [0, 1].map((partition) => ({ topic: 't', partition })), more: true });
    const second = electPreferredLeaders(commit(state, first.records), { electionsMax: 2 });
    expect(second.result).toEqual({ elected: [{ topic: 't', partition: 2 }], more: false });
  });
});

describe('reassignPartitions', () => {
  const nodes = { 1: 'active', 2: 'active', 3: 'active', 4: 'active', 5: 'active' } as const;
  const nowMs = 1_700_000_000_000;
  const move = (targetReplicas: number[], partition = 0): PartitionReassignmentInput => ({ topic: 't', partition, targetReplicas, cancel: false });
  const cancel = (partition = 0): PartitionReassignmentInput => ({ topic: 't', partition, targetReplicas: [], cancel: true });

  function reassign(state: ControllerState, items: PartitionReassignmentInput[], validateOnly = false): { codes: (string | undefined)[]; state: ControllerState; records: readonly MetadataRecord[] } {
    const { result, records } = reassignPartitions(state, { partitions: items, validateOnly }, nowMs);
    return { codes: result.map((r) => r.error?.code), state: commit(state, records), records };
  }

  it('starts a move: the target then the replicas being removed, with adding and removing lists, listed with its start time', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3], leader: 1, leaderEpoch: 2, partitionEpoch: 4 }]);
    const { codes, state: after } = reassign(state, [move([4, 3, 5])]);
    expect(codes).toEqual([undefined]);
    expect(shape(partitionOf(after))).toEqual({ leader: 1, isr: [1, 2, 3], replicas: [4, 3, 5, 1, 2], addingReplicas: [4, 5], removingReplicas: [1, 2], leaderEpoch: 2, partitionEpoch: 5 });
    expect(listReassignments(after, [])).toEqual([
      { topic: 't', topicId, partition: 0, replicas: [4, 3, 5, 1, 2], addingReplicas: [4, 5], removingReplicas: [1, 2], isr: [1, 2, 3], leader: 1, originalReplicas: [1, 2, 3], startedAtMs: nowMs },
    ]);
    expect(stateFromSnapshot(snapshotOf(after))).toEqual(after);
  });

  it('completes when the leader puts the last adding replica in the ISR, handing leadership to the target when the leader leaves', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3], leader: 1, leaderEpoch: 2 }]);
    const started = reassign(state, [move([4, 3, 5])]).state;
    const halfway = propose(started, 1, [1, 2, 3, 4]);
    expect(halfway.result.error).toBeUndefined();
    expect(shape(partitionOf(halfway.state))).toMatchObject({ replicas: [4, 3, 5, 1, 2], isr: [1, 2, 3, 4], addingReplicas: [4, 5] });
    const done = propose(halfway.state, 1, [1, 2, 3, 4, 5]);
    expect(done.result.error?.code).toBe('NEW_LEADER_ELECTED');
    expect(shape(defined(done.result.state))).toEqual({ leader: 4, isr: [3, 4, 5], replicas: [4, 3, 5], addingReplicas: [], removingReplicas: [], leaderEpoch: 3, partitionEpoch: 3 });
    expect(listReassignments(done.state, [])).toEqual([]);
    expect(done.state.reassignments.size).toBe(0);
  });

  it('keeps the leader when it stays in the target, and bumps only the partition epoch', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 2 }]);
    const started = reassign(state, [move([3, 1])]).state;
    const done = propose(started, 1, [1, 2, 3]);
    expect(done.result.error).toBeUndefined();
    expect(shape(partitionOf(done.state))).toMatchObject({ leader: 1, isr: [1, 3], replicas: [3, 1], leaderEpoch: 2 });
  });

  it('completes at once when nothing is added and an in-sync replica stays: shrinking and reordering', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3], leader: 1, leaderEpoch: 2 }, { replicas: [1, 2, 3], leader: 1 }]);
    const { codes, state: after, records } = reassign(state, [move([3, 2]), move([3, 1, 2], 1)]);
    expect(codes).toEqual([undefined, undefined]);
    expect(records.map((r) => r.type)).toEqual(['partition', 'partition']);
    expect(shape(partitionOf(after, 0))).toMatchObject({ replicas: [3, 2], isr: [2, 3], leader: 3, leaderEpoch: 3, addingReplicas: [], removingReplicas: [] });
    expect(shape(partitionOf(after, 1))).toMatchObject({ replicas: [3, 1, 2], isr: [1, 2, 3], leader: 1, leaderEpoch: 0 });
  });

  it('stays in progress when nothing is added but no target replica is in sync, and completes when one joins', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3], isr: [1, 2], leader: 1 }]);
    const started = reassign(state, [move([3])]).state;
    expect(shape(partitionOf(started))).toMatchObject({ replicas: [3, 1, 2], addingReplicas: [], removingReplicas: [1, 2] });
    const done = propose(started, 1, [1, 2, 3]);
    expect(done.result.error?.code).toBe('NEW_LEADER_ELECTED');
    expect(shape(partitionOf(done.state))).toMatchObject({ replicas: [3], isr: [3], leader: 3 });
  });

  it('cancels back to the original replicas in their order, dropping adding replicas from the ISR', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3], leader: 1 }]);
    const started = reassign(state, [move([5, 4, 3])]).state;
    const joined = propose(started, 1, [1, 2, 3, 5]).state;
    const { codes, state: after } = reassign(joined, [cancel()]);
    expect(codes).toEqual([undefined]);
    expect(shape(partitionOf(after))).toMatchObject({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, addingReplicas: [], removingReplicas: [] });
    expect(after.reassignments.size).toBe(0);
  });

  it('elects an original replica when cancelling takes leadership from an adding one', () => {
    const state = clusterWith(nodes, [{ replicas: [4, 1, 2], isr: [4, 1], leader: 4, leaderEpoch: 6, addingReplicas: [4], removingReplicas: [2] }]);
    const withOriginal = commit(state, [{ type: 'reassignment', topicId, partition: 0, originalReplicas: [2, 1], startedAtMs: 5 }]);
    const { state: after } = reassign(withOriginal, [cancel()]);
    expect(shape(partitionOf(after))).toMatchObject({ replicas: [2, 1], isr: [1], leader: 1, leaderEpoch: 7 });
  });

  it('replaces a reassignment in progress, keeping the original replicas for a later cancel', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3], leader: 1 }]);
    const first = reassign(state, [move([4, 5, 3])]).state;
    const second = reassign(first, [move([2, 4])]).state;
    expect(shape(partitionOf(second))).toMatchObject({ replicas: [2, 4, 1, 3], addingReplicas: [4], removingReplicas: [1, 3] });
    expect(listReassignments(second, [{ topic: 't', partition: 0 }])[0]?.originalReplicas).toEqual([1, 2, 3]);
    const cancelled = reassign(second, [cancel()]).state;
    expect(partitionOf(cancelled).replicas).toEqual([1, 2, 3]);
  });

  it('refuses a change that would leave no in-sync replica', () => {
    const state = clusterWith(nodes, [{ replicas: [4, 1], isr: [4], leader: 4, addingReplicas: [4], removingReplicas: [1] }]);
    const withOriginal = commit(state, [{ type: 'reassignment', topicId, partition: 0, originalReplicas: [1], startedAtMs: 5 }]);
    expect(reassign(withOriginal, [cancel()]).codes).toEqual(['INVALID_REPLICA_ASSIGNMENT']);
    expect(reassign(withOriginal, [move([1, 2])]).codes).toEqual(['INVALID_REPLICA_ASSIGNMENT']);
  });

  it.each([
    ['an unknown topic', 'UNKNOWN_TOPIC_OR_PARTITION', { topic: 'nope', partition: 0, targetReplicas: [1], cancel: false }],
    ['an unknown partition', 'UNKNOWN_TOPIC_OR_PARTITION', move([1], 3)],
    ['an empty target', 'INVALID_REPLICA_ASSIGNMENT', move([])],
    ['a node twice', 'INVALID_REPLICA_ASSIGNMENT', move([1, 2, 1])],
    ['an unregistered node', 'INVALID_REPLICA_ASSIGNMENT', move([1, 9])],
    ['a new replica on a fenced node', 'INVALID_REPLICA_ASSIGNMENT', move([1, 6])],
    ['a new replica on a node shutting down', 'INVALID_REPLICA_ASSIGNMENT', move([1, 7])],
    ['a cancel with a target', 'INVALID_REQUEST', { topic: 't', partition: 0, targetReplicas: [1], cancel: true }],
    ['a cancel with nothing in progress', 'NO_REASSIGNMENT_IN_PROGRESS', cancel()],
  ] as const)('refuses %s with %s', (_what, code, item) => {
    const state = clusterWith({ ...nodes, 6: 'fenced', 7: 'controlled-shutdown' }, [{ replicas: [1, 2, 3] }]);
    const { codes, records } = reassign(state, [item]);
    expect(codes).toEqual([code]);
    expect(records).toEqual([]);
  });

  it('accepts a target keeping a replica whose node is down: moving away from dead nodes is the point', () => {
    const state = clusterWith({ ...nodes, 3: 'fenced' }, [{ replicas: [1, 2, 3], isr: [1, 2] }]);
    expect(reassign(state, [move([3, 4])]).codes).toEqual([undefined]);
  });

  it('refuses a partition listed twice, records nothing with validateOnly, and records nothing for the current replicas', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3] }]);
    expect(reassign(state, [move([4]), move([5])]).codes).toEqual(['INVALID_REQUEST', 'INVALID_REQUEST']);
    const validated = reassign(state, [move([4, 5])], true);
    expect([validated.codes, validated.records]).toEqual([[undefined], []]);
    const same = reassign(state, [move([1, 2, 3])]);
    expect([same.codes, same.records]).toEqual([[undefined], []]);
  });

  it('forgets a reassignment when its topic is deleted', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3] }]);
    const started = reassign(state, [move([4, 5])]).state;
    expect(started.reassignments.size).toBe(1);
    expect(commit(started, [{ type: 'remove-topic', topicId }]).reassignments.size).toBe(0);
  });

  it('lists only the partitions asked for that are being reassigned, in topic and partition order', () => {
    const state = clusterWith(nodes, [{ replicas: [1, 2, 3] }, { replicas: [1, 2, 3] }, { replicas: [1, 2, 3] }]);
    const started = reassign(state, [move([4, 5], 2), move([4, 5], 0)]).state;
    expect(listReassignments(started, []).map((r) => r.partition)).toEqual([0, 2]);
    const asked = [
      { topic: 't', partition: 2 },
      { topic: 't', partition: 1 },
      { topic: 'nope', partition: 0 },
      { topic: 't', partition: 2 },
    ];
    expect(listReassignments(started, asked).map((r) => r.partition)).toEqual([2]);
  });
});
