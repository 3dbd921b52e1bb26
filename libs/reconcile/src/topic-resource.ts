/**
 * The `Topic` resource (group starlane.dev, version v1alpha1) as the reconciler reads it, and
 * the Starlane topic as the public admin API describes it. Plain data: the operator maps the
 * Kubernetes object and the gRPC answers onto these shapes, so the decisions stay free of I/O.
 * The spec and status types are libs/crds', the one source the CRD schema is generated from.
 */
import type { ClusterRef, Condition, DeletionPolicy, TopicSpec, TopicStatus } from '@starlane/crds';

export type { ClusterRef, Condition, DeletionPolicy, TopicSpec, TopicStatus };

/** Finalizer that holds a Topic until its Starlane topic is deleted or released (deletionPolicy). */
export const topicFinalizer = 'starlane.dev/topic';

/** Annotation that pauses reconciliation of one Topic when set to "true" (Strimzi: strimzi.io/pause-reconciliation). */
export const pausedAnnotation = 'starlane.dev/paused';

export type ConditionStatus = Condition['status'];

export interface TopicMetadata {
  readonly name: string;
  readonly namespace?: string;
  /** RFC 3339; decides which of two Topics that claim one topic name is the older. */
  readonly creationTimestamp?: string;
  readonly generation?: number;
  readonly deletionTimestamp?: string;
  readonly finalizers?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The Cluster a Topic points at, as `namespace/name` (the Topic's namespace unless clusterRef names one). */
export function clusterRefText(resource: TopicResource): string {
  const namespace = resource.spec.clusterRef.namespace ?? resource.metadata.namespace;
  return namespace === undefined || namespace === '' ? resource.spec.clusterRef.name : `${namespace}/${resource.spec.clusterRef.name}`;
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
