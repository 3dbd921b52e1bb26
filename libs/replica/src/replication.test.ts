/**
 * Replication on one node, in process: the leader side of ReplicaFetch (sessions, high
 * watermark from followers' fetches, divergence, long polls) and a replica's role changes,
 * on real logs over the in-memory filesystem with a manual clock.
 *
 * Everything here is promise work over the in-memory filesystem and the manual scheduler, so
 * the tests never sleep nor poll: `settle()` finishes what an action set off, and a test that
 * shows something did not happen moves the manual clock to just short of the bound (a long
 * poll's max_wait_ms, replica.fetch.backoff.ms), asserts, then crosses it.
 */
import { joinPath } from '@starlane/io-ports';
import { settle } from '@starlane/testing';
import { batch, image, managerHarness, recordsOf, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import type { HostedPartition } from './hosted-partition';
import { highWatermarkCheckpointFileName } from './hw-checkpoint';
import { appendAsLeader, latestOffset } from './produce';
import { ReplicaFetchSession, replicaFetchBackoffMs } from './replica-fetch-session';
import type { ReplicaFetchRequest } from './replica-messages';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const follower = 2;

let harness: ManagerHarness;
afterEach(async () => {
  await harness.cleanUp();
});

function orders(overrides: { leader?: number; leaderEpoch?: number; partitionEpoch?: number; replicas?: number[]; isr?: number[] } = {}, configs: Record<string, string> = {}) {
  return topic({ name: 'orders', topicId: ordersId, configs, partitions: [{ leader: thisNode, leaderEpoch: 1, partitionEpoch: 1, replicas: [thisNode, follower], isr: [thisNode, follower], ...overrides }] });
}

async function leaderOfOrders(configs: Record<string, string> = {}, isr = [thisNode, follower]) {
  harness = await managerHarness();
  harness.manager.apply(image(1, [orders({ isr }, configs)], { otherNodes: [follower] }));
  await settled(harness.manager);
  const partition = harness.manager.partition(ordersId, 0);
  if (partition === undefined) throw new Error('orders-0 not hosted');
  // Taking over records the epoch in the log first.
  return tookOver(partition);
}

/** Lets the background file work `partition` set off (the epoch checkpoint of a takeover) finish, and checks it took over. */
async function tookOver(partition: HostedPartition): Promise<HostedPartition> {
  await settle();
  if (partition.leaderState === undefined) throw new Error(`${partition.topic}-${partition.partition} did not take over the leadership`);
  return partition;
}

function fetchRequest(fetchOffset: bigint, lastFetchedEpoch: number, options: { maxWaitMs?: number; nodeId?: number; list?: boolean } = {}): ReplicaFetchRequest {
  return {
    replicaNodeId: options.nodeId ?? follower,
    replicaNodeEpoch: 5n,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: 1,
    maxBytes: 0,
    partitions:
      options.list === false
        ? []
        : [{ topic: 'orders', topicId: ordersId, partition: 0, fetchOffset, lastFetchedEpoch, currentLeaderEpoch: 1, logStartOffset: 0n, maxBytes: 0 }],
    removedPartitions: [],
  };
}

const produce = async (tag: string, count: number, acks: 'leader' | 'all' = 'leader') =>
  appendAsLeader(harness.manager, { topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 1 }, await batch(tag, count), acks, 5_000);

describe('leader side of replication', () => {
  it('serves records to a follower from its log end and commits them once it fetches past them', async () => {
    const partition = await leaderOfOrders();
    expect(await produce('a', 3)).not.toHaveProperty('error');
    expect(partition.highWatermark).toBe(0n);
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    const first = await session.fetch(fetchRequest(0n, -1));
    const result = first.partitions[0];
    expect(result?.error).toBeUndefined();
    expect((await recordsOf(result?.recordBatches ?? Buffer.alloc(0))).map((record) => [record.offset, record.value, record.epoch])).toEqual([
      [0n, 'a-0', 1],
      [1n, 'a-1', 1],
      [2n, 'a-2', 1],
    ]);
    // The follower appended them and fetches on: its log end commits them.
    const second = await session.fetch(fetchRequest(3n, 1));
    expect(partition.highWatermark).toBe(3n);
    expect(second.partitions[0]?.highWatermark).toBe(3n);
    expect(partition.leaderState?.follower(follower)?.nodeEpoch).toBe(5n);
  });

  it('answers acks=all once the follower has the write, and refuses it while the ISR is below min.insync.replicas', async () => {
    const partition = await leaderOfOrders({ 'min.insync.replicas': '2' });
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    const write = produce('b', 2, 'all');
    await settle();
    expect(partition.onlineLog?.logEndOffset).toBe(2n);
    await session.fetch(fetchRequest(0n, -1));
    await session.fetch(fetchRequest(2n, 1));
    expect(await write).not.toHaveProperty('error');
    // The controller took the follower out of the ISR.
    harness.manager.apply(image(2, [orders({ isr: [thisNode], partitionEpoch: 2 }, { 'min.insync.replicas': '2' })], { otherNodes: [follower] }));
    expect(await produce('c', 1, 'all')).toMatchObject({ error: { code: 'NOT_ENOUGH_REPLICAS' } });
    // acks=leader still writes, but the high watermark waits for the ISR to grow back.
    expect(await produce('d', 1)).not.toHaveProperty('error');
    expect(partition.highWatermark).toBe(2n);
  });

  it('says where a write went when it was appended but leadership moved before it was committed', async () => {
    const partition = await leaderOfOrders();
    const write = produce('w', 2, 'all');
    await settle();
    expect(partition.onlineLog?.logEndOffset).toBe(2n);
    harness.manager.apply(image(2, [orders({ leader: follower, leaderEpoch: 2, partitionEpoch: 2 })], { otherNodes: [follower] }));
    const result = await write;
    // Written here at 0: whoever sent it must not write it again on its own.
    expect(result).toEqual({ error: { code: 'NOT_LEADER_OR_FOLLOWER', message: expect.any(String) }, baseOffset: 0n });
  });

  it('fails a commit wait at once when the partition left this node between the append and the wait', async () => {
    const partition = await leaderOfOrders();
    const appended = await partition.append(await batch('r', 2), 5_000);
    // The replica moved away (a reassignment completed) before the write began to wait.
    harness.manager.apply(image(2, [orders({ leader: follower, leaderEpoch: 2, partitionEpoch: 2, replicas: [follower], isr: [follower] })], { otherNodes: [follower] }));
    expect(partition.status).toBe('removed');
    // No change is coming to wake a waiter now, and the manual clock never reaches the timeout.
    await expect(partition.whenCommitted(appended.lastOffset + 1n, 5_000)).rejects.toMatchObject({ code: 'NOT_LEADER_OR_FOLLOWER' });
  });

  it('wakes a waiting fetch when the leader appends', async () => {
    await leaderOfOrders();
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await session.fetch(fetchRequest(0n, -1));
    const waiting = session.fetch(fetchRequest(0n, -1, { maxWaitMs: 10_000, list: false }));
    await produce('e', 1);
    const woken = await waiting;
    expect((await recordsOf(woken.partitions[0]?.recordBatches ?? Buffer.alloc(0))).map((record) => record.value)).toEqual(['e-0']);
  });

  it('answers an empty fetch after max_wait_ms when nothing changed', async () => {
    await leaderOfOrders();
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await session.fetch(fetchRequest(0n, -1));
    let answered = false;
    const waiting = session.fetch(fetchRequest(0n, -1, { maxWaitMs: 500, list: false })).finally(() => (answered = true));
    // The wait is on the manual clock: nothing comes back until it reaches max_wait_ms.
    await harness.scheduler.advance(499);
    expect(answered).toBe(false);
    await harness.scheduler.advance(1);
    expect(answered).toBe(true);
    expect((await waiting).partitions).toEqual([]);
  });

  it('tells a follower whose last epoch ends earlier here where to truncate, without counting its fetch', async () => {
    const partition = await leaderOfOrders();
    await produce('f', 2);
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    // The follower claims 4 records of epoch 0, which this log never had.
    const answer = await session.fetch(fetchRequest(4n, 0));
    expect(answer.partitions[0]?.divergingEpoch).toEqual({ epoch: 0, endOffset: 0n });
    expect(partition.leaderState?.follower(follower)?.logEndOffset).toBe(-1n);
    // Past the log end in the leader's own epoch: told where this epoch ends here.
    const past = await session.fetch(fetchRequest(9n, 1));
    expect(past.partitions[0]?.divergingEpoch).toEqual({ epoch: 1, endOffset: 2n });
  });

  it('does not count a fetch past its log end as progress, and answers it with where its log ends', async () => {
    const partition = await leaderOfOrders();
    await produce('p', 2);
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    // A follower with no epoch history left past this log's end (an unclean election lost its records).
    const answer = await session.fetch(fetchRequest(9n, -1));
    const result = answer.partitions[0];
    expect(result?.error?.code).toBe('OFFSET_OUT_OF_RANGE');
    expect(result?.leaderLogEnd).toBe(2n);
    // Kafka never updates a follower's state from a read that failed: it is not caught up, and commits nothing.
    expect(partition.leaderState?.follower(follower)?.logEndOffset).toBe(-1n);
    expect(partition.highWatermark).toBe(0n);
  });

  it('holds back the same divergence for the same fetch state until replica.fetch.backoff.ms has passed', async () => {
    await leaderOfOrders();
    await produce('q', 2);
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    const first = await session.fetch(fetchRequest(4n, 0));
    expect(first.partitions[0]?.divergingEpoch).toEqual({ epoch: 0, endOffset: 0n });
    // The follower did not truncate: its next fetch lists nothing new, and gets no answer at once.
    let answered = false;
    const again = session.fetch(fetchRequest(4n, 0, { maxWaitMs: 10_000, list: false })).finally(() => (answered = true));
    await harness.scheduler.advance(replicaFetchBackoffMs - 1);
    expect(answered).toBe(false);
    await harness.scheduler.advance(1);
    expect(answered).toBe(true);
    expect((await again).partitions[0]?.divergingEpoch).toEqual({ epoch: 0, endOffset: 0n });
    // A fetch state that moved is answered at once.
    const moved = await session.fetch(fetchRequest(0n, -1));
    expect(moved.partitions[0]?.recordBatches.length).toBeGreaterThan(0);
  });

  it('holds back the same error for a partition added again with the same fetch state', async () => {
    await leaderOfOrders();
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    const refused = await session.fetch(fetchRequest(9n, -1));
    expect(refused.partitions[0]?.error?.code).toBe('OFFSET_OUT_OF_RANGE');
    // Added again unchanged right away: nothing to report yet.
    expect((await session.fetch(fetchRequest(9n, -1))).partitions).toEqual([]);
    await harness.scheduler.advance(replicaFetchBackoffMs);
    const repeated = await session.fetch(fetchRequest(9n, -1, { list: false }));
    expect(repeated.partitions[0]?.error?.code).toBe('OFFSET_OUT_OF_RANGE');
  });

  it('refuses sessions from unknown nodes and partitions this node does not lead', async () => {
    await leaderOfOrders();
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await expect(session.fetch(fetchRequest(0n, -1, { nodeId: 9 }))).rejects.toMatchObject({ code: 'BROKER_ID_NOT_REGISTERED' });
    harness.manager.apply(image(2, [orders({ leader: follower, leaderEpoch: 2, partitionEpoch: 2 })], { otherNodes: [follower] }));
    const moved = await new ReplicaFetchSession(harness.manager, harness.scheduler).fetch({ ...fetchRequest(0n, -1), partitions: [{ ...fetchRequest(0n, -1).partitions[0]!, currentLeaderEpoch: 2 }] });
    expect(moved.partitions[0]?.error?.code).toBe('NOT_LEADER_OR_FOLLOWER');
  });
});

describe('replica roles', () => {
  it('a leader that becomes follower keeps the high watermark it reached and takes its leader high watermark from the new leader', async () => {
    const partition = await leaderOfOrders();
    await produce('g', 2);
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await session.fetch(fetchRequest(0n, -1));
    await session.fetch(fetchRequest(2n, 1));
    expect(partition.highWatermark).toBe(2n);
    harness.manager.apply(image(2, [orders({ leader: follower, leaderEpoch: 2, partitionEpoch: 2 })], { otherNodes: [follower] }));
    expect(partition.isFollower).toBe(true);
    expect(partition.leaderState).toBeUndefined();
    expect(partition.highWatermark).toBe(2n);
    partition.setFollowerHighWatermark(1n);
    expect(partition.highWatermark).toBe(1n);
    partition.setFollowerHighWatermark(10n);
    // Never past its own log end.
    expect(partition.highWatermark).toBe(2n);
  });

  it('a follower that becomes leader records its epoch at its log end before writing', async () => {
    harness = await managerHarness();
    harness.manager.apply(image(1, [orders({ leader: follower, leaderEpoch: 3, partitionEpoch: 3 })], { otherNodes: [follower] }));
    await settled(harness.manager);
    const partition = harness.manager.partition(ordersId, 0);
    if (partition === undefined) throw new Error('orders-0 not hosted');
    const fetched = await batch('h', 2);
    await partition.appendAsFollower(fetched);
    harness.manager.apply(image(2, [orders({ leaderEpoch: 4, partitionEpoch: 4 })], { otherNodes: [follower] }));
    await tookOver(partition);
    expect(partition.onlineLog?.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 2n });
    expect(partition.leaderState?.epochStartOffset).toBe(2n);
  });
});

describe('a new leader whose high watermark is behind the start of its epoch (KIP-207)', () => {
  const latest = () => latestOffset(harness.manager, { topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 4 });

  /** A follower holding 2 records it was never told are committed, then made leader in epoch 4 with the old leader still in the ISR. */
  async function promotedFollower(): Promise<HostedPartition> {
    harness = await managerHarness();
    harness.manager.apply(image(1, [orders({ leader: follower, leaderEpoch: 3, partitionEpoch: 3 })], { otherNodes: [follower] }));
    await settled(harness.manager);
    const partition = harness.manager.partition(ordersId, 0);
    if (partition === undefined) throw new Error('orders-0 not hosted');
    await partition.appendAsFollower(await batch('h', 2, { timestamp: 1_000n }));
    harness.manager.apply(image(2, [orders({ leaderEpoch: 4, partitionEpoch: 4 })], { otherNodes: [follower] }));
    return tookOver(partition);
  }

  it('answers LATEST with OFFSET_NOT_AVAILABLE until a follower brings it to the epoch start', async () => {
    const partition = await promotedFollower();
    expect(partition.highWatermark).toBe(0n);
    expect(partition.epochStartAheadOfHighWatermark).toBe(2n);
    expect(latest()).toEqual({ error: { code: 'OFFSET_NOT_AVAILABLE', message: expect.stringMatching(/high watermark 0 has not reached the start of its epoch at offset 2/) } });

    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await session.fetch({ ...fetchRequest(2n, 3), partitions: [{ topic: 'orders', topicId: ordersId, partition: 0, fetchOffset: 2n, lastFetchedEpoch: 3, currentLeaderEpoch: 4, logStartOffset: 0n, maxBytes: 0 }] });
    expect(partition.highWatermark).toBe(2n);
    expect(partition.epochStartAheadOfHighWatermark).toBeUndefined();
    expect(latest()).toEqual({ offset: 2n, leaderEpoch: 4 });
  });

  it('a sole in-sync leader commits its log as it takes over and answers at once', async () => {
    harness = await managerHarness();
    harness.manager.apply(image(1, [orders({ leader: follower, leaderEpoch: 3, partitionEpoch: 3 })], { otherNodes: [follower] }));
    await settled(harness.manager);
    const partition = harness.manager.partition(ordersId, 0);
    if (partition === undefined) throw new Error('orders-0 not hosted');
    await partition.appendAsFollower(await batch('h', 2));
    harness.manager.apply(image(2, [orders({ leaderEpoch: 4, partitionEpoch: 4, isr: [thisNode] })], { otherNodes: [follower] }));
    await tookOver(partition);
    expect(latest()).toMatchObject({ offset: 2n });
  });
});

describe('high-watermark checkpoint', () => {
  /** Commits 3 records through a follower fetch, then stops the node (its final checkpoint). */
  async function committedThenStopped(): Promise<void> {
    const partition = await leaderOfOrders({ 'min.insync.replicas': '2' });
    await produce('k', 3);
    const session = new ReplicaFetchSession(harness.manager, harness.scheduler);
    await session.fetch(fetchRequest(0n, -1));
    await session.fetch(fetchRequest(3n, 1));
    expect(partition.highWatermark).toBe(3n);
    await harness.manager.close();
  }

  /** A restart of the node: the same files under a new manager, leading orders-0 again with no follower fetching yet. */
  async function restartedLeader() {
    const manager = await harness.restart();
    manager.apply(image(2, [orders({ leaderEpoch: 2, partitionEpoch: 2 }, { 'min.insync.replicas': '2' })], { otherNodes: [follower] }));
    await settled(manager);
    const partition = manager.partition(ordersId, 0);
    if (partition === undefined) throw new Error('orders-0 not hosted');
    return tookOver(partition);
  }

  it('a restarted leader shows what was committed before, before any follower fetches', async () => {
    await committedThenStopped();
    const partition = await restartedLeader();
    expect(partition.highWatermark).toBe(3n);
  });

  it('an unreadable checkpoint is ignored with a warning: the partition opens and its high watermark waits for followers', async () => {
    await committedThenStopped();
    await harness.disk.writeFileAtomic(joinPath(harness.partitionsDir, highWatermarkCheckpointFileName), Buffer.from('0\n7\nnot a checkpoint\n'));
    const partition = await restartedLeader();
    expect(partition.highWatermark).toBe(0n);
    expect(harness.logger.lines.some((line) => line.message === 'ignoring an unreadable high-watermark checkpoint')).toBe(true);
  });
});
