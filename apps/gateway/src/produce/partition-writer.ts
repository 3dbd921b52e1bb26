/**
 * Sends each partition's writes to its leader, in order, retrying across leader changes.
 *
 * Every partition has a lane: a FIFO of writes. A lane runs in one of two modes:
 *
 * - Pipelined: the last write succeeded at the leader the metadata still names (same node,
 *   leader epoch and topic id) within the same append session (stream) to that node. Writes
 *   are then sent without waiting for each other: the node applies them in stream order, and
 *   once it has accepted a write in an epoch it refuses later ones only if it lost the
 *   leadership, which refuses all later ones too. So no later write can succeed where an
 *   earlier one failed.
 * - Probing: after a failure, at start, or when the route changed, one write is in flight at
 *   a time until one succeeds. A leader that does not know its epoch yet (UNKNOWN_LEADER_EPOCH,
 *   or a topic created a moment ago) could otherwise refuse one write and accept the next.
 *
 * When a write fails with a leader error (see `leaderRetryCodes`) before its deadline, the lane
 * stops sending, lets what is in flight settle, puts every failed write back at its head in
 * the original order, waits for the metadata to name another route (or a backoff, for a
 * leader that lags), and probes again. Writes are never reordered relative to later writes of
 * the same partition, whichever client stream they came from.
 */
import { StarlaneError, backoffMs, errorCodeFromWire, wireErrorCode } from '@starlane/model';
import { type internalV1, v1 } from '@starlane/proto';
import { leaderRetryBackoff } from '../backoff';
import { isLeaderRetriable, routeChanged, routePartition, sameRoute, type MetadataSource, type PartitionRoute } from '../routing';
import { AnswerLostError, type StorageTransport } from '../storage/transport';

export interface PartitionWrite {
  readonly topic: string;
  readonly partition: number;
  /** One or more RecordBatch v2 batches, forwarded as they are. */
  readonly recordBatches: Buffer;
  readonly acks: v1.Acks;
  /** Absolute time (ms) after which the write is not sent again. */
  readonly deadlineMs: number;
}

interface Work {
  readonly write: PartitionWrite;
  readonly sequence: number;
  readonly resolve: (result: v1.ProducePartitionResult) => void;
  attempts: number;
  lastError: StarlaneError | undefined;
  /** The route of the failed attempt, to wait for metadata that names another. */
  failedRoute: PartitionRoute | undefined;
}

interface Lane {
  readonly topic: string;
  readonly partition: number;
  /** Writes not yet sent (failed ones are put back at the front), in order. */
  readonly queue: Work[];
  /** Failed writes waiting for the in-flight ones to settle before they go back to the queue. */
  readonly failed: Work[];
  inflight: number;
  waiting: boolean;
  confirmed: { readonly route: PartitionRoute; readonly session: number } | undefined;
}

/** Lanes kept while idle (their pipelined state saves a probe); idle ones beyond it are dropped. */
export const idleLanesMax = 10_000;

export interface PartitionWriterOptions {
  readonly metadata: MetadataSource;
  readonly transport: StorageTransport;
  /** Milliseconds now. */
  readonly now: () => number;
}

export class PartitionWriter {
  private readonly lanes = new Map<string, Lane>();
  private sequence = 0;

  constructor(private readonly options: PartitionWriterOptions) {}

  /** Writes to the partition's leader; resolves with its result (never rejects). */
  write(write: PartitionWrite): Promise<v1.ProducePartitionResult> {
    return new Promise((resolve) => {
      const lane = this.lane(write.topic, write.partition);
      lane.queue.push({ write, sequence: this.sequence++, resolve, attempts: 0, lastError: undefined, failedRoute: undefined });
      this.pump(lane);
    });
  }

  /** Lanes currently held (for metrics and tests). */
  get laneCount(): number {
    return this.lanes.size;
  }

  private lane(topic: string, partition: number): Lane {
    const key = `${partition}\u0000${topic}`;
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      if (this.lanes.size >= idleLanesMax) this.dropIdleLanes();
      lane = { topic, partition, queue: [], failed: [], inflight: 0, waiting: false, confirmed: undefined };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private dropIdleLanes(): void {
    for (const [key, lane] of this.lanes) {
      if (lane.queue.length === 0 && lane.failed.length === 0 && lane.inflight === 0 && !lane.waiting) this.lanes.delete(key);
    }
  }

  private pump(lane: Lane): void {
    if (lane.waiting) return;
    if (lane.failed.length > 0) {
      // Nothing more goes out until every write in flight has settled; then the failed ones
      // go back to the front, in their original order, and the lane waits for a new route.
      if (lane.inflight > 0) return;
      lane.failed.sort((a, b) => a.sequence - b.sequence);
      lane.queue.unshift(...lane.failed.splice(0, lane.failed.length));
      this.waitForRoute(lane);
      return;
    }
    const { metadata, transport, now } = this.options;
    while (lane.queue.length > 0) {
      const work = lane.queue[0]!;
      if (work.attempts > 0 && now() >= work.write.deadlineMs) {
        lane.queue.shift();
        this.finish(work, errorResult(work.write, work.lastError ?? new StarlaneError('REQUEST_TIMED_OUT', 'the write did not complete in time')));
        continue;
      }
      const routed = routePartition(metadata.current(), lane.topic, lane.partition);
      if (!routed.ok) {
        if (routed.error.code !== 'LEADER_NOT_AVAILABLE' || now() >= work.write.deadlineMs) {
          lane.queue.shift();
          this.finish(work, errorResult(work.write, routed.error));
          continue;
        }
        if (lane.inflight > 0) return;
        work.lastError = routed.error;
        work.failedRoute = undefined;
        work.attempts += 1;
        this.waitForRoute(lane);
        return;
      }
      const route = routed.route;
      const confirmed = lane.confirmed;
      const pipelined = confirmed !== undefined && sameRoute(confirmed.route, route) && transport.appendSession(route.leader) === confirmed.session;
      if (!pipelined && lane.inflight > 0) return;
      lane.queue.shift();
      this.send(lane, work, route);
      if (!pipelined) return;
    }
    this.forgetIfIdle(lane);
  }

  private send(lane: Lane, work: Work, route: PartitionRoute): void {
    const { write } = work;
    lane.inflight += 1;
    work.attempts += 1;
    const data: internalV1.AppendPartitionData = {
      topic: route.topic,
      topicId: route.topicId,
      partition: route.partition,
      currentLeaderEpoch: route.leaderEpoch,
      recordBatches: write.recordBatches,
    };
    // NONE is LEADER to a storage node: the gateway has already answered its client.
    const acks = write.acks === v1.Acks.NONE ? v1.Acks.LEADER : write.acks;
    const timeoutMs = Math.max(1, write.deadlineMs - this.options.now());
    this.options.transport.append(route.leader, { acks, timeoutMs, partitions: [data] }).then(
      ({ session, results }) => this.settle(lane, work, route, session, results[0] ?? errorResult(write, new StarlaneError('UNKNOWN_SERVER_ERROR', 'the leader sent no result'))),
      (error: unknown) => this.settle(lane, work, route, undefined, errorResult(write, asStarlaneError(error)), error instanceof AnswerLostError),
    );
  }

  private settle(lane: Lane, work: Work, route: PartitionRoute, session: number | undefined, result: v1.ProducePartitionResult, answerLost = false): void {
    lane.inflight -= 1;
    const code = errorCodeFromWire(result.errorCode);
    // The leader wrote the records but could not commit them (it says where they went), or the
    // answer was lost after sending: they may survive, so sending them again could store them
    // twice. The client hears the error and decides.
    const maybeWritten = answerLost || (code !== undefined && result.baseOffset >= 0n);
    if (code === undefined) {
      if (session !== undefined) lane.confirmed = { route, session };
      this.finish(work, result);
    } else if (maybeWritten) {
      lane.confirmed = undefined;
      this.finish(work, { ...result, baseOffset: -1n });
    } else if (isLeaderRetriable(code) && this.options.now() < work.write.deadlineMs) {
      lane.confirmed = undefined;
      work.lastError = new StarlaneError(code, result.errorMessage || code);
      work.failedRoute = route;
      lane.failed.push(work);
    } else {
      this.finish(work, result);
    }
    this.pump(lane);
  }

  private waitForRoute(lane: Lane): void {
    const head = lane.queue[0];
    if (head === undefined) return;
    lane.waiting = true;
    const waitMs = Math.max(0, Math.min(backoffMs(head.attempts - 1, leaderRetryBackoff), head.write.deadlineMs - this.options.now()));
    const failedRoute = head.failedRoute;
    // A new route ends the wait at once; a leader that only lags behind the metadata gets the backoff.
    void this.options.metadata.waitFor((image) => routeChanged(image, lane.topic, lane.partition, failedRoute), waitMs).then(() => {
      lane.waiting = false;
      this.pump(lane);
    });
  }

  private finish(work: Work, result: v1.ProducePartitionResult): void {
    work.resolve({ ...result, topic: work.write.topic, partition: work.write.partition });
  }

  private forgetIfIdle(lane: Lane): void {
    if (this.lanes.size <= idleLanesMax) return;
    if (lane.queue.length === 0 && lane.failed.length === 0 && lane.inflight === 0 && !lane.waiting) this.lanes.delete(`${lane.partition}\u0000${lane.topic}`);
  }
}

export function asStarlaneError(error: unknown): StarlaneError {
  if (error instanceof StarlaneError) return error;
  return new StarlaneError('UNKNOWN_SERVER_ERROR', error instanceof Error ? error.message : String(error), { cause: error });
}

/** A partition result carrying `error`. */
export function errorResult(at: { topic: string; partition: number }, error: StarlaneError): v1.ProducePartitionResult {
  return {
    topic: at.topic,
    partition: at.partition,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorCode: wireErrorCode(error.code) as v1.ErrorCode,
    errorMessage: error.message,
  };
}
