/**
 * Sends the ISR changes this node's leaderships want to the controller (AlterPartition,
 * KIP-497), batched: every `isrCheckIntervalMs` the partitions this node leads are asked for a
 * proposal (a member lagging past replica.lag.time.max.ms leaves, a replica that caught up
 * joins), and those that have one go in one request. Each partition has at most one proposal
 * in flight; its answer (the partition's state after it, also on most refusals) goes back to
 * the partition, and the metadata stream brings the same change to everyone else.
 *
 * The request goes to the controller this node last heard is active, following NOT_CONTROLLER
 * redirects and moving through the configured controllers when one is unreachable. A failed
 * request leaves the proposals to be made again on the next round.
 */
import * as grpc from '@grpc/grpc-js';
import type { Scheduler } from '@starlane/log';
import { errorCodeFromProto, partitionFromProto } from '@starlane/metadata-rpc';
import { internalV1 } from '@starlane/proto';
import type { HostedPartition } from './hosted-partition';
import type { PartitionManager } from './partition-manager';

/** How often leaderships are checked for ISR changes (Kafka checks shrinking every lag/2). */
export const isrCheckIntervalMs = 250;
/** Partitions one AlterPartition request carries; more wait for the next round. */
export const alterPartitionBatchMax = 1_000;
/** How long one AlterPartition request may take. */
export const alterPartitionTimeoutMs = 5_000;

export interface IsrUpdaterLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface IsrUpdaterOptions {
  readonly manager: PartitionManager;
  readonly controllers: readonly string[];
  /** This node's registration epoch; undefined until registered. */
  readonly nodeEpoch: () => bigint | undefined;
  readonly scheduler: Scheduler;
  readonly logger: IsrUpdaterLogger;
}

export class IsrUpdater {
  private readonly clients = new Map<string, internalV1.ControllerServiceClient>();
  private target = 0;
  private redirect: string | undefined;
  private cancel: () => void = () => undefined;
  private closed = false;
  private inFlight = false;

  constructor(private readonly options: IsrUpdaterOptions) {}

  start(): void {
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.cancel();
    for (const client of this.clients.values()) client.close();
  }

  private schedule(): void {
    if (this.closed) return;
    this.cancel = this.options.scheduler.schedule(isrCheckIntervalMs, () => {
      void this.round().finally(() => this.schedule());
    });
  }

  /** One round: collect proposals, send them, hand the answers back. */
  async round(): Promise<void> {
    const nodeEpoch = this.options.nodeEpoch();
    if (this.inFlight || nodeEpoch === undefined) return;
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
    this.inFlight = true;
    try {
      const response = await this.send({ nodeId: this.options.manager.nodeId, nodeEpoch, partitions: proposals.map((proposal) => proposal.change) });
      proposals.forEach(({ hosted, change }, index) => {
        const result = response?.partitions[index];
        const state = result?.state === undefined ? undefined : partitionFromProto(result.state);
        if (result !== undefined && result.errorCode !== 0) {
          this.options.logger.info({ topic: hosted.topic, partition: hosted.partition, proposedIsr: change.newIsr.map((member) => member.nodeId), errorCode: errorCodeFromProto(result.errorCode), error: result.errorMessage }, 'the controller refused an ISR change');
        }
        hosted.isrProposalSettled(state);
      });
    } finally {
      this.inFlight = false;
    }
  }

  /** Sends to the active controller; undefined when no controller took the request. */
  private async send(request: internalV1.AlterPartitionRequest): Promise<internalV1.AlterPartitionResponse | undefined> {
    const { controllers } = this.options;
    for (let attempt = 0; attempt < controllers.length + 2; attempt += 1) {
      const address = this.redirect ?? (controllers[this.target % controllers.length] as string);
      let response: internalV1.AlterPartitionResponse;
      try {
        response = await this.call(address, request);
      } catch (error) {
        this.redirect = undefined;
        this.target += 1;
        if (attempt === controllers.length + 1) this.options.logger.warn({ controller: address, error: (error as Error).message }, 'no controller took an ISR change; retrying later');
        continue;
      }
      if (errorCodeFromProto(response.errorCode) === 'NOT_CONTROLLER') {
        const active = response.activeController;
        this.redirect = active === undefined || active.host === '' ? undefined : `${active.host}:${active.port}`;
        if (this.redirect === undefined) this.target += 1;
        continue;
      }
      if (response.errorCode !== 0) {
        this.options.logger.warn({ errorCode: errorCodeFromProto(response.errorCode), error: response.errorMessage }, 'the controller refused an ISR change request');
        return undefined;
      }
      return response;
    }
    return undefined;
  }

  private call(address: string, request: internalV1.AlterPartitionRequest): Promise<internalV1.AlterPartitionResponse> {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new internalV1.ControllerServiceClient(address, grpc.credentials.createInsecure());
      this.clients.set(address, client);
    }
    return new Promise((resolve, reject) => {
      client.alterPartition(request, new grpc.Metadata(), { deadline: Date.now() + alterPartitionTimeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }
}
