/**
 * The gRPC clients of the gateway's public API, over one channel, with each request/response
 * call bounded by a deadline and each failure turned into a CliFailure.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { toFailure, type CliFailure } from './errors';

/** Largest message the CLI accepts from the gateway; matches the servers' limit, because a
 * Subscribe message may carry a whole batch larger than the default 4 MiB. */
export const grpcMessageBytesMax = 64 * 1024 * 1024;
/** HTTP/2 window per stream and connection: the 64 KiB default makes a transfer wait on
 * round trips; 16 MiB keeps batches in flight (docs/data-plane.md). */
export const grpcFlowControlWindowBytes = 16 * 1024 * 1024;
/** Deadline of request/response calls unless `--timeout-ms` says otherwise. */
export const defaultCallTimeoutMs = 30_000;

export const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': grpcMessageBytesMax,
  'grpc.max_send_message_length': grpcMessageBytesMax,
  'grpc-node.flow_control_window': grpcFlowControlWindowBytes,
  // Fail fast with UNAVAILABLE instead of waiting for a gateway that is not there.
  'grpc.initial_reconnect_backoff_ms': 200,
};

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export class Gateway {
  readonly admin: v1.AdminServiceClient;
  readonly producer: v1.ProducerServiceClient;
  readonly consumer: v1.ConsumerServiceClient;

  constructor(
    readonly address: string,
    readonly callTimeoutMs: number,
  ) {
    const credentials = grpc.credentials.createInsecure();
    this.admin = new v1.AdminServiceClient(address, credentials, channelOptions);
    const shared = { ...channelOptions, channelOverride: this.admin.getChannel() };
    this.producer = new v1.ProducerServiceClient(address, credentials, shared);
    this.consumer = new v1.ConsumerServiceClient(address, credentials, shared);
  }

  createTopics(request: v1.CreateTopicsRequest): Promise<v1.CreateTopicsResponse> {
    return this.unary(this.admin.createTopics.bind(this.admin), request);
  }

  deleteTopics(request: v1.DeleteTopicsRequest): Promise<v1.DeleteTopicsResponse> {
    return this.unary(this.admin.deleteTopics.bind(this.admin), request);
  }

  listTopics(request: v1.ListTopicsRequest): Promise<v1.ListTopicsResponse> {
    return this.unary(this.admin.listTopics.bind(this.admin), request);
  }

  describeTopics(request: v1.DescribeTopicsRequest): Promise<v1.DescribeTopicsResponse> {
    return this.unary(this.admin.describeTopics.bind(this.admin), request);
  }

  alterTopicConfigs(request: v1.AlterTopicConfigsRequest): Promise<v1.AlterTopicConfigsResponse> {
    return this.unary(this.admin.alterTopicConfigs.bind(this.admin), request);
  }

  createPartitions(request: v1.CreatePartitionsRequest): Promise<v1.CreatePartitionsResponse> {
    return this.unary(this.admin.createPartitions.bind(this.admin), request);
  }

  describeCluster(): Promise<v1.DescribeClusterResponse> {
    return this.unary(this.admin.describeCluster.bind(this.admin), {});
  }

  reassignPartitions(request: v1.ReassignPartitionsRequest): Promise<v1.ReassignPartitionsResponse> {
    return this.unary(this.admin.reassignPartitions.bind(this.admin), request);
  }

  listReassignments(request: v1.ListReassignmentsRequest): Promise<v1.ListReassignmentsResponse> {
    return this.unary(this.admin.listReassignments.bind(this.admin), request);
  }

  listOffsets(request: v1.ListOffsetsRequest): Promise<v1.ListOffsetsResponse> {
    return this.unary(this.admin.listOffsets.bind(this.admin), request);
  }

  /** A ProduceStream; it has no deadline (it lasts as long as the input). */
  produceStream(): grpc.ClientDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse> {
    return this.producer.produceStream();
  }

  /** A Subscribe stream; it has no deadline (it lasts until cancelled). */
  subscribe(request: v1.SubscribeRequest): grpc.ClientReadableStream<v1.SubscribeResponse> {
    return this.consumer.subscribe(request);
  }

  /** Turns a failed call's error into a CliFailure (exit code by who failed). */
  failure(error: unknown): CliFailure {
    return toFailure(error, this.address);
  }

  close(): void {
    this.producer.close();
    this.consumer.close();
    this.admin.close();
  }

  private unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const deadline = new Date(Date.now() + this.callTimeoutMs);
    return new Promise((resolve, reject) => {
      method(request, new grpc.Metadata(), { deadline }, (error, response) => {
        if (error) reject(this.failure(error));
        else resolve(response);
      });
    });
  }
}
