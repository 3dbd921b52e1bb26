/**
 * The Topic controller (the operator's own loop: work queue, workers, passes) against a scripted Starlane cluster, on
 * manual time, seeded: actions fail at random (transient errors, retried with back-off), and
 * drift is made behind the operator's back (declared configs changed, undeclared configs added,
 * the replication factor changed). After a resync everything is converged, undeclared configs
 * are untouched, and one more pass over each converged object yields no actions. Then every
 * Topic is deleted: Delete removes its topic, Retain keeps it, and no finalizer is left behind.
 */
import { ManualScheduler, seededRandom } from '@starlane/testing';
import { reconcileTopic } from './reconcile-topic';
import type { TopicAction } from './topic-actions';
import { TopicController, type EventAction, type TopicControllerPorts } from './topic-controller';
import type { ObservedCluster, ObservedTopic, TopicResource } from './topic-resource';
import { workQueueBoundsDefault } from './work-queue';

class ScriptedCluster {
  readonly topics = new Map<string, ObservedTopic>();
  private ids = 0;
  constructor(
    readonly nodeCount: number,
    private readonly random: () => number,
    private readonly failureRate: number,
  ) {}

  observe(name: string): Extract<ObservedCluster, { kind: 'reachable' }> {
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

/** A Topic as the fake API server stores it: the resource and its resourceVersion. */
interface Stored {
  readonly resource: TopicResource;
  readonly resourceVersion: string;
}

/**
 * The operator's own loop (libs/reconcile's TopicController) wired to fakes: an in-memory API
 * server whose every write echoes back as a cache event (as a watch delivers it), and the
 * scripted cluster behind the admin port.
 */
class FakeKube {
  readonly objects = new Map<string, Stored>();
  passes = 0;
  statusWrites = 0;
  readonly events: EventAction[] = [];
  private rv = 0;
  controller: TopicController<Stored, null> | undefined;

  write(key: string, resource: TopicResource): Stored {
    this.rv += 1;
    const stored = { resource, resourceVersion: String(this.rv) };
    // The API server removes an object being deleted once its last finalizer is gone.
    if (resource.metadata.deletionTimestamp !== undefined && (resource.metadata.finalizers ?? []).length === 0) this.objects.delete(key);
    else this.objects.set(key, stored);
    this.controller?.topicChanged(stored);
    return stored;
  }

  ports(cluster: ScriptedCluster): TopicControllerPorts<Stored, null> {
    return {
      topics: { get: (key) => this.objects.get(key), list: () => [...this.objects.values()] },
      keyOf: (object) => keyOf(object.resource),
      read: (object) => object.resource,
      resourceVersion: (object) => object.resourceVersion,
      observe: (resource) => Promise.resolve({ kind: 'reachable', cluster: cluster.observe(resource.status?.topicName ?? resource.spec.topicName ?? resource.metadata.name), handle: null }),
      perform: (_handle, action) => Promise.resolve(cluster.apply(action) ? { ok: true } : { ok: false, message: 'deadline exceeded' }),
      applyFinalizers: (object, finalizers) => Promise.resolve(this.write(keyOf(object.resource), { ...object.resource, metadata: { ...object.resource.metadata, finalizers: [...finalizers] } })),
      writeStatus: (object, status) => {
        this.statusWrites += 1;
        return Promise.resolve(this.write(keyOf(object.resource), { ...object.resource, status }));
      },
      recordEvent: (_object, event) => {
        this.events.push(event);
        return Promise.resolve();
      },
      describeError: (error) => String(error),
      log: () => undefined,
      passEnded: () => {
        this.passes += 1;
      },
    };
  }
}

function keyOf(resource: TopicResource): string {
  return `${resource.metadata.namespace ?? ''}/${resource.metadata.name}`;
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

describe('the Topic controller against a scripted cluster', () => {
  it.each(Array.from({ length: 20 }, (_, index) => index + 1))('seed %i: converges, reverts drift, leaves undeclared configs alone, is idempotent, and deletes by policy', async (seed) => {
    const random = seededRandom(seed);
    const scheduler = new ManualScheduler();
    const cluster = new ScriptedCluster(3, random, 0.2);
    const kube = new FakeKube();
    const controller = new TopicController<Stored, null>({
      ports: kube.ports(cluster),
      clock: scheduler.clock,
      scheduler,
      bounds: workQueueBoundsDefault,
      workers: 1 + Math.floor(random() * 3),
      clusterUnreachableReleaseMs: 60_000,
    });
    kube.controller = controller;
    const settle = async (): Promise<void> => {
      while (controller.queueDepth() > 0 || scheduler.pending().some((delay) => delay < workQueueBoundsDefault.resyncPeriodMs)) await scheduler.step();
      await controller.drain();
    };
    controller.startLeading();
    for (let index = 0; index < 8; index += 1) {
      const resource = resourceFor(index, random);
      kube.write(keyOf(resource), resource);
    }
    for (let round = 0; round < 20; round += 1) {
      await scheduler.advance(Math.floor(random() * 20_000));
      drift(cluster, random);
    }
    const undeclared = new Map([...cluster.topics].filter(([, topic]) => topic.configs['cleanup.policy'] === 'compact').map(([name]) => [name, true]));
    // Two resync periods and the longest retry: every key has been reconciled since the last drift.
    await scheduler.advance(2 * workQueueBoundsDefault.resyncPeriodMs + workQueueBoundsDefault.retryBackoff.maxMs);
    await settle();

    for (const { resource } of kube.objects.values()) {
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
    expect(kube.passes).toBeLessThan(400);

    // Deletion: every Topic goes away; Delete removes its topic, Retain keeps it.
    const policies = new Map<string, 'Delete' | 'Retain'>();
    for (const [key, { resource }] of [...kube.objects]) {
      const deletionPolicy = random() < 0.5 ? 'Delete' : 'Retain';
      policies.set(resource.metadata.name, deletionPolicy);
      kube.write(key, { ...resource, spec: { ...resource.spec, deletionPolicy }, metadata: { ...resource.metadata, deletionTimestamp: '2023-11-15T00:00:00Z' } });
    }
    await scheduler.advance(workQueueBoundsDefault.retryBackoff.maxMs);
    await settle();
    expect({ seed, left: [...kube.objects.keys()] }).toEqual({ seed, left: [] });
    for (const [name, policy] of policies) expect({ seed, name, kept: cluster.topics.has(name) }).toEqual({ seed, name, kept: policy === 'Retain' });
    controller.stopLeading();
  });
});
