/**
 * The Topic controller: the leader's work queue and workers. Informer events and the periodic
 * resync add Topic keys; a worker takes a key, reads the Topic from the informer cache and the
 * Starlane cluster through the admin API, asks libs/reconcile what to do, runs the actions in
 * order (stopping at the first failure, which `topicActionFailed` judges), and writes the status
 * only when it changed. Losing the lease stops the queue at once: a worker in the middle of a
 * pass runs no further action.
 */
import type { Clock, Scheduler } from '@starlane/io-ports';
import {
  WorkQueue,
  effectiveTopicName,
  olderClaimant,
  reconcileTopic,
  topicActionFailed,
  type ObservedCluster,
  type Requeue,
  type TopicAction,
  type TopicReconcileResult,
  type TopicResource,
  type TopicSpec,
  type TopicStatus,
  type WorkQueueBounds,
} from '@starlane/reconcile';
import type { Logger } from '@starlane/service-host';
import { kubeErrorText, objectKey, splitKey, type KubeObject } from './kube';
import type { KubeWriter } from './kube-writer';
import type { OperatorMetrics, ReconcileResult } from './metrics';
import type { ResourceInformer } from './informer';
import { AdminFailure, type ClusterView, type StarlaneAdmin } from './starlane-admin';

/**
 * Passes in a row that asked to look again at once ('now') before the key waits its back-off
 * instead: an action that "succeeds" without the cluster ever showing its effect must not spin.
 */
export const immediateRequeuesInARowMax = 5;

export interface TopicControllerOptions {
  readonly topics: ResourceInformer;
  readonly clusters: ResourceInformer;
  readonly writer: KubeWriter;
  readonly admin: StarlaneAdmin;
  readonly metrics: OperatorMetrics;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly bounds: WorkQueueBounds;
  readonly workers: number;
  readonly clusterUnreachableReleaseMs: number;
}

interface Observation {
  readonly cluster: ObservedCluster;
  readonly address?: string;
  readonly view?: ClusterView;
}

class LeadershipLost extends Error {}

export class TopicController {
  private queue: WorkQueue | undefined;
  private active = 0;
  /**
   * Topics as this operator last wrote them, until the informer cache has caught up: without it
   * the next pass would decide on a status older than our own write and, say, record a
   * refusal's Warning event twice. See `newer`.
   */
  private readonly written = new Map<string, KubeObject>();
  private readonly immediateRequeues = new Map<string, number>();
  private readonly unreachableSince = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: TopicControllerOptions) {}

  queueDepth(): number {
    return this.queue?.depth() ?? 0;
  }

  /** We lead: a new queue with every Topic the cache holds, and the periodic resync. */
  startLeading(): void {
    if (this.queue !== undefined) return;
    const queue = new WorkQueue(this.options.scheduler, {
      bounds: this.options.bounds,
      resyncKeys: () => this.resyncKeys(),
      onReady: () => this.pump(),
    });
    this.queue = queue;
    for (const key of this.resyncKeys()) queue.add(key);
    queue.startResync();
  }

  /** We no longer lead: drop the queue; workers in flight run no further action. */
  stopLeading(): void {
    this.queue?.stop();
    this.queue = undefined;
  }

  /** Waits for the passes in flight to end (on shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** An informer saw a Topic change. */
  topicChanged(object: KubeObject): void {
    const name = object.metadata?.name;
    if (name !== undefined) this.queue?.add(objectKey(object.metadata?.namespace, name));
  }

  /** An informer saw a Cluster change: every Topic that points at it is looked at again. */
  clusterChanged(object: KubeObject): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name;
    for (const topic of this.options.topics.list()) {
      const spec = topic.spec as Partial<TopicSpec> | undefined;
      const refNamespace = spec?.clusterRef?.namespace ?? topic.metadata?.namespace ?? '';
      if (spec?.clusterRef?.name === name && refNamespace === namespace) this.topicChanged(topic);
    }
  }

  private resyncKeys(): string[] {
    this.options.metrics.resyncs.inc();
    return this.topicKeys();
  }

  private topicKeys(): string[] {
    return this.options.topics.list().flatMap((topic) => (topic.metadata?.name === undefined ? [] : [objectKey(topic.metadata.namespace, topic.metadata.name)]));
  }

  private pump(): void {
    const queue = this.queue;
    while (queue !== undefined && this.active < this.options.workers) {
      const key = queue.next();
      if (key === undefined) return;
      this.active += 1;
      const pass = this.process(queue, key).finally(() => {
        this.active -= 1;
        this.inFlight.delete(pass);
        this.pump();
      });
      this.inFlight.add(pass);
    }
  }

  private async process(queue: WorkQueue, key: string): Promise<void> {
    const startedMs = this.options.clock.nowMs();
    let result: ReconcileResult;
    try {
      const requeue = await this.reconcile(queue, key);
      result = this.settle(queue, key, requeue);
    } catch (error) {
      if (error instanceof LeadershipLost) return;
      result = 'error';
      this.options.metrics.errors.inc();
      const delayMs = queue.failed(key);
      this.options.logger.warn({ event: 'reconcile-failed', topic: key, delayMs, err: describe(error) }, `reconciling Topic ${key} failed (${describe(error)}); retrying in ${delayMs} ms`);
    }
    this.options.metrics.reconciles.inc({ result });
    this.options.metrics.duration.observe((this.options.clock.nowMs() - startedMs) / 1000);
  }

  private settle(queue: WorkQueue, key: string, requeue: Requeue): ReconcileResult {
    if (requeue === 'backoff') {
      this.immediateRequeues.delete(key);
      queue.failed(key);
      return 'retry';
    }
    if (requeue === 'none') {
      this.immediateRequeues.delete(key);
      queue.done(key);
      return 'converged';
    }
    const inARow = (this.immediateRequeues.get(key) ?? 0) + 1;
    if (inARow > immediateRequeuesInARowMax) {
      this.immediateRequeues.delete(key);
      const delayMs = queue.failed(key);
      this.options.logger.warn({ event: 'reconcile-not-converging', topic: key, delayMs }, `Topic ${key} changed ${inARow - 1} times in a row without converging; waiting ${delayMs} ms`);
      return 'retry';
    }
    this.immediateRequeues.set(key, inARow);
    queue.done(key);
    queue.add(key);
    return 'requeued';
  }

  /** The Topic as last known: the informer's copy, or ours while the informer has not caught up with our own write. */
  private current(key: string): KubeObject | undefined {
    const { namespace, name } = splitKey(key);
    const cached = this.options.topics.get(namespace, name);
    const ours = this.written.get(key);
    if (cached === undefined || ours === undefined || !newer(ours, cached)) {
      this.written.delete(key);
      return cached;
    }
    return ours;
  }

  private async reconcile(queue: WorkQueue, key: string): Promise<Requeue> {
    let object = this.current(key);
    if (object === undefined) {
      queue.forget(key);
      this.immediateRequeues.delete(key);
      return 'none';
    }
    const wrote = (next: KubeObject): void => {
      object = next;
      this.written.set(key, next);
    };
    const desired = topicResource(object);
    const observation = await this.observe(desired);
    // Two Topics claiming one topic name: the oldest manages it (a deleted one only needs its finalizer policy).
    const claimedBy = desired.metadata.deletionTimestamp === undefined ? olderClaimant(desired, this.options.topics.list().map(topicResource)) : undefined;
    const context = { nowMs: this.options.clock.nowMs(), clusterUnreachableReleaseMs: this.options.clusterUnreachableReleaseMs, ...(claimedBy === undefined ? {} : { claimedBy }) };
    let result: TopicReconcileResult = reconcileTopic(desired, observation.cluster, context);
    this.options.logger.debug(
      { event: 'reconcile', topic: key, resourceVersion: object.metadata?.resourceVersion, observed: observation.cluster.kind, actions: result.actions.map((action) => action.type), statusChanged: result.statusChanged, requeue: result.requeue },
      `Topic ${key}: ${result.actions.length} action(s), status ${result.statusChanged ? 'changed' : 'unchanged'}`,
    );
    let released = false;
    for (const action of result.actions) {
      if (this.queue !== queue) throw new LeadershipLost();
      try {
        const next = await this.execute(action, object, observation);
        if (next !== undefined) wrote(next);
        if (action.type === 'removeFinalizer') released = true;
      } catch (error) {
        if (!(error instanceof AdminFailure)) throw error;
        this.options.logger.info({ event: 'action-failed', topic: key, action: action.type, code: error.code, err: error.message }, `Topic ${key}: ${action.type} failed (${error.code ?? 'no answer'}: ${error.message})`);
        result = topicActionFailed(desired, action, { ...(error.code === undefined ? {} : { code: error.code }), message: error.message }, context);
        for (const event of result.actions) if (event.type === 'event') await this.recordEvent(object, event);
        break;
      }
    }
    if (this.queue !== queue) throw new LeadershipLost();
    if (result.statusChanged && !released) {
      wrote(await this.options.writer.writeTopicStatus(object, result.status));
    }
    return result.requeue;
  }

  private async execute(action: TopicAction, object: KubeObject, observation: Observation): Promise<KubeObject | undefined> {
    switch (action.type) {
      // Server-side apply: the operator applies only its own finalizer; others' stay as they are.
      case 'addFinalizer':
        return await this.options.writer.applyTopicFinalizers(object, [action.finalizer]);
      case 'removeFinalizer':
        return await this.options.writer.applyTopicFinalizers(object, []);
      case 'event':
        await this.recordEvent(object, action);
        return undefined;
      case 'createTopic':
      case 'alterConfigs':
      case 'createPartitions':
      case 'reassignReplicationFactor':
      case 'deleteTopic': {
        const address = observation.address;
        if (address === undefined) throw new AdminFailure(undefined, 'no address for the Starlane cluster');
        await this.options.admin.perform(address, action, observation.view);
        this.options.logger.info({ event: 'action', topic: objectKey(object.metadata?.namespace, object.metadata?.name ?? ''), action: action.type }, `Topic ${object.metadata?.namespace}/${object.metadata?.name}: ${action.type} done`);
        return undefined;
      }
    }
  }

  /** Events are best effort (as client-go's recorder): a failed one is logged, never fails the pass. */
  private async recordEvent(object: KubeObject, event: Extract<TopicAction, { type: 'event' }>): Promise<void> {
    try {
      await this.options.writer.recordEvent(object, event);
    } catch (error) {
      this.options.logger.warn({ event: 'event-failed', reason: event.reason, err: kubeErrorText(error) }, `could not record event ${event.reason}: ${kubeErrorText(error)}`);
    }
  }

  private async observe(resource: TopicResource): Promise<Observation> {
    const ref = resource.spec.clusterRef;
    const namespace = ref.namespace ?? resource.metadata.namespace ?? '';
    const clusterKey = objectKey(namespace, ref.name);
    const cluster = this.options.clusters.get(namespace, ref.name);
    if (cluster === undefined) {
      this.unreachableSince.delete(clusterKey);
      return { cluster: { kind: 'gone', message: `Cluster ${clusterKey} does not exist` } };
    }
    const status = (cluster.status ?? {}) as { gatewayAddress?: string; controllerAddresses?: string[] };
    const address = status.gatewayAddress ?? status.controllerAddresses?.[0];
    if (address === undefined || address === '') return { cluster: this.unreachable(clusterKey, `Cluster ${clusterKey} has no gatewayAddress or controllerAddresses in its status yet`) };
    try {
      const view = await this.options.admin.observe(address, effectiveTopicName(resource));
      this.unreachableSince.delete(clusterKey);
      const reachable: ObservedCluster = view.topic === undefined ? { kind: 'reachable', nodeCount: view.nodeIds.length } : { kind: 'reachable', nodeCount: view.nodeIds.length, topic: view.topic };
      return { cluster: reachable, address, view };
    } catch (error) {
      if (!(error instanceof AdminFailure)) throw error;
      return { cluster: this.unreachable(clusterKey, `${address}: ${error.code ?? 'no answer'}: ${error.message}`), address };
    }
  }

  private unreachable(clusterKey: string, message: string): ObservedCluster {
    const sinceMs = this.unreachableSince.get(clusterKey) ?? this.options.clock.nowMs();
    this.unreachableSince.set(clusterKey, sinceMs);
    return { kind: 'unreachable', sinceMs, message };
  }
}

/**
 * Whether `a` is a later version of the object than `b`. resourceVersions are opaque by the API
 * conventions, but every API server (etcd's revision) and the local one issue them as growing
 * decimal integers, and a watch delivers them in order; anything else counts as not newer, so
 * the cache wins.
 */
export function newer(a: KubeObject, b: KubeObject): boolean {
  const left = a.metadata?.resourceVersion ?? '';
  const right = b.metadata?.resourceVersion ?? '';
  if (!/^\d+$/.test(left) || !/^\d+$/.test(right)) return false;
  return BigInt(left) > BigInt(right);
}

/** The Kubernetes object as the reconciler reads it. */
export function topicResource(object: KubeObject): TopicResource {
  const metadata = object.metadata ?? {};
  const deletion = metadata.deletionTimestamp;
  const created = metadata.creationTimestamp;
  const spec = (object.spec ?? {}) as Partial<TopicSpec>;
  return {
    metadata: {
      name: metadata.name ?? '',
      ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
      ...(metadata.generation === undefined ? {} : { generation: metadata.generation }),
      ...(created === undefined ? {} : { creationTimestamp: created instanceof Date ? created.toISOString() : created }),
      ...(deletion === undefined ? {} : { deletionTimestamp: deletion instanceof Date ? deletion.toISOString() : deletion }),
      ...(metadata.finalizers === undefined ? {} : { finalizers: metadata.finalizers }),
      ...(metadata.annotations === undefined ? {} : { annotations: metadata.annotations }),
    },
    spec: { ...spec, clusterRef: spec.clusterRef ?? { name: '' }, partitions: spec.partitions ?? 0 } as TopicSpec,
    ...(object.status === undefined ? {} : { status: object.status as TopicStatus }),
  };
}

function describe(error: unknown): string {
  return error instanceof AdminFailure ? `${error.code ?? 'no answer'}: ${error.message}` : kubeErrorText(error);
}
