/**
 * The first whole path through Starlane, as real processes over real gRPC: a controller,
 * three storage nodes and a gateway; 100,000 keyed records produced through the gateway and
 * read back; then every process restarted (SIGTERM), and a storage node SIGKILLed right after
 * an acknowledged produce. Nothing acknowledged may be missing, duplicated, reordered, or on a
 * partition other than the one Kafka's default partitioner gives its key.
 */
import { Partitioners } from 'kafkajs';
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import { call, type PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed, readPartition, type KeyedRecord, type StoredRecord } from './workload';

jest.setTimeout(240_000);

const topic = 'orders';
const partitionCount = 6;
const recordCount = 100_000;
const keyCount = 600;

// Kafka's default partitioner as kafkajs implements it (murmur2, Java-compatible): an
// implementation independent of the gateway's.
const kafkaPartitioner = Partitioners.DefaultPartitioner();
const partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 1, replicas: [1], isr: [1] }));
function kafkaPartitionFor(key: string): number {
  return kafkaPartitioner({ topic, partitionMetadata, message: { key: Buffer.from(key), value: null } });
}

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 3 }));
});

afterAll(() => stopWithClients({ cluster, clients }));

async function readAll(): Promise<StoredRecord[][]> {
  const partitions: StoredRecord[][] = [];
  for (let partition = 0; partition < partitionCount; partition += 1) partitions.push(await readPartition(clients, topic, partition, { deadlineMs: 30_000 }));
  return partitions;
}

/**
 * Every check a full read must pass: offsets dense from 0 per partition, every record exactly
 * once, each key on its murmur2 partition, and per-key produce order. Problems are collected
 * and asserted once (an expect per record would dominate the test's run time).
 */
function checkFullRead(partitions: StoredRecord[][], expected: readonly KeyedRecord[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [partition, records] of partitions.entries()) {
    const lastSeqByKey = new Map<string, number>();
    records.forEach((record, index) => {
      const where = `${partition}@${record.offset}`;
      if (record.offset !== BigInt(index)) problems.push(`${where}: expected offset ${index}`);
      if (record.partition !== partition) problems.push(`${where}: read from partition ${record.partition}`);
      if (record.key === undefined || record.value === undefined) {
        problems.push(`${where}: lost its key or value`);
        return;
      }
      if (kafkaPartitionFor(record.key) !== partition) problems.push(`${where}: key ${record.key} belongs on partition ${kafkaPartitionFor(record.key)}`);
      if (seen.has(record.value)) problems.push(`${where}: ${record.value} read twice`);
      seen.add(record.value);
      // Within a key, sequence numbers only grow: the partition kept produce order.
      const seq = Number(record.value.split(':')[1]);
      if (seq <= (lastSeqByKey.get(record.key) ?? -1)) problems.push(`${where}: ${record.value} after sequence ${lastSeqByKey.get(record.key)}`);
      lastSeqByKey.set(record.key, seq);
    });
  }
  for (const record of expected) if (!seen.has(record.value)) problems.push(`missing ${record.value}`);
  expect(problems.slice(0, 20)).toEqual([]);
  expect(seen.size).toBe(expected.length);
}

describe('streaming end to end', () => {
  const records: KeyedRecord[] = Array.from({ length: recordCount }, (_, seq) => {
    const key = `customer-${seq % keyCount}`;
    return { key, value: `${key}:${seq}:${'x'.repeat(40)}` };
  });
  let firstRead: StoredRecord[][];

  it('produces 100,000 keyed records through the gateway onto the partitions murmur2 gives', async () => {
    const created = await createTopic(clients, topic, partitionCount);
    expect(created.partitionCount).toBe(partitionCount);
    await cluster.waitForLeaders(topic);
    const produced = await produceKeyed(clients, topic, records, { recordsPerRequest: 6000, inflightMax: 4, acks: v1.Acks.ALL });
    expect(produced.reduce((sum, entry) => sum + entry.count, 0)).toBe(recordCount);
    for (const entry of produced) expect(entry.partition).toBe(kafkaPartitionFor(entry.key));
    // Leaders are spread over the three storage nodes.
    const leaders = new Set(cluster.metadata().current().topics.get(topic)!.partitions.map((partition) => partition.leader));
    expect(leaders.size).toBe(3);
  });

  it('reads every record back exactly once, in order per partition', async () => {
    firstRead = await readAll();
    checkFullRead(firstRead, records);
  });

  it('keeps everything across a SIGTERM restart of every process', async () => {
    for (const name of ['gateway', ...cluster.storageNodeIds.map((id) => `storage-node-${id}`), 'controller']) {
      const { exit } = await cluster.restart(name, 'SIGTERM');
      expect(exit).toMatchObject({ code: 0, signal: null });
    }
    await cluster.waitForActiveNodes(3);
    await cluster.waitForLeaders(topic);
    const afterRestart = await readAll();
    expect(afterRestart).toEqual(firstRead);
  });

  it('keeps a produce acknowledged right before its leader is SIGKILLed', async () => {
    const image = await cluster.waitForLeaders(topic);
    const key = 'after-the-crash';
    const partition = kafkaPartitionFor(key);
    const leader = image.topics.get(topic)!.partitions[partition]!.leader;
    const response = await call(clients.producer, clients.producer.produce, {
      acks: v1.Acks.ALL,
      timeoutMs: 10_000,
      partitions: [
        {
          topic,
          partition: -1,
          payload: {
            $case: 'records',
            value: {
              records: [{ nullableKey: { $case: 'key', value: Buffer.from(key) }, nullableValue: { $case: 'value', value: Buffer.from('acknowledged') }, headers: [], timestampMs: 0n, offset: 0n, timestampType: 0, leaderEpoch: 0 }],
              producer: undefined,
              baseSequence: 0,
            },
          },
        },
      ],
    });
    const result = response.partitions[0]!;
    expect(result.errorCode).toBe(v1.ErrorCode.NONE);
    expect(result.partition).toBe(partition);
    const exit = await cluster.kill(`storage-node-${leader}`, 'SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    await cluster.start(`storage-node-${leader}`);
    await cluster.waitForLeaders(topic);
    const after = await readPartition(clients, topic, partition, { deadlineMs: 30_000 });
    expect(after.slice(0, firstRead[partition]!.length)).toEqual(firstRead[partition]);
    expect(after[after.length - 1]).toEqual({ partition, offset: result.baseOffset, key, value: 'acknowledged' });
  });
});
