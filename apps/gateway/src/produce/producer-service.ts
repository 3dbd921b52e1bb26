/**
 * The gRPC handlers of starlane.v1.ProducerService.
 *
 * ProduceStream reads requests one after another, queues each one's writes only after the
 * previous request's writes are queued (so a partition's writes keep stream order even when
 * one request needs compression and the next does not), answers in request order, and stops
 * reading once produceStreamUnansweredMax requests are unanswered.
 */
import type * as grpc from '@grpc/grpc-js';
import { wireErrorCode } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { failedResultCodes, methodLabel, toGrpcError, type RpcMetrics } from '@starlane/service-host';
import { asStarlaneError } from './partition-writer';
import type { ProduceHandler } from './produce-handler';
import type { ProducerIdAllocator } from './producer-ids';

/** Latency of each request on a ProduceStream, and failed partitions of every answer (the host times unary calls). */
export type ProduceMetrics = Pick<RpcMetrics, 'startRequest' | 'countErrors'>;

const produceMethod = methodLabel(v1.ProducerServiceService.produce.path);
const produceStreamMethod = methodLabel(v1.ProducerServiceService.produceStream.path);

const unmeasured: ProduceMetrics = { startRequest: () => () => undefined, countErrors: () => undefined };

export function producerService(handler: ProduceHandler, producerIds: ProducerIdAllocator, unansweredMax: number, metrics: ProduceMetrics = unmeasured): Partial<v1.ProducerServiceServer> {
  return {
    produce(call: grpc.ServerUnaryCall<v1.ProduceRequest, v1.ProduceResponse>, callback: grpc.sendUnaryData<v1.ProduceResponse>) {
      handler
        .queue(call.request)
        .then((queued) => queued.results)
        .then(
          (partitions) => {
            metrics.countErrors(produceMethod, failedResultCodes(partitions));
            callback(null, { partitions });
          },
          (error: unknown) => callback(toGrpcError(asStarlaneError(error))),
        );
    },

    produceStream(call: grpc.ServerDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse>) {
      serveProduceStream(call, handler, unansweredMax, metrics);
    },

    initProducerId(call: grpc.ServerUnaryCall<v1.InitProducerIdRequest, v1.InitProducerIdResponse>, callback: grpc.sendUnaryData<v1.InitProducerIdResponse>) {
      producerIds.init(call.request.current).then(
        (identity) => callback(null, { producer: identity, errorCode: v1.ErrorCode.NONE, errorMessage: '' }),
        (error: unknown) => {
          const starlane = asStarlaneError(error);
          callback(null, { producer: undefined, errorCode: wireErrorCode(starlane.code) as v1.ErrorCode, errorMessage: starlane.message });
        },
      );
    },
  };
}

interface PendingResponse {
  readonly requestId: bigint;
  response: v1.ProduceStreamResponse | undefined;
}

function serveProduceStream(call: grpc.ServerDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse>, handler: ProduceHandler, unansweredMax: number, metrics: ProduceMetrics): void {
  const pending: PendingResponse[] = [];
  let queueTail: Promise<unknown> = Promise.resolve();
  let readingPaused = false;
  // Responses the client is not reading back up in HTTP/2 buffers: stop reading requests
  // until they drain, as for too many unanswered requests.
  let writeBlocked = false;
  let inputEnded = false;
  let finished = false;

  const updateReading = (): void => {
    // Stop reading: grpc-js then stops pulling from HTTP/2, and flow control holds the client.
    const shouldPause = pending.length >= unansweredMax || writeBlocked;
    if (shouldPause && !readingPaused) {
      readingPaused = true;
      call.pause();
    } else if (!shouldPause && readingPaused) {
      readingPaused = false;
      call.resume();
    }
  };

  const flush = (): void => {
    while (!finished && !writeBlocked && pending.length > 0 && pending[0]!.response !== undefined) {
      if (!call.write(pending.shift()!.response!)) writeBlocked = true;
    }
    updateReading();
    if (inputEnded && pending.length === 0 && !finished) {
      finished = true;
      call.end();
    }
  };
  call.on('drain', () => {
    writeBlocked = false;
    flush();
  });

  call.on('data', (request: v1.ProduceStreamRequest) => {
    if (finished) return;
    const slot: PendingResponse = { requestId: request.requestId, response: undefined };
    const done = metrics.startRequest(produceStreamMethod);
    pending.push(slot);
    updateReading();
    const queued = queueTail.then(() => handler.queue(request));
    queueTail = queued.catch(() => undefined);
    void queued
      .then((result) => result.results)
      .then(
        (partitions) => {
          done(failedResultCodes(partitions));
          slot.response = { requestId: request.requestId, partitions, errorCode: v1.ErrorCode.NONE, errorMessage: '' };
        },
        (error: unknown) => {
          const starlane = asStarlaneError(error);
          done([starlane.code]);
          slot.response = { requestId: request.requestId, partitions: [], errorCode: wireErrorCode(starlane.code) as v1.ErrorCode, errorMessage: starlane.message };
        },
      )
      .then(flush);
  });
  call.on('end', () => {
    inputEnded = true;
    flush();
  });
  call.on('error', () => {
    // The client cancelled or the connection broke: queued writes still complete; nothing more is sent.
    finished = true;
  });
  call.on('cancelled', () => {
    finished = true;
  });
}
