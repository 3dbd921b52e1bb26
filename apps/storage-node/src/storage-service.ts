/**
 * starlane.internal.v1.StorageNodeService over gRPC: the unary calls and the two long-lived
 * streams gateways multiplex their traffic over.
 *
 * Streams: every request is started as it arrives, so a partition's appends apply in stream
 * order, and answered as it completes, tagged with its request_id. Each stream holds a bounded
 * number of unanswered requests (and append bytes); past the bound the server stops reading the
 * stream, and HTTP/2 flow control pushes back on the gateway.
 *
 * On stop (`drain`), waiting reads answer with what they have, new requests are refused as
 * NOT_LEADER_OR_FOLLOWER (retriable: the gateway re-routes), and each stream ends once its
 * requests are answered.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Scheduler } from '@starlane/io-ports';
import { errorCodeToProto } from '@starlane/metadata-rpc';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import { internalV1, v1 } from '@starlane/proto';
import { failedResultCodes, methodLabel, toGrpcError, type RpcMetrics } from '@starlane/service-host';
import type { PartitionManager, ReplicaFetchRequest, ReplicaFetchResponse, ReplicaFetchSession } from '@starlane/replica';
import { appendFailure, appendPartition, checkAppendRequest } from './appends';
import { listOffset, offsetForLeaderEpoch, offsetLookupsMax } from './offsets';
import { checkReadRequest, ReadOperation, type ReadSpec } from './reads';
import type { StorageNodeHandlers } from './wire-codec';

/** Unanswered requests one AppendStream may hold. */
export const appendStreamInflightRequestsMax = 128;
/** Batch bytes of unanswered requests one AppendStream may hold (one larger request still goes alone). */
export const appendStreamInflightBytesMax = 64 * 1024 * 1024;
/** Unanswered requests one ReadStream may hold (each waiting read costs a little memory). */
export const readStreamInflightRequestsMax = 1024;
/** Fetches a follower may queue on its stream; the contract is one at a time, a few are tolerated. */
export const replicaFetchQueuedMax = 4;

export interface ServiceLogger {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What the service counts, for the metrics endpoint. */
export interface ServiceCounters {
  /** Batches appended to a partition of `topic`, answered without error. */
  appended(topic: string, batches: Buffer): void;
  /** Batches a read returned from a partition of `topic`. */
  read(topic: string, batches: Buffer): void;
  /** Latency and error codes of each request carried in a stream, and partition errors of unary answers. */
  readonly requests: Pick<RpcMetrics, 'startRequest' | 'countErrors'>;
}

const uncounted: ServiceCounters = {
  appended: () => undefined,
  read: () => undefined,
  requests: { startRequest: () => () => undefined, countErrors: () => undefined },
};

/** Method labels of the requests the service times or counts itself (the host's guard sees only whole calls). */
const methods = {
  append: methodLabel(internalV1.StorageNodeServiceService.append.path),
  appendStream: methodLabel(internalV1.StorageNodeServiceService.appendStream.path),
  read: methodLabel(internalV1.StorageNodeServiceService.read.path),
  readStream: methodLabel(internalV1.StorageNodeServiceService.readStream.path),
  listOffsets: methodLabel(internalV1.StorageNodeServiceService.listOffsets.path),
  replicaFetch: methodLabel(internalV1.StorageNodeServiceService.replicaFetch.path),
};

/** The replica code the service answers from: the hosted partitions and the leader side of ReplicaFetch. */
export interface ServedReplica {
  readonly manager: PartitionManager;
  openFetchSession(): ReplicaFetchSession;
}

/** The codes of the partitions a replica fetch answer refused, for the request metrics. */
function fetchErrorCodes(response: ReplicaFetchResponse): string[] {
  const codes: string[] = [];
  for (const partition of response.partitions) if (partition.error !== undefined) codes.push(partition.error.code);
  return codes;
}

/** A stream the service can wind down on stop. */
interface OpenStream {
  drain(): void;
}

export class StorageService {
  private draining = false;
  private readonly streams = new Set<OpenStream>();
  private readonly waitingReads = new Set<ReadOperation>();

  private readonly manager: PartitionManager;

  constructor(
    private readonly replica: ServedReplica,
    private readonly scheduler: Scheduler,
    private readonly logger: ServiceLogger,
    private readonly counters: ServiceCounters = uncounted,
  ) {
    this.manager = replica.manager;
  }

  /** Winds down for a stop: see the file comment. Idempotent. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    for (const read of [...this.waitingReads]) read.hurry();
    for (const stream of [...this.streams]) stream.drain();
  }

  handlers(): StorageNodeHandlers {
    return {
      append: (call, callback) => this.append(call, callback),
      appendStream: (call) => this.appendStream(call),
      read: (call, callback) => this.read(call, callback),
      readStream: (call) => this.readStream(call),
      listOffsets: (call, callback) => this.listOffsets(call, callback),
      offsetsForLeaderEpoch: (call, callback) => this.offsetsForLeaderEpoch(call, callback),
      replicaFetch: (call) => this.replicaFetch(call),
    };
  }

  // -----------------------------------------------------------------------------------------
  // Appends

  private appendAll(request: { acks: v1.Acks; timeoutMs: number; partitions: internalV1.AppendPartitionData[] }): Promise<v1.ProducePartitionResult[]> | StarlaneError {
    const check = checkAppendRequest(request.acks, request.timeoutMs, request.partitions);
    if (!check.ok) return new StarlaneError(check.code, check.message);
    if (this.draining) return Promise.resolve(request.partitions.map((data) => appendFailure(data, 'NOT_LEADER_OR_FOLLOWER', 'this node is shutting down')));
    const { partitions } = request;
    const counted = (data: internalV1.AppendPartitionData, result: v1.ProducePartitionResult): v1.ProducePartitionResult => {
      if (result.errorCode === v1.ErrorCode.NONE) this.counters.appended(data.topic, data.recordBatches);
      return result;
    };
    // One partition per request is the common case: no Promise.all for it.
    if (partitions.length === 1) {
      const data = partitions[0] as internalV1.AppendPartitionData;
      return appendPartition(this.manager, data, check.acks, check.timeoutMs).then((result) => [counted(data, result)]);
    }
    return Promise.all(partitions.map((data) => appendPartition(this.manager, data, check.acks, check.timeoutMs).then((result) => counted(data, result))));
  }

  private append(call: grpc.ServerUnaryCall<internalV1.AppendRequest, internalV1.AppendResponse>, callback: grpc.sendUnaryData<internalV1.AppendResponse>): void {
    const started = this.guard(() => this.appendAll(call.request));
    if (started instanceof StarlaneError) {
      callback(toGrpcError(started), null);
      return;
    }
    started.then(
      (partitions) => {
        this.counters.requests.countErrors(methods.append, failedResultCodes(partitions));
        callback(null, { partitions });
      },
      (error: unknown) => callback(toGrpcError(this.unexpected(error, 'Append')), null),
    );
  }

  private appendStream(call: grpc.ServerDuplexStream<internalV1.AppendStreamRequest, internalV1.AppendStreamResponse>): void {
    let inflight = 0;
    let inflightBytes = 0;
    let paused = false;
    let clientDone = false;
    let closed = false;
    const unanswered = new Set<bigint>();
    const respond = (response: internalV1.AppendStreamResponse): void => {
      if (!closed) call.write(response);
    };
    const settle = (): void => {
      if (paused && inflight < appendStreamInflightRequestsMax && inflightBytes < appendStreamInflightBytesMax) {
        paused = false;
        call.resume();
      }
      if ((clientDone || this.draining) && inflight === 0) close(true);
    };
    const stream: OpenStream = { drain: () => settle() };
    const close = (end: boolean): void => {
      if (closed) return;
      closed = true;
      this.streams.delete(stream);
      if (end) call.end();
    };
    this.streams.add(stream);

    call.on('data', (request: internalV1.AppendStreamRequest) => {
      if (closed) return;
      const { requestId } = request;
      const done = this.counters.requests.startRequest(methods.appendStream);
      const refuse = (code: ErrorCode, message: string): void => {
        done([code]);
        respond({ requestId, partitions: [], errorCode: errorCodeToProto(code), errorMessage: message });
      };
      if (unanswered.has(requestId)) {
        refuse('INVALID_REQUEST', `request_id ${requestId} is already in flight on this stream`);
        return;
      }
      const started = this.guard(() => this.appendAll(request));
      if (started instanceof StarlaneError) {
        refuse(started.code, started.message);
        return;
      }
      let bytes = 0;
      for (const data of request.partitions) bytes += data.recordBatches.length;
      inflight++;
      inflightBytes += bytes;
      unanswered.add(requestId);
      if (!paused && (inflight >= appendStreamInflightRequestsMax || inflightBytes >= appendStreamInflightBytesMax)) {
        paused = true;
        call.pause();
      }
      started
        .then(
          (partitions) => {
            done(failedResultCodes(partitions));
            respond({ requestId, partitions, errorCode: v1.ErrorCode.NONE, errorMessage: '' });
          },
          (error: unknown) => {
            const unexpected = this.unexpected(error, 'AppendStream');
            refuse(unexpected.code, unexpected.message);
          },
        )
        .finally(() => {
          inflight--;
          inflightBytes -= bytes;
          unanswered.delete(requestId);
          settle();
        });
    });
    call.on('end', () => {
      clientDone = true;
      settle();
    });
    call.on('cancelled', () => close(false));
    call.on('error', () => close(false));
  }

  // -----------------------------------------------------------------------------------------
  // Reads

  /** Starts a read; `onDone` gets the results, or the request-level error. */
  private startRead(spec: ReadSpec, onDone: (results: v1.FetchPartitionResult[] | StarlaneError) => void): ReadOperation | undefined {
    const problem = checkReadRequest(spec);
    if (problem !== null) {
      onDone(new StarlaneError(problem.code, problem.message));
      return undefined;
    }
    // A stopping node answers at once with what it has.
    const waitSpec = this.draining ? { ...spec, maxWaitMs: 0 } : spec;
    const operation = new ReadOperation(this.manager, this.scheduler, waitSpec, (results) => {
      this.waitingReads.delete(operation);
      for (const result of results) if (result.payload?.$case === 'recordBatches') this.counters.read(result.topic, result.payload.value);
      onDone(results);
    });
    this.waitingReads.add(operation);
    operation.start();
    return operation;
  }

  private read(call: grpc.ServerUnaryCall<internalV1.ReadRequest, internalV1.ReadResponse>, callback: grpc.sendUnaryData<internalV1.ReadResponse>): void {
    const operation = this.guard(() =>
      this.startRead(call.request, (results) => {
        if (results instanceof StarlaneError) {
          callback(toGrpcError(results), null);
          return;
        }
        this.counters.requests.countErrors(methods.read, failedResultCodes(results));
        callback(null, { partitions: results });
      }),
    );
    if (operation instanceof StarlaneError) {
      callback(toGrpcError(operation), null);
      return;
    }
    call.on('cancelled', () => {
      operation?.cancel();
      if (operation !== undefined) this.waitingReads.delete(operation);
    });
  }

  private readStream(call: grpc.ServerDuplexStream<internalV1.ReadStreamRequest, internalV1.ReadStreamResponse>): void {
    const operations = new Map<bigint, ReadOperation | undefined>();
    let paused = false;
    let writeBlocked = false;
    let clientDone = false;
    let closed = false;
    const settle = (): void => {
      if (paused && !writeBlocked && operations.size < readStreamInflightRequestsMax) {
        paused = false;
        call.resume();
      }
      if ((clientDone || this.draining) && operations.size === 0) close(true);
    };
    const respond = (response: internalV1.ReadStreamResponse): void => {
      if (closed) return;
      // Large responses: stop taking requests while the gateway is not reading what we send.
      if (!call.write(response) && !writeBlocked) {
        writeBlocked = true;
        if (!paused) {
          paused = true;
          call.pause();
        }
        call.once('drain', () => {
          writeBlocked = false;
          settle();
        });
      }
    };
    const stream: OpenStream = {
      drain: () => {
        for (const operation of operations.values()) operation?.hurry();
        settle();
      },
    };
    const close = (end: boolean): void => {
      if (closed) return;
      closed = true;
      this.streams.delete(stream);
      for (const operation of operations.values()) {
        if (operation === undefined) continue;
        operation.cancel();
        this.waitingReads.delete(operation);
      }
      operations.clear();
      if (end) call.end();
    };
    this.streams.add(stream);

    call.on('data', (request: internalV1.ReadStreamRequest) => {
      if (closed) return;
      const { requestId } = request;
      const done = this.counters.requests.startRequest(methods.readStream);
      const refuse = (code: ErrorCode, message: string): void => {
        done([code]);
        respond({ requestId, partitions: [], errorCode: errorCodeToProto(code), errorMessage: message });
      };
      if (operations.has(requestId)) {
        refuse('INVALID_REQUEST', `request_id ${requestId} is already in flight on this stream`);
        return;
      }
      // Registered before it starts: a read that answers at once must find itself to remove.
      operations.set(requestId, undefined);
      const operation = this.guard(() =>
        this.startRead(request, (results) => {
          if (!operations.has(requestId)) return;
          operations.delete(requestId);
          if (results instanceof StarlaneError) refuse(results.code, results.message);
          else {
            done(failedResultCodes(results));
            respond({ requestId, partitions: results, errorCode: v1.ErrorCode.NONE, errorMessage: '' });
          }
          settle();
        }),
      );
      if (operation instanceof StarlaneError) {
        operations.delete(requestId);
        refuse(operation.code, operation.message);
        return;
      }
      if (operations.has(requestId)) operations.set(requestId, operation);
      if (!paused && operations.size >= readStreamInflightRequestsMax) {
        paused = true;
        call.pause();
      }
    });
    call.on('end', () => {
      clientDone = true;
      settle();
    });
    call.on('cancelled', () => close(false));
    call.on('error', () => close(false));
  }

  // -----------------------------------------------------------------------------------------
  // Replication

  /**
   * A follower's replication session: fetches are answered one at a time, in order. A
   * session-level failure is sent as the last response and ends the stream; draining for a
   * stop ends it after the fetch in progress, and the follower reconnects to the next leader.
   */
  private replicaFetch(call: grpc.ServerDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse>): void {
    const session = this.replica.openFetchSession();
    const queue: ReplicaFetchRequest[] = [];
    let busy = false;
    let finished = false;
    let clientDone = false;
    /** Ends the session; `end` answers the stream (not when the client cancelled or it broke). */
    const finish = (last?: StarlaneError, end = true): void => {
      if (finished) return;
      finished = true;
      session.close();
      this.streams.delete(stream);
      if (!end) return;
      if (last !== undefined) call.write({ partitions: [], error: { code: last.code, message: last.message } });
      call.end();
    };
    const stream: OpenStream = { drain: () => (busy ? session.close() : finish()) };
    const next = (): void => {
      if (busy || finished) return;
      if (this.draining) return finish();
      const request = queue.shift();
      if (request === undefined) {
        if (clientDone) finish();
        return;
      }
      busy = true;
      const done = this.counters.requests.startRequest(methods.replicaFetch);
      session.fetch(request).then(
        (response) => {
          busy = false;
          done(response.error !== undefined ? [response.error.code] : fetchErrorCodes(response));
          if (finished) return;
          call.write(response);
          next();
        },
        (error: unknown) => {
          busy = false;
          const failure = this.unexpected(error, 'ReplicaFetch');
          done([failure.code]);
          finish(failure);
        },
      );
    };
    call.on('data', (request: ReplicaFetchRequest) => {
      if (finished) return;
      if (queue.length >= replicaFetchQueuedMax) return finish(new StarlaneError('INVALID_REQUEST', `a follower keeps one fetch outstanding; ${queue.length + 1} arrived unanswered`));
      queue.push(request);
      next();
    });
    call.on('end', () => {
      clientDone = true;
      if (!busy) finish();
    });
    call.on('cancelled', () => finish(undefined, false));
    call.on('error', () => finish(undefined, false));
    this.streams.add(stream);
  }

  // -----------------------------------------------------------------------------------------
  // Offsets

  private listOffsets(call: grpc.ServerUnaryCall<internalV1.ListOffsetsRequest, internalV1.ListOffsetsResponse>, callback: grpc.sendUnaryData<internalV1.ListOffsetsResponse>): void {
    const { request } = call;
    if (request.partitions.length > offsetLookupsMax) {
      callback(toGrpcError(new StarlaneError('INVALID_REQUEST', `a request carries at most ${offsetLookupsMax} lookups`)), null);
      return;
    }
    Promise.all(request.partitions.map((lookup) => listOffset(this.manager, lookup))).then(
      (partitions) => {
        this.counters.requests.countErrors(methods.listOffsets, failedResultCodes(partitions));
        callback(null, { partitions });
      },
      (error: unknown) => callback(toGrpcError(this.unexpected(error, 'ListOffsets')), null),
    );
  }

  private offsetsForLeaderEpoch(
    call: grpc.ServerUnaryCall<internalV1.OffsetsForLeaderEpochRequest, internalV1.OffsetsForLeaderEpochResponse>,
    callback: grpc.sendUnaryData<internalV1.OffsetsForLeaderEpochResponse>,
  ): void {
    const { request } = call;
    if (request.partitions.length > offsetLookupsMax) {
      callback(toGrpcError(new StarlaneError('INVALID_REQUEST', `a request carries at most ${offsetLookupsMax} lookups`)), null);
      return;
    }
    const answered = this.guard(() => request.partitions.map((partition) => offsetForLeaderEpoch(this.manager, request.replicaNodeId, partition)));
    if (answered instanceof StarlaneError) callback(toGrpcError(answered), null);
    else callback(null, { partitions: answered });
  }

  // -----------------------------------------------------------------------------------------

  /** Runs `work`; an error it throws becomes a coded error instead of reaching the event loop. */
  private guard<T>(work: () => T): T | StarlaneError {
    try {
      return work();
    } catch (error) {
      return this.unexpected(error, 'request');
    }
  }

  /** Operating errors keep their code; anything else is a defect, logged and answered as UNKNOWN_SERVER_ERROR. */
  private unexpected(error: unknown, where: string): StarlaneError {
    if (error instanceof StarlaneError) return error;
    this.logger.error({ where, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 'unexpected error while serving a request');
    return new StarlaneError('UNKNOWN_SERVER_ERROR', `unexpected error in ${where}: ${String(error)}`);
  }
}
