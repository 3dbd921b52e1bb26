/** The gRPC handlers of starlane.v1.AdminService on the gateway. */
import type * as grpc from '@grpc/grpc-js';
import type { v1 } from '@starlane/proto';
import { toGrpcError } from '@starlane/service-host';
import { ControllerCallError } from '../controller/controller-client';
import { asStarlaneError } from '../produce/partition-writer';
import type { AdminForwarder } from './admin-forwarder';

/** Relays a controller's own status (with its starlane-error-code trailer) as it came; anything else through the catalogue. */
function relay(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof ControllerCallError) return { code: error.status.code, details: error.status.details, metadata: error.status.metadata };
  return toGrpcError(asStarlaneError(error));
}

function unary<Req, Res>(run: (request: Req) => Promise<Res>) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    run(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(relay(error)),
    );
  };
}

export function adminService(forwarder: AdminForwarder): Partial<v1.AdminServiceServer> {
  return {
    createTopics: unary((request: v1.CreateTopicsRequest) => forwarder.createTopics(request)),
    deleteTopics: unary((request: v1.DeleteTopicsRequest) => forwarder.deleteTopics(request)),
    listTopics: unary((request: v1.ListTopicsRequest) => forwarder.listTopics(request)),
    describeTopics: unary((request: v1.DescribeTopicsRequest) => forwarder.describeTopics(request)),
    alterTopicConfigs: unary((request: v1.AlterTopicConfigsRequest) => forwarder.alterTopicConfigs(request)),
    createPartitions: unary((request: v1.CreatePartitionsRequest) => forwarder.createPartitions(request)),
    describeCluster: unary((request: v1.DescribeClusterRequest) => forwarder.describeCluster(request)),
    reassignPartitions: unary((request: v1.ReassignPartitionsRequest) => forwarder.reassignPartitions(request)),
    listReassignments: unary((request: v1.ListReassignmentsRequest) => forwarder.listReassignments(request)),
    listOffsets: unary((request: v1.ListOffsetsRequest) => forwarder.listOffsets(request)),
    watchReassignments: (call: grpc.ServerWritableStream<v1.WatchReassignmentsRequest, v1.WatchReassignmentsResponse>) => {
      forwarder
        .watchReassignments(
          call.request,
          (response) => call.write(response),
          (cancel) => call.on('cancelled', cancel),
        )
        .then(
          () => call.end(),
          (error: unknown) => call.emit('error', relay(error)),
        );
    },
  };
}
