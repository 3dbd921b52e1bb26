/**
 * ConsumerService.Subscribe: one subscription per client stream.
 *
 * Start positions come from the leaders (ListOffsets) for EARLIEST, LATEST and timestamps.
 * Then, per leader node, one read is always outstanding for all of the subscription's
 * partitions that node leads (a long-poll with min_bytes 1), and whatever it returns is pushed
 * to the client at once, then the next read goes out. When the client's stream is not
 * writable (HTTP/2 flow control), no new read goes out until it drains, so a slow consumer is
 * never buffered without bound.
 *
 * A partition whose leader moves is re-routed silently (within subscribeLeaderWaitMsMax); one
 * that fails otherwise (OFFSET_OUT_OF_RANGE, the topic deleted, ...) is reported once and
 * dropped. When every partition has been dropped the stream ends.
 */
import { StarlaneError, backoffMs, validateTopicName } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { leaderRetryBackoff } from '../backoff';
import { fetchPartitionsMax, subscribeLeaderWaitMsMax, subscribeMessageBytesDefault, subscribeMessageBytesMax, subscribeReadWaitMs } from '../limits';
import { asStarlaneError } from '../produce/partition-writer';
import { noMetadataError, routeChanged, routePartition, type PartitionRoute } from '../routing';
import { readFromLeader, validateFormat, type ReadDeps, type ReadTarget } from './fetch-handler';
import { lookUpOffsets } from './list-offsets';
import { fetchErrorResult, hasPayload, normalizeRead, presentRead } from './read-result';

/** Where pushed messages go: the server stream in production. */
export interface SubscriptionSink {
  /** Sends one message; false when the client is not keeping up (wait for onDrain). */
  write(message: v1.SubscribeResponse): boolean;
  /** Calls `listener` once, when the stream can take more. */
  onceDrained(listener: () => void): void;
  /** Ends the stream (every partition dropped). */
  end(): void;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  offset: bigint;
  /** The node whose read group holds it; undefined while it waits for a leader. */
  node: number | undefined;
  dropped: boolean;
  /** When it started waiting for a usable leader; undefined while it has one. */
  leaderlessSinceMs: number | undefined;
  lastRoute: PartitionRoute | undefined;
  rerouteAttempts: number;
}

/** Request-level checks (INVALID_REQUEST): partitions present, unique and with a valid start. */
export function validateSubscribeRequest(request: v1.SubscribeRequest): void {
  if (request.partitions.length === 0) throw new StarlaneError('INVALID_REQUEST', 'a subscription needs at least one partition');
  if (request.partitions.length > fetchPartitionsMax) throw new StarlaneError('INVALID_REQUEST', `${request.partitions.length} partitions in one subscription; at most ${fetchPartitionsMax}`);
  if (request.maxBytesPerMessage < 0) throw new StarlaneError('INVALID_REQUEST', `max_bytes_per_message ${request.maxBytesPerMessage} is negative`);
  validateFormat(request.format, request.isolationLevel);
  const seen = new Set<string>();
  for (const partition of request.partitions) {
    const key = `${partition.partition}\u0000${partition.topic}`;
    if (seen.has(key)) throw new StarlaneError('INVALID_REQUEST', `${partition.topic}-${partition.partition} appears twice`);
    seen.add(key);
    const spec = partition.start?.spec;
    if (spec === undefined) throw new StarlaneError('INVALID_REQUEST', `${partition.topic}-${partition.partition} has no start position`);
    if (spec.$case === 'boundary' && spec.value !== v1.OffsetBoundary.EARLIEST && spec.value !== v1.OffsetBoundary.LATEST) {
      throw new StarlaneError('INVALID_REQUEST', `${partition.topic}-${partition.partition}: a subscription starts at EARLIEST, LATEST, a timestamp or an offset`);
    }
    if (spec.$case === 'offset' && spec.value < 0n) throw new StarlaneError('INVALID_REQUEST', `${partition.topic}-${partition.partition}: start offset ${spec.value} is negative`);
    if (spec.$case === 'timestampMs' && spec.value < 0n) throw new StarlaneError('INVALID_REQUEST', `${partition.topic}-${partition.partition}: start timestamp ${spec.value} is negative`);
  }
}

export class Subscription {
  private readonly partitions: PartitionState[] = [];
  private readonly loops = new Set<number>();
  private closed = false;
  private drained: Promise<void> | undefined;
  private readonly maxBytes: number;
  private readonly format: v1.RecordFormat;
  private readonly isolationLevel: v1.IsolationLevel;

  constructor(
    private readonly deps: ReadDeps,
    private readonly request: v1.SubscribeRequest,
    private readonly sink: SubscriptionSink,
  ) {
    validateSubscribeRequest(request);
    this.maxBytes = Math.min(request.maxBytesPerMessage === 0 ? subscribeMessageBytesDefault : request.maxBytesPerMessage, subscribeMessageBytesMax);
    this.format = request.format === v1.RecordFormat.UNSPECIFIED ? v1.RecordFormat.BYTES : request.format;
    this.isolationLevel = request.isolationLevel === v1.IsolationLevel.UNSPECIFIED ? v1.IsolationLevel.READ_UNCOMMITTED : request.isolationLevel;
  }

  /** Resolves start positions and starts reading; errors found on the way are pushed. Rejects (the call fails) while the gateway has no metadata. */
  async start(): Promise<void> {
    if (!this.deps.metadata.ready) throw noMetadataError(this.deps.metadata);
    const errors: v1.FetchPartitionResult[] = [];
    const lookups: { state: PartitionState; spec: v1.OffsetSpec }[] = [];
    const image = this.deps.metadata.current();
    for (const requested of this.request.partitions) {
      const state: PartitionState = { topic: requested.topic, partition: requested.partition, offset: 0n, node: undefined, dropped: false, leaderlessSinceMs: undefined, lastRoute: undefined, rerouteAttempts: 0 };
      try {
        validateTopicName(requested.topic);
        const routed = routePartition(image, requested.topic, requested.partition);
        if (!routed.ok && routed.error.code === 'UNKNOWN_TOPIC_OR_PARTITION') throw routed.error;
      } catch (error) {
        state.dropped = true;
        errors.push(fetchErrorResult(requested, asStarlaneError(error)));
        continue;
      }
      this.partitions.push(state);
      const spec = requested.start!.spec!;
      if (spec.$case === 'offset') state.offset = spec.value;
      else lookups.push({ state, spec: requested.start! });
    }
    if (lookups.length > 0) {
      const deadlineMs = this.deps.now() + subscribeLeaderWaitMsMax;
      const found = await lookUpOffsets(this.deps, this.isolationLevel, lookups.map(({ state, spec }) => ({ topic: state.topic, partition: state.partition, spec })), deadlineMs);
      // A timestamp after every record starts at LATEST.
      const latest: { state: PartitionState; index: number }[] = [];
      found.forEach((result, index) => {
        const { state, spec } = lookups[index]!;
        if (result.errorCode !== v1.ErrorCode.NONE) {
          this.drop(state);
          errors.push({ ...fetchErrorResult(state, new StarlaneError('UNKNOWN_SERVER_ERROR', result.errorMessage)), errorCode: result.errorCode });
        } else if (result.offset < 0n && spec.spec?.$case === 'timestampMs') {
          latest.push({ state, index });
        } else {
          state.offset = result.offset;
        }
      });
      if (latest.length > 0) {
        const ends = await lookUpOffsets(this.deps, this.isolationLevel, latest.map(({ state }) => ({ topic: state.topic, partition: state.partition, spec: { spec: { $case: 'boundary', value: v1.OffsetBoundary.LATEST } } })), deadlineMs);
        ends.forEach((result, position) => {
          const { state } = latest[position]!;
          if (result.errorCode !== v1.ErrorCode.NONE) {
            this.drop(state);
            errors.push({ ...fetchErrorResult(state, new StarlaneError('UNKNOWN_SERVER_ERROR', result.errorMessage)), errorCode: result.errorCode });
          } else {
            state.offset = result.offset;
          }
        });
      }
    }
    if (this.closed) return;
    if (errors.length > 0) this.push(errors);
    for (const state of this.partitions) if (!state.dropped) this.assign(state);
    this.endIfEmpty();
  }

  /** The client went away: stop reading (reads in flight finish at the node and are dropped). */
  close(): void {
    this.closed = true;
  }

  private live(): PartitionState[] {
    return this.partitions.filter((state) => !state.dropped);
  }

  private drop(state: PartitionState): void {
    state.dropped = true;
    state.node = undefined;
  }

  private endIfEmpty(): void {
    if (!this.closed && this.live().length === 0) {
      this.closed = true;
      this.sink.end();
    }
  }

  private push(results: v1.FetchPartitionResult[]): void {
    if (this.closed || results.length === 0) return;
    if (!this.sink.write({ partitions: results }) && this.drained === undefined) {
      this.drained = new Promise((resolve) =>
        this.sink.onceDrained(() => {
          this.drained = undefined;
          resolve();
        }),
      );
    }
  }

  /** Puts a partition in its leader's read group, or waits for a leader. */
  private assign(state: PartitionState): void {
    if (this.closed || state.dropped) return;
    const routed = routePartition(this.deps.metadata.current(), state.topic, state.partition);
    if (!routed.ok) {
      if (routed.error.code === 'LEADER_NOT_AVAILABLE') this.reroute(state, undefined, routed.error);
      else this.fail(state, routed.error);
      return;
    }
    state.node = routed.route.leader.nodeId;
    state.lastRoute = routed.route;
    if (!this.loops.has(state.node)) this.startLoop(state.node);
  }

  /**
   * Runs the read loop of one node. A failure inside it is a bug, but it must not end the
   * process with every client on it: the partitions that node served are reported and dropped.
   */
  private startLoop(nodeId: number): void {
    this.loops.add(nodeId);
    this.readLoop(nodeId).catch((error: unknown) => {
      const failure = new StarlaneError('UNKNOWN_SERVER_ERROR', `reading from node ${nodeId} failed: ${error instanceof Error ? error.message : String(error)}`);
      const affected = this.live().filter((state) => state.node === nodeId);
      for (const state of affected) this.drop(state);
      this.push(affected.map((state) => fetchErrorResult(state, failure)));
      this.endIfEmpty();
    });
  }

  private fail(state: PartitionState, error: StarlaneError): void {
    if (state.dropped) return;
    this.drop(state);
    this.push([fetchErrorResult(state, error)]);
    this.endIfEmpty();
  }

  /** Waits for the metadata to name another leader (or a backoff), then assigns again; gives up after subscribeLeaderWaitMsMax. */
  private reroute(state: PartitionState, failedRoute: PartitionRoute | undefined, error: StarlaneError): void {
    state.node = undefined;
    const now = this.deps.now();
    state.leaderlessSinceMs ??= now;
    if (now - state.leaderlessSinceMs >= subscribeLeaderWaitMsMax) {
      this.fail(state, error);
      return;
    }
    const waitMs = backoffMs(state.rerouteAttempts, leaderRetryBackoff);
    state.rerouteAttempts += 1;
    void this.deps.metadata.waitFor((image) => routeChanged(image, state.topic, state.partition, failedRoute), waitMs).then(() => this.assign(state));
  }

  private async readLoop(nodeId: number): Promise<void> {
    try {
      while (!this.closed) {
        if (this.drained !== undefined) await this.drained;
        if (this.closed) break;
        const members = this.live().filter((state) => state.node === nodeId);
        if (members.length === 0) break;
        // Partitions whose leader moved elsewhere since they joined go to their new group.
        const image = this.deps.metadata.current();
        const entries: { route: PartitionRoute; index: number; state: PartitionState }[] = [];
        for (const state of members) {
          const routed = routePartition(image, state.topic, state.partition);
          if (!routed.ok || routed.route.leader.nodeId !== nodeId) {
            state.node = undefined;
            this.assign(state);
            continue;
          }
          state.lastRoute = routed.route;
          entries.push({ route: routed.route, index: entries.length, state });
        }
        if (entries.length === 0) continue;
        const targets: ReadTarget[] = entries.map(({ state }) => ({ topic: state.topic, partition: state.partition, offset: state.offset, maxBytes: this.maxBytes }));
        const outcomes = await readFromLeader(this.deps.transport, entries, targets, {
          maxWaitMs: subscribeReadWaitMs,
          minBytes: 1,
          maxBytes: this.maxBytes,
          isolationLevel: this.isolationLevel,
        });
        if (this.closed) break;
        const out: v1.FetchPartitionResult[] = [];
        for (let position = 0; position < entries.length; position++) {
          const { state, route } = entries[position]!;
          const outcome = outcomes[position]!;
          // Moved, dropped or re-positioned while the read was out: this answer is stale.
          if (state.dropped || state.node !== nodeId || state.offset !== targets[position]!.offset) continue;
          if (outcome.kind === 'retry') {
            this.reroute(state, route, outcome.error);
            continue;
          }
          if (outcome.kind === 'error') {
            this.drop(state);
            out.push(fetchErrorResult(state, outcome.error));
            continue;
          }
          state.leaderlessSinceMs = undefined;
          state.rerouteAttempts = 0;
          const read = normalizeRead(outcome.result, state.offset);
          if (read.batches.length === 0 && read.nextOffset === state.offset) continue;
          const presented = await presentRead(state, outcome.result, read, state.offset, this.format);
          if (presented.errorCode !== v1.ErrorCode.NONE) {
            this.drop(state);
            out.push(presented);
            continue;
          }
          state.offset = read.nextOffset;
          if (hasPayload(presented)) out.push(presented);
        }
        this.push(out);
        this.endIfEmpty();
      }
    } finally {
      this.loops.delete(nodeId);
      // A partition may have joined this node's group after the loop decided to stop.
      if (!this.closed && this.live().some((state) => state.node === nodeId) && !this.loops.has(nodeId)) this.startLoop(nodeId);
    }
  }
}
