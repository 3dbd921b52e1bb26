import { internalV1, v1 } from './index';

// These tests pin properties of the generated code that the rest of Starlane relies on.
describe('generated contract', () => {
  it('keeps int64 fields exact as bigint through a round trip', () => {
    const offset = 2n ** 62n + 12345n;
    const bytes = v1.ListOffsetsPartitionResult.encode(v1.ListOffsetsPartitionResult.fromPartial({ topic: 't', partition: 1, offset, timestampMs: -1n })).finish();
    const decoded = v1.ListOffsetsPartitionResult.decode(bytes);
    expect(decoded.offset).toBe(offset);
    expect(decoded.timestampMs).toBe(-1n);
  });

  it('carries record batch bytes as one Buffer without re-encoding', () => {
    const batch = Buffer.from([0, 1, 2, 3, 254, 255]);
    const request = v1.ProducePartitionData.fromPartial({ partition: 0, payload: { $case: 'recordBatches', value: batch } });
    const decoded = v1.ProducePartitionData.decode(v1.ProducePartitionData.encode(request).finish());
    expect(decoded.payload).toEqual({ $case: 'recordBatches', value: batch });
  });

  it("keeps Kafka's numbering for error codes, -1 included", () => {
    expect(v1.ErrorCode.NONE).toBe(0);
    expect(v1.ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1);
    expect(v1.ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(v1.ErrorCode.FENCED_LEADER_EPOCH).toBe(74);
  });

  it('names every service under its package', () => {
    const paths = [
      v1.AdminServiceService.describeCluster.path,
      v1.ProducerServiceService.produce.path,
      v1.ConsumerServiceService.subscribe.path,
      internalV1.ControllerServiceService.registerNode.path,
      internalV1.StorageNodeServiceService.replicaFetch.path,
    ];
    expect(paths).toEqual([
      '/starlane.v1.AdminService/DescribeCluster',
      '/starlane.v1.ProducerService/Produce',
      '/starlane.v1.ConsumerService/Subscribe',
      '/starlane.internal.v1.ControllerService/RegisterNode',
      '/starlane.internal.v1.StorageNodeService/ReplicaFetch',
    ]);
  });
});
