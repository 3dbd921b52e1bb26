/**
 * Sends the ISR changes this node's leaderships want to the controller (AlterPartition,
 * KIP-497), batched: every `isrCheckIntervalMs` the partitions this node leads are asked for a
 * proposal, and those that have one go in one request. Each partition has at most one proposal
 * in flight; its answer (the partition's state after it, also on most refusals) goes back to
 * the partition, and the metadata stream brings the same change to everyone else.
 *
 * As in Kafka, a proposal either shrinks or expands the ISR, never both (`LeaderReplicaState`),
 * and only replicas the node's metadata shows eligible are proposed to join (not fenced, not
 * shutting down, no failed log directory, fetching in their current node epoch: KIP-841,
 * KIP-903). A refused proposal backs off on its own partition; and partitions are visited from
 * where the previous round stopped, so when more than `alterPartitionBatchMax` have proposals,
 * every one gets its turn instead of the first ones in every round.
 *
 * The request goes to the active controller through an injected `alterPartition` (in the
 * storage node the node's session, which follows redirects as for heartbeats). A failed
 * request leaves the proposals to be made again on the next round.
 */
import type { Scheduler } from '@starlane/io-ports';
import type { AlterPartitionResult, IsrChangeInput, MetadataImage } from '@starlane/metadata';
import { isrEligible, type IsrEligibility } from '@starlane/replication';
import type { HostedPartition, IsrProposalAnswer } from './hosted-partition';
import type { PartitionManager } from './partition-manager';

/** How often leaderships are checked for ISR changes (Kafka checks shrinking every lag/2). */
export const isrCheckIntervalMs = 250;
/** Partitions one AlterPartition request carries; more wait for a later round. */
export const alterPartitionBatchMax = 1_000;
/** How long one round's AlterPartition may take, redirects included. */
export const alterPartitionTimeoutMs = 5_000;

export interface IsrUpdaterLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface IsrUpdaterOptions {
  readonly manager: PartitionManager;
  /**
   * Sends the proposals to the active controller and resolves with one result per change, in
   * order; undefined when the node is not registered, no controller took them, or the request
   * as a whole was refused (the caller says why).
   */
  readonly alterPartition: (changes: readonly IsrChangeInput[], timeoutMs: number) => Promise<readonly AlterPartitionResult[] | undefined>;
  readonly scheduler: Scheduler;
  readonly logger: IsrUpdaterLogger;
  /** Partitions per request; `alterPartitionBatchMax` unless a test wants a small batch. */
  readonly batchMax?: number;
}

/** Eligibility to join an ISR as `image` shows the replica's node (`isrEligible`). */
export function eligibilityIn(image: MetadataImage | undefined): IsrEligibility {
  return (nodeId, fetchedNodeEpoch) => isrEligible(image?.nodes.get(nodeId), fetchedNodeEpoch);
}

export class IsrUpdater {
  private cancel: () => void = () => undefined;
  private closed = false;
  /** Where the next round starts visiting partitions: after the last one the previous round visited. */
  private cursor = 0;

  constructor(private readonly options: IsrUpdaterOptions) {}

  start(): void {
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.cancel();
  }

  private schedule(): void {
    if (this.closed) return;
    this.cancel = this.options.scheduler.schedule(isrCheckIntervalMs, () => {
      void this.round().finally(() => this.schedule());
    });
  }

  /** One round: collect proposals, send them, hand the answers back. The next is scheduled once it settles. */
  async round(): Promise<void> {
    const batchMax = this.options.batchMax ?? alterPartitionBatchMax;
    const isEligible = eligibilityIn(this.options.manager.metadata);
    // The manager lists partitions in a stable order (when they were first hosted), so a
    // cursor into it moves every partition to the front in turn.
    const hosted = this.options.manager.partitions();
    const proposals: { hosted: HostedPartition; change: IsrChangeInput }[] = [];
    let visited = 0;
    for (; visited < hosted.length && proposals.length < batchMax; visited += 1) {
      const partition = hosted[(this.cursor + visited) % hosted.length] as HostedPartition;
      const proposal = partition.isrProposal(isEligible);
      if (proposal === undefined) continue;
      proposals.push({
        hosted: partition,
        change: {
          topicId: partition.topicId,
          partition: partition.partition,
          leaderEpoch: proposal.leaderEpoch,
          partitionEpoch: proposal.partitionEpoch,
          newIsr: proposal.isr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: Number(member.nodeEpoch) })),
        },
      });
    }
    this.cursor = hosted.length === 0 ? 0 : (this.cursor + visited) % hosted.length;
    if (proposals.length === 0) return;
    const results = await this.options.alterPartition(
      proposals.map((proposal) => proposal.change),
      alterPartitionTimeoutMs,
    );
    proposals.forEach(({ hosted: partition, change }, index) => {
      partition.isrProposalSettled(this.answerOf(partition, change, results?.[index]));
    });
  }

  private answerOf(partition: HostedPartition, change: IsrChangeInput, result: AlterPartitionResult | undefined): IsrProposalAnswer {
    if (result === undefined) return { outcome: 'unanswered' };
    const state = result.state;
    if (result.error === undefined && state !== undefined) return { outcome: 'accepted', state };
    if (result.error !== undefined) {
      this.options.logger.info(
        { topic: partition.topic, partition: partition.partition, proposedIsr: change.newIsr.map((member) => member.nodeId), errorCode: result.error.code, error: result.error.message },
        'the controller refused an ISR change',
      );
    }
    return { outcome: 'refused', state };
  }
}
