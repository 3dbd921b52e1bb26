/**
 * The controller's commands as pure functions: each takes the current state (and, for
 * liveness, what the controller knows about node sessions) and returns its answer together
 * with the records that carry it out. Nothing here changes state; the caller records the
 * records in its store and then applies them (`applyBatch`). Failures of a whole command are
 * thrown as StarlaneError; batch commands report one result per item instead. The topic
 * commands are in `topic-commands.ts`; what they share with these (elections, item errors) is
 * exported from here for them.
 */
import { StarlaneError, assert, type ErrorCode } from '@starlane/model';
import { reassigning, reassignmentKey, type ControllerState, type NodeRegistration } from './controller-state';
import { noLeader, topicById, type PartitionState, type TopicState } from './image';
import { batchRecordsMax, type MetadataRecord, type NodeRecord, type PartitionRecord } from './records';
import { effectiveMinInsyncReplicas, minInsyncReplicasProblem, uncleanLeaderElectionEnabled } from './topic-configs';

/** Producer ids handed out per block when the caller does not say (Kafka's block size). */
export const producerIdBlockSizeDefault = 1000;
/** Largest producer id block handed out at once. */
export const producerIdBlockSizeMax = 100_000;
/** Producer ids are int64. */
const producerIdMax = 2n ** 63n - 1n;

/** A per-item failure: the catalogue code and a message for humans. */
export interface ItemError {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface CommandOutcome<T> {
  readonly result: T;
  /** Empty when nothing changes. */
  readonly records: readonly MetadataRecord[];
}

/** What the controller knows about node sessions (soft state: not recorded). */
export interface NodeSessions {
  /** Whether the node has heartbeated within the session timeout. */
  isLive(nodeId: number): boolean;
}

export function itemError(error: unknown): ItemError {
  if (error instanceof StarlaneError) return { code: error.code, message: error.message };
  throw error;
}

// ---------------------------------------------------------------------------
// Leadership
//
// Rules every election follows (Kafka's, with KIP-966's view of unclean shutdowns):
//
// - A leader is an ISR member whose node is active (registered, not fenced, not shutting
//   down, no failed log directory). Candidates are taken in preference order (replicas order, preferred leader first).
// - Unclean shutdown: a node whose incarnation registered after an unclean shutdown may have
//   lost records it had acknowledged. Every new incarnation, clean or not, leaves the ISRs where
//   other members remain (`withdrawNode` at registration), so its replicas rejoin only when a
//   leader re-admits them after they caught up (AlterPartition). Where it was the last member
//   it stays: its log is the best copy the controller knows of. Elections take ISR members of
//   clean incarnations first and one of an unclean incarnation only when no clean one may lead,
//   so an unclean replica is never elected ahead of a clean in-sync replica.
// - Unclean leader election (the topic's unclean.leader.election.enable, default false): when
//   no ISR member may lead, any active replica that is not still being added by a
//   reassignment is elected (clean incarnations first) and the ISR becomes that replica alone:
//   records only the old ISR had are lost, which the setting accepts in exchange for
//   availability. Without it the partition stays leaderless until an ISR member returns.
// - Every change bumps the partition epoch; every change of leader (to or from no leader
//   included) bumps the leader epoch, so a deposed leader's requests are recognisably stale.

/** Every registered node's rack ('' for none), for placement. */
export function racksOf(state: ControllerState): Map<number, string> {
  return new Map([...state.registrations.values()].map((registration) => [registration.nodeId, registration.rack]));
}

/**
 * Whether a registration's replicas may lead and join ISRs: the node is active, and none of
 * its log directories failed. A node keeps all its replicas in its one log directory, so a
 * failed directory takes every replica of the node out (KRaft does the same per directory).
 */
function servesReplicas(registration: NodeRegistration): boolean {
  return registration.state === 'active' && registration.offlineLogDirIds.length === 0;
}

/** Node ids that may lead and join ISRs (`servesReplicas`). */
export function activeNodes(state: ControllerState): Set<number> {
  const active = new Set<number>();
  for (const registration of state.registrations.values()) if (servesReplicas(registration)) active.add(registration.nodeId);
  return active;
}

/** Who may lead, and in which order elections consider them. */
export interface Electorate {
  canLead(nodeId: number): boolean;
  /** False for a node whose incarnation registered after an unclean shutdown. */
  isClean(nodeId: number): boolean;
}

export function electorate(state: ControllerState, canLead: (nodeId: number) => boolean): Electorate {
  return { canLead, isClean: (nodeId) => state.registrations.get(nodeId)?.cleanShutdown !== false };
}

/** The first of `candidates` that may lead, clean incarnations before unclean ones; else noLeader. */
function firstEligible(candidates: readonly number[], electorate: Electorate): number {
  const eligible = candidates.filter((id) => electorate.canLead(id));
  return eligible.find((id) => electorate.isClean(id)) ?? eligible[0] ?? noLeader;
}

/** The ISR member that leads next (preference order, clean first), or noLeader. */
function electLeader(partition: PartitionState, isr: readonly number[], electorate: Electorate): number {
  return firstEligible(
    partition.replicas.filter((id) => isr.includes(id)),
    electorate,
  );
}

/**
 * Leader and ISR of a partition whose leader is chosen from `isr`: an ISR member if one may
 * lead; else, with unclean election enabled, any active replica not being added, as the sole
 * ISR member; else no leader and `isr` unchanged.
 */
function elect(partition: PartitionState, isr: readonly number[], electorate: Electorate, uncleanAllowed: boolean): { leader: number; isr: readonly number[] } {
  const leader = electLeader(partition, isr, electorate);
  if (leader !== noLeader || !uncleanAllowed) return { leader, isr };
  const unclean = firstEligible(
    partition.replicas.filter((id) => !partition.addingReplicas.includes(id)),
    electorate,
  );
  return unclean === noLeader ? { leader, isr } : { leader: unclean, isr: [unclean] };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** What a change proposes; fields left out keep the partition's. */
interface PartitionProposal {
  readonly leader: number;
  readonly isr: readonly number[];
  readonly replicas?: readonly number[];
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

/**
 * A partition's next state from a proposal, or undefined if nothing changes. A reassignment
 * completes here, whatever the change, once every adding replica is in the ISR and the ISR
 * keeps a member of the target (KIP-455): the replicas become the target (replicas less the
 * removing ones, target order), the ISR loses the removed replicas, and a leader being
 * removed hands over to the next in-sync target replica.
 */
function changePartition(partition: PartitionState, proposal: PartitionProposal, electorate: Electorate): PartitionState | undefined {
  let next: PartitionState = {
    ...partition,
    leader: proposal.leader,
    isr: [...proposal.isr],
    replicas: [...(proposal.replicas ?? partition.replicas)],
    addingReplicas: [...(proposal.addingReplicas ?? partition.addingReplicas)],
    removingReplicas: [...(proposal.removingReplicas ?? partition.removingReplicas)],
  };
  if (reassigning(next) && next.addingReplicas.every((id) => next.isr.includes(id))) {
    const target = next.replicas.filter((id) => !next.removingReplicas.includes(id));
    const isr = next.isr.filter((id) => target.includes(id));
    if (isr.length > 0) {
      const completed: PartitionState = { ...next, replicas: target, isr, addingReplicas: [], removingReplicas: [] };
      next = { ...completed, leader: target.includes(next.leader) ? next.leader : electLeader(completed, isr, electorate) };
    }
  }
  const unchanged =
    next.leader === partition.leader &&
    sameIds(next.isr, partition.isr) &&
    sameIds(next.replicas, partition.replicas) &&
    sameIds(next.addingReplicas, partition.addingReplicas) &&
    sameIds(next.removingReplicas, partition.removingReplicas);
  if (unchanged) return undefined;
  assert(next.isr.length > 0 && next.isr.every((id) => next.replicas.includes(id)), 'an ISR is a non-empty subset of the replicas');
  assert(next.leader === noLeader || next.isr.includes(next.leader), 'a leader is in the ISR');
  return {
    ...next,
    leaderEpoch: next.leader === partition.leader ? partition.leaderEpoch : partition.leaderEpoch + 1,
    partitionEpoch: partition.partitionEpoch + 1,
  };
}

function partitionRecord(topic: TopicState, partition: PartitionState): PartitionRecord {
  return { type: 'partition', topicId: topic.topicId, partition };
}

/**
 * Records taking `nodeId` out of leaderships and ISRs, as when it is fenced, shuts down,
 * registers a new incarnation or reports a failed log directory: a partition it leads gets another leader (`elect`), or none. It
 * leaves every ISR except where it is the last member: that ISR keeps it, since it holds every
 * acknowledged record the controller knows of and is the one to elect when it comes back
 * (unless unclean election gives the partition to another replica first).
 */
function withdrawNode(state: ControllerState, nodeId: number, active: ReadonlySet<number>): PartitionRecord[] {
  const records: PartitionRecord[] = [];
  const voters = electorate(state, (id) => id !== nodeId && active.has(id));
  for (const topic of state.image.topics.values()) {
    const uncleanAllowed = uncleanLeaderElectionEnabled(state.image, topic);
    for (const partition of topic.partitions) {
      if (partition.leader !== nodeId && !partition.isr.includes(nodeId)) continue;
      const shrunk = partition.isr.filter((id) => id !== nodeId);
      const isr = shrunk.length > 0 ? shrunk : partition.isr;
      const proposal = partition.leader === nodeId || partition.leader === noLeader ? elect(partition, isr, voters, uncleanAllowed) : { leader: partition.leader, isr };
      const changed = changePartition(partition, proposal, voters);
      if (changed !== undefined) records.push(partitionRecord(topic, changed));
    }
  }
  return records;
}

/** Records giving leaderless partitions of `topics` a leader, as `elect` allows. */
export function electLeaderless(state: ControllerState, topics: Iterable<TopicState>, voters: Electorate, replicatedBy?: number): PartitionRecord[] {
  const records: PartitionRecord[] = [];
  for (const topic of topics) {
    const uncleanAllowed = uncleanLeaderElectionEnabled(state.image, topic);
    for (const partition of topic.partitions) {
      if (partition.leader !== noLeader || (replicatedBy !== undefined && !partition.replicas.includes(replicatedBy))) continue;
      const changed = changePartition(partition, elect(partition, partition.isr, voters, uncleanAllowed), voters);
      if (changed !== undefined) records.push(partitionRecord(topic, changed));
    }
  }
  return records;
}

function nodeRecord(registration: NodeRegistration, changes: Partial<NodeRegistration>): NodeRecord {
  return { type: 'node', ...registration, ...changes };
}

// ---------------------------------------------------------------------------
// Node lifecycle

export interface RegisterNodeInput {
  readonly nodeId: number;
  readonly incarnationId: string;
  /** Empty for a node whose directories are new. */
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  /**
   * Whether the previous run shut down cleanly (RegisterNodeRequest.clean_shutdown). Unset
   * counts as clean, as registrations did before nodes reported it.
   */
  readonly cleanShutdown?: boolean;
}

/**
 * Registers a node incarnation. A retry of the same incarnation is answered with its epoch and
 * changes nothing; a new incarnation gets a new epoch and starts fenced (its leaderships move
 * away now: the new process may have lost what the old one had not flushed). A new incarnation
 * is refused while the previous one still has a live session, since then two processes are
 * configured with one id, unless the previous one announced a controlled shutdown. Whether the
 * incarnation follows a clean shutdown is recorded with it for elections (see Leadership).
 */
export function registerNode(state: ControllerState, input: RegisterNodeInput, sessions: NodeSessions): CommandOutcome<{ nodeEpoch: number }> {
  if (!Number.isInteger(input.nodeId) || input.nodeId < 0) throw new StarlaneError('INVALID_REQUEST', `node id must be >= 0, got ${input.nodeId}`);
  if (input.incarnationId === '') throw new StarlaneError('INVALID_REQUEST', 'incarnation_id must be set');
  if (input.host === '') throw new StarlaneError('INVALID_REQUEST', 'host must be set');
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new StarlaneError('INVALID_REQUEST', `port must be from 1 to 65535, got ${input.port}`);
  if (input.clusterId !== '' && input.clusterId !== state.image.clusterId) {
    throw new StarlaneError('INCONSISTENT_CLUSTER_ID', `node ${input.nodeId} belongs to cluster ${input.clusterId}, this is cluster ${state.image.clusterId}`);
  }
  const existing = state.registrations.get(input.nodeId);
  if (existing !== undefined && existing.incarnationId === input.incarnationId) return { result: { nodeEpoch: existing.nodeEpoch }, records: [] };
  if (existing !== undefined && existing.state !== 'controlled-shutdown' && sessions.isLive(input.nodeId)) {
    throw new StarlaneError(
      'DUPLICATE_BROKER_REGISTRATION',
      `node ${input.nodeId} is registered by another live process (incarnation ${existing.incarnationId}); two processes may be configured with one node id, or the previous one has not yet timed out`,
    );
  }
  const partitions = existing === undefined ? [] : withdrawNode(state, input.nodeId, activeNodes(state));
  // The node record comes first; the version after the whole batch is the new epoch.
  const nodeEpoch = state.image.version + 1 + partitions.length;
  const record: NodeRecord = {
    type: 'node',
    nodeId: input.nodeId,
    nodeEpoch,
    incarnationId: input.incarnationId,
    host: input.host,
    port: input.port,
    rack: input.rack,
    state: 'fenced',
    cleanShutdown: input.cleanShutdown ?? true,
    // A new incarnation starts with its log directories online: it opened them to register.
    offlineLogDirIds: [],
  };
  return { result: { nodeEpoch }, records: [record, ...partitions] };
}

function currentRegistration(state: ControllerState, nodeId: number, nodeEpoch: number): NodeRegistration {
  const registration = state.registrations.get(nodeId);
  if (registration === undefined) throw new StarlaneError('BROKER_ID_NOT_REGISTERED', `node ${nodeId} is not registered; register first`);
  if (registration.nodeEpoch !== nodeEpoch) {
    throw new StarlaneError('STALE_BROKER_EPOCH', `node ${nodeId} epoch ${nodeEpoch} is not the current registration (epoch ${registration.nodeEpoch}); register again`);
  }
  return registration;
}

function leadsAny(state: ControllerState, nodeId: number): boolean {
  for (const topic of state.image.topics.values()) for (const partition of topic.partitions) if (partition.leader === nodeId) return true;
  return false;
}

/** Most failed log directories one heartbeat may report (a node has one today). */
export const offlineLogDirIdsMax = 64;

export interface HeartbeatInput {
  readonly nodeId: number;
  readonly nodeEpoch: number;
  /** Highest metadata version the node has applied. */
  readonly metadataVersion: number;
  /** Log directories that failed since the node registered (HeartbeatRequest.offline_log_dir_ids). */
  readonly offlineLogDirIds?: readonly string[];
}

export interface HeartbeatResult {
  readonly fenced: boolean;
  readonly shouldShutDown: boolean;
}

/**
 * A heartbeat. A fenced node is unfenced once it has applied the metadata version of its own
 * registration (so it never leads with metadata older than its registration), and then the
 * leaderless partitions it replicates get a leader again (`elect`: it, where it is in the ISR;
 * where unclean election is enabled and no ISR member may lead, it or another active replica).
 *
 * A heartbeat that reports a failed log directory for the first time records it with the
 * registration and withdraws the node as when it is fenced (`withdrawNode`), as KRaft handles
 * offline log directories: its leaderships move to other in-sync replicas that may lead, and
 * it leaves every ISR where another member remains. A directory stays offline until a new
 * incarnation registers (Kafka: until the broker restarts); the node stays unfenced meanwhile.
 */
export function heartbeat(state: ControllerState, input: HeartbeatInput): CommandOutcome<HeartbeatResult> {
  const registration = currentRegistration(state, input.nodeId, input.nodeEpoch);
  const reported = input.offlineLogDirIds ?? [];
  if (reported.length > offlineLogDirIdsMax) throw new StarlaneError('INVALID_REQUEST', `a heartbeat may report at most ${offlineLogDirIdsMax} offline log directories, got ${reported.length}`);
  if (reported.some((id) => id === '')) throw new StarlaneError('INVALID_REQUEST', 'an offline log directory id must not be empty');
  const newlyOffline = [...new Set(reported)].filter((id) => !registration.offlineLogDirIds.includes(id));
  const unfence = registration.state === 'fenced' && input.metadataVersion >= registration.nodeEpoch;
  const shuttingDown = registration.state === 'controlled-shutdown';
  if (!unfence && newlyOffline.length === 0) {
    return { result: { fenced: registration.state !== 'active', shouldShutDown: shuttingDown && !leadsAny(state, input.nodeId) }, records: [] };
  }
  const updated: NodeRegistration = {
    ...registration,
    state: unfence ? 'active' : registration.state,
    offlineLogDirIds: [...registration.offlineLogDirIds, ...newlyOffline],
  };
  const active = activeNodes(state);
  if (servesReplicas(updated)) active.add(input.nodeId);
  else active.delete(input.nodeId);
  const records: MetadataRecord[] = [nodeRecord(registration, { state: updated.state, offlineLogDirIds: updated.offlineLogDirIds })];
  if (newlyOffline.length > 0) records.push(...withdrawNode(state, input.nodeId, active));
  else records.push(...electLeaderless(state, state.image.topics.values(), electorate(state, (id) => active.has(id)), input.nodeId));
  return { result: { fenced: updated.state !== 'active', shouldShutDown: shuttingDown && !leadsAny(state, input.nodeId) }, records };
}

export interface ControlledShutdownResult {
  /** Partitions the node still leads; empty means it may exit. */
  readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[];
}

/**
 * A node about to stop: it stops being eligible, its leaderships move to other in-sync replicas
 * that may lead, and partitions with no such replica (always the case with one replica) are
 * left without a leader rather than led by a process that is about to exit.
 */
export function controlledShutdown(state: ControllerState, input: { readonly nodeId: number; readonly nodeEpoch: number }): CommandOutcome<ControlledShutdownResult> {
  const registration = currentRegistration(state, input.nodeId, input.nodeEpoch);
  const records: MetadataRecord[] = [];
  if (registration.state !== 'controlled-shutdown') {
    records.push(nodeRecord(registration, { state: 'controlled-shutdown' }), ...withdrawNode(state, input.nodeId, activeNodes(state)));
  }
  // Withdrawal leaves the node leading nothing; the answer lists what it still leads for callers that retry.
  const remaining: { topic: string; partition: number }[] = [];
  if (records.length === 0) {
    for (const topic of state.image.topics.values()) {
      for (const partition of topic.partitions) if (partition.leader === input.nodeId) remaining.push({ topic: topic.name, partition: partition.partition });
    }
  }
  return { result: { remainingLeaderships: remaining }, records };
}

/**
 * Fences every node that is not fenced and has no live session: it leaves leaderships and
 * ISRs as in `withdrawNode`. One batch for all of them, so watchers see one consistent change.
 */
export function fenceExpiredNodes(state: ControllerState, sessions: NodeSessions): CommandOutcome<{ fencedNodeIds: number[] }> {
  let current = state;
  const records: MetadataRecord[] = [];
  const fenced: number[] = [];
  const active = activeNodes(state);
  for (const registration of [...state.registrations.values()].sort((a, b) => a.nodeId - b.nodeId)) {
    // A node in controlled shutdown was withdrawn already; fencing it would let a late
    // heartbeat of that exiting incarnation unfence it and hand it leaderships again.
    if (registration.state === 'fenced' || registration.state === 'controlled-shutdown' || sessions.isLive(registration.nodeId)) continue;
    active.delete(registration.nodeId);
    fenced.push(registration.nodeId);
    records.push(nodeRecord(registration, { state: 'fenced' }));
    const withdrawn = withdrawNode(current, registration.nodeId, active);
    records.push(...withdrawn);
    // Later nodes in this pass see the partitions as already changed.
    current = withPartitions(current, withdrawn);
  }
  return { result: { fencedNodeIds: fenced }, records };
}

/** `state` with partition records applied to its topics (a scratch view; versions untouched). */
function withPartitions(state: ControllerState, records: readonly PartitionRecord[]): ControllerState {
  if (records.length === 0) return state;
  const topics = new Map(state.image.topics);
  for (const record of records) {
    const name = state.image.topicNamesById.get(record.topicId);
    const topic = name === undefined ? undefined : topics.get(name);
    assert(name !== undefined && topic !== undefined, `partition record for unknown topic id ${record.topicId}`);
    const partitions = topic.partitions.slice();
    partitions[record.partition.partition] = record.partition;
    topics.set(name, { ...topic, partitions });
  }
  return { ...state, image: { ...state.image, topics } };
}

// ---------------------------------------------------------------------------
// Partition state: ISR changes, preferred leaders, reassignment

export interface IsrMemberInput {
  readonly nodeId: number;
  /**
   * The member's node epoch as its fetches showed it (KIP-903). 0, negative or unset: not
   * quoted (node epochs start at 1).
   */
  readonly nodeEpoch?: number;
}

/** One partition's proposed ISR (PartitionIsrChange). */
export interface IsrChangeInput {
  readonly topicId: string;
  /** The topic's name, for logs (PartitionIsrChange.topic); the topic id is what is checked. */
  readonly topic?: string;
  readonly partition: number;
  /** The proposer's leader epoch. */
  readonly leaderEpoch: number;
  /** The partition epoch the proposal is based on. */
  readonly partitionEpoch: number;
  /** The proposed ISR, leader included, in the order to record. */
  readonly newIsr: readonly IsrMemberInput[];
}

export interface AlterPartitionInput {
  /** The proposing leader. */
  readonly nodeId: number;
  readonly nodeEpoch: number;
  readonly partitions: readonly IsrChangeInput[];
}

export interface AlterPartitionResult {
  readonly topicId: string;
  /** Empty when the topic id is unknown. */
  readonly topic: string;
  readonly partition: number;
  /**
   * The partition's state after the request: the new ISR and partition epoch on success, the
   * current state with an error so the leader can reconcile without waiting for the metadata
   * stream. Unset only for an unknown topic or partition.
   */
  readonly state?: PartitionState;
  readonly error?: ItemError;
}

/**
 * Checks a proposal against the partition, in Kafka's order (KIP-497), throwing the first
 * failure. Epochs ahead of the controller's mean this controller has not seen changes the
 * proposer has, so it is not (or no longer) the active one: NOT_CONTROLLER sends the leader
 * looking for the active controller, as Kafka does.
 */
function checkIsrChange(state: ControllerState, leaderId: number, partition: PartitionState, change: IsrChangeInput, active: ReadonlySet<number>): void {
  const where = `partition ${change.partition} of topic id ${change.topicId}`;
  if (change.leaderEpoch > partition.leaderEpoch || change.partitionEpoch > partition.partitionEpoch) {
    throw new StarlaneError(
      'NOT_CONTROLLER',
      `${where}: leader epoch ${change.leaderEpoch} / partition epoch ${change.partitionEpoch} are ahead of this controller's ${partition.leaderEpoch} / ${partition.partitionEpoch}`,
    );
  }
  if (change.leaderEpoch < partition.leaderEpoch) throw new StarlaneError('FENCED_LEADER_EPOCH', `${where}: leader epoch ${change.leaderEpoch} is older than the current ${partition.leaderEpoch}`);
  if (leaderId !== partition.leader) {
    throw new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${where}: node ${leaderId} is not the leader (${partition.leader === noLeader ? 'no leader' : `node ${partition.leader}`} is)`);
  }
  if (change.partitionEpoch < partition.partitionEpoch) {
    throw new StarlaneError('INVALID_UPDATE_VERSION', `${where}: partition epoch ${change.partitionEpoch} is older than the current ${partition.partitionEpoch}`);
  }
  const proposed = change.newIsr.map((member) => member.nodeId);
  if (new Set(proposed).size !== proposed.length) throw new StarlaneError('INVALID_REQUEST', `${where}: the proposed ISR [${proposed.join(', ')}] lists a node more than once`);
  const stranger = proposed.find((id) => !partition.replicas.includes(id));
  if (stranger !== undefined) throw new StarlaneError('INVALID_REQUEST', `${where}: the proposed ISR names node ${stranger}, which is not a replica [${partition.replicas.join(', ')}]`);
  if (!proposed.includes(partition.leader)) throw new StarlaneError('INVALID_REQUEST', `${where}: the proposed ISR [${proposed.join(', ')}] does not include the leader ${partition.leader}`);
  // Only members joining are checked (KIP-841, KIP-903): a fenced or shutting-down node has
  // left every ISR already, and a restarted one must rejoin on fetches of its new incarnation.
  for (const member of change.newIsr) {
    if (partition.isr.includes(member.nodeId)) continue;
    const registration = state.registrations.get(member.nodeId);
    if (registration === undefined || !active.has(member.nodeId)) {
      throw new StarlaneError('INELIGIBLE_REPLICA', `${where}: node ${member.nodeId} cannot join the ISR: it is ${registration?.state ?? 'not registered'}`);
    }
    if (member.nodeEpoch !== undefined && member.nodeEpoch > 0 && member.nodeEpoch !== registration.nodeEpoch) {
      throw new StarlaneError('INELIGIBLE_REPLICA', `${where}: node ${member.nodeId} fetched with epoch ${member.nodeEpoch}, not its current epoch ${registration.nodeEpoch}`);
    }
  }
}

/**
 * A leader's ISR proposals (AlterPartition). Each partition is decided on its own, in request
 * order and on the state its predecessors left, so a partition proposed twice sees the first
 * proposal applied. Success records the ISR as proposed and bumps the partition epoch (never
 * the leader epoch); an ISR that is already the proposed one records nothing. Shrinking below
 * min.insync.replicas is allowed: acks=all writes then stop until replicas catch up. When the
 * change completes a reassignment that removes the proposer, the result is NEW_LEADER_ELECTED
 * with the new state. The node and its epoch are checked for the whole request
 * (BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH, thrown).
 */
export function alterPartition(state: ControllerState, input: AlterPartitionInput): CommandOutcome<AlterPartitionResult[]> {
  currentRegistration(state, input.nodeId, input.nodeEpoch);
  if (input.partitions.length > batchRecordsMax) throw new StarlaneError('INVALID_REQUEST', `an AlterPartition request may change at most ${batchRecordsMax} partitions; split it`);
  const active = activeNodes(state);
  const voters = electorate(state, (id) => active.has(id));
  const records: PartitionRecord[] = [];
  /** Partitions changed by earlier proposals of this request, by `reassignmentKey`. */
  const changedSoFar = new Map<string, PartitionState>();
  const results = input.partitions.map((change): AlterPartitionResult => {
    const topic = topicById(state.image, change.topicId);
    if (topic === undefined) return { topicId: change.topicId, topic: '', partition: change.partition, error: { code: 'UNKNOWN_TOPIC_ID', message: `no topic has id ${change.topicId}` } };
    const key = reassignmentKey(topic.topicId, change.partition);
    const partition = changedSoFar.get(key) ?? topic.partitions[change.partition];
    const item = { topicId: topic.topicId, topic: topic.name, partition: change.partition };
    if (partition === undefined) return { ...item, error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic ${topic.name} has no partition ${change.partition}` } };
    try {
      checkIsrChange(state, input.nodeId, partition, change, active);
    } catch (error) {
      return { ...item, state: partition, error: itemError(error) };
    }
    const changed = changePartition(partition, { leader: partition.leader, isr: change.newIsr.map((member) => member.nodeId) }, voters);
    if (changed === undefined) return { ...item, state: partition };
    records.push(partitionRecord(topic, changed));
    changedSoFar.set(key, changed);
    if (changed.leader !== input.nodeId) {
      return { ...item, state: changed, error: { code: 'NEW_LEADER_ELECTED', message: `the change completed a reassignment that removed node ${input.nodeId}; ${changed.leader === noLeader ? 'no replica' : `node ${changed.leader}`} leads now` } };
    }
    return { ...item, state: changed };
  });
  return { result: results, records };
}

/** Most leaderships one `electPreferredLeaders` pass moves (as KRaft's per-pass bound), so one pass is one bounded batch. */
export const preferredLeaderElectionsPerPassMax = 1000;

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface PreferredLeadersResult {
  /** Partitions whose leadership moved to their preferred replica. */
  readonly elected: readonly TopicPartitionRef[];
  /** More partitions could move: the pass stopped at its bound; run another. */
  readonly more: boolean;
}

/**
 * Preferred-leader balancing (Kafka's auto.leader.rebalance.enable, run every
 * leader.imbalance.check.interval.seconds by the caller): every partition whose preferred
 * replica (replicas[0]) is in the ISR and active but does not lead gets it as leader, with a
 * new leader epoch; the ISR is unchanged. Partitions are visited in topic name and partition
 * order, at most `electionsMax` (bounded by `preferredLeaderElectionsPerPassMax`) per pass.
 * A preferred replica that shares the ISR with its current leader has been re-admitted by a
 * leader since any unclean restart (see Leadership), so this never prefers an unclean replica.
 */
export function electPreferredLeaders(state: ControllerState, input: { readonly electionsMax?: number } = {}): CommandOutcome<PreferredLeadersResult> {
  const electionsMax = Math.max(0, Math.min(input.electionsMax ?? preferredLeaderElectionsPerPassMax, preferredLeaderElectionsPerPassMax));
  const active = activeNodes(state);
  const voters = electorate(state, (id) => active.has(id));
  const records: PartitionRecord[] = [];
  const elected: TopicPartitionRef[] = [];
  const topics = [...state.image.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      const preferred = partition.replicas[0];
      if (preferred === undefined || partition.leader === preferred || !partition.isr.includes(preferred) || !active.has(preferred)) continue;
      if (elected.length === electionsMax) return { result: { elected, more: true }, records };
      const changed = changePartition(partition, { leader: preferred, isr: partition.isr }, voters);
      assert(changed !== undefined, 'a new leader is a change');
      records.push(partitionRecord(topic, changed));
      elected.push({ topic: topic.name, partition: partition.partition });
    }
  }
  return { result: { elected, more: false }, records };
}

export interface PartitionReassignmentInput {
  readonly topic: string;
  readonly partition: number;
  /** The desired replicas, preferred leader first; empty with `cancel`. */
  readonly targetReplicas: readonly number[];
  /** Cancel the partition's reassignment in progress, back to its original replicas. */
  readonly cancel: boolean;
}

export interface PartitionReassignmentResult {
  readonly topic: string;
  readonly partition: number;
  readonly error?: ItemError;
}

/** The replicas a reassignment in progress started from, in their order. */
export function originalReplicas(state: ControllerState, topicId: string, partition: PartitionState): readonly number[] {
  return state.reassignments.get(reassignmentKey(topicId, partition.partition))?.originalReplicas ?? partition.replicas.filter((id) => !partition.addingReplicas.includes(id));
}

/**
 * Starts, replaces or cancels partition reassignments (KIP-455), each partition on its own.
 *
 * Starting: the replicas become the target followed by the current replicas not in it
 * (removing), and the target replicas that are new are adding; storage nodes start copying to
 * them. The move completes (see `changePartition`) when every adding replica is in the ISR,
 * usually through the leader's AlterPartition; a target that adds nothing completes at once
 * if an in-sync replica stays. A new target for a partition already being reassigned first
 * reverts the old one, as Kafka does, and keeps its original replicas for a later cancel.
 *
 * Cancelling: the replicas go back to the original ones, in their order, and the ISR keeps
 * only them. A change that would leave no in-sync replica (every in-sync replica is one being
 * added and the change drops it) is refused with INVALID_REPLICA_ASSIGNMENT rather than lose
 * every in-sync copy; reassign to a target that keeps one instead.
 *
 * Validation (Kafka's codes): unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION; an empty
 * target, a node listed twice, an unregistered node, or a new replica on a node that is not
 * active INVALID_REPLICA_ASSIGNMENT (replicas the partition has already may be down: moving
 * away from a dead node is what reassignment is for); cancel with a target INVALID_REQUEST,
 * cancel with nothing in progress NO_REASSIGNMENT_IN_PROGRESS; a partition listed twice
 * INVALID_REQUEST. `validateOnly` runs every check and records nothing. Not Kafka's: a target
 * with fewer replicas than the topic's min.insync.replicas is INVALID_REPLICA_ASSIGNMENT, as
 * its writes would never become visible (`minInsyncReplicasProblem`); a cancel is always
 * allowed, since AlterTopicConfigs keeps min.insync.replicas within the original replicas too.
 */
export function reassignPartitions(
  state: ControllerState,
  input: { readonly partitions: readonly PartitionReassignmentInput[]; readonly validateOnly: boolean },
  nowMs: number,
): CommandOutcome<PartitionReassignmentResult[]> {
  if (input.partitions.length > batchRecordsMax / 2) throw new StarlaneError('INVALID_REQUEST', `a request may reassign at most ${batchRecordsMax / 2} partitions; split it`);
  const active = activeNodes(state);
  const voters = electorate(state, (id) => active.has(id));
  const records: MetadataRecord[] = [];
  const counts = new Map<string, number>();
  const key = (item: PartitionReassignmentInput): string => `${item.topic}\u0000${item.partition}`;
  for (const item of input.partitions) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  const results = input.partitions.map((item): PartitionReassignmentResult => {
    const answer = { topic: item.topic, partition: item.partition };
    try {
      if ((counts.get(key(item)) ?? 0) > 1) throw new StarlaneError('INVALID_REQUEST', `partition ${item.partition} of topic ${item.topic} is listed more than once in the request`);
      const topic = state.image.topics.get(item.topic);
      const partition = topic?.partitions[item.partition];
      if (topic === undefined || partition === undefined) throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${item.topic} has no partition ${item.partition}`);
      const where = `partition ${item.partition} of topic ${item.topic}`;
      const original = originalReplicas(state, topic.topicId, partition);
      let replicas: number[];
      let adding: number[] = [];
      let removing: number[] = [];
      if (item.cancel) {
        if (item.targetReplicas.length > 0) throw new StarlaneError('INVALID_REQUEST', `${where}: target replicas must be empty when cancelling`);
        if (!reassigning(partition)) throw new StarlaneError('NO_REASSIGNMENT_IN_PROGRESS', `${where} is not being reassigned`);
        replicas = [...original];
      } else {
        const target = item.targetReplicas;
        const fail = (why: string): never => {
          throw new StarlaneError('INVALID_REPLICA_ASSIGNMENT', `${where}: ${why}`);
        };
        if (target.length === 0) fail('the target has no replicas');
        if (new Set(target).size !== target.length) fail(`the target lists a node more than once: [${target.join(', ')}]`);
        for (const id of target) {
          const registration = state.registrations.get(id);
          if (registration === undefined) fail(`the target names node ${id}, which is not registered`);
          else if (!original.includes(id) && !active.has(id)) fail(`the target adds node ${id}, which is ${registration.state}`);
        }
        const problem = minInsyncReplicasProblem(effectiveMinInsyncReplicas(state.image, topic.configs), target.length);
        if (problem !== undefined) fail(`with the target [${target.join(', ')}], ${problem}; lower min.insync.replicas first`);
        adding = target.filter((id) => !original.includes(id));
        removing = original.filter((id) => !target.includes(id));
        replicas = [...target, ...removing];
      }
      const isr = partition.isr.filter((id) => replicas.includes(id));
      if (isr.length === 0) {
        throw new StarlaneError('INVALID_REPLICA_ASSIGNMENT', `${where}: every in-sync replica [${partition.isr.join(', ')}] would leave; choose a target that keeps one`);
      }
      const kept = { ...partition, replicas, addingReplicas: adding, removingReplicas: removing };
      const leader = replicas.includes(partition.leader) ? partition.leader : electLeader(kept, isr, voters);
      const changed = changePartition(partition, { leader, isr, replicas, addingReplicas: adding, removingReplicas: removing }, voters);
      if (input.validateOnly || changed === undefined) return answer;
      records.push(partitionRecord(topic, changed));
      if (reassigning(changed)) records.push({ type: 'reassignment', topicId: topic.topicId, partition: partition.partition, originalReplicas: [...original], startedAtMs: nowMs });
      return answer;
    } catch (error) {
      return { ...answer, error: itemError(error) };
    }
  });
  return { result: results, records };
}

// ---------------------------------------------------------------------------
// Producer ids

/** Hands out `count` ids (0 or less means the default block size), never the same id twice. */
export function allocateProducerIds(state: ControllerState, count: number): CommandOutcome<{ firstProducerId: bigint; count: number }> {
  const size = count <= 0 ? producerIdBlockSizeDefault : Math.min(count, producerIdBlockSizeMax);
  const first = state.nextProducerId;
  const next = first + BigInt(size);
  if (next > producerIdMax) throw new StarlaneError('UNKNOWN_SERVER_ERROR', 'producer ids are exhausted');
  return { result: { firstProducerId: first, count: size }, records: [{ type: 'producer-ids', nextProducerId: next }] };
}
