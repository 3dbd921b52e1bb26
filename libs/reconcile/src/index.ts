export { pausedCondition, readyCondition, setCondition, statusEqual, type ConditionInput } from './conditions';
export { clusterUnreachableReleaseMsDefault, reconcileTopic, type ReconcileContext, type TopicReconcileResult } from './reconcile-topic';
export { type Requeue, type TopicAction } from './topic-actions';
export {
  clusterRefText,
  pausedAnnotation,
  topicFinalizer,
  type ClusterRef,
  type Condition,
  type ConditionStatus,
  type DeletionPolicy,
  type ObservedCluster,
  type ObservedTopic,
  type TopicMetadata,
  type TopicResource,
  type TopicSpec,
  type TopicStatus,
} from './topic-resource';
export { effectiveTopicName, olderClaimant, type Refusal } from './topic-rules';
export {
  TopicController,
  clusterKeyOf,
  immediateRequeuesInARowMax,
  newer,
  type AdminAction,
  type AdminActionType,
  type AdminOutcome,
  type ClusterObservation,
  type EventAction,
  type LogLevel,
  type PassResult,
  type TopicControllerOptions,
  type TopicControllerPorts,
} from './topic-controller';
export { WorkQueue, workQueueBoundsDefault, type WorkQueueBounds, type WorkQueueOptions } from './work-queue';
export {
  afterLeaseWrite,
  decideLease,
  isLeading,
  leaderElectionDurationsDefault,
  newElector,
  releaseLease,
  type ElectorState,
  type LeaderElectionDurations,
  type LeaseDecision,
  type LeaseRecord,
  type LeaseWriteOutcome,
  type ObservedLease,
} from './leader-election';
export { topicActionFailed, type ActionFailure } from './topic-action-failure';
export { planReplicationFactor } from './replica-plan';
