import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { MemoryMetadataStore, MetadataController, seededRandom } from '@starlane/metadata';
import { v1 } from '@starlane/proto';
import { createLogger } from '@starlane/service-host';
import { balancePreferredLeaders } from './active-term';
import { adminRequestItemsMax, adminService } from './admin-service';
import { MetadataStreams } from './controller-service';

const logger = createLogger('controller', 'silent');
const startedAtMs = 1_700_000_000_000;

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}

/** A server stream whose connection takes messages only while `accepting` is set. */
class StreamDouble extends EventEmitter {
  readonly written: v1.WatchReassignmentsResponse[] = [];
  readonly errors: Partial<grpc.StatusObject>[] = [];
  accepting = true;
  ended = false;
  constructor(readonly request: v1.WatchReassignmentsRequest) {
    super();
    this.on('error', (error: Partial<grpc.StatusObject>) => this.errors.push(error));
  }
  write(message: v1.WatchReassignmentsResponse): boolean {
    this.written.push(message);
    return this.accepting;
  }
  end(): void {
    this.ended = true;
  }
  /** Each message as [topic, partition, state, replicas] per status. */
  summary(): [string, number, v1.ReassignmentState, number[]][][] {
    return this.written.map((message) => message.reassignments.map((status) => [status.topic, status.partition, status.state, status.replicas]));
  }
}

interface Setup {
  readonly controller: MetadataController;
  readonly streams: MetadataStreams;
  readonly handlers: Partial<v1.AdminServiceServer>;
  readonly epochs: Map<number, number>;
  readonly topicId: string;
}

/** A controller with active nodes 1-4 and topic `moving` (one partition on [1, 2, 3]) and `still` (on [1, 2]). */
async function setup(): Promise<Setup> {
  const controller = await MetadataController.open({
    store: new MemoryMetadataStore(),
    clock: { nowMs: () => startedAtMs },
    random: seededRandom(1),
    controllerId: 0,
    host: '127.0.0.1',
    port: 0,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 1000,
    initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
  });
  const epochs = new Map<number, number>();
  for (const nodeId of [1, 2, 3, 4]) {
    const { nodeEpoch } = await controller.registerNode({ nodeId, incarnationId: `incarnation-${nodeId}`, clusterId: '', host: '127.0.0.1', port: 9000 + nodeId, rack: '', cleanShutdown: true });
    await controller.heartbeat({ nodeId, nodeEpoch, metadataVersion: nodeEpoch });
    epochs.set(nodeId, nodeEpoch);
  }
  const topic = (name: string, replicas: number[]) => ({ name, partitionCount: 0, replicationFactor: 0, replicaAssignments: [{ partition: 0, replicas }], configs: {} });
  const created = await controller.createTopics({ topics: [topic('moving', [1, 2, 3]), topic('still', [1, 2])], validateOnly: false });
  const streams = new MetadataStreams();
  return { controller, streams, handlers: adminService(controller, 0, logger, streams, async () => [{ controllerId: 0, host: '127.0.0.1', port: 9091, active: true }]), epochs, topicId: defined(created[0]).topicId };
}

/** Calls a unary handler; resolves with the response or rejects with the status. */
function unary<Req, Res>(handler: grpc.handleUnaryCall<Req, Res> | undefined, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    defined(handler)({ request } as grpc.ServerUnaryCall<Req, Res>, (error, response) => (error ? reject(error) : resolve(defined(response))));
  });
}

const move = (topic: string, targetReplicas: number[]): v1.PartitionReassignment => ({ topic, partition: 0, targetReplicas, cancel: false });
const cancel = (topic: string): v1.PartitionReassignment => ({ topic, partition: 0, targetReplicas: [], cancel: true });

function reassign(handlers: Partial<v1.AdminServiceServer>, partitions: v1.PartitionReassignment[], validateOnly = false): Promise<v1.ReassignPartitionsResponse> {
  return unary(handlers.reassignPartitions, { partitions, validateOnly, timeoutMs: 0 });
}

function list(handlers: Partial<v1.AdminServiceServer>, partitions: v1.TopicPartition[] = []): Promise<v1.ListReassignmentsResponse> {
  return unary(handlers.listReassignments, { partitions });
}

function watch(handlers: Partial<v1.AdminServiceServer>, partitions: v1.TopicPartition[] = []): StreamDouble {
  const stream = new StreamDouble({ partitions, progressIntervalMs: 0 });
  defined(handlers.watchReassignments)(stream as unknown as grpc.ServerWritableStream<v1.WatchReassignmentsRequest, v1.WatchReassignmentsResponse>);
  return stream;
}

/** The leader of `moving` admits node 4 to the ISR: the move completes. */
async function admitNode4(setup: Setup): Promise<void> {
  const partition = defined(setup.controller.image().topics.get('moving')?.partitions[0]);
  const [result] = await setup.controller.alterPartition({
    nodeId: partition.leader,
    nodeEpoch: defined(setup.epochs.get(partition.leader)),
    partitions: [{ topicId: setup.topicId, partition: 0, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch, newIsr: [...partition.isr, 4].map((nodeId) => ({ nodeId })) }],
  });
  expect(result?.error?.code ?? 'NEW_LEADER_ELECTED').toBe('NEW_LEADER_ELECTED');
}

describe('ReassignPartitions and ListReassignments', () => {
  it('starts a move, lists it with its progress, and answers per partition with catalogue codes', async () => {
    const { handlers, controller } = await setup();
    const response = await reassign(handlers, [move('moving', [2, 3, 4]), move('absent', [1]), cancel('still')]);
    expect(response.results.map((result) => [result.topic, result.errorCode])).toEqual([
      ['moving', v1.ErrorCode.NONE],
      ['absent', v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['still', v1.ErrorCode.NO_REASSIGNMENT_IN_PROGRESS],
    ]);
    expect(response.results[0]?.errorMessage).toBe('');
    expect(response.results[1]?.errorMessage).toContain('absent');
    expect((await reassign(handlers, [move('still', [1, 1])])).results[0]?.errorCode).toBe(v1.ErrorCode.INVALID_REPLICA_ASSIGNMENT);

    const listed = await list(handlers);
    expect(listed.reassignments).toEqual([
      {
        topic: 'moving',
        partition: 0,
        state: v1.ReassignmentState.IN_PROGRESS,
        replicas: [2, 3, 4, 1],
        addingReplicas: [4],
        removingReplicas: [1],
        progress: [{ nodeId: 4, inSync: false, lagOffsets: -1n }],
        startedAtMs: BigInt(startedAtMs),
      },
    ]);
    expect((await list(handlers, [{ topic: 'still', partition: 0 }])).reassignments).toEqual([]);
    expect(controller.listReassignments()).toHaveLength(1);

    const cancelled = await reassign(handlers, [cancel('moving')]);
    expect(cancelled.results.map((result) => result.errorCode)).toEqual([v1.ErrorCode.NONE]);
    expect((await list(handlers)).reassignments).toEqual([]);
  });

  it('changes nothing with validate_only', async () => {
    const { handlers } = await setup();
    expect((await reassign(handlers, [move('moving', [2, 3, 4])], true)).results[0]?.errorCode).toBe(v1.ErrorCode.NONE);
    expect((await reassign(handlers, [move('moving', [2, 3, 9])], true)).results[0]?.errorCode).toBe(v1.ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect((await list(handlers)).reassignments).toEqual([]);
  });

  it(`refuses a request naming more than ${adminRequestItemsMax} partitions as a whole`, async () => {
    const { handlers } = await setup();
    const many = Array.from({ length: adminRequestItemsMax + 1 }, (_, partition) => ({ topic: 'moving', partition }));
    const refused = await list(handlers, many).catch((error: Partial<grpc.StatusObject>) => error);
    expect((refused as Partial<grpc.StatusObject>).metadata?.get('starlane-error-code')).toEqual(['INVALID_REQUEST']);
  });
});

describe('DescribeCluster', () => {
  it('lists the controllers it is given by id, this one active and the others standby', async () => {
    const { controller, streams } = await setup();
    const listed = async () => [
      { controllerId: 2, host: '10.0.0.2', port: 9091, active: false },
      { controllerId: 0, host: '10.0.0.0', port: 9091, active: true },
    ];
    const described = await unary(adminService(controller, 0, logger, streams, listed).describeCluster, {});
    expect(described.controllerId).toBe(0);
    expect(described.controllers).toEqual([
      { controllerId: 0, host: '10.0.0.0', port: 9091, role: v1.ControllerRole.ACTIVE },
      { controllerId: 2, host: '10.0.0.2', port: 9091, role: v1.ControllerRole.STANDBY },
    ]);
    expect(described.nodes.map((node) => node.nodeId)).toEqual([1, 2, 3, 4]);
  });
});

describe('settings that would make a topic unusable', () => {
  it('are refused per item, with INVALID_CONFIG or INVALID_REPLICA_ASSIGNMENT and a reason naming the topic, the value and the replication factor', async () => {
    const { handlers, controller } = await setup();
    const created = await unary(handlers.createTopics, {
      topics: [
        { name: 'too-strict', partitionCount: 1, replicationFactor: 2, replicaAssignments: [], configs: { 'min.insync.replicas': '3' } },
        { name: 'fine', partitionCount: 1, replicationFactor: 3, replicaAssignments: [], configs: { 'min.insync.replicas': '3' } },
      ],
      validateOnly: false,
      timeoutMs: 0,
    });
    expect(created.results.map((result) => [result.name, result.errorCode])).toEqual([
      ['too-strict', v1.ErrorCode.INVALID_CONFIG],
      ['fine', v1.ErrorCode.NONE],
    ]);
    expect(created.results[0]?.errorMessage).toBe('topic too-strict: min.insync.replicas 3 is more than the replication factor 2: acks=all writes would always fail and other writes would never become visible to consumers');

    const altered = await unary(handlers.alterTopicConfigs, {
      topics: [
        { topic: 'still', changes: [{ name: 'min.insync.replicas', operation: v1.ConfigOperation.SET, value: '3' }] },
        { topic: 'moving', changes: [{ name: 'min.insync.replicas', operation: v1.ConfigOperation.SET, value: '3' }] },
      ],
      validateOnly: false,
    });
    expect(altered.results.map((result) => [result.topic, result.errorCode])).toEqual([
      ['still', v1.ErrorCode.INVALID_CONFIG],
      ['moving', v1.ErrorCode.NONE],
    ]);
    expect(altered.results[0]?.errorMessage).toMatch(/^topic still: min\.insync\.replicas 3 is more than the replication factor 2/);
    expect(controller.image().topics.get('still')?.configs).toEqual({});

    const moved = await reassign(handlers, [move('moving', [2, 4])]);
    expect(moved.results[0]?.errorCode).toBe(v1.ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(moved.results[0]?.errorMessage).toMatch(/^partition 0 of topic moving: with the target \[2, 4\], min\.insync\.replicas 3 is more than the replication factor 2/);
    expect(controller.image().topics.get('moving')?.partitions[0]?.replicas).toEqual([1, 2, 3]);
  });
});

describe('WatchReassignments', () => {
  it('sends the watched statuses, each change, and COMPLETED when the move completes, then ends', async () => {
    const setupResult = await setup();
    const { handlers } = setupResult;
    await reassign(handlers, [move('moving', [2, 3, 4])]);
    const stream = watch(handlers);
    expect(stream.summary()).toEqual([[['moving', 0, v1.ReassignmentState.IN_PROGRESS, [2, 3, 4, 1]]]]);
    expect(stream.written[0]?.reassignments[0]?.progress).toEqual([{ nodeId: 4, inSync: false, lagOffsets: -1n }]);

    // A change elsewhere sends nothing.
    await reassign(handlers, [move('still', [2, 1])]);
    expect(stream.written).toHaveLength(1);

    await admitNode4(setupResult);
    expect(stream.summary()).toEqual([[['moving', 0, v1.ReassignmentState.IN_PROGRESS, [2, 3, 4, 1]]], [['moving', 0, v1.ReassignmentState.COMPLETED, [2, 3, 4]]]]);
    expect(stream.written[1]?.reassignments[0]).toMatchObject({ addingReplicas: [], removingReplicas: [], progress: [], startedAtMs: BigInt(startedAtMs) });
    expect(stream.ended).toBe(true);
    expect(setupResult.streams.size).toBe(0);
  });

  it('reports CANCELLED when a move is cancelled', async () => {
    const { handlers } = await setup();
    await reassign(handlers, [move('moving', [2, 3, 4])]);
    const stream = watch(handlers, [{ topic: 'moving', partition: 0 }]);
    await reassign(handlers, [cancel('moving')]);
    expect(stream.summary().at(-1)).toEqual([['moving', 0, v1.ReassignmentState.CANCELLED, [1, 2, 3]]]);
    expect(stream.ended).toBe(true);
  });

  it('ends at once, after an empty first message, when nothing watched is being reassigned', async () => {
    const { handlers } = await setup();
    const stream = watch(handlers, [{ topic: 'moving', partition: 0 }]);
    expect(stream.written).toEqual([{ reassignments: [] }]);
    expect(stream.ended).toBe(true);
  });

  it('sends only the latest status of each changed partition once a full connection drains', async () => {
    const setupResult = await setup();
    const { handlers } = setupResult;
    await reassign(handlers, [move('moving', [2, 3, 4])]);
    const stream = watch(handlers);
    stream.accepting = false;
    // A new target while the connection is full: sent (and the connection still full) ...
    await reassign(handlers, [move('moving', [3, 2, 4])]);
    expect(stream.written).toHaveLength(2);
    // ... then two more changes wait, and only the last status goes out on drain.
    await reassign(handlers, [move('moving', [4, 2, 3])]);
    await admitNode4(setupResult);
    expect(stream.written).toHaveLength(2);
    stream.accepting = true;
    stream.emit('drain');
    expect(stream.summary().slice(1)).toEqual([[['moving', 0, v1.ReassignmentState.IN_PROGRESS, [3, 2, 4, 1]]], [['moving', 0, v1.ReassignmentState.COMPLETED, [4, 2, 3]]]]);
    expect(stream.ended).toBe(true);
  });

  it('ends with NOT_CONTROLLER when the controller stops being active', async () => {
    const { handlers, streams } = await setup();
    await reassign(handlers, [move('moving', [2, 3, 4])]);
    const stream = watch(handlers);
    streams.endAll('stopping');
    expect(stream.errors.map((error) => error.metadata?.get('starlane-error-code'))).toEqual([['NOT_CONTROLLER']]);
    expect(streams.size).toBe(0);
  });
});

describe('preferred-leader balancing', () => {
  it('moves leadership back to the preferred replica once it is first in the replicas and in sync', async () => {
    const { controller, handlers } = await setup();
    expect(await balancePreferredLeaders(controller, logger)).toBe(0);
    // Reordering the replicas completes at once and keeps the leader; node 2 is now preferred.
    await reassign(handlers, [move('moving', [2, 1, 3])]);
    expect(controller.image().topics.get('moving')?.partitions[0]).toMatchObject({ leader: 1, replicas: [2, 1, 3] });
    expect(await balancePreferredLeaders(controller, logger)).toBe(1);
    expect(controller.image().topics.get('moving')?.partitions[0]).toMatchObject({ leader: 2, replicas: [2, 1, 3] });
    expect(await balancePreferredLeaders(controller, logger)).toBe(0);
  });
});
