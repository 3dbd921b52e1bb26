/**
 * The work queue and the Topic reconciler together against a scripted Starlane cluster, on
 * manual time, seeded: actions fail at random (transient errors, retried with back-off), and
 * drift is made behind the operator's back (declared configs changed, undeclared configs added,
 * the replication factor changed). After a resync everything is converged, undeclared configs
 * are untouched, and one more pass over each converged object yields no actions. Then every
 * Topic is deleted: Delete removes its topic, Retain keeps it, and no finalizer is left behind.
 */
import { ManualScheduler, seededRandom } from '@starlane/testing';
import { reconcileTopic } from './reconcile-topic';
import { topicActionFailed } from './topic-action-failure';
import type { TopicAction } from './topic-actions';
import { topicFinalizer, type ObservedCluster, type ObservedTopic, type TopicResource } from './topic-resource';
import { WorkQueue, workQueueBoundsDefault } from './work-queue';

class ScriptedCluster {
  readonly topics = new Map<string, ObservedTopic>();
  private ids = 0;
  constructor(
    readonly nodeCount: number,
    private readonly random: () => number,
    private readonly failureRate: number,
  ) {}

  observe(name: string): ObservedCluster {
    const topic = this.topics.get(name);
    // A reassignment completes by the next look.
    if (topic?.reassigning === true) this.topics.set(name, { ...topic, reassigning: false });
    return topic === undefined ? { kind: 'reachable', nodeCount: this.nodeCount } : { kind: 'reachable', nodeCount: this.nodeCount, topic: { ...topic, reassigning: false } };
  }

  /** Applies one admin action; false when the call failed (a transient error). */
  apply(action: TopicAction): boolean {
    if (action.type === 'event' || action.type === 'addFinalizer' || action.type === 'removeFinalizer') return true;
    if (this.random() < this.failureRate) return false;
    const topic = this.topics.get(action.topicName);
    switch (action.type) {
      case 'createTopic':
        this.ids += 1;
        this.topics.set(action.topicName, { name: action.topicName, topicId: `id-${this.ids}`, partitions: action.partitions, replicationFactor: action.replicationFactor ?? 1, configs: { ...action.configs } });
        return true;
      case 'alterConfigs': {
        if (topic === undefined) return false;
        const configs: Record<string, string> = { ...topic.configs, ...action.set };
        for (const key of action.reset) delete configs[key];
        this.topics.set(topic.name, { ...topic, configs });
        return true;
      }
      case 'createPartitions':
        if (topic === undefined) return false;
        this.topics.set(topic.name, { ...topic, partitions: action.totalCount });
        return true;
      case 'reassignReplicationFactor':
        if (topic === undefined) return false;
        this.topics.set(topic.name, { ...topic, replicationFactor: action.replicationFactor, reassigning: true });
        return true;
      case 'deleteTopic':
        this.topics.delete(action.topicName);
        return true;
    }
  }
}

/** The operator's loop, minus Kubernetes: one worker, resources in a map, status written only when changed. */
class Operator {
  reconciles = 0;
  statusWrites = 0;
  readonly queue: WorkQueue;
  constructor(
    readonly resources: Map<string, TopicResource>,
    readonly cluster: ScriptedCluster,
    readonly scheduler: ManualScheduler,
  ) {
    this.queue = new WorkQueue(scheduler, {
      resyncKeys: () => resources.keys(),
      onReady: () => {
        scheduler.schedule(0, () => this.work());
      },
    });
  }

  private work(): void {
    const key = this.queue.next();
    if (key === undefined) return;
    this.reconciles += 1;
    const resource = this.resources.get(key);
    if (resource === undefined) {
      this.queue.forget(key);
      this.queue.done(key);
      return;
    }
    const result = reconcileTopic(resource, this.cluster.observe(resource.status?.topicName ?? resource.spec.topicName ?? key), { nowMs: this.scheduler.clock.nowMs() });
    let current = resource;
    for (const action of result.actions) {
      if (!this.cluster.apply(action)) {
        const failure = topicActionFailed(current, action, { message: 'deadline exceeded' }, { nowMs: this.scheduler.clock.nowMs() });
        if (failure.statusChanged) this.resources.set(key, { ...current, status: failure.status });
        this.queue.failed(key);
        return;
      }
      if (action.type === 'addFinalizer') current = { ...current, metadata: { ...current.metadata, finalizers: [...(current.metadata.finalizers ?? []), topicFinalizer] } };
      if (action.type === 'removeFinalizer') {
        // The API server removes an object being deleted once its last finalizer is gone.
        this.resources.delete(key);
        this.queue.done(key);
        return;
      }
    }
    if (result.statusChanged) {
      this.statusWrites += 1;
      current = { ...current, status: result.status };
    }
    this.resources.set(key, current);
    if (result.requeue === 'backoff') {
      this.queue.failed(key);
    } else {
      this.queue.done(key);
      if (result.requeue === 'now') this.queue.add(key);
    }
  }
}

const declaredKeys = ['retention.ms', 'segment.ms', 'min.insync.replicas'] as const;

function resourceFor(index: number, random: () => number): TopicResource {
  const config: Record<string, string> = {};
  for (const key of declaredKeys) if (random() < 0.6) config[key] = key === 'min.insync.replicas' ? '1' : String(60_000 + Math.floor(random() * 1000));
  return {
    metadata: { name: `topic-${index}`, namespace: 'default', generation: 1 },
    spec: { clusterRef: { name: 'main' }, partitions: 1 + Math.floor(random() * 4), replicationFactor: 1 + Math.floor(random() * 3), config },
  };
}

function drift(cluster: ScriptedCluster, random: () => number): void {
  const names = [...cluster.topics.keys()];
  const name = names[Math.floor(random() * names.length)];
  const topic = name === undefined ? undefined : cluster.topics.get(name);
  if (topic === undefined) return;
  const what = random();
  if (what < 0.4) cluster.topics.set(topic.name, { ...topic, configs: { ...topic.configs, 'retention.ms': '1' } });
  else if (what < 0.7) cluster.topics.set(topic.name, { ...topic, configs: { ...topic.configs, 'cleanup.policy': 'compact' } });
  else cluster.topics.set(topic.name, { ...topic, replicationFactor: topic.replicationFactor === 1 ? 2 : 1 });
}

describe('work queue + Topic reconciler against a scripted cluster', () => {
  it.each(Array.from({ length: 20 }, (_, index) => index + 1))('seed %i: converges, reverts drift, leaves undeclared configs alone, is idempotent, and deletes by policy', async (seed) => {
    const random = seededRandom(seed);
    const scheduler = new ManualScheduler();
    const cluster = new ScriptedCluster(3, random, 0.2);
    const resources = new Map<string, TopicResource>();
    const operator = new Operator(resources, cluster, scheduler);
    operator.queue.startResync();
    for (let index = 0; index < 8; index += 1) {
      const resource = resourceFor(index, random);
      resources.set(resource.metadata.name, resource);
      operator.queue.add(resource.metadata.name);
    }
    for (let round = 0; round < 20; round += 1) {
      await scheduler.advance(Math.floor(random() * 20_000));
      drift(cluster, random);
    }
    const undeclared = new Map([...cluster.topics].filter(([, topic]) => topic.configs['cleanup.policy'] === 'compact').map(([name]) => [name, true]));
    // Two resync periods and the longest retry: every key has been reconciled since the last drift.
    await scheduler.advance(2 * workQueueBoundsDefault.resyncPeriodMs + workQueueBoundsDefault.retryBackoff.maxMs);
    while (operator.queue.depth() > 0 || scheduler.pending().some((delay) => delay < workQueueBoundsDefault.resyncPeriodMs)) await scheduler.step();

    for (const resource of resources.values()) {
      const topic = cluster.topics.get(resource.metadata.name);
      const context = `seed ${seed}, ${resource.metadata.name}`;
      expect({ context, partitions: topic?.partitions, replicationFactor: topic?.replicationFactor }).toEqual({ context, partitions: resource.spec.partitions, replicationFactor: resource.spec.replicationFactor });
      for (const [key, value] of Object.entries(resource.spec.config ?? {})) expect({ context, key, value: topic?.configs[key] }).toEqual({ context, key, value });
      expect({ context, compact: topic?.configs['cleanup.policy'] === 'compact' }).toEqual({ context, compact: undeclared.has(resource.metadata.name) });
      expect({ context, ready: resource.status?.conditions?.find((condition) => condition.type === 'Ready')?.status }).toEqual({ context, ready: 'True' });
      const again = reconcileTopic(resource, cluster.observe(resource.metadata.name), { nowMs: scheduler.clock.nowMs() });
      expect({ context, actions: again.actions, statusChanged: again.statusChanged }).toEqual({ context, actions: [], statusChanged: false });
    }
    // No hot loop: a handful of passes per object per resync and per drift, not thousands.
    expect(operator.reconciles).toBeLessThan(400);

    // Deletion: every Topic goes away; Delete removes its topic, Retain keeps it.
    const policies = new Map<string, 'Delete' | 'Retain'>();
    for (const [key, resource] of resources) {
      const deletionPolicy = random() < 0.5 ? 'Delete' : 'Retain';
      policies.set(key, deletionPolicy);
      resources.set(key, { ...resource, spec: { ...resource.spec, deletionPolicy }, metadata: { ...resource.metadata, deletionTimestamp: '2023-11-15T00:00:00Z' } });
      operator.queue.add(key);
    }
    await scheduler.advance(workQueueBoundsDefault.retryBackoff.maxMs);
    while (operator.queue.depth() > 0 || scheduler.pending().some((delay) => delay < workQueueBoundsDefault.resyncPeriodMs)) await scheduler.step();
    expect({ seed, left: [...resources.keys()] }).toEqual({ seed, left: [] });
    for (const [key, policy] of policies) expect({ seed, key, kept: cluster.topics.has(key) }).toEqual({ seed, key, kept: policy === 'Retain' });
  });
});
