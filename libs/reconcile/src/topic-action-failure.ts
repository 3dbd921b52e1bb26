/**
 * What a failed action means for the Topic. The spec checks (topic-rules.ts) run the
 * controller's own validation, but the cluster has the last word: a refusal it answers
 * (INVALID_CONFIG, INVALID_REPLICATION_FACTOR, POLICY_VIOLATION, ...) is not retriable, so it
 * becomes Ready=False with a reason and is not retried until the spec changes or a resync
 * (no retry storm); a transport failure or a retriable code is retried with back-off; an
 * answer that only says our observation was stale (the topic already exists, or is already
 * gone) asks for another pass at once.
 */
import { errorCatalogue, type ErrorCode } from '@starlane/model';
import { readyCondition, statusEqual } from './conditions';
import { refused, withReady, type ReconcileContext, type TopicReconcileResult } from './reconcile-topic';
import type { TopicAction } from './topic-actions';
import type { TopicResource } from './topic-resource';

export interface ActionFailure {
  /** The catalogue code the admin API answered; undefined when no answer came (transport failure, deadline). */
  readonly code?: ErrorCode;
  readonly message: string;
}

const refusalReasons: Partial<Record<ErrorCode, string>> = {
  INVALID_CONFIG: 'InvalidConfig',
  INVALID_PARTITIONS: 'InvalidPartitions',
  INVALID_REPLICATION_FACTOR: 'InvalidReplicationFactor',
  INVALID_TOPIC_EXCEPTION: 'InvalidTopicName',
  POLICY_VIOLATION: 'PolicyViolation',
};

function staleObservation(action: TopicAction, code: ErrorCode | undefined): boolean {
  return (action.type === 'createTopic' && code === 'TOPIC_ALREADY_EXISTS') || (action.type === 'deleteTopic' && code === 'UNKNOWN_TOPIC_OR_PARTITION');
}

export function topicActionFailed(desired: TopicResource, action: TopicAction, failure: ActionFailure, context: ReconcileContext): TopicReconcileResult {
  const current = desired.status ?? {};
  if (staleObservation(action, failure.code)) return { actions: [], status: current, statusChanged: false, requeue: 'now' };
  const code = failure.code;
  if (code !== undefined && !errorCatalogue[code].retriable && code !== 'REASSIGNMENT_IN_PROGRESS') {
    const reason = refusalReasons[code] ?? 'RequestRefused';
    const pass = refused(desired, reason, `the cluster refused ${action.type} with ${code}: ${failure.message}; fix the spec`, context, []);
    return { ...pass, statusChanged: !statusEqual(pass.status, desired.status) };
  }
  const what = code === undefined ? 'no answer' : code;
  const message = `${action.type} failed (${what}): ${failure.message}; retrying with back-off`;
  const status = withReady(desired, { type: readyCondition, status: 'False', reason: 'RequestFailed', message }, context);
  return { actions: [], status, statusChanged: !statusEqual(status, desired.status), requeue: 'backoff' };
}
