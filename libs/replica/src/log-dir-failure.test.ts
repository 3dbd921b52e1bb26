/**
 * A failing disk under the partition manager (a faulty filesystem over the in-memory one): a log that
 * fails at run time takes the whole data directory offline, as Kafka's log-directory failure
 * handling does, and the node is told once so its heartbeats report it.
 */
import { joinPath } from '@starlane/io-ports';
import { FaultyFileSystem, settle, type FileOperation } from '@starlane/testing';
import { batch, image, managerHarness, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import { highWatermarkCheckpointFileName, highWatermarkCheckpointIntervalMs } from './hw-checkpoint';
import { eligibilityIn } from './isr-updater';
import { partitionDirectoryName } from './partition-dirs';
import { appendAsLeader } from './produce';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const paymentsId = '0b7e4e3c-4c55-4d6f-8a2a-1f1b9c2d3e4f';
const follower = 2;

let harness: ManagerHarness;
let fs: FaultyFileSystem;
afterEach(async () => {
  fs.heal();
  await harness.cleanUp();
});

const leaderOf = (name: string, topicId: string) =>
  topic({ name, topicId, partitions: [{ leader: thisNode, leaderEpoch: 1, partitionEpoch: 1, replicas: [thisNode, follower], isr: [thisNode, follower] }] });

async function twoLeaderships(): Promise<void> {
  harness = await managerHarness({ fs: (disk) => (fs = new FaultyFileSystem(disk)) });
  harness.manager.apply(image(1, [leaderOf('orders', ordersId), leaderOf('payments', paymentsId)], { otherNodes: [follower] }));
  await settled(harness.manager);
  // Taking over records the epoch in each log first: promise work over the in-memory disk.
  await settle();
  expect(harness.manager.partitions().filter((partition) => partition.leaderState === undefined).map((partition) => partition.topic)).toEqual([]);
}

const append = async (topicName: string, topicId: string, tag: string) => appendAsLeader(harness.manager, { topic: topicName, topicId, partition: 0, currentLeaderEpoch: 1 }, await batch(tag), 'leader', 5_000);

/** Fails `operation` on the files of orders-0 with `errno`. */
function failOrders(operation: FileOperation, errno: string): void {
  const directory = partitionDirectoryName('orders', ordersId, 0);
  fs.failWhen((failing, path) => failing === operation && path.includes(directory), errno);
}

describe('a failed log directory', () => {
  it.each([
    ['an append cannot be written (ENOSPC)', 'write', 'ENOSPC'],
    ['an fsync fails (EIO)', 'sync', 'EIO'],
  ] as const)('goes offline, every partition in it, when %s', async (_what, operation, errno) => {
    await twoLeaderships();
    expect(await append('orders', ordersId, 'fine')).not.toHaveProperty('error');
    failOrders(operation, errno);
    if (operation === 'sync') await harness.manager.partition(ordersId, 0)?.onlineLog?.flush().catch(() => undefined);
    else expect(await append('orders', ordersId, 'lost')).toHaveProperty('error');

    expect(harness.directoryFailures).toHaveLength(1);
    expect(harness.manager.directoryFailure?.message).toContain(errno);
    // Both partitions: offline, leading no more, answering KAFKA_STORAGE_ERROR.
    for (const partition of harness.manager.partitions()) {
      expect(partition.status).toBe('offline');
      expect(partition.leaderState).toBeUndefined();
      expect(partition.isrProposal(eligibilityIn(harness.manager.metadata))).toBeUndefined();
    }
    const refused = await append('payments', paymentsId, 'other-partition');
    expect(refused).toMatchObject({ error: { code: 'KAFKA_STORAGE_ERROR' } });
    expect(harness.logger.lines.filter((line) => line.level === 'error' && /data directory is offline/.test(line.message))).toHaveLength(1);
  });

  it('stays offline for partitions assigned later, writes no checkpoint and does not close cleanly', async () => {
    await twoLeaderships();
    await harness.manager.checkpointHighWatermarks();
    const checkpointPath = joinPath(harness.partitionsDir, highWatermarkCheckpointFileName);
    const before = (await harness.disk.readFile(checkpointPath))?.toString('utf8');
    failOrders('write', 'EIO');
    await append('orders', ordersId, 'lost');
    expect(harness.manager.directoryFailure).toBeDefined();
    fs.heal();

    harness.manager.apply(image(2, [leaderOf('orders', ordersId), leaderOf('payments', paymentsId), leaderOf('audit', '7d1c2b3a-1111-4222-8333-444455556666')], { otherNodes: [follower] }));
    expect(harness.manager.partition('7d1c2b3a-1111-4222-8333-444455556666', 0)?.status).toBe('offline');
    await harness.scheduler.advance(highWatermarkCheckpointIntervalMs);
    expect((await harness.disk.readFile(checkpointPath))?.toString('utf8')).toBe(before);
    await expect(harness.manager.close()).resolves.toBe(false);
    expect(harness.directoryFailures).toHaveLength(1);
  });
});
