/**
 * ListOffsets on a new leader whose high watermark is still behind the start of its epoch
 * (KIP-207): LATEST comes from the replica (`latestOffset`), the lookups that depend on the
 * high watermark are held back the same way, and EARLIEST is answered. On a real log over the
 * in-memory filesystem, so the takeover's file work is promise work that `settle()` finishes.
 */
import { errorCodeFromProto } from '@starlane/metadata-rpc';
import { v1, type internalV1 } from '@starlane/proto';
import type { HostedPartition } from '@starlane/replica';
import { settle } from '@starlane/testing';
import { batch, image, managerHarness, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import { listOffset } from './offsets';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const follower = 2;

let harness: ManagerHarness;
afterEach(async () => {
  await harness.cleanUp();
});

const orders = (overrides: { leader?: number; leaderEpoch?: number; partitionEpoch?: number }) =>
  topic({ name: 'orders', topicId: ordersId, partitions: [{ leader: thisNode, leaderEpoch: 1, partitionEpoch: 1, replicas: [thisNode, follower], isr: [thisNode, follower], ...overrides }] });
const lookup = (spec: v1.OffsetSpec['spec']): internalV1.OffsetLookup => ({ topic: 'orders', topicId: ordersId, partition: 0, currentLeaderEpoch: 4, spec: { spec } });
const latest = lookup({ $case: 'boundary', value: v1.OffsetBoundary.LATEST });

/** A follower holding 2 records it was never told are committed, then made leader in epoch 4 with the old leader still in the ISR. */
async function promotedFollower(): Promise<HostedPartition> {
  harness = await managerHarness({ inMemory: true });
  harness.manager.apply(image(1, [orders({ leader: follower, leaderEpoch: 3, partitionEpoch: 3 })], { otherNodes: [follower] }));
  await settled(harness.manager);
  const partition = harness.manager.partition(ordersId, 0);
  if (partition === undefined) throw new Error('orders-0 not hosted');
  await partition.appendAsFollower(await batch('h', 2, { timestamp: 1_000n }));
  harness.manager.apply(image(2, [orders({ leaderEpoch: 4, partitionEpoch: 4 })], { otherNodes: [follower] }));
  // Taking over records the epoch in the log first.
  await settle();
  if (partition.leaderState === undefined) throw new Error('orders-0 did not take over the leadership');
  return partition;
}

describe('ListOffsets while a new leader high watermark is behind its epoch start (KIP-207)', () => {
  it('answers LATEST and lookups past the high watermark with OFFSET_NOT_AVAILABLE, EARLIEST at once, and all of them once a follower brings it there', async () => {
    const partition = await promotedFollower();
    expect(partition.epochStartAheadOfHighWatermark).toBe(2n);
    const code = async (request: internalV1.OffsetLookup) => errorCodeFromProto((await listOffset(harness.manager, request)).errorCode);
    expect(await code(latest)).toBe('OFFSET_NOT_AVAILABLE');
    expect((await listOffset(harness.manager, latest)).errorMessage).toMatch(/high watermark 0 has not reached the start of its epoch at offset 2/);
    expect(await code(lookup({ $case: 'timestampMs', value: 0n }))).toBe('OFFSET_NOT_AVAILABLE');
    expect(await code(lookup({ $case: 'boundary', value: v1.OffsetBoundary.MAX_TIMESTAMP }))).toBe('OFFSET_NOT_AVAILABLE');
    // EARLIEST does not depend on the high watermark.
    expect(await listOffset(harness.manager, lookup({ $case: 'boundary', value: v1.OffsetBoundary.EARLIEST }))).toMatchObject({ offset: 0n, errorCode: v1.ErrorCode.NONE });

    // The old leader, now a follower, fetches at the epoch start: the high watermark reaches it.
    partition.onFollowerFetch(follower, 2n, 5n);
    expect(partition.epochStartAheadOfHighWatermark).toBeUndefined();
    expect(await listOffset(harness.manager, latest)).toMatchObject({ offset: 2n, leaderEpoch: 4, errorCode: v1.ErrorCode.NONE });
    expect(await listOffset(harness.manager, lookup({ $case: 'timestampMs', value: 0n }))).toMatchObject({ offset: 0n, errorCode: v1.ErrorCode.NONE });
  });
});
