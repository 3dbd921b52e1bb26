/**
 * The Topic reconciler: one pure, level-triggered pass from (desired resource, observed cluster)
 * to the actions that bring Starlane to the spec and the status to write. It reads no event
 * history, so running it again on the same inputs gives the same answer, and on a converged
 * object it gives no actions and an unchanged status (idempotent). See README.md for the rules.
 */
import { pausedCondition, readyCondition, removeCondition, setCondition, statusEqual, type ConditionInput } from './conditions';
import type { Requeue, TopicAction } from './topic-actions';
import { clusterRefText, pausedAnnotation, topicFinalizer, type ObservedCluster, type ObservedTopic, type TopicResource, type TopicStatus } from './topic-resource';
import { clusterRefusal, effectiveTopicName, specRefusal } from './topic-rules';

/**
 * How long a deleted Topic waits for an unreachable Starlane cluster before its finalizer is
 * released anyway (with a Warning event): a finalizer must never hold a namespace forever
 * (Strimzi #11901), yet a short network blip must not leave a topic behind.
 */
export const clusterUnreachableReleaseMsDefault = 5 * 60_000;

export interface ReconcileContext {
  /** Now, by the injected clock. */
  readonly nowMs: number;
  /** An older Topic that claims the same topic name on the same cluster (`olderClaimant`): this one is refused. */
  readonly claimedBy?: TopicResource;
  readonly clusterUnreachableReleaseMs?: number;
}

export interface TopicReconcileResult {
  readonly actions: readonly TopicAction[];
  readonly status: TopicStatus;
  /** False when `status` equals the resource's current status: the operator then writes nothing. */
  readonly statusChanged: boolean;
  readonly requeue: Requeue;
}

export interface Pass {
  readonly actions: TopicAction[];
  readonly status: TopicStatus;
  readonly requeue: Requeue;
}

export function reconcileTopic(desired: TopicResource, observed: ObservedCluster, context: ReconcileContext): TopicReconcileResult {
  const pass = desired.metadata.deletionTimestamp !== undefined ? finalize(desired, observed, context) : reconcileLive(desired, observed, context);
  return { ...pass, statusChanged: !statusEqual(pass.status, desired.status) };
}

function nowIso(context: ReconcileContext): string {
  return new Date(context.nowMs).toISOString();
}

function hasFinalizer(resource: TopicResource): boolean {
  return (resource.metadata.finalizers ?? []).includes(topicFinalizer);
}

function isPaused(resource: TopicResource): boolean {
  return resource.metadata.annotations?.[pausedAnnotation]?.trim().toLowerCase() === 'true';
}

/** The status with Ready set, observedGeneration advanced and the pause condition cleared. */
export function withReady(resource: TopicResource, ready: ConditionInput, context: ReconcileContext, fields: Partial<TopicStatus> = {}): TopicStatus {
  const generation = resource.metadata.generation;
  const previous = resource.status ?? {};
  const conditions = setCondition(removeCondition(previous.conditions, pausedCondition), ready, nowIso(context), generation);
  return { ...previous, ...fields, conditions, ...(generation === undefined ? {} : { observedGeneration: generation }) };
}

export function refused(resource: TopicResource, reason: string, message: string, context: ReconcileContext, actions: TopicAction[]): Pass {
  const status = withReady(resource, { type: readyCondition, status: 'False', reason, message }, context);
  const known = resource.status?.conditions?.find((condition) => condition.type === readyCondition);
  // One Warning event per refusal, not one per pass: a resync must not flood the Events.
  const event: TopicAction[] = known?.reason === reason && known.status === 'False' ? [] : [{ type: 'event', eventType: 'Warning', reason, message }];
  return { actions: [...actions, ...event], status, requeue: 'none' };
}

function reconcileLive(resource: TopicResource, observed: ObservedCluster, context: ReconcileContext): Pass {
  if (isPaused(resource)) {
    const conditions = setCondition(resource.status?.conditions, { type: pausedCondition, status: 'True', reason: 'ReconciliationPaused', message: `annotation ${pausedAnnotation} is "true"; remove it to resume` }, nowIso(context), resource.metadata.generation);
    return { actions: [], status: { ...resource.status, conditions }, requeue: 'none' };
  }
  const actions: TopicAction[] = hasFinalizer(resource) ? [] : [{ type: 'addFinalizer', finalizer: topicFinalizer }];
  const bad = specRefusal(resource);
  if (bad !== undefined) return refused(resource, bad.reason, bad.message, context, actions);
  if (context.claimedBy !== undefined) {
    const owner = `${context.claimedBy.metadata.namespace ?? ''}/${context.claimedBy.metadata.name}`;
    const message = `Topic ${owner} already manages topic ${JSON.stringify(effectiveTopicName(resource))} on cluster ${JSON.stringify(clusterRefText(resource))} (the oldest Topic wins); delete this Topic or set a different spec.topicName`;
    return refused(resource, 'TopicNameConflict', message, context, actions);
  }
  if (observed.kind === 'gone') return refused(resource, 'ClusterNotFound', `${observed.message}; create Cluster ${JSON.stringify(clusterRefText(resource))} or fix spec.clusterRef`, context, actions);
  if (observed.kind === 'unreachable') {
    const message = `Starlane cluster ${JSON.stringify(clusterRefText(resource))} did not answer: ${observed.message}; retrying with back-off`;
    return { actions, status: withReady(resource, { type: readyCondition, status: 'False', reason: 'ClusterUnreachable', message }, context), requeue: 'backoff' };
  }
  const refusal = clusterRefusal(resource, observed.nodeCount, observed.topic);
  if (refusal !== undefined) return refused(resource, refusal.reason, refusal.message, context, actions);
  const name = effectiveTopicName(resource);
  const declared = resource.spec.config ?? {};
  const managedConfigKeys = Object.keys(declared).sort();
  if (observed.topic === undefined) {
    const { partitions, replicationFactor } = resource.spec;
    actions.push({ type: 'createTopic', topicName: name, partitions, ...(replicationFactor === undefined ? {} : { replicationFactor }), configs: declared });
    const message = `creating topic ${JSON.stringify(name)}`;
    const status = withReady(resource, { type: readyCondition, status: 'False', reason: 'Creating', message }, context, { topicName: name, managedConfigKeys });
    return { actions, status, requeue: 'now' };
  }
  return converge(resource, observed.topic, context, actions, managedConfigKeys);
}

/** Only the declared keys and the ones the spec dropped since the last pass: undeclared configs are left alone. */
function configChanges(resource: TopicResource, topic: ObservedTopic): { set: Record<string, string>; reset: string[] } {
  const declared = resource.spec.config ?? {};
  const set: Record<string, string> = {};
  for (const [key, value] of Object.entries(declared)) if (topic.configs[key] !== value) set[key] = value;
  const reset = (resource.status?.managedConfigKeys ?? []).filter((key) => !Object.hasOwn(declared, key) && Object.hasOwn(topic.configs, key)).sort();
  return { set, reset };
}

function converge(resource: TopicResource, topic: ObservedTopic, context: ReconcileContext, actions: TopicAction[], managedConfigKeys: string[]): Pass {
  // An undeclared replication factor (the cluster's default at creation) is left alone, like an undeclared config.
  const { partitions } = resource.spec;
  const replicationFactor = resource.spec.replicationFactor ?? topic.replicationFactor;
  const changes = configChanges(resource, topic);
  if (Object.keys(changes.set).length > 0 || changes.reset.length > 0) actions.push({ type: 'alterConfigs', topicName: topic.name, ...changes });
  if (partitions > topic.partitions) actions.push({ type: 'createPartitions', topicName: topic.name, totalCount: partitions });
  const moving = topic.reassigning === true;
  if (!moving && replicationFactor !== topic.replicationFactor) actions.push({ type: 'reassignReplicationFactor', topicName: topic.name, replicationFactor });
  const fields: Partial<TopicStatus> = {
    topicId: topic.topicId,
    topicName: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    managedConfigKeys,
  };
  const drifted = actions.some((action) => action.type !== 'addFinalizer');
  if (moving) {
    const message = `a partition reassignment of ${JSON.stringify(topic.name)} is in progress (replication factor ${topic.replicationFactor}, wanted ${replicationFactor})`;
    return { actions, status: withReady(resource, { type: readyCondition, status: 'False', reason: 'Reassigning', message }, context, fields), requeue: 'backoff' };
  }
  if (drifted) {
    const message = `bringing topic ${JSON.stringify(topic.name)} to the spec`;
    return { actions, status: withReady(resource, { type: readyCondition, status: 'False', reason: 'Updating', message }, context, fields), requeue: 'now' };
  }
  const message = `topic ${JSON.stringify(topic.name)} matches the spec`;
  return { actions, status: withReady(resource, { type: readyCondition, status: 'True', reason: 'Reconciled', message }, context, fields), requeue: 'none' };
}

/** A Topic being deleted: the finalizer policy (README.md, "Deletion"). */
function finalize(resource: TopicResource, observed: ObservedCluster, context: ReconcileContext): Pass {
  const status = resource.status ?? {};
  if (!hasFinalizer(resource)) return { actions: [], status, requeue: 'none' };
  const release: TopicAction = { type: 'removeFinalizer', finalizer: topicFinalizer };
  const name = status.topicName ?? effectiveTopicName(resource);
  const releaseMs = context.clusterUnreachableReleaseMs ?? clusterUnreachableReleaseMsDefault;
  if (observed.kind === 'unreachable' && context.nowMs - observed.sinceMs < releaseMs) {
    const message = `waiting for Starlane cluster ${JSON.stringify(clusterRefText(resource))} to delete topic ${JSON.stringify(name)}: ${observed.message}`;
    return { actions: [], status: withReady(resource, { type: readyCondition, status: 'False', reason: 'ClusterUnreachable', message }, context), requeue: 'backoff' };
  }
  if (observed.kind !== 'reachable') {
    const message = `Starlane cluster ${JSON.stringify(clusterRefText(resource))} is gone (${observed.message}); topic ${JSON.stringify(name)} was not deleted and the finalizer is released`;
    return { actions: [{ type: 'event', eventType: 'Warning', reason: 'FinalizerReleased', message }, release], status, requeue: 'none' };
  }
  if (isPaused(resource)) {
    const message = `reconciliation is paused; topic ${JSON.stringify(name)} is kept`;
    return { actions: [{ type: 'event', eventType: 'Normal', reason: 'TopicRetained', message }, release], status, requeue: 'none' };
  }
  const topic = observed.topic;
  const retain = (resource.spec.deletionPolicy ?? 'Delete') === 'Retain';
  if (topic === undefined || retain) {
    const reason = topic === undefined ? 'TopicAbsent' : 'TopicRetained';
    const message = topic === undefined ? `topic ${JSON.stringify(name)} does not exist` : `deletionPolicy is Retain; topic ${JSON.stringify(name)} and its data are kept`;
    return { actions: [{ type: 'event', eventType: 'Normal', reason, message }, release], status, requeue: 'none' };
  }
  if (status.topicId !== topic.topicId) {
    // Never delete what this Topic did not record managing: a topic of that name recreated behind our back, or one
    // that existed while the spec was refused. A topic left behind can be deleted by hand; deleted data cannot come back.
    const message =
      status.topicId === undefined
        ? `topic ${JSON.stringify(name)} (id ${topic.topicId}) was never brought to this Topic's spec; it is kept`
        : `topic ${JSON.stringify(name)} has id ${topic.topicId}, not ${status.topicId} that this Topic managed; it is kept`;
    return { actions: [{ type: 'event', eventType: 'Warning', reason: 'TopicNotManaged', message }, release], status, requeue: 'none' };
  }
  const deleted: TopicAction = { type: 'event', eventType: 'Normal', reason: 'TopicDeleted', message: `deleted topic ${JSON.stringify(name)}` };
  return { actions: [{ type: 'deleteTopic', topicName: topic.name, topicId: topic.topicId }, deleted, release], status, requeue: 'none' };
}
