import { applyDelta, emptyDelta, imageFromSnapshot, type MetadataImage, type PartitionState } from '@starlane/metadata';
import { buildBatch } from '@starlane/record-batch';
import { Registry } from 'prom-client';
import { otherTopicsLabel, registerStorageMetrics, topicLabelsMax } from './metrics';

const local = 1;

const partition = (index: number, changes: Partial<PartitionState> = {}): PartitionState => ({
  partition: index,
  leader: local,
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

function imageOf(topics: Record<string, PartitionState[]>, version = 1): MetadataImage {
  return imageFromSnapshot({
    clusterId: 'c',
    version,
    controller: undefined,
    nodes: [],
    topics: Object.entries(topics).map(([name, partitions]) => ({ name, topicId: `id-${name}`, internal: false, partitions, configs: {} })),
    clusterConfigs: {},
  });
}

function changed(image: MetadataImage, topic: string, states: PartitionState[]): MetadataImage {
  return applyDelta(image, { ...emptyDelta(image.version, image.version + 1), partitions: states.map((state) => ({ topicId: `id-${topic}`, partition: state })) });
}

function setup(): { registry: Registry; metrics: ReturnType<typeof registerStorageMetrics> } {
  const registry = new Registry();
  const rpc = { startRequest: () => () => undefined, countErrors: () => undefined };
  const metrics = registerStorageMetrics({ registry, rpc, manager: { partitions: () => [], nodeId: local, appliedVersion: 0, directoryFailure: undefined }, nowMs: () => 0 });
  return { registry, metrics };
}

async function valueOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const data = await registry.getSingleMetric(name)?.get();
  return data?.values.find((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;
}

describe('storage node metrics', () => {
  it("counts ISR shrinks and expands of this node's leaderships, not elections or other leaders' changes", async () => {
    const { registry, metrics } = setup();
    const start = imageOf({ orders: [partition(0), partition(1, { leader: 2 }), partition(2)] });
    const shrunk = changed(start, 'orders', [partition(0, { isr: [1, 2], partitionEpoch: 1 }), partition(1, { leader: 2, isr: [2, 3], partitionEpoch: 1 })]);
    metrics.metadataApplied(start, shrunk);
    // Node 1 loses partition 2's leadership: the new leader's ISR is not this node's change.
    const elected = changed(shrunk, 'orders', [partition(2, { leader: 2, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 1 })]);
    metrics.metadataApplied(shrunk, elected);
    const expanded = changed(elected, 'orders', [partition(0, { isr: [1, 2, 3], partitionEpoch: 2 })]);
    metrics.metadataApplied(elected, expanded);
    expect(await valueOf(registry, 'starlane_storage_isr_shrinks_total')).toBe(1);
    expect(await valueOf(registry, 'starlane_storage_isr_expands_total')).toBe(1);
  });

  it('labels up to topicLabelsMax topics, sums the rest as (other), and frees the slot of a deleted topic', async () => {
    const { registry, metrics } = setup();
    const batch = await buildBatch([{ key: null, value: Buffer.from('v'), timestamp: 0n }, { key: null, value: Buffer.from('w'), timestamp: 0n }]);
    for (let index = 0; index < topicLabelsMax; index += 1) metrics.counters.appended(`topic-${index}`, batch);
    metrics.counters.appended('late', batch);
    metrics.counters.appended('later', batch);
    expect(await valueOf(registry, 'starlane_storage_records_in_total', { topic: 'topic-0' })).toBe(2);
    expect(await valueOf(registry, 'starlane_storage_records_in_total', { topic: otherTopicsLabel })).toBe(4);
    expect(await valueOf(registry, 'starlane_storage_bytes_in_total', { topic: otherTopicsLabel })).toBe(2 * batch.length);

    const topics = Object.fromEntries(Array.from({ length: topicLabelsMax }, (_, index) => [`topic-${index}`, [partition(0)]]));
    const before = imageOf(topics);
    const { 'topic-0': deleted, ...rest } = topics;
    expect(deleted).toBeDefined();
    metrics.metadataApplied(before, imageOf(rest, 2));
    expect(await valueOf(registry, 'starlane_storage_records_in_total', { topic: 'topic-0' })).toBeUndefined();
    metrics.counters.read('late', batch);
    expect(await valueOf(registry, 'starlane_storage_records_out_total', { topic: 'late' })).toBe(2);
  });
});
