/**
 * The metadata RPCs of starlane.v1.AdminService over the metadata controller: wire messages to
 * domain inputs and results back. Per-item failures travel in each result's error_code; a
 * malformed request as a whole fails with INVALID_ARGUMENT (code INVALID_REQUEST).
 */
import type * as grpc from '@grpc/grpc-js';
import { StarlaneError, assert } from '@starlane/model';
import { nodesById, type ConfigChangeInput, type ItemError, type MetadataController, type TopicResult } from '@starlane/metadata';
import { adminRequestItemsMax, checkAdminItemCount, describeTopicsResponse, itemErrorFields, listTopicsResponse, nodeToProto } from '@starlane/metadata-rpc';
import { v1 } from '@starlane/proto';
import { toGrpcError, type Logger } from '@starlane/service-host';
import { describeFailure, type MetadataStreams } from './controller-service';
import { followReassignments, reassignmentStatusToProto } from './reassignment-watch';

export { adminRequestItemsMax };

const errorFields = itemErrorFields;
const checkItemCount = checkAdminItemCount;

/** Answers a unary call from a promise: StarlaneErrors become statuses with their code. */
function answer<T>(callback: grpc.sendUnaryData<T>, logger: Logger, rpc: string, work: () => Promise<T> | T): void {
  Promise.resolve()
    .then(work)
    .then(
      (response) => callback(null, response),
      (error: unknown) => {
        const { code, message } = describeFailure(error, logger, rpc);
        callback(toGrpcError(new StarlaneError(code, message)), null);
      },
    );
}

/** A controller process as DescribeCluster lists it. */
export interface ControllerView {
  readonly controllerId: number;
  readonly host: string;
  readonly port: number;
  readonly active: boolean;
}

/** Every controller of the cluster, this (active) one included. */
export type ControllerLister = () => Promise<readonly ControllerView[]>;

/**
 * `streams` ends WatchReassignments streams when the controller stops being active;
 * `listControllers` gives DescribeCluster the controllers to list.
 */
export function adminService(controller: MetadataController, controllerId: number, logger: Logger, streams: MetadataStreams, listControllers: ControllerLister): Partial<v1.AdminServiceServer> {
  return {
    createTopics(call, callback) {
      answer(callback, logger, 'CreateTopics', async () => {
        const request = call.request;
        checkItemCount(request.topics.length, 'topics');
        const results = await controller.createTopics({
          validateOnly: request.validateOnly,
          topics: request.topics.map((topic) => ({
            name: topic.name,
            partitionCount: topic.partitionCount,
            replicationFactor: topic.replicationFactor,
            replicaAssignments: topic.replicaAssignments.map(({ partition, replicas }) => ({ partition, replicas })),
            configs: topic.configs,
          })),
        });
        for (const result of results) {
          if (result.error === undefined && !request.validateOnly) {
            logger.info({ event: 'topic-created', topic: result.name, topicId: result.topicId, partitions: result.partitionCount, replicationFactor: result.replicationFactor }, `created topic ${result.name}`);
          }
        }
        return {
          results: results.map((result) => ({
            name: result.name,
            topicId: result.topicId,
            partitionCount: result.partitionCount,
            replicationFactor: result.replicationFactor,
            ...errorFields(result.error),
          })),
        };
      });
    },

    deleteTopics(call, callback) {
      answer(callback, logger, 'DeleteTopics', async () => {
        const request = call.request;
        checkItemCount(request.topics.length + request.topicIds.length, 'topics');
        const results = await controller.deleteTopics({ names: request.topics, topicIds: request.topicIds });
        for (const result of results) {
          if (result.error === undefined) logger.info({ event: 'topic-deleted', topic: result.name, topicId: result.topicId }, `deleted topic ${result.name}`);
        }
        return { results: results.map((result) => ({ name: result.name, topicId: result.topicId, ...errorFields(result.error) })) };
      });
    },

    listTopics(call, callback) {
      answer(callback, logger, 'ListTopics', () => listTopicsResponse(controller.image(), call.request));
    },

    describeTopics(call, callback) {
      answer(callback, logger, 'DescribeTopics', () => describeTopicsResponse(controller.image(), call.request));
    },

    alterTopicConfigs(call, callback) {
      answer(callback, logger, 'AlterTopicConfigs', async () => {
        const request = call.request;
        checkItemCount(request.topics.length, 'topics');
        // A change without an operation fails its own topic, not the request.
        const malformed = new Map<number, ItemError>();
        const valid: { topic: string; changes: ConfigChangeInput[] }[] = [];
        request.topics.forEach((topic, index) => {
          const changes: ConfigChangeInput[] = [];
          for (const change of topic.changes) {
            if (change.operation === v1.ConfigOperation.SET) changes.push({ name: change.name, operation: 'set', value: change.value });
            else if (change.operation === v1.ConfigOperation.DELETE) changes.push({ name: change.name, operation: 'delete' });
            else {
              malformed.set(index, { code: 'INVALID_REQUEST', message: `config ${change.name} has no operation (SET or DELETE)` });
              return;
            }
          }
          valid.push({ topic: topic.topic, changes });
        });
        const applied = await controller.alterTopicConfigs({ topics: valid, validateOnly: request.validateOnly });
        let next = 0;
        return {
          results: request.topics.map((topic, index) => {
            const error = malformed.get(index);
            const result: TopicResult | undefined = error === undefined ? applied[next++] : { topic: topic.topic, error };
            assert(result !== undefined, 'one result per topic passed on');
            if (result.error === undefined && !request.validateOnly) logger.info({ event: 'topic-configs-altered', topic: result.topic }, `altered configs of topic ${result.topic}`);
            return { topic: result.topic, ...errorFields(result.error) };
          }),
        };
      });
    },

    createPartitions(call, callback) {
      answer(callback, logger, 'CreatePartitions', async () => {
        const request = call.request;
        checkItemCount(request.topics.length, 'topics');
        const results = await controller.createPartitions({
          validateOnly: request.validateOnly,
          topics: request.topics.map((topic) => ({
            topic: topic.topic,
            totalCount: topic.totalCount,
            replicaAssignments: topic.replicaAssignments.map(({ partition, replicas }) => ({ partition, replicas })),
          })),
        });
        return { results: results.map((result) => ({ topic: result.topic, ...errorFields(result.error) })) };
      });
    },

    reassignPartitions(call, callback) {
      // timeout_ms has nothing to bound here: the answer comes once the targets are recorded,
      // which the controller does at once; the copying that follows is what WatchReassignments shows.
      answer(callback, logger, 'ReassignPartitions', async () => {
        const request = call.request;
        checkItemCount(request.partitions.length, 'partitions');
        const results = await controller.reassignPartitions({
          validateOnly: request.validateOnly,
          partitions: request.partitions.map((item) => ({ topic: item.topic, partition: item.partition, targetReplicas: item.targetReplicas, cancel: item.cancel })),
        });
        results.forEach((result, index) => {
          const item = request.partitions[index];
          if (result.error !== undefined || request.validateOnly || item === undefined) return;
          const what = item.cancel ? 'cancelled the reassignment of' : `reassigning to [${item.targetReplicas.join(', ')}]`;
          logger.info(
            { event: item.cancel ? 'reassignment-cancelled' : 'reassignment-started', topic: result.topic, partition: result.partition, targetReplicas: item.targetReplicas },
            `${what} partition ${result.partition} of topic ${result.topic}`,
          );
        });
        return { results: results.map((result) => ({ topic: result.topic, partition: result.partition, ...errorFields(result.error) })) };
      });
    },

    listReassignments(call, callback) {
      answer(callback, logger, 'ListReassignments', () => {
        const request = call.request;
        checkItemCount(request.partitions.length, 'partitions');
        const views = controller.listReassignments(request.partitions.map(({ topic, partition }) => ({ topic, partition })));
        return { reassignments: views.map(reassignmentStatusToProto) };
      });
    },

    watchReassignments(call) {
      followReassignments(call, { controller, streams, partitionsMax: adminRequestItemsMax });
    },

    describeCluster(_call, callback) {
      answer(callback, logger, 'DescribeCluster', async () => {
        const image = controller.image();
        const controllers = [...(await listControllers())].sort((a, b) => a.controllerId - b.controllerId);
        return {
          clusterId: image.clusterId,
          controllerId,
          nodes: nodesById(image).map(nodeToProto),
          metadataVersion: BigInt(image.version),
          controllers: controllers.map(({ controllerId: id, host, port, active }) => ({ controllerId: id, host, port, role: active ? v1.ControllerRole.ACTIVE : v1.ControllerRole.STANDBY })),
        };
      });
    },
  };
}
