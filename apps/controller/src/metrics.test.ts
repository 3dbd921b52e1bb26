import { MemoryMetadataStore, applyDelta, emptyDelta, imageFromSnapshot, noLeader, type MetadataImage, type PartitionState } from '@starlane/metadata';
import { Registry } from 'prom-client';
import { registerControllerMetrics } from './metrics';

const partition = (index: number, changes: Partial<PartitionState> = {}): PartitionState => ({
  partition: index,
  leader: 1,
  leaderEpoch: 0,
  partitionEpoch: 0,
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
  elr: [],
  offlineReplicas: [],
  addingReplicas: [],
  removingReplicas: [],
  ...changes,
});

const loaded = imageFromSnapshot({
  clusterId: 'c',
  version: 10,
  controller: undefined,
  nodes: [],
  topics: [{ name: 'orders', topicId: 'id-orders', internal: false, partitions: [partition(0), partition(1), partition(2)], configs: {} }],
  clusterConfigs: {},
});

function change(image: MetadataImage, partitions: PartitionState[]): { image: MetadataImage; delta: ReturnType<typeof emptyDelta> } {
  const delta = { ...emptyDelta(image.version, image.version + 1), partitions: partitions.map((state) => ({ topicId: 'id-orders', partition: state })) };
  return { image: applyDelta(image, delta), delta };
}

/** The value of a series, histogram series (`_count`, `_sum`, `_bucket`) included. */
async function valueOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const sample of metric.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
      if ((sample.metricName ?? metric.name) === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) return sample.value;
    }
  }
  return undefined;
}

describe('controller metrics', () => {
  it('counts elections by kind from the changes of a term, not from the image it loaded', async () => {
    const registry = new Registry();
    let active: MetadataImage | undefined;
    const metrics = registerControllerMetrics(registry, () => active);
    metrics.setActive(true);
    metrics.observe(loaded);
    // Failover of partition 0 (node 1 lost), partition 1 back to its preferred replica, partition 2 offline.
    const first = change(loaded, [partition(0, { leader: 2, leaderEpoch: 1, isr: [2, 3] }), partition(2, { leader: noLeader, leaderEpoch: 1, isr: [1] })]);
    metrics.observe(first.image, first.delta);
    const second = change(first.image, [partition(1, { leader: 2, leaderEpoch: 1 })]);
    metrics.observe(second.image, second.delta);
    const third = change(second.image, [partition(1, { leader: 1, leaderEpoch: 2 })]);
    metrics.observe(third.image, third.delta);
    active = third.image;
    expect(await valueOf(registry, 'starlane_controller_leader_elections_total', { kind: 'clean' })).toBe(2);
    expect(await valueOf(registry, 'starlane_controller_leader_elections_total', { kind: 'preferred' })).toBe(1);
    expect(await valueOf(registry, 'starlane_controller_leader_elections_total', { kind: 'unclean' })).toBe(0);
    expect(await valueOf(registry, 'starlane_controller_offline_partitions')).toBe(1);
    expect(await valueOf(registry, 'starlane_controller_preferred_replica_imbalance')).toBe(1);
    expect(await valueOf(registry, 'starlane_controller_metadata_version')).toBe(13);
    expect(await valueOf(registry, 'starlane_controller_active')).toBe(1);

    // Standing down and loading again (another controller was active meanwhile): the newly
    // loaded image is a starting point, not a change of this controller's.
    metrics.setActive(false);
    active = undefined;
    expect(await valueOf(registry, 'starlane_controller_offline_partitions')).toBe(0);
    metrics.setActive(true);
    metrics.observe(loaded);
    expect(await valueOf(registry, 'starlane_controller_leader_elections_total', { kind: 'clean' })).toBe(2);
  });

  it('times each append to the metadata store', async () => {
    const registry = new Registry();
    const store = registerControllerMetrics(registry, () => undefined).timed(new MemoryMetadataStore(), 'file');
    await store.load();
    await store.append({ baseVersion: 0, version: 1, records: [] }, () => {
      throw new Error('not compacted this early');
    });
    await expect(store.append({ baseVersion: 0, version: 2, records: [] }, () => ({}) as never)).rejects.toMatchObject({ code: 'NOT_CONTROLLER' });
    expect(await valueOf(registry, 'starlane_controller_metadata_write_duration_seconds_count', { store: 'file' })).toBe(2);
  });
});
