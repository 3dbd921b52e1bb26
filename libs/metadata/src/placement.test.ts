import fc from 'fast-check';
import { placeReplicas, seededRandom, type MetadataRandom } from './placement';

const fixed = (value: number): MetadataRandom => ({ int: () => value, uuid: () => '00000000-0000-4000-8000-000000000001' });

describe('placeReplicas', () => {
  it('places as Kafka does: leaders round-robin, followers shifted once per round', () => {
    expect(placeReplicas({ nodeIds: [3, 1, 2], replicationFactor: 2, firstPartition: 0, partitionCount: 6 }, fixed(0))).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 3],
      [2, 1],
      [3, 2],
    ]);
  });

  it('starts where the random start says and continues from firstPartition', () => {
    expect(placeReplicas({ nodeIds: [1, 2, 3], replicationFactor: 1, firstPartition: 0, partitionCount: 3 }, fixed(1))).toEqual([[2], [3], [1]]);
    expect(placeReplicas({ nodeIds: [1, 2, 3], replicationFactor: 1, firstPartition: 2, partitionCount: 2 }, fixed(0))).toEqual([[3], [1]]);
  });

  it('spreads leaders and replicas evenly, never puts a node twice in a partition, for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (nodeCount, rounds, factorWish, seed) => {
        const nodeIds = Array.from({ length: nodeCount }, (_, i) => 10 + i * 3);
        const replicationFactor = Math.min(factorWish, nodeCount);
        const partitionCount = nodeCount * rounds;
        const placed = placeReplicas({ nodeIds, replicationFactor, firstPartition: 0, partitionCount }, seededRandom(seed));
        expect(placed).toHaveLength(partitionCount);
        const leaders = new Map<number, number>();
        const replicas = new Map<number, number>();
        for (const partition of placed) {
          expect(partition).toHaveLength(replicationFactor);
          expect(new Set(partition).size).toBe(replicationFactor);
          for (const id of partition) expect(nodeIds).toContain(id);
          const leader = partition[0] ?? -1;
          leaders.set(leader, (leaders.get(leader) ?? 0) + 1);
          for (const id of partition) replicas.set(id, (replicas.get(id) ?? 0) + 1);
        }
        // Whole rounds: every node leads exactly `rounds` partitions and holds rounds * factor replicas.
        for (const id of nodeIds) {
          expect(leaders.get(id)).toBe(rounds);
          expect(replicas.get(id)).toBe(rounds * replicationFactor);
        }
      }),
    );
  });

  it('makes version 4 UUIDs from a seed, the same for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const ids = Array.from({ length: 50 }, () => a.uuid());
    expect(ids).toEqual(Array.from({ length: 50 }, () => b.uuid()));
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
