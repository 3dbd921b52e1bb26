/**
 * Eligible leader replicas (KIP-966): who joins and leaves the ELR on every path that changes
 * an ISR, elections from it, the unclean-registration rule, reassignment and changes of
 * min.insync.replicas. See docs/metadata.md, "Eligible leader replicas".
 */
import { controlledShutdown, fenceExpiredNodes, heartbeat, registerNode } from './node-commands';
import { alterPartition, reassignPartitions } from './partition-commands';
import { alterTopicConfigs } from './topic-commands';
import { applyBatch, emptyControllerState, nextBatch, type ControllerState } from './controller-state';
import { noLeader, type ConfigMap, type NodeState, type PartitionState } from './image';
import { type MetadataRecord } from './records';
import { electionKind } from './transitions';

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new TypeError('expected a value');
  return value;
}

const topicId = '22222222-2222-4222-8222-222222222222';
/** Node n is registered with epoch n. */
const epochOf = (nodeId: number): number => nodeId;

function commit(state: ControllerState, records: readonly MetadataRecord[]): ControllerState {
  return applyBatch(state, nextBatch(state, records)).state;
}

/** Nodes in the given states, and topic `t` with one partition (leader: the first ISR member unless given). */
function clusterWith(nodes: Record<number, NodeState>, spec: Partial<PartitionState>, configs: ConfigMap = { 'min.insync.replicas': '2' }): ControllerState {
  const records: MetadataRecord[] = [{ type: 'cluster', clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' }];
  for (const [id, state] of Object.entries(nodes)) {
    records.push({ type: 'node', nodeId: Number(id), nodeEpoch: epochOf(Number(id)), incarnationId: `i${id}`, host: 'h', port: 1, rack: '', state, cleanShutdown: true });
  }
  records.push({ type: 'topic', topicId, name: 't', internal: false, configs });
  const replicas = spec.replicas ?? [1, 2, 3];
  const isr = spec.isr ?? replicas;
  records.push({
    type: 'partition',
    topicId,
    partition: {
      partition: 0,
      leader: spec.leader ?? isr[0] ?? noLeader,
      leaderEpoch: 0,
      partitionEpoch: 0,
      replicas,
      isr,
      elr: spec.elr ?? [],
      offlineReplicas: [],
      addingReplicas: spec.addingReplicas ?? [],
      removingReplicas: spec.removingReplicas ?? [],
    },
  });
  return commit(emptyControllerState, records);
}

function partitionOf(state: ControllerState): PartitionState {
  return defined(state.image.topics.get('t')?.partitions[0]);
}

function shape(state: ControllerState): { leader: number; isr: readonly number[]; elr: readonly number[] } {
  const { leader, isr, elr } = partitionOf(state);
  return { leader, isr, elr };
}

/** Applies a leader's ISR proposal for partition 0 of `t`, failing the test if it is refused. */
function propose(state: ControllerState, leader: number, isr: number[]): ControllerState {
  const partition = partitionOf(state);
  const outcome = alterPartition(state, {
    nodeId: leader,
    nodeEpoch: epochOf(leader),
    partitions: [{ topicId, partition: 0, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch, newIsr: isr.map((nodeId) => ({ nodeId })) }],
  });
  expect(outcome.result[0]?.error).toBeUndefined();
  return commit(state, outcome.records);
}

const deadExcept = (...live: number[]): { isLive(nodeId: number): boolean } => ({ isLive: (nodeId) => live.includes(nodeId) });

function register(state: ControllerState, nodeId: number, cleanShutdown: boolean): { state: ControllerState; nodeEpoch: number } {
  const outcome = registerNode(state, { nodeId, incarnationId: `again-${nodeId}`, clusterId: '', host: 'h', port: 1, rack: '', cleanShutdown }, deadExcept());
  return { state: commit(state, outcome.records), nodeEpoch: outcome.result.nodeEpoch };
}

/** Heartbeats until the node is unfenced (it has applied its registration). */
function unfence(state: ControllerState, nodeId: number, nodeEpoch = epochOf(nodeId)): ControllerState {
  return commit(state, heartbeat(state, { nodeId, nodeEpoch, metadataVersion: state.image.version }).records);
}

const allActive = { 1: 'active', 2: 'active', 3: 'active' } as const;

describe('eligible leader replicas: joining and leaving', () => {
  it('a replica a leader removes from an ISR that falls below min.insync.replicas joins the ELR; one removed above it does not', () => {
    let state = clusterWith(allActive, { isr: [1, 2, 3] });
    state = propose(state, 1, [1, 2]);
    expect(shape(state)).toEqual({ leader: 1, isr: [1, 2], elr: [] });
    state = propose(state, 1, [1]);
    expect(shape(state)).toEqual({ leader: 1, isr: [1], elr: [2] });
  });

  it('every member leaving at once while the ISR drops below the minimum joins the ELR', () => {
    const state = propose(clusterWith(allActive, { isr: [1, 2, 3] }), 1, [1]);
    expect(shape(state)).toEqual({ leader: 1, isr: [1], elr: [2, 3] });
  });

  it('the ISR growing back to min.insync.replicas clears the ELR', () => {
    const state = propose(clusterWith(allActive, { isr: [1], elr: [2, 3] }), 1, [1, 3]);
    expect(shape(state)).toEqual({ leader: 1, isr: [1, 3], elr: [] });
  });

  it('a replica rejoining an ISR still below the minimum leaves the ELR, the others stay', () => {
    const state = propose(clusterWith(allActive, { isr: [1], elr: [2, 3] }, { 'min.insync.replicas': '3' }), 1, [1, 2]);
    expect(shape(state)).toEqual({ leader: 1, isr: [1, 2], elr: [3] });
  });

  it('fencing: the nodes of one pass leave in turn, the last ISR member stays and the one before it joins the ELR (simulator seed 3)', () => {
    const state = clusterWith({ 1: 'active', 2: 'active', 3: 'fenced' }, { isr: [1, 2], leader: 2 });
    const after = commit(state, fenceExpiredNodes(state, deadExcept()).records);
    expect(shape(after)).toEqual({ leader: noLeader, isr: [2], elr: [1] });
  });

  it('controlled shutdown: leaving an ISR that falls below the minimum joins the ELR', () => {
    const state = clusterWith(allActive, { isr: [1, 2, 3] }, { 'min.insync.replicas': '3' });
    const after = commit(state, controlledShutdown(state, { nodeId: 3, nodeEpoch: epochOf(3) }).records);
    expect(shape(after)).toEqual({ leader: 1, isr: [1, 2], elr: [3] });
  });

  it('a failed log directory: leaving an ISR that falls below the minimum joins the ELR', () => {
    const state = clusterWith(allActive, { isr: [1, 2] });
    const after = commit(state, heartbeat(state, { nodeId: 2, nodeEpoch: epochOf(2), metadataVersion: state.image.version, offlineLogDirIds: ['dir'] }).records);
    expect(shape(after)).toEqual({ leader: 1, isr: [1], elr: [2] });
  });
});

describe('eligible leader replicas: elections', () => {
  it('a leaderless partition whose ISR cannot lead elects an ELR member that returns, as the sole ISR member', () => {
    const state = clusterWith({ 1: 'fenced', 2: 'fenced', 3: 'fenced' }, { isr: [2], elr: [1], leader: noLeader });
    const after = unfence(state, 1);
    expect(shape(after)).toEqual({ leader: 1, isr: [1], elr: [2] });
    expect(partitionOf(after).leaderEpoch).toBe(1);
    expect(electionKind(partitionOf(state), partitionOf(after))).toBe('clean');
  });

  it('an ISR member that may lead is elected ahead of an ELR member', () => {
    const state = clusterWith({ 1: 'active', 2: 'fenced', 3: 'active' }, { isr: [2, 3], elr: [1], leader: noLeader }, { 'min.insync.replicas': '3' });
    const after = unfence(state, 2);
    expect(shape(after)).toEqual({ leader: 2, isr: [2, 3], elr: [1] });
  });

  it('a leader withdrawn with no ISR member to follow it hands over to an active ELR member', () => {
    const state = clusterWith(allActive, { isr: [2], elr: [1], leader: 2 });
    const after = commit(state, fenceExpiredNodes(state, deadExcept(1, 3)).records);
    expect(shape(after)).toEqual({ leader: 1, isr: [1], elr: [2] });
  });

  it('unclean leader election comes only after the ELR, and clears it', () => {
    const unclean = { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'true' };
    const back = unfence(clusterWith({ 1: 'active', 2: 'fenced', 3: 'fenced' }, { isr: [2], elr: [1], leader: noLeader }, unclean), 3);
    expect(shape(back)).toEqual({ leader: 1, isr: [1], elr: [2] });
    const noElr = clusterWith({ 1: 'fenced', 2: 'fenced', 3: 'fenced' }, { isr: [2], elr: [1], leader: noLeader }, unclean);
    const uncleanly = unfence(noElr, 3);
    expect(shape(uncleanly)).toEqual({ leader: 3, isr: [3], elr: [] });
    expect(electionKind(partitionOf(noElr), partitionOf(uncleanly))).toBe('unclean');
  });
});

describe('eligible leader replicas: registration after an unclean shutdown', () => {
  it('the last ISR member leaves the ISR when the ELR holds another replica; the partition waits for it (simulator seed 3)', () => {
    const fenced = clusterWith({ 1: 'fenced', 2: 'fenced', 3: 'fenced' }, { isr: [2], elr: [1], leader: noLeader });
    const registered = register(fenced, 2, false);
    expect(shape(registered.state)).toEqual({ leader: noLeader, isr: [], elr: [1] });
    // The restarted node with an empty log is not elected on its return ...
    const two = unfence(registered.state, 2, registered.nodeEpoch);
    expect(shape(two)).toEqual({ leader: noLeader, isr: [], elr: [1] });
    // ... the ELR member is, when it returns.
    expect(shape(unfence(two, 1))).toEqual({ leader: 1, isr: [1], elr: [] });
  });

  it('a clean registration keeps the last ISR member in place', () => {
    const fenced = clusterWith({ 1: 'fenced', 2: 'fenced', 3: 'fenced' }, { isr: [2], elr: [1], leader: noLeader });
    expect(shape(register(fenced, 2, true).state)).toEqual({ leader: noLeader, isr: [2], elr: [1] });
  });

  it('an unclean registration leaves the ELR; a clean one stays in it', () => {
    const state = clusterWith({ 1: 'active', 2: 'fenced', 3: 'fenced' }, { isr: [1], elr: [2, 3] });
    expect(shape(register(state, 3, false).state)).toEqual({ leader: 1, isr: [1], elr: [2] });
    expect(shape(register(state, 3, true).state)).toEqual({ leader: 1, isr: [1], elr: [2, 3] });
  });

  it('with the ELR empty, the last ISR member stays after an unclean shutdown: it is the best copy there is', () => {
    const fenced = clusterWith({ 1: 'fenced', 2: 'fenced', 3: 'fenced' }, { isr: [2], leader: noLeader });
    const registered = register(fenced, 2, false);
    expect(shape(registered.state)).toEqual({ leader: noLeader, isr: [2], elr: [] });
    expect(shape(unfence(registered.state, 2, registered.nodeEpoch))).toEqual({ leader: 2, isr: [2], elr: [] });
  });

  it('the last ELR member of a partition with an empty ISR becomes its ISR after an unclean shutdown, rather than leave no copy', () => {
    const waiting = clusterWith({ 1: 'fenced', 2: 'active', 3: 'active' }, { isr: [], elr: [1], leader: noLeader });
    expect(shape(register(waiting, 1, false).state)).toEqual({ leader: noLeader, isr: [1], elr: [] });
  });
});

describe('a first registration that reports new data as lost', () => {
  it('withdraws nothing and is not ranked behind clean incarnations: the node acknowledged nothing yet', () => {
    const state = clusterWith({ 1: 'active', 2: 'fenced' }, { replicas: [1, 2], isr: [1], elr: [2] });
    const outcome = registerNode(state, { nodeId: 4, incarnationId: 'first', clusterId: '', host: 'h', port: 1, rack: '', cleanShutdown: false }, deadExcept());
    expect(outcome.records.map((record) => record.type)).toEqual(['node']);
    const registered = commit(state, outcome.records);
    expect(registered.registrations.get(4)).toMatchObject({ state: 'fenced', cleanShutdown: true });
    expect(shape(registered)).toEqual({ leader: 1, isr: [1], elr: [2] });
    // A node registered before that reports a loss is recorded as unclean.
    expect(register(state, 2, false).state.registrations.get(2)).toMatchObject({ cleanShutdown: false });
  });
});

describe('eligible leader replicas: reassignment and min.insync.replicas', () => {
  it('a reassignment that drops an ELR member takes it out of the ELR when the move completes', () => {
    const state = clusterWith({ 1: 'active', 2: 'active', 3: 'active', 4: 'active' }, { isr: [1], elr: [2, 3] }, { 'min.insync.replicas': '3' });
    const outcome = reassignPartitions(state, { partitions: [{ topic: 't', partition: 0, targetReplicas: [1, 2, 4], cancel: false }], validateOnly: false }, 0);
    expect(outcome.result[0]?.error).toBeUndefined();
    const moving = commit(state, outcome.records);
    // Node 3 is still a replica while the move is under way, and still eligible.
    expect(partitionOf(moving)).toMatchObject({ replicas: [1, 2, 4, 3], elr: [2, 3] });
    // The move completes when node 4 joins; node 3 leaves the replicas and the ELR.
    expect(partitionOf(propose(moving, 1, [1, 4]))).toMatchObject({ replicas: [1, 2, 4], isr: [1, 4], elr: [2] });
  });

  it('a partition waiting for an ELR member may be reassigned away from it: it stays a replica, and the leader once back, until the move completes', () => {
    const state = clusterWith({ 1: 'fenced', 2: 'active', 3: 'active', 4: 'active' }, { isr: [], elr: [1], leader: noLeader });
    const outcome = reassignPartitions(state, { partitions: [{ topic: 't', partition: 0, targetReplicas: [2, 3, 4], cancel: false }], validateOnly: false }, 0);
    expect(outcome.result[0]?.error).toBeUndefined();
    const moving = commit(state, outcome.records);
    expect(partitionOf(moving)).toMatchObject({ replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1], isr: [], elr: [1], leader: noLeader });
    expect(shape(unfence(moving, 1))).toEqual({ leader: 1, isr: [1], elr: [] });
  });

  it('lowering min.insync.replicas to the ISR size clears the ELR in the same batch; lowering it less, or raising it, keeps it', () => {
    const state = clusterWith(allActive, { isr: [1], elr: [2, 3] }, { 'min.insync.replicas': '3' });
    const alter = (value: string): ControllerState =>
      commit(state, alterTopicConfigs(state, { topics: [{ topic: 't', changes: [{ name: 'min.insync.replicas', operation: 'set', value }] }], validateOnly: false }).records);
    const lowered = alter('1');
    expect(shape(lowered)).toEqual({ leader: 1, isr: [1], elr: [] });
    expect(partitionOf(lowered).partitionEpoch).toBe(1);
    expect(shape(alter('2'))).toEqual({ leader: 1, isr: [1], elr: [2, 3] });
  });
});
