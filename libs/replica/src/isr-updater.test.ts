/**
 * The ISR updater on real logs, with a fake controller behind `alterPartition` that decides as
 * AlterPartition does (a replica may join only while its node is active in the controller's
 * metadata) and publishes what it records back to the node as metadata.
 */
import type { AlterPartitionResult, IsrChangeInput, PartitionState } from '@starlane/metadata';
import type { ErrorCode } from '@starlane/model';
import { settle } from '@starlane/testing';
import { batch, image, managerHarness, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import type { HostedPartition } from './hosted-partition';
import { IsrUpdater } from './isr-updater';
import { appendAsLeader } from './produce';
import { ReplicaFetchSession } from './replica-fetch-session';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const lagging = 2;
const cutOff = 3;
/** Node epochs as the controller registered them. */
const epochs: Readonly<Record<number, number>> = { [lagging]: 20, [cutOff]: 30 };

let harness: ManagerHarness;
afterEach(async () => {
  await harness.cleanUp();
});

/**
 * A controller model: the partitions of `orders` as it records them, which nodes it counts as
 * active, and every request it received. `refuse` makes it refuse chosen partitions outright.
 */
class FakeController {
  readonly requests: IsrChangeInput[][] = [];
  readonly active = new Set<number>([thisNode, lagging]);
  refuse: (partition: number) => ErrorCode | undefined = () => undefined;
  private version = 1;

  constructor(
    private partitions: PartitionState[],
    private readonly configs: Record<string, string> = {},
  ) {}

  publish(): void {
    this.version += 1;
    harness.manager.apply(
      image(this.version, [topic({ name: 'orders', topicId: ordersId, partitions: this.partitions, configs: this.configs })], {
        otherNodes: [lagging, cutOff],
        nodes: Object.fromEntries([lagging, cutOff].map((id) => [id, { nodeEpoch: epochs[id] ?? 0, state: this.active.has(id) ? ('active' as const) : ('fenced' as const) }])),
      }),
    );
  }

  /** AlterPartition: a joining member must be active and quote its current node epoch. */
  readonly alterPartition = async (changes: readonly IsrChangeInput[]): Promise<AlterPartitionResult[]> => {
    this.requests.push([...changes]);
    return changes.map((change): AlterPartitionResult => {
      const current = this.partitions[change.partition] as PartitionState;
      const joining = change.newIsr.filter((member) => !current.isr.includes(member.nodeId));
      const ineligible = joining.find((member) => !this.active.has(member.nodeId) || Number(member.nodeEpoch) !== epochs[member.nodeId]);
      const code: ErrorCode | undefined =
        this.refuse(change.partition) ?? (change.partitionEpoch !== current.partitionEpoch ? 'INVALID_UPDATE_VERSION' : ineligible !== undefined ? 'INELIGIBLE_REPLICA' : undefined);
      if (code !== undefined) return { topicId: change.topicId, topic: 'orders', partition: change.partition, state: current, error: { code, message: code } };
      const next: PartitionState = { ...current, isr: change.newIsr.map((member) => member.nodeId), partitionEpoch: current.partitionEpoch + 1 };
      this.partitions[change.partition] = next;
      return { topicId: change.topicId, topic: 'orders', partition: change.partition, state: next };
    });
  };

  partition(index = 0): PartitionState {
    return this.partitions[index] as PartitionState;
  }
}

/** The ISRs a request proposed, by partition. */
const proposed = (request: readonly IsrChangeInput[] | undefined) => request?.map((change) => [change.partition, change.newIsr.map((member) => member.nodeId)]);

async function leading(partitionCount: number, state: Partial<PartitionState>, configs: Record<string, string> = {}): Promise<{ controller: FakeController; updater: IsrUpdater; partitions: HostedPartition[] }> {
  harness = await managerHarness();
  const partitions = Array.from({ length: partitionCount }, (_, partition): PartitionState => ({
    partition,
    leader: thisNode,
    leaderEpoch: 1,
    partitionEpoch: 1,
    replicas: [thisNode, lagging, cutOff],
    isr: [thisNode, lagging],
    elr: [],
    offlineReplicas: [],
    addingReplicas: [],
    removingReplicas: [],
    ...state,
  }));
  const controller = new FakeController(partitions, configs);
  controller.publish();
  await settled(harness.manager);
  const hosted = harness.manager.partitions();
  // Taking over records the epoch in each log first: promise work over the in-memory disk.
  await settle();
  expect(hosted.filter((partition) => partition.leaderState === undefined).map((partition) => partition.partition)).toEqual([]);
  const updater = new IsrUpdater({ manager: harness.manager, alterPartition: controller.alterPartition, scheduler: harness.scheduler, logger: harness.logger, batchMax: 2 });
  return { controller, updater, partitions: hosted };
}

/** A fetch from `nodeId` in `nodeEpoch` at `offset` for partition 0 of orders, over a real session. */
async function fetchAt(session: ReplicaFetchSession, nodeId: number, offset: bigint): Promise<void> {
  const response = await session.fetch({
    replicaNodeId: nodeId,
    replicaNodeEpoch: BigInt(epochs[nodeId] ?? 0),
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 0,
    partitions: [{ topic: 'orders', topicId: ordersId, partition: 0, fetchOffset: offset, lastFetchedEpoch: offset === 0n ? -1 : 1, currentLeaderEpoch: 1, logStartOffset: 0n, maxBytes: 0 }],
    removedPartitions: [],
  });
  expect(response.partitions[0]?.error).toBeUndefined();
}

describe('ISR updater', () => {
  it('removes a lagging member while a fenced replica keeps fetching at the log end, and lets the replica join once its node is active', async () => {
    const { controller, updater, partitions } = await leading(1, {}, { 'min.insync.replicas': '1' });
    const [orders] = partitions as [HostedPartition];
    const write = await appendAsLeader(harness.manager, { topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 1 }, await batch('a', 2), 'leader', 5_000);
    expect(write).not.toHaveProperty('error');
    // Node 3 is cut off from the controller (fenced there) but still fetches from the leader;
    // node 2 stopped fetching.
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await fetchAt(session, cutOff, 0n);
    await fetchAt(session, cutOff, 2n);
    for (let elapsedMs = 0; elapsedMs <= 30_000; elapsedMs += 1_000) {
      harness.clock.advance(1_000);
      await fetchAt(session, cutOff, 2n);
      await updater.round();
    }
    // Only the removal was proposed, never a join of the fenced replica.
    expect(controller.requests.map(proposed)).toEqual([[[0, [thisNode]]]]);
    expect(controller.partition().isr).toEqual([thisNode]);
    // The leader took the answer at once; the metadata stream brings the same change.
    expect(orders.leaderState?.isr).toEqual([thisNode]);
    controller.publish();
    expect(orders.state.isr).toEqual([thisNode]);
    // The high watermark is no longer pinned by the lagging member: acks=all writes commit.
    expect(orders.highWatermark).toBe(2n);
    const acked = appendAsLeader(harness.manager, { topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 1 }, await batch('b', 1), 'all', 5_000);
    await expect(acked).resolves.toEqual({ baseOffset: 2n, logEndOffset: 3n, leaderEpoch: 1, logStartOffset: 0n });

    // The controller hears from node 3 again: the leader's metadata says so, and it joins.
    controller.active.add(cutOff);
    controller.publish();
    harness.clock.advance(1_000);
    await fetchAt(session, cutOff, 3n);
    await updater.round();
    expect(proposed(controller.requests.at(-1))).toEqual([[0, [thisNode, cutOff]]]);
    expect(controller.partition().isr).toEqual([thisNode, cutOff]);
  });

  it('gives every partition its turn when more have proposals than a request carries, and backs off the refused ones', async () => {
    const { controller, updater } = await leading(3, { replicas: [thisNode, lagging], isr: [thisNode, lagging] });
    // The controller refuses partitions 0 and 1 every time (as a controller that is behind does).
    controller.refuse = (partition) => (partition < 2 ? 'NOT_CONTROLLER' : undefined);
    harness.clock.advance(30_001);
    // Every partition wants node 2 out; a request carries two.
    await updater.round();
    harness.clock.advance(250);
    await updater.round();
    expect(controller.requests.map(proposed)).toEqual([
      [
        [0, [thisNode]],
        [1, [thisNode]],
      ],
      [[2, [thisNode]]],
    ]);
    expect(controller.partition(2).isr).toEqual([thisNode]);
    // The refused ones come back once their back-off has passed, not every round.
    for (let round = 0; round < 8; round += 1) {
      harness.clock.advance(250);
      await updater.round();
    }
    const refusedProposals = controller.requests.slice(2).flatMap((request) => request.map((change) => change.partition));
    expect(refusedProposals.length).toBeGreaterThan(0);
    expect(refusedProposals.length).toBeLessThanOrEqual(4);
    expect(controller.partition(0).isr).toEqual([thisNode, lagging]);
  });
});
