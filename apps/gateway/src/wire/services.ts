/**
 * Service definitions with the data-plane codecs of ./codecs swapped in for the messages that
 * carry record batches; every path, name and wire format stays the generated one.
 */
import * as grpc from '@grpc/grpc-js';
import { internalV1, v1 } from '@starlane/proto';
import { decodeProduceRequest, decodeProduceStreamRequest, decodeReadStreamResponse, encodeAppendStreamRequest, encodeFetchResponse, encodeSubscribeResponse } from './codecs';

/** ProducerService as served: produce requests decode record batches as views. */
export const producerServiceDefinition = {
  ...v1.ProducerServiceService,
  produce: { ...v1.ProducerServiceService.produce, requestDeserialize: decodeProduceRequest },
  produceStream: { ...v1.ProducerServiceService.produceStream, requestDeserialize: decodeProduceStreamRequest },
} as const;

/** ConsumerService as served: results with record batches are encoded in one copy. */
export const consumerServiceDefinition = {
  ...v1.ConsumerServiceService,
  fetch: { ...v1.ConsumerServiceService.fetch, responseSerialize: encodeFetchResponse },
  subscribe: { ...v1.ConsumerServiceService.subscribe, responseSerialize: encodeSubscribeResponse },
} as const;

/** StorageNodeService as the gateway calls it: appends encoded in one copy, reads decoded as views. */
export const storageNodeClientDefinition = {
  ...internalV1.StorageNodeServiceService,
  appendStream: { ...internalV1.StorageNodeServiceService.appendStream, requestSerialize: encodeAppendStreamRequest },
  readStream: { ...internalV1.StorageNodeServiceService.readStream, responseDeserialize: decodeReadStreamResponse },
} as const;

export const StorageNodeClient = grpc.makeGenericClientConstructor(storageNodeClientDefinition, 'starlane.internal.v1.StorageNodeService') as unknown as typeof internalV1.StorageNodeServiceClient;
