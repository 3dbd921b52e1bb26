/**
 * The storage node's metrics on `/metrics`: wiring only. Gauges are computed at each scrape
 * from the partitions' state (`nodeHealth`); counters are moved by hooks the service and the
 * metadata path call. Per-topic series are bounded by `topicLabelsMax`; nothing is labelled
 * per partition. docs/operations.md lists every metric with its Kafka equivalent.
 */
import { changedPartitions, isrChange, type MetadataImage } from '@starlane/metadata';
import { countRecords } from '@starlane/record-batch';
import type { DivergenceOutcome, PartitionManager } from '@starlane/replica';
import { BoundedLabels, type RpcMetrics } from '@starlane/service-host';
import { Counter, Gauge, type Registry } from 'prom-client';
import { nodeHealth, type NodeHealth, type TopicLogTotals } from './node-health';
import type { ServiceCounters } from './storage-service';

/**
 * Topics that get series of their own in per-topic metrics (bytes and records in and out, log
 * size and offsets); traffic of further topics is summed under `otherTopicsLabel`. Five
 * per-topic metrics make this 1,000 series a node at most.
 */
export const topicLabelsMax = 200;
/** The topic label of topics past `topicLabelsMax`; parentheses cannot occur in a topic name. */
export const otherTopicsLabel = '(other)';

export interface StorageMetrics {
  /** The hooks the storage service calls as it answers. */
  readonly counters: ServiceCounters;
  /** A leader answered one of this node's follower fetches with a divergence (see `ReplicaFetcherOptions.onDivergence`). */
  divergence(outcome: DivergenceOutcome): void;
  /** A metadata image was applied (`before` is the image applied until now): counts this node's ISR changes. */
  metadataApplied(before: MetadataImage | undefined, after: MetadataImage | undefined): void;
}

function healthGauge(registry: Registry, name: string, help: string, read: () => NodeHealth, pick: (health: NodeHealth) => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(pick(read()));
    },
  });
}

export interface StorageMetricsOptions {
  readonly registry: Registry;
  readonly rpc: RpcMetrics;
  /** Where the partitions and the applied metadata version are read at each scrape. */
  readonly manager: Pick<PartitionManager, 'partitions' | 'nodeId' | 'appliedVersion' | 'directoryFailure'>;
  readonly nowMs: () => number;
}

export function registerStorageMetrics(options: StorageMetricsOptions): StorageMetrics {
  const { registry, manager } = options;
  const topics = new BoundedLabels(topicLabelsMax, otherTopicsLabel);

  // Each gauge sums the partitions afresh when scraped: a few passes over the hosted
  // partitions every scrape cost less than keeping counts in step with every change.
  const currentSummary = (): { health: NodeHealth; topics: Map<string, TopicLogTotals> } => nodeHealth(manager.partitions(), options.nowMs());
  new Gauge({
    name: 'starlane_storage_partitions',
    help: 'Partition replicas hosted by this node, by status (opening, online, offline)',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = { opening: 0, online: 0, offline: 0 };
      for (const partition of manager.partitions()) if (partition.status !== 'removed') counts[partition.status] += 1;
      for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
    },
  });
  const health = (): NodeHealth => currentSummary().health;
  healthGauge(registry, 'starlane_storage_partition_count', 'Partition replicas hosted by this node (Kafka: PartitionCount)', health, (h) => h.partitions);
  healthGauge(registry, 'starlane_storage_leader_count', 'Partitions this node leads with the log open (Kafka: LeaderCount)', health, (h) => h.leaders);
  healthGauge(registry, 'starlane_storage_under_replicated_partitions', 'Partitions this node leads whose ISR is smaller than the replica set (Kafka: UnderReplicatedPartitions)', health, (h) => h.underReplicated);
  healthGauge(registry, 'starlane_storage_under_min_isr_partitions', 'Partitions this node leads whose ISR is below min.insync.replicas; acks=all writes fail (Kafka: UnderMinIsrPartitionCount)', health, (h) => h.underMinIsr);
  healthGauge(registry, 'starlane_storage_at_min_isr_partitions', 'Partitions this node leads whose ISR is exactly min.insync.replicas (Kafka: AtMinIsrPartitionCount)', health, (h) => h.atMinIsr);
  healthGauge(registry, 'starlane_storage_offline_replicas', 'Replicas on this node whose log is offline (failed to open or failed at runtime) (Kafka: OfflineReplicaCount)', health, (h) => h.offline);
  healthGauge(registry, 'starlane_storage_replica_max_lag_offsets', "Offsets the furthest-behind follower of a partition this node leads is behind the leader's log end, as of its last fetch (Kafka: MaxLag, seen from the leader)", health, (h) => h.replicaMaxLagOffsets);
  healthGauge(registry, 'starlane_storage_replica_max_lag_seconds', 'Longest time a follower of a partition this node leads has gone without catching up (compared with --replica-lag-time-max-ms to leave the ISR)', health, (h) => h.replicaMaxLagMs / 1000);

  const perTopic = (name: string, help: string, pick: (totals: TopicLogTotals) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['topic'],
      registers: [registry],
      collect() {
        this.reset();
        const sums = new Map<string, number>();
        for (const [topic, totals] of currentSummary().topics) {
          const label = topics.labelFor(topic);
          sums.set(label, (sums.get(label) ?? 0) + pick(totals));
        }
        for (const [topic, value] of sums) this.set({ topic }, value);
      },
    });
  };
  perTopic('starlane_storage_log_size_bytes', "Bytes of this node's replicas of a topic (Kafka: Log Size, summed)", (totals) => totals.sizeBytes);
  perTopic('starlane_storage_log_start_offsets', 'Sum of the log start offsets of the partitions of a topic this node leads (Kafka: LogStartOffset, summed)', (totals) => Number(totals.startOffsets));
  perTopic('starlane_storage_log_end_offsets', 'Sum of the log end offsets of the partitions of a topic this node leads (Kafka: LogEndOffset, summed)', (totals) => Number(totals.endOffsets));
  new Gauge({
    name: 'starlane_storage_offline_log_directories',
    help: "Log directories of this node that failed and are offline until it restarts (Kafka: OfflineLogDirectoryCount)",
    registers: [registry],
    collect() {
      this.set(manager.directoryFailure === undefined ? 0 : 1);
    },
  });
  new Gauge({ name: 'starlane_storage_metadata_version', help: 'Metadata version this node has applied', registers: [registry], collect() { this.set(manager.appliedVersion); } });

  const bytesIn = new Counter({ name: 'starlane_storage_bytes_in_total', help: 'Record batch bytes appended by producers as leader, by topic (Kafka: BytesInPerSec)', labelNames: ['topic'], registers: [registry] });
  const recordsIn = new Counter({ name: 'starlane_storage_records_in_total', help: 'Records appended by producers as leader, by topic (Kafka: MessagesInPerSec)', labelNames: ['topic'], registers: [registry] });
  const bytesOut = new Counter({ name: 'starlane_storage_bytes_out_total', help: 'Record batch bytes returned to consumers, by topic (Kafka: BytesOutPerSec)', labelNames: ['topic'], registers: [registry] });
  const recordsOut = new Counter({ name: 'starlane_storage_records_out_total', help: 'Records returned to consumers, by topic (whole batches, as read)', labelNames: ['topic'], registers: [registry] });
  const shrinks = new Counter({ name: 'starlane_storage_isr_shrinks_total', help: 'ISR shrinks of partitions this node leads (Kafka: IsrShrinksPerSec)', registers: [registry] });
  const expands = new Counter({ name: 'starlane_storage_isr_expands_total', help: 'ISR expansions of partitions this node leads (Kafka: IsrExpandsPerSec)', registers: [registry] });
  const divergences = new Counter({
    name: 'starlane_storage_replica_divergences_total',
    help: "Leader answers that told this node's follower replicas to truncate, by outcome: truncated, restarted (emptied to start over), repeated (the same answer again for the same log state; not acted on, the partition backs off)",
    labelNames: ['outcome'],
    registers: [registry],
  });
  const topicCounters = [bytesIn, recordsIn, bytesOut, recordsOut];

  return {
    counters: {
      appended(topic, batches) {
        const label = topics.labelFor(topic);
        bytesIn.inc({ topic: label }, batches.length);
        recordsIn.inc({ topic: label }, countRecords(batches));
      },
      read(topic, batches) {
        const label = topics.labelFor(topic);
        bytesOut.inc({ topic: label }, batches.length);
        recordsOut.inc({ topic: label }, countRecords(batches));
      },
      requests: options.rpc,
    },
    divergence(outcome) {
      divergences.inc({ outcome });
    },
    metadataApplied(before, after) {
      if (before === undefined || after === undefined || before === after) return;
      const nodeId = manager.nodeId;
      for (const { before: was, after: now } of changedPartitions(before, after)) {
        // A change of leader is an election, not this leader's ISR change.
        if (now.leader !== nodeId || was.leader !== nodeId || was.leaderEpoch !== now.leaderEpoch) continue;
        const change = isrChange(was, now);
        if (change.shrank) shrinks.inc();
        if (change.expanded) expands.inc();
      }
      // A deleted topic's series go, and its slot is free for another topic.
      if (before.topics !== after.topics) {
        for (const topic of topics.releaseUnless((name) => after.topics.has(name))) for (const counter of topicCounters) counter.remove({ topic });
      }
    },
  };
}
