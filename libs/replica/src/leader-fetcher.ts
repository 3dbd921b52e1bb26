/**
 * The follower side of replication: for every leader this node follows partitions of, one
 * ReplicaFetch stream (the session) with one fetch outstanding at a time. Streams come from a
 * `ReplicaStreamPort` (gRPC in the storage node, the seeded network under simulation).
 *
 * A fetch lists only partitions that are new to the session or whose fetch state moved (log
 * end, last epoch, or the leader epoch the metadata shows). The answer is applied partition by
 * partition, in order: a diverging epoch truncates the log to where it agrees with the leader
 * (KIP-101/KIP-320; never to the follower's high watermark), records are appended unchanged,
 * and the leader's high watermark becomes this replica's (capped by its log end). A fetch past
 * the leader's log end (this replica holds records an unclean election lost) truncates to that
 * end, and one below the leader's log start starts over there (Kafka's out-of-range handling).
 *
 * No retry is a busy loop. A partition the leader refused, whose records the log refused, or
 * that got the same truncation answer again for the same log state (acting on it would change
 * nothing) leaves the session and waits with bounded exponential back-off (`FetchPacing`), or
 * until its leader epoch changes; a repeated answer is logged at warn, rate-limited, and
 * counted. A broken stream is reopened with back-off too, and every partition added again.
 *
 * Which partitions follow which leader is recomputed from the metadata by `ReplicaFetchers`.
 */
import type { Scheduler } from '@starlane/io-ports';
import type { PartitionLog } from '@starlane/log';
import { StarlaneError, backoffMs, type BackoffBounds, type ErrorCode } from '@starlane/model';
import { FetchPacing, truncationFor, type EpochEnd } from '@starlane/replication';
import type { HostedPartition } from './hosted-partition';
import { partitionKey } from './partition-dirs';
import type { PartitionManager } from './partition-manager';
import type { ReplicaFetchPartition, ReplicaFetchPartitionResult, ReplicaFetchRequest, ReplicaFetchResponse, ReplicaStreamPort } from './replica-messages';

/** Longest the leader holds a fetch with nothing to report: bounds how late a follower sees new metadata. */
export const replicaFetchWaitMs = 500;
/** Bytes the follower asks for per response, and per partition (more than Kafka's 1 MiB
 * replica.fetch.max.bytes: a busy leader's appends then reach followers in fewer round trips). */
export const replicaFetchResponseBytes = 10 * 1024 * 1024;
export const replicaFetchPartitionBytes = 8 * 1024 * 1024;
/** How often a fetcher looks again while this node has no registration epoch yet. */
export const nodeEpochPollMs = 200;
/**
 * Back-off of a partition whose fetch made no progress (refused by the leader or the log, or
 * the same truncation answer again): first and largest; it doubles per failure in a row.
 * Kafka waits replica.fetch.backoff.ms (1 s) each time.
 */
export const replicaFetchBackoffMsInitial = 200;
export const replicaFetchBackoffMsMax = 2_000;
/** A partition's repeated truncation answers are logged at most once per this interval. */
export const repeatedDivergenceLogIntervalMs = 30_000;
/** Backoff for reopening a broken stream: first and largest; it doubles per break in a row. */
export const replicaStreamBackoffMsInitial = 100;
export const replicaStreamBackoffMsMax = 2_000;
const replicaStreamBackoff: BackoffBounds = { initialMs: replicaStreamBackoffMsInitial, maxMs: replicaStreamBackoffMsMax };

export interface FetcherLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * What a leader's truncation answer led to: the log was cut (`truncated`), emptied to start
 * over (`restarted`), or left alone because the same answer came again for the same log
 * state (`repeated`; the partition backs off).
 */
export type DivergenceOutcome = 'truncated' | 'restarted' | 'repeated';

export interface ReplicaFetcherOptions {
  readonly manager: PartitionManager;
  /** Streams to leaders (gRPC in the storage node, the seeded network in the simulator). */
  readonly streams: ReplicaStreamPort;
  /** This node's current registration epoch; undefined until registered. */
  readonly nodeEpoch: () => bigint | undefined;
  readonly scheduler: Scheduler;
  readonly nowMs: () => number;
  readonly logger: FetcherLogger;
  /** Told of every truncation answer acted on or refused as a repeat (the storage node counts them). */
  readonly onDivergence?: (outcome: DivergenceOutcome) => void;
}

interface Followed {
  readonly hosted: HostedPartition;
  /** Fetch state last sent on the current stream; undefined when the leader does not know the partition. */
  sent: { fetchOffset: bigint; lastFetchedEpoch: number; leaderEpoch: number } | undefined;
  /** A partition backing off waits until then, or until its leader epoch moves from `retryUnlessEpoch`. */
  retryAtMs: number;
  retryUnlessEpoch: number;
  readonly pacing: FetchPacing;
}

const pacingBounds = { backoffMsInitial: replicaFetchBackoffMsInitial, backoffMsMax: replicaFetchBackoffMsMax, repeatLogIntervalMs: repeatedDivergenceLogIntervalMs };

const keyOf = (hosted: HostedPartition): string => partitionKey(hosted.topicId, hosted.partition);

/** Where a leader is reached, as the metadata lists it. */
export interface LeaderAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** Follows every partition led by one node, over one stream to it. */
export class LeaderFetcher {
  private readonly followed = new Map<string, Followed>();
  private readonly dropped: { topic: string; partition: number }[] = [];
  private closed = false;
  private running = false;
  /** Streams that broke in a row (for the back-off); reset by a response the leader accepted. */
  private streamBreaks = 0;
  private wakeIdle: (() => void) | undefined;

  constructor(
    readonly leader: LeaderAddress,
    private readonly options: ReplicaFetcherOptions,
  ) {}

  get leaderId(): number {
    return this.leader.nodeId;
  }

  /** Makes `partitions` the set this fetcher follows. */
  setPartitions(partitions: readonly HostedPartition[]): void {
    const wanted = new Map(partitions.map((hosted) => [keyOf(hosted), hosted]));
    for (const [key, entry] of this.followed) {
      if (wanted.get(key) === entry.hosted) continue;
      this.followed.delete(key);
      if (entry.sent !== undefined) this.dropped.push({ topic: entry.hosted.topic, partition: entry.hosted.partition });
    }
    for (const [key, hosted] of wanted) {
      if (!this.followed.has(key)) this.followed.set(key, { hosted, sent: undefined, retryAtMs: 0, retryUnlessEpoch: -1, pacing: new FetchPacing(pacingBounds) });
    }
    if (!this.running && this.followed.size > 0) void this.run();
    this.wakeIdle?.();
  }

  /** Stops fetching; a fetch in flight is left to finish, and its stream then closes. */
  close(): void {
    this.closed = true;
    this.wakeIdle?.();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.followed.size > 0) {
        const nodeEpoch = this.options.nodeEpoch();
        if (nodeEpoch === undefined) {
          await this.idle(nodeEpochPollMs);
          continue;
        }
        try {
          await this.session(nodeEpoch);
        } catch (error) {
          if (this.closed) break;
          this.options.logger.warn({ leader: this.leaderId, address: `${this.leader.host}:${this.leader.port}`, error: error instanceof Error ? error.message : String(error) }, 'replication stream to the leader failed; reopening');
          await this.idle(backoffMs(this.streamBreaks, replicaStreamBackoff));
          this.streamBreaks += 1;
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** One stream: fetch, apply, repeat, until closed, empty, or broken. */
  private async session(nodeEpoch: bigint): Promise<void> {
    const stream = this.options.streams.open(this.leader);
    for (const entry of this.followed.values()) entry.sent = undefined;
    this.dropped.length = 0;
    try {
      while (!this.closed && this.followed.size > 0) {
        // The leader quotes the epoch a stream opened with in ISR proposals, and the controller
        // refuses a stale one: after this node registers again, only a new stream gets it back in.
        if (this.options.nodeEpoch() !== nodeEpoch) return;
        const request = this.nextRequest(nodeEpoch);
        if (request === undefined) {
          // Every partition is backing off: nothing to fetch until the first may go again.
          await this.idle(this.untilFirstRetryMs());
          continue;
        }
        const response: ReplicaFetchResponse = await stream.fetch(request);
        if (response.error !== undefined) {
          throw new StarlaneError(response.error.code, response.error.message || 'the leader refused the replication session');
        }
        // The stream works: a later break starts its back-off over.
        this.streamBreaks = 0;
        for (const result of response.partitions) await this.apply(result);
      }
    } finally {
      stream.close();
    }
  }

  /** Whether the partition is still waiting out its back-off. */
  private backingOff(entry: Followed, nowMs: number): boolean {
    return entry.sent === undefined && nowMs < entry.retryAtMs && entry.hosted.state.leaderEpoch === entry.retryUnlessEpoch;
  }

  /** How long until the first partition backing off may be fetched again. */
  private untilFirstRetryMs(): number {
    const now = this.options.nowMs();
    let first = now + replicaFetchBackoffMsMax;
    for (const entry of this.followed.values()) if (this.backingOff(entry, now) && entry.retryAtMs < first) first = entry.retryAtMs;
    return Math.max(1, first - now);
  }

  private nextRequest(nodeEpoch: bigint): ReplicaFetchRequest | undefined {
    const now = this.options.nowMs();
    const partitions: ReplicaFetchPartition[] = [];
    let fetchable = 0;
    for (const entry of this.followed.values()) {
      const log = entry.hosted.onlineLog;
      if (log === undefined || !entry.hosted.isFollower) continue;
      if (this.backingOff(entry, now)) continue;
      fetchable += 1;
      const state = { fetchOffset: log.logEndOffset, lastFetchedEpoch: log.latestEpoch, leaderEpoch: entry.hosted.state.leaderEpoch };
      const sent = entry.sent;
      if (sent !== undefined && sent.fetchOffset === state.fetchOffset && sent.lastFetchedEpoch === state.lastFetchedEpoch && sent.leaderEpoch === state.leaderEpoch) continue;
      entry.sent = state;
      partitions.push({
        topic: entry.hosted.topic,
        topicId: entry.hosted.topicId,
        partition: entry.hosted.partition,
        fetchOffset: state.fetchOffset,
        lastFetchedEpoch: state.lastFetchedEpoch,
        currentLeaderEpoch: state.leaderEpoch,
        logStartOffset: log.logStartOffset,
        maxBytes: replicaFetchPartitionBytes,
      });
    }
    if (fetchable === 0) return undefined;
    const removedPartitions = this.dropped.splice(0);
    return {
      replicaNodeId: this.options.manager.nodeId,
      replicaNodeEpoch: nodeEpoch,
      maxWaitMs: replicaFetchWaitMs,
      minBytes: 1,
      maxBytes: replicaFetchResponseBytes,
      partitions,
      removedPartitions,
    };
  }

  private async apply(result: ReplicaFetchPartitionResult): Promise<void> {
    const entry = this.followed.get(partitionKey(result.topicId, result.partition));
    if (entry === undefined) return;
    const { hosted } = entry;
    const log = hosted.onlineLog;
    // Leadership may have moved while the answer was on its way: it no longer applies.
    if (log === undefined || !hosted.isFollower || hosted.state.leader !== this.leaderId) return;
    try {
      if (result.error !== undefined) return await this.applyError(entry, log, result, result.error.code);
      if (result.divergingEpoch !== undefined) return await this.applyDivergence(entry, log, result.divergingEpoch, result.logStartOffset);
      if (result.recordBatches.length > 0) await hosted.appendAsFollower(result.recordBatches);
      hosted.setFollowerHighWatermark(result.highWatermark);
      entry.pacing.progressed();
    } catch (error) {
      // The log refused (a gap, a role change under way): fetch again from where it ends, later.
      const retryAtMs = entry.pacing.failed(this.options.nowMs());
      this.options.logger.warn({ topic: hosted.topic, partition: hosted.partition, retryInMs: retryAtMs - this.options.nowMs(), error: error instanceof Error ? error.message : String(error) }, 'could not apply fetched records');
      this.pause(entry, retryAtMs);
    }
  }

  /** The leader refused the partition, and dropped it from the session with its answer. */
  private async applyError(entry: Followed, log: PartitionLog, result: ReplicaFetchPartitionResult, code: ErrorCode): Promise<void> {
    const { hosted } = entry;
    entry.sent = undefined;
    const leaderEnd = result.leaderLogEnd;
    if (code === 'OFFSET_OUT_OF_RANGE' && leaderEnd !== undefined && leaderEnd >= 0n && leaderEnd < log.logEndOffset) {
      // This replica holds records past the leader's end (an unclean election, or a leader that
      // lost what it had not flushed): keep what can agree and fetch on from the leader's end,
      // as Kafka's follower truncates to the leader's end offset. At or below the log start the
      // log starts over empty there.
      await this.truncateOn(entry, log, `out of range, leader log end ${leaderEnd}`, { logEndOffset: String(log.logEndOffset), leaderLogEndOffset: String(leaderEnd) }, 'follower log ends past the leader log end; truncating to it', () =>
        hosted.truncateAsFollower(leaderEnd).then(() => 'truncated' as const),
      );
      return;
    }
    if (code === 'OFFSET_OUT_OF_RANGE' && result.logStartOffset > log.logEndOffset) {
      // Retention moved past everything this replica has: start over where the leader's log begins.
      this.options.logger.info({ topic: hosted.topic, partition: hosted.partition, from: String(log.logEndOffset), to: String(result.logStartOffset) }, 'follower log behind the leader log start; starting over there');
      await hosted.restartAsFollower(result.logStartOffset);
      return;
    }
    this.pause(entry, entry.pacing.failed(this.options.nowMs()));
  }

  private async applyDivergence(entry: Followed, log: PartitionLog, diverging: EpochEnd, leaderLogStart: bigint): Promise<void> {
    const { hosted } = entry;
    const cut = truncationFor(diverging, log, log.logEndOffset);
    const fields = { logEndOffset: String(log.logEndOffset), divergingEpoch: diverging.epoch, leaderEndOffset: String(diverging.endOffset), cut: cut.kind === 'truncate' ? String(cut.offset) : 'restart' };
    await this.truncateOn(entry, log, `diverging epoch ${diverging.epoch} ends at ${diverging.endOffset}`, fields, 'follower log diverges from the leader; truncating', () =>
      cut.kind === 'truncate'
        ? hosted.truncateAsFollower(cut.offset).then(() => 'truncated' as const)
        : hosted.restartAsFollower(leaderLogStart > 0n ? leaderLogStart : 0n).then(() => 'restarted' as const),
    );
  }

  /**
   * Acts on a truncation answer, unless it is the same answer the partition already acted on
   * from the same log state: acting again would change nothing, so the partition backs off and
   * the repeat is reported (rate-limited) and counted instead.
   */
  private async truncateOn(entry: Followed, log: PartitionLog, answer: string, fields: object, message: string, act: () => Promise<DivergenceOutcome>): Promise<void> {
    const { hosted } = entry;
    const now = this.options.nowMs();
    const verdict = entry.pacing.truncation(answer, { logEndOffset: log.logEndOffset, lastEpoch: log.latestEpoch }, now);
    const where = { topic: hosted.topic, partition: hosted.partition, lastEpoch: log.latestEpoch, ...fields };
    if (verdict.kind === 'repeated') {
      this.options.onDivergence?.('repeated');
      if (verdict.report) {
        this.options.logger.warn({ ...where, repeats: verdict.repeats, retryInMs: verdict.retryAtMs - now }, `${message}: the same answer again, which changes nothing here; backing off`);
      }
      this.pause(entry, verdict.retryAtMs);
      return;
    }
    this.options.logger.info(where, message);
    this.options.onDivergence?.(await act());
  }

  /**
   * Stops fetching the partition until `retryAtMs` or a change of its leader epoch. The leader
   * is told to drop it from the session meanwhile (unless its answer already did), so it does
   * not keep answering for it.
   */
  private pause(entry: Followed, retryAtMs: number): void {
    if (entry.sent !== undefined) this.dropped.push({ topic: entry.hosted.topic, partition: entry.hosted.partition });
    entry.sent = undefined;
    entry.retryAtMs = retryAtMs;
    entry.retryUnlessEpoch = entry.hosted.state.leaderEpoch;
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wakeIdle = undefined;
        cancel();
        resolve();
      };
      const cancel = this.options.scheduler.schedule(ms, done);
      this.wakeIdle = done;
    });
  }
}
