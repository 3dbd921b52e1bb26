/**
 * A partition's log: an ordered, durable, replayable sequence of record batches split into
 * segments. The leader appends producer batches as they arrived (offsets and leader epoch are
 * rewritten in place, the CRC is checked but never recomputed, nothing is decompressed);
 * followers append batches that already carry offsets. Reads return whole batches.
 *
 * Concurrency: appends queue up and are written by one drain at a time, which coalesces every
 * queued batch into one gathered write per segment. Durability is group commit: any number of
 * appends waiting for an fsync share the next one. Reads run beside appends and only ever see
 * bytes whose write has completed. Everything that changes the segment list (roll, truncation,
 * retention, close) runs in the same serial lane as the drain.
 *
 * Files in the partition directory:
 *   <20-digit base offset>.log / .index / .timeindex   segments and their sparse indexes
 *   partition.checkpoint                               log start offset and recovery point
 *   leader-epoch-checkpoint                            epoch -> start offset (Kafka's format)
 *   <20-digit offset>.snapshot                         idempotent-producer state up to that offset
 *   .clean-shutdown                                    present only while the log is closed cleanly
 *
 * This class is the facade: it owns the state and the order of changes; opening and recovery,
 * the append path's checks, reads within a segment, the index cache, producer snapshots and the
 * cleaner's rewriting live in their own modules (see the README's module map).
 */
import { joinPath, type Clock, type LogFileSystem, type Scheduler } from '@starlane/io-ports';
import { StarlaneError, assert } from '@starlane/model';
import { lastOffset, setBaseOffset, setPartitionLeaderEpoch, type BatchHeader } from '@starlane/record-batch';
import {
  GatheredWrite,
  SerialLane,
  appendQueueBytesMax,
  followerDiscontinuity,
  shouldRoll,
  splitInput,
  takeCoalesced,
  type AcceptedAppend,
  type AppendResult,
  type PendingAppend,
} from './append-queue';
import { batchesOf, cleanBatches, compactionCandidates, installCleanedCopy, latestOffsetsOf, writeCleanedCopy } from './cleaner';
import type { LogConfig } from './config';
import { GroupCommit } from './group-commit';
import { IndexCache } from './index-cache';
import type { LeaderEpochCache } from './leader-epoch-cache';
import { compactionIntervalMs, recoveryCheckpointIntervalMs, repeatTask, retentionCheckIntervalMs, retentionFirstCheckDelayMsMax, type BackgroundTask } from './log-schedule';
import { cleanShutdownFileName, storageError, writeEpochs, writeState, type PartitionState } from './partition-files';
import { loadProducerState, removeProducerSnapshots, writeProducerSnapshot } from './producer-snapshots';
import type { ProducerStateManager, ProducerStateView } from './producer-state';
import { recoverLog, type OpenReport } from './recovery';
import { boundRetention, segmentsToDelete } from './retention';
import { Segment, segmentFileName } from './segment';
import { findOffsetForTimestamp, readFromSegment, segmentIndexFor } from './segment-read';
import { cutSegmentsAt, startEmptyAt } from './truncation';

// The bounds and names the log's modules define, exported from here as before.
export { appendCoalesceBytesMax, appendQueueBytesMax, relativeOffsetMax, type AppendResult } from './append-queue';
export { loadedIndexesMax } from './index-cache';
export { compactionIntervalMs, recoveryCheckpointIntervalMs, retentionCheckIntervalMs, retentionFirstCheckDelayMsMax, type BackgroundTask } from './log-schedule';
export { cleanShutdownFileName, leaderEpochFileName, stateFileName, storedBatchBytesMax } from './partition-files';
export { producerSnapshotSuffix, producerSnapshotsRetained } from './producer-snapshots';
export type { OpenReport } from './recovery';
export { readSlackBytes } from './segment-read';

export interface PartitionLogOptions {
  readonly directory: string;
  readonly fs: LogFileSystem;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly config: LogConfig;
  /**
   * Retention never deletes a segment holding offsets at or past this (the replica's high
   * watermark, as Kafka bounds it), so a follower that lags never finds records gone that were
   * not yet committed. Unbounded when not given.
   */
  readonly retainFrom?: () => bigint;
  /**
   * How often retention runs (Kafka's log.retention.check.interval.ms); `retentionCheckIntervalMs`
   * when not given. The first check comes after at most `retentionFirstCheckDelayMsMax`.
   */
  readonly retentionCheckIntervalMs?: number;
  /** Hears about housekeeping that failed and will be retried (the storage node logs it). */
  readonly onBackgroundError?: (task: BackgroundTask, error: unknown) => void;
  /**
   * Hears, once, that the log failed and went offline (a write, fsync, roll, truncation or
   * checkpoint failed): the storage node takes the log's directory offline, as Kafka's
   * LogDirFailureChannel does.
   */
  readonly onFailure?: (error: StarlaneError) => void;
}

export interface ReadResult {
  /** Whole batches, back to back; empty when there is nothing at `offset` yet. */
  readonly records: Buffer;
  /** The offset to read next: after the last returned batch, or the asked offset. */
  readonly nextOffset: bigint;
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
}

export interface CompactionReport {
  readonly segmentsCleaned: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** How long a replaced segment's old file stays open for reads already under way. */
export const replacedSegmentCloseDelayMs = 5_000;

export class PartitionLog {
  private readonly segments: Segment[];
  /**
   * Appends waiting to be written. A change to the files (truncation, close) swaps in a fresh
   * queue when it is called, so appends called after it are written after it: the log applies
   * appends and truncations in call order.
   */
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  /** The serial lane: the drain and every change to the segment list run here, one at a time. */
  private readonly lane = new SerialLane();
  private drainScheduled = false;
  private logStart: bigint;
  private logEnd: bigint;
  private compacted: boolean;
  /** Offset after the last batch whose write completed (ahead of logEnd inside a drain). */
  private writtenEnd: bigint;
  private persistedRecoveryPoint: bigint;
  /** Group commit: what is durable, and the fsyncs that make it so. */
  private readonly commit: GroupCommit;
  private failure: StarlaneError | null = null;
  private closed = false;
  /** Cancels the timers that follow the settings (flush, retention, cleaner). */
  private readonly timers: (() => void)[] = [];
  /** Cancels the recovery-point checkpoint timer, which runs from open to close whatever the settings. */
  private cancelCheckpointTimer: () => void = () => undefined;
  /** Bumped when the settings timers restart (reconfigure), so a tick of the old set does not reschedule itself. */
  private timerGeneration = 0;
  /** The settings in force: `options.config` until reconfigure() replaces them. */
  private currentConfig: LogConfig;

  private constructor(
    private readonly options: PartitionLogOptions,
    segments: Segment[],
    state: PartitionState,
    private readonly epochs: LeaderEpochCache,
    private producers: ProducerStateManager,
  ) {
    this.segments = segments;
    this.logStart = state.logStartOffset;
    this.logEnd = this.active.nextOffset;
    this.writtenEnd = this.logEnd;
    this.compacted = state.compacted;
    this.persistedRecoveryPoint = state.recoveryPoint;
    this.currentConfig = options.config;
    this.indexCache = new IndexCache(this.segments);
    this.commit = new GroupCommit(this.segments, state.recoveryPoint, {
      writtenEnd: () => this.writtenEnd,
      checkHealthy: () => this.checkHealthy(),
      fail: (error) => this.fail(error),
      failure: () => this.failure,
    });
  }

  get logStartOffset(): bigint {
    return this.logStart;
  }

  /** The offset the next record will get. */
  get logEndOffset(): bigint {
    return this.logEnd;
  }

  /** Every offset below this is on disk (fsynced). */
  get recoveryPoint(): bigint {
    return this.commit.durableEnd;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  get latestEpoch(): number {
    return this.epochs.latestEpoch();
  }

  private get active(): Segment {
    const last = this.segments.at(-1);
    assert(last !== undefined, 'a log always has an active segment');
    return last;
  }

  private get config(): LogConfig {
    return this.currentConfig;
  }

  /** The settings in force (the ones opened with, or the latest given to reconfigure). */
  get logConfig(): LogConfig {
    return this.currentConfig;
  }

  /**
   * Applies changed settings to the open log, as Kafka applies a topic config change without
   * reopening. They govern what happens next: the next append is checked against the new
   * `max.message.bytes` and rolls by the new `segment.bytes`/`segment.ms`; retention,
   * compaction and periodic flushes restart on the new schedule and policy (switching to
   * `compact` starts the cleaner, to `delete` stops it). Nothing already written is rewritten.
   * A closed or failed log ignores it.
   */
  reconfigure(config: LogConfig): void {
    if (this.closed || this.failure !== null) return;
    this.currentConfig = config;
    for (const cancel of this.timers.splice(0)) cancel();
    this.timerGeneration++;
    this.startSettingsTimers();
  }

  /** Whether offsets may have gaps: the log is compacted, or once was. */
  private get gapsAllowed(): boolean {
    return this.config.cleanupPolicy !== 'delete' || this.compacted;
  }

  private path(name: string): string {
    return joinPath(this.options.directory, name);
  }

  private get fs(): LogFileSystem {
    return this.options.fs;
  }

  private get directory(): string {
    return this.options.directory;
  }

  /**
   * Opens the log in `directory`, creating it if needed, and recovers it after an unclean
   * shutdown (see recovery.ts).
   */
  static async open(options: PartitionLogOptions): Promise<{ log: PartitionLog; report: OpenReport }> {
    const { fs, directory } = options;
    const { segments, state, epochs, savedRecoveryPoint, report } = await recoverLog(fs, directory, options.config);
    const producers = await loadProducerState(fs, directory, segments, segments.at(-1)?.nextOffset ?? state.logStartOffset);
    const log = new PartitionLog(options, segments, state, epochs, producers);
    for (const segment of segments.slice(0, -1)) if (segment.indexesLoaded) log.indexCache.add(segment);
    // The recovered state is made durable before the clean-shutdown marker goes: a crash from
    // here on recovers again from a correct starting point.
    if (state.recoveryPoint > (savedRecoveryPoint ?? -1n)) await log.syncAll();
    await log.persistState();
    await log.persistEpochs();
    if (report.cleanShutdown) {
      await fs.remove(joinPath(directory, cleanShutdownFileName));
      await fs.syncDirectory(directory);
    }
    log.startTimers();
    return { log, report };
  }

  private startTimers(): void {
    this.cancelCheckpointTimer = this.every(recoveryCheckpointIntervalMs, () => this.checkpointRecoveryPoint(), () => !this.closed);
    this.startSettingsTimers();
  }

  /** The timers whose period or existence the settings decide; reconfigure restarts them. */
  private startSettingsTimers(): void {
    const generation = this.timerGeneration;
    const live = (): boolean => !this.closed && generation === this.timerGeneration;
    const every = (intervalMs: number, task: () => Promise<void>, housekeeping?: BackgroundTask, firstDelayMs?: number): void => {
      this.timers.push(this.every(intervalMs, task, live, housekeeping, firstDelayMs));
    };
    if (this.config.flushMs > 0) every(this.config.flushMs, () => this.flush());
    // Kafka's retention checker and log cleaner run on their own; so do these.
    if (this.config.cleanupPolicy !== 'compact') {
      const intervalMs = this.options.retentionCheckIntervalMs ?? retentionCheckIntervalMs;
      every(intervalMs, async () => void (await this.deleteOldSegments()), 'retention', Math.min(intervalMs, retentionFirstCheckDelayMsMax));
    }
    if (this.config.cleanupPolicy !== 'delete') every(compactionIntervalMs, async () => void (await this.compact()), 'compaction');
  }

  /**
   * Runs `task` every `intervalMs` (the first time after `firstDelayMs`, by default the
   * interval) while `live()`; returns the function that cancels it. Durability tasks that fail
   * take the log offline; housekeeping that fails (a damaged batch the cleaner cannot decode,
   * say) is reported and tried again next time.
   */
  private every(intervalMs: number, task: () => Promise<void>, live: () => boolean, housekeeping?: BackgroundTask, firstDelayMs = intervalMs): () => void {
    return repeatTask(this.options.scheduler, intervalMs, firstDelayMs, task, live, (error) => {
      if (housekeeping === undefined || this.failure !== null) {
        this.fail(error);
        return false;
      }
      this.options.onBackgroundError?.(housekeeping, error);
      return true;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Appending

  /**
   * Appends producer batches as the partition leader: offsets are assigned from the log end
   * and `leaderEpoch` is stamped on each batch, in place. `records` is one or more whole
   * RecordBatch v2 batches. Resolves once written, and, when the flush policy asks for it,
   * once durable.
   */
  append(records: Buffer, leaderEpoch: number): Promise<AppendResult> {
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= 0, 'a leader appends with its epoch');
    return this.enqueue(records, leaderEpoch);
  }

  /** Appends batches copied from the leader; their offsets must continue the log exactly. */
  appendAsFollower(records: Buffer): Promise<AppendResult> {
    return this.enqueue(records, null);
  }

  private enqueue(records: Buffer, leaderEpoch: number | null): Promise<AppendResult> {
    try {
      this.checkOpen();
      const batches = splitInput(records, leaderEpoch !== null, this.config.maxMessageBytes);
      if (this.queuedBytes + records.length > appendQueueBytesMax) {
        throw new StarlaneError('THROTTLING_QUOTA_EXCEEDED', `the append queue holds ${this.queuedBytes} bytes already; retry shortly`);
      }
      return new Promise<AppendResult>((resolve, reject) => {
        const recordCount = batches.reduce((sum, batch) => sum + batch.header.recordCount, 0);
        this.queue.push({ batches, bytes: records.length, records: recordCount, leaderEpoch, resolve, reject });
        this.queuedBytes += records.length;
        this.scheduleDrain();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    const queue = this.queue;
    this.inLane(async () => {
      if (queue === this.queue) this.drainScheduled = false;
      await this.drain(queue);
    }).catch((error: unknown) => this.fail(error));
  }

  /** Called synchronously by changes to the files: later appends go to a new queue, behind them. */
  private cutQueue(): void {
    this.queue = [];
    this.drainScheduled = false;
  }

  /**
   * Runs a change to the segment files in the lane. If it fails part-way the files and the
   * in-memory state may disagree, so the log goes offline; reopening runs recovery.
   */
  private mutate<T>(task: () => Promise<T>): Promise<T> {
    return this.inLane(async () => {
      this.checkOpen();
      try {
        return await task();
      } catch (error) {
        this.fail(error);
        throw this.failure ?? error;
      }
    });
  }

  /** Runs `task` after every earlier lane task; lane tasks never overlap. */
  private inLane<T>(task: () => Promise<T>): Promise<T> {
    return this.lane.run(task);
  }

  /** Writes queued appends, coalesced, until the queue is empty. Runs in the lane. */
  private async drain(queue: PendingAppend[]): Promise<void> {
    while (queue.length > 0) {
      const { taken, takenBytes } = takeCoalesced(queue);
      this.queuedBytes -= takenBytes;
      if (this.failure !== null) {
        for (const item of taken) item.reject(this.failure);
        continue;
      }
      try {
        await this.writeAppends(taken);
      } catch (error) {
        // Whatever failed after data may have reached the file, the log can no longer vouch
        // for its state: it goes offline, and every append still waiting hears why.
        this.fail(error);
        for (const item of taken) item.reject(this.failure);
      }
    }
  }

  /**
   * Assigns offsets (a leader's batches) or checks them (a follower's), writes the batches with
   * one gathered write per segment, rolling where needed, then completes the appends.
   */
  private async writeAppends(items: PendingAppend[]): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    let next = this.logEnd;
    let group: GatheredWrite | null = null;
    const accepted: AcceptedAppend[] = [];

    const writeGroup = async (): Promise<void> => {
      if (group === null || group.empty) return;
      await group.write(this.config.indexIntervalBytes, nowMs);
      this.writtenEnd = group.segment.nextOffset;
      group = null;
    };

    for (const item of items) {
      if (item.leaderEpoch === null) {
        // A follower's batches must continue the log exactly, all of them, before any is written.
        const broken = followerDiscontinuity(item.batches, next, this.gapsAllowed);
        if (broken !== null) {
          item.reject(new StarlaneError('INVALID_REQUEST', `follower batches must continue the log at ${next} without gaps; found a batch at ${broken}`));
          continue;
        }
      }
      const itemBase = item.leaderEpoch === null ? (item.batches[0]?.header.baseOffset ?? next) : next;
      const itemHeaders: BatchHeader[] = [];
      for (const batch of item.batches) {
        if (item.leaderEpoch !== null) {
          setBaseOffset(batch.bytes, next);
          setPartitionLeaderEpoch(batch.bytes, item.leaderEpoch);
        }
        const header = item.leaderEpoch === null ? batch.header : { ...batch.header, baseOffset: next, partitionLeaderEpoch: item.leaderEpoch };
        if (shouldRoll(this.active, this.config, batch.bytes.length, lastOffset(header), nowMs, group?.bytes ?? 0)) {
          await writeGroup();
          await this.roll(next);
        }
        group ??= new GatheredWrite(this.active);
        group.add(batch.bytes, header);
        itemHeaders.push(header);
        next = lastOffset(header) + 1n;
      }
      accepted.push({ item, baseOffset: itemBase, lastOffset: next - 1n, headers: itemHeaders });
    }
    try {
      await writeGroup();
    } catch (error) {
      this.fail(error);
      for (const { item } of accepted) item.reject(this.failure);
      return;
    }
    await this.completeAppends(accepted, next, nowMs);
  }

  /** After the write: epochs and producer state learn the batches, the log end moves, appends resolve. */
  private async completeAppends(accepted: readonly AcceptedAppend[], next: bigint, nowMs: number): Promise<void> {
    let epochsChanged = false;
    for (const { item, headers } of accepted) {
      for (const header of headers) {
        if (this.epochs.assign(header.partitionLeaderEpoch, header.baseOffset)) epochsChanged = true;
        this.producers.update(header);
      }
      this.commit.unflushedRecords += item.records;
    }
    this.logEnd = next;
    // Only a new epoch rewrites the checkpoint: once per leader change, not per append.
    if (epochsChanged) await this.persistEpochs();

    const mustSync = this.config.flushMessages > 0 && this.commit.unflushedRecords >= this.config.flushMessages;
    const target = this.logEnd;
    for (const { item, baseOffset, lastOffset: last } of accepted) {
      const result = { baseOffset, lastOffset: last, appendTimeMs: nowMs };
      if (mustSync) this.flushTo(target).then(() => item.resolve(result), item.reject);
      else item.resolve(result);
    }
  }

  /** Starts a new active segment at `baseOffset`; the old one is flushed in the background. */
  private async roll(baseOffset: bigint): Promise<void> {
    const previous = this.active;
    previous.sealTimeIndex();
    await previous.persistIndexes();
    // As Kafka does, the producer state is snapshotted at every roll: a later open replays at
    // most one segment of batch headers.
    await this.writeProducerSnapshot();
    this.segments.push(await Segment.create(this.options.fs, this.options.directory, baseOffset));
    this.indexCache.add(previous);
    await this.indexCache.trim();
    await this.options.fs.syncDirectory(this.options.directory);
    // As Kafka does, a rolled segment is flushed right away whatever the flush policy: it will
    // not change again, and the recovery point can move past it.
    this.flushTo(baseOffset).catch((error: unknown) => this.fail(error));
  }

  // ---------------------------------------------------------------------------------------
  // Durability

  /** Makes everything appended before this call durable. */
  async flush(): Promise<void> {
    // Appends called earlier may still be queued: let the lane write them first, then fsync
    // outside the lane so appends keep flowing during it.
    await this.inLane(async () => undefined);
    await this.flushTo(this.writtenEnd);
  }

  private flushTo(offset: bigint): Promise<void> {
    return this.commit.flushTo(offset);
  }

  private syncAll(): Promise<void> {
    return this.commit.syncAll();
  }

  /** Lets a running fsync finish before segment files are deleted or cut under it. */
  private quiesceSync(): Promise<void> {
    return this.commit.quiesce();
  }

  private async checkpointRecoveryPoint(): Promise<void> {
    if (this.commit.durableEnd === this.persistedRecoveryPoint) return;
    await this.inLane(async () => {
      await this.active.persistIndexes();
      await this.persistState();
    });
  }

  private async persistState(): Promise<void> {
    const recoveryPoint = this.commit.durableEnd;
    await writeState(this.fs, this.directory, { logStartOffset: this.logStart, recoveryPoint, compacted: this.compacted });
    this.persistedRecoveryPoint = recoveryPoint;
  }

  private async persistEpochs(): Promise<void> {
    await writeEpochs(this.fs, this.directory, this.epochs);
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  /**
   * Reads whole batches from the batch holding `offset` on, up to `maxBytes` (at least one
   * batch, however large, so a reader never stalls) and below `maxOffset` (the high watermark,
   * for consumers). With `buffer`, bytes are read into it when it is large enough and the result
   * is a view of it: a reader that streams a partition reuses one buffer instead of allocating
   * (and page-faulting) a fresh one per read.
   *
   * CRCs are checked when batches are appended and when a segment is recovered, not on every
   * read (Kafka does the same; clients check them again on consumption). Reads do check
   * framing, that the first batch holds `offset`, and that offsets continue, because
   * baseOffset lies outside the CRC.
   */
  read(offset: bigint, options: { maxBytes: number; maxOffset?: bigint; buffer?: Buffer }): Promise<ReadResult> {
    return this.readOnce(offset, options, false);
  }

  private async readOnce(offset: bigint, options: { maxBytes: number; maxOffset?: bigint; buffer?: Buffer }, retried: boolean): Promise<ReadResult> {
    this.checkHealthy();
    const logStart = this.logStart;
    const logEnd = this.logEnd;
    const limit = options.maxOffset === undefined || options.maxOffset > logEnd ? logEnd : options.maxOffset;
    if (offset < logStart || offset > logEnd) {
      throw new StarlaneError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside the log [${logStart}, ${logEnd}]`);
    }
    const empty = { records: Buffer.alloc(0), nextOffset: offset, logStartOffset: logStart, logEndOffset: logEnd };
    if (offset >= limit) return empty;
    const segments = [...this.segments];
    for (let index = segmentIndexFor(segments, offset); index < segments.length; index++) {
      const segment = segments[index] as Segment;
      let found;
      try {
        found = await readFromSegment(this.indexCache, segment, offset, limit, options.maxBytes, options.buffer, this.readRules());
      } catch (error) {
        if (this.segments.includes(segment)) throw error;
        // The segment left the list under the read: compaction replaced it (read again from the
        // current list), or retention or truncation removed it (the offset may be gone).
        if (retried || offset < this.logStart || offset > this.logEnd) {
          throw new StarlaneError('OFFSET_OUT_OF_RANGE', `offset ${offset} left the log while being read (now [${this.logStart}, ${this.logEnd}])`);
        }
        return this.readOnce(offset, options, true);
      }
      if (found !== null) return { ...found, logStartOffset: logStart, logEndOffset: logEnd };
    }
    return empty;
  }

  private readRules(): { gapsAllowed: boolean; maxMessageBytes: number; indexIntervalBytes: number } {
    return { gapsAllowed: this.gapsAllowed, maxMessageBytes: this.config.maxMessageBytes, indexIntervalBytes: this.config.indexIntervalBytes };
  }

  /**
   * Kafka's ListOffsets by time: the first record whose timestamp is at or after
   * `timestampMs`, or null if every record is older.
   */
  async offsetForTimestamp(timestampMs: bigint): Promise<{ offset: bigint; timestampMs: bigint } | null> {
    this.checkHealthy();
    return findOffsetForTimestamp([...this.segments], this.indexCache, this.config.indexIntervalBytes, timestampMs, () => this.logStart);
  }

  /**
   * Kafka's ListOffsets MAX_TIMESTAMP: the first record carrying the largest timestamp in the
   * log, or null when the log is empty. The largest timestamp is taken from the batch headers
   * (as Kafka does); should a producer have overstated a header's maxTimestamp so that no record
   * reaches it, the answer is null.
   */
  async offsetForMaxTimestamp(): Promise<{ offset: bigint; timestampMs: bigint } | null> {
    this.checkHealthy();
    let largest = -1n;
    for (const segment of this.segments) if (segment.maxTimestamp > largest) largest = segment.maxTimestamp;
    if (largest < 0n) return null;
    return this.offsetForTimestamp(largest);
  }

  /** The leader epoch of the batch holding `offset`, from the epoch history; -1 if unknown. */
  leaderEpochAt(offset: bigint): number {
    return this.epochs.epochForOffset(offset);
  }

  /**
   * Records that `epoch` begins at the log end, as a new leader does before it writes (Kafka's
   * leader epoch cache on becoming leader). Without it, a follower that fetched records of an
   * epoch this log never saw would get no point where the logs part and have to start over.
   * Runs after earlier appends, so the log end is settled; a stale epoch changes nothing.
   */
  assignLeaderEpoch(epoch: number): Promise<void> {
    assert(Number.isInteger(epoch) && epoch >= 0, 'a leader epoch is a non-negative integer');
    return this.mutate(async () => {
      if (epoch <= this.epochs.latestEpoch()) return;
      if (this.epochs.assign(epoch, this.logEnd)) await this.persistEpochs();
    });
  }

  /** The end offset of `epoch` as a leader answers OffsetsForLeaderEpoch (KIP-101). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint } {
    return this.epochs.endOffsetFor(epoch, this.logEnd);
  }

  /** Which closed segments keep their indexes in memory (at most loadedIndexesMax). */
  private readonly indexCache: IndexCache;

  /** How many closed segments hold their indexes in memory (at most loadedIndexesMax). */
  get segmentsWithLoadedIndexes(): number {
    return this.segments.slice(0, -1).filter((segment) => segment.indexesLoaded).length;
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    this.indexCache.forget(segment);
    await segment.delete();
  }

  // ---------------------------------------------------------------------------------------
  // Truncation, retention

  /**
   * Removes every batch holding an offset at or after `offset` (a follower diverged from the
   * leader). A batch is never split, so the log may end a little before `offset`.
   *
   * At or past the log end no batch goes, but the epoch history is still cut at the log end, as
   * Kafka's UnifiedLog.truncateTo does: a replica that led and recorded its epoch at the log end
   * without writing in it (entries 0@0, 2@10 with the log ending at 10) would otherwise keep
   * sending last-fetched epoch 2, be told again where epoch 0 ends, and truncate to 10 forever.
   *
   * At or below the log start the whole log goes and it starts empty at `offset`, even below
   * the old start (Kafka's truncateFullyAndStartAt): a follower cut to where its leader's log
   * ends must fetch from there, not from an old log start past the leader's end.
   */
  truncateTo(offset: bigint): Promise<void> {
    assert(offset >= 0n, `a log is truncated to an offset >= 0, got ${offset}`);
    // Appends called before this are already queued ahead of it in the lane.
    this.cutQueue();
    return this.mutate(async () => {
      await this.quiesceSync();
      if (offset >= this.logEnd) {
        if (this.epochs.truncateFromEnd(this.logEnd)) await this.persistEpochs();
        return;
      }
      if (offset <= this.logStart) {
        await this.replaceWithEmpty(offset);
        return;
      }
      await cutSegmentsAt(this.segments, offset, this.config.indexIntervalBytes, (segment) => this.deleteSegment(segment));
      await this.afterTruncation();
    });
  }

  /** Drops the whole log and starts it empty at `offset` (a follower too far behind). */
  truncateFullyAndStartAt(offset: bigint): Promise<void> {
    this.cutQueue();
    return this.mutate(async () => {
      await this.quiesceSync();
      await this.replaceWithEmpty(offset);
    });
  }

  /** Runs in the lane. */
  private async replaceWithEmpty(offset: bigint): Promise<void> {
    for (const segment of this.segments.splice(0)) await this.deleteSegment(segment);
    // Nothing of the old log carries over: its epochs and producers described data now gone.
    this.epochs.clear();
    await startEmptyAt(this.fs, this.directory, this.segments, offset);
    this.logStart = offset;
    await this.afterTruncation();
  }

  private async afterTruncation(): Promise<void> {
    this.logEnd = this.active.nextOffset;
    this.writtenEnd = this.logEnd;
    this.commit.truncated(this.logEnd);
    this.epochs.truncateFromEnd(this.logEnd);
    // The state of producers whose batches were cut is found again from the last snapshot
    // below the new end and the batches after it.
    this.producers = await loadProducerState(this.fs, this.directory, this.segments, this.logEnd);
    await this.options.fs.syncDirectory(this.options.directory);
    await this.syncAll();
    await this.persistState();
    await this.persistEpochs();
  }

  /**
   * Applies `retention.ms` and `retention.bytes`: deletes whole closed segments from the
   * oldest, and moves the log start offset to the first segment kept. Returns how many went.
   */
  deleteOldSegments(): Promise<number> {
    return this.mutate(async () => {
      const summaries = this.segments.map((segment) => ({ baseOffset: segment.baseOffset, sizeBytes: segment.size, maxTimestamp: segment.maxTimestamp }));
      // Never past the replica's high watermark (retainFrom), as Kafka bounds it.
      const count = boundRetention(summaries, segmentsToDelete(summaries, this.config, this.options.clock.nowMs()), this.options.retainFrom?.());
      if (count === 0) return 0;
      await this.quiesceSync();
      const kept = this.segments[count] as Segment;
      // The new start is durable before any file goes, so a crash never resurrects offsets.
      this.logStart = kept.baseOffset > this.logStart ? kept.baseOffset : this.logStart;
      await this.persistState();
      for (const segment of this.segments.splice(0, count)) await this.deleteSegment(segment);
      await this.options.fs.syncDirectory(this.options.directory);
      this.epochs.truncateFromStart(this.logStart);
      await this.persistEpochs();
      const logStart = this.logStart;
      await removeProducerSnapshots(this.fs, this.directory, (offset) => offset < logStart);
      return count;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Idempotent-producer state

  /** What the log knows of an idempotent producer (its epoch and last batches), if anything. */
  producerState(producerId: bigint): ProducerStateView | undefined {
    return this.producers.producer(producerId);
  }

  private async writeProducerSnapshot(): Promise<void> {
    await writeProducerSnapshot(this.fs, this.directory, this.producers, this.logEnd);
  }

  // ---------------------------------------------------------------------------------------
  // Compaction

  /** The cleaner pass under way, which close() waits for. */
  private compacting: Promise<void> | null = null;
  /** Segments replaced by cleaned copies whose files stay open a little for reads under way. */
  private readonly retired = new Set<Segment>();

  private closeRetired(segment: Segment): void {
    if (this.retired.delete(segment)) void segment.close().catch(() => undefined);
  }

  /**
   * One pass of the log cleaner (`cleanup.policy` compact): in every closed segment older
   * than `min.compaction.lag.ms`, keeps only the newest record of each key and drops
   * tombstones older than `delete.retention.ms`. Offsets never change; whole batches that
   * empty out leave gaps. Cleaned copies are written beside the originals while appends go on;
   * only the swap of each finished segment takes the lane, briefly.
   */
  async compact(): Promise<CompactionReport> {
    const report = { segmentsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    if (this.config.cleanupPolicy === 'delete' || this.compacting !== null) return report;
    this.checkOpen();
    let finished = (): void => undefined;
    this.compacting = new Promise<void>((resolve) => (finished = resolve));
    try {
      const nowMs = this.options.clock.nowMs();
      const candidates = compactionCandidates(this.segments, BigInt(nowMs - this.config.minCompactionLagMs));
      const { latest, cleanable } = await latestOffsetsOf(this.segments, candidates);
      const tombstoneHorizon = BigInt(nowMs - this.config.deleteRetentionMs);
      for (const segment of candidates.slice(0, cleanable)) {
        if (this.closed) break;
        const sizeBefore = segment.size;
        const nextBefore = segment.nextOffset;
        const batches = await batchesOf(this.segments, segment);
        if (batches === null) continue;
        const { kept, removed } = await cleanBatches(batches, latest, tombstoneHorizon);
        if (removed === 0) continue;
        const cleanedPath = this.path(`${segmentFileName(segment.baseOffset, '.log')}.cleaned`);
        await writeCleanedCopy(this.fs, cleanedPath, kept);
        if (this.closed) {
          await this.fs.remove(cleanedPath);
          break;
        }
        const swapped = await this.mutate(() => this.swapCleaned(segment, cleanedPath, sizeBefore, nextBefore));
        if (!swapped) continue;
        report.segmentsCleaned++;
        report.recordsRemoved += removed;
        report.bytesBefore += sizeBefore;
        report.bytesAfter += kept.reduce((sum, batch) => sum + batch.length, 0);
      }
      return report;
    } finally {
      this.compacting = null;
      finished();
    }
  }

  /**
   * Puts the cleaned copy at `cleanedPath` in place of `segment`, unless truncation or retention
   * changed the segment since it was read (then the copy is stale and goes). Runs in the lane.
   */
  private async swapCleaned(segment: Segment, cleanedPath: string, sizeBefore: number, nextBefore: bigint): Promise<boolean> {
    const index = this.segments.indexOf(segment);
    // Truncation or retention got there first: the cleaned copy is stale.
    if (index < 0 || index === this.segments.length - 1 || segment.size !== sizeBefore || segment.nextOffset !== nextBefore) {
      await this.fs.remove(cleanedPath);
      return false;
    }
    const replacement = await installCleanedCopy(this.fs, this.directory, segment, cleanedPath, this.config.indexIntervalBytes);
    this.segments[index] = replacement;
    this.indexCache.forget(segment);
    this.indexCache.add(replacement);
    await this.indexCache.trim();
    // Reads that started before the swap still hold the old segment: close it later.
    segment.retired = true;
    this.retired.add(segment);
    if (!this.compacted) {
      this.compacted = true;
      await this.persistState();
    }
    this.options.scheduler.schedule(replacedSegmentCloseDelayMs, () => this.closeRetired(segment));
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle

  /** Writes everything out, fsyncs, and leaves the clean-shutdown marker. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // From here new appends are refused and the cleaner stops at its next segment; appends
    // already queued are still written below.
    this.closed = true;
    for (const cancel of this.timers) cancel();
    this.cancelCheckpointTimer();
    return (this.compacting ?? Promise.resolve()).then(() =>
      this.inLane(async () => {
        // Appends called before close() were queued ahead of this in the lane and are written.
        if (this.failure !== null) {
          for (const segment of this.segments) await segment.close();
          return;
        }
        await this.quiesceSync();
        await this.syncAll();
        this.commit.durableEnd = this.logEnd;
        for (const segment of this.segments) {
          segment.sealTimeIndex();
          await segment.persistIndexes();
        }
        await this.persistState();
        await this.persistEpochs();
        await this.writeProducerSnapshot();
        await this.options.fs.writeFileAtomic(this.path(cleanShutdownFileName), Buffer.alloc(0));
        for (const segment of this.segments) await segment.close();
        for (const segment of [...this.retired]) this.closeRetired(segment);
      }),
    );
  }

  /**
   * Closes the files without flushing or marking a clean shutdown: what a crash leaves, minus
   * the open descriptors. For a log that failed, and for tests of recovery.
   */
  release(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const cancel of this.timers) cancel();
    this.cancelCheckpointTimer();
    return (this.compacting ?? Promise.resolve()).then(() =>
      this.inLane(async () => {
        await this.quiesceSync();
        for (const segment of this.segments) await segment.close().catch(() => undefined);
        for (const segment of [...this.retired]) this.closeRetired(segment);
      }),
    );
  }

  private checkOpen(): void {
    if (this.closed) throw storageError(`the log in ${this.options.directory} is closed`);
    this.checkHealthy();
  }

  private checkHealthy(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** A storage failure takes the log offline: nothing more is written or served until it is
   * reopened (and recovered). Kafka marks the log directory offline the same way. */
  private fail(error: unknown): void {
    if (this.failure !== null) return;
    const failure = error instanceof StarlaneError ? error : storageError(`the log in ${this.options.directory} failed: ${String(error)}`, error);
    this.failure = failure;
    this.options.onFailure?.(failure);
  }
}
