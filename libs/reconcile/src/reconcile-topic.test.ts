import { clusterUnreachableReleaseMsDefault, reconcileTopic } from './reconcile-topic';
import { olderClaimant } from './topic-rules';
import type { TopicAction } from './topic-actions';
import { pausedAnnotation, topicFinalizer, type ObservedCluster, type ObservedTopic, type TopicResource, type TopicSpec } from './topic-resource';

const nowMs = 1_700_000_000_000;
const context = { nowMs };

function topicResource(spec: Partial<TopicSpec> = {}, extra: Partial<TopicResource['metadata']> = {}): TopicResource {
  return {
    metadata: { name: 'orders', namespace: 'default', generation: 1, finalizers: [topicFinalizer], ...extra },
    spec: { clusterRef: { name: 'main' }, partitions: 3, replicationFactor: 2, config: { 'retention.ms': '60000' }, ...spec },
  };
}

function observedTopic(fields: Partial<ObservedTopic> = {}): ObservedTopic {
  return { name: 'orders', topicId: 'id-1', partitions: 3, replicationFactor: 2, configs: { 'retention.ms': '60000' }, ...fields };
}

function reachable(topic?: ObservedTopic, nodeCount = 3): ObservedCluster {
  return topic === undefined ? { kind: 'reachable', nodeCount } : { kind: 'reachable', nodeCount, topic };
}

function types(actions: readonly TopicAction[]): string[] {
  return actions.map((action) => (action.type === 'event' ? `event:${action.eventType}:${action.reason}` : action.type));
}

/** Runs a pass and returns the resource as it is after the operator wrote the status. */
function converged(resource: TopicResource, observed: ObservedCluster, at = context): TopicResource {
  return { ...resource, status: reconcileTopic(resource, observed, at).status };
}

function ready(resource: TopicResource): { status: string; reason: string; message: string } | undefined {
  return resource.status?.conditions?.find((condition) => condition.type === 'Ready');
}

describe('reconcileTopic: a live Topic', () => {
  it('creates with the cluster default when the replication factor is not declared, and leaves it alone afterwards', () => {
    const { replicationFactor: _declared, ...spec } = topicResource().spec;
    const undeclared: TopicResource = { ...topicResource(), spec };
    const created = reconcileTopic(undeclared, reachable(undefined, 1), context);
    expect(created.actions).toEqual([{ type: 'createTopic', topicName: 'orders', partitions: 3, configs: { 'retention.ms': '60000' } }]);
    const existing = reconcileTopic(undeclared, reachable(observedTopic({ replicationFactor: 1 }), 3), context);
    expect(existing.actions).toEqual([]);
    expect(ready({ ...undeclared, status: existing.status })).toMatchObject({ status: 'True', reason: 'Reconciled' });
  });

  it('adds the finalizer before creating the topic with the declared configs', () => {
    const result = reconcileTopic(topicResource({}, { finalizers: [] }), reachable(), context);
    expect(result.actions).toEqual([
      { type: 'addFinalizer', finalizer: topicFinalizer },
      { type: 'createTopic', topicName: 'orders', partitions: 3, replicationFactor: 2, configs: { 'retention.ms': '60000' } },
    ]);
    expect(result.requeue).toBe('now');
    expect(result.statusChanged).toBe(true);
  });

  it('uses spec.topicName over metadata.name (Kafka names allow _ and upper case)', () => {
    const result = reconcileTopic(topicResource({ topicName: 'Orders_EU' }), reachable(), context);
    expect(result.actions).toContainEqual(expect.objectContaining({ type: 'createTopic', topicName: 'Orders_EU' }));
  });

  it('is Ready with the effective fields once the topic matches, and a second pass changes nothing', () => {
    const resource = converged(topicResource(), reachable(observedTopic()));
    expect(ready(resource)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(resource.status).toMatchObject({ observedGeneration: 1, topicId: 'id-1', topicName: 'orders', partitions: 3, replicationFactor: 2 });
    const again = reconcileTopic(resource, reachable(observedTopic()), { nowMs: nowMs + 60_000 });
    expect(again.actions).toEqual([]);
    expect(again.statusChanged).toBe(false);
    expect(again.requeue).toBe('none');
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status flips', () => {
    const first = converged(topicResource(), reachable(observedTopic()));
    const time = first.status?.conditions?.[0]?.lastTransitionTime;
    const bumped = { ...first, metadata: { ...first.metadata, generation: 2 } };
    const second = converged(bumped, reachable(observedTopic()), { nowMs: nowMs + 1000 });
    expect(second.status?.conditions?.[0]?.lastTransitionTime).toBe(time);
    expect(second.status?.observedGeneration).toBe(2);
    const third = converged({ ...second, spec: { ...second.spec, partitions: 2 } }, reachable(observedTopic()), { nowMs: nowMs + 2000 });
    expect(ready(third)).toMatchObject({ status: 'False', reason: 'PartitionDecreaseNotSupported' });
    expect(third.status?.conditions?.[0]?.lastTransitionTime).toBe(new Date(nowMs + 2000).toISOString());
  });

  it('sets only declared configs that differ and leaves undeclared configs alone', () => {
    const observed = observedTopic({ configs: { 'retention.ms': '1', 'cleanup.policy': 'compact' } });
    const result = reconcileTopic(topicResource(), reachable(observed), context);
    expect(result.actions).toEqual([{ type: 'alterConfigs', topicName: 'orders', set: { 'retention.ms': '60000' }, reset: [] }]);
  });

  it('resets a config the spec declared before and has dropped, but no other', () => {
    const before = converged(topicResource({ config: { 'retention.ms': '60000', 'segment.ms': '1000' } }), reachable(observedTopic({ configs: { 'retention.ms': '60000', 'segment.ms': '1000' } })));
    expect(before.status?.managedConfigKeys).toEqual(['retention.ms', 'segment.ms']);
    const dropped = { ...before, spec: { ...before.spec, config: { 'retention.ms': '60000' } } };
    const observed = observedTopic({ configs: { 'retention.ms': '60000', 'segment.ms': '1000', 'cleanup.policy': 'compact' } });
    const result = reconcileTopic(dropped, reachable(observed), context);
    expect(result.actions).toEqual([{ type: 'alterConfigs', topicName: 'orders', set: {}, reset: ['segment.ms'] }]);
    expect(result.status.managedConfigKeys).toEqual(['retention.ms']);
  });

  it('reverts drift made behind its back', () => {
    const resource = converged(topicResource(), reachable(observedTopic()));
    const drifted = observedTopic({ configs: { 'retention.ms': '5' }, replicationFactor: 1 });
    const result = reconcileTopic(resource, reachable(drifted), context);
    expect(types(result.actions)).toEqual(['alterConfigs', 'reassignReplicationFactor']);
    expect(ready({ ...resource, status: result.status })).toMatchObject({ status: 'False', reason: 'Updating' });
  });

  it('adds partitions on an increase', () => {
    const result = reconcileTopic(topicResource({ partitions: 6 }), reachable(observedTopic()), context);
    expect(result.actions).toEqual([{ type: 'createPartitions', topicName: 'orders', totalCount: 6 }]);
  });

  it('changes the replication factor by reassignment, and waits while one is in progress', () => {
    const result = reconcileTopic(topicResource({ replicationFactor: 3 }), reachable(observedTopic()), context);
    expect(result.actions).toEqual([{ type: 'reassignReplicationFactor', topicName: 'orders', replicationFactor: 3 }]);
    const moving = reconcileTopic(topicResource({ replicationFactor: 3 }), reachable(observedTopic({ reassigning: true })), context);
    expect(moving.actions).toEqual([]);
    expect(moving.requeue).toBe('backoff');
    expect(moving.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Reassigning' });
  });

  it.each<[string, Partial<TopicSpec>, ObservedTopic | undefined, string, RegExp]>([
    ['a partition decrease', { partitions: 2 }, observedTopic(), 'PartitionDecreaseNotSupported', /at least 3/],
    ['zero partitions', { partitions: 0 }, undefined, 'InvalidPartitions', /at least 1/],
    ['an unknown config', { config: { 'retention.mss': '1' } }, undefined, 'InvalidConfig', /unknown topic config "retention.mss".*fix spec.config/],
    ['a bad config value', { config: { 'cleanup.policy': 'sometimes' } }, undefined, 'InvalidConfig', /fix spec.config/],
    ['a replication factor above the node count', { replicationFactor: 4 }, undefined, 'ReplicationFactorTooLarge', /3 node\(s\); lower it or add nodes/],
    ['an invalid topic name', { topicName: 'has space' }, undefined, 'InvalidTopicName', /set spec.topicName/],
    // What a CRD without its schema constraints (an older or hand-edited one) lets through admission.
    ['negative partitions', { partitions: -1 }, undefined, 'InvalidPartitions', /at least 1, got -1/],
    ['a topic name outside the pattern', { topicName: 'bad name!' }, undefined, 'InvalidTopicName', /only ASCII letters.*set spec.topicName/],
    ['a too-long topic name', { topicName: 'x'.repeat(250) }, undefined, 'InvalidTopicName', /250 characters, the maximum is 249.*set spec.topicName/],
    ['a reserved topic name', { topicName: '..' }, undefined, 'InvalidTopicName', /reserved.*set spec.topicName/],
  ])('refuses %s with Ready=False, a reason, one Warning event and no retry', (_what, spec, topic, reason, message) => {
    const result = reconcileTopic(topicResource(spec), reachable(topic), context);
    expect(result.actions).toEqual([{ type: 'event', eventType: 'Warning', reason, message: expect.stringMatching(message) }]);
    expect(result.status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason, message: expect.stringMatching(message) });
    expect(result.requeue).toBe('none');
    const again = reconcileTopic({ ...topicResource(spec), status: result.status }, reachable(topic), { nowMs: nowMs + 1000 });
    expect(again.actions).toEqual([]);
    expect(again.statusChanged).toBe(false);
  });

  it('refuses a rename of the topic', () => {
    const resource = converged(topicResource(), reachable(observedTopic()));
    const result = reconcileTopic({ ...resource, spec: { ...resource.spec, topicName: 'orders2' } }, reachable(), context);
    expect(result.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'TopicNameChangeNotSupported' });
    expect(types(result.actions)).toEqual(['event:Warning:TopicNameChangeNotSupported']);
  });

  it('retries with back-off while the cluster is unreachable, and points at clusterRef when the Cluster is gone', () => {
    const down = reconcileTopic(topicResource(), { kind: 'unreachable', sinceMs: nowMs, message: 'connect ECONNREFUSED' }, context);
    expect(down).toMatchObject({ actions: [], requeue: 'backoff' });
    expect(down.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'ClusterUnreachable' });
    const gone = reconcileTopic(topicResource(), { kind: 'gone', message: 'Cluster "main" not found' }, context);
    expect(gone.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'ClusterNotFound', message: expect.stringMatching(/fix spec.clusterRef/) });
  });

  it('does nothing while paused, says so, and resumes when the annotation goes', () => {
    const paused = topicResource({ partitions: 9 }, { annotations: { [pausedAnnotation]: 'true' } });
    const result = reconcileTopic(paused, reachable(observedTopic()), context);
    expect(result.actions).toEqual([]);
    expect(result.status.conditions).toEqual([expect.objectContaining({ type: 'ReconciliationPaused', status: 'True' })]);
    const resumed = reconcileTopic({ ...paused, metadata: { ...paused.metadata, annotations: {} }, status: result.status }, reachable(observedTopic()), context);
    expect(types(resumed.actions)).toEqual(['createPartitions']);
    expect(resumed.status.conditions?.map((condition) => condition.type)).toEqual(['Ready']);
  });
});

describe('reconcileTopic: a Topic being deleted', () => {
  const deleting = (spec: Partial<TopicSpec> = {}): TopicResource => {
    const live = converged(topicResource(spec), reachable(observedTopic()));
    return { ...live, metadata: { ...live.metadata, deletionTimestamp: '2023-11-14T22:13:20Z' } };
  };

  it('Delete: deletes the topic, then releases the finalizer', () => {
    const result = reconcileTopic(deleting(), reachable(observedTopic()), context);
    expect(types(result.actions)).toEqual(['deleteTopic', 'event:Normal:TopicDeleted', 'removeFinalizer']);
    expect(result.actions[0]).toEqual({ type: 'deleteTopic', topicName: 'orders', topicId: 'id-1' });
  });

  it('Retain: keeps the topic and releases the finalizer', () => {
    const result = reconcileTopic(deleting({ deletionPolicy: 'Retain' }), reachable(observedTopic()), context);
    expect(types(result.actions)).toEqual(['event:Normal:TopicRetained', 'removeFinalizer']);
  });

  it('never deletes a topic of the same name it did not manage', () => {
    const result = reconcileTopic(deleting(), reachable(observedTopic({ topicId: 'id-2' })), context);
    expect(types(result.actions)).toEqual(['event:Warning:TopicNotManaged', 'removeFinalizer']);
  });

  it('never deletes a topic whose id it never recorded (the spec was refused from the start)', () => {
    const refusedFromStart = { ...topicResource({ replicationFactor: 4 }), metadata: { ...topicResource().metadata, deletionTimestamp: '2023-11-14T22:13:20Z' } };
    const result = reconcileTopic(refusedFromStart, reachable(observedTopic()), context);
    expect(types(result.actions)).toEqual(['event:Warning:TopicNotManaged', 'removeFinalizer']);
  });

  it('releases the finalizer with a Warning when the cluster is gone', () => {
    const result = reconcileTopic(deleting(), { kind: 'gone', message: 'Cluster "main" not found' }, context);
    expect(types(result.actions)).toEqual(['event:Warning:FinalizerReleased', 'removeFinalizer']);
  });

  it('waits for an unreachable cluster, then releases the finalizer with a Warning after the grace period', () => {
    const down: ObservedCluster = { kind: 'unreachable', sinceMs: nowMs, message: 'timeout' };
    const early = reconcileTopic(deleting(), down, { nowMs: nowMs + clusterUnreachableReleaseMsDefault - 1 });
    expect(early).toMatchObject({ actions: [], requeue: 'backoff' });
    const late = reconcileTopic(deleting(), down, { nowMs: nowMs + clusterUnreachableReleaseMsDefault });
    expect(types(late.actions)).toEqual(['event:Warning:FinalizerReleased', 'removeFinalizer']);
  });

  it('releases the finalizer when the topic is already absent, and does nothing once it is released', () => {
    expect(types(reconcileTopic(deleting(), reachable(), context).actions)).toEqual(['event:Normal:TopicAbsent', 'removeFinalizer']);
    const released = { ...deleting(), metadata: { ...deleting().metadata, finalizers: [] } };
    expect(reconcileTopic(released, reachable(observedTopic()), context)).toMatchObject({ actions: [], statusChanged: false });
  });
});

describe('reconcileTopic: two Topics claiming one topic name', () => {
  const at = (name: string, creationTimestamp: string, spec: Partial<TopicSpec> = {}): TopicResource => topicResource({ topicName: 'orders', ...spec }, { name, creationTimestamp });

  it('lets the oldest manage the topic and refuses the others with a reason and one Warning event', () => {
    const first = at('orders-a', '2026-01-01T00:00:00Z');
    const second = at('orders-b', '2026-01-02T00:00:00Z');
    expect(olderClaimant(first, [first, second])).toBeUndefined();
    expect(olderClaimant(second, [first, second])).toBe(first);
    const result = reconcileTopic(second, reachable(observedTopic()), { ...context, claimedBy: first });
    expect(types(result.actions)).toEqual(['event:Warning:TopicNameConflict']);
    expect(ready({ ...second, status: result.status })).toMatchObject({ status: 'False', reason: 'TopicNameConflict', message: expect.stringMatching(/default\/orders-a already manages topic "orders"/) });
  });

  it('counts only Topics of the same cluster, and breaks a creation-time tie by name', () => {
    const mine = at('orders-b', '2026-01-01T00:00:00Z');
    expect(olderClaimant(mine, [at('orders-a', '2026-01-01T00:00:00Z', { clusterRef: { name: 'other' } })])).toBeUndefined();
    expect(olderClaimant(mine, [at('orders-a', '2026-01-01T00:00:00Z')])?.metadata.name).toBe('orders-a');
    expect(olderClaimant(mine, [at('orders-c', '2026-01-01T00:00:00Z')])).toBeUndefined();
  });
});
