/**
 * Replica placement as Kafka does it. When every candidate node carries a rack, Kafka's
 * rack-aware placement (`assignReplicasToBrokersRackAware`) is used: nodes are ordered
 * alternating between racks, and each further replica skips nodes on a rack that already holds
 * one (while some rack holds none) and nodes already chosen. Otherwise (some node without a
 * rack), the rack-unaware placement (`assignReplicasToBrokersRackUnaware`):
 * nodes sorted by id; the first replica of partition p is node (start + p) mod n, so leaders
 * spread round-robin from a random start; the other replicas follow at a shift that grows by
 * one every n partitions, so followers of one leader spread over different nodes too.
 *
 * Worked example, nodes [1, 2, 3], start 0, shift 0, replication factor 2:
 * p0 → [1, 2], p1 → [2, 3], p2 → [3, 1], then the shift grows: p3 → [1, 3], p4 → [2, 1], ...
 */
import { assert } from '@starlane/model';

/** Where randomness comes from; injected so placement and ids replay from a seed. */
export interface MetadataRandom {
  /** An integer in [0, bound). */
  int(bound: number): number;
  /** A random (version 4) UUID string. */
  uuid(): string;
}

export interface PlacementInput {
  /** Nodes that may hold replicas (active ones), any order. */
  readonly nodeIds: readonly number[];
  readonly replicationFactor: number;
  /** Index of the first partition to place (the current count when adding partitions). */
  readonly firstPartition: number;
  readonly partitionCount: number;
  /** Each node's rack ('' for none); rack-aware placement applies when every node has one. */
  readonly racks?: ReadonlyMap<number, string>;
}

/** Nodes ordered by alternating racks (racks sorted, nodes sorted within): Kafka's getRackAlternatedBrokerList. */
function rackAlternated(nodeIds: readonly number[], racks: ReadonlyMap<number, string>): number[] {
  const byRack = new Map<string, number[]>();
  for (const id of [...nodeIds].sort((a, b) => a - b)) {
    const rack = racks.get(id) ?? '';
    const list = byRack.get(rack) ?? [];
    list.push(id);
    byRack.set(rack, list);
  }
  const rackNames = [...byRack.keys()].sort();
  const result: number[] = [];
  for (let round = 0; result.length < nodeIds.length; round += 1) {
    for (const rack of rackNames) {
      const id = byRack.get(rack)?.[round];
      if (id !== undefined) result.push(id);
    }
  }
  return result;
}

/**
 * Kafka's walk over the partitions, shared by both placements: partition p's first replica is
 * the node at (start + p) mod n; the shift that places followers grows by one every n
 * partitions. `replicasFor` picks a partition's replicas from there.
 */
function walkPartitions(
  input: PlacementInput,
  nodes: readonly number[],
  random: MetadataRandom,
  replicasFor: (first: number, shift: number, at: (index: number) => number) => number[],
): number[][] {
  const n = nodes.length;
  const startIndex = random.int(n);
  let shift = random.int(n);
  const at = (index: number): number => {
    const id = nodes[index % n];
    assert(id !== undefined, `no node at ${index}`);
    return id;
  };
  const placed: number[][] = [];
  for (let i = 0; i < input.partitionCount; i += 1) {
    const partition = input.firstPartition + i;
    if (partition > 0 && partition % n === 0) shift += 1;
    placed.push(replicasFor((partition + startIndex) % n, shift, at));
  }
  return placed;
}

function placeRackAware(input: PlacementInput, racks: ReadonlyMap<number, string>, random: MetadataRandom): number[][] {
  const nodes = rackAlternated(input.nodeIds, racks);
  const n = nodes.length;
  const rackCount = new Set(nodes.map((id) => racks.get(id))).size;
  return walkPartitions(input, nodes, random, (first, shift, at) => {
    const leader = at(first);
    const replicas = [leader];
    const racksUsed = new Set([racks.get(leader)]);
    const nodesUsed = new Set([leader]);
    let k = 0;
    for (let j = 0; j < input.replicationFactor - 1; j += 1) {
      // Skip a node on a rack that has a replica while some rack has none, and a node already chosen.
      for (;;) {
        const candidate = at(first + 1 + ((shift * rackCount + k) % (n - 1)));
        const rack = racks.get(candidate);
        k += 1;
        if ((!racksUsed.has(rack) || racksUsed.size === rackCount) && (!nodesUsed.has(candidate) || nodesUsed.size === n)) {
          replicas.push(candidate);
          racksUsed.add(rack);
          nodesUsed.add(candidate);
          break;
        }
      }
    }
    return replicas;
  });
}

/** Replica lists for partitions firstPartition..firstPartition+partitionCount-1, preferred leader first. */
export function placeReplicas(input: PlacementInput, random: MetadataRandom): number[][] {
  const nodes = [...input.nodeIds].sort((a, b) => a - b);
  const n = nodes.length;
  assert(input.replicationFactor >= 1 && input.replicationFactor <= n, `replication factor ${input.replicationFactor} with ${n} nodes`);
  const racks = input.racks;
  if (racks !== undefined && n > 1 && nodes.every((id) => (racks.get(id) ?? '') !== '')) return placeRackAware(input, racks, random);
  return walkPartitions(input, nodes, random, (first, shift, at) => {
    const replicas = [at(first)];
    for (let j = 0; j < input.replicationFactor - 1; j += 1) replicas.push(at(first + 1 + ((shift + j) % (n - 1))));
    return replicas;
  });
}

/**
 * A deterministic MetadataRandom from a seed (mulberry32), for tests and simulation; the
 * controller process uses cryptographic randomness instead.
 */
export function seededRandom(seed: number): MetadataRandom {
  let a = seed >>> 0;
  const next32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    int: (bound) => next32() % bound,
    uuid: () => {
      const hex = Array.from({ length: 4 }, () => next32().toString(16).padStart(8, '0')).join('');
      // Version 4, variant 10xx, as a random UUID is laid out.
      const v = `${hex.slice(0, 12)}4${hex.slice(13, 16)}${((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17)}`;
      return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
    },
  };
}
