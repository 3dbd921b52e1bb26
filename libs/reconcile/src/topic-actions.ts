/** What the operator does after a reconcile pass, in order; it stops at the first action that fails. */
export type TopicAction =
  | { readonly type: 'addFinalizer'; readonly finalizer: string }
  | { readonly type: 'removeFinalizer'; readonly finalizer: string }
  | {
      readonly type: 'createTopic';
      readonly topicName: string;
      readonly partitions: number;
      /** Absent: the cluster's default (default.replication.factor). */
      readonly replicationFactor?: number;
      readonly configs: Readonly<Record<string, string>>;
    }
  /** Incremental alter (Kafka's IncrementalAlterConfigs): `set` keys get the value, `reset` keys return to their default. */
  | { readonly type: 'alterConfigs'; readonly topicName: string; readonly set: Readonly<Record<string, string>>; readonly reset: readonly string[] }
  | { readonly type: 'createPartitions'; readonly topicName: string; readonly totalCount: number }
  /** Change every partition's replica count by a reassignment the operator plans with the admin API. */
  | { readonly type: 'reassignReplicationFactor'; readonly topicName: string; readonly replicationFactor: number }
  | { readonly type: 'deleteTopic'; readonly topicName: string; readonly topicId: string }
  | { readonly type: 'event'; readonly eventType: 'Normal' | 'Warning'; readonly reason: string; readonly message: string };

/**
 * When the work queue should see the object again: `none` (done; resync and watch events bring
 * it back), `now` (the actions changed something, reconcile again to confirm), `backoff` (a
 * transient failure: retry with the queue's per-key exponential back-off).
 */
export type Requeue = 'none' | 'now' | 'backoff';
