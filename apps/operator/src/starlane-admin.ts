/**
 * The operator's side of Starlane's public gRPC AdminService: what a Topic's cluster looks like
 * (`observe`), and each reconciler action as admin calls (`perform`). Translation only: the
 * decisions are libs/reconcile's. A failed call is reported as an `AdminFailure` with the
 * catalogue code the cluster answered (per item, or in the `starlane-error-code` trailer), or
 * with no code when no answer came (a transport failure, a deadline).
 */
import * as grpc from '@grpc/grpc-js';
import { errorCatalogue, errorCodeFromWire, isErrorCode, transportDetail, type ErrorCode } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { planReplicationFactor, type ObservedTopic, type TopicAction } from '@starlane/reconcile';
import { errorCodeMetadataKey } from '@starlane/service-host';

export class AdminFailure extends Error {
  constructor(
    readonly code: ErrorCode | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** What the cluster answered about one topic name. */
export interface ClusterView {
  readonly nodeIds: readonly number[];
  readonly topic?: ObservedTopic;
  /** Replicas of each partition, for planning a replication-factor change. */
  readonly assignment?: readonly (readonly number[])[];
}

type Unary<Req, Res> = (request: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (error: grpc.ServiceError | null, response: Res) => void) => grpc.ClientUnaryCall;

/** Idle clients are closed after this long: a Cluster whose address changed must not keep a channel forever. */
export const adminClientIdleMs = 10 * 60_000;

export class StarlaneAdmin {
  private readonly clients = new Map<string, { client: v1.AdminServiceClient; usedAtMs: number }>();

  constructor(
    private readonly callTimeoutMs: number,
    private readonly nowMs: () => number,
  ) {}

  /** Describes the cluster and the topic `topicName` at `address` (no topic: it does not exist). */
  async observe(address: string, topicName: string): Promise<ClusterView> {
    const client = this.client(address);
    const cluster = await this.call(client, client.describeCluster, {});
    const nodeIds = cluster.nodes.map((node) => node.nodeId);
    const described = await this.call(client, client.describeTopics, { topics: [topicName], topicIds: [], includeConfigs: true });
    const description = described.topics[0];
    if (description === undefined) throw new AdminFailure(undefined, `DescribeTopics answered no entry for ${JSON.stringify(topicName)}`);
    const code = errorCodeFromWire(description.errorCode);
    if (code === 'UNKNOWN_TOPIC_OR_PARTITION') return { nodeIds };
    // A name the cluster refuses to describe (an invalid one) names no topic; the spec checks say why.
    if (code !== undefined && !errorCatalogue[code].retriable) return { nodeIds };
    if (code !== undefined) throw new AdminFailure(code, description.errorMessage || code);
    return { nodeIds, topic: observedTopic(description), assignment: description.partitions.map((partition) => partition.replicas) };
  }

  /** Runs one admin action of the reconciler; throws AdminFailure when it fails. */
  async perform(address: string, action: TopicAction, view: ClusterView | undefined): Promise<void> {
    const client = this.client(address);
    switch (action.type) {
      case 'createTopic': {
        const response = await this.call(client, client.createTopics, {
          topics: [{ name: action.topicName, partitionCount: action.partitions, replicationFactor: action.replicationFactor ?? -1, replicaAssignments: [], configs: { ...action.configs } }],
          validateOnly: false,
          timeoutMs: 0,
        });
        itemResult(response.results[0], 'CreateTopics');
        return;
      }
      case 'alterConfigs': {
        const changes = [
          ...Object.entries(action.set).map(([name, value]) => ({ name, operation: v1.ConfigOperation.SET, value })),
          ...action.reset.map((name) => ({ name, operation: v1.ConfigOperation.DELETE, value: '' })),
        ];
        const response = await this.call(client, client.alterTopicConfigs, { topics: [{ topic: action.topicName, changes }], validateOnly: false });
        itemResult(response.results[0], 'AlterTopicConfigs');
        return;
      }
      case 'createPartitions': {
        const response = await this.call(client, client.createPartitions, { topics: [{ topic: action.topicName, totalCount: action.totalCount, replicaAssignments: [] }], validateOnly: false, timeoutMs: 0 });
        try {
          itemResult(response.results[0], 'CreatePartitions');
        } catch (error) {
          // Kafka answers INVALID_PARTITIONS when the topic already has that many: our observation (a gateway's
          // metadata image) was older than the controller's. Done, if the controller's count says so.
          if (!(error instanceof AdminFailure) || error.code !== 'INVALID_PARTITIONS' || (await this.partitionCount(client, action.topicName)) < action.totalCount) throw error;
        }
        return;
      }
      case 'reassignReplicationFactor': {
        const assignment = view?.assignment;
        if (view === undefined || assignment === undefined) throw new AdminFailure(undefined, 'no current assignment to plan the replication factor change from');
        const targets = planReplicationFactor(assignment, view.nodeIds, action.replicationFactor);
        const partitions = targets.flatMap((targetReplicas, partition) => (targetReplicas === undefined ? [] : [{ topic: action.topicName, partition, targetReplicas, cancel: false }]));
        if (partitions.length === 0) return;
        const response = await this.call(client, client.reassignPartitions, { partitions, validateOnly: false, timeoutMs: 0 });
        for (const result of response.results) itemResult(result, 'ReassignPartitions');
        return;
      }
      case 'deleteTopic': {
        // By id, so a topic of the same name created since is never the one deleted.
        const response = await this.call(client, client.deleteTopics, { topics: [], topicIds: [action.topicId], timeoutMs: 0 });
        itemResult(response.results[0], 'DeleteTopics');
        return;
      }
      case 'addFinalizer':
      case 'removeFinalizer':
      case 'event':
        throw new TypeError(`${action.type} is not an admin action`);
    }
  }

  private async partitionCount(client: v1.AdminServiceClient, topicName: string): Promise<number> {
    const described = await this.call(client, client.describeTopics, { topics: [topicName], topicIds: [], includeConfigs: false });
    return described.topics[0]?.partitions.length ?? 0;
  }

  /** Closes clients idle for adminClientIdleMs. */
  sweep(): void {
    for (const [address, entry] of this.clients) {
      if (this.nowMs() - entry.usedAtMs > adminClientIdleMs) {
        entry.client.close();
        this.clients.delete(address);
      }
    }
  }

  close(): void {
    for (const entry of this.clients.values()) entry.client.close();
    this.clients.clear();
  }

  private client(address: string): v1.AdminServiceClient {
    let entry = this.clients.get(address);
    if (entry === undefined) {
      // Fail fast with UNAVAILABLE rather than wait out the deadline for a cluster that is not there.
      const client = new v1.AdminServiceClient(address, grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 5_000 });
      entry = { client, usedAtMs: this.nowMs() };
      this.clients.set(address, entry);
    }
    entry.usedAtMs = this.nowMs();
    return entry.client;
  }

  private call<Req, Res>(client: grpc.Client, method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      // grpc-js measures deadlines against wall-clock time.
      method.call(client, request, new grpc.Metadata(), { deadline: Date.now() + this.callTimeoutMs }, (error, response) => {
        if (error === null) resolve(response);
        else reject(failureOf(error));
      });
    });
  }
}

function failureOf(error: grpc.ServiceError): AdminFailure {
  const trailer = error.metadata?.get(errorCodeMetadataKey)[0];
  const code = typeof trailer === 'string' && isErrorCode(trailer) ? trailer : undefined;
  return new AdminFailure(code, code === undefined ? `${grpc.status[error.code] ?? error.code}: ${transportDetail(error.details)}` : error.details);
}

function itemResult(result: { errorCode: v1.ErrorCode; errorMessage: string } | undefined, call: string): void {
  if (result === undefined) throw new AdminFailure(undefined, `${call} answered no result`);
  const code = errorCodeFromWire(result.errorCode);
  // REQUEST_TIMED_OUT on create: recorded, leaders not yet elected; the next pass sees the topic.
  if (code === undefined || code === 'REQUEST_TIMED_OUT') return;
  throw new AdminFailure(code, result.errorMessage || code);
}

function observedTopic(description: v1.TopicDescription): ObservedTopic {
  const configs: Record<string, string> = {};
  for (const [name, value] of Object.entries(description.configs)) if (value.source === v1.ConfigSource.TOPIC) configs[name] = value.value;
  const reassigning = description.partitions.some((partition) => partition.addingReplicas.length > 0 || partition.removingReplicas.length > 0);
  // While a reassignment runs, replicas hold old and new ones: count the ones that stay.
  const counts = description.partitions.map((partition) => partition.replicas.length - partition.addingReplicas.length);
  const replicationFactor = counts.length === 0 ? 0 : Math.min(...counts);
  return { name: description.name, topicId: description.topicId, partitions: description.partitions.length, replicationFactor, configs, reassigning };
}
