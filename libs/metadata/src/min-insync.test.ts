/**
 * min.insync.replicas may never exceed the replicas a topic has: a topic created so, a config
 * change that makes it so (its own or, once an override goes, the cluster default), and a
 * reassignment to fewer replicas are refused with a reason naming the topic, the value and
 * the replication factor.
 */
import { reassignPartitions } from './partition-commands';
import { applyBatch, emptyControllerState, nextBatch, type ControllerState } from './controller-state';
import { noLeader, type ConfigMap, type PartitionState } from './image';
import { seededRandom } from './placement';
import type { MetadataRecord } from './records';
import { alterTopicConfigs, createTopics, type ConfigChangeInput, type NewTopicInput } from './topic-commands';

const topicId = '11111111-1111-4111-8111-111111111111';

/** Nodes 1-4 active, and topic `t` (when `replicas` is given) with one partition on them. */
function clusterWith(options: { replicas?: readonly number[]; configs?: ConfigMap; clusterConfigs?: ConfigMap; reassigning?: Partial<PartitionState> & { originalReplicas: number[] } } = {}): ControllerState {
  const records: MetadataRecord[] = [{ type: 'cluster', clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' }];
  if (options.clusterConfigs !== undefined) records.push({ type: 'cluster-configs', configs: options.clusterConfigs });
  for (const id of [1, 2, 3, 4]) records.push({ type: 'node', nodeId: id, nodeEpoch: id, incarnationId: `i${id}`, host: 'h', port: 1, rack: '', state: 'active' });
  if (options.replicas !== undefined) {
    const { originalReplicas, ...reassigning }: Partial<PartitionState> & { originalReplicas?: number[] } = options.reassigning ?? {};
    const replicas = reassigning.replicas ?? options.replicas;
    records.push({ type: 'topic', topicId, name: 't', internal: false, configs: options.configs ?? {} });
    records.push({
      type: 'partition',
      topicId,
      partition: {
        partition: 0,
        leader: replicas[0] ?? noLeader,
        leaderEpoch: 0,
        partitionEpoch: 0,
        replicas: [...replicas],
        isr: [...(reassigning.isr ?? replicas)],
        elr: [],
        offlineReplicas: [],
        addingReplicas: [...(reassigning.addingReplicas ?? [])],
        removingReplicas: [...(reassigning.removingReplicas ?? [])],
      },
    });
    if (originalReplicas !== undefined) records.push({ type: 'reassignment', topicId, partition: 0, originalReplicas, startedAtMs: 0 });
  }
  return applyBatch(emptyControllerState, nextBatch(emptyControllerState, records)).state;
}

function create(state: ControllerState, changes: Partial<NewTopicInput>, validateOnly = false): { code?: string; message?: string } {
  const input: NewTopicInput = { name: 'orders', partitionCount: 1, replicationFactor: 2, replicaAssignments: [], configs: {}, ...changes };
  const { result, records } = createTopics(state, { topics: [input], validateOnly }, seededRandom(5));
  if (result[0]?.error !== undefined) expect(records).toEqual([]);
  return { code: result[0]?.error?.code, message: result[0]?.error?.message };
}

function alter(state: ControllerState, changes: readonly ConfigChangeInput[], validateOnly = false): { code?: string; message?: string; records: readonly MetadataRecord[] } {
  const { result, records } = alterTopicConfigs(state, { topics: [{ topic: 't', changes }], validateOnly });
  return { code: result[0]?.error?.code, message: result[0]?.error?.message, records };
}

function reassign(state: ControllerState, targetReplicas: readonly number[], cancel = false): { code?: string; message?: string; records: readonly MetadataRecord[] } {
  const { result, records } = reassignPartitions(state, { partitions: [{ topic: 't', partition: 0, targetReplicas, cancel }], validateOnly: false }, 0);
  return { code: result[0]?.error?.code, message: result[0]?.error?.message, records };
}

describe('min.insync.replicas above the replication factor', () => {
  describe('at creation', () => {
    it('is refused with INVALID_CONFIG naming the topic, the value and the replication factor, validate_only included', () => {
      for (const validateOnly of [false, true]) {
        const refused = create(clusterWith(), { configs: { 'min.insync.replicas': '3' } }, validateOnly);
        expect(refused.code).toBe('INVALID_CONFIG');
        expect(refused.message).toMatch(/^topic orders: min\.insync\.replicas 3 is more than the replication factor 2: .*never become visible/);
      }
    });

    it('counts explicit assignments as the replication factor', () => {
      const refused = create(clusterWith(), { partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [1, 2] }], configs: { 'min.insync.replicas': '3' } });
      expect(refused).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/replication factor 2/) });
    });

    it('is refused when the cluster default would make it so, and says where the value comes from', () => {
      const refused = create(clusterWith({ clusterConfigs: { 'min.insync.replicas': '3' } }), {});
      expect(refused).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/min\.insync\.replicas 3 \(the cluster default\) is more than the replication factor 2/) });
      // The topic's own value wins over the cluster default.
      expect(create(clusterWith({ clusterConfigs: { 'min.insync.replicas': '3' } }), { configs: { 'min.insync.replicas': '2' } }).code).toBeUndefined();
    });

    it('accepts min.insync.replicas equal to the replication factor', () => {
      expect(create(clusterWith(), { replicationFactor: 3, configs: { 'min.insync.replicas': '3' } }).code).toBeUndefined();
    });
  });

  describe('at AlterTopicConfigs', () => {
    it('refuses raising it above the replication factor, validate_only included, and records nothing', () => {
      for (const validateOnly of [false, true]) {
        const refused = alter(clusterWith({ replicas: [1, 2] }), [{ name: 'min.insync.replicas', operation: 'set', value: '3' }], validateOnly);
        expect(refused).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^topic t: min\.insync\.replicas 3 is more than the replication factor 2/), records: [] });
      }
      expect(alter(clusterWith({ replicas: [1, 2] }), [{ name: 'min.insync.replicas', operation: 'set', value: '2' }]).code).toBeUndefined();
    });

    it('refuses deleting an override when the cluster default would then be too high', () => {
      const state = clusterWith({ replicas: [1, 2], configs: { 'min.insync.replicas': '1' }, clusterConfigs: { 'min.insync.replicas': '3' } });
      expect(alter(state, [{ name: 'min.insync.replicas', operation: 'delete' }])).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/\(the cluster default\)/) });
    });

    it('counts the original replicas of a reassignment in progress, which a cancel returns to', () => {
      const state = clusterWith({ replicas: [1, 2], reassigning: { replicas: [1, 2, 3], addingReplicas: [3], isr: [1, 2], originalReplicas: [1, 2] } });
      expect(alter(state, [{ name: 'min.insync.replicas', operation: 'set', value: '3' }])).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/replication factor 2/) });
    });

    it('lets a topic already in that state change its other settings', () => {
      const state = clusterWith({ replicas: [1, 2], configs: { 'min.insync.replicas': '3' } });
      expect(alter(state, [{ name: 'retention.ms', operation: 'set', value: '1000' }]).code).toBeUndefined();
    });
  });

  describe('at ReassignPartitions', () => {
    it('refuses a target with fewer replicas than min.insync.replicas with INVALID_REPLICA_ASSIGNMENT', () => {
      const state = clusterWith({ replicas: [1, 2, 3], configs: { 'min.insync.replicas': '3' } });
      const refused = reassign(state, [1, 2]);
      expect(refused).toMatchObject({ code: 'INVALID_REPLICA_ASSIGNMENT', records: [] });
      expect(refused.message).toMatch(/^partition 0 of topic t: with the target \[1, 2\], min\.insync\.replicas 3 is more than the replication factor 2: /);
      expect(reassign(state, [2, 3, 4]).code).toBeUndefined();
    });

    it('still allows a cancel, even back to fewer replicas than a setting from before this rule asks for', () => {
      const state = clusterWith({ replicas: [1, 2], configs: { 'min.insync.replicas': '3' }, reassigning: { replicas: [1, 2, 3], addingReplicas: [3], isr: [1, 2], originalReplicas: [1, 2] } });
      expect(reassign(state, [], true).code).toBeUndefined();
    });
  });
});
