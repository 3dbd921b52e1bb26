import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noLeader, type MetadataImage } from '@starlane/metadata';
import { MetadataWatcher } from '@starlane/metadata-rpc';
import { systemClock } from '@starlane/node-io';
import { internalV1, v1 } from '@starlane/proto';
import { killAll, launchApp, unaryCall, type AppProcess, type UnaryMethod } from '@starlane/testing';

jest.setTimeout(60_000);

/** Calls without a deadline. */
const call = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(client, method, request, Infinity);

const quiet = { info: () => undefined, warn: () => undefined };

/** The value, failing the test where it is missing. */
function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new TypeError('expected a value');
  return value;
}


class Clients {
  readonly admin: v1.AdminServiceClient;
  readonly controller: internalV1.ControllerServiceClient;
  constructor(readonly address: string) {
    this.admin = new v1.AdminServiceClient(address, grpc.credentials.createInsecure());
    this.controller = new internalV1.ControllerServiceClient(address, grpc.credentials.createInsecure());
  }
  createTopics(topics: Partial<v1.NewTopic>[], validateOnly = false): Promise<v1.CreateTopicsResponse> {
    const full = topics.map((topic) => ({ name: '', partitionCount: -1, replicationFactor: -1, replicaAssignments: [], configs: {}, ...topic }));
    return call(this.admin, this.admin.createTopics, { topics: full, validateOnly, timeoutMs: 0 });
  }
  describeTopics(topics: string[], includeConfigs = false): Promise<v1.DescribeTopicsResponse> {
    return call(this.admin, this.admin.describeTopics, { topics, topicIds: [], includeConfigs });
  }
  describeCluster(): Promise<v1.DescribeClusterResponse> {
    return call(this.admin, this.admin.describeCluster, {});
  }
  register(nodeId: number, incarnationId: string, clusterId = ''): Promise<internalV1.RegisterNodeResponse> {
    return call(this.controller, this.controller.registerNode, {
      nodeId,
      incarnationId,
      clusterId,
      host: '127.0.0.1',
      port: 9000 + nodeId,
      rack: '',
      logDirs: [],
      cleanShutdown: true,
      softwareVersion: 'test',
    });
  }
  heartbeat(nodeId: number, nodeEpoch: bigint, metadataVersion: bigint): Promise<internalV1.HeartbeatResponse> {
    return call(this.controller, this.controller.heartbeat, { nodeId, nodeEpoch, metadataVersion, offlineLogDirIds: [], reassignmentProgress: [] });
  }
  listTopics(pageSize: number, pageToken: string): Promise<v1.ListTopicsResponse> {
    return call(this.admin, this.admin.listTopics, { includeInternal: false, pageSize, pageToken });
  }
  allocateProducerIds(count: number): Promise<internalV1.AllocateProducerIdsResponse> {
    return call(this.controller, this.controller.allocateProducerIds, { count });
  }
  close(): void {
    this.admin.close();
    this.controller.close();
  }
}

describe('controller process', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'starlane-controller-'));
  });
  afterAll(async () => {
    await killAll();
    await rm(scratch, { recursive: true, force: true });
  });

  const start = (dataDir: string): AppProcess =>
    launchApp('controller', [`--data-dir=${dataDir}`, '--node-heartbeat-interval-ms=100', '--node-session-timeout-ms=800']);

  it('registers nodes, creates and describes topics, streams metadata, fences a silent node, and keeps it all across a restart', async () => {
    const dataDir = join(scratch, 'metadata');
    let controller = start(dataDir);
    let clients = new Clients((await controller.ready).grpcAddress);

    // A node registers, starts fenced, and is unfenced once it has seen its own registration.
    const registered = await clients.register(1, 'incarnation-a');
    expect(registered).toMatchObject({ errorCode: v1.ErrorCode.NONE, heartbeatIntervalMs: 100, sessionTimeoutMs: 800 });
    expect(registered.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const nodeEpoch = registered.nodeEpoch;
    await expect(clients.heartbeat(1, nodeEpoch, nodeEpoch - 1n)).resolves.toMatchObject({ fenced: true, errorCode: v1.ErrorCode.NONE });
    await expect(clients.heartbeat(1, nodeEpoch, nodeEpoch)).resolves.toMatchObject({ fenced: false, errorCode: v1.ErrorCode.NONE });
    // Heartbeats continue as a node's would, until the node "dies" below.
    const beating = setInterval(() => void clients.heartbeat(1, nodeEpoch, nodeEpoch).catch(() => undefined), 100);

    // Registration failures answer in error_code.
    await expect(clients.register(1, 'incarnation-b')).resolves.toMatchObject({ errorCode: v1.ErrorCode.DUPLICATE_BROKER_REGISTRATION });
    await expect(clients.register(2, 'incarnation-c', 'AAAAAAAAAAAAAAAAAAAAAA')).resolves.toMatchObject({ errorCode: v1.ErrorCode.INCONSISTENT_CLUSTER_ID });
    await expect(clients.register(1, 'incarnation-a')).resolves.toMatchObject({ errorCode: v1.ErrorCode.NONE, nodeEpoch });
    await expect(clients.heartbeat(1, nodeEpoch + 100n, nodeEpoch)).resolves.toMatchObject({ errorCode: v1.ErrorCode.STALE_BROKER_EPOCH });
    await expect(clients.heartbeat(7, 1n, 0n)).resolves.toMatchObject({ errorCode: v1.ErrorCode.BROKER_ID_NOT_REGISTERED });

    // The watch stream: a snapshot first, then a delta for every change.
    const messages: internalV1.WatchMetadataResponse[] = [];
    const stream = clients.controller.watchMetadata({ nodeId: -1 });
    const gotDelta = new Promise<void>((resolve) => {
      stream.on('data', (message: internalV1.WatchMetadataResponse) => {
        messages.push(message);
        if (message.update?.$case === 'delta' && message.update.value.createdTopics.length > 0) resolve();
      });
    });
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));

    const created = await clients.createTopics([{ name: 'orders', partitionCount: 3, configs: { 'retention.ms': '3600000' } }]);
    expect(created.results).toEqual([
      { name: 'orders', topicId: expect.stringMatching(/^[0-9a-f-]{36}$/), partitionCount: 3, replicationFactor: 1, errorCode: v1.ErrorCode.NONE, errorMessage: '' },
    ]);
    const ordersId = defined(created.results[0]).topicId;
    await gotDelta;
    const [first, ...rest] = messages;
    expect(first?.update?.$case).toBe('snapshot');
    expect(first?.update?.$case === 'snapshot' && first.update.value.lastChunk).toBe(true);
    const delta = rest.map((message) => message.update).find((update) => update?.$case === 'delta' && update.value.createdTopics.length > 0);
    expect(delta?.$case === 'delta' && delta.value.createdTopics.map((topic) => [topic.name, topic.topicId, topic.partitions.length])).toEqual([['orders', ordersId, 3]]);
    stream.cancel();

    const described = await clients.describeTopics(['orders'], true);
    expect(described.topics[0]).toMatchObject({ name: 'orders', topicId: ordersId, errorCode: v1.ErrorCode.NONE });
    expect(defined(described.topics[0]).partitions.map((p) => [p.partition, p.leaderId, p.replicas, p.isr])).toEqual([
      [0, 1, [1], [1]],
      [1, 1, [1], [1]],
      [2, 1, [1], [1]],
    ]);
    expect(defined(described.topics[0]).configs['retention.ms']).toEqual({ value: '3600000', source: v1.ConfigSource.TOPIC });
    expect(defined(described.topics[0]).configs['cleanup.policy']).toEqual({ value: 'delete', source: v1.ConfigSource.DEFAULT });

    // Bad inputs fail their own item, with a code and a reason.
    const bad = await clients.createTopics([
      { name: 'bad name!' },
      { name: 'negative', partitionCount: -2 },
      { name: 'zero', partitionCount: 0 },
      { name: 'orders' },
      { name: 'too-replicated', replicationFactor: 2 },
      { name: 'badly-configured', configs: { 'retention.ms': 'forever' } },
      { name: 'fine', partitionCount: -1 },
    ]);
    expect(bad.results.map((result) => [result.name, v1.ErrorCode[result.errorCode], result.partitionCount])).toEqual([
      ['bad name!', 'INVALID_TOPIC_EXCEPTION', -1],
      ['negative', 'INVALID_PARTITIONS', -1],
      ['zero', 'INVALID_PARTITIONS', -1],
      ['orders', 'TOPIC_ALREADY_EXISTS', -1],
      ['too-replicated', 'INVALID_REPLICATION_FACTOR', -1],
      ['badly-configured', 'INVALID_CONFIG', -1],
      ['fine', 'NONE', 1],
    ]);
    expect(defined(bad.results[5]).errorMessage).toMatch(/retention\.ms must be an integer/);
    const unknown = await clients.describeTopics(['missing']);
    expect(unknown.topics[0]).toMatchObject({ name: 'missing', errorCode: v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    const malformed = await clients.listTopics(0, '!!').catch((error: grpc.ServiceError) => error);
    expect(malformed).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((malformed as grpc.ServiceError).metadata.get('starlane-error-code')).toEqual(['INVALID_REQUEST']);
    const firstPage = await clients.listTopics(1, '');
    expect(firstPage.topics.map((topic) => topic.name)).toEqual(['fine']);
    const secondPage = await clients.listTopics(1, firstPage.nextPageToken);
    expect([secondPage.topics.map((topic) => topic.name), secondPage.nextPageToken]).toEqual([['orders'], '']);

    const block1 = await clients.allocateProducerIds(10);
    const block2 = await clients.allocateProducerIds(10);
    expect([block1.count, block2.firstProducerId - block1.firstProducerId]).toEqual([10, 10n]);

    // The node goes silent: it is fenced and its partitions lose their leader.
    const watcher = new MetadataWatcher({ controllers: [clients.address], nodeId: -1, logger: quiet, clock: systemClock });
    watcher.start();
    clearInterval(beating);
    const fenced = await watcher.waitFor(
      (image: MetadataImage) => image.nodes.get(1)?.state === 'fenced' && image.topics.get('orders')?.partitions.every((p) => p.leader === noLeader) === true,
      10_000,
    );
    expect(fenced).toBeDefined();
    watcher.close();
    const leaderless = defined((await clients.describeTopics(['orders'])).topics[0]).partitions;
    expect(leaderless.map((p) => [p.leaderId, p.leaderEpoch, p.isr, p.offlineReplicas])).toEqual([
      [-1, 1, [1], [1]],
      [-1, 1, [1], [1]],
      [-1, 1, [1], [1]],
    ]);
    const before = await clients.describeCluster();
    expect(before.nodes.map((node) => [node.nodeId, node.state])).toEqual([[1, v1.NodeState.FENCED]]);

    // Stop and start again on the same directory: everything recorded is still there. A watch
    // stream open at the stop is ended with NOT_CONTROLLER rather than holding the stop up.
    const open = clients.controller.watchMetadata({ nodeId: 1 });
    const last = new Promise<internalV1.WatchMetadataResponse | undefined>((resolve) => {
      let latest: internalV1.WatchMetadataResponse | undefined;
      open.on('data', (message: internalV1.WatchMetadataResponse) => (latest = message));
      open.on('end', () => resolve(latest));
      open.on('error', () => resolve(latest));
    });
    await new Promise<void>((resolve) => open.once('data', () => resolve()));
    const stopped = await controller.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(stopped.elapsedMs).toBeLessThan(2000);
    expect(await last).toMatchObject({ errorCode: v1.ErrorCode.NOT_CONTROLLER, errorMessage: 'the controller is stopping' });
    clients.close();
    controller = start(dataDir);
    clients = new Clients((await controller.ready).grpcAddress);
    const after = await clients.describeCluster();
    expect(after.clusterId).toBe(before.clusterId);
    expect(after.metadataVersion).toBeGreaterThan(before.metadataVersion);
    expect(after.nodes.map((node) => [node.nodeId, node.state])).toEqual([[1, v1.NodeState.FENCED]]);
    const again = await clients.describeTopics(['orders', 'fine'], true);
    expect(again.topics.map((topic) => [topic.name, topic.topicId, topic.partitions.length])).toEqual([
      ['orders', ordersId, 3],
      ['fine', defined(bad.results[6]).topicId, 1],
    ]);
    expect(defined(again.topics[0]).configs['retention.ms']).toEqual({ value: '3600000', source: v1.ConfigSource.TOPIC });
    const block3 = await clients.allocateProducerIds(10);
    expect(block3.firstProducerId).toBeGreaterThanOrEqual(block2.firstProducerId + 10n);

    // The node's registration survived too: it heartbeats with its epoch and leads again, in a new epoch.
    await expect(clients.heartbeat(1, nodeEpoch, after.metadataVersion)).resolves.toMatchObject({ fenced: false, errorCode: v1.ErrorCode.NONE });
    const back = defined((await clients.describeTopics(['orders'])).topics[0]).partitions;
    expect(back.map((p) => [p.leaderId, p.leaderEpoch])).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    clients.close();
    expect((await controller.stop('SIGTERM')).code).toBe(0);
  });
});
