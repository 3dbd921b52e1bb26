/**
 * What the controller's commands share: their outcome shape (an answer together with the
 * records that carry it out), per-item errors, and the election rules every family of commands
 * applies. The commands are pure functions, one module per family: nodes (`node-commands.ts`),
 * partition state (`partition-commands.ts`: ISR changes, preferred leaders, reassignment),
 * topics (`topic-commands.ts`) and producer ids (`producer-id-commands.ts`). Nothing here
 * changes state; the caller records the records in its store and then applies them
 * (`applyBatch`). Failures of a whole command are thrown as StarlaneError; batch commands
 * report one result per item instead.
 */
import { StarlaneError, assert, type ErrorCode } from '@starlane/model';
import { reassigning, type ControllerState, type NodeRegistration } from './controller-state';
import { noLeader, type PartitionState, type TopicState } from './image';
import { type MetadataRecord, type NodeRecord, type PartitionRecord } from './records';
import { effectiveMinInsyncReplicas, uncleanLeaderElectionEnabled } from './topic-configs';

export const producerIdMax = 2n ** 63n - 1n;

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
// - Eligible leader replicas (KIP-966, `nextElr`): replicas that left the ISR while it was
//   below min.insync.replicas hold every committed record (the high watermark stands still
//   meanwhile). When no ISR member may lead, an active ELR member is elected as the sole ISR
//   member.
// - Unclean shutdown: a node whose incarnation registered after an unclean shutdown may have
//   lost records it had acknowledged. Every new incarnation, clean or not, leaves the ISRs where
//   other members remain (`withdrawNode` at registration), so its replicas rejoin only when a
//   leader re-admits them after they caught up (AlterPartition). An unclean one also leaves
//   every ELR, and the ISR where it is the last member if the ELR holds another replica (the
//   partition then waits for that replica). Where it is the last copy the controller knows of it
//   stays: its log is the best there is. Elections take members of clean incarnations first and
//   one of an unclean incarnation only when no clean one may lead, so an unclean replica is
//   never elected ahead of a clean in-sync or eligible replica.
// - Unclean leader election (the topic's unclean.leader.election.enable, default false): when
//   no ISR or ELR member may lead, any active replica that is not still being added by a
//   reassignment is elected (clean incarnations first) and the ISR becomes that replica alone,
//   the ELR empty: records only the old ISR and ELR had are lost, which the setting accepts in
//   exchange for availability. Without it the partition stays leaderless until an ISR or ELR
//   member returns.
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
export function servesReplicas(registration: NodeRegistration): boolean {
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
export function electLeader(partition: PartitionState, isr: readonly number[], electorate: Electorate): number {
  return firstEligible(
    partition.replicas.filter((id) => isr.includes(id)),
    electorate,
  );
}

/** A leader and ISR to propose; `elr`, when set, replaces the eligible leader replicas outright. */
export interface Election {
  readonly leader: number;
  readonly isr: readonly number[];
  readonly elr?: readonly number[];
}

/**
 * Leader and ISR of a partition whose leader is chosen from `isr`: an ISR member if one may
 * lead; else an eligible leader replica (`elr`, KIP-966) that may lead, as the sole ISR member
 * (it holds every committed record); else, with unclean election enabled, any active replica
 * not being added, as the sole ISR member, and the ELR is cleared (the log restarts from that
 * replica's history, so nothing else is known to hold it); else no leader and `isr` unchanged.
 */
export function elect(partition: PartitionState, isr: readonly number[], electorate: Electorate, uncleanAllowed: boolean, elr: readonly number[] = partition.elr): Election {
  const leader = electLeader(partition, isr, electorate);
  if (leader !== noLeader) return { leader, isr };
  const eligible = firstEligible(
    partition.replicas.filter((id) => elr.includes(id) && !isr.includes(id)),
    electorate,
  );
  if (eligible !== noLeader) return { leader: eligible, isr: [eligible] };
  if (!uncleanAllowed) return { leader, isr };
  const unclean = firstEligible(
    partition.replicas.filter((id) => !partition.addingReplicas.includes(id)),
    electorate,
  );
  return unclean === noLeader ? { leader, isr } : { leader: unclean, isr: [unclean], elr: [] };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** What a change proposes; fields left out keep the partition's. */
interface PartitionProposal extends Election {
  readonly replicas?: readonly number[];
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
  /** Replicas that may have lost acknowledged records (an unclean restart): never eligible leader replicas. */
  readonly uncleanReplicas?: readonly number[];
}

/**
 * The eligible leader replicas after a partition's ISR becomes `isr` (KIP-966, Kafka's
 * PartitionChangeBuilder): none once the ISR has at least `minInsyncReplicas` members, since
 * the high watermark may then advance without the replicas outside it; otherwise the previous
 * ones plus every replica leaving the ISR, less those in the new ISR (a replica rejoining the
 * ISR leaves the ELR) and those that may have lost records. While the ISR is below
 * min.insync.replicas the high watermark stands still, so a replica leaving then holds every
 * committed record. Kept in `replicas` order and within them.
 */
export function nextElr(partition: PartitionState, isr: readonly number[], replicas: readonly number[], minInsyncReplicas: number, unclean: readonly number[] = []): number[] {
  if (isr.length >= minInsyncReplicas) return [];
  return replicas.filter((id) => (partition.elr.includes(id) || partition.isr.includes(id)) && !isr.includes(id) && !unclean.includes(id));
}

/**
 * A partition's next state from a proposal, or undefined if nothing changes. A reassignment
 * completes here, whatever the change, once every adding replica is in the ISR and the ISR
 * keeps a member of the target (KIP-455): the replicas become the target (replicas less the
 * removing ones, target order), the ISR loses the removed replicas, and a leader being
 * removed hands over to the next in-sync target replica. The eligible leader replicas follow
 * the final ISR and replicas (`nextElr`), unless the proposal sets its own.
 */
export function changePartition(partition: PartitionState, proposal: PartitionProposal, electorate: Electorate, minInsyncReplicas: number): PartitionState | undefined {
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
  next = { ...next, elr: [...(proposal.elr ?? nextElr(partition, next.isr, next.replicas, minInsyncReplicas, proposal.uncleanReplicas))] };
  const unchanged =
    next.leader === partition.leader &&
    sameIds(next.isr, partition.isr) &&
    sameIds(next.elr, partition.elr) &&
    sameIds(next.replicas, partition.replicas) &&
    sameIds(next.addingReplicas, partition.addingReplicas) &&
    sameIds(next.removingReplicas, partition.removingReplicas);
  if (unchanged) return undefined;
  assert(next.isr.every((id) => next.replicas.includes(id)), 'an ISR is a subset of the replicas');
  assert(next.elr.every((id) => next.replicas.includes(id) && !next.isr.includes(id)), 'eligible leader replicas are replicas outside the ISR');
  assert(next.isr.length > 0 || (next.leader === noLeader && next.elr.length > 0), 'an ISR is empty only while an eligible leader replica is awaited');
  assert(next.leader === noLeader || next.isr.includes(next.leader), 'a leader is in the ISR');
  return {
    ...next,
    leaderEpoch: next.leader === partition.leader ? partition.leaderEpoch : partition.leaderEpoch + 1,
    partitionEpoch: partition.partitionEpoch + 1,
  };
}

/** The topic's effective min.insync.replicas, as the ELR rules read it. */
export function minInsyncOf(state: ControllerState, topic: TopicState): number {
  return effectiveMinInsyncReplicas(state.image, topic.configs).value;
}

export function partitionRecord(topic: TopicState, partition: PartitionState): PartitionRecord {
  return { type: 'partition', topicId: topic.topicId, partition };
}

/**
 * Records taking `nodeId` out of leaderships and ISRs, as when it is fenced, shuts down,
 * registers a new incarnation or reports a failed log directory: a partition it leads gets
 * another leader (`elect`), or none. It leaves every ISR except where it is the last member:
 * that ISR keeps it, since it holds every acknowledged record the controller knows of and is
 * the one to elect when it comes back (unless an eligible leader replica or unclean election
 * gives the partition to another replica first). Leaving an ISR that falls below
 * min.insync.replicas makes it an eligible leader replica (`nextElr`).
 *
 * `unclean`: a new incarnation registering after an unclean shutdown, which may have lost
 * records it had acknowledged (KIP-966). It leaves every ELR, and leaves the ISR even as its
 * last member when the ELR still holds another replica: the partition then has an empty ISR
 * and no leader, and waits for an ELR member to return. Where it was the last copy of either
 * (ISR empty and ELR only it, or last ISR member and ELR empty) it is kept in the ISR: its log
 * is the best the controller knows of.
 */
export function withdrawNode(state: ControllerState, nodeId: number, active: ReadonlySet<number>, options: { readonly unclean?: boolean } = {}): PartitionRecord[] {
  const unclean = options.unclean === true;
  const records: PartitionRecord[] = [];
  const voters = electorate(state, (id) => id !== nodeId && active.has(id));
  for (const topic of state.image.topics.values()) {
    const uncleanAllowed = uncleanLeaderElectionEnabled(state.image, topic);
    const minInsync = minInsyncOf(state, topic);
    for (const partition of topic.partitions) {
      const inElr = unclean && partition.elr.includes(nodeId);
      if (partition.leader !== nodeId && !partition.isr.includes(nodeId) && !inElr) continue;
      const elr = unclean ? partition.elr.filter((id) => id !== nodeId) : partition.elr;
      const shrunk = partition.isr.filter((id) => id !== nodeId);
      const isr = shrunk.length > 0 || (unclean && elr.length > 0) ? shrunk : [nodeId];
      const proposal: Election = partition.leader === nodeId || partition.leader === noLeader ? elect(partition, isr, voters, uncleanAllowed, elr) : { leader: partition.leader, isr };
      const changed = changePartition(partition, { ...proposal, uncleanReplicas: unclean ? [nodeId] : [] }, voters, minInsync);
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
      const changed = changePartition(partition, elect(partition, partition.isr, voters, uncleanAllowed), voters, minInsyncOf(state, topic));
      if (changed !== undefined) records.push(partitionRecord(topic, changed));
    }
  }
  return records;
}

export function nodeRecord(registration: NodeRegistration, changes: Partial<NodeRegistration>): NodeRecord {
  return { type: 'node', ...registration, ...changes };
}


/** `state` with partition records applied to its topics (a scratch view; versions untouched). */
export function withPartitions(state: ControllerState, records: readonly PartitionRecord[]): ControllerState {
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

/** The node's registration, if `nodeEpoch` is its current one; else the error telling it to register again. */
export function currentRegistration(state: ControllerState, nodeId: number, nodeEpoch: number): NodeRegistration {
  const registration = state.registrations.get(nodeId);
  if (registration === undefined) throw new StarlaneError('BROKER_ID_NOT_REGISTERED', `node ${nodeId} is not registered; register first`);
  if (registration.nodeEpoch !== nodeEpoch) {
    throw new StarlaneError('STALE_BROKER_EPOCH', `node ${nodeId} epoch ${nodeEpoch} is not the current registration (epoch ${registration.nodeEpoch}); register again`);
  }
  return registration;
}
