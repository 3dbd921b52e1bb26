/**
 * What changed for partitions between two metadata images, as the health metrics count it:
 * ISR shrinks and expands (Kafka's IsrShrinksPerSec, IsrExpandsPerSec) and leader elections
 * by kind (Kafka's LeaderElectionRateAndTimeMs, UncleanLeaderElectionsPerSec, and preferred
 * replica elections). Pure: the metrics wiring keeps the previous image and asks.
 */
import { noLeader, type MetadataImage, type PartitionState, type TopicState } from './image';

export interface PartitionTransition {
  readonly topic: TopicState;
  readonly before: PartitionState;
  readonly after: PartitionState;
}

/**
 * Partitions whose state differs between `before` and `after`, in topics present in both with
 * the same topic id (a created, deleted or recreated topic has no transition). Images share
 * unchanged topics and partitions, so only what changed is visited.
 */
export function* changedPartitions(before: MetadataImage, after: MetadataImage): Generator<PartitionTransition> {
  if (before === after) return;
  for (const [name, topic] of after.topics) {
    const previous = before.topics.get(name);
    if (previous === undefined || previous === topic || previous.topicId !== topic.topicId) continue;
    if (previous.partitions === topic.partitions) continue;
    for (const state of topic.partitions) {
      const old = previous.partitions[state.partition];
      if (old !== undefined && old !== state) yield { topic, before: old, after: state };
    }
  }
}

/** Whether an ISR lost members (shrank) or gained members (expanded) in one change; both can happen at once. */
export function isrChange(before: PartitionState, after: PartitionState): { readonly shrank: boolean; readonly expanded: boolean } {
  return {
    shrank: before.isr.some((id) => !after.isr.includes(id)),
    expanded: after.isr.some((id) => !before.isr.includes(id)),
  };
}

/**
 * - `unclean`: the new leader was neither in the ISR nor an eligible leader replica
 *   (unclean.leader.election.enable);
 * - `preferred`: leadership moved to the preferred replica (the first listed) while the old
 *   leader stayed in sync: a move by choice (leader balancing), not after a failure;
 * - `clean`: any other new leader from the ISR or the ELR (failover, controlled shutdown, a leader
 *   leaving by reassignment, a leaderless partition getting its leader back).
 */
export type ElectionKind = 'clean' | 'unclean' | 'preferred';

export const electionKinds: readonly ElectionKind[] = ['clean', 'unclean', 'preferred'];

/** The kind of election that took `before` to `after`, or undefined if no leader was elected. */
export function electionKind(before: PartitionState, after: PartitionState): ElectionKind | undefined {
  if (after.leader === noLeader || after.leaderEpoch === before.leaderEpoch) return undefined;
  if (!before.isr.includes(after.leader) && !before.elr.includes(after.leader)) return 'unclean';
  if (before.leader !== noLeader && after.leader === after.replicas[0] && after.isr.includes(before.leader)) return 'preferred';
  return 'clean';
}
