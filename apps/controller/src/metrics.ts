/**
 * The controller's metrics on `/metrics` (wiring only): whether this controller is the active
 * one, the metadata it serves, leader elections by kind, offline partitions and how long
 * metadata writes take. Only the active controller counts elections and partitions (a standby
 * reports 0), as Kafka's controller metrics are reported by the active controller.
 * docs/operations.md lists every metric with its Kafka equivalent.
 */
import { changedPartitions, electionKind, electionKinds, noLeader, type MetadataDelta, type MetadataImage, type MetadataStore } from '@starlane/metadata';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Upper bounds (seconds) of the metadata-write histogram's buckets: from an fsync on a fast
 * disk (under a millisecond) to an etcd transaction that waits out a leader election (seconds).
 */
export const metadataWriteBucketsSeconds: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface ControllerMetrics {
  /** An image the active term serves: after loading (no delta: a starting point) and after each change. */
  observe(image: MetadataImage, delta?: MetadataDelta): void;
  /** This controller became active (a term is served) or stopped being active. */
  setActive(active: boolean): void;
  /** `store`, with each append timed. */
  timed(store: MetadataStore, kind: 'file' | 'etcd'): MetadataStore;
}

export function registerControllerMetrics(registry: Registry, activeImage: () => MetadataImage | undefined): ControllerMetrics {
  const version = new Gauge({ name: 'starlane_controller_metadata_version', help: 'Metadata version of the controller', registers: [registry] });
  const nodes = new Gauge({ name: 'starlane_controller_nodes', help: 'Registered storage nodes by state', labelNames: ['state'], registers: [registry] });
  const active = new Gauge({ name: 'starlane_controller_active', help: '1 while this controller is the active one, else 0 (Kafka: ActiveControllerCount)', registers: [registry] });
  const elections = new Counter({
    name: 'starlane_controller_leader_elections_total',
    help: 'Partition leaders elected by this controller while active, by kind: clean (from the ISR), unclean (from outside it), preferred (moved back to the preferred replica) (Kafka: LeaderElectionRateAndTimeMs, UncleanLeaderElectionsPerSec)',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of electionKinds) elections.inc({ kind }, 0);
  new Gauge({
    name: 'starlane_controller_offline_partitions',
    help: 'Partitions without a leader, on the active controller (Kafka: OfflinePartitionsCount)',
    registers: [registry],
    collect() {
      this.set(countPartitions(activeImage(), (leader) => leader === noLeader));
    },
  });
  new Gauge({
    name: 'starlane_controller_preferred_replica_imbalance',
    help: 'Partitions led by another replica than their preferred one, on the active controller (Kafka: PreferredReplicaImbalanceCount)',
    registers: [registry],
    collect() {
      this.set(countPartitions(activeImage(), (leader, preferred) => leader !== noLeader && leader !== preferred));
    },
  });
  const writes = new Histogram({
    name: 'starlane_controller_metadata_write_duration_seconds',
    help: 'Time to append one batch of metadata records durably, by store (file: journal write and fsync; etcd: the fenced transaction)',
    labelNames: ['store'],
    buckets: [...metadataWriteBucketsSeconds],
    registers: [registry],
  });

  let last: MetadataImage | undefined;
  return {
    observe(image, delta) {
      version.set(image.version);
      const byState = { active: 0, fenced: 0, 'controlled-shutdown': 0 };
      for (const node of image.nodes.values()) byState[node.state] += 1;
      for (const [state, count] of Object.entries(byState)) nodes.set({ state }, count);
      // A freshly loaded image is where this term starts: what happened before was counted by
      // whichever controller was active then.
      if (delta !== undefined && last !== undefined) {
        for (const transition of changedPartitions(last, image)) {
          const kind = electionKind(transition.before, transition.after);
          if (kind !== undefined) elections.inc({ kind });
        }
      }
      last = image;
    },
    setActive(isActive) {
      active.set(isActive ? 1 : 0);
      if (!isActive) last = undefined;
    },
    timed(store, kind) {
      return {
        load: () => store.load(),
        close: () => store.close(),
        async append(batch, snapshot) {
          const stop = writes.startTimer({ store: kind });
          try {
            await store.append(batch, snapshot);
          } finally {
            stop();
          }
        },
      };
    },
  };
}

function countPartitions(image: MetadataImage | undefined, counts: (leader: number, preferred: number | undefined) => boolean): number {
  if (image === undefined) return 0;
  let count = 0;
  for (const topic of image.topics.values()) for (const partition of topic.partitions) if (counts(partition.leader, partition.replicas[0])) count += 1;
  return count;
}
