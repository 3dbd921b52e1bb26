/**
 * starlane.internal.v1.ControllerService over the metadata controller: translation between
 * wire messages and domain calls, and the WatchMetadata streams.
 */
import type * as grpc from '@grpc/grpc-js';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import type { MetadataController, MetadataImage } from '@starlane/metadata';
import { alterPartitionResultToProto, deltaToProto, errorCodeToProto, snapshotToProto } from '@starlane/metadata-rpc';
import type { internalV1 } from '@starlane/proto';
import { toGrpcError, type Logger } from '@starlane/service-host';

/** Bytes of topics per snapshot chunk: well under the gRPC message bound of every receiver. */
export const snapshotChunkBytesMax = 4 * 1024 * 1024;
/**
 * Deltas queued for one watcher while its connection is not taking them. A watcher further
 * behind is ended with METADATA_OUT_OF_SYNC: it reconnects and starts over from a snapshot,
 * which costs less than buffering without bound for a reader that may never catch up.
 */
export const watcherQueuedDeltasMax = 1000;

export interface ControllerLocator {
  /** This controller's location (advertised host, bound port). */
  (call: { getHost(): string }): internalV1.ControllerLocation;
}

/** Catalogue code and message for a failure; anything not a StarlaneError is a bug, logged. */
export function describeFailure(error: unknown, logger: Logger, rpc: string): { code: ErrorCode; message: string } {
  if (error instanceof StarlaneError) return { code: error.code, message: error.message };
  logger.error({ err: error, rpc }, 'unexpected failure in a controller command');
  return { code: 'UNKNOWN_SERVER_ERROR', message: `${rpc} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}` };
}

function failureFields(error: unknown, logger: Logger, rpc: string): { errorCode: number; errorMessage: string } {
  const { code, message } = describeFailure(error, logger, rpc);
  return { errorCode: errorCodeToProto(code), errorMessage: message };
}

/** The open WatchMetadata streams, so they can be ended when the controller stops. */
export class MetadataStreams {
  private readonly ends = new Set<(reason: string) => void>();

  add(end: (reason: string) => void): () => void {
    this.ends.add(end);
    return () => this.ends.delete(end);
  }

  get size(): number {
    return this.ends.size;
  }

  /**
   * Ends every stream with NOT_CONTROLLER, as the contract says a stream ends when its
   * controller stops being active: watchers reconnect at once instead of waiting on a server
   * that is going away, and the server's graceful stop is not held up by them.
   */
  endAll(reason: string): void {
    for (const end of [...this.ends]) end(reason);
  }
}

export function controllerService(controller: MetadataController, locate: ControllerLocator, streams: MetadataStreams, logger: Logger): Partial<internalV1.ControllerServiceServer> {
  return {
    registerNode(call, callback) {
      const request = call.request;
      controller
        .registerNode({ nodeId: request.nodeId, incarnationId: request.incarnationId, clusterId: request.clusterId, host: request.host, port: request.port, rack: request.rack, cleanShutdown: request.cleanShutdown })
        .then(
          ({ nodeEpoch }) => {
            logger.info({ event: 'node-registered', nodeId: request.nodeId, nodeEpoch, host: request.host, port: request.port }, `node ${request.nodeId} registered with epoch ${nodeEpoch}`);
            callback(null, {
              nodeEpoch: BigInt(nodeEpoch),
              clusterId: controller.image().clusterId,
              heartbeatIntervalMs: controller.heartbeatIntervalMs,
              sessionTimeoutMs: controller.sessionTimeoutMs,
              activeController: undefined,
              errorCode: 0,
              errorMessage: '',
            });
          },
          (error: unknown) => {
            const fields = failureFields(error, logger, 'RegisterNode');
            callback(null, { nodeEpoch: -1n, clusterId: controller.image().clusterId, heartbeatIntervalMs: 0, sessionTimeoutMs: 0, activeController: undefined, ...fields });
          },
        );
    },

    heartbeat(call, callback) {
      const request = call.request;
      controller.heartbeat({ nodeId: request.nodeId, nodeEpoch: Number(request.nodeEpoch), metadataVersion: Number(request.metadataVersion), offlineLogDirIds: request.offlineLogDirIds }).then(
        (result) => callback(null, { fenced: result.fenced, shouldShutDown: result.shouldShutDown, activeController: undefined, errorCode: 0, errorMessage: '' }),
        (error: unknown) => callback(null, { fenced: true, shouldShutDown: false, activeController: undefined, ...failureFields(error, logger, 'Heartbeat') }),
      );
    },

    controlledShutdown(call, callback) {
      const request = call.request;
      controller.controlledShutdown({ nodeId: request.nodeId, nodeEpoch: Number(request.nodeEpoch) }).then(
        (result) => {
          logger.info({ event: 'node-controlled-shutdown', nodeId: request.nodeId, remaining: result.remainingLeaderships.length }, `node ${request.nodeId} is shutting down`);
          callback(null, { remainingLeaderships: [...result.remainingLeaderships], activeController: undefined, errorCode: 0, errorMessage: '' });
        },
        (error: unknown) => callback(null, { remainingLeaderships: [], activeController: undefined, ...failureFields(error, logger, 'ControlledShutdown') }),
      );
    },

    alterPartition(call, callback) {
      const request = call.request;
      controller
        .alterPartition({
          nodeId: request.nodeId,
          nodeEpoch: Number(request.nodeEpoch),
          partitions: request.partitions.map((change) => ({
            topicId: change.topicId,
            partition: change.partition,
            leaderEpoch: change.leaderEpoch,
            partitionEpoch: change.partitionEpoch,
            newIsr: change.newIsr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: Number(member.nodeEpoch) })),
          })),
        })
        .then(
          (results) => {
            const changed = results.filter((result) => result.error === undefined).length;
            if (changed > 0) logger.info({ event: 'isr-changed', nodeId: request.nodeId, partitions: changed }, `node ${request.nodeId} changed the ISR of ${changed} partitions`);
            callback(null, {
              partitions: results.map(alterPartitionResultToProto),
              activeController: undefined,
              errorCode: 0,
              errorMessage: '',
            });
          },
          (error: unknown) => callback(null, { partitions: [], activeController: undefined, ...failureFields(error, logger, 'AlterPartition') }),
        );
    },

    getActiveController(call, callback) {
      callback(null, { activeController: locate(call) });
    },

    allocateProducerIds(call, callback) {
      controller.allocateProducerIds(call.request.count).then(
        (block) => callback(null, { firstProducerId: block.firstProducerId, count: block.count, activeController: undefined, errorCode: 0, errorMessage: '' }),
        (error: unknown) => callback(null, { firstProducerId: -1n, count: 0, activeController: undefined, ...failureFields(error, logger, 'AllocateProducerIds') }),
      );
    },

    watchMetadata(call: grpc.ServerWritableStream<internalV1.WatchMetadataRequest, internalV1.WatchMetadataResponse>) {
      followMetadata(call, controller, locate, streams, logger);
    },
  };
}

/**
 * One WatchMetadata stream: the current image as snapshot chunks, then every delta in order.
 * Image and subscription are taken in one turn of the event loop, so no delta falls between.
 */
function followMetadata(
  call: grpc.ServerWritableStream<internalV1.WatchMetadataRequest, internalV1.WatchMetadataResponse>,
  controller: MetadataController,
  locate: ControllerLocator,
  streams: MetadataStreams,
  logger: Logger,
): void {
  const nodeId = call.request.nodeId;
  const image: MetadataImage = controller.image();
  const location = locate(call);
  const queued: internalV1.WatchMetadataResponse[] = [];
  let blocked = false;
  let ended = false;

  const write = (message: internalV1.WatchMetadataResponse): void => {
    if (!call.write(message)) blocked = true;
  };
  const end = (): void => {
    ended = true;
    queued.length = 0;
    unsubscribe();
    forget();
  };
  const forget = streams.add((reason) => {
    if (ended) return;
    end();
    const message = { metadataVersion: BigInt(controller.image().version), update: undefined, activeController: undefined, errorCode: errorCodeToProto('NOT_CONTROLLER'), errorMessage: reason };
    call.write(message);
    call.end();
  });
  const unsubscribe = controller.subscribe((delta, next) => {
    if (ended) return;
    const message = deltaToProto(delta, (topicId) => next.topicNamesById.get(topicId) ?? '');
    if (!blocked) return write(message);
    if (queued.length >= watcherQueuedDeltasMax) {
      end();
      logger.warn({ event: 'watcher-dropped', nodeId, queued: queued.length }, `metadata watcher ${nodeId} fell ${watcherQueuedDeltasMax} deltas behind; ending its stream`);
      const error = new StarlaneError('METADATA_OUT_OF_SYNC', `the watcher fell more than ${watcherQueuedDeltasMax} metadata versions behind; reconnect for a fresh snapshot`);
      call.emit('error', toGrpcError(error));
      return;
    }
    queued.push(message);
  });
  call.on('drain', () => {
    blocked = false;
    while (!blocked && !ended) {
      const message = queued.shift();
      if (message === undefined) break;
      write(message);
    }
  });
  call.on('cancelled', end);
  call.on('close', end);
  call.on('error', end);

  // Snapshot chunks go out whole whatever the connection's pace: the bound applies to deltas.
  const chunks = snapshotToProto({ ...image, controller: undefined }, snapshotChunkBytesMax);
  const first = chunks[0]?.update;
  if (first?.$case === 'snapshot') first.value.controller = location;
  for (const message of chunks) write(message);
}
