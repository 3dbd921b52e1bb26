import type { ErrorCode } from '@starlane/model';
import { topicActionFailed } from './topic-action-failure';
import type { TopicAction } from './topic-actions';
import { topicFinalizer, type TopicResource } from './topic-resource';

const context = { nowMs: 1_700_000_000_000 };
const resource: TopicResource = {
  metadata: { name: 'orders', generation: 2, finalizers: [topicFinalizer] },
  spec: { clusterRef: { name: 'main' }, partitions: 3, replicationFactor: 2, config: { 'retention.ms': '60000' } },
};
const alter: TopicAction = { type: 'alterConfigs', topicName: 'orders', set: { 'retention.ms': '60000' }, reset: [] };
const create: TopicAction = { type: 'createTopic', topicName: 'orders', partitions: 3, replicationFactor: 2, configs: {} };

describe('topicActionFailed', () => {
  it.each<[ErrorCode, string]>([
    ['INVALID_CONFIG', 'InvalidConfig'],
    ['INVALID_REPLICATION_FACTOR', 'InvalidReplicationFactor'],
    ['POLICY_VIOLATION', 'PolicyViolation'],
    ['INVALID_REQUEST', 'RequestRefused'],
  ])('turns a refusal %s into Ready=False %s with one Warning event and no retry', (code, reason) => {
    const result = topicActionFailed(resource, alter, { code, message: 'no' }, context);
    expect(result.status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason, message: expect.stringMatching(/fix the spec/) });
    expect(result.actions).toEqual([expect.objectContaining({ type: 'event', eventType: 'Warning', reason })]);
    expect(result.requeue).toBe('none');
    const again = topicActionFailed({ ...resource, status: result.status }, alter, { code, message: 'no' }, context);
    expect(again).toMatchObject({ actions: [], statusChanged: false });
  });

  it('retries a transport failure or a retriable code with back-off', () => {
    for (const failure of [{ message: 'deadline exceeded' }, { code: 'NOT_CONTROLLER' as const, message: 'moved' }, { code: 'REASSIGNMENT_IN_PROGRESS' as const, message: 'busy' }]) {
      const result = topicActionFailed(resource, alter, failure, context);
      expect(result).toMatchObject({ actions: [], requeue: 'backoff' });
      expect(result.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'RequestFailed' });
    }
  });

  it('reconciles again at once when the answer says only that the observation was stale', () => {
    expect(topicActionFailed(resource, create, { code: 'TOPIC_ALREADY_EXISTS', message: 'exists' }, context)).toMatchObject({ actions: [], statusChanged: false, requeue: 'now' });
    const remove: TopicAction = { type: 'deleteTopic', topicName: 'orders', topicId: 'id-1' };
    expect(topicActionFailed(resource, remove, { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'gone' }, context)).toMatchObject({ requeue: 'now' });
  });
});
