/**
 * The `Topic` resource (group starlane.dev, version v1alpha1) as the reconciler reads it, and
 * the Starlane topic as the public admin API describes it. Plain data: the operator maps the
 * Kubernetes object and the gRPC answers onto these shapes, so the decisions stay free of I/O.
 */

/** Finalizer that holds a Topic until its Starlane topic is deleted or released (deletionPolicy). */
export const topicFinalizer = 'starlane.dev/topic';

/** Annotation that pauses reconciliation of one Topic when set to "true" (Strimzi: strimzi.io/pause-reconciliation). */
export const pausedAnnotation = 'starlane.dev/paused';

export type DeletionPolicy = 'Delete' | 'Retain';

export interface TopicSpec {
  /** Name of the Cluster resource (same namespace) whose Starlane cluster holds the topic. */
  readonly clusterRef: string;
  /** The Starlane topic name; defaults to metadata.name (Kafka names allow `_` and upper case, Kubernetes names do not). */
  readonly topicName?: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Declared topic configs; the only ones the reconciler sets. */
  readonly config?: Readonly<Record<string, string>>;
  /** Defaults to Delete. */
  readonly deletionPolicy?: DeletionPolicy;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  /** RFC 3339; changes only when `status` changes (Kubernetes API conventions). */
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface TopicStatus {
  readonly conditions?: readonly Condition[];
  readonly observedGeneration?: number;
  readonly topicId?: string;
  /** The effective Starlane topic name. */
  readonly topicName?: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /**
   * The config keys the spec declared when last applied: a key dropped from the spec is reset
   * to its default once, while keys the resource never declared are left alone.
   */
  readonly managedConfigKeys?: readonly string[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly generation?: number;
  readonly deletionTimestamp?: string;
  readonly finalizers?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface TopicResource {
  readonly metadata: TopicMetadata;
  readonly spec: TopicSpec;
  readonly status?: TopicStatus;
}

/** A Starlane topic as DescribeTopics (with include_configs) reports it. */
export interface ObservedTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  /** Replicas of the topic's partitions (the smallest, while a change is under way). */
  readonly replicationFactor: number;
  /** Configs whose source is the topic itself (overrides); defaults and cluster values are not listed. */
  readonly configs: Readonly<Record<string, string>>;
  /** A partition reassignment of this topic is still in progress. */
  readonly reassigning?: boolean;
}

/** What the operator could learn about the Starlane cluster a Topic points at. */
export type ObservedCluster =
  /** The cluster answered; `topic` is absent when no topic of the effective name exists. */
  | { readonly kind: 'reachable'; readonly nodeCount: number; readonly topic?: ObservedTopic }
  /** The cluster did not answer (since `sinceMs`, by the injected clock). */
  | { readonly kind: 'unreachable'; readonly sinceMs: number; readonly message: string }
  /** The Cluster resource named by spec.clusterRef does not exist. */
  | { readonly kind: 'gone'; readonly message: string };
