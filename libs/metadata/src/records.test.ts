import { batchFromJson, batchToJson, recordFromJson, recordToJson, type MetadataRecord } from './records';

const records: MetadataRecord[] = [
  { type: 'cluster', clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' },
  { type: 'controller', controllerId: 0, controllerEpoch: 3, host: 'h', port: 9091 },
  { type: 'node', nodeId: 1, nodeEpoch: 7, incarnationId: 'x', host: 'h', port: 1, rack: 'r1', state: 'controlled-shutdown' },
  { type: 'node', nodeId: 2, nodeEpoch: 8, incarnationId: 'y', host: 'h', port: 2, rack: '', state: 'active', cleanShutdown: false, offlineLogDirIds: ['dir-2'] },
  { type: 'topic', topicId: 'id', name: 't', internal: false, configs: { 'retention.ms': '1' } },
  {
    type: 'partition',
    topicId: 'id',
    partition: { partition: 0, leader: -1, leaderEpoch: 2, partitionEpoch: 3, replicas: [1, 2], isr: [1], elr: [], offlineReplicas: [], addingReplicas: [], removingReplicas: [] },
  },
  { type: 'topic-configs', topicId: 'id', configs: {} },
  { type: 'remove-topic', topicId: 'id' },
  { type: 'cluster-configs', configs: { 'num.partitions': '3' } },
  { type: 'producer-ids', nextProducerId: 2n ** 62n },
];

describe('metadata records', () => {
  it('round-trip through JSON text, bigints included', () => {
    const batch = { baseVersion: 5, version: 5 + records.length, records };
    expect(batchFromJson(JSON.parse(JSON.stringify(batchToJson(batch))))).toEqual(batch);
  });

  it('keep a partition\'s eligible leader replicas, and read a partition written before them as having none', () => {
    const partition = { partition: 0, leader: 1, leaderEpoch: 2, partitionEpoch: 3, replicas: [1, 2, 3], isr: [1], elr: [3, 2], offlineReplicas: [], addingReplicas: [], removingReplicas: [] };
    const record: MetadataRecord = { type: 'partition', topicId: 'id', partition };
    expect(recordFromJson(JSON.parse(JSON.stringify(recordToJson(record))))).toEqual(record);
    const { elr: _elr, ...before } = partition;
    expect(recordFromJson({ type: 'partition', topicId: 'id', partition: before })).toEqual({ ...record, partition: { ...partition, elr: [] } });
  });

  it.each([
    [{ type: 'mystery' }, /unknown record type/],
    [{ type: 'partition', topicId: 'id', partition: { partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1], isr: [1], elr: ['2'], offlineReplicas: [], addingReplicas: [], removingReplicas: [] } }, /elr/],
    [{ type: 'node', ...(recordToJson({ type: 'node', nodeId: 1, nodeEpoch: 7, incarnationId: 'x', host: 'h', port: 1, rack: '', state: 'active' }) as object), state: 'sleepy' }, /node state/],
    [{ type: 'node', ...(recordToJson({ type: 'node', nodeId: 1, nodeEpoch: 7, incarnationId: 'x', host: 'h', port: 1, rack: '', state: 'active' }) as object), offlineLogDirIds: [1] }, /offlineLogDirIds/],
    [{ type: 'producer-ids', nextProducerId: '-1' }, /decimal/],
    [{ type: 'partition', topicId: 'id', partition: { partition: 0 } }, /is not an integer/],
    [{ type: 'topic', topicId: 'id', name: 't', internal: 'no', configs: {} }, /internal/],
    [{ type: 'topic-configs', topicId: 'id', configs: { a: 1 } }, /config a/],
  ])('refuses %j', (json, message) => {
    expect(() => recordFromJson(json)).toThrow(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(message) }));
  });

  it('refuses a batch whose versions do not match its record count', () => {
    expect(() => batchFromJson({ baseVersion: 1, version: 3, records: [recordToJson({ type: 'cluster', clusterId: 'x' })] })).toThrow(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }));
  });
});
