/**
 * The Topic controller's loop, sans I/O: the leader's work queue and workers. Cache events and
 * the periodic resync add Topic keys; a worker takes a key, reads the Topic from the cache and
 * the Starlane cluster through a port, asks `reconcileTopic` what to do, runs the actions in
 * order through ports (stopping at the first admin failure, which `topicActionFailed` judges),
 * and writes the status only when it changed. Losing the lease stops the queue at once: a worker
 * in the middle of a pass runs no further action. The operator app wires the ports to the
 * Kubernetes API and the admin API; the seeded simulation wires them to in-memory fakes and runs
 * this very code.
 */
import type { Clock, Scheduler } from '@starlane/io-ports';
import type { ErrorCode } from '@starlane/model';
import { reconcileTopic, type ReconcileContext, type TopicReconcileResult } from './reconcile-topic';
import type { Requeue, TopicAction } from './topic-actions';
import { topicActionFailed } from './topic-action-failure';
import type { ObservedCluster, TopicResource, TopicStatus } from './topic-resource';
import { olderClaimant } from './topic-rules';
import { WorkQueue, type WorkQueueBounds } from './work-queue';

/**
 * Passes in a row that asked to look again at once ('now') before the key waits its back-off
 * instead: an action that "succeeds" without the cluster ever showing its effect must not spin.
 */
export const immediateRequeuesInARowMax = 5;

/** How a pass ended (the operator's reconcile metric label). */
export type PassResult = 'converged' | 'requeued' | 'retry' | 'error';

export type AdminActionType = Exclude<TopicAction['type'], 'addFinalizer' | 'removeFinalizer' | 'event'>;
export type AdminAction = Extract<TopicAction, { type: AdminActionType }>;
export type EventAction = Extract<TopicAction, { type: 'event' }>;

/** The Starlane cluster a Topic names, as a port saw it; `handle` goes back to `perform` (an address and view). */
export type ClusterObservation<H> =
  | { readonly kind: 'gone'; readonly message: string }
  | { readonly kind: 'unreachable'; readonly message: string; readonly handle?: H }
  | { readonly kind: 'reachable'; readonly cluster: Extract<ObservedCluster, { kind: 'reachable' }>; readonly handle: H };

/** An admin action's outcome: a failure with the catalogue code the cluster answered, or none when no answer came. */
export type AdminOutcome = { readonly ok: true } | { readonly ok: false; readonly code?: ErrorCode; readonly message: string };

export type LogLevel = 'debug' | 'info' | 'warn';

/** What the controller reads and writes, injected. Writes may throw (a failed Kubernetes call): the pass then fails and is retried with back-off. */
export interface TopicControllerPorts<O, H> {
  /** The Topic cache (an informer's). */
  readonly topics: { get(key: string): O | undefined; list(): readonly O[] };
  readonly keyOf: (object: O) => string | undefined;
  readonly read: (object: O) => TopicResource;
  /** The object's resourceVersion (decimal integers on every API server; anything else is never `newer`). */
  readonly resourceVersion: (object: O) => string | undefined;
  readonly observe: (resource: TopicResource) => Promise<ClusterObservation<H>>;
  readonly perform: (handle: H | undefined, action: AdminAction) => Promise<AdminOutcome>;
  readonly applyFinalizers: (object: O, finalizers: readonly string[]) => Promise<O>;
  readonly writeStatus: (object: O, status: TopicStatus) => Promise<O>;
  /** Best effort (as client-go's recorder): a failure is the port's to log, it never fails the pass. */
  readonly recordEvent: (object: O, event: EventAction) => Promise<void>;
  readonly describeError: (error: unknown) => string;
  readonly log: (level: LogLevel, fields: Readonly<Record<string, unknown>>, message: string) => void;
  /** Each pass's end (metrics). */
  readonly passEnded?: (result: PassResult, durationMs: number) => void;
  /** Each time every Topic is queued again: a resync, or the start of leading (metrics). */
  readonly resynced?: () => void;
}

export interface TopicControllerOptions<O, H> {
  readonly ports: TopicControllerPorts<O, H>;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly bounds: WorkQueueBounds;
  readonly workers: number;
  readonly clusterUnreachableReleaseMs: number;
}

export function clusterKeyOf(resource: TopicResource): string {
  const ref = resource.spec.clusterRef;
  return `${ref.namespace ?? resource.metadata.namespace ?? ''}/${ref.name}`;
}

export class TopicController<O, H> {
  private queue: WorkQueue | undefined;
  private active = 0;
  /**
   * Topics as this controller last wrote them, until the cache has caught up: without it the
   * next pass would decide on a status older than our own write and, say, record a refusal's
   * Warning event twice. See `newer`.
   */
  private readonly written = new Map<string, O>();
  private readonly immediateRequeues = new Map<string, number>();
  private readonly unreachableSince = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly ports: TopicControllerPorts<O, H>;

  constructor(private readonly options: TopicControllerOptions<O, H>) {
    this.ports = options.ports;
  }

  queueDepth(): number {
    return this.queue?.depth() ?? 0;
  }

  leading(): boolean {
    return this.queue !== undefined;
  }

  /** We lead: a new queue with every Topic the cache holds, and the periodic resync. */
  startLeading(): void {
    if (this.queue !== undefined) return;
    const queue = new WorkQueue(this.options.scheduler, { bounds: this.options.bounds, resyncKeys: () => this.resyncKeys(), onReady: () => this.pump() });
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

  /** The cache saw a Topic change. */
  topicChanged(object: O): void {
    const key = this.ports.keyOf(object);
    if (key !== undefined) this.queue?.add(key);
  }

  /** The cache saw a Cluster change: every Topic that points at it is looked at again. */
  clusterChanged(clusterKey: string): void {
    for (const object of this.ports.topics.list()) if (clusterKeyOf(this.ports.read(object)) === clusterKey) this.topicChanged(object);
  }

  private resyncKeys(): string[] {
    this.ports.resynced?.();
    return this.ports.topics.list().flatMap((object) => {
      const key = this.ports.keyOf(object);
      return key === undefined ? [] : [key];
    });
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
    let result: PassResult;
    try {
      const requeue = await this.reconcile(queue, key);
      if (requeue === 'abandoned') return;
      result = this.settle(queue, key, requeue);
    } catch (error) {
      result = 'error';
      const delayMs = queue.failed(key);
      const text = this.ports.describeError(error);
      this.ports.log('warn', { event: 'reconcile-failed', topic: key, delayMs, err: text }, `reconciling Topic ${key} failed (${text}); retrying in ${delayMs} ms`);
    }
    this.ports.passEnded?.(result, this.options.clock.nowMs() - startedMs);
  }

  private settle(queue: WorkQueue, key: string, requeue: Requeue): PassResult {
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
      this.ports.log('warn', { event: 'reconcile-not-converging', topic: key, delayMs }, `Topic ${key} changed ${inARow - 1} times in a row without converging; waiting ${delayMs} ms`);
      return 'retry';
    }
    this.immediateRequeues.set(key, inARow);
    queue.done(key);
    queue.add(key);
    return 'requeued';
  }

  /** The Topic as last known: the cache's copy, or ours while the cache has not caught up with our own write. */
  private current(key: string): O | undefined {
    const cached = this.ports.topics.get(key);
    const ours = this.written.get(key);
    if (cached === undefined || ours === undefined || !newer(this.ports.resourceVersion(ours), this.ports.resourceVersion(cached))) {
      this.written.delete(key);
      return cached;
    }
    return ours;
  }

  /** One pass; 'abandoned' when the lead was lost on the way (nothing more was done). */
  private async reconcile(queue: WorkQueue, key: string): Promise<Requeue | 'abandoned'> {
    let object = this.current(key);
    if (object === undefined) {
      queue.forget(key);
      this.immediateRequeues.delete(key);
      return 'none';
    }
    const desired = this.ports.read(object);
    const observation = await this.observe(desired);
    // Two Topics claiming one topic name: the oldest manages it (a deleted one only needs its finalizer policy).
    const claimedBy = desired.metadata.deletionTimestamp === undefined ? olderClaimant(desired, this.ports.topics.list().map(this.ports.read)) : undefined;
    const context: ReconcileContext = { nowMs: this.options.clock.nowMs(), clusterUnreachableReleaseMs: this.options.clusterUnreachableReleaseMs, ...(claimedBy === undefined ? {} : { claimedBy }) };
    let result: TopicReconcileResult = reconcileTopic(desired, observation.cluster, context);
    this.ports.log(
      'debug',
      { event: 'reconcile', topic: key, resourceVersion: this.ports.resourceVersion(object), observed: observation.cluster.kind, actions: result.actions.map((action) => action.type), statusChanged: result.statusChanged, requeue: result.requeue },
      `Topic ${key}: ${result.actions.length} action(s), status ${result.statusChanged ? 'changed' : 'unchanged'}`,
    );
    const wrote = (next: O): void => {
      object = next;
      this.written.set(key, next);
    };
    let released = false;
    for (const action of result.actions) {
      if (this.queue !== queue) return 'abandoned';
      if (action.type === 'addFinalizer' || action.type === 'removeFinalizer') {
        wrote(await this.ports.applyFinalizers(object, action.type === 'addFinalizer' ? [action.finalizer] : []));
        released = action.type === 'removeFinalizer';
        continue;
      }
      if (action.type === 'event') {
        await this.ports.recordEvent(object, action);
        continue;
      }
      const outcome = await this.ports.perform(observation.handle, action);
      if (outcome.ok) {
        this.ports.log('info', { event: 'action', topic: key, action: action.type }, `Topic ${key}: ${action.type} done`);
        continue;
      }
      this.ports.log('info', { event: 'action-failed', topic: key, action: action.type, code: outcome.code, err: outcome.message }, `Topic ${key}: ${action.type} failed (${outcome.code ?? 'no answer'}: ${outcome.message})`);
      result = topicActionFailed(desired, action, { ...(outcome.code === undefined ? {} : { code: outcome.code }), message: outcome.message }, context);
      for (const event of result.actions) if (event.type === 'event') await this.ports.recordEvent(object, event);
      break;
    }
    if (this.queue !== queue) return 'abandoned';
    if (result.statusChanged && !released) wrote(await this.ports.writeStatus(object, result.status));
    return result.requeue;
  }

  private async observe(resource: TopicResource): Promise<{ readonly cluster: ObservedCluster; readonly handle?: H }> {
    const clusterKey = clusterKeyOf(resource);
    const seen = await this.ports.observe(resource);
    if (seen.kind === 'unreachable') {
      // How long it has not answered, for the finalizer's release (`clusterUnreachableReleaseMs`).
      const sinceMs = this.unreachableSince.get(clusterKey) ?? this.options.clock.nowMs();
      this.unreachableSince.set(clusterKey, sinceMs);
      return { cluster: { kind: 'unreachable', sinceMs, message: seen.message }, ...(seen.handle === undefined ? {} : { handle: seen.handle }) };
    }
    this.unreachableSince.delete(clusterKey);
    return seen.kind === 'gone' ? { cluster: { kind: 'gone', message: seen.message } } : { cluster: seen.cluster, handle: seen.handle };
  }
}

/**
 * Whether resourceVersion `a` is later than `b`. resourceVersions are opaque by the API
 * conventions, but every API server (etcd's revision) and the local one issue them as growing
 * decimal integers, and a watch delivers them in order; anything else counts as not newer, so
 * the cache wins.
 */
export function newer(a: string | undefined, b: string | undefined): boolean {
  const left = a ?? '';
  const right = b ?? '';
  if (!/^\d+$/.test(left) || !/^\d+$/.test(right)) return false;
  return BigInt(left) > BigInt(right);
}
