/**
 * The gRPC face of the storage node, in process over loopback: streams keep per-partition
 * order and answer by request_id, bounds and request-level errors hold, and a stop winds
 * streams down.
 */
import * as grpc from '@grpc/grpc-js';
import { errorCodeFromProto } from '@starlane/metadata-rpc';
import { internalV1, v1 } from '@starlane/proto';
import { ReplicaFetchSession } from '@starlane/replica';
import { errorCodeMetadataKey, withUnimplemented } from '@starlane/service-host';
import { batch, image, managerHarness, recordsOf, settled, topic, type ManagerHarness } from '../test/fixtures';
import { StorageService, appendStreamInflightRequestsMax } from './storage-service';
import { storageNodeServiceDefinition } from './wire-codec';

const ordersId = '5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42';

let harness: ManagerHarness;
let server: grpc.Server;
let service: StorageService;
let client: internalV1.StorageNodeServiceClient;

beforeEach(async () => {
  harness = await managerHarness();
  harness.manager.apply(image(1, [topic({ name: 'orders', topicId: ordersId, partitions: [{ leaderEpoch: 2 }, { leaderEpoch: 2 }] })]));
  await settled(harness.manager);
  const { manager, scheduler } = harness;
  service = new StorageService({ manager, openFetchSession: () => new ReplicaFetchSession(manager, scheduler) }, scheduler, { warn: () => undefined, error: () => undefined });
  server = new grpc.Server();
  server.addService(storageNodeServiceDefinition, withUnimplemented(storageNodeServiceDefinition, service.handlers()));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  client = new internalV1.StorageNodeServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterEach(async () => {
  client.close();
  server.forceShutdown();
  await harness.cleanUp();
});

function appendData(records: Buffer, partition = 0): internalV1.AppendPartitionData {
  return { topic: 'orders', topicId: ordersId, partition, currentLeaderEpoch: 2, recordBatches: records };
}

function appendUnary(records: Buffer): Promise<internalV1.AppendResponse> {
  return new Promise((resolve, reject) =>
    client.append({ acks: v1.Acks.ALL, timeoutMs: 0, partitions: [appendData(records)] }, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

function readPartition(offset: bigint, partition = 0): internalV1.ReadPartition {
  return { topic: 'orders', topicId: ordersId, partition, offset, maxBytes: 0, currentLeaderEpoch: 2 };
}

/** Collects a stream's responses; `next(n)` resolves once n have arrived. */
function collect<Req, T>(stream: grpc.ClientDuplexStream<Req, T>): { responses: T[]; next(count: number): Promise<T[]>; ended: Promise<void> } {
  const responses: T[] = [];
  const waiters: { count: number; resolve: (value: T[]) => void }[] = [];
  stream.on('data', (response: T) => {
    responses.push(response);
    for (const waiter of [...waiters]) {
      if (responses.length < waiter.count) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(responses.slice(0, waiter.count));
    }
  });
  const ended = new Promise<void>((resolve) => {
    stream.on('end', () => resolve());
    stream.on('error', () => resolve());
  });
  return {
    responses,
    next: (count) => (responses.length >= count ? Promise.resolve(responses.slice(0, count)) : new Promise((resolve) => waiters.push({ count, resolve }))),
    ended,
  };
}

describe('AppendStream', () => {
  it('keeps stream order per partition with more requests in flight than the bound, answering each by its request_id', async () => {
    const stream = client.appendStream();
    const seen = collect(stream);
    const count = appendStreamInflightRequestsMax + 72;
    const records = await batch('r', 2);
    for (let id = 0; id < count; id++) {
      stream.write({ requestId: BigInt(id), acks: v1.Acks.ALL, timeoutMs: 0, partitions: [appendData(Buffer.from(records), id % 2)] });
    }
    const responses = await seen.next(count);
    stream.end();
    await seen.ended;
    const byId = new Map(responses.map((response) => [Number(response.requestId), response]));
    expect(byId.size).toBe(count);
    for (let id = 0; id < count; id++) {
      const result = byId.get(id)?.partitions[0];
      expect({ id, code: result?.errorCode, baseOffset: result?.baseOffset }).toEqual({ id, code: v1.ErrorCode.NONE, baseOffset: BigInt(Math.floor(id / 2) * 2) });
    }
  });

  it('answers request-level errors on the stream, tagged, and goes on', async () => {
    const stream = client.appendStream();
    const seen = collect(stream);
    stream.write({ requestId: 1n, acks: 9 as v1.Acks, timeoutMs: 0, partitions: [appendData(await batch('x'))] });
    stream.write({ requestId: 2n, acks: v1.Acks.LEADER, timeoutMs: 0, partitions: [appendData(await batch('x')), appendData(await batch('y'))] });
    stream.write({ requestId: 3n, acks: v1.Acks.LEADER, timeoutMs: 0, partitions: [appendData(await batch('z'))] });
    const responses = await seen.next(3);
    const byId = new Map(responses.map((response) => [response.requestId, response]));
    expect(errorCodeFromProto(byId.get(1n)?.errorCode ?? 0)).toBe('INVALID_REQUIRED_ACKS');
    expect(errorCodeFromProto(byId.get(2n)?.errorCode ?? 0)).toBe('INVALID_REQUEST');
    expect(byId.get(3n)?.partitions[0]?.baseOffset).toBe(0n);
    stream.end();
    await seen.ended;
  });
});

describe('unary calls', () => {
  it('refuses a bad Append with a gRPC status carrying the error code', async () => {
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      client.append({ acks: 42 as v1.Acks, timeoutMs: 0, partitions: [] }, (failure) => resolve(failure as grpc.ServiceError)),
    );
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.metadata.get(errorCodeMetadataKey)).toEqual(['INVALID_REQUIRED_ACKS']);
  });

  it('appends and reads back', async () => {
    const appended = await new Promise<internalV1.AppendResponse>((resolve, reject) =>
      client.append({ acks: v1.Acks.ALL, timeoutMs: 0, partitions: [appendData(Buffer.alloc(0)), appendData(Buffer.alloc(0), 1)] }, (error, response) => (error ? reject(error) : resolve(response))),
    );
    expect(appended.partitions.map((result) => errorCodeFromProto(result.errorCode))).toEqual(['INVALID_REQUEST', 'INVALID_REQUEST']);
    await appendUnary(await batch('u', 3));
    const read = await new Promise<internalV1.ReadResponse>((resolve, reject) =>
      client.read({ maxWaitMs: 0, minBytes: 0, maxBytes: 0, isolationLevel: v1.IsolationLevel.UNSPECIFIED, partitions: [readPartition(0n)] }, (error, response) => (error ? reject(error) : resolve(response))),
    );
    const payload = read.partitions[0]?.payload;
    expect(payload?.$case).toBe('recordBatches');
    expect((await recordsOf(payload?.$case === 'recordBatches' ? payload.value : Buffer.alloc(0))).map((record) => [record.value, record.epoch])).toEqual([
      ['u-0', 2],
      ['u-1', 2],
      ['u-2', 2],
    ]);
  });

  it('ends a ReplicaFetch stream from an unregistered node with a session error', async () => {
    const stream = client.replicaFetch();
    const responses: internalV1.ReplicaFetchResponse[] = [];
    stream.on('data', (response: internalV1.ReplicaFetchResponse) => responses.push(response));
    const ended = new Promise<void>((resolve) => stream.on('end', resolve));
    stream.write({ replicaNodeId: 42, replicaNodeEpoch: 1n, maxWaitMs: 0, minBytes: 1, maxBytes: 0, partitions: [], removedPartitions: [] });
    await ended;
    expect(responses.map((response) => errorCodeFromProto(response.errorCode))).toEqual(['BROKER_ID_NOT_REGISTERED']);
  });
});

describe('ReadStream', () => {
  const readRequest = (requestId: bigint, offset: bigint, waitMs: number): internalV1.ReadStreamRequest => ({
    requestId,
    maxWaitMs: waitMs,
    minBytes: 1,
    maxBytes: 0,
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    partitions: [readPartition(offset)],
  });

  it('answers out of order: a waiting read after an immediate one, woken by an append', async () => {
    await appendUnary(await batch('first'));
    const stream = client.readStream();
    const seen = collect(stream);
    stream.write(readRequest(1n, 1n, 30_000));
    stream.write(readRequest(2n, 0n, 30_000));
    const [immediate] = await seen.next(1);
    expect(immediate?.requestId).toBe(2n);
    // Request id 1 is still unanswered: using it again is refused.
    stream.write(readRequest(1n, 0n, 0));
    const [, refused] = await seen.next(2);
    expect(refused?.requestId).toBe(1n);
    expect(errorCodeFromProto(refused?.errorCode ?? 0)).toBe('INVALID_REQUEST');

    const appends = client.appendStream();
    const appended = collect(appends);
    appends.write({ requestId: 7n, acks: v1.Acks.LEADER, timeoutMs: 0, partitions: [appendData(await batch('second'))] });
    const [, , woken] = await seen.next(3);
    expect(woken?.requestId).toBe(1n);
    expect(woken?.partitions[0]?.nextOffset).toBe(2n);
    appends.end();
    stream.end();
    await Promise.all([seen.ended, appended.ended]);
  });

  it('on stop answers waiting reads at once and ends the streams', async () => {
    const reads = client.readStream();
    const seenReads = collect(reads);
    reads.write(readRequest(5n, 0n, 30_000));
    const appends = client.appendStream();
    const seenAppends = collect(appends);
    appends.write({ requestId: 1n, acks: v1.Acks.LEADER, timeoutMs: 0, partitions: [appendData(await batch('before'))] });
    await seenAppends.next(1);
    // The read was woken by that append already; ask for one that waits, then one that does
    // not: once that one is answered, the server holds the waiting one.
    await seenReads.next(1);
    reads.write(readRequest(6n, 1n, 30_000));
    reads.write({ ...readRequest(7n, 0n, 0), minBytes: 0 });
    await seenReads.next(2);
    service.drain();
    const [, , hurried] = await seenReads.next(3);
    expect(hurried).toMatchObject({ requestId: 6n, errorCode: v1.ErrorCode.NONE, partitions: [{ nextOffset: 1n, highWatermark: 1n }] });
    await seenReads.ended;
    await seenAppends.ended;
  });
});
