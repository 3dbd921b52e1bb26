import { conditionsSchema, type Condition, type CrdDefinition } from './schema';

/** What happens to the Starlane topic when its Topic resource is deleted. */
export type DeletionPolicy = 'Delete' | 'Retain';
export const deletionPolicies: readonly DeletionPolicy[] = ['Delete', 'Retain'];

/** A reference to the Cluster resource that hosts the topic (same namespace unless given). */
export interface ClusterRef {
  name: string;
  namespace?: string;
}

export interface TopicSpec {
  clusterRef: ClusterRef;
  /** The Starlane (Kafka) topic name; defaults to metadata.name. Kafka names allow `_` and upper case. */
  topicName?: string;
  partitions: number;
  replicationFactor?: number;
  /** Topic configs (retention.ms, cleanup.policy, ...); configs not listed here are left alone. */
  config?: Record<string, string>;
  deletionPolicy?: DeletionPolicy;
}

export interface TopicStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  topicId?: string;
  /** The effective topic name in Starlane (spec.topicName or metadata.name). */
  topicName?: string;
  partitions?: number;
  replicationFactor?: number;
  /**
   * The config keys the spec declared when last applied: a key dropped from the spec is reset
   * to its default once, while keys the resource never declared are left alone.
   */
  managedConfigKeys?: string[];
}

/** Reasons of the Topic's Ready condition; the message says what to do. */
export const topicReadyReasons = [
  'Reconciled',
  'Creating',
  'Updating',
  'Reassigning',
  'ClusterNotFound',
  'ClusterUnreachable',
  'InvalidTopicName',
  'InvalidPartitions',
  'InvalidReplicationFactor',
  'PartitionDecreaseNotSupported',
  'InvalidConfig',
  'ReplicationFactorTooLarge',
  'TopicNameChangeNotSupported',
  'TopicNameConflict',
  'PolicyViolation',
  'RequestRefused',
  'RequestFailed',
] as const;
export type TopicReadyReason = (typeof topicReadyReasons)[number];

// Kafka's own limits on a topic name (Topic.java: legal chars [a-zA-Z0-9._-], at most 249).
export const topicNamePattern = '^[a-zA-Z0-9._-]+$';
export const topicNameLengthMax = 249;
// Bounds that keep one resource from asking for absurd work; Kafka has no hard cap below int32.
export const topicPartitionsMax = 100_000;
export const topicReplicationFactorMax = 32;
export const topicConfigEntriesMax = 128;

export const topicCrd: CrdDefinition = {
  kind: 'Topic',
  plural: 'topics',
  singular: 'topic',
  shortNames: ['st', 'sltopic'],
  categories: ['starlane'],
  description: 'A Starlane topic declared in Kubernetes; the operator creates and keeps it as declared.',
  spec: {
    type: 'object',
    required: ['clusterRef', 'partitions'],
    properties: {
      clusterRef: {
        type: 'object',
        description: 'The Cluster resource hosting the topic.',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 253 },
          namespace: { type: 'string', maxLength: 63 },
        },
      },
      topicName: {
        type: 'string',
        description: 'Topic name in Starlane; defaults to metadata.name. Immutable once created.',
        minLength: 1,
        maxLength: topicNameLengthMax,
        pattern: topicNamePattern,
      },
      partitions: {
        type: 'integer',
        description: 'Partition count; it can grow but never shrink.',
        minimum: 1,
        maximum: topicPartitionsMax,
      },
      replicationFactor: {
        type: 'integer',
        description: 'Replicas per partition; defaults to the cluster default. Changes go through reassignment.',
        minimum: 1,
        maximum: topicReplicationFactorMax,
      },
      config: {
        type: 'object',
        description: 'Topic configs as strings; configs not listed are left alone.',
        additionalProperties: { type: 'string' },
      },
      deletionPolicy: {
        type: 'string',
        description: 'Delete removes the topic with the resource; Retain keeps the topic and its data.',
        enum: deletionPolicies,
        default: 'Delete',
      },
    },
  },
  status: {
    type: 'object',
    properties: {
      conditions: conditionsSchema,
      observedGeneration: { type: 'integer', minimum: 0 },
      topicId: { type: 'string' },
      topicName: { type: 'string' },
      partitions: { type: 'integer', minimum: 0 },
      replicationFactor: { type: 'integer', minimum: 0 },
      managedConfigKeys: { type: 'array', items: { type: 'string' }, maxItems: topicConfigEntriesMax, 'x-kubernetes-list-type': 'set' },
    },
  },
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterRef.name' },
    { name: 'Topic', type: 'string', jsonPath: '.status.topicName' },
    { name: 'Partitions', type: 'integer', jsonPath: '.status.partitions' },
    { name: 'RF', type: 'integer', jsonPath: '.status.replicationFactor' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
