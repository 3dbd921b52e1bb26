/**
 * The checks every partition-addressed request passes before it touches a log, in Kafka's
 * order, and the mapping from failures to the codes results carry.
 *
 * 1. The topic id: required; unknown here is UNKNOWN_TOPIC_ID, unless the named topic exists
 *    with another id (it was deleted and created again), which is INCONSISTENT_TOPIC_ID, as is
 *    a topic name that does not match the id.
 * 2. The partition index: UNKNOWN_TOPIC_OR_PARTITION when the topic has no such partition.
 * 3. A replica here at all: otherwise NOT_LEADER_OR_FOLLOWER.
 * 4. The caller's current leader epoch against this node's: older is FENCED_LEADER_EPOCH (the
 *    caller's metadata is stale), newer is UNKNOWN_LEADER_EPOCH (this node's is). A negative
 *    epoch skips the check, as Kafka's -1 does for callers that do not know it.
 * 5. Leadership, where the operation needs the leader: NOT_LEADER_OR_FOLLOWER.
 * 6. The log: KAFKA_STORAGE_ERROR when it could not be opened.
 */
import { topicById } from '@starlane/metadata';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import type { HostedPartition } from './hosted-partition';
import type { PartitionManager } from './partition-manager';

export interface PartitionAddress {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly currentLeaderEpoch: number;
}

export type Lookup = { readonly ok: true; readonly partition: HostedPartition } | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

const refuse = (code: ErrorCode, message: string): Lookup => ({ ok: false, code, message });

export function lookupPartition(manager: PartitionManager, address: PartitionAddress, requireLeader: boolean): Lookup {
  const image = manager.metadata;
  const name = `${address.topic}-${address.partition}`;
  if (image === undefined) return refuse('NOT_LEADER_OR_FOLLOWER', 'this node has no cluster metadata yet');
  if (address.topicId === '') return refuse('UNKNOWN_TOPIC_ID', `no topic_id given for ${name}`);
  const topic = topicById(image, address.topicId);
  if (topic === undefined) {
    const byName = address.topic === '' ? undefined : image.topics.get(address.topic);
    return byName === undefined
      ? refuse('UNKNOWN_TOPIC_ID', `topic id ${address.topicId} is not known here`)
      : refuse('INCONSISTENT_TOPIC_ID', `topic ${address.topic} has id ${byName.topicId} here, not ${address.topicId}`);
  }
  if (address.topic !== '' && address.topic !== topic.name) {
    return refuse('INCONSISTENT_TOPIC_ID', `topic id ${address.topicId} names topic ${topic.name}, not ${address.topic}`);
  }
  const state = topic.partitions[address.partition];
  if (!Number.isInteger(address.partition) || address.partition < 0 || state === undefined) {
    return refuse('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic.name} has no partition ${address.partition}`);
  }
  if (!state.replicas.includes(manager.nodeId)) return refuse('NOT_LEADER_OR_FOLLOWER', `node ${manager.nodeId} hosts no replica of ${name}`);
  if (address.currentLeaderEpoch >= 0) {
    if (address.currentLeaderEpoch < state.leaderEpoch) {
      return refuse('FENCED_LEADER_EPOCH', `${name} is in leader epoch ${state.leaderEpoch}, the request quotes ${address.currentLeaderEpoch}`);
    }
    if (address.currentLeaderEpoch > state.leaderEpoch) {
      return refuse('UNKNOWN_LEADER_EPOCH', `${name} is in leader epoch ${state.leaderEpoch} here, the request quotes ${address.currentLeaderEpoch}`);
    }
  }
  // A negative epoch can come only from a controller bug; it must never be stamped on a batch.
  if (requireLeader && (state.leader !== manager.nodeId || state.leaderEpoch < 0)) {
    return refuse('NOT_LEADER_OR_FOLLOWER', `node ${manager.nodeId} does not lead ${name} (leader: ${state.leader})`);
  }
  const partition = manager.partition(address.topicId, address.partition);
  if (partition === undefined) return refuse('NOT_LEADER_OR_FOLLOWER', `${name} is not hosted here`);
  const failure = partition.storageFailure;
  if (failure !== undefined) return refuse('KAFKA_STORAGE_ERROR', `${name} is offline: ${failure.message}`);
  return { ok: true, partition };
}

/** The code a partition result carries for an error thrown while serving it. */
export function resultCode(error: unknown): { code: ErrorCode; message: string } {
  if (!(error instanceof StarlaneError)) return { code: 'UNKNOWN_SERVER_ERROR', message: String(error) };
  // The log's own storage failures are Kafka's KAFKA_STORAGE_ERROR on the wire.
  if (error.code === 'STORAGE_UNAVAILABLE') return { code: 'KAFKA_STORAGE_ERROR', message: error.message };
  return { code: error.code, message: error.message };
}
