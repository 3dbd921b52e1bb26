/** The gRPC handlers of starlane.v1.ConsumerService. */
import type * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { failedResultCodes, methodLabel, toGrpcError, type RpcMetrics } from '@starlane/service-host';
import { asStarlaneError } from '../produce/partition-writer';
import type { FetchHandler, ReadDeps } from './fetch-handler';
import { Subscription } from './subscription';

const fetchMethod = methodLabel(v1.ConsumerServiceService.fetch.path);

/** Failed partitions of Fetch answers (the host times the calls themselves). */
export type ConsumeMetrics = Pick<RpcMetrics, 'countErrors'>;

export function consumerService(fetcher: FetchHandler, deps: ReadDeps, metrics: ConsumeMetrics = { countErrors: () => undefined }): Partial<v1.ConsumerServiceServer> {
  return {
    fetch(call: grpc.ServerUnaryCall<v1.FetchRequest, v1.FetchResponse>, callback: grpc.sendUnaryData<v1.FetchResponse>) {
      fetcher.fetch(call.request).then(
        (response) => {
          metrics.countErrors(fetchMethod, failedResultCodes(response.partitions));
          callback(null, response);
        },
        (error: unknown) => callback(toGrpcError(asStarlaneError(error))),
      );
    },

    subscribe(call: grpc.ServerWritableStream<v1.SubscribeRequest, v1.SubscribeResponse>) {
      let subscription: Subscription;
      try {
        subscription = new Subscription(deps, call.request, {
          write: (message) => call.write(message),
          onceDrained: (listener) => call.once('drain', listener),
          end: () => call.end(),
        });
      } catch (error) {
        call.emit('error', toGrpcError(asStarlaneError(error)));
        return;
      }
      call.on('cancelled', () => subscription.close());
      call.on('error', () => subscription.close());
      call.on('close', () => subscription.close());
      subscription.start().catch((error: unknown) => {
        subscription.close();
        call.emit('error', toGrpcError(asStarlaneError(error)));
      });
    },
  };
}
