/**
 * Sends the ISR changes this node's leaderships want to the controller (AlterPartition,
 * KIP-497), batched: every `isrCheckIntervalMs` the partitions this node leads are asked for a
 * proposal (a member lagging past replica.lag.time.max.ms leaves, a replica that caught up
 * joins), and those that have one go in one request. Each partition has at most one proposal
 * in flight; its answer (the partition's state after it, also on most refusals) goes back to
 * the partition, and the metadata stream brings the same change to everyone else.
 *
 * The request goes to the active controller through the node's session (`NodeSession`,
 * which follows redirects as for heartbeats). A failed request leaves the proposals to be made
 * again on the next round.
 */
import type { Scheduler } from '@starlane/log';
import { errorCodeFromProto, partitionFromProto } from '@starlane/metadata-rpc';
import type { internalV1 } from '@starlane/proto';
import type { HostedPartition } from './hosted-partition';
import type { PartitionManager } from './partition-manager';

/** How often leaderships are checked for ISR changes (Kafka checks shrinking every lag/2). */
export const isrCheckIntervalMs = 250;
/** Partitions one AlterPartition request carries; more wait for the next round. */
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
}

export class IsrUpdater {
  private cancel: () => void = () => undefined;
  private closed = false;

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
  private async round(): Promise<void> {
    const proposals: { hosted: HostedPartition; change: internalV1.PartitionIsrChange }[] = [];
    for (const hosted of this.options.manager.partitions()) {
      if (proposals.length >= alterPartitionBatchMax) break;
      const proposal = hosted.isrProposal();
      if (proposal === undefined) continue;
      proposals.push({
        hosted,
        change: {
          topicId: hosted.topicId,
          topic: hosted.topic,
          partition: hosted.partition,
          leaderEpoch: proposal.leaderEpoch,
          partitionEpoch: proposal.partitionEpoch,
          newIsr: proposal.isr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: member.nodeEpoch })),
        },
      });
    }
    if (proposals.length === 0) return;
    const response = await this.options.send(
      proposals.map((proposal) => proposal.change),
      alterPartitionTimeoutMs,
    );
    if (response !== undefined && response.errorCode !== 0) {
      this.options.logger.warn({ errorCode: errorCodeFromProto(response.errorCode), error: response.errorMessage }, 'the controller refused an ISR change request');
    }
    proposals.forEach(({ hosted, change }, index) => {
      const result = response?.errorCode === 0 ? response.partitions[index] : undefined;
      const state = result?.state === undefined ? undefined : partitionFromProto(result.state);
      if (result !== undefined && result.errorCode !== 0) {
        this.options.logger.info({ topic: hosted.topic, partition: hosted.partition, proposedIsr: change.newIsr.map((member) => member.nodeId), errorCode: errorCodeFromProto(result.errorCode), error: result.errorMessage }, 'the controller refused an ISR change');
      }
      hosted.isrProposalSettled(state);
    });
  }
}
