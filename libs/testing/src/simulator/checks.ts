/**
 * The simulation's checks: pure functions over snapshots of the cluster, so a check is tested
 * on hand-made snapshots and a failure names exactly what it saw.
 *
 * Safety (after every step):
 * - no acknowledged acks=all write is lost or moved: the leader that serves a partition holds
 *   every such record at the offset it was acknowledged with;
 * - replicas agree on every committed prefix: a record below a replica's high watermark is
 *   committed, and every replica that holds that offset holds the same record (KIP-101/279);
 *   once committed, an offset's record never changes;
 * - a client never sees the high watermark (LATEST) go back within one leader epoch.
 * Liveness (after faults heal): every partition is led and back to its full ISR.
 */
import type { MetadataImage } from '@starlane/metadata';
import type { SimRecord, SimReplicaState } from './sim-node';

export interface ReplicaSnapshot extends SimReplicaState {
  readonly nodeId: number;
  /** The replica's records from `recordsFrom` to its log end (absent when not read). */
  readonly records?: readonly SimRecord[];
  /**
   * Where `records` start (the log start when absent). Records below it were read at an
   * earlier step, lay below the high watermark, matched the committed history and have not
   * changed since (see log-snapshots.ts).
   */
  readonly recordsFrom?: bigint;
}

export interface AcknowledgedWrite {
  readonly topicId: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly value: string;
  readonly leaderEpoch: number;
}

export interface LatestObservation {
  readonly client: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly offset: bigint;
}

/** Committed records seen so far: partition key → offset → value. */
export type CommittedHistory = ReadonlyMap<string, ReadonlyMap<bigint, string>>;

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}-${partition}`;
}

/**
 * Committed prefixes: returns the violations and the committed records this snapshot adds to
 * the history (the caller merges them).
 */
export function checkCommittedPrefixes(history: CommittedHistory, replicas: readonly ReplicaSnapshot[]): { violations: string[]; additions: Map<string, Map<bigint, string>> } {
  const violations: string[] = [];
  const additions = new Map<string, Map<bigint, string>>();
  const known = (key: string, offset: bigint): string | undefined => history.get(key)?.get(offset) ?? additions.get(key)?.get(offset);
  // Above its high watermark a follower may still hold a divergent tail of an old epoch until it
  // truncates (KIP-101): only records below a replica's high watermark are compared.
  for (const replica of replicas) {
    if (replica.records === undefined) continue;
    const key = partitionKey(replica.topicId, replica.partition);
    for (const record of replica.records) {
      if (record.offset >= replica.highWatermark) break;
      const seen = known(key, record.offset);
      if (seen === undefined) {
        let added = additions.get(key);
        if (added === undefined) additions.set(key, (added = new Map()));
        added.set(record.offset, record.value);
      } else if (seen !== record.value) {
        violations.push(`${key} offset ${record.offset} was committed as ${seen}, node ${replica.nodeId} has ${record.value} below its high watermark ${replica.highWatermark}`);
      }
    }
  }
  return { violations, additions };
}

/** The replica that serves a partition now: the image's leader, up, and leading at the image's epoch. */
export function servingLeader(image: MetadataImage, replicas: readonly ReplicaSnapshot[], topicId: string, partition: number): ReplicaSnapshot | undefined {
  for (const topic of image.topics.values()) {
    if (topic.topicId !== topicId) continue;
    const state = topic.partitions[partition];
    if (state === undefined) return undefined;
    return replicas.find((r) => r.nodeId === state.leader && r.topicId === topicId && r.partition === partition && r.isLeader && r.leaderEpoch === state.leaderEpoch);
  }
  return undefined;
}

/** Every acknowledged acks=all write is where it was acknowledged, in the committed history and on the serving leader. */
export function checkAcknowledgedWrites(
  acknowledged: readonly AcknowledgedWrite[],
  history: CommittedHistory,
  image: MetadataImage,
  replicas: readonly ReplicaSnapshot[],
): string[] {
  const violations: string[] = [];
  for (const write of acknowledged) {
    const key = partitionKey(write.topicId, write.partition);
    const committed = history.get(key)?.get(write.offset);
    if (committed !== undefined && committed !== write.value) {
      violations.push(`acknowledged write ${write.value} at ${key} offset ${write.offset} (epoch ${write.leaderEpoch}) was replaced by ${committed}`);
      continue;
    }
    const leader = servingLeader(image, replicas, write.topicId, write.partition);
    if (leader?.records === undefined || write.offset < leader.logStartOffset) continue;
    // Below `recordsFrom` the leader holds the committed record, compared just above.
    if (committed !== undefined && write.offset < (leader.recordsFrom ?? leader.logStartOffset)) continue;
    const held = leader.records.find((r) => r.offset === write.offset);
    if (held === undefined) violations.push(`acknowledged write ${write.value} at ${key} offset ${write.offset} is missing on leader ${leader.nodeId} (log end ${leader.logEndOffset}, epoch ${leader.leaderEpoch})`);
    else if (held.value !== write.value) violations.push(`acknowledged write ${write.value} at ${key} offset ${write.offset} moved: leader ${leader.nodeId} holds ${held.value} there`);
  }
  return violations;
}

/** A client's LATEST answer must not be below an earlier one within one leader epoch. */
export function checkMonotonicLatest(previous: LatestObservation | undefined, next: LatestObservation): string | undefined {
  if (previous === undefined || previous.leaderEpoch !== next.leaderEpoch || next.offset >= previous.offset) return undefined;
  return `${next.client} saw LATEST of ${partitionKey(next.topicId, next.partition)} go back from ${previous.offset} to ${next.offset} within leader epoch ${next.leaderEpoch}`;
}

/** Partitions not led or not back to their full ISR (empty: the cluster has recovered). */
export function partitionsNotRecovered(image: MetadataImage): string[] {
  const lagging: string[] = [];
  for (const topic of image.topics.values()) {
    topic.partitions.forEach((state, partition) => {
      const full = state.replicas.every((id) => state.isr.includes(id));
      if (state.leader < 0 || !full) lagging.push(`${topic.name}-${partition} (leader ${state.leader}, isr [${state.isr.join(',')}] of [${state.replicas.join(',')}])`);
    });
  }
  return lagging;
}
