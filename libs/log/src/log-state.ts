/**
 * The state one partition log's modules share, in one explicit object: the segment list, the
 * offsets, the epoch and producer state, the serial lane, group commit, the index cache, the
 * settings in force and whether the log failed or closed. `PartitionLog` creates it at open and
 * hands it to the module of each concern (appender.ts, segment-read.ts, truncation.ts,
 * cleaner.ts, log-schedule.ts), so which module changes what is visible in their signatures
 * rather than hidden behind one class's private fields.
 *
 * It also holds the few steps every concern needs: running a change in the lane and taking the
 * log offline when one fails, and writing the checkpoints.
 */
import { joinPath, type Clock, type LogFileSystem, type Scheduler } from '@starlane/io-ports';
import { StarlaneError, assert } from '@starlane/model';
import { SerialLane } from './append-queue';
import type { LogConfig } from './config';
import { GroupCommit } from './group-commit';
import { IndexCache } from './index-cache';
import type { LeaderEpochCache } from './leader-epoch-cache';
import { storageError, writeEpochs, writeState, type PartitionState } from './partition-files';
import { writeProducerSnapshot } from './producer-snapshots';
import type { ProducerStateManager } from './producer-state';
import type { Segment } from './segment';

/** Housekeeping that reports a failure and tries again, where a failed durability task takes the log offline. */
export type BackgroundTask = 'retention' | 'compaction';

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

export class LogState {
  readonly fs: LogFileSystem;
  readonly directory: string;
  /** The log's segments, oldest first; the last is the active one. Changed in place only in the lane. */
  readonly segments: Segment[];
  /** The serial lane: the append drain and every change to the segment list run here, one at a time. */
  readonly lane = new SerialLane();
  /** Group commit: what is durable, and the fsyncs that make it so. */
  readonly commit: GroupCommit;
  /** Which closed segments keep their indexes in memory (at most loadedIndexesMax). */
  readonly indexCache: IndexCache;
  logStart: bigint;
  /** The offset the next record gets; moves only once the batches below it are written. */
  logEnd: bigint;
  /** Offset after the last batch whose write completed (ahead of logEnd inside a drain). */
  writtenEnd: bigint;
  /** Whether compaction ever removed batches: offsets may have gaps even under `delete`. */
  compacted: boolean;
  /** Rebuilt, not mutated, by a truncation: the state of producers whose batches were cut is found again. */
  producers: ProducerStateManager;
  /** The settings in force: `options.config` until reconfigure() replaces them. */
  config: LogConfig;
  failure: StarlaneError | null = null;
  closed = false;
  /** The cleaner pass under way, which close() waits for. */
  compacting: Promise<void> | null = null;
  /** Segments replaced by cleaned copies whose files stay open a little for reads under way. */
  readonly retired = new Set<Segment>();
  /** The recovery point partition.checkpoint last got, so an unchanged one is not rewritten. */
  private persistedRecoveryPoint: bigint;

  constructor(
    readonly options: PartitionLogOptions,
    segments: Segment[],
    state: PartitionState,
    readonly epochs: LeaderEpochCache,
    producers: ProducerStateManager,
  ) {
    this.fs = options.fs;
    this.directory = options.directory;
    this.segments = segments;
    this.logStart = state.logStartOffset;
    this.logEnd = this.active.nextOffset;
    this.writtenEnd = this.logEnd;
    this.compacted = state.compacted;
    this.persistedRecoveryPoint = state.recoveryPoint;
    this.producers = producers;
    this.config = options.config;
    this.indexCache = new IndexCache(this.segments);
    this.commit = new GroupCommit(this.segments, state.recoveryPoint, {
      writtenEnd: () => this.writtenEnd,
      checkHealthy: () => this.checkHealthy(),
      fail: (error) => this.fail(error),
      failure: () => this.failure,
    });
  }

  get active(): Segment {
    const last = this.segments.at(-1);
    assert(last !== undefined, 'a log always has an active segment');
    return last;
  }

  /** Whether offsets may have gaps: the log is compacted, or once was. */
  get gapsAllowed(): boolean {
    return this.config.cleanupPolicy !== 'delete' || this.compacted;
  }

  path(name: string): string {
    return joinPath(this.directory, name);
  }

  checkOpen(): void {
    if (this.closed) throw storageError(`the log in ${this.directory} is closed`);
    this.checkHealthy();
  }

  checkHealthy(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** A storage failure takes the log offline: nothing more is written or served until it is
   * reopened (and recovered). Kafka marks the log directory offline the same way. */
  fail(error: unknown): void {
    if (this.failure !== null) return;
    const failure = error instanceof StarlaneError ? error : storageError(`the log in ${this.directory} failed: ${String(error)}`, error);
    this.failure = failure;
    this.options.onFailure?.(failure);
  }

  /** Runs `task` after every earlier lane task; lane tasks never overlap. */
  inLane<T>(task: () => Promise<T>): Promise<T> {
    return this.lane.run(task);
  }

  /**
   * Runs a change to the segment files in the lane. If it fails part-way the files and the
   * in-memory state may disagree, so the log goes offline; reopening runs recovery.
   */
  mutate<T>(task: () => Promise<T>): Promise<T> {
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

  /** Lets a running fsync finish before segment files are deleted or cut under it. */
  quiesceSync(): Promise<void> {
    return this.commit.quiesce();
  }

  async persistState(): Promise<void> {
    const recoveryPoint = this.commit.durableEnd;
    await writeState(this.fs, this.directory, { logStartOffset: this.logStart, recoveryPoint, compacted: this.compacted });
    this.persistedRecoveryPoint = recoveryPoint;
  }

  async persistEpochs(): Promise<void> {
    await writeEpochs(this.fs, this.directory, this.epochs);
  }

  /** Writes partition.checkpoint when the recovery point moved since it was last written. */
  async checkpointRecoveryPoint(): Promise<void> {
    if (this.commit.durableEnd === this.persistedRecoveryPoint) return;
    await this.inLane(async () => {
      await this.active.persistIndexes();
      await this.persistState();
    });
  }

  async writeProducerSnapshot(): Promise<void> {
    await writeProducerSnapshot(this.fs, this.directory, this.producers, this.logEnd);
  }

  /** Deletes a segment that left the list (retention, truncation). Runs in the lane. */
  async deleteSegment(segment: Segment): Promise<void> {
    this.indexCache.forget(segment);
    await segment.delete();
  }

  /** Closes a segment a cleaned copy replaced, once reads that held it had their time. */
  closeRetired(segment: Segment): void {
    if (this.retired.delete(segment)) void segment.close().catch(() => undefined);
  }
}
