/**
 * Thin promise wrappers over the generated public clients, as any gRPC user would write them.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { unaryAttempt, unaryCall } from '@starlane/testing';

export interface PublicClients {
  readonly admin: v1.AdminServiceClient;
  readonly producer: v1.ProducerServiceClient;
  readonly consumer: v1.ConsumerServiceClient;
  close(): void;
}

const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

export function publicClients(address: string): PublicClients {
  const credentials = grpc.credentials.createInsecure();
  const admin = new v1.AdminServiceClient(address, credentials, channelOptions);
  const producer = new v1.ProducerServiceClient(address, credentials, channelOptions);
  const consumer = new v1.ConsumerServiceClient(address, credentials, channelOptions);
  return {
    admin,
    producer,
    consumer,
    close() {
      admin.close();
      producer.close();
      consumer.close();
    },
  };
}

/** Calls a unary method with a deadline; rejects with the ServiceError (the testing library's, under the name the tests use). */
export const call = unaryCall;

/** The outcome of a unary call, error included, for tests that expect failures. */
export const attempt = unaryAttempt;

/** The catalogue error code a failed call carries in its trailers. */
export function errorCodeOf(error: grpc.ServiceError | undefined): string | undefined {
  const value = error?.metadata?.get('starlane-error-code')[0];
  return value === undefined ? undefined : String(value);
}
