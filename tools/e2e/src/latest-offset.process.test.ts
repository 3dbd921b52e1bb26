/**
 * LATEST never goes backwards across a restart (Kafka's KIP-207). A leader restarted from a
 * high-watermark checkpoint that lags the high watermark it had shown takes over with that
 * older value; while its high watermark is below the start of its new epoch it must answer
 * LATEST with OFFSET_NOT_AVAILABLE, not with the older value, until its followers are back.
 *
 * The replicas are SIGKILLed, so none writes a final checkpoint; the leader is killed within
 * one checkpoint interval (5 s) of a checkpoint that recorded 50 records, after 100 were
 * committed and shown. With min.insync.replicas=2 the restarted leader, alone in the ISR,
 * cannot advance its high watermark until a follower rejoins, which holds the window open.
 */
import { join } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import { call, type PublicClients } from './clients';
import { startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed, sameKeyRecords } from './workload';

jest.setTimeout(240_000);

const topic = 'latest';
/** Short sessions, so killed nodes are fenced (and leave the ISR) within a few seconds. */
const controllerArgs = ['--node-session-timeout-ms=1500', '--node-heartbeat-interval-ms=250'];

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 3, controllerArgs }));
});

afterAll(() => stopWithClients({ cluster, clients }));

/** Polls `check` until it returns a value (not undefined), for at most `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function checkpointPath(nodeId: number): string {
  return join(cluster.dataDir, `storage-node-${nodeId}`, 'partitions', 'high-watermark-checkpoint');
}

/** The checkpointed high watermark of latest-0 on `nodeId`, and when the file was written. */
async function checkpoint(nodeId: number, topicId: string): Promise<{ highWatermark: bigint | undefined; writtenAt: string } | undefined> {
  try {
    const path = checkpointPath(nodeId);
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const line = text.split('\n').find((entry) => entry.startsWith(`${topicId} 0 `));
    return { highWatermark: line === undefined ? undefined : BigInt(line.split(' ')[2]!), writtenAt: `${info.ino}:${info.mtimeMs}` };
  } catch {
    return undefined;
  }
}

async function latest(): Promise<v1.ListOffsetsPartitionResult> {
  const response = await call(clients.admin, clients.admin.listOffsets, {
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    partitions: [{ topic, partition: 0, spec: { spec: { $case: 'boundary', value: v1.OffsetBoundary.LATEST } } }],
  });
  return response.partitions[0]!;
}

async function produce(prefix: string, count: number): Promise<void> {
  await produceKeyed(clients, topic, sameKeyRecords(0, count, prefix), { recordsPerRequest: 10, inflightMax: 1, acks: v1.Acks.ALL });
}

describe('LATEST across a restart from a lagging checkpoint', () => {
  it('is OFFSET_NOT_AVAILABLE while the restarted leader is behind its epoch start, never an older offset', async () => {
    const created = await createTopic(clients, topic, 1, {}, 3);
    const image = await cluster.waitForLeaders(topic);
    const leader = image.topics.get(topic)!.partitions[0]!.leader;
    const followers = cluster.storageNodeIds.filter((id) => id !== leader);

    await produce('a', 50);
    await until('the leader checkpoints 50', async () => ((await checkpoint(leader, created.topicId))?.highWatermark === 50n ? true : undefined));

    // The followers go; the leader alone commits the next records (min.insync.replicas is 1 so far).
    for (const id of followers) await cluster.kill(`storage-node-${id}`, 'SIGKILL');
    await cluster.metadata().waitFor((current) => current.topics.get(topic)?.partitions[0]?.isr.join() === String(leader), 30_000);

    // Right after a checkpoint write (of 50), 50 more are committed, shown, and the leader is
    // killed before its next checkpoint could record them.
    const before = (await checkpoint(leader, created.topicId))?.writtenAt;
    await until('a fresh checkpoint write', async () => ((await checkpoint(leader, created.topicId))?.writtenAt !== before ? true : undefined), 15_000);
    await produce('b', 50);
    expect(await latest()).toMatchObject({ offset: 100n, errorCode: v1.ErrorCode.NONE });
    await cluster.kill(`storage-node-${leader}`, 'SIGKILL');
    const left = await checkpoint(leader, created.topicId);
    if (left?.highWatermark !== 50n) throw new Error(`the scenario needs a checkpoint behind the shown high watermark; it holds ${left?.highWatermark}`);

    // Back alone, the leader cannot advance its high watermark past its checkpoint until a
    // follower rejoins: with min.insync.replicas=2 the ISR of one commits nothing.
    await call(clients.admin, clients.admin.alterTopicConfigs, {
      topics: [{ topic, changes: [{ name: 'min.insync.replicas', operation: v1.ConfigOperation.SET, value: '2' }] }],
      validateOnly: false,
    });
    await cluster.start(`storage-node-${leader}`);
    await cluster.waitForLeaders(topic);
    const whileBehind = await latest();
    expect({ code: whileBehind.errorCode, offset: whileBehind.offset }).toEqual({ code: v1.ErrorCode.OFFSET_NOT_AVAILABLE, offset: -1n });
    expect(whileBehind.errorMessage).toMatch(/has not reached the start of its epoch at offset 100/);

    // Once a follower is back, LATEST is 100 again, and never anything older on the way.
    for (const id of followers) await cluster.start(`storage-node-${id}`);
    const seen: bigint[] = [];
    await until(
      'LATEST back at 100',
      async () => {
        const answer = await latest();
        if (answer.errorCode === v1.ErrorCode.NONE) seen.push(answer.offset);
        else expect(answer.errorCode).toBe(v1.ErrorCode.OFFSET_NOT_AVAILABLE);
        return answer.errorCode === v1.ErrorCode.NONE ? true : undefined;
      },
      60_000,
    );
    expect(seen.every((offset) => offset >= 100n)).toBe(true);
    expect(seen.at(-1)).toBe(100n);
  });
});
