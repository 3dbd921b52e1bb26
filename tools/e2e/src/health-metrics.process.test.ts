/**
 * The health metrics an operator looks at first, read from `/metrics` of real processes: a
 * follower of an RF=3 topic (min.insync.replicas 2) is SIGSTOPped past the lag limit, so its
 * leader shrinks the ISR; the leader's scrape shows the partition under-replicated (and at
 * min ISR, the shrink counted, the follower's lag); once SIGCONTed the follower catches up
 * and rejoins, and the count returns to 0 with the expansion counted.
 */
import type { PartitionState } from '@starlane/metadata';
import { v1 } from '@starlane/proto';
import { metricValue, scrapeMetrics, type MetricSample, type TestCluster } from '@starlane/testing';
import type { PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed } from './workload';

jest.setTimeout(180_000);

/** The lag limit: short, so the shrink happens within the test's time. */
const replicaLagTimeMaxMs = 1000;
/** How long a change may take to show in a scrape (lag limit, ISR check, controller round trip, on a shared CPU). */
const settleMsMax = 30_000;
const scrapeIntervalMs = 100;

let cluster: TestCluster;
let clients: PublicClients;
let stopped: number | undefined;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 3, storageNodeArgs: [`--replica-lag-time-max-ms=${replicaLagTimeMaxMs}`] }));
});

afterAll(async () => {
  // A failed test must not leave a node stopped: it could not stop cleanly.
  if (stopped !== undefined) cluster?.storageNode(stopped).child.kill('SIGCONT');
  await stopWithClients({ cluster, clients });
});

async function metricsOf(name: string): Promise<MetricSample[]> {
  const app = name === 'gateway' ? cluster.gateway : name === 'controller' ? cluster.controller : cluster.storageNode(Number(name.slice('storage-node-'.length)));
  return scrapeMetrics((await app.ready).metricsAddress);
}

/** Scrapes `member` until `accept` takes the samples; fails with the last value read after settleMsMax. */
async function scrapeUntil(member: string, what: string, accept: (samples: MetricSample[]) => boolean): Promise<MetricSample[]> {
  const deadline = Date.now() + settleMsMax;
  for (;;) {
    const samples = await metricsOf(member);
    if (accept(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`${member}: ${what} not seen within ${settleMsMax} ms`);
    await new Promise((resolve) => setTimeout(resolve, scrapeIntervalMs));
  }
}

/** Creates `topic` with one partition on three replicas (min.insync.replicas 2) and waits for its whole ISR; returns the partition. */
async function replicatedTopic(topic: string): Promise<PartitionState> {
  await createTopic(clients, topic, 1, { 'min.insync.replicas': '2' }, 3);
  const image = await cluster.metadata().waitFor((current) => current.topics.get(topic)?.partitions[0]?.isr.length === 3, settleMsMax);
  const partition = image?.topics.get(topic)?.partitions[0];
  if (partition === undefined) throw new Error(`${topic} did not get a full ISR`);
  return partition;
}

const value = (samples: MetricSample[], name: string, labels: Record<string, string> = {}): number => metricValue(samples, name, labels) ?? Number.NaN;

it('counts a follower held out of the ISR as under-replicated on its leader, and 0 again once it rejoins', async () => {
  const topic = 'health';
  const partition = await replicatedTopic(topic);
  const leader = `storage-node-${partition.leader}`;
  const follower = partition.replicas.find((id) => id !== partition.leader) as number;

  const healthy = await scrapeUntil(leader, 'the partition led and fully replicated', (samples) => value(samples, 'starlane_storage_leader_count') === 1);
  expect(value(healthy, 'starlane_storage_under_replicated_partitions')).toBe(0);
  expect(value(healthy, 'starlane_storage_under_min_isr_partitions')).toBe(0);
  expect(value(healthy, 'starlane_storage_partition_count')).toBe(1);
  const shrinksBefore = value(healthy, 'starlane_storage_isr_shrinks_total');
  const expandsBefore = value(healthy, 'starlane_storage_isr_expands_total');

  // One acks=all write that every ISR member has: the follower's position is then known to its
  // leader (before its first fetch in a leadership it is not, and its lag reads 0).
  await produceKeyed(clients, topic, [{ key: 'k', value: 'first' }], { recordsPerRequest: 1, inflightMax: 1, acks: v1.Acks.ALL });

  // Held out: the follower stops fetching, the leader drops it after the lag limit.
  cluster.storageNode(follower).child.kill('SIGSTOP');
  stopped = follower;
  const shrunk = await scrapeUntil(leader, 'the partition under-replicated', (samples) => value(samples, 'starlane_storage_under_replicated_partitions') === 1);
  expect(value(shrunk, 'starlane_storage_isr_shrinks_total')).toBeGreaterThan(shrinksBefore);
  expect(value(shrunk, 'starlane_storage_at_min_isr_partitions')).toBe(1);
  expect(value(shrunk, 'starlane_storage_under_min_isr_partitions')).toBe(0);
  expect(value(shrunk, 'starlane_storage_replica_max_lag_seconds')).toBeGreaterThanOrEqual(replicaLagTimeMaxMs / 1000);
  expect(cluster.metadata().current().topics.get(topic)?.partitions[0]?.isr).not.toContain(follower);

  // Two in-sync replicas are min.insync.replicas: acks=all writes go on, and the stopped
  // follower falls behind by what they add.
  await produceKeyed(clients, topic, Array.from({ length: 5 }, (_, index) => ({ key: 'k', value: `v${index}` })), { recordsPerRequest: 1, inflightMax: 1, acks: v1.Acks.ALL });
  const behind = await metricsOf(leader);
  expect(value(behind, 'starlane_storage_replica_max_lag_offsets')).toBe(5);
  expect(value(behind, 'starlane_storage_records_in_total', { topic })).toBe(6);
  expect(value(behind, 'starlane_storage_log_end_offsets', { topic })).toBe(6);
  expect(value(behind, 'starlane_rpc_request_duration_seconds_count', { method: 'starlane.internal.v1.StorageNodeService/AppendStream' })).toBeGreaterThanOrEqual(6);

  // Let go: it catches up, the leader takes it back, and the count returns to 0.
  cluster.storageNode(follower).child.kill('SIGCONT');
  stopped = undefined;
  const rejoined = await scrapeUntil(leader, 'the under-replicated count back to 0', (samples) => value(samples, 'starlane_storage_under_replicated_partitions') === 0);
  expect(value(rejoined, 'starlane_storage_isr_expands_total')).toBeGreaterThan(expandsBefore);
  expect(value(rejoined, 'starlane_storage_replica_max_lag_offsets')).toBe(0);
  expect(value(rejoined, 'starlane_storage_at_min_isr_partitions')).toBe(0);
  expect(cluster.metadata().current().topics.get(topic)?.partitions[0]?.isr).toHaveLength(3);

  // The gateway times the produce requests carried in its streams.
  const gateway = await metricsOf('gateway');
  expect(value(gateway, 'starlane_rpc_request_duration_seconds_count', { method: 'starlane.v1.ProducerService/ProduceStream' })).toBe(6);
});

it('counts a failover as a clean election on the active controller, with no partition left offline', async () => {
  const topic = 'failover';
  const partition = await replicatedTopic(topic);
  const before = await metricsOf('controller');
  expect(value(before, 'starlane_controller_active')).toBe(1);
  expect(value(before, 'starlane_controller_metadata_write_duration_seconds_count', { store: 'file' })).toBeGreaterThan(0);
  const cleanBefore = value(before, 'starlane_controller_leader_elections_total', { kind: 'clean' });

  await cluster.kill(`storage-node-${partition.leader}`, 'SIGKILL');
  const after = await scrapeUntil('controller', 'a clean election', (samples) => value(samples, 'starlane_controller_leader_elections_total', { kind: 'clean' }) > cleanBefore);
  expect(value(after, 'starlane_controller_leader_elections_total', { kind: 'unclean' })).toBe(0);
  expect(value(after, 'starlane_controller_offline_partitions')).toBe(0);
  const moved = cluster.metadata().current().topics.get(topic)?.partitions[0];
  expect(moved?.leader).not.toBe(partition.leader);
  // The preferred replica (listed first) led before; another replica leads now.
  expect(partition.leader).toBe(partition.replicas[0]);
  expect(value(after, 'starlane_controller_preferred_replica_imbalance')).toBeGreaterThanOrEqual(1);
});
