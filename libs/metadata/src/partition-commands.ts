/**
 * Partition state commands: ISR changes from leaders (AlterPartition, KIP-497), preferred
 * leader elections, and reassignment (KIP-455). Pure functions over the controller state, as
 * in `commands.ts`.
 */
import { StarlaneError, assert } from '@starlane/model';
import { reassigning, reassignmentKey, type ControllerState } from './controller-state';
import { noLeader, topicById, type PartitionState } from './image';
import { batchRecordsMax, type MetadataRecord, type PartitionRecord } from './records';
import { effectiveMinInsyncReplicas, minInsyncReplicasProblem } from './topic-configs';
import { activeNodes, changePartition, currentRegistration, electLeader, electorate, itemError, minInsyncOf, partitionRecord, type CommandOutcome, type ItemError } from './commands';

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
    const changed = changePartition(partition, { leader: partition.leader, isr: change.newIsr.map((member) => member.nodeId) }, voters, minInsyncOf(state, topic));
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
      const changed = changePartition(partition, { leader: preferred, isr: partition.isr }, voters, minInsyncOf(state, topic));
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
      // A partition whose ISR is empty waits for an eligible leader replica: one must stay.
      if (isr.length === 0 && (partition.isr.length > 0 || !partition.elr.some((id) => replicas.includes(id)))) {
        const copies = partition.isr.length > 0 ? `in-sync replica [${partition.isr.join(', ')}]` : `eligible leader replica [${partition.elr.join(', ')}]`;
        throw new StarlaneError('INVALID_REPLICA_ASSIGNMENT', `${where}: every ${copies} would leave; choose a target that keeps one`);
      }
      const kept = { ...partition, replicas, addingReplicas: adding, removingReplicas: removing };
      const leader = replicas.includes(partition.leader) ? partition.leader : electLeader(kept, isr, voters);
      const changed = changePartition(partition, { leader, isr, replicas, addingReplicas: adding, removingReplicas: removing }, voters, minInsyncOf(state, topic));
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
