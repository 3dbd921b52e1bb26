/**
 * Reassignment RPCs and preferred-leader balancing of a real controller process, with storage
 * nodes played by the test over ControllerService: a move is started, listed and watched until
 * the leader's AlterPartition completes it, and the balancing timer then gives leadership to
 * the preferred replica of a reordered replica set.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataWatcher } from '@starlane/metadata-rpc';
import { systemClock } from '@starlane/node-io';
import { internalV1, v1 } from '@starlane/proto';
import { killAll, launchApp, unaryCall, type UnaryMethod } from '@starlane/testing';

jest.setTimeout(60_000);

/** Calls without a deadline. */
const call = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(client, method, request, Infinity);

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'starlane-controller-reassignment-'));
});
afterAll(async () => {
  await killAll();
  await rm(scratch, { recursive: true, force: true });
});

it('starts, lists and watches a move to completion, then balances leadership to the preferred replica', async () => {
  // Sessions long enough that the nodes played here need no heartbeats after joining.
  const controller = launchApp('controller', [`--data-dir=${join(scratch, 'metadata')}`, '--node-session-timeout-ms=60000', '--leader-imbalance-check-interval-ms=200']);
  const address = (await controller.ready).grpcAddress;
  const admin = new v1.AdminServiceClient(address, grpc.credentials.createInsecure());
  const internal = new internalV1.ControllerServiceClient(address, grpc.credentials.createInsecure());
  const watcher = new MetadataWatcher({ controllers: [address], nodeId: -1, logger: { info: () => undefined, warn: () => undefined }, clock: systemClock });
  watcher.start();
  try {
    const epochs = new Map<number, bigint>();
    for (const nodeId of [1, 2, 3, 4]) {
      const registered = await call<internalV1.RegisterNodeRequest, internalV1.RegisterNodeResponse>(internal, internal.registerNode, {
        nodeId,
        incarnationId: `incarnation-${nodeId}`,
        clusterId: '',
        host: '127.0.0.1',
        port: 9000 + nodeId,
        rack: '',
        logDirs: [],
        cleanShutdown: true,
        softwareVersion: 'test',
      });
      expect(registered.errorCode).toBe(v1.ErrorCode.NONE);
      epochs.set(nodeId, registered.nodeEpoch);
      const beat = await call<internalV1.HeartbeatRequest, internalV1.HeartbeatResponse>(internal, internal.heartbeat, { nodeId, nodeEpoch: registered.nodeEpoch, metadataVersion: registered.nodeEpoch, offlineLogDirIds: [], reassignmentProgress: [] });
      expect(beat.fenced).toBe(false);
    }
    const created = await call<v1.CreateTopicsRequest, v1.CreateTopicsResponse>(admin, admin.createTopics, {
      topics: [{ name: 'moving', partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas: [1, 2, 3] }], configs: {} }],
      validateOnly: false,
      timeoutMs: 0,
    });
    const topicId = defined(created.results[0]).topicId;

    const started = await call<v1.ReassignPartitionsRequest, v1.ReassignPartitionsResponse>(admin, admin.reassignPartitions, { partitions: [{ topic: 'moving', partition: 0, targetReplicas: [2, 3, 4], cancel: false }], validateOnly: false, timeoutMs: 0 });
    expect(started.results).toEqual([{ topic: 'moving', partition: 0, errorCode: v1.ErrorCode.NONE, errorMessage: '' }]);
    const listed = await call<v1.ListReassignmentsRequest, v1.ListReassignmentsResponse>(admin, admin.listReassignments, { partitions: [{ topic: 'moving', partition: 0 }] });
    expect(listed.reassignments).toEqual([
      expect.objectContaining({ topic: 'moving', partition: 0, state: v1.ReassignmentState.IN_PROGRESS, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1], progress: [{ nodeId: 4, inSync: false, lagOffsets: -1n }] }),
    ]);

    // The watch: the status now, then COMPLETED once the leader admits node 4, then the end.
    const messages: v1.WatchReassignmentsResponse[] = [];
    const stream = admin.watchReassignments({ partitions: [], progressIntervalMs: 0 });
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (message: v1.WatchReassignmentsResponse) => messages.push(message));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));

    // Node 2 is first in the replicas now and in sync: the balancing timer makes it the leader.
    const balancedDuringMove = defined(await watcher.waitFor((image) => image.topics.get('moving')?.partitions[0]?.leader === 2, 10_000));
    const before = defined(balancedDuringMove.topics.get('moving')?.partitions[0]);
    expect(before).toMatchObject({ replicas: [2, 3, 4, 1], isr: [1, 2, 3] });
    const admitted = await call<internalV1.AlterPartitionRequest, internalV1.AlterPartitionResponse>(internal, internal.alterPartition, {
      nodeId: 2,
      nodeEpoch: defined(epochs.get(2)),
      partitions: [
        {
          topicId,
          topic: 'moving',
          partition: 0,
          leaderEpoch: before.leaderEpoch,
          partitionEpoch: before.partitionEpoch,
          newIsr: [1, 2, 3, 4].map((nodeId) => ({ nodeId, nodeEpoch: defined(epochs.get(nodeId)) })),
        },
      ],
    });
    expect(admitted.partitions[0]).toMatchObject({ errorCode: v1.ErrorCode.NONE, state: { leaderId: 2, replicas: [2, 3, 4], isr: [2, 3, 4] } });
    await ended;
    expect(messages.map((message) => message.reassignments.map((status) => [status.state, status.replicas]))).toEqual([
      [[v1.ReassignmentState.IN_PROGRESS, [2, 3, 4, 1]]],
      [[v1.ReassignmentState.COMPLETED, [2, 3, 4]]],
    ]);
    expect((await call<v1.ListReassignmentsRequest, v1.ListReassignmentsResponse>(admin, admin.listReassignments, { partitions: [] })).reassignments).toEqual([]);

    // Reordering completes at once and keeps the leader; the timer moves leadership again.
    await call<v1.ReassignPartitionsRequest, v1.ReassignPartitionsResponse>(admin, admin.reassignPartitions, { partitions: [{ topic: 'moving', partition: 0, targetReplicas: [4, 2, 3], cancel: false }], validateOnly: false, timeoutMs: 0 });
    const balanced = await watcher.waitFor((image) => image.topics.get('moving')?.partitions[0]?.leader === 4, 10_000);
    expect(balanced?.topics.get('moving')?.partitions[0]).toMatchObject({ leader: 4, replicas: [4, 2, 3], isr: [2, 3, 4] });
  } finally {
    watcher.close();
    admin.close();
    internal.close();
  }
});
