/**
 * Seeded simulation of replication control: node crash-restarts (clean and unclean),
 * registrations, heartbeats, fencing, controlled shutdowns, topics with and without unclean
 * leader election, leaders' ISR proposals (current and stale), replicas catching up,
 * reassignments and cancels, preferred-leader balancing and controller crash-restarts, on the
 * file store over an in-memory filesystem. fast-check prints the seed and the shortest failing
 * sequence it finds.
 *
 * Checked on every batch the controller publishes, per changed partition:
 * - the leader epoch never goes back, grows with every change of leader and only then; the
 *   partition epoch grows with every change and only then;
 * - with unclean election disabled, a replica that may have lost acknowledged records (its
 *   node restarted uncleanly and it has neither been re-admitted to the ISR nor led since) is
 *   never elected while a replica without that doubt is an active ISR member.
 * Checked after every step, per partition:
 * - leader ∈ ISR ⊆ replicas, the ISR is never empty, and no node leads unless active;
 * - leaderless only when no ISR member (nor, with unclean election, no replica not being
 *   added) is active;
 * - adding and removing replicas are disjoint replicas, and the controller keeps a
 *   reassignment (with the original replicas) exactly for partitions that have them;
 * - the followed image equals the controller's, and a snapshot recreates the state.
 */
import fc from 'fast-check';
import { MemoryFileSystem } from '@starlane/io-ports';
import type { AlterPartitionResult } from './partition-commands';
import { MetadataController } from './controller';
import { reassignmentKey, snapshotOf, stateFromSnapshot } from './controller-state';
import { FileMetadataStore } from './file-store';
import { applyDelta, noLeader, topicById, type MetadataDelta, type MetadataImage, type PartitionState, type TopicState } from './image';
import { seededRandom } from './placement';

const sessionTimeoutMs = 1000;
const nodeIds = [1, 2, 3, 4, 5];
const names = ['a', 'b', 'c'];
const nameOf = (index: number): string => names[index] ?? 'a';

/**
 * Which partition a step acts on: the `index`-th (modulo) of the existing partitions in topic
 * and partition order, of those being reassigned only with `reassigning` when there are any,
 * or of a topic that does not exist with `missing`.
 */
interface Pick {
  readonly index: number;
  readonly reassigning: boolean;
  readonly missing: boolean;
}

type Staleness = 'current' | 'old-leader-epoch' | 'old-partition-epoch' | 'not-leader';
type Quote = 'none' | 'current' | 'old';

type Step =
  | { kind: 'crash-restart'; nodeId: number; clean: boolean; rejoin: boolean }
  | { kind: 'register'; nodeId: number; incarnation: number; clean: boolean }
  | { kind: 'heartbeat'; nodeId: number; caughtUp: boolean }
  | { kind: 'beat-all'; silent: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'tick' }
  | { kind: 'create'; name: number; partitions: number; factor: number; unclean: boolean }
  | { kind: 'unclean'; name: number; enabled: boolean }
  | { kind: 'delete'; name: number }
  | { kind: 'shutdown'; nodeId: number }
  | { kind: 'propose'; pick: Pick; keep: number; staleness: Staleness; quote: Quote }
  | { kind: 'catch-up'; pick: Pick }
  | { kind: 'reassign'; pick: Pick; target: number[] }
  | { kind: 'cancel'; pick: Pick }
  | { kind: 'preferred'; electionsMax: number }
  | { kind: 'restart' };

const node = fc.constantFrom(...nodeIds);
const name = fc.integer({ min: 0, max: names.length - 1 });
const pick = (reassigning: fc.Arbitrary<boolean>): fc.Arbitrary<Pick> =>
  fc.record({ index: fc.nat({ max: 1000 }), reassigning, missing: fc.constantFrom(false, false, false, false, false, false, false, false, false, true) });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('crash-restart' as const), nodeId: node, clean: fc.boolean(), rejoin: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('register' as const), nodeId: node, incarnation: fc.integer({ min: 0, max: 2 }), clean: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), nodeId: node, caughtUp: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('beat-all' as const), silent: fc.constantFrom(0, 0, ...nodeIds) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('create' as const), name, partitions: fc.integer({ min: 1, max: 3 }), factor: fc.integer({ min: 1, max: 3 }), unclean: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unclean' as const), name, enabled: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), name }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), nodeId: node }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('propose' as const),
      pick: pick(fc.boolean()),
      keep: fc.integer({ min: 0, max: 31 }),
      staleness: fc.constantFrom<Staleness>('current', 'current', 'current', 'old-leader-epoch', 'old-partition-epoch', 'not-leader'),
      quote: fc.constantFrom<Quote>('none', 'current', 'current', 'old'),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('catch-up' as const), pick: pick(fc.boolean()) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reassign' as const), pick: pick(fc.boolean()), target: fc.uniqueArray(node, { minLength: 1, maxLength: 3 }) }) },
  // Targets that are refused: empty, a node twice, an unregistered node.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reassign' as const), pick: pick(fc.constant(false)), target: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: pick(fc.constantFrom(true, true, true, false)) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('preferred' as const), electionsMax: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

const alterPartitionCodes = ['NOT_CONTROLLER', 'FENCED_LEADER_EPOCH', 'NOT_LEADER_OR_FOLLOWER', 'INVALID_UPDATE_VERSION', 'INVALID_REQUEST', 'INELIGIBLE_REPLICA', 'NEW_LEADER_ELECTED'];
const reassignCodes = ['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_REPLICA_ASSIGNMENT', 'NO_REASSIGNMENT_IN_PROGRESS', 'INVALID_REQUEST'];

function uncleanAllowed(topic: TopicState): boolean {
  return topic.configs['unclean.leader.election.enable'] === 'true';
}

const isActive = (image: MetadataImage, id: number): boolean => image.nodes.get(id)?.state === 'active';

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function changed(before: PartitionState, after: PartitionState): boolean {
  return (
    before.leader !== after.leader ||
    !sameIds(before.isr, after.isr) ||
    !sameIds(before.replicas, after.replicas) ||
    !sameIds(before.addingReplicas, after.addingReplicas) ||
    !sameIds(before.removingReplicas, after.removingReplicas)
  );
}

/**
 * Fails with `what` and the partition unless `condition` holds. Plain checks rather than
 * `expect` in these loops: they run for every partition of every step of every run.
 */
function invariant(condition: boolean, what: string, topic: TopicState, partition: PartitionState, old?: PartitionState): void {
  if (!condition) throw new Error(`${what}: ${topic.name}/${partition.partition} ${JSON.stringify(partition)}${old === undefined ? '' : ` was ${JSON.stringify(old)}`}`);
}

/** Invariants of one partition on its own. */
function checkPartition(image: MetadataImage, topic: TopicState, partition: PartitionState): void {
  const { replicas, isr, leader, addingReplicas, removingReplicas } = partition;
  const check = (condition: boolean, what: string): void => invariant(condition, what, topic, partition);
  check(isr.length > 0, 'the ISR is empty');
  check(new Set(replicas).size === replicas.length && new Set(isr).size === isr.length, 'a node is listed twice');
  check(
    isr.every((id) => replicas.includes(id)),
    'the ISR is not a subset of the replicas',
  );
  check(
    [...addingReplicas, ...removingReplicas].every((id) => replicas.includes(id)),
    'adding or removing replicas are not replicas',
  );
  check(!addingReplicas.some((id) => removingReplicas.includes(id)), 'a replica is both added and removed');
  if (leader === noLeader) {
    check(!isr.some((id) => isActive(image, id)), 'leaderless with an active ISR member');
    if (uncleanAllowed(topic)) check(!replicas.some((id) => !addingReplicas.includes(id) && isActive(image, id)), 'leaderless with an active replica and unclean election enabled');
  } else {
    check(isr.includes(leader), 'the leader is not in the ISR');
    check(isActive(image, leader), 'the leader is not active');
  }
}

/** What happened, in order: published batches, and unclean registrations between them. */
type Event = { kind: 'batch'; before: MetadataImage; delta: MetadataDelta; after: MetadataImage } | { kind: 'unclean-registration'; nodeId: number };

/**
 * Replicas that may have lost acknowledged records, as `${nodeId}|${topicId}|${partition}`:
 * every replica of a node at its unclean registration, until it leads or a leader re-admits it.
 */
class Doubts {
  private readonly doubtful = new Set<string>();

  private static key(nodeId: number, topicId: string, partition: number): string {
    return `${nodeId}|${topicId}|${partition}`;
  }

  uncleanRegistration(image: MetadataImage, nodeId: number): void {
    for (const topic of image.topics.values()) for (const p of topic.partitions) if (p.replicas.includes(nodeId)) this.doubtful.add(Doubts.key(nodeId, topic.topicId, p.partition));
  }

  /** Checks one batch's change of one partition and updates the doubts. */
  check(image: MetadataImage, topic: TopicState, old: PartitionState, p: PartitionState, uncleanEver: boolean): void {
    const doubted = (id: number): boolean => this.doubtful.has(Doubts.key(id, topic.topicId, p.partition));
    // Re-admission means a leader saw the replica catch up, also when the same change elects it
    // (a completed reassignment); with unclean election enabled the check below does not apply.
    for (const id of p.isr) if (!old.isr.includes(id)) this.doubtful.delete(Doubts.key(id, topic.topicId, p.partition));
    if (!uncleanEver && p.leader !== old.leader && p.leader !== noLeader && doubted(p.leader)) {
      invariant(!p.isr.some((id) => id !== p.leader && isActive(image, id) && !doubted(id)), `node ${p.leader}, restarted uncleanly, was elected ahead of a clean in-sync replica`, topic, p, old);
    }
    // Leading makes a replica's log the partition's.
    if (p.leader !== noLeader) this.doubtful.delete(Doubts.key(p.leader, topic.topicId, p.partition));
  }
}

/** Epoch rules for every partition a batch changed. */
function checkBatch(event: Extract<Event, { kind: 'batch' }>, doubts: Doubts): void {
  const { before, delta, after } = event;
  for (const { topicId, partition: p } of delta.partitions) {
    const topic = topicById(after, topicId);
    const previous = topicById(before, topicId);
    const old = previous?.partitions[p.partition];
    if (topic === undefined || previous === undefined || old === undefined) continue;
    checkPartition(after, topic, p);
    const check = (condition: boolean, what: string): void => invariant(condition, what, topic, p, old);
    check(p.leader === old.leader ? p.leaderEpoch === old.leaderEpoch : p.leaderEpoch > old.leaderEpoch, 'the leader epoch did not grow with a new leader, or only then');
    check(changed(old, p) ? p.partitionEpoch > old.partitionEpoch : p.partitionEpoch === old.partitionEpoch, 'the partition epoch did not grow with a change, or only then');
    // A leader from outside the ISR is an unclean election, unless a completed reassignment
    // elected a replica its completing AlterPartition had just admitted.
    const completed = (old.addingReplicas.length > 0 || old.removingReplicas.length > 0) && p.addingReplicas.length === 0 && p.removingReplicas.length === 0;
    if (p.leader !== noLeader && !old.isr.includes(p.leader) && !completed) {
      check(uncleanAllowed(topic) || uncleanAllowed(previous), 'a leader from outside the ISR without unclean election');
      check(sameIds(p.isr, [p.leader]) && !old.addingReplicas.includes(p.leader), 'an unclean election took a replica being added, or kept other ISR members');
    }
    doubts.check(after, topic, old, p, uncleanAllowed(topic) || uncleanAllowed(previous));
  }
}

describe('replication simulation', () => {
  it('keeps its invariants under random restarts, fencing, ISR proposals, reassignments, balancing and controller crash-restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.array(step, { minLength: 10, maxLength: 80 }), async (seed, steps) => {
        const fs = new MemoryFileSystem();
        const clock = { now: 1_700_000_000_000, nowMs(): number { return this.now; } };
        /** Current and previous epoch per node, as the simulation saw them granted. */
        const epochs = new Map<number, number>();
        const previousEpochs = new Map<number, number>();
        const incarnations = new Map<number, string>();
        const doubts = new Doubts();
        const events: Event[] = [];
        let restarts = 0;
        let incarnationCount = 0;

        const open = async (): Promise<MetadataController> =>
          MetadataController.open({
            store: new FileMetadataStore({ fs, directory: '/meta', snapshotIntervalRecords: 20 }),
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
            const before = followed;
            followed = applyDelta(followed, delta);
            events.push({ kind: 'batch', before, delta, after: followed });
          });
        };
        follow(controller);

        /** Registers `incarnationId`, keeping the simulation's view; false if refused as a duplicate. */
        const register = async (nodeId: number, incarnationId: string, clean: boolean): Promise<boolean> => {
          try {
            const { nodeEpoch } = await controller.registerNode({ nodeId, incarnationId, clusterId: '', host: 'h', port: 1, rack: '', cleanShutdown: clean });
            if (incarnations.get(nodeId) !== incarnationId) {
              const previous = epochs.get(nodeId);
              if (previous !== undefined) previousEpochs.set(nodeId, previous);
              // A first registration is recorded as clean whatever it reports (registerNode).
              const recordedClean = clean || previous === undefined;
              expect(controller.controllerState().registrations.get(nodeId)?.cleanShutdown).toBe(recordedClean);
              if (!recordedClean) events.push({ kind: 'unclean-registration', nodeId });
            }
            epochs.set(nodeId, nodeEpoch);
            incarnations.set(nodeId, incarnationId);
            return true;
          } catch (error) {
            expect(error).toMatchObject({ code: 'DUPLICATE_BROKER_REGISTRATION' });
            return false;
          }
        };
        const beatAll = async (silent: number): Promise<void> => {
          for (const [nodeId, nodeEpoch] of epochs) if (nodeId !== silent) await controller.heartbeat({ nodeId, nodeEpoch, metadataVersion: controller.image().version });
        };
        const partitionAt = (image: MetadataImage, choice: Pick): { topic: TopicState; partition: PartitionState } | undefined => {
          const all = [...image.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).flatMap((topic) => topic.partitions.map((p) => ({ topic, partition: p })));
          const reassigning = all.filter(({ partition: p }) => p.addingReplicas.length > 0 || p.removingReplicas.length > 0);
          const candidates = choice.reassigning && reassigning.length > 0 ? reassigning : all;
          return candidates[choice.index % Math.max(1, candidates.length)];
        };

        // A cluster to start from: four active nodes, a topic without and one with unclean election.
        for (const nodeId of [1, 2, 3, 4]) {
          await register(nodeId, `n${nodeId}-start`, true);
          await controller.heartbeat({ nodeId, nodeEpoch: epochs.get(nodeId) ?? 0, metadataVersion: controller.image().version });
        }
        await controller.createTopics({
          topics: [
            { name: 'a', partitionCount: 3, replicationFactor: 3, replicaAssignments: [], configs: {} },
            { name: 'b', partitionCount: 2, replicationFactor: 2, replicaAssignments: [], configs: { 'unclean.leader.election.enable': 'true' } },
          ],
          validateOnly: false,
        });
        events.length = 0;

        for (const s of steps) {
          const before = controller.image();
          switch (s.kind) {
            case 'crash-restart': {
              // The node's process dies; the others keep heartbeating until its session lapses.
              if (epochs.has(s.nodeId)) {
                clock.now += sessionTimeoutMs;
                await beatAll(s.nodeId);
                await controller.tick();
              }
              incarnationCount += 1;
              const registered = await register(s.nodeId, `n${s.nodeId}-r${incarnationCount}`, s.clean);
              expect(registered).toBe(true);
              if (s.rejoin) await controller.heartbeat({ nodeId: s.nodeId, nodeEpoch: epochs.get(s.nodeId) ?? 0, metadataVersion: controller.image().version });
              break;
            }
            case 'register':
              await register(s.nodeId, `n${s.nodeId}-${s.incarnation}`, s.clean);
              break;
            case 'heartbeat': {
              const nodeEpoch = epochs.get(s.nodeId);
              if (nodeEpoch !== undefined) await controller.heartbeat({ nodeId: s.nodeId, nodeEpoch, metadataVersion: s.caughtUp ? controller.image().version : 0 });
              break;
            }
            case 'beat-all':
              await beatAll(s.silent);
              break;
            case 'advance':
              clock.now += s.ms;
              break;
            case 'tick':
              await controller.tick();
              break;
            case 'create':
              await controller.createTopics({
                topics: [{ name: nameOf(s.name), partitionCount: s.partitions, replicationFactor: s.factor, replicaAssignments: [], configs: s.unclean ? { 'unclean.leader.election.enable': 'true' } : {} }],
                validateOnly: false,
              });
              break;
            case 'unclean':
              await controller.alterTopicConfigs({
                topics: [{ topic: nameOf(s.name), changes: [s.enabled ? { name: 'unclean.leader.election.enable', operation: 'set', value: 'true' } : { name: 'unclean.leader.election.enable', operation: 'delete' }] }],
                validateOnly: false,
              });
              break;
            case 'delete':
              await controller.deleteTopics({ names: [nameOf(s.name)], topicIds: [] });
              break;
            case 'shutdown': {
              const nodeEpoch = epochs.get(s.nodeId);
              if (nodeEpoch !== undefined) await controller.controlledShutdown({ nodeId: s.nodeId, nodeEpoch });
              break;
            }
            case 'propose': {
              const found = partitionAt(before, s.pick);
              if (found === undefined) break;
              const { topic, partition: p } = found;
              const proposer = s.staleness === 'not-leader' ? p.replicas.find((id) => id !== p.leader) : p.leader;
              const proposerEpoch = proposer === undefined ? undefined : epochs.get(proposer);
              if (proposer === undefined || proposer === noLeader || proposerEpoch === undefined) break;
              // The leader (and, as stale metadata would have it, the proposer) plus the replicas the mask keeps.
              const newIsr = p.replicas.filter((id, i) => id === p.leader || id === proposer || (s.keep & (1 << i)) !== 0);
              const quoted = (id: number): number | undefined => (s.quote === 'current' ? epochs.get(id) : s.quote === 'old' ? (previousEpochs.get(id) ?? 1) : undefined);
              const leaderEpoch = s.staleness === 'old-leader-epoch' ? p.leaderEpoch - 1 : p.leaderEpoch;
              const partitionEpoch = s.staleness === 'old-partition-epoch' ? p.partitionEpoch - 1 : p.partitionEpoch;
              if (leaderEpoch < 0 || partitionEpoch < 0) break;
              const results: AlterPartitionResult[] = await controller.alterPartition({
                nodeId: proposer,
                nodeEpoch: proposerEpoch,
                partitions: [{ topicId: topic.topicId, partition: p.partition, leaderEpoch, partitionEpoch, newIsr: newIsr.map((id) => ({ nodeId: id, nodeEpoch: quoted(id) })) }],
              });
              expect(results).toHaveLength(1);
              const result = results[0];
              const code = result?.error?.code;
              if (code !== undefined) expect(alterPartitionCodes).toContain(code);
              const after = controller.image().topics.get(topic.name)?.partitions[p.partition];
              expect(result?.state).toEqual(after);
              const ineligible = newIsr.some((id) => !p.isr.includes(id) && (!isActive(before, id) || ((quoted(id) ?? 0) > 0 && quoted(id) !== epochs.get(id))));
              if (s.staleness === 'old-leader-epoch') expect(code).toBe('FENCED_LEADER_EPOCH');
              else if (s.staleness === 'not-leader') expect(code).toBe('NOT_LEADER_OR_FOLLOWER');
              else if (s.staleness === 'old-partition-epoch') expect(code).toBe('INVALID_UPDATE_VERSION');
              else if (ineligible) expect(code).toBe('INELIGIBLE_REPLICA');
              else if (code === undefined) expect(after?.leader).toBe(proposer);
              else expect(code).toBe('NEW_LEADER_ELECTED');
              if (code === undefined || code === 'NEW_LEADER_ELECTED') {
                // The proposed ISR, or what completing a reassignment leaves of it.
                expect(after?.isr).toEqual(newIsr.filter((id) => after?.replicas.includes(id)));
              } else {
                expect(after).toEqual(p);
              }
              break;
            }
            case 'catch-up': {
              // Every active replica has caught up: the leader proposes them all, quoting their epochs.
              const found = partitionAt(before, s.pick);
              const leaderEpoch = found === undefined ? undefined : epochs.get(found.partition.leader);
              if (found === undefined || leaderEpoch === undefined) break;
              const { topic, partition: p } = found;
              const newIsr = p.replicas.filter((id) => p.isr.includes(id) || isActive(before, id));
              const [result] = await controller.alterPartition({
                nodeId: p.leader,
                nodeEpoch: leaderEpoch,
                partitions: [{ topicId: topic.topicId, partition: p.partition, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: newIsr.map((id) => ({ nodeId: id, nodeEpoch: epochs.get(id) })) }],
              });
              expect([undefined, 'NEW_LEADER_ELECTED']).toContain(result?.error?.code);
              break;
            }
            case 'reassign':
            case 'cancel': {
              const found = s.pick.missing ? undefined : partitionAt(before, s.pick);
              const topicName = found?.topic.name ?? 'missing';
              const index = found?.partition.partition ?? 0;
              const original = controller.listReassignments([{ topic: topicName, partition: index }])[0]?.originalReplicas;
              const target = s.kind === 'reassign' ? s.target : [];
              const [result] = await controller.reassignPartitions({ partitions: [{ topic: topicName, partition: index, targetReplicas: target, cancel: s.kind === 'cancel' }], validateOnly: false });
              const code = result?.error?.code;
              if (code !== undefined) {
                expect(reassignCodes).toContain(code);
                break;
              }
              const after = controller.image().topics.get(topicName)?.partitions[index];
              if (after === undefined) throw new Error('a reassigned partition exists');
              if (s.kind === 'cancel') expect(after.replicas).toEqual(original);
              else expect(after.replicas.filter((id) => !after.removingReplicas.includes(id))).toEqual(target);
              break;
            }
            case 'preferred': {
              const { elected, more } = await controller.electPreferredLeaders(s.electionsMax);
              expect(elected.length).toBeLessThanOrEqual(s.electionsMax);
              if (more) expect(elected).toHaveLength(s.electionsMax);
              for (const { topic, partition: index } of elected) {
                const p = controller.image().topics.get(topic)?.partitions[index];
                expect(p?.leader).toBe(p?.replicas[0]);
              }
              break;
            }
            case 'restart': {
              restarts += 1;
              const state = controller.controllerState();
              fs.crash();
              controller = await open();
              const after = controller.controllerState();
              expect(after.reassignments).toEqual(state.reassignments);
              expect(after.registrations).toEqual(state.registrations);
              expect({ ...after.image, version: 0, controller: undefined }).toEqual({ ...state.image, version: 0, controller: undefined });
              followed = after.image;
              follow(controller);
              break;
            }
          }

          // Doubts start from the image the registration's own batch left.
          let latest = before;
          for (const event of events.splice(0)) {
            if (event.kind === 'batch') {
              checkBatch(event, doubts);
              latest = event.after;
            } else {
              doubts.uncleanRegistration(latest, event.nodeId);
            }
          }
          const image = controller.image();
          const state = controller.controllerState();
          expect(followed).toEqual(image);
          expect(stateFromSnapshot(snapshotOf(state))).toEqual(state);
          let reassigning = 0;
          for (const topic of image.topics.values()) {
            for (const p of topic.partitions) {
              checkPartition(image, topic, p);
              const reassignment = state.reassignments.get(reassignmentKey(topic.topicId, p.partition));
              if (p.addingReplicas.length > 0 || p.removingReplicas.length > 0) {
                reassigning += 1;
                const original = p.replicas.filter((id) => !p.addingReplicas.includes(id));
                invariant(
                  reassignment !== undefined && sameIds([...reassignment.originalReplicas].sort(), original.sort()),
                  `the reassignment kept has other original replicas: ${JSON.stringify(reassignment)}`,
                  topic,
                  p,
                );
              } else {
                invariant(reassignment === undefined, 'a reassignment is kept for a partition not being reassigned', topic, p);
              }
            }
          }
          expect(state.reassignments.size).toBe(reassigning);
        }
        await controller.close();
      }),
      { numRuns: 200 },
    );
  });
});
