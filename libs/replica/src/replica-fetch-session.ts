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
 * A partition reporting an error leaves the session; the follower adds it again after a pause.
 *
 * A fetch only moves the follower's state here (high watermark, ISR) when it could be served:
 * one that diverges or falls outside the log says nothing about what the follower holds
 * (Kafka updates follower state only after a successful read). And an answer that cannot help
 * the follower on, the same error or the same divergence for the same fetch state, is not
 * repeated until `replicaFetchBackoffMs` has passed, so a follower that fails to act on it
 * costs one answer a second, not a busy loop on both nodes.
 */
import type { Scheduler } from '@starlane/io-ports';
import type { PartitionLog } from '@starlane/log';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import { divergingEpoch } from '@starlane/replication';
import type { HostedPartition } from './hosted-partition';
import { lookupPartition, resultCode } from './partition-checks';
import { partitionKey as keyOf } from './partition-dirs';
import type { PartitionManager } from './partition-manager';
import type { ReplicaFetchPartitionResult, ReplicaFetchRequest, ReplicaFetchResponse } from './replica-messages';

/** Longest a fetch may wait for something to report. */
export const replicaFetchWaitMsMax = 10_000;
/** Partitions one session may follow. */
export const replicaFetchSessionPartitionsMax = 100_000;
/** Bytes per partition when a request says 0 (Kafka's replica.fetch.max.bytes). */
export const replicaFetchPartitionBytesDefault = 1024 * 1024;
/** Bytes per response when a request says 0, and the most it may ask for (replica.fetch.response.max.bytes). */
export const replicaFetchResponseBytesMax = 10 * 1024 * 1024;
/**
 * How long the same fruitless answer (an error, or a divergence, for an unchanged fetch state)
 * is held back before it is given again: Kafka's replica.fetch.backoff.ms, default 1 s.
 */
export const replicaFetchBackoffMs = 1_000;

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

/** The last fruitless answer a partition got: which fetch state it answered, and with what. */
interface FruitlessAnswer {
  readonly fingerprint: string;
  /** Set once replicaFetchBackoffMs passed: the same answer may go out again. */
  expired: boolean;
  cancel(): void;
}

export class ReplicaFetchSession {
  private replica: { readonly nodeId: number; readonly nodeEpoch: bigint } | undefined;
  private readonly partitions = new Map<string, SessionPartition>();
  /** At most one per partition key, kept across an error answer (which drops the partition) so its repeat is held back too. */
  private readonly fruitless = new Map<string, FruitlessAnswer>();
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly manager: PartitionManager,
    private readonly scheduler: Scheduler,
  ) {}

  /** The stream ended: a fetch still waiting answers at once. */
  close(): void {
    this.closed = true;
    for (const answer of this.fruitless.values()) answer.cancel();
    this.fruitless.clear();
    this.wake?.();
  }

  /** Answers one fetch. A session-level problem throws a StarlaneError (the stream then ends with it). */
  async fetch(request: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    this.applyRequest(request);
    const replica = this.replica as { nodeId: number; nodeEpoch: bigint };
    // This request is a fetch of every partition at its remembered offset, if it can be served.
    for (const state of this.partitions.values()) {
      const lookup = lookupPartition(this.manager, state, true);
      const log = lookup.ok ? lookup.partition.onlineLog : undefined;
      if (lookup.ok && log !== undefined && servable(log, state)) lookup.partition.onFollowerFetch(replica.nodeId, state.fetchOffset, replica.nodeEpoch);
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
      return { partitions: results };
    } finally {
      change.stop();
    }
  }

  private applyRequest(request: ReplicaFetchRequest): void {
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
      for (const [key, state] of this.partitions) {
        if (state.topic !== removed.topic || state.partition !== removed.partition) continue;
        this.partitions.delete(key);
        this.forgetFruitless(key);
      }
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
  private async collect(responseBytesMax: number): Promise<ReplicaFetchPartitionResult[]> {
    const results: ReplicaFetchPartitionResult[] = [];
    let budget = responseBytesMax;
    for (const [key, state] of this.partitions) {
      const result = await this.collectOne(state, budget);
      if (result === undefined || this.heldBack(key, state, result)) continue;
      if (result.error !== undefined) this.partitions.delete(key);
      budget -= result.recordBatches.length;
      results.push(result);
    }
    return results;
  }

  /**
   * Whether `result` is the answer this partition already got for the same fetch state less
   * than replicaFetchBackoffMs ago, and waits. Otherwise a fruitless answer (an error or a
   * divergence) is remembered and the back-off starts; any other answer clears it.
   */
  private heldBack(key: string, state: SessionPartition, result: ReplicaFetchPartitionResult): boolean {
    if (result.error === undefined && result.divergingEpoch === undefined) {
      this.forgetFruitless(key);
      return false;
    }
    const diverging = result.divergingEpoch;
    const fingerprint = [state.fetchOffset, state.lastFetchedEpoch, state.currentLeaderEpoch, result.error?.code, diverging?.epoch, diverging?.endOffset].join(' ');
    const previous = this.fruitless.get(key);
    if (previous !== undefined && previous.fingerprint === fingerprint && !previous.expired) return true;
    this.forgetFruitless(key);
    // Bounded like the session; a partition dropped on an error and never added again ages out first.
    const oldest = this.fruitless.keys().next();
    if (this.fruitless.size >= replicaFetchSessionPartitionsMax && oldest.done !== true) this.forgetFruitless(oldest.value);
    const answer: FruitlessAnswer = { fingerprint, expired: false, cancel: () => undefined };
    answer.cancel = this.scheduler.schedule(replicaFetchBackoffMs, () => {
      answer.expired = true;
      this.wake?.();
    });
    this.fruitless.set(key, answer);
    return false;
  }

  private forgetFruitless(key: string): void {
    this.fruitless.get(key)?.cancel();
    this.fruitless.delete(key);
  }

  private async collectOne(state: SessionPartition, budget: number): Promise<ReplicaFetchPartitionResult | undefined> {
    const lookup = lookupPartition(this.manager, state, true);
    if (!lookup.ok) return failure(state, lookup.code, lookup.message);
    const partition: HostedPartition = lookup.partition;
    const follower = this.replica?.nodeId ?? -1;
    if (!partition.state.replicas.includes(follower)) return failure(state, 'NOT_LEADER_OR_FOLLOWER', `node ${follower} is not a replica of ${state.topic}-${state.partition}`);
    const log = partition.onlineLog;
    if (log === undefined) return undefined;
    const highWatermark = partition.highWatermark;
    const logStartOffset = log.logStartOffset;
    const base = { topic: state.topic, topicId: state.topicId, partition: state.partition, highWatermark, logStartOffset };
    const diverging = divergingEpoch(log, state.lastFetchedEpoch, state.fetchOffset);
    if (diverging !== undefined) {
      return { ...base, recordBatches: Buffer.alloc(0), divergingEpoch: { epoch: diverging.epoch, endOffset: diverging.endOffset } };
    }
    const logEndOffset = log.logEndOffset;
    if (state.fetchOffset < logStartOffset || state.fetchOffset > logEndOffset) {
      // The log end goes with it: a follower past it truncates there (Kafka's follower asks for it separately).
      return failure(state, 'OFFSET_OUT_OF_RANGE', `fetch offset ${state.fetchOffset} is outside [${logStartOffset}, ${logEndOffset}]`, { highWatermark, logStartOffset, logEndOffset });
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
    return { ...base, recordBatches: records };
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

/**
 * Whether a fetch at the session's remembered state can be served: its last epoch agrees with
 * this log and its offset lies inside it. Only such a fetch counts as the follower's progress.
 */
function servable(log: PartitionLog, state: SessionPartition): boolean {
  if (state.fetchOffset < log.logStartOffset || state.fetchOffset > log.logEndOffset) return false;
  return divergingEpoch(log, state.lastFetchedEpoch, state.fetchOffset) === undefined;
}

function failure(
  state: SessionPartition,
  code: ErrorCode,
  message: string,
  bounds: { highWatermark: bigint; logStartOffset: bigint; logEndOffset?: bigint } = { highWatermark: -1n, logStartOffset: -1n },
): ReplicaFetchPartitionResult {
  const result: ReplicaFetchPartitionResult = {
    topic: state.topic,
    topicId: state.topicId,
    partition: state.partition,
    highWatermark: bounds.highWatermark,
    logStartOffset: bounds.logStartOffset,
    recordBatches: Buffer.alloc(0),
    error: { code, message },
  };
  if (bounds.logEndOffset !== undefined) result.leaderLogEnd = bounds.logEndOffset;
  return result;
}
