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
 * This class is the public facade. The state the log's modules share is one `LogState`
 * (log-state.ts); each concern is a module that takes it: opening and recovery, the append
 * queue and its drain, reads and the index cache, truncation and retention, producer
 * snapshots, the cleaner and its swap, the timers (see the README's module map). What stays
 * here is the order of things: which changes cut the append queue, which run in the lane, and
 * how the log opens and closes.
 */
import { joinPath } from '@starlane/io-ports';
import { assert } from '@starlane/model';
import type { AppendResult } from './append-queue';
import { Appender } from './appender';
import { runCleanerPass, type CompactionReport } from './cleaner';
import type { LogConfig } from './config';
import { offsetForMaxTimestamp, offsetForTimestamp, readLog, type ReadResult } from './log-read';
import { LogTimers } from './log-schedule';
import { LogState, type PartitionLogOptions } from './log-state';
import { cleanShutdownFileName } from './partition-files';
import { loadProducerState } from './producer-snapshots';
import type { ProducerStateView } from './producer-state';
import { recoverLog, type OpenReport } from './recovery';
import { applyRetention, truncateLogFully, truncateLogTo } from './truncation';

// The bounds and names the log's modules define, exported from here as before.
export { appendCoalesceBytesMax, appendQueueBytesMax, relativeOffsetMax, type AppendResult } from './append-queue';
export { replacedSegmentCloseDelayMs, type CompactionReport } from './cleaner';
export { loadedIndexesMax } from './index-cache';
export type { ReadResult } from './log-read';
export { compactionIntervalMs, recoveryCheckpointIntervalMs, retentionCheckIntervalMs, retentionFirstCheckDelayMsMax } from './log-schedule';
export type { BackgroundTask, PartitionLogOptions } from './log-state';
export { cleanShutdownFileName, leaderEpochFileName, stateFileName, storedBatchBytesMax } from './partition-files';
export { producerSnapshotSuffix, producerSnapshotsRetained } from './producer-snapshots';
export type { OpenReport } from './recovery';
export { readSlackBytes } from './segment-read';

export class PartitionLog {
  private readonly appender: Appender;
  private readonly timers: LogTimers;

  private constructor(private readonly state: LogState) {
    this.appender = new Appender(state);
    this.timers = new LogTimers(state, {
      flush: () => this.flush(),
      retention: async () => void (await this.deleteOldSegments()),
      compaction: async () => void (await this.compact()),
    });
  }

  get logStartOffset(): bigint {
    return this.state.logStart;
  }

  /** The offset the next record will get. */
  get logEndOffset(): bigint {
    return this.state.logEnd;
  }

  /** Every offset below this is on disk (fsynced). */
  get recoveryPoint(): bigint {
    return this.state.commit.durableEnd;
  }

  get segmentCount(): number {
    return this.state.segments.length;
  }

  get sizeBytes(): number {
    return this.state.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  get latestEpoch(): number {
    return this.state.epochs.latestEpoch();
  }

  /** The settings in force (the ones opened with, or the latest given to reconfigure). */
  get logConfig(): LogConfig {
    return this.state.config;
  }

  /** How many closed segments hold their indexes in memory (at most loadedIndexesMax). */
  get segmentsWithLoadedIndexes(): number {
    return this.state.segments.slice(0, -1).filter((segment) => segment.indexesLoaded).length;
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
    if (this.state.closed || this.state.failure !== null) return;
    this.state.config = config;
    this.timers.restart();
  }

  /**
   * Opens the log in `directory`, creating it if needed, and recovers it after an unclean
   * shutdown (see recovery.ts).
   */
  static async open(options: PartitionLogOptions): Promise<{ log: PartitionLog; report: OpenReport }> {
    const { fs, directory } = options;
    const { segments, state, epochs, savedRecoveryPoint, report } = await recoverLog(fs, directory, options.config);
    const producers = await loadProducerState(fs, directory, segments, segments.at(-1)?.nextOffset ?? state.logStartOffset);
    const logState = new LogState(options, segments, state, epochs, producers);
    for (const segment of segments.slice(0, -1)) if (segment.indexesLoaded) logState.indexCache.add(segment);
    // The recovered state is made durable before the clean-shutdown marker goes: a crash from
    // here on recovers again from a correct starting point.
    if (state.recoveryPoint > (savedRecoveryPoint ?? -1n)) await logState.commit.syncAll();
    await logState.persistState();
    await logState.persistEpochs();
    if (report.cleanShutdown) {
      await fs.remove(joinPath(directory, cleanShutdownFileName));
      await fs.syncDirectory(directory);
    }
    const log = new PartitionLog(logState);
    log.timers.start();
    return { log, report };
  }

  // ---------------------------------------------------------------------------------------
  // Appending and durability (appender.ts, group-commit.ts)

  /**
   * Appends producer batches as the partition leader: offsets are assigned from the log end
   * and `leaderEpoch` is stamped on each batch, in place. `records` is one or more whole
   * RecordBatch v2 batches. Resolves once written, and, when the flush policy asks for it,
   * once durable.
   */
  append(records: Buffer, leaderEpoch: number): Promise<AppendResult> {
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= 0, 'a leader appends with its epoch');
    return this.appender.enqueue(records, leaderEpoch);
  }

  /** Appends batches copied from the leader; their offsets must continue the log exactly. */
  appendAsFollower(records: Buffer): Promise<AppendResult> {
    return this.appender.enqueue(records, null);
  }

  /** Makes everything appended before this call durable. */
  async flush(): Promise<void> {
    // Appends called earlier may still be queued: let the lane write them first, then fsync
    // outside the lane so appends keep flowing during it.
    await this.state.inLane(async () => undefined);
    await this.state.commit.flushTo(this.state.writtenEnd);
  }

  // ---------------------------------------------------------------------------------------
  // Reading (log-read.ts, segment-read.ts, index-cache.ts)

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
    return readLog(this.state, offset, options);
  }

  /**
   * Kafka's ListOffsets by time: the first record whose timestamp is at or after
   * `timestampMs`, or null if every record is older.
   */
  offsetForTimestamp(timestampMs: bigint): Promise<{ offset: bigint; timestampMs: bigint } | null> {
    return offsetForTimestamp(this.state, timestampMs);
  }

  /**
   * Kafka's ListOffsets MAX_TIMESTAMP: the first record carrying the largest timestamp in the
   * log, or null when the log is empty. The largest timestamp is taken from the batch headers
   * (as Kafka does); should a producer have overstated a header's maxTimestamp so that no record
   * reaches it, the answer is null.
   */
  offsetForMaxTimestamp(): Promise<{ offset: bigint; timestampMs: bigint } | null> {
    return offsetForMaxTimestamp(this.state);
  }

  // ---------------------------------------------------------------------------------------
  // Leader epochs (leader-epoch-cache.ts)

  /** The leader epoch of the batch holding `offset`, from the epoch history; -1 if unknown. */
  leaderEpochAt(offset: bigint): number {
    return this.state.epochs.epochForOffset(offset);
  }

  /**
   * Records that `epoch` begins at the log end, as a new leader does before it writes (Kafka's
   * leader epoch cache on becoming leader). Without it, a follower that fetched records of an
   * epoch this log never saw would get no point where the logs part and have to start over.
   * Runs after earlier appends, so the log end is settled; a stale epoch changes nothing.
   */
  assignLeaderEpoch(epoch: number): Promise<void> {
    assert(Number.isInteger(epoch) && epoch >= 0, 'a leader epoch is a non-negative integer');
    const state = this.state;
    return state.mutate(async () => {
      if (epoch <= state.epochs.latestEpoch()) return;
      if (state.epochs.assign(epoch, state.logEnd)) await state.persistEpochs();
    });
  }

  /** The end offset of `epoch` as a leader answers OffsetsForLeaderEpoch (KIP-101). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint } {
    return this.state.epochs.endOffsetFor(epoch, this.state.logEnd);
  }

  // ---------------------------------------------------------------------------------------
  // Truncation and retention (truncation.ts, retention.ts)

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
    this.appender.cutQueue();
    return this.state.mutate(() => truncateLogTo(this.state, offset));
  }

  /** Drops the whole log and starts it empty at `offset` (a follower too far behind). */
  truncateFullyAndStartAt(offset: bigint): Promise<void> {
    this.appender.cutQueue();
    return this.state.mutate(() => truncateLogFully(this.state, offset));
  }

  /**
   * Applies `retention.ms` and `retention.bytes`: deletes whole closed segments from the
   * oldest, and moves the log start offset to the first segment kept. Returns how many went.
   */
  deleteOldSegments(): Promise<number> {
    return this.state.mutate(() => applyRetention(this.state));
  }

  // ---------------------------------------------------------------------------------------
  // Idempotent-producer state (producer-state.ts, producer-snapshots.ts)

  /** What the log knows of an idempotent producer (its epoch and last batches), if anything. */
  producerState(producerId: bigint): ProducerStateView | undefined {
    return this.state.producers.producer(producerId);
  }

  // ---------------------------------------------------------------------------------------
  // Compaction (cleaner.ts, compaction.ts)

  /**
   * One pass of the log cleaner (`cleanup.policy` compact): in every closed segment older
   * than `min.compaction.lag.ms`, keeps only the newest record of each key and drops
   * tombstones older than `delete.retention.ms`. Offsets never change; whole batches that
   * empty out leave gaps. Cleaned copies are written beside the originals while appends go on;
   * only the swap of each finished segment takes the lane, briefly.
   */
  compact(): Promise<CompactionReport> {
    return runCleanerPass(this.state);
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle

  /** Writes everything out, fsyncs, and leaves the clean-shutdown marker. */
  close(): Promise<void> {
    const state = this.state;
    if (state.closed) return Promise.resolve();
    // From here new appends are refused and the cleaner stops at its next segment; appends
    // already queued are still written below.
    state.closed = true;
    this.timers.stop();
    return (state.compacting ?? Promise.resolve()).then(() =>
      state.inLane(async () => {
        // Appends called before close() were queued ahead of this in the lane and are written.
        if (state.failure !== null) {
          for (const segment of state.segments) await segment.close();
          return;
        }
        await state.quiesceSync();
        await state.commit.syncAll();
        state.commit.durableEnd = state.logEnd;
        for (const segment of state.segments) {
          segment.sealTimeIndex();
          await segment.persistIndexes();
        }
        await state.persistState();
        await state.persistEpochs();
        await state.writeProducerSnapshot();
        await state.fs.writeFileAtomic(state.path(cleanShutdownFileName), Buffer.alloc(0));
        for (const segment of state.segments) await segment.close();
        for (const segment of [...state.retired]) state.closeRetired(segment);
      }),
    );
  }

  /**
   * Closes the files without flushing or marking a clean shutdown: what a crash leaves, minus
   * the open descriptors. For a log that failed, and for tests of recovery.
   */
  release(): Promise<void> {
    const state = this.state;
    if (state.closed) return Promise.resolve();
    state.closed = true;
    this.timers.stop();
    return (state.compacting ?? Promise.resolve()).then(() =>
      state.inLane(async () => {
        await state.quiesceSync();
        for (const segment of state.segments) await segment.close().catch(() => undefined);
        for (const segment of [...state.retired]) state.closeRetired(segment);
      }),
    );
  }
}
