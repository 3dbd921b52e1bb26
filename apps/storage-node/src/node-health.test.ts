import type { PartitionState } from '@starlane/metadata';
import type { FollowerProgress } from '@starlane/replication';
import { nodeHealth, replicationFactor, type ReplicaView } from './node-health';

const local = 1;

function replica(changes: Partial<PartitionState> & { topic?: string; status?: ReplicaView['status']; minIsr?: number; followers?: FollowerProgress[]; log?: [bigint, bigint, number] }): ReplicaView {
  const state: PartitionState = {
    partition: 0,
    leader: local,
    leaderEpoch: 1,
    partitionEpoch: 1,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    elr: [],
    offlineReplicas: [],
    addingReplicas: [],
    removingReplicas: [],
    ...changes,
  };
  const followers = new Map((changes.followers ?? []).map((progress) => [progress.nodeId, progress]));
  const [logStartOffset, logEndOffset, sizeBytes] = changes.log ?? [0n, 100n, 4096];
  const status = changes.status ?? 'online';
  const isLeader = state.leader === local;
  return {
    topic: changes.topic ?? 'orders',
    localNodeId: local,
    status,
    isLeader,
    state,
    replicaSettings: { minInsyncReplicas: changes.minIsr ?? 2, replicaLagTimeMaxMs: 10_000 },
    leaderState: isLeader && status === 'online' ? { follower: (nodeId) => followers.get(nodeId) } : undefined,
    onlineLog: status === 'online' ? { logStartOffset, logEndOffset, sizeBytes } : undefined,
  };
}

const progress = (nodeId: number, logEndOffset: bigint, lastCaughtUpMs: number): FollowerProgress => ({ nodeId, logEndOffset, lastCaughtUpMs, nodeEpoch: 1n });

describe('nodeHealth', () => {
  it('counts led partitions by how their ISR compares with the replication factor and min.insync.replicas', () => {
    const { health } = nodeHealth(
      [
        replica({}),
        replica({ isr: [1, 2] }),
        replica({ isr: [1] }),
        replica({ isr: [1], minIsr: 1 }),
        // Followed here: its ISR is its leader's to count.
        replica({ leader: 2, isr: [2] }),
      ],
      0,
    );
    expect(health).toMatchObject({ partitions: 5, leaders: 4, underReplicated: 3, underMinIsr: 1, atMinIsr: 2, offline: 0 });
  });

  it('does not count a replica being added by a reassignment as missing from the ISR', () => {
    const adding = { replicas: [1, 2, 3, 4], addingReplicas: [4], isr: [1, 2, 3] };
    expect(replicationFactor(replica(adding).state)).toBe(3);
    expect(nodeHealth([replica(adding)], 0).health.underReplicated).toBe(0);
  });

  it('counts offline replicas, and opening ones only as hosted', () => {
    const { health } = nodeHealth([replica({ status: 'offline' }), replica({ status: 'opening' }), replica({ status: 'removed' })], 0);
    expect(health).toMatchObject({ partitions: 2, leaders: 0, underReplicated: 0, offline: 1 });
  });

  it('reports the furthest-behind follower of led partitions, in offsets and in time since it caught up', () => {
    const { health } = nodeHealth(
      [
        replica({ log: [0n, 100n, 1], followers: [progress(2, 100n, 9_000), progress(3, 60n, 4_000)] }),
        // Position unknown before a first fetch: only the time counts.
        replica({ log: [0n, 500n, 1], followers: [progress(2, -1n, 8_000), progress(3, 500n, 10_000)] }),
      ],
      10_000,
    );
    expect(health.replicaMaxLagOffsets).toBe(40);
    expect(health.replicaMaxLagMs).toBe(6_000);
  });

  it('sums log sizes of every replica and offsets of led partitions, per topic', () => {
    const { topics } = nodeHealth(
      [
        replica({ topic: 'a', log: [10n, 100n, 1000] }),
        replica({ topic: 'a', partition: 1, log: [0n, 50n, 500] }),
        replica({ topic: 'a', partition: 2, leader: 2, log: [0n, 70n, 700] }),
        replica({ topic: 'b', log: [0n, 5n, 10] }),
      ],
      0,
    );
    expect(topics.get('a')).toEqual({ sizeBytes: 2200, startOffsets: 10n, endOffsets: 150n });
    expect(topics.get('b')).toEqual({ sizeBytes: 10, startOffsets: 0n, endOffsets: 5n });
  });
});
