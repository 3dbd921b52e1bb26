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
 */
import { joinPath, type Clock, type LogFileSystem, type Scheduler } from '@starlane/io-ports';
import { StarlaneError, assert } from '@starlane/model';
import {
  BatchField,
  batchHeaderBytes,
  batchLogOverheadBytes,
  batchSize,
  currentMagic,
  lastOffset,
  readBatch,
  readBatchHeader,
  rebuildBatch,
  scanBatches,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatch,
  type BatchHeader,
} from '@starlane/record-batch';
import { segmentBytesMax, type LogConfig } from './config';
import { LeaderEpochCache, parseLeaderEpochs, serializeLeaderEpochs } from './leader-epoch-cache';
import { ProducerStateManager, type ProducerStateView } from './producer-state';
import { LatestOffsets, survivesCompaction } from './compaction';
import { segmentsToDelete } from './retention';
import type { OffsetIndex, TimeIndex } from './indexes';
import { Segment, parseSegmentFileName, segmentFileName } from './segment';

export const cleanShutdownFileName = '.clean-shutdown';
export const stateFileName = 'partition.checkpoint';
export const leaderEpochFileName = 'leader-epoch-checkpoint';
/** Producer-state snapshots: `<20-digit offset>.snapshot`, the state up to that offset. */
export const producerSnapshotSuffix = '.snapshot';
/** Snapshots kept; a truncation below the oldest rebuilds the state from batch headers. */
export const producerSnapshotsRetained = 2;

/** Batch bytes one drain writes at most before resolving and starting over. */
export const appendCoalesceBytesMax = 16 * 1024 * 1024;
/** Batch bytes that may wait in the append queue; past this an append is refused (THROTTLING_QUOTA_EXCEEDED). */
export const appendQueueBytesMax = 256 * 1024 * 1024;
/** Extra bytes a read into a caller's buffer takes beyond maxBytes, to finish a first batch
 * that is slightly larger without another read. */
export const readSlackBytes = 64 * 1024;
/** Largest offset a segment holds relative to its base (index entries are 32-bit). */
/**
 * The largest batch a scan of stored data accepts. What is stored was accepted under the
 * settings of its day, or copied unchecked from a leader, so today's max.message.bytes and
 * segment.bytes say nothing about it: recovery bounded by them would cut fsynced batches as torn
 * after either was lowered. A length past the file's end still ends a scan, and the CRC decides
 * whether a batch is whole.
 */
export const storedBatchBytesMax = segmentBytesMax;
export const relativeOffsetMax = 2n ** 31n - 1n;
/** Closed segments whose indexes stay in memory; the others are loaded again on demand, so
 * memory does not grow with the number of segments. */
export const loadedIndexesMax = 8;
/** How often retention runs by itself unless the opener says (Kafka's log.retention.check.interval.ms default). */
export const retentionCheckIntervalMs = 300_000;
/**
 * Longest wait for the first retention check after the log opens (or its settings change):
 * Kafka's LogManager starts its retention task 30 s after start-up (InitialTaskDelayMs), not
 * a whole interval later, so a process restarted more often than the interval still applies
 * retention.
 */
export const retentionFirstCheckDelayMsMax = 30_000;
/** How often the cleaner passes over a compacted log by itself (Kafka's log.cleaner.backoff.ms is 15 s between passes). */
export const compactionIntervalMs = 15_000;
/** How often the recovery point is written to partition.checkpoint (Kafka's default). */
export const recoveryCheckpointIntervalMs = 60_000;

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

export interface AppendResult {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** Clock time the batches were written, for LogAppendTime answers. */
  readonly appendTimeMs: number;
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

export interface OpenReport {
  readonly cleanShutdown: boolean;
  readonly segmentsRecovered: number;
  readonly bytesTruncated: number;
  readonly segmentsDeleted: number;
}

interface PendingAppend {
  readonly batches: readonly { bytes: Buffer; header: BatchHeader }[];
  readonly bytes: number;
  readonly records: number;
  /** Leader epoch to stamp, or null for a follower append (offsets already assigned). */
  readonly leaderEpoch: number | null;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface PartitionState {
  readonly logStartOffset: bigint;
  readonly recoveryPoint: bigint;
  /** Whether compaction ever removed batches: offsets may have gaps even under `delete`. */
  readonly compacted: boolean;
}

function storageError(message: string, cause?: unknown): StarlaneError {
  return new StarlaneError('STORAGE_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

function parseState(bytes: Buffer | null): PartitionState | null {
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { version?: unknown; logStartOffset?: unknown; recoveryPoint?: unknown; compacted?: unknown };
    if (parsed.version !== 1 || typeof parsed.logStartOffset !== 'string' || typeof parsed.recoveryPoint !== 'string') return null;
    return { logStartOffset: BigInt(parsed.logStartOffset), recoveryPoint: BigInt(parsed.recoveryPoint), compacted: parsed.compacted === true };
  } catch {
    return null;
  }
}

export class PartitionLog {
  private readonly segments: Segment[];
  /**
   * Appends waiting to be written. A change to the files (truncation, close) swaps in a fresh
   * queue when it is called, so appends called after it are written after it: the log applies
   * appends and truncations in call order.
   */
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private lane: Promise<void> = Promise.resolve();
  private drainScheduled = false;
  private logStart: bigint;
  private logEnd: bigint;
  private durableEnd: bigint;
  private compacted: boolean;
  /** Offset after the last batch whose write completed (ahead of logEnd inside a drain). */
  private writtenEnd: bigint;
  private persistedRecoveryPoint: bigint;
  private unflushedRecords = 0;
  private sync: Promise<void> | null = null;
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
    this.durableEnd = state.recoveryPoint;
    this.writtenEnd = this.logEnd;
    this.compacted = state.compacted;
    this.persistedRecoveryPoint = state.recoveryPoint;
    this.currentConfig = options.config;
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
    return this.durableEnd;
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

  /**
   * Opens the log in `directory`, creating it if needed. After an unclean shutdown, every
   * segment from the recovery point on is scanned: batches are checked (length, magic, CRC,
   * offsets moving forward), a torn or corrupt tail is cut, every later segment is deleted,
   * and indexes are rebuilt. Missing or implausible index files are rebuilt in any case.
   */
  static async open(options: PartitionLogOptions): Promise<{ log: PartitionLog; report: OpenReport }> {
    const { fs, directory, config } = options;
    await fs.makeDirectory(directory);
    const names = await fs.list(directory);
    const cleanShutdown = names.includes(cleanShutdownFileName);
    const saved = parseState(await fs.readFile(joinPath(directory, stateFileName)));
    for (const name of names) {
      if (name.endsWith('.tmp') || name.endsWith('.cleaned') || name.endsWith('.swap')) await fs.remove(joinPath(directory, name));
    }
    const bases = names.map(parseSegmentFileName).filter((base): base is bigint => base !== null).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const recoveryPoint = cleanShutdown ? null : (saved?.recoveryPoint ?? 0n);

    const segments: Segment[] = [];
    let segmentsRecovered = 0;
    const recovered: Segment[] = [];
    let bytesTruncated = 0;
    let segmentsDeleted = 0;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i] ?? 0n;
      const next = bases[i + 1];
      const previous = segments.at(-1);
      const trusted = recoveryPoint === null || (next !== undefined && next <= recoveryPoint);
      // Gaps follow from compaction having run, not from today's policy: a topic switched from
      // compact to delete keeps its gaps.
      const gapsAllowed = config.cleanupPolicy !== 'delete' || saved?.compacted === true;
      if (previous !== undefined && (gapsAllowed ? base < previous.nextOffset : base !== previous.nextOffset)) {
        // Overlaps the segment before it, or leaves a hole after it: only damage or a
        // half-finished operation leaves this behind, and offsets must stay contiguous.
        segmentsDeleted += await deleteSegmentFiles(fs, directory, bases.slice(i));
        break;
      }
      const { segment, truncatedBytes } = await Segment.open(fs, directory, base, {
        trusted,
        indexIntervalBytes: config.indexIntervalBytes,
        batchBytesMax: storedBatchBytesMax,
        offsetGapsAllowed: gapsAllowed,
      });
      if (!trusted) {
        segmentsRecovered++;
        recovered.push(segment);
        // A recovered segment may have been cut: fsync it before trusting the new recovery point.
        segment.dirty = true;
      }
      segments.push(segment);
      // Keep memory bounded while opening a long log: older segments drop their indexes.
      const unloadable = segments.at(-2 - loadedIndexesMax);
      if (unloadable !== undefined) await unloadable.unloadIndexes();
      if (truncatedBytes > 0) {
        bytesTruncated += truncatedBytes;
        // Everything after a cut is unreachable: offsets must stay contiguous.
        segmentsDeleted += await deleteSegmentFiles(fs, directory, bases.slice(i + 1));
        break;
      }
    }
    const logStartFromState = saved?.logStartOffset ?? 0n;
    if (segments.length === 0) segments.push(await Segment.create(fs, directory, logStartFromState));
    const first = segments[0] as Segment;
    const logEnd = segments.at(-1)?.nextOffset ?? first.baseOffset;
    const logStartOffset = logStartFromState > first.baseOffset && logStartFromState <= logEnd ? logStartFromState : first.baseOffset;
    const durable = recoveryPoint === null ? logEnd : segmentsRecovered > 0 || bytesTruncated > 0 ? logEnd : minBig(recoveryPoint, logEnd);

    const epochs = new LeaderEpochCache();
    const epochBytes = await fs.readFile(joinPath(directory, leaderEpochFileName));
    let epochEntries: readonly { epoch: number; startOffset: bigint }[] | null = null;
    if (epochBytes !== null) {
      try {
        epochEntries = parseLeaderEpochs(epochBytes);
      } catch {
        epochEntries = null;
      }
    }
    if (epochEntries === null) {
      // Rebuild from the batches themselves: every batch carries its leader epoch.
      for (const segment of segments) {
        await segment.scan(0, segment.size, storedBatchBytesMax, (batch) => {
          epochs.assign(batch.header.partitionLeaderEpoch, batch.header.baseOffset);
          return true;
        });
      }
    } else {
      for (const entry of epochEntries) epochs.assign(entry.epoch, entry.startOffset);
      // The checkpoint may lag the batches a crash left behind: recovered segments carry their
      // epochs in every batch, so they are assigned again from there (as Kafka's recovery does).
      for (const segment of recovered) {
        await segment.scan(0, segment.size, storedBatchBytesMax, (batch) => {
          epochs.assign(batch.header.partitionLeaderEpoch, batch.header.baseOffset);
          return true;
        });
      }
    }
    epochs.truncateFromEnd(logEnd);
    epochs.truncateFromStart(logStartOffset);

    const log = new PartitionLog(options, segments, { logStartOffset, recoveryPoint: durable, compacted: saved?.compacted === true }, epochs, new ProducerStateManager());
    log.producers = await log.loadProducerState();
    for (const segment of segments.slice(0, -1)) if (segment.indexesLoaded) log.loadedIndexes.add(segment);
    // The recovered state is made durable before the clean-shutdown marker goes: a crash from
    // here on recovers again from a correct starting point.
    if (durable > (recoveryPoint ?? -1n)) await log.syncAll();
    await log.persistState();
    await log.persistEpochs();
    if (cleanShutdown) {
      await fs.remove(joinPath(directory, cleanShutdownFileName));
      await fs.syncDirectory(directory);
    }
    log.startTimers();
    return { log, report: { cleanShutdown, segmentsRecovered, bytesTruncated, segmentsDeleted } };
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
    const { scheduler } = this.options;
    let cancel = (): void => undefined;
    const tick = (): void => {
      if (!live()) return;
      task().then(
        () => {
          if (live()) cancel = scheduler.schedule(intervalMs, tick);
        },
        (error: unknown) => {
          if (housekeeping === undefined || this.failure !== null) {
            this.fail(error);
            return;
          }
          this.options.onBackgroundError?.(housekeeping, error);
          if (live()) cancel = scheduler.schedule(intervalMs, tick);
        },
      );
    };
    cancel = scheduler.schedule(firstDelayMs, tick);
    return () => cancel();
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
      const batches = this.splitInput(records, leaderEpoch !== null);
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

  /**
   * Splits and checks input batches: framing, size limit, magic, CRC. Nothing is copied.
   *
   * Only a producer's batches are held to `max.message.bytes`. A follower copies what its
   * leader accepted under the settings of that time; refusing it because the setting was
   * lowered since would leave the replica stuck behind that batch for good. Kafka's follower
   * append skips the record-size check for the same reason (UnifiedLog.appendAsFollower,
   * ignoreRecordSize). Its batches are bounded by the fetch response that carried them.
   */
  private splitInput(records: Buffer, fromProducer: boolean): { bytes: Buffer; header: BatchHeader }[] {
    const batches: { bytes: Buffer; header: BatchHeader }[] = [];
    let position = 0;
    while (position < records.length) {
      if (records.length - position < batchLogOverheadBytes) throw new StarlaneError('CORRUPT_MESSAGE', `${records.length - position} trailing bytes are not a record batch`);
      const size = records.readInt32BE(position + BatchField.batchLength) + batchLogOverheadBytes;
      // A length past the input is damage; a whole batch over the limit is merely too large.
      if (size < batchHeaderBytes || position + size > records.length) throw new StarlaneError('CORRUPT_MESSAGE', `a record batch claims ${size} bytes but ${records.length - position} remain`);
      if (fromProducer && size > this.config.maxMessageBytes) {
        throw new StarlaneError('MESSAGE_TOO_LARGE', `a record batch of ${size} bytes exceeds max.message.bytes (${this.config.maxMessageBytes})`);
      }
      const bytes = records.subarray(position, position + size);
      const header = validateBatch(bytes);
      // A producer's batch holds exactly as many records as offsets it claims (Kafka refuses
      // the rest too); otherwise one small batch could burn two billion offsets. Replicated
      // batches may have compaction gaps, so followers only get the general checks.
      if (fromProducer && (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1)) {
        throw new StarlaneError('INVALID_RECORD', `a producer batch of ${header.recordCount} records claims ${header.lastOffsetDelta + 1} offsets`);
      }
      batches.push({ bytes, header });
      position += size;
    }
    if (batches.length === 0) throw new StarlaneError('INVALID_REQUEST', 'an append needs at least one record batch');
    return batches;
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
    const run = this.lane.then(task);
    this.lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Writes queued appends, coalesced, until the queue is empty. Runs in the lane. */
  private async drain(queue: PendingAppend[]): Promise<void> {
    while (queue.length > 0) {
      const taken: PendingAppend[] = [];
      let takenBytes = 0;
      while (queue.length > 0 && (taken.length === 0 || takenBytes + (queue[0]?.bytes ?? 0) <= appendCoalesceBytesMax)) {
        const next = queue.shift() as PendingAppend;
        taken.push(next);
        takenBytes += next.bytes;
      }
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

  private async writeAppends(items: PendingAppend[]): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    let next = this.logEnd;
    // `bytes` is the running size of `buffers`: summing them per batch would be quadratic.
    let group: { segment: Segment; position: number; bytes: number; buffers: Buffer[]; headers: BatchHeader[]; positions: number[] } | null = null;
    const accepted: { item: PendingAppend; baseOffset: bigint; lastOffset: bigint; headers: BatchHeader[] }[] = [];

    const writeGroup = async (): Promise<void> => {
      if (group === null || group.buffers.length === 0) return;
      const { segment, position, bytes, buffers, headers, positions } = group;
      try {
        await segment.file.write(buffers, position);
      } catch (error) {
        throw storageError(`cannot write ${segment.logPath}`, error);
      }
      headers.forEach((header, index) => segment.indexBatch(header, positions[index] ?? 0, this.config.indexIntervalBytes));
      segment.size = position + bytes;
      this.writtenEnd = segment.nextOffset;
      segment.dirty = true;
      segment.firstAppendMs ??= nowMs;
      group = null;
    };

    for (const item of items) {
      if (item.leaderEpoch === null) {
        // A follower's batches must continue the log exactly, all of them, before any is written.
        let expected = next;
        let broken: bigint | null = null;
        for (const batch of item.batches) {
          // A compacted leader's batches may skip offsets, never go back.
          if (this.gapsAllowed ? batch.header.baseOffset < expected : batch.header.baseOffset !== expected) {
            broken = batch.header.baseOffset;
            break;
          }
          expected = lastOffset(batch.header) + 1n;
        }
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
        const size = batch.bytes.length;
        if (this.shouldRoll(size, lastOffset(header), nowMs, group?.bytes ?? 0)) {
          await writeGroup();
          await this.roll(next);
        }
        group ??= { segment: this.active, position: this.active.size, bytes: 0, buffers: [], headers: [], positions: [] };
        group.positions.push(group.position + group.bytes);
        group.buffers.push(batch.bytes);
        group.bytes += size;
        group.headers.push(header);
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

    let epochsChanged = false;
    for (const { item, headers } of accepted) {
      for (const header of headers) {
        if (this.epochs.assign(header.partitionLeaderEpoch, header.baseOffset)) epochsChanged = true;
        this.producers.update(header);
      }
      this.unflushedRecords += item.records;
    }
    this.logEnd = next;
    // Only a new epoch rewrites the checkpoint: once per leader change, not per append.
    if (epochsChanged) await this.persistEpochs();

    const mustSync = this.config.flushMessages > 0 && this.unflushedRecords >= this.config.flushMessages;
    const target = this.logEnd;
    for (const { item, baseOffset, lastOffset: last } of accepted) {
      const result = { baseOffset, lastOffset: last, appendTimeMs: nowMs };
      if (mustSync) this.flushTo(target).then(() => item.resolve(result), item.reject);
      else item.resolve(result);
    }
  }

  private shouldRoll(incomingBytes: number, incomingLastOffset: bigint, nowMs: number, pendingBytes: number): boolean {
    const active = this.active;
    const size = active.size + pendingBytes;
    if (size === 0) return false;
    // Indexes hold offsets relative to the segment's base in 31 bits, as Kafka's do.
    if (incomingLastOffset - active.baseOffset > relativeOffsetMax) return true;
    if (size + incomingBytes > this.config.segmentBytes) return true;
    return active.firstAppendMs !== null && nowMs - active.firstAppendMs >= this.config.segmentMs;
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
    this.loadedIndexes.add(previous);
    await this.trimLoadedIndexes();
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

  /**
   * Group commit: resolves once every offset below `offset` is durable. If an fsync is already
   * running, waits for it and then starts at most one more, which covers every write that
   * completed meanwhile, so N waiting appends cost one or two fsyncs, not N.
   */
  private async flushTo(offset: bigint): Promise<void> {
    for (;;) {
      // Only written bytes can be made durable (a caller never asks past them, but waiting for
      // them would spin), and a truncation may have moved the end since the call.
      const wanted = offset < this.writtenEnd ? offset : this.writtenEnd;
      if (this.durableEnd >= wanted) return;
      this.checkHealthy();
      if (this.sync !== null) {
        await this.sync;
        continue;
      }
      const target = this.writtenEnd;
      const records = this.unflushedRecords;
      const generation = this.truncations;
      this.sync = this.syncAll().then(
        () => {
          // A truncation during the fsync voids its target: offsets below it may now be new,
          // unsynced data. The loop simply syncs again.
          if (generation === this.truncations && target > this.durableEnd) this.durableEnd = target;
          this.unflushedRecords = Math.max(0, this.unflushedRecords - records);
          this.sync = null;
        },
        (error: unknown) => {
          this.sync = null;
          this.fail(error);
          throw this.failure ?? error;
        },
      );
      await this.sync;
    }
  }

  /** Bumped by every truncation, so an fsync that straddles one does not vouch for new data. */
  private truncations = 0;
  /** fsyncs run one after another: `dirty` is cleared when one starts, so a second caller must
   * wait for it rather than skip a segment whose fsync has not finished. */
  private syncChain: Promise<void> = Promise.resolve();

  private syncAll(): Promise<void> {
    const run = this.syncChain.then(() => this.syncDirtySegments());
    this.syncChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async syncDirtySegments(): Promise<void> {
    for (const segment of [...this.segments]) {
      if (!segment.dirty) continue;
      segment.dirty = false;
      try {
        await segment.file.sync();
      } catch (error) {
        // Truncation or retention may have deleted the segment meanwhile: nothing to sync then.
        if (!this.segments.includes(segment)) continue;
        segment.dirty = true;
        throw storageError(`cannot fsync ${segment.logPath}`, error);
      }
    }
  }

  /** Lets a running fsync finish before segment files are deleted or cut under it. */
  private async quiesceSync(): Promise<void> {
    if (this.sync !== null) await this.sync.catch(() => undefined);
  }

  private async checkpointRecoveryPoint(): Promise<void> {
    if (this.durableEnd === this.persistedRecoveryPoint) return;
    await this.inLane(async () => {
      await this.active.persistIndexes();
      await this.persistState();
    });
  }

  private async persistState(): Promise<void> {
    const state = { version: 1, logStartOffset: this.logStart.toString(), recoveryPoint: this.durableEnd.toString(), compacted: this.compacted };
    await this.options.fs.writeFileAtomic(this.path(stateFileName), Buffer.from(`${JSON.stringify(state)}\n`));
    this.persistedRecoveryPoint = this.durableEnd;
  }

  private async persistEpochs(): Promise<void> {
    await this.options.fs.writeFileAtomic(this.path(leaderEpochFileName), serializeLeaderEpochs(this.epochs.entries()));
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
        found = await this.readFromSegment(segment, offset, limit, options.maxBytes, options.buffer);
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

  private async readFromSegment(segment: Segment, offset: bigint, limit: bigint, maxBytes: number, buffer: Buffer | undefined): Promise<{ records: Buffer; nextOffset: bigint } | null> {
    const indexes = segment.indexesLoaded ? this.touchLoaded(segment) : await this.indexesOf(segment);
    const indexed = indexes.offset.lookup(Math.max(0, Number(offset - segment.baseOffset)));
    try {
      return await this.readFromPosition(segment, indexed, offset, limit, maxBytes, buffer);
    } catch (error) {
      // A damaged index entry can point into the middle of a batch; the batches themselves may
      // be fine. Walking from the segment's start is slower but needs no index.
      if (indexed === 0 || !(error instanceof StarlaneError && error.code === 'CORRUPT_MESSAGE')) throw error;
      return this.readFromPosition(segment, 0, offset, limit, maxBytes, buffer);
    }
  }

  /**
   * One positional read from `start` (a batch boundary at or before `offset`), then everything
   * else in memory. Reads again only when the index entry lies further back than `maxBytes`
   * or the first wanted batch is larger than what was read.
   */
  private async readFromPosition(
    segment: Segment,
    start: number,
    offset: bigint,
    limit: bigint,
    maxBytes: number,
    buffer: Buffer | undefined,
  ): Promise<{ records: Buffer; nextOffset: bigint } | null> {
    const committed = segment.size;
    const gapsAllowed = this.gapsAllowed;
    let position = start;
    let bytes: Buffer = Buffer.alloc(0);
    let bytesAt = position;
    const fill = async (from: number, length: number): Promise<void> => {
      const wanted = Math.min(length, committed - from);
      bytes = buffer !== undefined && buffer.length >= wanted ? buffer.subarray(0, wanted) : Buffer.allocUnsafe(wanted);
      bytesAt = from;
      const read = await segment.file.read(bytes, 0, wanted, from);
      bytes = bytes.subarray(0, read);
    };
    /** Reads on until the bytes in hand reach `end`, keeping what was already read. */
    const extendTo = async (end: number): Promise<void> => {
      const have = bytes.length;
      const wanted = Math.min(end, committed) - bytesAt;
      if (wanted <= have) return;
      let grown: Buffer;
      if (bytes.buffer === buffer?.buffer && buffer.length >= wanted) {
        grown = buffer.subarray(0, wanted);
      } else {
        grown = Buffer.allocUnsafe(wanted);
        bytes.copy(grown, 0, 0, have);
      }
      const read = await segment.file.read(grown, have, wanted - have, bytesAt + have);
      bytes = grown.subarray(0, have + read);
    };
    // With a caller's buffer to spare, read a little past maxBytes: a first batch slightly over
    // the limit (common when batches and maxBytes are both ~1 MiB) then needs no second read.
    const slack = buffer === undefined ? 0 : Math.max(0, Math.min(buffer.length - maxBytes, readSlackBytes));
    const firstRead = Math.max(maxBytes, batchHeaderBytes) + slack;
    await fill(position, firstRead);
    // Walk batch headers from the index entry to the batch holding `offset`.
    let first: BatchHeader;
    for (;;) {
      if (position + batchHeaderBytes > committed) return null;
      if (position + batchHeaderBytes > bytesAt + bytes.length) await fill(position, firstRead);
      const header = readBatchHeader(bytes, position - bytesAt);
      // A damaged index entry can point at bytes that are no batch header: check that it is one
      // before trusting its offsets (the caller then walks from the segment's start).
      if (
        header.magic !== currentMagic ||
        header.batchLength < batchHeaderBytes - batchLogOverheadBytes ||
        position + batchSize(header) > committed ||
        header.baseOffset < segment.baseOffset ||
        header.baseOffset >= segment.nextOffset
      ) {
        throw new StarlaneError('CORRUPT_MESSAGE', `no batch boundary at position ${position} of ${segment.logPath}`);
      }
      if (header.baseOffset >= limit) return null;
      if (lastOffset(header) >= offset) {
        first = header;
        break;
      }
      position += batchSize(header);
    }
    if (first.baseOffset > offset && !gapsAllowed) {
      throw new StarlaneError('CORRUPT_MESSAGE', `the batch found for offset ${offset} in ${segment.logPath} starts at ${first.baseOffset}`);
    }
    // The first wanted batch is returned whole, even past maxBytes: read the rest of it.
    const firstSize = batchSize(first);
    await extendTo(position + firstSize);
    const region = bytes.subarray(position - bytesAt);
    const scan = scanBatches(region, { batchBytesMax: Math.max(firstSize, this.config.maxMessageBytes, maxBytes) });
    let end = 0;
    let nextOffset = offset;
    for (const batch of scan.batches) {
      if (batch.header.baseOffset >= limit) break;
      if (end > 0 && (gapsAllowed ? batch.header.baseOffset < nextOffset : batch.header.baseOffset !== nextOffset)) break;
      if (end > 0 && batch.position + batch.bytes.length > maxBytes) break;
      end = batch.position + batch.bytes.length;
      nextOffset = lastOffset(batch.header) + 1n;
    }
    if (end === 0) return null;
    return { records: region.subarray(0, end), nextOffset };
  }

  /**
   * Kafka's ListOffsets by time: the first record whose timestamp is at or after
   * `timestampMs`, or null if every record is older.
   */
  async offsetForTimestamp(timestampMs: bigint): Promise<{ offset: bigint; timestampMs: bigint } | null> {
    this.checkHealthy();
    const batchBytesMax = storedBatchBytesMax;
    for (const segment of [...this.segments]) {
      if (segment.maxTimestamp < timestampMs) continue;
      const indexes = await this.indexesOf(segment);
      let from = indexes.offset.lookup(indexes.time.lookup(timestampMs));
      // A batch's maxTimestamp comes from its producer and says only that some record may
      // qualify: keep looking through the segment until a record really does.
      while (from < segment.size) {
        let candidate: { bytes: Buffer; end: number } | null = null;
        await segment.scan(from, segment.size, batchBytesMax, (batch) => {
          if (batch.header.maxTimestamp < timestampMs || lastOffset(batch.header) < this.logStart) return true;
          candidate = { bytes: Buffer.from(batch.bytes), end: batch.position + batch.bytes.length };
          return false;
        });
        if (candidate === null) break;
        const found: { bytes: Buffer; end: number } = candidate;
        const { records } = await readBatch(found.bytes);
        const record = records.find((r) => r.timestamp >= timestampMs && r.offset >= this.logStart);
        if (record !== undefined) return { offset: record.offset, timestampMs: record.timestamp };
        from = found.end;
      }
    }
    return null;
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

  /** Most recently used closed segments with loaded indexes, oldest first. */
  private readonly loadedIndexes = new Set<Segment>();

  /** How many closed segments hold their indexes in memory (at most loadedIndexesMax). */
  get segmentsWithLoadedIndexes(): number {
    return this.segments.slice(0, -1).filter((segment) => segment.indexesLoaded).length;
  }

  /** A segment's indexes, loading them if needed and unloading the least recently used. */
  private async indexesOf(segment: Segment): Promise<{ offset: OffsetIndex; time: TimeIndex }> {
    const indexes = await segment.loadIndexes(this.config.indexIntervalBytes, storedBatchBytesMax);
    if (segment !== this.active) {
      this.loadedIndexes.delete(segment);
      this.loadedIndexes.add(segment);
      await this.trimLoadedIndexes();
    }
    return indexes;
  }

  /** The hot path of indexesOf: indexes already in memory, marked most recently used. */
  private touchLoaded(segment: Segment): { offset: OffsetIndex; time: TimeIndex } {
    if (segment !== this.active) {
      this.loadedIndexes.delete(segment);
      this.loadedIndexes.add(segment);
    }
    return { offset: segment.offsetIndex, time: segment.timeIndex };
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    this.loadedIndexes.delete(segment);
    await segment.delete();
  }

  private async trimLoadedIndexes(): Promise<void> {
    for (const segment of this.loadedIndexes) {
      if (this.loadedIndexes.size <= loadedIndexesMax) break;
      this.loadedIndexes.delete(segment);
      if (segment !== this.active && this.segments.includes(segment)) await segment.unloadIndexes();
    }
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
      const keep = segmentIndexFor(this.segments, offset);
      const doomed = this.segments.splice(keep + 1);
      // Newest first: a crash part-way leaves a shorter log, never a hole.
      for (const segment of doomed.reverse()) await this.deleteSegment(segment);
      await this.active.truncateTo(offset, storedBatchBytesMax, this.config.indexIntervalBytes);
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
    const doomed = this.segments.splice(0);
    for (const segment of doomed) await this.deleteSegment(segment);
    // Nothing of the old log carries over: its epochs and producers described data now gone.
    this.epochs.clear();
    for (const { name } of await this.producerSnapshots()) await this.options.fs.remove(this.path(name));
    this.segments.push(await Segment.create(this.options.fs, this.options.directory, offset));
    this.logStart = offset;
    await this.afterTruncation();
  }

  private async afterTruncation(): Promise<void> {
    this.truncations++;
    this.logEnd = this.active.nextOffset;
    this.writtenEnd = this.logEnd;
    if (this.durableEnd > this.logEnd) this.durableEnd = this.logEnd;
    this.unflushedRecords = 0;
    this.epochs.truncateFromEnd(this.logEnd);
    // The state of producers whose batches were cut is found again from the last snapshot
    // below the new end and the batches after it.
    this.producers = await this.loadProducerState();
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
      let count = segmentsToDelete(
        this.segments.map((segment) => ({ baseOffset: segment.baseOffset, sizeBytes: segment.size, maxTimestamp: segment.maxTimestamp })),
        this.config,
        this.options.clock.nowMs(),
      );
      // A segment may go only if every offset in it lies below the bound: the next one starts there or before.
      const bound = this.options.retainFrom?.();
      while (bound !== undefined && count > 0 && (this.segments[count] as Segment).baseOffset > bound) count -= 1;
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
      for (const { offset, name } of await this.producerSnapshots()) {
        if (offset < this.logStart) await this.options.fs.remove(this.path(name));
      }
      return count;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Idempotent-producer state

  /** What the log knows of an idempotent producer (its epoch and last batches), if anything. */
  producerState(producerId: bigint): ProducerStateView | undefined {
    return this.producers.producer(producerId);
  }

  private async producerSnapshots(): Promise<{ offset: bigint; name: string }[]> {
    const names = await this.options.fs.list(this.options.directory);
    return names
      .map((name) => ({ name, match: /^(\d{20})\.snapshot$/.exec(name) }))
      .filter((entry) => entry.match?.[1] !== undefined)
      .map((entry) => ({ name: entry.name, offset: BigInt(entry.match?.[1] ?? '0') }))
      .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  }

  private async writeProducerSnapshot(): Promise<void> {
    const name = `${this.logEnd.toString().padStart(20, '0')}${producerSnapshotSuffix}`;
    await this.options.fs.writeFileAtomic(this.path(name), this.producers.snapshot());
    const snapshots = await this.producerSnapshots();
    for (const { name: old } of snapshots.slice(0, Math.max(0, snapshots.length - producerSnapshotsRetained))) await this.options.fs.remove(this.path(old));
  }

  /**
   * The producer state at the log end: the newest intact snapshot at or below it, then every
   * batch header after the snapshot's offset. Snapshots past the log end (left by a truncation)
   * are deleted. Batch headers alone rebuild it when there is no snapshot at all.
   */
  private async loadProducerState(): Promise<ProducerStateManager> {
    let state = new ProducerStateManager();
    const snapshots = await this.producerSnapshots();
    for (const { offset, name } of snapshots) {
      if (offset > this.logEnd) await this.options.fs.remove(this.path(name));
    }
    for (const { offset, name } of snapshots.filter((entry) => entry.offset <= this.logEnd).reverse()) {
      const bytes = await this.options.fs.readFile(this.path(name));
      if (bytes === null) continue;
      try {
        state = ProducerStateManager.fromSnapshot(bytes);
        if (state.endOffset === offset) break;
      } catch {
        // A damaged snapshot is skipped: an older one, or the batches themselves, will do.
      }
      state = new ProducerStateManager();
    }
    const from = state.endOffset;
    const batchBytesMax = storedBatchBytesMax;
    for (const segment of this.segments) {
      if (segment.nextOffset <= from) continue;
      await segment.scan(0, segment.size, batchBytesMax, (batch) => {
        if (batch.header.baseOffset >= from) state.update(batch.header);
        return true;
      });
    }
    return state;
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
      const lagHorizon = BigInt(nowMs - this.config.minCompactionLagMs);
      const candidates: Segment[] = [];
      for (const segment of this.segments.slice(0, -1)) {
        if (segment.maxTimestamp > lagHorizon) break;
        candidates.push(segment);
      }
      const batchBytesMax = storedBatchBytesMax;
      const latest = new LatestOffsets();
      let cleanable = 0;
      for (const segment of candidates) {
        if (latest.full) break;
        const batches = await this.batchesOf(segment, batchBytesMax);
        // Retention or truncation removed it while we read: the pass stops here.
        if (batches === null) break;
        for (const batch of batches) {
          for (const record of (await readBatch(batch)).records) latest.record(record);
        }
        cleanable++;
      }
      const tombstoneHorizon = BigInt(nowMs - this.config.deleteRetentionMs);
      for (const segment of candidates.slice(0, cleanable)) {
        if (this.closed) break;
        const sizeBefore = segment.size;
        const nextBefore = segment.nextOffset;
        const kept: Buffer[] = [];
        let removed = 0;
        const batches = await this.batchesOf(segment, batchBytesMax);
        if (batches === null) continue;
        for (const batch of batches) {
          const decoded = await readBatch(batch);
          const survivors = decoded.records.filter((record) => survivesCompaction(record, latest, tombstoneHorizon));
          removed += decoded.records.length - survivors.length;
          if (survivors.length === decoded.records.length) kept.push(batch);
          else if (survivors.length > 0) kept.push(await rebuildBatch(decoded.header, survivors));
        }
        if (removed === 0) continue;
        const cleanedPath = this.path(`${segmentFileName(segment.baseOffset, '.log')}.cleaned`);
        const cleaned = await this.options.fs.open(cleanedPath, { create: true });
        try {
          await cleaned.truncate(0);
          if (kept.length > 0) await cleaned.write(kept, 0);
          await cleaned.sync();
        } finally {
          await cleaned.close();
        }
        if (this.closed) {
          await this.options.fs.remove(cleanedPath);
          break;
        }
        const swapped = await this.mutate(async () => {
          const index = this.segments.indexOf(segment);
          // Truncation or retention got there first: the cleaned copy is stale.
          if (index < 0 || index === this.segments.length - 1 || segment.size !== sizeBefore || segment.nextOffset !== nextBefore) {
            await this.options.fs.remove(cleanedPath);
            return false;
          }
          // The old indexes go first: a crash after the rename then finds a segment without
          // index files, which is rebuilt from the batches, never one with stale indexes.
          for (const path of [segment.indexPath('.index'), segment.indexPath('.timeindex')]) {
            if (await this.options.fs.exists(path)) await this.options.fs.remove(path);
          }
          await this.options.fs.rename(cleanedPath, segment.logPath);
          await this.options.fs.syncDirectory(this.options.directory);
          const { segment: replacement } = await Segment.open(this.options.fs, this.options.directory, segment.baseOffset, {
            trusted: false,
            indexIntervalBytes: this.config.indexIntervalBytes,
            batchBytesMax,
            offsetGapsAllowed: true,
          });
          this.segments[index] = replacement;
          this.loadedIndexes.delete(segment);
          this.loadedIndexes.add(replacement);
          await this.trimLoadedIndexes();
          // Reads that started before the swap still hold the old segment: close it later.
          segment.retired = true;
          this.retired.add(segment);
          if (!this.compacted) {
            this.compacted = true;
            await this.persistState();
          }
          this.options.scheduler.schedule(replacedSegmentCloseDelayMs, () => this.closeRetired(segment));
          return true;
        });
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

  /** Copies of every batch of a closed segment, or null if the segment left the log. */
  private async batchesOf(segment: Segment, batchBytesMax: number): Promise<Buffer[] | null> {
    const batches: Buffer[] = [];
    try {
      await segment.scan(0, segment.size, batchBytesMax, (batch) => {
        batches.push(Buffer.from(batch.bytes));
        return true;
      });
    } catch (error) {
      if (!this.segments.includes(segment)) return null;
      throw error;
    }
    return this.segments.includes(segment) ? batches : null;
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
        this.durableEnd = this.logEnd;
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

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Index of the last segment whose base offset is at or below `offset` (0 if none). */
function segmentIndexFor(segments: readonly Segment[], offset: bigint): number {
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if ((segments[middle]?.baseOffset ?? 0n) <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

async function deleteSegmentFiles(fs: LogFileSystem, directory: string, bases: readonly bigint[]): Promise<number> {
  for (const base of bases) {
    for (const suffix of ['.log', '.index', '.timeindex']) {
      const path = joinPath(directory, `${base.toString().padStart(20, '0')}${suffix}`);
      if (await fs.exists(path)) await fs.remove(path);
    }
  }
  if (bases.length > 0) await fs.syncDirectory(directory);
  return bases.length;
}
