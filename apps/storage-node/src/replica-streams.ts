/**
 * The follower's transport to its leaders over gRPC: the `ReplicaStreamPort` of
 * `@starlane/replica` as one ReplicaFetch bidi stream per `open`, carrying the replica's
 * domain messages through the hand-written codec (record bytes stay a view of the received
 * message).
 *
 * A stream has one fetch outstanding at a time, as the contract says; its answer is the next
 * message the leader sends. An error on the stream, or the leader ending it, rejects the fetch
 * outstanding and every later one, so the fetcher opens another stream (with back-off).
 */
import * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import type { ReplicaFetchRequest, ReplicaFetchResponse, ReplicaStream, ReplicaStreamPort } from '@starlane/replica';
import { formatAddress, grpcFlowControlWindowBytes, grpcMessageBytesMax } from '@starlane/service-host';
import { storageNodeServiceDefinition } from './wire-codec';

const replicaFetch = storageNodeServiceDefinition.replicaFetch;

/** Opens ReplicaFetch streams to leaders, one gRPC client (channel) per stream. */
export class GrpcReplicaStreams implements ReplicaStreamPort {
  open(leader: { nodeId: number; host: string; port: number }): ReplicaStream {
    return new GrpcReplicaStream(formatAddress(leader.host, leader.port));
  }
}

class GrpcReplicaStream implements ReplicaStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse>;
  private pending: { resolve(response: ReplicaFetchResponse): void; reject(error: Error): void } | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(address: string) {
    // Channels to the same address share their connection (grpc-js's global subchannel pool),
    // so a stream reopened after a break does not cost a new connection.
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': grpcMessageBytesMax,
      'grpc.max_send_message_length': grpcMessageBytesMax,
      'grpc-node.flow_control_window': grpcFlowControlWindowBytes,
    });
    this.call = this.client.makeBidiStreamRequest(replicaFetch.path, replicaFetch.requestSerialize, replicaFetch.responseDeserialize);
    this.call.on('data', (response: ReplicaFetchResponse) => {
      const waiting = this.pending;
      this.pending = undefined;
      waiting?.resolve(response);
    });
    this.call.on('error', (error) => this.fail(error));
    this.call.on('end', () => this.fail(new StarlaneError('BROKER_NOT_AVAILABLE', 'the leader ended the replication stream')));
  }

  fetch(request: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    return new Promise<ReplicaFetchResponse>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      if (this.closed) return reject(new StarlaneError('BROKER_NOT_AVAILABLE', 'the replication stream is closed'));
      if (this.pending !== undefined) return reject(new StarlaneError('INVALID_REQUEST', 'a replication stream has one fetch outstanding at a time'));
      this.pending = { resolve, reject };
      this.call.write(request);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
    this.call.cancel();
    this.client.close();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.pending?.reject(error);
    this.pending = undefined;
  }
}
