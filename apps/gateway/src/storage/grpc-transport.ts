/**
 * StorageTransport over gRPC: per storage node one long-lived AppendStream and one ReadStream,
 * each with many requests in flight (docs/data-plane.md: streams beat unary calls), on
 * separate HTTP/2 connections so a large read never queues behind appends or the other way
 * round. Requests queue per node beyond the in-flight bound; queued appends for different
 * partitions are merged into one stream message when they are sent, so a busy gateway sends
 * fewer, larger messages.
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '@starlane/io-ports';
import type { NodeInfo } from '@starlane/metadata';
import { errorCodeFromWire, isErrorCode, StarlaneError, transportDetail } from '@starlane/model';
import { systemClock } from '@starlane/node-io';
import { type internalV1, type v1 } from '@starlane/proto';
import { errorCodeMetadataKey, formatAddress, grpcFlowControlWindowBytes, grpcMessageBytesMax } from '@starlane/service-host';
import { appendInflightRequestsMax, appendPartitionsMax, appendRequestBytesMax, nodeSendQueueMax, readInflightRequestsMax } from '../limits';
import { StorageNodeClient } from '../wire/services';
import { AnswerLostError, type AppendCall, type ReadCall, type StorageTransport } from './transport';

/** How long past its own timeout an unanswered stream request is given before the gateway gives up on it. */
export const streamAnswerSlackMs = 10_000;
/** How often unanswered stream requests are checked against their deadlines. */
const sweepIntervalMs = 1000;

const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': grpcMessageBytesMax,
  'grpc.max_send_message_length': grpcMessageBytesMax,
  'grpc-node.flow_control_window': grpcFlowControlWindowBytes,
  // One connection per client object: appends, reads and other gateways' clients do not share.
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
};

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: StarlaneError): void;
}

interface StreamRequest {
  requestId: bigint;
}
interface StreamResponse {
  requestId: bigint;
  errorCode: number;
  errorMessage: string;
}

/** One request waiting to be sent: `compose` may merge several into one message. A stream
 * failure fails the whole queue, so everything queued belongs to the current session. */
interface Queued<Item> {
  readonly item: Item;
}

/** A message sent and not yet answered, with the queued items it carries. */
interface Sent<Item> {
  readonly items: readonly Item[];
  readonly deadlineMs: number;
}

/**
 * A long-lived bidirectional stream carrying tagged requests: bounded in flight, queued beyond
 * that (bounded too), answers matched by request_id. When the stream fails, every unanswered
 * and queued request fails with BROKER_NOT_AVAILABLE and the session number moves on; the next
 * request opens a new stream.
 */
class TaggedStream<Item, Req extends StreamRequest, Res extends StreamResponse> {
  session = 0;
  private call: grpc.ClientDuplexStream<Req, Res> | undefined;
  private writable = true;
  private nextRequestId = 1n;
  private readonly queue: Queued<Item>[] = [];
  private readonly sent = new Map<bigint, Sent<Item>>();
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly open: () => grpc.ClientDuplexStream<Req, Res>,
    private readonly inflightMax: number,
    /** Takes one or more items from the head of `queue` (at least one) and builds the message. */
    private readonly compose: (queue: readonly Queued<Item>[], requestId: bigint) => { request: Req; taken: number; timeoutMs: number },
    private readonly answer: (items: readonly Item[], response: Res) => void,
    private readonly fail: (item: Item, error: StarlaneError) => void,
    private readonly clock: Clock,
  ) {
    this.sweep = setInterval(() => this.expire(), sweepIntervalMs);
    this.sweep.unref();
  }

  enqueue(item: Item): void {
    if (this.closed) {
      this.fail(item, new StarlaneError('BROKER_NOT_AVAILABLE', `${this.name}: the gateway is shutting down`));
      return;
    }
    if (this.queue.length >= nodeSendQueueMax) {
      this.fail(item, new StarlaneError('THROTTLING_QUOTA_EXCEEDED', `${this.name}: ${nodeSendQueueMax} requests already wait to be sent`));
      return;
    }
    this.queue.push({ item });
    // Sending at the end of the current turn lets the writes of one client request (and of
    // the other requests read in the same turn) share one message.
    if (this.queue.length === 1) queueMicrotask(() => this.flush());
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    this.reset(new StarlaneError('BROKER_NOT_AVAILABLE', `${this.name}: the gateway is shutting down`));
    this.call?.cancel();
    this.call = undefined;
  }

  private ensureCall(): grpc.ClientDuplexStream<Req, Res> {
    if (this.call !== undefined) return this.call;
    const call = this.open();
    this.call = call;
    this.writable = true;
    call.on('data', (response: Res) => {
      if (this.call !== call) return;
      const sent = this.sent.get(response.requestId);
      if (sent === undefined) return;
      this.sent.delete(response.requestId);
      this.answer(sent.items, response);
      this.flush();
    });
    call.on('drain', () => {
      if (this.call !== call) return;
      this.writable = true;
      this.flush();
    });
    const broken = (why: string): void => {
      if (this.call !== call) return;
      this.call = undefined;
      // A stream that broke while write-blocked never drains; the next one starts writable.
      this.writable = true;
      call.cancel();
      this.reset(new StarlaneError('BROKER_NOT_AVAILABLE', `${this.name}: ${why}`));
    };
    call.on('error', (error: grpc.ServiceError) => broken(`stream failed (${error.details || error.message})`));
    call.on('end', () => broken('stream ended'));
    return call;
  }

  /** Fails everything unanswered or queued and starts a new session. */
  private reset(error: StarlaneError): void {
    this.session += 1;
    const sent = [...this.sent.values()];
    this.sent.clear();
    const queued = this.queue.splice(0, this.queue.length);
    const lost = new AnswerLostError(error.code, `${error.message}; the request was sent, its outcome is unknown`);
    for (const message of sent) for (const item of message.items) this.fail(item, lost);
    for (const { item } of queued) this.fail(item, error);
  }

  private flush(): void {
    while (this.queue.length > 0 && this.sent.size < this.inflightMax && this.writable && !this.closed) {
      const call = this.ensureCall();
      const requestId = this.nextRequestId;
      this.nextRequestId += 1n;
      const { request, taken, timeoutMs } = this.compose(this.queue, requestId);
      const items = this.queue.splice(0, taken).map((queued) => queued.item);
      this.sent.set(requestId, { items, deadlineMs: this.clock.nowMs() + timeoutMs + streamAnswerSlackMs });
      this.writable = call.write(request);
    }
  }

  private expire(): void {
    if (this.sent.size === 0) return;
    const now = this.clock.nowMs();
    for (const [requestId, message] of this.sent) {
      if (message.deadlineMs > now) continue;
      this.sent.delete(requestId);
      const error = new StarlaneError('REQUEST_TIMED_OUT', `${this.name}: no answer within ${streamAnswerSlackMs} ms past the request's timeout`);
      for (const item of message.items) this.fail(item, error);
    }
    this.flush();
  }
}

interface AppendItem extends Waiter<{ session: number; results: v1.ProducePartitionResult[] }> {
  readonly call: AppendCall;
  readonly bytes: number;
  readonly session: number;
}

interface ReadItem extends Waiter<v1.FetchPartitionResult[]> {
  readonly call: ReadCall;
}

function partitionKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/**
 * Merges queued appends into one AppendStreamRequest while they share acks, touch distinct
 * partitions (a request names a partition at most once) and stay under appendRequestBytesMax.
 */
export function composeAppend(queue: readonly { item: { call: AppendCall; bytes: number } }[], requestId: bigint): { request: internalV1.AppendStreamRequest; taken: number; timeoutMs: number } {
  const first = queue[0]!.item;
  const partitions: internalV1.AppendPartitionData[] = [...first.call.partitions];
  const seen = new Set(first.call.partitions.map((data) => partitionKey(data.topic, data.partition)));
  let bytes = first.bytes;
  let timeoutMs = first.call.timeoutMs;
  let taken = 1;
  for (; taken < queue.length; taken++) {
    const next = queue[taken]!.item;
    if (next.call.acks !== first.call.acks || bytes + next.bytes > appendRequestBytesMax) break;
    if (next.call.partitions.some((data) => seen.has(partitionKey(data.topic, data.partition)))) break;
    // The storage node refuses a request naming more partitions than this as a whole.
    if (partitions.length + next.call.partitions.length > appendPartitionsMax) break;
    for (const data of next.call.partitions) seen.add(partitionKey(data.topic, data.partition));
    partitions.push(...next.call.partitions);
    bytes += next.bytes;
    // The merged request waits no longer than its most impatient write allows.
    timeoutMs = Math.min(timeoutMs, next.call.timeoutMs);
  }
  return { request: { requestId, acks: first.call.acks, timeoutMs, partitions }, taken, timeoutMs };
}

class NodeConnection {
  readonly appends: TaggedStream<AppendItem, internalV1.AppendStreamRequest, internalV1.AppendStreamResponse>;
  readonly reads: TaggedStream<ReadItem, internalV1.ReadStreamRequest, internalV1.ReadStreamResponse>;
  private readonly appendClient: internalV1.StorageNodeServiceClient;
  readonly readClient: internalV1.StorageNodeServiceClient;

  constructor(
    readonly address: string,
    nodeId: number,
    clock: Clock,
  ) {
    this.appendClient = new StorageNodeClient(address, grpc.credentials.createInsecure(), channelOptions);
    this.readClient = new StorageNodeClient(address, grpc.credentials.createInsecure(), channelOptions);
    this.appends = new TaggedStream<AppendItem, internalV1.AppendStreamRequest, internalV1.AppendStreamResponse>(
      `append stream to node ${nodeId} at ${address}`,
      () => this.appendClient.appendStream(),
      appendInflightRequestsMax,
      composeAppend,
      (items, response) => {
        const code = errorCodeFromWire(response.errorCode);
        if (code !== undefined) {
          for (const item of items) item.reject(new StarlaneError(code, response.errorMessage || `node ${nodeId} refused the append request`));
          return;
        }
        let position = 0;
        for (const item of items) {
          const count = item.call.partitions.length;
          const results = response.partitions.slice(position, position + count);
          position += count;
          if (results.length !== count) {
            item.reject(new StarlaneError('UNKNOWN_SERVER_ERROR', `node ${nodeId} answered ${response.partitions.length} partition results for a request of ${position}`));
          } else {
            item.resolve({ session: item.session, results });
          }
        }
      },
      (item, error) => item.reject(error),
      clock,
    );
    this.reads = new TaggedStream<ReadItem, internalV1.ReadStreamRequest, internalV1.ReadStreamResponse>(
      `read stream to node ${nodeId} at ${address}`,
      () => this.readClient.readStream(),
      readInflightRequestsMax,
      (queue, requestId) => {
        const { call } = queue[0]!.item;
        return { request: { requestId, ...call, partitions: [...call.partitions] }, taken: 1, timeoutMs: call.maxWaitMs };
      },
      (items, response) => {
        const item = items[0]!;
        const code = errorCodeFromWire(response.errorCode);
        if (code !== undefined) item.reject(new StarlaneError(code, response.errorMessage || `node ${nodeId} refused the read request`));
        else item.resolve(response.partitions);
      },
      (item, error) => item.reject(error),
      clock,
    );
  }

  close(): void {
    this.appends.close();
    this.reads.close();
    this.appendClient.close();
    this.readClient.close();
  }
}

/** Connections (clients and their streams) kept to storage nodes; the least recently used beyond it is closed. */
export const nodeConnectionsMax = 1000;

export class GrpcStorageTransport implements StorageTransport {
  private readonly connections = new Map<number, NodeConnection>();

  /** `clock`: the time request deadlines are measured in; gRPC deadlines are derived from it, so in production it is wall-clock time. */
  constructor(private readonly clock: Clock = systemClock) {}

  appendSession(node: NodeInfo): number {
    return this.connection(node).appends.session;
  }

  append(node: NodeInfo, call: AppendCall): Promise<{ session: number; results: v1.ProducePartitionResult[] }> {
    const connection = this.connection(node);
    let bytes = 0;
    for (const data of call.partitions) bytes += data.recordBatches.length;
    return new Promise((resolve, reject) => connection.appends.enqueue({ call, bytes, session: connection.appends.session, resolve, reject }));
  }

  read(node: NodeInfo, call: ReadCall): Promise<v1.FetchPartitionResult[]> {
    const connection = this.connection(node);
    return new Promise((resolve, reject) => connection.reads.enqueue({ call, resolve, reject }));
  }

  listOffsets(node: NodeInfo, isolationLevel: v1.IsolationLevel, lookups: readonly internalV1.OffsetLookup[]): Promise<v1.ListOffsetsPartitionResult[]> {
    const connection = this.connection(node);
    return new Promise((resolve, reject) => {
      connection.readClient.listOffsets(
        { isolationLevel, partitions: [...lookups] },
        new grpc.Metadata(),
        { deadline: this.clock.nowMs() + streamAnswerSlackMs },
        (error: grpc.ServiceError | null, response?: internalV1.ListOffsetsResponse) => {
          if (error !== null || response === undefined) reject(transportError(node, error));
          else resolve(response.partitions);
        },
      );
    });
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private connection(node: NodeInfo): NodeConnection {
    const address = formatAddress(node.host, node.port);
    let connection = this.connections.get(node.nodeId);
    if (connection !== undefined && connection.address === address) {
      // Map order is recency order: move it to the back.
      this.connections.delete(node.nodeId);
      this.connections.set(node.nodeId, connection);
      return connection;
    }
    // A node that moved to a new address gets a new connection; the old one's requests fail
    // with BROKER_NOT_AVAILABLE and are retried by their callers.
    connection?.close();
    this.connections.delete(node.nodeId);
    if (this.connections.size >= nodeConnectionsMax) {
      const [oldestId, oldest] = this.connections.entries().next().value as [number, NodeConnection];
      oldest.close();
      this.connections.delete(oldestId);
    }
    connection = new NodeConnection(address, node.nodeId, this.clock);
    this.connections.set(node.nodeId, connection);
    return connection;
  }
}

/** A failed unary call to a storage node as a StarlaneError: its catalogue code when it sent one, else BROKER_NOT_AVAILABLE. */
export function transportError(node: NodeInfo, error: grpc.ServiceError | null): StarlaneError {
  const trailer = error?.metadata?.get(errorCodeMetadataKey)[0];
  if (typeof trailer === 'string' && isErrorCode(trailer)) return new StarlaneError(trailer, error?.details ?? trailer);
  return new StarlaneError('BROKER_NOT_AVAILABLE', `node ${node.nodeId} at ${formatAddress(node.host, node.port)}: ${error === null ? 'no answer' : transportDetail(error.details)}`);
}
