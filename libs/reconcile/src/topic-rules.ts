/**
 * The checks a Topic's spec must pass before anything is sent to Starlane. Each refusal names
 * a reason (the Ready condition's) and says what to do. Names and configs are checked with the
 * very rules the controller applies (libs/model validateTopicName, libs/metadata
 * validateTopicConfigs), so the operator refuses exactly what the cluster would refuse.
 */
import { validateTopicConfigs } from '@starlane/metadata';
import { StarlaneError, validateTopicName } from '@starlane/model';
import { clusterRefText, type ObservedTopic, type TopicResource } from './topic-resource';

export interface Refusal {
  readonly reason: string;
  readonly message: string;
}

export function effectiveTopicName(resource: TopicResource): string {
  const declared = resource.spec.topicName;
  return declared === undefined || declared === '' ? resource.metadata.name : declared;
}

function caught(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof StarlaneError) return error.message;
    throw error;
  }
}

/** Refusals that need no look at the cluster. */
export function specRefusal(resource: TopicResource): Refusal | undefined {
  const name = effectiveTopicName(resource);
  const badName = caught(() => validateTopicName(name));
  if (badName !== undefined) return { reason: 'InvalidTopicName', message: `${badName}; set spec.topicName to a valid Starlane topic name` };
  const previous = resource.status?.topicName;
  if (previous !== undefined && previous !== name) {
    return { reason: 'TopicNameChangeNotSupported', message: `spec.topicName changed from ${JSON.stringify(previous)} to ${JSON.stringify(name)}; a topic cannot be renamed: set it back, or create a new Topic` };
  }
  const { partitions, replicationFactor } = resource.spec;
  if (!Number.isInteger(partitions) || partitions < 1) return { reason: 'InvalidPartitions', message: `spec.partitions must be an integer of at least 1, got ${partitions}` };
  if (replicationFactor !== undefined && (!Number.isInteger(replicationFactor) || replicationFactor < 1)) {
    return { reason: 'InvalidReplicationFactor', message: `spec.replicationFactor must be an integer of at least 1, got ${replicationFactor}` };
  }
  const badConfig = caught(() => validateTopicConfigs(resource.spec.config ?? {}));
  if (badConfig !== undefined) return { reason: 'InvalidConfig', message: `${badConfig}; fix spec.config` };
  return undefined;
}

/** Refusals that depend on the cluster as observed. */
export function clusterRefusal(resource: TopicResource, nodeCount: number, topic: ObservedTopic | undefined): Refusal | undefined {
  const { partitions, replicationFactor } = resource.spec;
  if (replicationFactor !== undefined && replicationFactor > nodeCount) {
    return {
      reason: 'ReplicationFactorTooLarge',
      message: `spec.replicationFactor is ${replicationFactor} but the cluster has ${nodeCount} node(s); lower it or add nodes`,
    };
  }
  if (topic !== undefined && partitions < topic.partitions) {
    return {
      reason: 'PartitionDecreaseNotSupported',
      message: `the topic has ${topic.partitions} partitions and partitions can only be added (Kafka's rule); set spec.partitions to at least ${topic.partitions}`,
    };
  }
  return undefined;
}

function objectName(resource: TopicResource): string {
  return `${resource.metadata.namespace ?? ''}/${resource.metadata.name}`;
}

/** Which of two Topics came first: the older creationTimestamp, then the name (so all replicas agree). */
function older(a: TopicResource, b: TopicResource): boolean {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  if (at !== bt) return at !== '' && (bt === '' || Date.parse(at) < Date.parse(bt));
  return objectName(a) < objectName(b);
}

/**
 * The oldest other Topic that claims the same topic name on the same cluster, if it is older
 * than `resource`: two Topics managing one topic would undo each other's configs on every
 * resync (Strimzi #6578), so the oldest wins and the others are refused (as Strimzi does).
 */
export function olderClaimant(resource: TopicResource, others: Iterable<TopicResource>): TopicResource | undefined {
  const cluster = clusterRefText(resource);
  const name = effectiveTopicName(resource);
  let oldest: TopicResource | undefined;
  for (const other of others) {
    if (objectName(other) === objectName(resource) || clusterRefText(other) !== cluster || effectiveTopicName(other) !== name) continue;
    if (older(other, resource) && (oldest === undefined || older(other, oldest))) oldest = other;
  }
  return oldest;
}
