/**
 * The storage node as a real process beside a real controller: it registers, hosts the
 * partitions the controller assigns it, and serves appends and reads over gRPC, surviving a
 * clean stop and a SIGKILL with its acknowledged data.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataImage } from '@starlane/metadata';
import { MetadataWatcher, errorCodeFromProto } from '@starlane/metadata-rpc';
import { systemClock } from '@starlane/node-io';
import { internalV1, v1 } from '@starlane/proto';
import { BatchField, buildBatch, crc32c, readBatch, scanBatches } from '@starlane/record-batch';
import { appBundle, freePort, killAll, startApp, unaryCall, type AppProcess, type UnaryMethod } from '@starlane/testing';
import { readLinuxBootId } from './boot-id';

jest.setTimeout(120_000);

const quiet = { info: () => undefined, warn: () => undefined };

/** Calls without a deadline. */
const call = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(client, method, request, Infinity);

function batchOf(tag: string, count: number, options: { valueBytes?: number; timestamp?: bigint } = {}): Promise<Buffer> {
  return buildBatch(
    Array.from({ length: count }, (_, i) => ({
      key: null,
      value: options.valueBytes === undefined ? Buffer.from(`${tag}-${i}`) : Buffer.alloc(options.valueBytes, 1),
      timestamp: (options.timestamp ?? 1_700_000_000_000n) + BigInt(i),
    })),
  );
}

async function valuesOf(batches: Buffer): Promise<string[]> {
  const values: string[] = [];
  for (const slice of scanBatches(batches, { batchBytesMax: 1 << 30 }).batches) {
    for (const record of (await readBatch(slice.bytes)).records) values.push(record.value?.toString() ?? '<null>');
  }
  return values;
}

const codeOf = (result: { errorCode: v1.ErrorCode }): string => errorCodeFromProto(result.errorCode) ?? 'NONE';

describe('storage node process', () => {
  let scratch: string;
  let controller: AppProcess;
  let controllerAddress: string;
  let admin: v1.AdminServiceClient;
  let watcher: MetadataWatcher;
  const nodes = new Map<number, { process: AppProcess; args: string[]; address: string; dataDir: string }>();
  let storage: internalV1.StorageNodeServiceClient;

  function launchNode(nodeId: number): AppProcess {
    const node = nodes.get(nodeId);
    if (node === undefined) throw new Error(`no node ${nodeId}`);
    node.process = startApp({ name: `storage-node-${nodeId}`, command: process.execPath, args: [appBundle('storage-node'), ...node.args], readyTimeoutMs: 20_000 });
    return node.process;
  }

  async function addNode(nodeId: number): Promise<void> {
    const port = await freePort();
    const dataDir = join(scratch, `storage-node-${nodeId}`);
    const args = [`--grpc-port=${port}`, '--metrics-port=0', '--listen-host=127.0.0.1', `--node-id=${nodeId}`, `--controllers=${controllerAddress}`, `--data-dir=${dataDir}`];
    nodes.set(nodeId, { process: undefined as unknown as AppProcess, args, address: `127.0.0.1:${port}`, dataDir });
    await launchNode(nodeId).ready;
  }

  function node(nodeId: number): { process: AppProcess; address: string; dataDir: string } {
    const found = nodes.get(nodeId);
    if (found === undefined) throw new Error(`no node ${nodeId}`);
    return found;
  }

  async function waitFor(predicate: (image: MetadataImage) => boolean, what: string, timeoutMs = 30_000): Promise<MetadataImage> {
    const image = await watcher.waitFor(predicate, timeoutMs);
    if (image === undefined) throw new Error(`timed out waiting for ${what}`);
    return image;
  }

  /** Waits until every partition of `topic` is led by an active node; returns its topic id. */
  async function leadersOf(topic: string, minEpoch = 0): Promise<{ topicId: string; epochs: number[] }> {
    const image = await waitFor((current) => {
      const state = current.topics.get(topic);
      return state !== undefined && state.partitions.every((partition) => current.nodes.get(partition.leader)?.state === 'active' && partition.leaderEpoch >= minEpoch);
    }, `leaders of ${topic}`);
    const state = image.topics.get(topic);
    if (state === undefined) throw new Error(`no topic ${topic}`);
    return { topicId: state.topicId, epochs: state.partitions.map((partition) => partition.leaderEpoch) };
  }

  async function createTopic(name: string, options: Partial<v1.NewTopic> = {}): Promise<{ topicId: string; epochs: number[] }> {
    const response = await call<v1.CreateTopicsRequest, v1.CreateTopicsResponse>(admin, admin.createTopics, {
      // Explicit placement (replicaAssignments) leaves the counts unset.
      topics: [{ name, partitionCount: 0, replicationFactor: 0, replicaAssignments: [], configs: {}, ...options }],
      validateOnly: false,
      timeoutMs: 0,
    });
    expect(codeOf(response.results[0] as v1.CreateTopicResult)).toBe('NONE');
    return leadersOf(name);
  }

  function append(client: internalV1.StorageNodeServiceClient, partitions: internalV1.AppendPartitionData[], acks = v1.Acks.ALL): Promise<internalV1.AppendResponse> {
    return call<internalV1.AppendRequest, internalV1.AppendResponse>(client, client.append, { acks, timeoutMs: 5000, partitions });
  }

  function readAt(client: internalV1.StorageNodeServiceClient, partition: Partial<internalV1.ReadPartition>, wait: { maxWaitMs?: number; minBytes?: number } = {}): Promise<v1.FetchPartitionResult> {
    return call<internalV1.ReadRequest, internalV1.ReadResponse>(client, client.read, {
      maxWaitMs: wait.maxWaitMs ?? 0,
      minBytes: wait.minBytes ?? 0,
      maxBytes: 0,
      isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
      partitions: [{ topic: '', topicId: '', partition: 0, offset: 0n, maxBytes: 0, currentLeaderEpoch: -1, ...partition }],
    }).then((response) => response.partitions[0] as v1.FetchPartitionResult);
  }

  /**
   * Retries `attempt` while it answers a retriable routing code: the node learns metadata a
   * moment after the test's own watcher does, and no event of the node's says when.
   */
  async function settled<T extends { errorCode: v1.ErrorCode }>(attempt: () => Promise<T>, attemptsMax = 100): Promise<T> {
    for (let tries = 1; ; tries++) {
      const result = await attempt();
      const code = codeOf(result);
      if (tries >= attemptsMax || !['NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_LEADER_EPOCH', 'UNKNOWN_TOPIC_ID', 'LEADER_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH'].includes(code)) return result;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function readAll(client: internalV1.StorageNodeServiceClient, topic: string, topicId: string, partition = 0): Promise<string[]> {
    const values: string[] = [];
    let offset = 0n;
    for (;;) {
      const result = await settled(() => readAt(client, { topic, topicId, partition, offset }));
      expect(codeOf(result)).toBe('NONE');
      if (result.payload?.$case !== 'recordBatches') return values;
      values.push(...(await valuesOf(result.payload.value)));
      offset = result.nextOffset;
    }
  }

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'starlane-storage-node-'));
    controller = startApp({
      name: 'controller',
      command: process.execPath,
      args: [appBundle('controller'), '--grpc-port=0', '--metrics-port=0', '--listen-host=127.0.0.1', `--data-dir=${join(scratch, 'controller')}`, '--node-heartbeat-interval-ms=100', '--node-session-timeout-ms=1500'],
    });
    controllerAddress = (await controller.ready).grpcAddress;
    admin = new v1.AdminServiceClient(controllerAddress, grpc.credentials.createInsecure());
    watcher = new MetadataWatcher({ controllers: [controllerAddress], nodeId: -1, logger: quiet, clock: systemClock });
    watcher.start();
    await Promise.all([addNode(1), addNode(2)]);
    await waitFor((image) => [1, 2].every((id) => image.nodes.get(id)?.state === 'active'), 'both storage nodes active');
    storage = new internalV1.StorageNodeServiceClient(node(1).address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    storage?.close();
    admin?.close();
    watcher?.close();
    await killAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it('registers with the controller and stores the cluster id with its data', async () => {
    const image = watcher.current();
    expect(image.nodes.get(1)).toMatchObject({ host: '127.0.0.1', port: Number(node(1).address.split(':')[1]), state: 'active' });
    const meta = JSON.parse(await readFile(join(node(1).dataDir, 'meta.json'), 'utf8')) as { clusterId: string; nodeId: number };
    expect(meta).toMatchObject({ nodeId: 1, clusterId: image.clusterId });
  });

  it('registers with the port it was given when started on --grpc-port=0', async () => {
    const dataDir = join(scratch, 'storage-node-7');
    const args = ['--grpc-port=0', '--metrics-port=0', '--listen-host=127.0.0.1', '--node-id=7', `--controllers=${controllerAddress}`, `--data-dir=${dataDir}`];
    const picked = startApp({ name: 'storage-node-7', command: process.execPath, args: [appBundle('storage-node'), ...args], readyTimeoutMs: 20_000 });
    const ready = await picked.ready;
    const port = Number(ready.grpcAddress.split(':').at(-1));
    const image = await waitFor((current) => current.nodes.get(7)?.state === 'active', 'node 7 active');
    expect(image.nodes.get(7)).toMatchObject({ host: '127.0.0.1', port });
    const stopped = await picked.stop('SIGTERM');
    expect(stopped.code).toBe(0);
  });

  it('appends over a stream and reads back over a long-poll that an append wakes at once', async () => {
    const { topicId } = await createTopic('orders', { replicaAssignments: [{ partition: 0, replicas: [1] }] });
    const stream = storage.appendStream();
    const answers = new Map<bigint, internalV1.AppendStreamResponse>();
    const allAnswered = new Promise<void>((resolve) =>
      stream.on('data', (response: internalV1.AppendStreamResponse) => {
        answers.set(response.requestId, response);
        if (answers.size === 20) resolve();
      }),
    );
    const first = await settled(() => append(storage, [{ topic: 'orders', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: Buffer.alloc(0) }]).then((response) => response.partitions[0] as v1.ProducePartitionResult));
    expect(codeOf(first)).toBe('INVALID_REQUEST');
    for (let id = 0; id < 20; id++) {
      stream.write({ requestId: BigInt(id), acks: v1.Acks.LEADER, timeoutMs: 0, partitions: [{ topic: 'orders', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: await batchOf(`m${id}`, 2) }] });
    }
    await allAnswered;
    expect([...answers.keys()].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 20 }, (_, id) => BigInt(id)));
    for (const [id, response] of answers) expect(response.partitions[0]).toMatchObject({ baseOffset: id * 2n, logStartOffset: 0n, errorCode: v1.ErrorCode.NONE });
    stream.end();

    expect(await readAll(storage, 'orders', topicId)).toEqual(Array.from({ length: 40 }, (_, i) => `m${Math.floor(i / 2)}-${i % 2}`));

    // A read at the end waits; the next append answers it long before max_wait_ms.
    const waiting = readAt(storage, { topic: 'orders', topicId, offset: 40n }, { maxWaitMs: 20_000, minBytes: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const appendedAt = performance.now();
    await append(storage, [{ topic: 'orders', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: await batchOf('late', 1) }]);
    const woken = await waiting;
    expect(performance.now() - appendedAt).toBeLessThan(1000);
    expect(woken).toMatchObject({ highWatermark: 41n, nextOffset: 41n, errorCode: v1.ErrorCode.NONE });
    expect(await valuesOf(woken.payload?.$case === 'recordBatches' ? woken.payload.value : Buffer.alloc(0))).toEqual(['late-0']);

    const offsets = await call<internalV1.ListOffsetsRequest, internalV1.ListOffsetsResponse>(storage, storage.listOffsets, {
      isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
      partitions: [v1.OffsetBoundary.EARLIEST, v1.OffsetBoundary.LATEST].map((boundary) => ({ topic: 'orders', topicId, partition: 0, currentLeaderEpoch: -1, spec: { spec: { $case: 'boundary' as const, value: boundary } } })),
    });
    expect(offsets.partitions.map((result) => result.offset)).toEqual([0n, 41n]);

    const metrics = await (await fetch(`http://${(await node(1).process.ready).metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/^starlane_storage_partitions\{status="online"\} [1-9]/m);
    expect(metrics).toMatch(/^starlane_storage_bytes_in_total\{topic="orders"\} [1-9]/m);
    expect(metrics).toMatch(/^starlane_storage_records_in_total\{topic="orders"\} 41$/m);
    expect(metrics).toMatch(/^starlane_storage_bytes_out_total\{topic="orders"\} [1-9]/m);
    expect(metrics).toMatch(/^starlane_storage_leader_count 1$/m);
    expect(metrics).toMatch(/^starlane_rpc_request_duration_seconds_count\{method="starlane.internal.v1.StorageNodeService\/AppendStream"\} 20$/m);
    expect(metrics).toMatch(/^starlane_rpc_request_duration_seconds_count\{method="starlane.internal.v1.StorageNodeService\/ListOffsets"\} 1$/m);
  });

  it('refuses every bad input with its code and keeps serving', async () => {
    const { topicId, epochs } = await createTopic('checked', { replicaAssignments: [{ partition: 0, replicas: [1] }], configs: { 'max.message.bytes': '2000' } });
    const elsewhere = await createTopic('elsewhere', { replicaAssignments: [{ partition: 0, replicas: [2] }] });
    const epoch = epochs[0] ?? 0;
    const good = await batchOf('ok', 1);
    const flipped = await batchOf('flip', 2);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0xff, flipped.length - 1);
    const claims = await batchOf('claims', 2);
    claims.writeInt32BE(9, BatchField.lastOffsetDelta);
    claims.writeUInt32BE(crc32c(claims.subarray(BatchField.attributes)), BatchField.crc);
    const base = { topic: 'checked', topicId, partition: 0, currentLeaderEpoch: epoch, recordBatches: good };
    await settled(() => append(storage, [base]).then((response) => response.partitions[0] as v1.ProducePartitionResult));

    const cases: [Partial<internalV1.AppendPartitionData>, string][] = [
      [{ topicId: '00000000-0000-4000-8000-000000000000', topic: 'nothing' }, 'UNKNOWN_TOPIC_ID'],
      [{ topicId: elsewhere.topicId }, 'INCONSISTENT_TOPIC_ID'],
      [{ partition: 5 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ topic: 'elsewhere', topicId: elsewhere.topicId, currentLeaderEpoch: -1 }, 'NOT_LEADER_OR_FOLLOWER'],
      [{ currentLeaderEpoch: epoch + 1 }, 'UNKNOWN_LEADER_EPOCH'],
      // FENCED_LEADER_EPOCH needs a leader change: see the restart below.
      [{ recordBatches: await batchOf('big', 1, { valueBytes: 4000 }) }, 'MESSAGE_TOO_LARGE'],
      [{ recordBatches: flipped }, 'CORRUPT_MESSAGE'],
      [{ recordBatches: good.subarray(0, good.length - 3) }, 'CORRUPT_MESSAGE'],
      [{ recordBatches: claims }, 'INVALID_RECORD'],
    ];
    const results = await Promise.all(cases.map(([overrides]) => append(storage, [{ ...base, ...overrides }]).then((response) => response.partitions[0] as v1.ProducePartitionResult)));
    expect(results.map((result) => [result.topic, codeOf(result), result.baseOffset])).toEqual(cases.map(([overrides, code]) => [overrides.topic ?? 'checked', code, -1n]));
    // A partition named twice in one request is refused as a whole.
    await expect(append(storage, [base, base])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    // Request-level: bad acks on the unary call is a gRPC status with the code in the trailer.
    const refused = await append(storage, [base], 9 as v1.Acks).catch((error: grpc.ServiceError) => error);
    expect(refused).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((refused as grpc.ServiceError).metadata.get('starlane-error-code')).toEqual(['INVALID_REQUIRED_ACKS']);

    // Reads past the end and below the start.
    const past = await readAt(storage, { topic: 'checked', topicId, offset: 99n, currentLeaderEpoch: epoch });
    expect(past).toMatchObject({ errorCode: v1.ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 1n, logStartOffset: 0n });
    expect(codeOf(await readAt(storage, { topic: 'checked', topicId, offset: -5n }))).toBe('OFFSET_OUT_OF_RANGE');

    // Bytes that are no protobuf message at all, on unary calls and on a stream.
    const raw = new grpc.Client(node(1).address, grpc.credentials.createInsecure());
    const identity = (bytes: Buffer): Buffer => bytes;
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x99]);
    for (const method of ['Append', 'Read', 'ListOffsets', 'OffsetsForLeaderEpoch']) {
      const status = await new Promise<grpc.ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(`/starlane.internal.v1.StorageNodeService/${method}`, identity, identity, garbage, (error) => resolve(error)),
      );
      expect(status?.code).toBeDefined();
    }
    const badStream = raw.makeBidiStreamRequest('/starlane.internal.v1.StorageNodeService/AppendStream', identity, identity);
    const streamClosed = new Promise<void>((resolve) => {
      badStream.on('error', () => resolve());
      badStream.on('end', () => resolve());
      badStream.on('data', () => undefined);
    });
    badStream.write(garbage);
    badStream.end();
    await streamClosed;
    raw.close();

    // Still serving.
    expect(codeOf((await append(storage, [base])).partitions[0] as v1.ProducePartitionResult)).toBe('NONE');
    expect(node(1).process.child.exitCode).toBeNull();
  });

  it('applies a topic config change and deletes a deleted topic', async () => {
    const { topicId } = await createTopic('configured', { replicaAssignments: [{ partition: 0, replicas: [1] }] });
    const mid = await batchOf('mid', 1, { valueBytes: 3000 });
    const appendMid = (): Promise<v1.ProducePartitionResult> =>
      append(storage, [{ topic: 'configured', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: mid }]).then((response) => response.partitions[0] as v1.ProducePartitionResult);
    expect(codeOf(await settled(appendMid))).toBe('NONE');
    const altered = await call<v1.AlterTopicConfigsRequest, v1.AlterTopicConfigsResponse>(admin, admin.alterTopicConfigs, {
      topics: [{ topic: 'configured', changes: [{ name: 'max.message.bytes', operation: v1.ConfigOperation.SET, value: '1000' }] }],
      validateOnly: false,
    });
    expect(codeOf(altered.results[0] as v1.AlterTopicConfigsResult)).toBe('NONE');
    await waitFor((image) => image.topics.get('configured')?.configs['max.message.bytes'] === '1000', 'the config change');
    // The node applies it a moment after the watcher here sees it.
    let result = await appendMid();
    for (let tries = 0; codeOf(result) === 'NONE' && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      result = await appendMid();
    }
    expect(codeOf(result)).toBe('MESSAGE_TOO_LARGE');

    const directoryName = `configured-0.${topicId}`;
    expect(await readdir(join(node(1).dataDir, 'partitions'))).toContain(directoryName);
    await call<v1.DeleteTopicsRequest, v1.DeleteTopicsResponse>(admin, admin.deleteTopics, { topics: ['configured'], topicIds: [], timeoutMs: 0 });
    await waitFor((image) => !image.topics.has('configured'), 'the deletion');
    let code = codeOf(await appendMid());
    for (let tries = 0; code !== 'UNKNOWN_TOPIC_ID' && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      code = codeOf(await appendMid());
    }
    expect(code).toBe('UNKNOWN_TOPIC_ID');
  });

  async function restartNode1(signal: NodeJS.Signals): Promise<void> {
    storage.close();
    const stopped = await node(1).process.stop(signal, 15_000);
    expect(signal === 'SIGKILL' ? stopped.signal : stopped.code).toBe(signal === 'SIGKILL' ? 'SIGKILL' : 0);
    await launchNode(1).ready;
    storage = new internalV1.StorageNodeServiceClient(node(1).address, grpc.credentials.createInsecure());
  }

  it('keeps its data across a clean stop and restart', async () => {
    const { topicId, epochs } = await createTopic('durable', { replicaAssignments: [{ partition: 0, replicas: [1] }] });
    const result = await settled(() => append(storage, [{ topic: 'durable', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: Buffer.alloc(0) }]).then((response) => response.partitions[0] as v1.ProducePartitionResult));
    expect(codeOf(result)).toBe('INVALID_REQUEST');
    for (const tag of ['a', 'b', 'c']) await append(storage, [{ topic: 'durable', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: await batchOf(tag, 2) }]);

    await restartNode1('SIGTERM');
    expect(node(1).process.stdoutLines().length).toBeGreaterThan(0);
    const after = await leadersOf('durable', (epochs[0] ?? 0) + 1);
    expect(await readAll(storage, 'durable', topicId)).toEqual(['a-0', 'a-1', 'b-0', 'b-1', 'c-0', 'c-1']);
    // Appends go on in the new leader epoch, which is stamped into their batches; the old
    // epoch is fenced.
    const newEpoch = after.epochs[0] ?? 0;
    const oldEpoch = epochs[0] ?? 0;
    expect(newEpoch).toBeGreaterThan(oldEpoch);
    const d = await batchOf('d', 1);
    const appended = await settled(() => append(storage, [{ topic: 'durable', topicId, partition: 0, currentLeaderEpoch: newEpoch, recordBatches: d }]).then((response) => response.partitions[0] as v1.ProducePartitionResult));
    expect(appended).toMatchObject({ baseOffset: 6n, errorCode: v1.ErrorCode.NONE });
    const fenced = await append(storage, [{ topic: 'durable', topicId, partition: 0, currentLeaderEpoch: oldEpoch, recordBatches: await batchOf('e', 1) }]);
    expect(codeOf(fenced.partitions[0] as v1.ProducePartitionResult)).toBe('FENCED_LEADER_EPOCH');
    const all = await readAt(storage, { topic: 'durable', topicId, offset: 0n, currentLeaderEpoch: newEpoch });
    const stamped: number[] = [];
    for (const slice of scanBatches(all.payload?.$case === 'recordBatches' ? all.payload.value : Buffer.alloc(0), { batchBytesMax: 1 << 30 }).batches) stamped.push(slice.header.partitionLeaderEpoch);
    expect(stamped).toEqual([oldEpoch, oldEpoch, oldEpoch, newEpoch]);
    const restartedLines = node(1).process.stdoutLines().map((line) => JSON.parse(line) as { msg?: string; event?: string; cleanShutdown?: boolean });
    expect(restartedLines.find((line) => line.event === 'data-directory')?.cleanShutdown).toBe(true);
  });

  it('keeps data acknowledged right before a SIGKILL', async () => {
    const { topicId } = await createTopic('crashy', { replicaAssignments: [{ partition: 0, replicas: [1] }] });
    await settled(() => append(storage, [{ topic: 'crashy', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: Buffer.alloc(0) }]).then((response) => response.partitions[0] as v1.ProducePartitionResult));
    const stream = storage.appendStream();
    stream.on('error', () => undefined);
    const acked: bigint[] = [];
    const count = 200;
    const allAcked = new Promise<void>((resolve) =>
      stream.on('data', (response: internalV1.AppendStreamResponse) => {
        if (response.partitions[0]?.errorCode === v1.ErrorCode.NONE) acked.push(response.requestId);
        if (acked.length === count) resolve();
      }),
    );
    for (let id = 0; id < count; id++) {
      stream.write({ requestId: BigInt(id), acks: v1.Acks.ALL, timeoutMs: 0, partitions: [{ topic: 'crashy', topicId, partition: 0, currentLeaderEpoch: -1, recordBatches: await batchOf(`k${id}`, 1, { valueBytes: 2000 }) }] });
    }
    await allAcked;
    // The last acknowledgement has just arrived: kill at once.
    await restartNode1('SIGKILL');
    const restartedLines = node(1).process.stdoutLines().map((line) => JSON.parse(line) as { event?: string; cleanShutdown?: boolean });
    // Killed within this boot: the page cache kept every write, so the node reports nothing
    // lost (clean_shutdown) where it can read the boot id, and a possible loss where it cannot.
    const bootKnown = (await readLinuxBootId()) !== undefined;
    expect(restartedLines.find((line) => line.event === 'data-directory')?.cleanShutdown).toBe(bootKnown);
    await leadersOf('crashy');
    const result = await settled(() => readAt(storage, { topic: 'crashy', topicId, offset: BigInt(count) }));
    expect(result).toMatchObject({ highWatermark: BigInt(count), errorCode: v1.ErrorCode.NONE });
    let offset = 0n;
    let records = 0;
    while (offset < BigInt(count)) {
      const read = await readAt(storage, { topic: 'crashy', topicId, offset });
      expect(codeOf(read)).toBe('NONE');
      records += (await valuesOf(read.payload?.$case === 'recordBatches' ? read.payload.value : Buffer.alloc(0))).length;
      offset = read.nextOffset;
    }
    expect(records).toBe(count);
  });

  it('stops within the contract deadline while gateways hold streams open', async () => {
    const reads = storage.readStream();
    reads.on('error', () => undefined);
    reads.on('data', () => undefined);
    const { topicId } = await leadersOf('durable');
    reads.write({ requestId: 1n, maxWaitMs: 30_000, minBytes: 1, maxBytes: 0, isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED, partitions: [{ topic: 'durable', topicId, partition: 0, offset: 7n, maxBytes: 0, currentLeaderEpoch: -1 }] });
    const appends = storage.appendStream();
    appends.on('error', () => undefined);
    appends.on('data', () => undefined);
    const stopped = await node(1).process.stop('SIGTERM', 15_000);
    expect(stopped.code).toBe(0);
    expect(stopped.elapsedMs).toBeLessThan(5000);
    await launchNode(1).ready;
  });
});
