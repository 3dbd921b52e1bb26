/**
 * The replication health of one storage node, summed over the partitions it hosts, as an
 * operator reads it first (Kafka's ReplicaManager gauges): how many partitions it leads, how
 * many of those are under-replicated or under min.insync.replicas, how many replicas are
 * offline, how far behind its followers are, and how big its logs are. Computed on demand (at
 * each scrape) from the partitions' current state, so nothing is updated on the hot path.
 */
import type { PartitionState } from '@starlane/metadata';
import type { PartitionStatus } from '@starlane/replica';
import type { FollowerProgress, ReplicaSettings } from '@starlane/replication';

/** What the summary reads of a hosted partition (a `HostedPartition` has all of it). */
export interface ReplicaView {
  readonly topic: string;
  readonly localNodeId: number;
  readonly status: PartitionStatus;
  /** Whether the metadata names this node leader. */
  readonly isLeader: boolean;
  readonly state: PartitionState;
  readonly replicaSettings: ReplicaSettings;
  /** The leader's view of its followers, while this node leads with the log open. */
  readonly leaderState: { follower(nodeId: number): FollowerProgress | undefined } | undefined;
  readonly onlineLog: { readonly logStartOffset: bigint; readonly logEndOffset: bigint; readonly sizeBytes: number } | undefined;
}

export interface NodeHealth {
  /** Replicas hosted, whatever their state (Kafka: PartitionCount). */
  readonly partitions: number;
  /** Partitions led here with the log open (Kafka: LeaderCount). */
  readonly leaders: number;
  /** Led partitions whose ISR is smaller than their replication factor (Kafka: UnderReplicatedPartitions). */
  readonly underReplicated: number;
  /** Led partitions whose ISR is below min.insync.replicas: acks=all writes fail (Kafka: UnderMinIsrPartitionCount). */
  readonly underMinIsr: number;
  /** Led partitions whose ISR is exactly min.insync.replicas: one more loss stops acks=all writes (Kafka: AtMinIsrPartitionCount). */
  readonly atMinIsr: number;
  /** Replicas whose log failed to open or failed at runtime (Kafka: OfflineReplicaCount). */
  readonly offline: number;
  /** Offsets the furthest-behind follower of a led partition is behind the leader's log end, as of its last fetch. */
  readonly replicaMaxLagOffsets: number;
  /** Longest time a follower of a led partition has gone without catching up with the leader (the ISR's lag check compares it with replica.lag.time.max.ms). */
  readonly replicaMaxLagMs: number;
}

export interface TopicLogTotals {
  /** Bytes of this node's replicas of the topic (Kafka: Log Size, summed). */
  sizeBytes: number;
  /** Sums over the topic's partitions led here of their log start and end offsets (Kafka: LogStartOffset, LogEndOffset, summed). */
  startOffsets: bigint;
  endOffsets: bigint;
}

/**
 * The replication factor to compare the ISR with. While a reassignment adds replicas they are
 * listed already but not yet expected in sync, so they do not count (as Kafka's
 * `OngoingReassignmentState.replicationFactor`).
 */
export function replicationFactor(state: PartitionState): number {
  return state.replicas.filter((id) => !state.addingReplicas.includes(id)).length;
}

export function nodeHealth(replicas: Iterable<ReplicaView>, nowMs: number): { health: NodeHealth; topics: Map<string, TopicLogTotals> } {
  let partitions = 0;
  let leaders = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  let atMinIsr = 0;
  let offline = 0;
  let replicaMaxLagOffsets = 0n;
  let replicaMaxLagMs = 0;
  const topics = new Map<string, TopicLogTotals>();
  for (const replica of replicas) {
    if (replica.status === 'removed') continue;
    partitions += 1;
    if (replica.status === 'offline') offline += 1;
    const log = replica.onlineLog;
    if (log === undefined || replica.status !== 'online') continue;
    let totals = topics.get(replica.topic);
    if (totals === undefined) {
      totals = { sizeBytes: 0, startOffsets: 0n, endOffsets: 0n };
      topics.set(replica.topic, totals);
    }
    totals.sizeBytes += log.sizeBytes;
    if (!replica.isLeader) continue;
    leaders += 1;
    totals.startOffsets += log.logStartOffset;
    totals.endOffsets += log.logEndOffset;
    const { state } = replica;
    const minIsr = replica.replicaSettings.minInsyncReplicas;
    if (state.isr.length < replicationFactor(state)) underReplicated += 1;
    if (state.isr.length < minIsr) underMinIsr += 1;
    else if (state.isr.length === minIsr) atMinIsr += 1;
    const leading = replica.leaderState;
    if (leading === undefined) continue;
    for (const nodeId of state.replicas) {
      if (nodeId === replica.localNodeId) continue;
      const progress = leading.follower(nodeId);
      if (progress === undefined) continue;
      replicaMaxLagMs = Math.max(replicaMaxLagMs, nowMs - progress.lastCaughtUpMs);
      // Before its first fetch in this leadership the follower's position is unknown.
      if (progress.logEndOffset >= 0n && log.logEndOffset - progress.logEndOffset > replicaMaxLagOffsets) replicaMaxLagOffsets = log.logEndOffset - progress.logEndOffset;
    }
  }
  return {
    health: { partitions, leaders, underReplicated, underMinIsr, atMinIsr, offline, replicaMaxLagOffsets: Number(replicaMaxLagOffsets), replicaMaxLagMs },
    topics,
  };
}
