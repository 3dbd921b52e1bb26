/**
 * Seeded simulation of the controller: random sequences of node lifecycle events, clock jumps,
 * topic commands and crash-restarts, on the file store over an in-memory filesystem. After
 * every step the invariants below must hold; fast-check prints the seed and the shortest
 * failing sequence it finds.
 */
import fc from 'fast-check';
import { MemoryFileSystem } from '@starlane/io-ports';
import { MetadataController } from './controller';
import { snapshotOf, stateFromSnapshot } from './controller-state';
import { FileMetadataStore } from './file-store';
import { applyDelta, noLeader, type MetadataImage } from './image';
import { seededRandom } from './placement';

const sessionTimeoutMs = 1000;
const names = ['a', 'b', 'c', 'd'];
const nameOf = (index: number): string => names[index] ?? 'a';

type Step =
  | { kind: 'register'; nodeId: number; incarnation: number }
  | { kind: 'heartbeat'; nodeId: number; caughtUp: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'tick' }
  | { kind: 'create'; name: number; partitions: number; factor: number }
  | { kind: 'delete'; name: number }
  | { kind: 'grow'; name: number; add: number }
  | { kind: 'alter'; name: number; retentionMs: number }
  | { kind: 'shutdown'; nodeId: number }
  | { kind: 'allocate'; count: number }
  | { kind: 'restart' };

const node = fc.integer({ min: 1, max: 4 });
const name = fc.integer({ min: 0, max: names.length - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('register' as const), nodeId: node, incarnation: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), nodeId: node, caughtUp: fc.constant(false) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), nodeId: node, caughtUp: fc.constant(true) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 900, max: 1500 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), name, partitions: fc.integer({ min: 1, max: 4 }), factor: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), name }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), name, add: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alter' as const), name, retentionMs: fc.integer({ min: -1, max: 10_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), nodeId: node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('allocate' as const), count: fc.integer({ min: 0, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

function checkImage(image: MetadataImage): void {
  for (const topic of image.topics.values()) {
    topic.partitions.forEach((partition, index) => {
      expect(partition.partition).toBe(index);
      expect(partition.isr.length).toBeGreaterThan(0);
      for (const id of partition.isr) expect(partition.replicas).toContain(id);
      const activeInIsr = partition.isr.filter((id) => image.nodes.get(id)?.state === 'active');
      if (partition.leader === noLeader) {
        // Leaderless only when no in-sync replica could lead.
        expect(activeInIsr).toEqual([]);
      } else {
        expect(partition.isr).toContain(partition.leader);
        expect(image.nodes.get(partition.leader)?.state).toBe('active');
      }
    });
  }
}

describe('controller simulation', () => {
  it('keeps its invariants under random commands, clock jumps and crash-restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.array(step, { minLength: 10, maxLength: 80 }), async (seed, steps) => {
        const fs = new MemoryFileSystem();
        const clock = { now: 1_700_000_000_000, nowMs(): number { return this.now; } };
        const epochs = new Map<number, number>();
        const incarnations = new Map<number, string>();
        const producerBlocks: [bigint, bigint][] = [];
        const epochsSeen = new Map<string, { leader: number; leaderEpoch: number; partitionEpoch: number }>();
        let restarts = 0;

        const open = async (): Promise<MetadataController> =>
          MetadataController.open({
            store: new FileMetadataStore({ fs, directory: '/meta', snapshotIntervalRecords: 15 }),
            clock,
            random: seededRandom(seed + restarts),
            controllerId: 0,
            host: 'h',
            port: 1,
            heartbeatIntervalMs: 100,
            sessionTimeoutMs,
            initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
          });
        let controller = await open();
        let followed = controller.image();
        const follow = (c: MetadataController): void => {
          c.subscribe((delta) => {
            followed = applyDelta(followed, delta);
          });
        };
        follow(controller);

        for (const s of steps) {
          const before = controller.image();
          switch (s.kind) {
            case 'register': {
              const incarnationId = `n${s.nodeId}-${s.incarnation}`;
              try {
                const { nodeEpoch } = await controller.registerNode({ nodeId: s.nodeId, incarnationId, clusterId: '', host: 'h', port: 1, rack: '' });
                const previous = epochs.get(s.nodeId);
                if (incarnations.get(s.nodeId) === incarnationId) expect(nodeEpoch).toBe(previous);
                else if (previous !== undefined) expect(nodeEpoch).toBeGreaterThan(previous);
                epochs.set(s.nodeId, nodeEpoch);
                incarnations.set(s.nodeId, incarnationId);
              } catch (error) {
                expect(error).toMatchObject({ code: 'DUPLICATE_BROKER_REGISTRATION' });
              }
              break;
            }
            case 'heartbeat': {
              const nodeEpoch = epochs.get(s.nodeId);
              if (nodeEpoch === undefined) {
                await expect(controller.heartbeat({ nodeId: s.nodeId, nodeEpoch: 1, metadataVersion: 0 })).rejects.toMatchObject({ code: 'BROKER_ID_NOT_REGISTERED' });
              } else {
                const result = await controller.heartbeat({ nodeId: s.nodeId, nodeEpoch, metadataVersion: s.caughtUp ? controller.image().version : 0 });
                expect(result.fenced).toBe(controller.image().nodes.get(s.nodeId)?.state !== 'active');
              }
              break;
            }
            case 'advance':
              clock.now += s.ms;
              break;
            case 'tick':
              await controller.tick();
              break;
            case 'create':
              await controller.createTopics({ topics: [{ name: nameOf(s.name), partitionCount: s.partitions, replicationFactor: s.factor, replicaAssignments: [], configs: {} }], validateOnly: false });
              break;
            case 'delete':
              await controller.deleteTopics({ names: [nameOf(s.name)], topicIds: [] });
              break;
            case 'grow': {
              const current = controller.image().topics.get(nameOf(s.name))?.partitions.length ?? 0;
              await controller.createPartitions({ topics: [{ topic: nameOf(s.name), totalCount: current + s.add, replicaAssignments: [] }], validateOnly: false });
              break;
            }
            case 'alter':
              await controller.alterTopicConfigs({ topics: [{ topic: nameOf(s.name), changes: [{ name: 'retention.ms', operation: 'set', value: String(s.retentionMs) }] }], validateOnly: false });
              break;
            case 'shutdown': {
              const nodeEpoch = epochs.get(s.nodeId);
              if (nodeEpoch !== undefined) await controller.controlledShutdown({ nodeId: s.nodeId, nodeEpoch });
              break;
            }
            case 'allocate': {
              const block = await controller.allocateProducerIds(s.count);
              const end = block.firstProducerId + BigInt(block.count);
              for (const [first, last] of producerBlocks) expect(block.firstProducerId >= last || end <= first).toBe(true);
              producerBlocks.push([block.firstProducerId, end]);
              break;
            }
            case 'restart': {
              restarts += 1;
              fs.crash();
              controller = await open();
              const after = controller.image();
              expect(after.version).toBeGreaterThan(before.version);
              expect({ ...after, version: 0, controller: undefined }).toEqual({ ...before, version: 0, controller: undefined });
              followed = after;
              follow(controller);
              break;
            }
          }

          const image = controller.image();
          expect(image.version).toBeGreaterThanOrEqual(before.version);
          expect(followed).toEqual(image);
          checkImage(image);
          const state = controller.controllerState();
          expect(stateFromSnapshot(snapshotOf(state))).toEqual(state);
          for (const topic of image.topics.values()) {
            for (const partition of topic.partitions) {
              const key = `${topic.topicId}/${partition.partition}`;
              const seen = epochsSeen.get(key);
              if (seen !== undefined) {
                expect(partition.partitionEpoch).toBeGreaterThanOrEqual(seen.partitionEpoch);
                if (partition.leader !== seen.leader) expect(partition.leaderEpoch).toBeGreaterThan(seen.leaderEpoch);
                else expect(partition.leaderEpoch).toBeGreaterThanOrEqual(seen.leaderEpoch);
              }
              epochsSeen.set(key, { leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch });
            }
          }
        }
        await controller.close();
      }),
      { numRuns: 200 },
    );
  });
});
