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

  it('places rack-aware as Kafka does when every node has a rack (Kafka\'s own test vector)', () => {
    const racks = new Map([
      [0, 'rack1'],
      [1, 'rack3'],
      [2, 'rack3'],
      [3, 'rack2'],
      [4, 'rack2'],
      [5, 'rack1'],
    ]);
    expect(placeReplicas({ nodeIds: [0, 1, 2, 3, 4, 5], replicationFactor: 3, firstPartition: 0, partitionCount: 7, racks }, fixed(0))).toEqual([
      [0, 3, 1],
      [3, 1, 5],
      [1, 5, 4],
      [5, 4, 2],
      [4, 2, 0],
      [2, 0, 3],
      [0, 4, 2],
    ]);
  });

  it('puts the replicas of a partition on as many racks as it can, for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 }), (seed, rackCount, perRack) => {
        const nodeIds = Array.from({ length: rackCount * perRack }, (_, index) => index + 1);
        const racks = new Map(nodeIds.map((id) => [id, `rack-${id % rackCount}`]));
        const factor = Math.min(3, nodeIds.length);
        for (const replicas of placeReplicas({ nodeIds, replicationFactor: factor, firstPartition: 0, partitionCount: 12, racks }, seededRandom(seed))) {
          expect(new Set(replicas).size).toBe(factor);
          expect(new Set(replicas.map((id) => racks.get(id))).size).toBe(Math.min(factor, rackCount));
        }
      }),
    );
  });

  it('places rack-unaware when some node has no rack', () => {
    const racks = new Map([
      [1, 'a'],
      [2, ''],
      [3, 'b'],
    ]);
    expect(placeReplicas({ nodeIds: [3, 1, 2], replicationFactor: 2, firstPartition: 0, partitionCount: 3, racks }, fixed(0))).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
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
