/**
 * Two `ReplicaNode`s wired to each other through an in-memory `ReplicaStreamPort` (the
 * follower's stream calls the leader's fetch session directly), each on its own in-memory
 * disk, with manual time: the whole replica as the storage node runs it, without gRPC or files.
 * All of it is promise work, so `settle()` finishes what an action set off; no test waits on real time.
 */
import { MemoryFileSystem } from '@starlane/io-ports';
import type { MetadataImage } from '@starlane/metadata';
import { manualTime, settle } from '@starlane/testing';
import { RecordingLogger, batch, clusterId, image, recordsOf, topic } from '../test/fixtures';
import type { ReplicaStreamPort } from './replica-messages';
import { ReplicaNode } from './replica-node';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const leader = 1;
const follower = 2;

let nodes: Map<number, ReplicaNode>;
afterEach(async () => {
  for (const node of nodes.values()) await node.close();
});

/** Each node's fetch streams go straight to the leader node's fetch sessions. */
const streams: ReplicaStreamPort = {
  open(target) {
    const session = nodes.get(target.nodeId)?.openFetchSession();
    return {
      fetch: (request) => (session === undefined ? Promise.reject(new Error(`node ${target.nodeId} is down`)) : session.fetch(request)),
      close: () => session?.close(),
    };
  },
};

/** Each node's registration epoch as its lifecycle would give it (undefined: not registered yet); the fixture images show epoch 0. */
let nodeEpochs: Map<number, bigint | undefined>;

async function cluster(metadata: MetadataImage, epochs: Readonly<Record<number, bigint | undefined>> = {}): Promise<Map<number, ReplicaNode>> {
  const { clock, scheduler } = manualTime();
  nodes = new Map();
  nodeEpochs = new Map([leader, follower].map((nodeId) => [nodeId, nodeId in epochs ? epochs[nodeId] : 0n]));
  for (const nodeId of [leader, follower]) {
    const fs = new MemoryFileSystem();
    const node = new ReplicaNode({
      nodeId,
      clusterId,
      directory: '/data/partitions',
      fs,
      clock,
      scheduler,
      removeTree: (path) => fs.removeTree(path),
      replicaLagTimeMaxMs: 30_000,
      nodeEpoch: () => nodeEpochs.get(nodeId),
      streams,
      alterPartition: async () => undefined,
      logger: new RecordingLogger(),
    });
    await node.start();
    nodes.set(nodeId, node);
  }
  for (const node of nodes.values()) node.applyMetadata(metadata);
  return nodes;
}

const orders = topic({
  name: 'orders',
  topicId: ordersId,
  configs: { 'min.insync.replicas': '2' },
  partitions: [{ leader, leaderEpoch: 3, partitionEpoch: 3, replicas: [leader, follower], isr: [leader, follower] }],
});

describe('ReplicaNode', () => {
  it('acknowledges an acks=all write once the follower fetched it, and shows it as LATEST', async () => {
    const [first, second] = [...(await cluster(image(1, [orders], { otherNodes: [follower] }))).values()] as [ReplicaNode, ReplicaNode];
    // The takeover (its epoch recorded in the log) is promise work over the in-memory disk.
    await settle();
    expect(first.manager.partition(ordersId, 0)?.leaderState).toBeDefined();

    const written = await first.produce({ topicId: ordersId, partition: 0, leaderEpoch: 3, records: await batch('a', 2), acks: -1, timeoutMs: 5_000 });
    expect(written).toEqual({ baseOffset: 0n, logEndOffset: 2n, leaderEpoch: 3, logStartOffset: 0n });
    expect(first.latestOffset(ordersId, 0)).toEqual({ offset: 2n, leaderEpoch: 3 });
    const copy = second.manager.partition(ordersId, 0)?.onlineLog;
    expect(copy?.logEndOffset).toBe(2n);
    const read = await copy?.read(0n, { maxBytes: 1 << 20, maxOffset: 2n });
    expect((await recordsOf(read?.records ?? Buffer.alloc(0))).map((record) => [record.offset, record.value, record.epoch])).toEqual([
      [0n, 'a-0', 3],
      [1n, 'a-1', 3],
    ]);
  });

  it('refuses writes and LATEST where it does not lead, and writes quoting another leader epoch', async () => {
    const [first, second] = [...(await cluster(image(1, [orders], { otherNodes: [follower] }))).values()] as [ReplicaNode, ReplicaNode];
    // The takeover (its epoch recorded in the log) is promise work over the in-memory disk.
    await settle();
    expect(first.manager.partition(ordersId, 0)?.leaderState).toBeDefined();
    const records = await batch('b', 1);
    expect(await second.produce({ topicId: ordersId, partition: 0, records, acks: 1, timeoutMs: 1_000 })).toMatchObject({ error: { code: 'NOT_LEADER_OR_FOLLOWER' } });
    expect(second.latestOffset(ordersId, 0)).toMatchObject({ error: { code: 'NOT_LEADER_OR_FOLLOWER' } });
    expect(await first.produce({ topicId: ordersId, partition: 0, leaderEpoch: 2, records, acks: 1, timeoutMs: 1_000 })).toMatchObject({ error: { code: 'FENCED_LEADER_EPOCH' } });
    expect(await first.produce({ topicId: ordersId, partition: 0, leaderEpoch: 4, records, acks: 0, timeoutMs: 1_000 })).toMatchObject({ error: { code: 'UNKNOWN_LEADER_EPOCH' } });
    expect(await first.produce({ topicId: 'unknown', partition: 0, records, acks: 1, timeoutMs: 1_000 })).toMatchObject({ error: { code: 'UNKNOWN_TOPIC_ID' } });
    // acks=1 answers once the leader wrote, before any follower fetched.
    expect(await first.produce({ topicId: ordersId, partition: 0, records, acks: 1, timeoutMs: 1_000 })).toMatchObject({ baseOffset: 0n, logEndOffset: 1n });
  });

  it('acts on no metadata until an image shows its registration in force, then on the newest it was given', async () => {
    // A restarted process (registration not yet answered, or the image older than it) is
    // handed an image that still names it leader in its previous process's epoch.
    const [first] = [...(await cluster(image(1, [orders], { otherNodes: [follower] }), { [leader]: undefined })).values()] as [ReplicaNode, ReplicaNode];
    expect(first.manager.appliedVersion).toBe(0);
    expect(first.manager.partition(ordersId, 0)).toBeUndefined();
    expect(await first.produce({ topicId: ordersId, partition: 0, records: await batch('c', 1), acks: 1, timeoutMs: 1_000 })).toMatchObject({ error: { code: 'NOT_LEADER_OR_FOLLOWER' } });

    // Registered with epoch 7, but the image still shows the previous registration (epoch 0).
    nodeEpochs.set(leader, 7n);
    first.registered();
    expect(first.manager.partition(ordersId, 0)).toBeUndefined();

    // The image that carries the registration moved the leadership away; the node follows it.
    const moved = topic({ ...orders, partitions: [{ leader: follower, leaderEpoch: 4, partitionEpoch: 4, replicas: [leader, follower], isr: [follower] }] });
    first.applyMetadata(image(2, [moved], { otherNodes: [follower], nodes: { [leader]: { nodeEpoch: 7 } } }));
    expect(first.manager.appliedVersion).toBe(2);
    expect(first.manager.partition(ordersId, 0)?.isLeader).toBe(false);
    expect(first.manager.partition(ordersId, 0)?.isFollower).toBe(true);
  });

  it('applies an image held while unregistered as soon as the registration it shows is answered', async () => {
    const [first] = [...(await cluster(image(1, [orders], { otherNodes: [follower], nodes: { [leader]: { nodeEpoch: 7 } } }), { [leader]: undefined })).values()] as [ReplicaNode, ReplicaNode];
    expect(first.manager.appliedVersion).toBe(0);
    nodeEpochs.set(leader, 7n);
    first.registered();
    expect(first.manager.appliedVersion).toBe(1);
    // The takeover (its epoch recorded in the log) is promise work over the in-memory disk.
    await settle();
    expect(first.manager.partition(ordersId, 0)?.leaderState).toBeDefined();
  });
});
