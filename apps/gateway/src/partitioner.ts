/**
 * Partition choice for `partition = -1`. Keyed records: Kafka's default partitioner
 * (`partitionForKey` from @starlane/partitioner), over all partitions, so a key never moves
 * because a leader is briefly missing. Null keys: round-robin per topic over the partitions
 * that have a leader, or over all of them when none has (below).
 */

/** Topics whose round-robin position is remembered; beyond it the oldest is forgotten (it restarts at 0). */
export const roundRobinTopicsMax = 100_000;

/**
 * Round-robin for null keys, one counter per topic. Kafka's newer clients stick to one
 * partition per batch instead (KIP-480); a gateway sees one entry per call and no client batch
 * to stick to, so it spreads entries evenly instead.
 */
export class RoundRobinPartitioner {
  private readonly counters = new Map<string, number>();

  /**
   * The next partition of `topic`: among `available` (partitions with a leader) when any, else
   * among all `partitionCount`.
   */
  next(topic: string, partitionCount: number, available: readonly number[]): number {
    const counter = this.counters.get(topic) ?? 0;
    if (!this.counters.has(topic) && this.counters.size >= roundRobinTopicsMax) {
      const oldest = this.counters.keys().next().value;
      if (oldest !== undefined) this.counters.delete(oldest);
    }
    this.counters.set(topic, (counter + 1) & 0x7fffffff);
    if (available.length > 0) return available[counter % available.length]!;
    return counter % partitionCount;
  }
}
