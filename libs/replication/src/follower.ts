/**
 * Log divergence between a follower and its leader, decided by leader epochs (KIP-101,
 * KIP-320), never by the follower's own high watermark: a follower that restarted may hold
 * records its old leader never committed, or miss records it had acknowledged as fetched, and
 * only the epoch history says which of its records the current leader also has.
 */

/** The end of a leader epoch in a log, as `PartitionLog.endOffsetForEpoch` answers. */
export interface EpochEnd {
  readonly epoch: number;
  readonly endOffset: bigint;
}

/** Anything that answers OffsetsForLeaderEpoch lookups for its log. */
export interface EpochHistory {
  endOffsetForEpoch(epoch: number): EpochEnd;
}

/**
 * Leader side: whether a follower fetching at `fetchOffset`, whose last batch is from
 * `lastFetchedEpoch`, has a log that leaves the leader's. It does when the leader's log has no
 * such epoch (its answer is an earlier one) or ends that epoch before `fetchOffset`. The answer
 * is what the follower needs to truncate; undefined when the follower may go on.
 */
export function divergingEpoch(leader: EpochHistory, lastFetchedEpoch: number, fetchOffset: bigint): EpochEnd | undefined {
  if (lastFetchedEpoch < 0) return undefined;
  const end = leader.endOffsetForEpoch(lastFetchedEpoch);
  if (end.epoch === lastFetchedEpoch && end.endOffset >= fetchOffset) return undefined;
  return end;
}

/** Where a follower cuts its log; `restart` empties it and starts it at the leader's log start. */
export type Truncation = { readonly kind: 'truncate'; readonly offset: bigint } | { readonly kind: 'restart' };

/**
 * Follower side: where to cut after the leader reported `diverging`. The follower keeps what
 * both logs agree on: up to the smaller of the leader's end of that epoch and its own end of
 * the same epoch (or of the latest earlier epoch it has). If the follower's answer is a
 * different epoch, the next fetch checks again from the cut, so repeated rounds converge on
 * the common prefix. When neither side can place the epoch, the follower starts over.
 */
export function truncationFor(diverging: EpochEnd, follower: EpochHistory, followerLogEnd: bigint): Truncation {
  if (diverging.epoch < 0 || diverging.endOffset < 0n) return { kind: 'restart' };
  const local = follower.endOffsetForEpoch(diverging.epoch);
  if (local.epoch < 0 || local.endOffset < 0n) return { kind: 'restart' };
  let offset = diverging.endOffset < local.endOffset ? diverging.endOffset : local.endOffset;
  if (followerLogEnd < offset) offset = followerLogEnd;
  return { kind: 'truncate', offset };
}

/** A follower's high watermark: the leader's, but never past what the follower holds. */
export function followerHighWatermark(leaderHighWatermark: bigint, followerLogEnd: bigint): bigint {
  return leaderHighWatermark < followerLogEnd ? leaderHighWatermark : followerLogEnd;
}
