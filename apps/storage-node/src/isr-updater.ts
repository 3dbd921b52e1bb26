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
 * The request goes to the active controller through the node's session (`NodeSession`,
 * which follows redirects as for heartbeats). A failed request leaves the proposals to be made
 * again on the next round.
 */
import type { Scheduler } from '@starlane/io-ports';
import type { MetadataImage } from '@starlane/metadata';
import { errorCodeFromProto, partitionFromProto } from '@starlane/metadata-rpc';
import type { internalV1 } from '@starlane/proto';
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
   * Sends the proposals to the active controller (`NodeSession.alterPartition`); undefined when
   * the node is not registered or no controller took them.
   */
  readonly send: (partitions: readonly internalV1.PartitionIsrChange[], timeoutMs: number) => Promise<internalV1.AlterPartitionResponse | undefined>;
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
    const proposals: { hosted: HostedPartition; change: internalV1.PartitionIsrChange }[] = [];
    let visited = 0;
    for (; visited < hosted.length && proposals.length < batchMax; visited += 1) {
      const partition = hosted[(this.cursor + visited) % hosted.length] as HostedPartition;
      const proposal = partition.isrProposal(isEligible);
      if (proposal === undefined) continue;
      proposals.push({
        hosted: partition,
        change: {
          topicId: partition.topicId,
          topic: partition.topic,
          partition: partition.partition,
          leaderEpoch: proposal.leaderEpoch,
          partitionEpoch: proposal.partitionEpoch,
          newIsr: proposal.isr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: member.nodeEpoch })),
        },
      });
    }
    this.cursor = hosted.length === 0 ? 0 : (this.cursor + visited) % hosted.length;
    if (proposals.length === 0) return;
    const response = await this.options.send(
      proposals.map((proposal) => proposal.change),
      alterPartitionTimeoutMs,
    );
    if (response !== undefined && response.errorCode !== 0) {
      this.options.logger.warn({ errorCode: errorCodeFromProto(response.errorCode), error: response.errorMessage }, 'the controller refused an ISR change request');
    }
    proposals.forEach(({ hosted: partition, change }, index) => {
      const result = response?.errorCode === 0 ? response.partitions[index] : undefined;
      partition.isrProposalSettled(this.answerOf(partition, change, result));
    });
  }

  private answerOf(partition: HostedPartition, change: internalV1.PartitionIsrChange, result: internalV1.AlterPartitionResult | undefined): IsrProposalAnswer {
    if (result === undefined) return { outcome: 'unanswered' };
    const state = result.state === undefined ? undefined : partitionFromProto(result.state);
    if (result.errorCode === 0 && state !== undefined) return { outcome: 'accepted', state };
    if (result.errorCode !== 0) {
      this.options.logger.info(
        { topic: partition.topic, partition: partition.partition, proposedIsr: change.newIsr.map((member) => member.nodeId), errorCode: errorCodeFromProto(result.errorCode), error: result.errorMessage },
        'the controller refused an ISR change',
      );
    }
    return { outcome: 'refused', state };
  }
}
