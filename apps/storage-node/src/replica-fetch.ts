/**
 * The leader side of ReplicaFetch: one session per follower stream (Kafka's replica fetcher
 * with KIP-227 incremental fetch sessions, the stream being the session).
 *
 * The session remembers each partition's fetch state, so a request lists only what changed.
 * Every request counts as a fetch of every partition in the session at its remembered offset:
 * that is how the leader learns its followers' log ends for the high watermark, and how an
 * idle follower stays in the ISR. A request is answered at once when some partition has
 * records, a changed high watermark or log start, a diverging epoch or an error; otherwise it
 * waits for one of them (an append, a high watermark move, a leadership change) up to
 * `max_wait_ms`, then answers with what there is (possibly nothing).
 *
 * Divergence is decided by leader epochs (KIP-320): a follower whose last fetched epoch ends
 * earlier here, or is unknown here, is told where it ends and truncates before fetching on.
 * A partition reporting an error leaves the session; the follower adds it again once its
 * metadata changes.
 */
import type { Scheduler } from '@starlane/log';
import { errorCodeToProto } from '@starlane/metadata-rpc';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import type { internalV1 } from '@starlane/proto';
import { divergingEpoch } from '@starlane/replication';
import type { HostedPartition } from './hosted-partition';
import { lookupPartition, resultCode } from './partition-checks';
import { partitionKey as keyOf } from './partition-dirs';
import type { PartitionManager } from './partition-manager';

/** Longest a fetch may wait for something to report. */
export const replicaFetchWaitMsMax = 10_000;
/** Partitions one session may follow. */
export const replicaFetchSessionPartitionsMax = 100_000;
/** Bytes per partition when a request says 0 (Kafka's replica.fetch.max.bytes). */
export const replicaFetchPartitionBytesDefault = 1024 * 1024;
/** Bytes per response when a request says 0, and the most it may ask for (replica.fetch.response.max.bytes). */
export const replicaFetchResponseBytesMax = 10 * 1024 * 1024;

interface SessionPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  fetchOffset: bigint;
  lastFetchedEpoch: number;
  currentLeaderEpoch: number;
  maxBytes: number;
  /** What the last response told the follower, so unchanged values are not sent again. */
  reportedHighWatermark: bigint;
  reportedLogStartOffset: bigint;
}


export class ReplicaFetchSession {
  private replica: { readonly nodeId: number; readonly nodeEpoch: bigint } | undefined;
  private readonly partitions = new Map<string, SessionPartition>();
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly manager: PartitionManager,
    private readonly scheduler: Scheduler,
  ) {}

  /** The stream ended: a fetch still waiting answers at once. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Answers one fetch. A session-level problem throws a StarlaneError (the stream then ends with it). */
  async fetch(request: internalV1.ReplicaFetchRequest): Promise<internalV1.ReplicaFetchResponse> {
    this.applyRequest(request);
    const replica = this.replica as { nodeId: number; nodeEpoch: bigint };
    // This request is a fetch of every partition at its remembered offset.
    for (const state of this.partitions.values()) {
      const lookup = lookupPartition(this.manager, state, true);
      if (lookup.ok && lookup.partition.onlineLog !== undefined && divergingEpoch(lookup.partition.onlineLog, state.lastFetchedEpoch, state.fetchOffset) === undefined) {
        lookup.partition.onFollowerFetch(replica.nodeId, state.fetchOffset, replica.nodeEpoch);
      }
    }
    const responseBytesMax = request.maxBytes > 0 ? Math.min(request.maxBytes, replicaFetchResponseBytesMax) : replicaFetchResponseBytesMax;
    // Listening starts before the first look, so an append landing while it reads is not missed.
    const change = this.watchChanges();
    try {
      let results = await this.collect(responseBytesMax);
      if (results.length === 0 && !this.closed && request.maxWaitMs > 0) {
        await change.wait(Math.min(request.maxWaitMs, replicaFetchWaitMsMax));
        results = await this.collect(responseBytesMax);
      }
      return { partitions: results, errorCode: 0, errorMessage: '' };
    } finally {
      change.stop();
    }
  }

  private applyRequest(request: internalV1.ReplicaFetchRequest): void {
    if (this.replica === undefined) {
      if (request.replicaNodeId < 0) throw new StarlaneError('INVALID_REQUEST', 'the first fetch of a session names the follower (replica_node_id)');
      this.replica = { nodeId: request.replicaNodeId, nodeEpoch: request.replicaNodeEpoch };
    } else if (request.replicaNodeId !== this.replica.nodeId) {
      throw new StarlaneError('INVALID_REQUEST', `a session belongs to node ${this.replica.nodeId}; a fetch named node ${request.replicaNodeId}`);
    }
    if (this.manager.metadata !== undefined && !this.manager.metadata.nodes.has(request.replicaNodeId)) {
      throw new StarlaneError('BROKER_ID_NOT_REGISTERED', `node ${request.replicaNodeId} is not registered`);
    }
    for (const removed of request.removedPartitions) {
      for (const [key, state] of this.partitions) if (state.topic === removed.topic && state.partition === removed.partition) this.partitions.delete(key);
    }
    for (const spec of request.partitions) {
      const key = keyOf(spec.topicId, spec.partition);
      const existing = this.partitions.get(key);
      if (existing === undefined && this.partitions.size >= replicaFetchSessionPartitionsMax) {
        throw new StarlaneError('INVALID_REQUEST', `a replication session follows at most ${replicaFetchSessionPartitionsMax} partitions`);
      }
      this.partitions.set(key, {
        topic: spec.topic,
        topicId: spec.topicId,
        partition: spec.partition,
        fetchOffset: spec.fetchOffset,
        lastFetchedEpoch: spec.lastFetchedEpoch,
        currentLeaderEpoch: spec.currentLeaderEpoch,
        maxBytes: spec.maxBytes > 0 ? Math.min(spec.maxBytes, replicaFetchResponseBytesMax) : replicaFetchPartitionBytesDefault,
        reportedHighWatermark: existing?.reportedHighWatermark ?? -2n,
        reportedLogStartOffset: existing?.reportedLogStartOffset ?? -2n,
      });
    }
  }

  /** Results for partitions with something to report, within the response budget. */
  private async collect(responseBytesMax: number): Promise<internalV1.ReplicaFetchPartitionResult[]> {
    const results: internalV1.ReplicaFetchPartitionResult[] = [];
    let budget = responseBytesMax;
    for (const [key, state] of this.partitions) {
      const result = await this.collectOne(state, budget);
      if (result === undefined) continue;
      if (result.errorCode !== 0) this.partitions.delete(key);
      budget -= result.recordBatches.length;
      results.push(result);
    }
    return results;
  }

  private async collectOne(state: SessionPartition, budget: number): Promise<internalV1.ReplicaFetchPartitionResult | undefined> {
    const lookup = lookupPartition(this.manager, state, true);
    if (!lookup.ok) return failure(state, lookup.code, lookup.message);
    const partition: HostedPartition = lookup.partition;
    const follower = this.replica?.nodeId ?? -1;
    if (!partition.state.replicas.includes(follower)) return failure(state, 'NOT_LEADER_OR_FOLLOWER', `node ${follower} is not a replica of ${state.topic}-${state.partition}`);
    const log = partition.onlineLog;
    if (log === undefined) return undefined;
    const highWatermark = partition.highWatermark;
    const logStartOffset = log.logStartOffset;
    const base = { topic: state.topic, topicId: state.topicId, partition: state.partition, highWatermark, logStartOffset, errorCode: 0, errorMessage: '' };
    const diverging = divergingEpoch(log, state.lastFetchedEpoch, state.fetchOffset);
    if (diverging !== undefined) {
      return { ...base, recordBatches: Buffer.alloc(0), divergingEpoch: { epoch: diverging.epoch, endOffset: diverging.endOffset } };
    }
    if (state.fetchOffset < logStartOffset || state.fetchOffset > log.logEndOffset) {
      return failure(state, 'OFFSET_OUT_OF_RANGE', `fetch offset ${state.fetchOffset} is outside [${logStartOffset}, ${log.logEndOffset}]`, { highWatermark, logStartOffset });
    }
    let records: Buffer = Buffer.alloc(0);
    if (state.fetchOffset < log.logEndOffset && budget > 0) {
      try {
        const read = await log.read(state.fetchOffset, { maxBytes: Math.max(1, Math.min(state.maxBytes, budget)), maxOffset: log.logEndOffset });
        records = read.records;
      } catch (error) {
        const { code, message } = resultCode(error);
        return failure(state, code, message, { highWatermark, logStartOffset });
      }
    }
    if (records.length === 0 && highWatermark === state.reportedHighWatermark && logStartOffset === state.reportedLogStartOffset) return undefined;
    state.reportedHighWatermark = highWatermark;
    state.reportedLogStartOffset = logStartOffset;
    return { ...base, recordBatches: records, divergingEpoch: undefined };
  }

  /**
   * Listens to every session partition from now on. `wait` resolves at once if one changed
   * since, else when one does, the session closes, or `waitMs` passes.
   */
  private watchChanges(): { wait(waitMs: number): Promise<void>; stop(): void } {
    let changed = false;
    let wakeWaiter: (() => void) | undefined;
    const onChange = (): void => {
      changed = true;
      wakeWaiter?.();
    };
    const stops: (() => void)[] = [];
    for (const state of this.partitions.values()) {
      const partition = this.manager.partition(state.topicId, state.partition);
      if (partition !== undefined) stops.push(partition.listen(onChange));
    }
    this.wake = onChange;
    const stop = (): void => {
      for (const unlisten of stops.splice(0)) unlisten();
      if (this.wake === onChange) this.wake = undefined;
    };
    return {
      wait: (waitMs: number) =>
        new Promise<void>((resolve) => {
          if (changed || this.closed) return resolve();
          const cancel = this.scheduler.schedule(waitMs, () => wakeWaiter?.());
          wakeWaiter = () => {
            wakeWaiter = undefined;
            cancel();
            resolve();
          };
        }),
      stop,
    };
  }
}

function failure(
  state: SessionPartition,
  code: ErrorCode,
  message: string,
  bounds: { highWatermark: bigint; logStartOffset: bigint } = { highWatermark: -1n, logStartOffset: -1n },
): internalV1.ReplicaFetchPartitionResult {
  return {
    topic: state.topic,
    topicId: state.topicId,
    partition: state.partition,
    highWatermark: bounds.highWatermark,
    logStartOffset: bounds.logStartOffset,
    recordBatches: Buffer.alloc(0),
    divergingEpoch: undefined,
    errorCode: errorCodeToProto(code),
    errorMessage: message,
  };
}
