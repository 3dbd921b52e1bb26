/**
 * The follower side of replication (`ReplicaFetchers` of `@starlane/replica`) over the gRPC
 * stream port and codec, against a scripted leader that records what it is sent and answers
 * as a test says: a real gRPC server on loopback, a real partition manager and log on disk,
 * and a manual clock and scheduler for the fetcher's back-off.
 */
import * as grpc from '@grpc/grpc-js';
import { errorCodeToProto } from '@starlane/metadata-rpc';
import { internalV1 } from '@starlane/proto';
import { buildBatch } from '@starlane/record-batch';
import { withUnimplemented } from '@starlane/service-host';
import { waitUntil } from '@starlane/testing';
import { image, managerHarness, settled, thisNode, topic, type ManagerHarness } from '../test/fixtures';
import { ReplicaFetchers, replicaFetchBackoffMsInitial, type DivergenceOutcome, type HostedPartition } from '@starlane/replica';
import { GrpcReplicaStreams } from './replica-streams';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';
const leader = 2;

interface SeenRequest {
  readonly stream: number;
  readonly nodeEpoch: bigint;
}

let harness: ManagerHarness;
let server: grpc.Server;
let fetchers: ReplicaFetchers | undefined;

afterEach(async () => {
  fetchers?.close();
  server.forceShutdown();
  await harness.cleanUp();
});

type ReplicaFetchCall = grpc.ServerDuplexStream<internalV1.ReplicaFetchRequest, internalV1.ReplicaFetchResponse>;

/** A leader on a free loopback port that serves ReplicaFetch with `handle` (which adds its 'data' handler), and nothing else; resolves with the port. */
async function serveReplicaFetch(handle: (call: ReplicaFetchCall) => void): Promise<number> {
  server = new grpc.Server();
  const definition = internalV1.StorageNodeServiceService;
  const replicaFetch = (call: ReplicaFetchCall): void => {
    handle(call);
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
  server.addService(definition, withUnimplemented(definition, { replicaFetch }));
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
}

/** A leader that answers every fetch with nothing after a short wait, noting each request's stream and node epoch. */
async function recordingLeader(): Promise<{ port: number; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  let streams = 0;
  const port = await serveReplicaFetch((call) => {
    const stream = ++streams;
    call.on('data', (request: internalV1.ReplicaFetchRequest) => {
      seen.push({ stream, nodeEpoch: request.replicaNodeEpoch });
      setTimeout(() => call.write({ partitions: [], errorCode: 0, errorMessage: '' }), 5);
    });
  });
  return { port, seen };
}

/** How long a condition decided over loopback gRPC may take, and how often it is looked at. */
const conditionWaitMs = 5_000;
const conditionPollMs = 5;

async function until(what: string, condition: () => boolean): Promise<void> {
  await waitUntil(what, condition, conditionWaitMs, conditionPollMs);
}

describe('replica fetcher', () => {
  it('opens a new stream quoting the new node epoch once this node registers again', async () => {
    harness = await managerHarness();
    const { port, seen } = await recordingLeader();
    const partitions = [{ leader, leaderEpoch: 1, partitionEpoch: 1, replicas: [leader, thisNode], isr: [leader, thisNode] }];
    harness.manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, partitions })], { otherNodes: [leader], ports: { [leader]: port } }));
    await settled(harness.manager);
    let nodeEpoch = 5n;
    const quiet = { info: () => undefined, warn: () => undefined };
    fetchers = new ReplicaFetchers({ manager: harness.manager, streams: new GrpcReplicaStreams(), nodeEpoch: () => nodeEpoch, scheduler: harness.scheduler, nowMs: () => harness.clock.nowMs(), logger: quiet });
    fetchers.sync();

    await until('two requests quoting node epoch 5', () => seen.filter((request) => request.nodeEpoch === 5n).length >= 2);
    nodeEpoch = 6n;
    await until('a request quoting node epoch 6', () => seen.some((request) => request.nodeEpoch === 6n));

    const first = seen.find((request) => request.nodeEpoch === 6n) as SeenRequest;
    const firstStream = (seen[0] as SeenRequest).stream;
    expect(first.stream).not.toBe(firstStream);
    // Nothing quotes the old epoch after the new one was first sent.
    expect(seen.slice(seen.indexOf(first)).every((request) => request.nodeEpoch === 6n)).toBe(true);
    expect(seen.filter((request) => request.stream === firstStream).every((request) => request.nodeEpoch === 5n)).toBe(true);
  });
});

/** What a scripted leader is sent: each request, with the partitions it lists and removes. */
interface ScriptedRequest {
  readonly fetchOffsets: bigint[];
  readonly lastFetchedEpochs: number[];
  readonly removed: number;
}

type Answer = (partition: { fetchOffset: bigint; lastFetchedEpoch: number }) => Partial<internalV1.ReplicaFetchPartitionResult> | undefined;

/**
 * A leader that keeps orders-0's fetch state as a session does and answers every fetch at once
 * with `answer(state)` for it (nothing when that says undefined, or when the partition is not in
 * the session).
 */
async function scriptedLeader(answer: Answer): Promise<{ port: number; requests: ScriptedRequest[] }> {
  const requests: ScriptedRequest[] = [];
  const port = await serveReplicaFetch((call) => {
    let state: { fetchOffset: bigint; lastFetchedEpoch: number } | undefined;
    call.on('data', (request: internalV1.ReplicaFetchRequest) => {
      requests.push({ fetchOffsets: request.partitions.map((p) => p.fetchOffset), lastFetchedEpochs: request.partitions.map((p) => p.lastFetchedEpoch), removed: request.removedPartitions.length });
      if (request.removedPartitions.length > 0) state = undefined;
      const listed = request.partitions[0];
      if (listed !== undefined) state = { fetchOffset: listed.fetchOffset, lastFetchedEpoch: listed.lastFetchedEpoch };
      const result = state === undefined ? undefined : answer(state);
      const partitions: internalV1.ReplicaFetchPartitionResult[] =
        result === undefined
          ? []
          : [{ topic: 'orders', topicId: ordersId, partition: 0, highWatermark: 0n, logStartOffset: 0n, recordBatches: Buffer.alloc(0), divergingEpoch: undefined, leaderLogEnd: undefined, errorCode: 0, errorMessage: '', ...result }];
      // An error answer drops the partition from the session, as the real leader does.
      if (result?.errorCode !== undefined && result.errorCode !== 0) state = undefined;
      call.write({ partitions, errorCode: 0, errorMessage: '' });
    });
  });
  return { port, requests };
}

/** orders-0 followed by this node from a scripted leader at `port`; the fetcher counts truncation outcomes and keeps its log lines. */
async function follower(port: number): Promise<{ partition: HostedPartition; outcomes: DivergenceOutcome[]; warnings: string[]; start(): void }> {
  harness = await managerHarness();
  const partitions = [{ leader, leaderEpoch: 1, partitionEpoch: 1, replicas: [leader, thisNode], isr: [leader, thisNode] }];
  harness.manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, partitions })], { otherNodes: [leader], ports: { [leader]: port } }));
  await settled(harness.manager);
  const partition = harness.manager.partition(ordersId, 0);
  if (partition === undefined) throw new Error('orders-0 not hosted');
  const outcomes: DivergenceOutcome[] = [];
  const warnings: string[] = [];
  const logger = { info: () => undefined, warn: (_fields: object, message: string) => void warnings.push(message) };
  return {
    partition,
    outcomes,
    warnings,
    start() {
      fetchers = new ReplicaFetchers({ manager: harness.manager, streams: new GrpcReplicaStreams(), nodeEpoch: () => 5n, scheduler: harness.scheduler, nowMs: () => harness.clock.nowMs(), logger, onDivergence: (outcome) => outcomes.push(outcome) });
      fetchers.sync();
    },
  };
}

/** Batches of two records each, at offsets from..to-1, in `epoch`, as a leader would have sent them. */
async function fetchedBatches(from: number, to: number, epoch: number): Promise<Buffer> {
  const batches: Buffer[] = [];
  for (let offset = from; offset < to; offset += 2) {
    const records = [0, 1].map((i) => ({ key: null, value: Buffer.from(`v${offset + i}`), timestamp: 1n }));
    batches.push(await buildBatch(records, { baseOffset: BigInt(offset), partitionLeaderEpoch: epoch }));
  }
  return Buffer.concat(batches);
}

describe('replica fetcher back-off', () => {
  it('acts on a divergence once; the same answer again for the same log backs off, doubling, warns once and is counted', async () => {
    // However often it is asked, this leader says epoch 0 ends at 10: where this log already ends.
    const { port, requests } = await scriptedLeader(() => ({ divergingEpoch: { epoch: 0, endOffset: 10n } }));
    const { partition, outcomes, warnings, start } = await follower(port);
    await partition.appendAsFollower(await fetchedBatches(0, 10, 0));
    start();

    // Acted on once (the cut changes nothing), then the repeat makes the partition back off.
    await until('two divergence outcomes', () => outcomes.length === 2);
    expect(outcomes).toEqual(['truncated', 'repeated']);
    expect(partition.onlineLog?.logEndOffset).toBe(10n);
    // Each back-off ends on the scheduler only: one more answer per period, each period twice the last.
    let backoffMs = replicaFetchBackoffMsInitial;
    for (let round = 0; round < 4; round += 1) {
      const asked = requests.length;
      await harness.scheduler.advance(backoffMs - 1);
      await harness.scheduler.advance(1);
      await until(`${3 + round} divergence outcomes`, () => outcomes.length === 3 + round);
      // The paused partition was added again (after being removed from the session) and answered once more.
      expect(requests.slice(asked).filter((request) => request.fetchOffsets.length > 0)).toHaveLength(1);
      backoffMs *= 2;
    }
    expect(outcomes.filter((outcome) => outcome === 'repeated')).toHaveLength(5);
    expect(outcomes.filter((outcome) => outcome === 'truncated')).toHaveLength(1);
    // Rate-limited: one warning for the lot, well inside the log interval.
    expect(warnings.filter((message) => message.includes('the same answer again'))).toHaveLength(1);
    expect(requests.length).toBeLessThan(20);
  });

  it('truncates to the leader log end when it fetches past it, starting over there when that lies below its own log start', async () => {
    // The leader's log ends at 50; this replica was left empty at 100 (an unclean election took the rest).
    const { port, requests } = await scriptedLeader((state) =>
      state.fetchOffset > 50n ? { errorCode: errorCodeToProto('OFFSET_OUT_OF_RANGE'), errorMessage: 'past the end', leaderLogEnd: { $case: 'logEndOffset', value: 50n } } : undefined,
    );
    const { partition, outcomes, start } = await follower(port);
    await partition.restartAsFollower(100n);
    start();

    await until('a fetch from offset 50', () => requests.some((request) => request.fetchOffsets.includes(50n)));
    expect([partition.onlineLog?.logStartOffset, partition.onlineLog?.logEndOffset]).toEqual([50n, 50n]);
    expect(outcomes).toEqual(['truncated']);
  });

  it('keeps what agrees below the leader log end when it fetches past it', async () => {
    const { port, requests } = await scriptedLeader((state) =>
      state.fetchOffset > 4n ? { errorCode: errorCodeToProto('OFFSET_OUT_OF_RANGE'), errorMessage: 'past the end', leaderLogEnd: { $case: 'logEndOffset', value: 4n } } : undefined,
    );
    const { partition, start } = await follower(port);
    // No epoch history to compare (batches without a leader epoch): only the offsets say where it parts.
    await partition.appendAsFollower(await fetchedBatches(0, 10, -1));
    start();
    await until('a fetch from offset 4', () => requests.some((request) => request.fetchOffsets.includes(4n)));
    expect(partition.onlineLog?.logEndOffset).toBe(4n);
  });

  it('drops a partition whose records the log refuses from the session, and fetches it again after the back-off', async () => {
    // Records that do not continue this log (they start at 6, the log ends at 0).
    const misplaced = await fetchedBatches(6, 8, 1);
    const { port, requests } = await scriptedLeader(() => ({ recordBatches: misplaced }));
    const { warnings, start } = await follower(port);
    start();

    await until('a warning that fetched records could not be applied', () => warnings.includes('could not apply fetched records'));
    const asked = requests.length;
    await harness.scheduler.advance(replicaFetchBackoffMsInitial);
    await until('a new fetch from offset 0', () => requests.slice(asked).some((request) => request.fetchOffsets.includes(0n)));
    // The next request first tells the leader to forget the partition (so a leader would stop
    // sending the same batch every round to a session that goes on), then adds it again.
    const retried = requests.slice(asked).find((request) => request.fetchOffsets.includes(0n));
    expect(retried?.removed).toBe(1);
    expect(requests.slice(0, asked).filter((request) => request.fetchOffsets.length > 0)).toHaveLength(1);
    await until('a second such warning', () => warnings.filter((message) => message === 'could not apply fetched records').length === 2);
  });
});
