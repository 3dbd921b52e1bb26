/**
 * The reassignment that changes a topic's replication factor: Kafka has no "set RF" call, so
 * the operator (as kafka-reassign-partitions.sh users do by hand) proposes new replica lists
 * and submits them as a partition reassignment. Growing adds the nodes that hold the fewest
 * replicas of the topic (spreading the new copies); shrinking drops the last replicas but never
 * the first (the preferred leader), so leadership does not move for it.
 */

/** New replica lists per partition (undefined: the partition already has `replicationFactor` replicas). */
export function planReplicationFactor(assignment: readonly (readonly number[])[], nodeIds: readonly number[], replicationFactor: number): (number[] | undefined)[] {
  const load = new Map<number, number>(nodeIds.map((id) => [id, 0]));
  for (const replicas of assignment) for (const id of replicas) load.set(id, (load.get(id) ?? 0) + 1);
  return assignment.map((replicas) => {
    if (replicas.length === replicationFactor) return undefined;
    if (replicas.length > replicationFactor) {
      const kept = replicas.slice(0, Math.max(1, replicationFactor));
      for (const id of replicas.slice(kept.length)) load.set(id, (load.get(id) ?? 1) - 1);
      return kept;
    }
    const target = [...replicas];
    while (target.length < replicationFactor) {
      const candidates = nodeIds.filter((id) => !target.includes(id)).sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a - b);
      const chosen = candidates[0];
      if (chosen === undefined) break;
      target.push(chosen);
      load.set(chosen, (load.get(chosen) ?? 0) + 1);
    }
    return target;
  });
}
