import { joinPath } from '@starlane/io-ports';
import { defaultLogConfig } from '@starlane/log';
import { FaultyFileSystem } from '@starlane/testing';
import { batch, image, managerHarness, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import { highWatermarkCheckpointFileName } from './hw-checkpoint';
import { deletionMarkerFileName, parsePartitionDirectoryName, partitionDirectoryName } from './partition-dirs';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const paymentsId = '0b7e4e3c-4c55-4d6f-8a2a-1f1b9c2d3e4f';

let harness: ManagerHarness;
beforeEach(async () => {
  harness = await managerHarness();
});
afterEach(async () => {
  await harness.cleanUp();
});

/** The partition directories (the high-watermark checkpoint file beside them left out). */
async function directories(): Promise<string[]> {
  return (await harness.disk.list(harness.partitionsDir)).filter((name) => name !== highWatermarkCheckpointFileName).sort();
}

describe('partition directories', () => {
  it('are named topic-partition.topicId and parse back', () => {
    expect(partitionDirectoryName('orders', ordersId, 3)).toBe(`orders-3.${ordersId}`);
    expect(parsePartitionDirectoryName(`orders.eu-west-1-3.${ordersId}`)).toEqual({ topic: 'orders.eu-west-1', partition: 3, topicId: ordersId });
    expect(parsePartitionDirectoryName('orders-3')).toBeNull();
    expect(parsePartitionDirectoryName(`x-99999999999.${ordersId}`)).toBeNull();
    const long = 'a'.repeat(249);
    expect(Buffer.byteLength(partitionDirectoryName(long, ordersId, 2 ** 31 - 1))).toBeLessThanOrEqual(255);
  });
});

describe('PartitionManager', () => {
  it('hosts every partition whose replicas include this node, and only those', async () => {
    const { manager } = harness;
    manager.apply(
      image(1, [
        topic({ name: 'orders', topicId: ordersId, partitions: [{}, { leader: 2, replicas: [2, thisNode] }, { leader: 2, replicas: [2, 3] }] }),
      ]),
    );
    await settled(manager);
    expect(manager.partitions().map((partition) => [partition.partition, partition.status])).toEqual([
      [0, 'online'],
      [1, 'online'],
    ]);
    expect(await directories()).toEqual([`orders-0.${ordersId}`, `orders-1.${ordersId}`]);
    expect(manager.appliedVersion).toBe(1);
  });

  it('ignores metadata until it knows its cluster, and metadata of another cluster', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId })], { clusterId: 'someone-else' }));
    expect(manager.partitions()).toEqual([]);
    expect(manager.appliedVersion).toBe(0);
    expect(harness.logger.lines.some((line) => line.level === 'error' && /another cluster/.test(line.message))).toBe(true);
  });

  it('follows leadership and epochs in place', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId })]));
    await settled(manager);
    const hosted = manager.partition(ordersId, 0);
    manager.apply(image(2, [topic({ name: 'orders', topicId: ordersId, partitions: [{ leader: 2, leaderEpoch: 4, replicas: [thisNode, 2] }] })]));
    expect(manager.partition(ordersId, 0)).toBe(hosted);
    expect(hosted?.state).toMatchObject({ leader: 2, leaderEpoch: 4 });
  });

  it('deletes the data of a deleted topic, and a topic created again under the name starts empty', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId })]));
    await settled(manager);
    await manager.partition(ordersId, 0)?.append(await batch('old', 3), 1000);
    const old = manager.partition(ordersId, 0);

    manager.apply(image(2, []));
    expect(manager.partition(ordersId, 0)).toBeUndefined();
    expect(old?.status).toBe('removed');
    const recreatedId = 'a1b2c3d4-0000-4000-8000-000000000001';
    manager.apply(image(3, [topic({ name: 'orders', topicId: recreatedId })]));
    await settled(manager);
    await manager.close();
    expect(await directories()).toEqual([`orders-0.${recreatedId}`]);
    const restarted = await harness.restart();
    restarted.apply(image(3, [topic({ name: 'orders', topicId: recreatedId })]));
    await settled(restarted);
    expect(restarted.partition(recreatedId, 0)?.onlineLog?.logEndOffset).toBe(0n);
  });

  it('deletes a partition whose replica moved to other nodes', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, partitions: [{}, {}] })]));
    await settled(manager);
    manager.apply(image(2, [topic({ name: 'orders', topicId: ordersId, partitions: [{}, { leader: 2, replicas: [2] }] })]));
    await manager.close();
    expect(await directories()).toEqual([`orders-0.${ordersId}`]);
  });

  it('applies a changed topic config to the open log, leaving values the log cannot take at their defaults', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, configs: { 'retention.ms': '1000', 'min.insync.replicas': '2' } })], { clusterConfigs: { 'segment.bytes': '1048576' } }));
    await settled(manager);
    const log = manager.partition(ordersId, 0)?.onlineLog;
    expect(log?.logConfig).toMatchObject({ retentionMs: 1000, segmentBytes: 1048576, maxMessageBytes: defaultLogConfig.maxMessageBytes });

    manager.apply(
      image(2, [topic({ name: 'orders', topicId: ordersId, configs: { 'retention.ms': '1000', 'max.message.bytes': '2048', 'cleanup.policy': 'compact', 'segment.ms': 'soon' } })], {
        clusterConfigs: { 'segment.bytes': '1048576' },
      }),
    );
    expect(log?.logConfig).toMatchObject({ maxMessageBytes: 2048, cleanupPolicy: 'compact', segmentMs: defaultLogConfig.segmentMs });
    await expect(manager.partition(ordersId, 0)?.append(await batch('big', 1, { valueBytes: 4096 }), 1000)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(harness.logger.lines.some((line) => line.level === 'warn' && (line.fields as { name?: string }).name === 'segment.ms')).toBe(true);

    // A cluster-level default changing reaches the topics that do not override it.
    manager.apply(
      image(3, [topic({ name: 'orders', topicId: ordersId, configs: { 'retention.ms': '1000', 'max.message.bytes': '2048', 'cleanup.policy': 'compact' } })], {
        clusterConfigs: { 'segment.bytes': '2097152' },
      }),
    );
    expect(log?.logConfig.segmentBytes).toBe(2097152);
  });

  it('takes the data directory offline when a log cannot be opened, as Kafka does on an I/O error', async () => {
    await harness.cleanUp();
    let faulty: FaultyFileSystem | undefined;
    harness = await managerHarness({ fs: (disk) => (faulty = new FaultyFileSystem(disk)) });
    const { manager } = harness;
    // The partition's directory cannot be read: the log cannot open there.
    const broken = partitionDirectoryName('orders', ordersId, 1);
    faulty?.failWhen((_operation, path) => path.includes(broken), 'ENOTDIR');
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, partitions: [{}, {}, {}] })]));
    await settled(manager);
    expect(manager.partitions().map((partition) => partition.status)).toEqual(['offline', 'offline', 'offline']);
    expect(manager.partition(ordersId, 1)?.storageFailure?.code).toBe('STORAGE_UNAVAILABLE');
    expect(manager.directoryFailure?.message).toMatch(/orders-1 failed/);
    expect(harness.directoryFailures).toHaveLength(1);
    await expect(manager.partition(ordersId, 2)?.append(await batch('refused'), 1000)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('removes, once metadata arrives, directories found at start that no partition claims, and finishes interrupted deletions', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId }), topic({ name: 'payments', topicId: paymentsId })]));
    await settled(manager);
    await manager.close();
    const interrupted = joinPath(harness.partitionsDir, partitionDirectoryName('gone', 'dead0000-0000-4000-8000-000000000000', 0));
    await harness.disk.makeDirectory(interrupted);
    await harness.disk.writeFileAtomic(joinPath(interrupted, deletionMarkerFileName), Buffer.alloc(0));

    const restarted = await harness.restart();
    // The interrupted deletion is finished at start; strays wait for metadata.
    expect(await directories()).toEqual([`orders-0.${ordersId}`, `payments-0.${paymentsId}`].sort());
    restarted.apply(image(2, [topic({ name: 'orders', topicId: ordersId })]));
    await settled(restarted);
    await restarted.close();
    expect(await directories()).toEqual([`orders-0.${ordersId}`]);
  });

  it('closes every log cleanly and reopens it with its data', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId })]));
    await settled(manager);
    await manager.partition(ordersId, 0)?.append(await batch('kept', 5), 1000);
    await expect(manager.close()).resolves.toBe(true);
    const restarted = await harness.restart();
    restarted.apply(image(1, [topic({ name: 'orders', topicId: ordersId })]));
    await settled(restarted);
    expect(restarted.partition(ordersId, 0)?.onlineLog?.logEndOffset).toBe(5n);
    expect(harness.logger.lines.filter((line) => line.message === 'partition log opened')).toHaveLength(2);
  });

  it('lets appends wait, in order, for a log that is still opening', async () => {
    const { manager } = harness;
    const batches = [await batch('a', 2), await batch('b', 3), await batch('c', 1)];
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId })]));
    const hosted = manager.partition(ordersId, 0);
    expect(hosted?.status).toBe('opening');
    if (hosted === undefined) throw new Error('orders-0 is not hosted');
    const appends = await Promise.all(batches.map((records) => hosted.append(records, 5000)));
    expect(appends.map((result) => result.baseOffset)).toEqual([0n, 2n, 5n]);
  });

  it('refuses an append that waited for the log if the leader epoch moved meanwhile', async () => {
    const { manager } = harness;
    manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId })]));
    const hosted = manager.partition(ordersId, 0);
    if (hosted === undefined) throw new Error('orders-0 is not hosted');
    expect(hosted.status).toBe('opening');
    const waiting = hosted.append(await batch('a', 1), 5000, 0);
    // Leadership moved (epoch 1) while the log was opening.
    manager.apply(image(2, [topic({ name: 'orders', topicId: ordersId, partitions: [{ leaderEpoch: 1, partitionEpoch: 1 }] })]));
    await expect(waiting).rejects.toMatchObject({ code: 'FENCED_LEADER_EPOCH' });
    await settled(manager);
    const after = await hosted.append(await batch('b', 1), 5000, 1);
    expect(after.baseOffset).toBe(0n);
  });
});
