/**
 * AdminService on the gateway. Metadata reads (ListTopics, DescribeTopics) are answered from
 * the gateway's own metadata image, as a Kafka broker answers them from its metadata cache, so
 * producers and consumers that look a topic up keep working while no controller is reachable.
 * Metadata changes go to the active controller; after a successful CreateTopics,
 * CreatePartitions, DeleteTopics or AlterTopicConfigs the gateway waits (within the request's
 * timeout) until its own metadata shows the change, so a produce or a describe sent right after
 * the answer sees it. ListOffsets is answered from the leaders.
 */
import { noLeader, type MetadataImage } from '@starlane/metadata';
import { describeTopicsResponse, listTopicsResponse } from '@starlane/metadata-rpc';
import { StarlaneError } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { adminCallTimeoutMsDefault, adminMetadataWaitMsDefault } from '../limits';
import { lookUpOffsets, type OffsetLookupDeps } from '../consume/list-offsets';
import { noMetadataError, type MetadataSource } from '../routing';
import type { ControllerClient } from '../controller/controller-client';
import type { TopicAutoCreator } from '../produce/produce-handler';

/** How much longer than the request's own timeout a forwarded call may take (the controller's answer must travel back). */
const forwardSlackMs = 5000;

export interface AdminForwarderOptions {
  readonly controller: Pick<ControllerClient, 'admin' | 'watchReassignments' | 'metadataVersion'>;
  readonly metadata: MetadataSource;
  readonly offsets: OffsetLookupDeps;
  readonly now: () => number;
}

export class AdminForwarder {
  constructor(private readonly options: AdminForwarderOptions) {}

  async createTopics(request: v1.CreateTopicsRequest): Promise<v1.CreateTopicsResponse> {
    const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : 0;
    const response = await this.forward<v1.CreateTopicsResponse>('createTopics', request, timeoutMs);
    if (request.validateOnly) return response;
    const created = response.results.filter((result) => result.errorCode === v1.ErrorCode.NONE);
    // With a timeout the controller waited for leaders; the gateway waits to see them too.
    const wantLeaders = timeoutMs > 0;
    await this.waitForMetadata(
      (image) =>
        created.every((result) => {
          const topic = image.topics.get(result.name);
          if (topic === undefined || (result.topicId !== '' && topic.topicId !== result.topicId)) return false;
          if (result.partitionCount > 0 && topic.partitions.length < result.partitionCount) return false;
          return !wantLeaders || topic.partitions.every((partition) => partition.leader !== noLeader);
        }),
      timeoutMs,
    );
    return response;
  }

  async deleteTopics(request: v1.DeleteTopicsRequest): Promise<v1.DeleteTopicsResponse> {
    const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : 0;
    const response = await this.forward<v1.DeleteTopicsResponse>('deleteTopics', request, timeoutMs);
    const deleted = response.results.filter((result) => result.errorCode === v1.ErrorCode.NONE);
    await this.waitForMetadata(
      (image) =>
        deleted.every((result) => {
          if (result.topicId !== '') return !image.topicNamesById.has(result.topicId);
          return !image.topics.has(result.name);
        }),
      timeoutMs,
    );
    return response;
  }

  async createPartitions(request: v1.CreatePartitionsRequest): Promise<v1.CreatePartitionsResponse> {
    const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : 0;
    const response = await this.forward<v1.CreatePartitionsResponse>('createPartitions', request, timeoutMs);
    if (request.validateOnly) return response;
    const wanted = new Map(request.topics.map((topic) => [topic.topic, topic.totalCount]));
    const grown = response.results.filter((result) => result.errorCode === v1.ErrorCode.NONE);
    await this.waitForMetadata(
      (image) =>
        grown.every((result) => {
          const topic = image.topics.get(result.topic);
          return topic !== undefined && topic.partitions.length >= (wanted.get(result.topic) ?? 0);
        }),
      timeoutMs,
    );
    return response;
  }

  /** From the gateway's image; without one yet, LEADER_NOT_AVAILABLE (retriable) rather than an empty list. */
  async listTopics(request: v1.ListTopicsRequest): Promise<v1.ListTopicsResponse> {
    return listTopicsResponse(this.image(), request);
  }

  /** From the gateway's image, like ListTopics. */
  async describeTopics(request: v1.DescribeTopicsRequest): Promise<v1.DescribeTopicsResponse> {
    return describeTopicsResponse(this.image(), request);
  }

  /**
   * Forwarded; once some topic's configs changed, the gateway waits until its image is at least
   * as new as the controller's was after the change (asked with DescribeCluster), so a
   * DescribeTopics through this gateway right after the answer shows the new values.
   */
  async alterTopicConfigs(request: v1.AlterTopicConfigsRequest): Promise<v1.AlterTopicConfigsResponse> {
    const response = await this.forward<v1.AlterTopicConfigsResponse>('alterTopicConfigs', request, 0);
    if (request.validateOnly || !response.results.some((result) => result.errorCode === v1.ErrorCode.NONE)) return response;
    // The answer stands even if the version cannot be learnt: the change is made.
    const version = await this.options.controller.metadataVersion(this.options.now() + adminMetadataWaitMsDefault).catch(() => undefined);
    if (version !== undefined) await this.waitForMetadata((image) => image.version >= version, 0);
    return response;
  }

  /**
   * Forwarded: it says which controller is active (and CONTROLLER_NOT_AVAILABLE when none can
   * be reached), which the gateway's image, last updated by a controller that may be gone,
   * cannot vouch for.
   */
  describeCluster(request: v1.DescribeClusterRequest): Promise<v1.DescribeClusterResponse> {
    return this.forward('describeCluster', request, 0);
  }

  /** Reassignments run in the background: the answer means recorded, not done (ListReassignments follows them). */
  reassignPartitions(request: v1.ReassignPartitionsRequest): Promise<v1.ReassignPartitionsResponse> {
    return this.forward('reassignPartitions', request, request.timeoutMs > 0 ? request.timeoutMs : 0);
  }

  listReassignments(request: v1.ListReassignmentsRequest): Promise<v1.ListReassignmentsResponse> {
    return this.forward('listReassignments', request, 0);
  }

  /** Relays the active controller's WatchReassignments stream (see ControllerClient.watchReassignments). */
  watchReassignments(request: v1.WatchReassignmentsRequest, relay: (response: v1.WatchReassignmentsResponse) => void, onCancel: (cancel: () => void) => void): Promise<void> {
    return this.options.controller.watchReassignments(request, relay, onCancel, this.options.now() + adminCallTimeoutMsDefault);
  }

  async listOffsets(request: v1.ListOffsetsRequest): Promise<v1.ListOffsetsResponse> {
    if (![v1.IsolationLevel.UNSPECIFIED, v1.IsolationLevel.READ_UNCOMMITTED, v1.IsolationLevel.READ_COMMITTED].includes(request.isolationLevel)) {
      throw new StarlaneError('INVALID_REQUEST', `isolation level ${request.isolationLevel} is not READ_UNCOMMITTED or READ_COMMITTED`);
    }
    const isolationLevel = request.isolationLevel === v1.IsolationLevel.UNSPECIFIED ? v1.IsolationLevel.READ_UNCOMMITTED : request.isolationLevel;
    const deadlineMs = this.options.now() + adminMetadataWaitMsDefault;
    const partitions = await lookUpOffsets(this.options.offsets, isolationLevel, request.partitions, deadlineMs);
    return { partitions };
  }

  private forward<Res>(method: Parameters<ControllerClient['admin']>[0], request: unknown, timeoutMs: number): Promise<Res> {
    const deadlineMs = this.options.now() + (timeoutMs > 0 ? timeoutMs + forwardSlackMs : adminCallTimeoutMsDefault);
    return this.options.controller.admin<Res>(method, request, deadlineMs);
  }

  /** The image metadata reads are answered from; refused while the gateway has none yet. */
  private image(): MetadataImage {
    if (!this.options.metadata.ready) throw noMetadataError(this.options.metadata);
    return this.options.metadata.current();
  }

  private async waitForMetadata(predicate: (image: MetadataImage) => boolean, timeoutMs: number): Promise<void> {
    // The answer stands either way: the controller did it; waiting only makes the next call routable here.
    await this.options.metadata.waitFor(predicate, timeoutMs > 0 ? timeoutMs : adminMetadataWaitMsDefault);
  }
}

/**
 * Topic auto-creation on produce (`--auto-create-topics`): one CreateTopics per missing topic
 * with the default partition count and replication factor, shared by concurrent producers of
 * the same topic; TOPIC_ALREADY_EXISTS counts as success.
 */
export class TopicAutoCreatorImpl implements TopicAutoCreator {
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly admin: AdminForwarder,
    private readonly metadata: MetadataSource,
    private readonly defaults: { readonly partitions: number; readonly replicationFactor: number },
    private readonly now: () => number,
  ) {}

  async ensure(topics: readonly string[], deadlineMs: number): Promise<void> {
    await Promise.all(topics.map((topic) => this.ensureOne(topic, deadlineMs)));
  }

  private ensureOne(topic: string, deadlineMs: number): Promise<void> {
    let creation = this.inflight.get(topic);
    if (creation === undefined) {
      creation = this.create(topic, deadlineMs).finally(() => this.inflight.delete(topic));
      this.inflight.set(topic, creation);
    }
    return creation;
  }

  private async create(topic: string, deadlineMs: number): Promise<void> {
    const timeoutMs = Math.max(1, deadlineMs - this.now());
    const response = await this.admin.createTopics({
      topics: [{ name: topic, partitionCount: this.defaults.partitions, replicationFactor: this.defaults.replicationFactor, replicaAssignments: [], configs: {} }],
      validateOnly: false,
      timeoutMs,
    });
    const result = response.results[0];
    if (result !== undefined && result.errorCode === v1.ErrorCode.TOPIC_ALREADY_EXISTS) {
      await this.metadata.waitFor((image) => image.topics.has(topic), timeoutMs);
    }
  }
}
