/**
 * The append path of one log: the queue of appends waiting to be written and the drain that
 * writes them, one drain at a time in the log's serial lane, coalescing every queued batch into
 * one gathered write per segment; offsets assigned (a leader's batches) or checked (a
 * follower's); the active segment rolled where needed; epochs and producer state taught the
 * written batches; appends resolved, after an fsync when `flush.messages` asks for one.
 *
 * This is the hot path: per append it checks and splits the input, pushes one entry and
 * schedules at most one drain; everything else is per drain.
 */
import { StarlaneError } from '@starlane/model';
import { lastOffset, setBaseOffset, setPartitionLeaderEpoch, type BatchHeader } from '@starlane/record-batch';
import {
  GatheredWrite,
  appendQueueBytesMax,
  followerDiscontinuity,
  shouldRoll,
  splitInput,
  takeCoalesced,
  type AcceptedAppend,
  type AppendResult,
  type PendingAppend,
} from './append-queue';
import type { LogState } from './log-state';
import { Segment } from './segment';

export class Appender {
  /**
   * Appends waiting to be written. A change to the files (truncation, close) swaps in a fresh
   * queue when it is called (`cutQueue`), so appends called after it are written after it: the
   * log applies appends and truncations in call order.
   */
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private drainScheduled = false;

  constructor(private readonly state: LogState) {}

  /** Queues `records` (a leader's with `leaderEpoch`, a follower's with null) for the drain. */
  enqueue(records: Buffer, leaderEpoch: number | null): Promise<AppendResult> {
    const state = this.state;
    try {
      state.checkOpen();
      const batches = splitInput(records, leaderEpoch !== null, state.config.maxMessageBytes);
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

  /** Called synchronously by changes to the files: later appends go to a new queue, behind them. */
  cutQueue(): void {
    this.queue = [];
    this.drainScheduled = false;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    const queue = this.queue;
    this.state
      .inLane(async () => {
        if (queue === this.queue) this.drainScheduled = false;
        await this.drain(queue);
      })
      .catch((error: unknown) => this.state.fail(error));
  }

  /** Writes queued appends, coalesced, until the queue is empty. Runs in the lane. */
  private async drain(queue: PendingAppend[]): Promise<void> {
    const state = this.state;
    while (queue.length > 0) {
      const { taken, takenBytes } = takeCoalesced(queue);
      this.queuedBytes -= takenBytes;
      if (state.failure !== null) {
        for (const item of taken) item.reject(state.failure);
        continue;
      }
      try {
        await this.writeAppends(taken);
      } catch (error) {
        // Whatever failed after data may have reached the file, the log can no longer vouch
        // for its state: it goes offline, and every append still waiting hears why.
        state.fail(error);
        for (const item of taken) item.reject(state.failure);
      }
    }
  }

  /**
   * Assigns offsets (a leader's batches) or checks them (a follower's), writes the batches with
   * one gathered write per segment, rolling where needed, then completes the appends.
   */
  private async writeAppends(items: PendingAppend[]): Promise<void> {
    const state = this.state;
    const nowMs = state.options.clock.nowMs();
    let next = state.logEnd;
    let group: GatheredWrite | null = null;
    const accepted: AcceptedAppend[] = [];

    const writeGroup = async (): Promise<void> => {
      if (group === null || group.empty) return;
      await group.write(state.config.indexIntervalBytes, nowMs);
      state.writtenEnd = group.segment.nextOffset;
      group = null;
    };

    for (const item of items) {
      if (item.leaderEpoch === null) {
        // A follower's batches must continue the log exactly, all of them, before any is written.
        const broken = followerDiscontinuity(item.batches, next, state.gapsAllowed);
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
        if (shouldRoll(state.active, state.config, batch.bytes.length, lastOffset(header), nowMs, group?.bytes ?? 0)) {
          await writeGroup();
          await this.roll(next);
        }
        group ??= new GatheredWrite(state.active);
        group.add(batch.bytes, header);
        itemHeaders.push(header);
        next = lastOffset(header) + 1n;
      }
      accepted.push({ item, baseOffset: itemBase, lastOffset: next - 1n, headers: itemHeaders });
    }
    try {
      await writeGroup();
    } catch (error) {
      state.fail(error);
      for (const { item } of accepted) item.reject(state.failure);
      return;
    }
    await this.completeAppends(accepted, next, nowMs);
  }

  /** After the write: epochs and producer state learn the batches, the log end moves, appends resolve. */
  private async completeAppends(accepted: readonly AcceptedAppend[], next: bigint, nowMs: number): Promise<void> {
    const state = this.state;
    let epochsChanged = false;
    for (const { item, headers } of accepted) {
      for (const header of headers) {
        if (state.epochs.assign(header.partitionLeaderEpoch, header.baseOffset)) epochsChanged = true;
        state.producers.update(header);
      }
      state.commit.unflushedRecords += item.records;
    }
    state.logEnd = next;
    // Only a new epoch rewrites the checkpoint: once per leader change, not per append.
    if (epochsChanged) await state.persistEpochs();

    const mustSync = state.config.flushMessages > 0 && state.commit.unflushedRecords >= state.config.flushMessages;
    const target = state.logEnd;
    for (const { item, baseOffset, lastOffset: last } of accepted) {
      const result = { baseOffset, lastOffset: last, appendTimeMs: nowMs };
      if (mustSync) state.commit.flushTo(target).then(() => item.resolve(result), item.reject);
      else item.resolve(result);
    }
  }

  /** Starts a new active segment at `baseOffset`; the old one is flushed in the background. */
  private async roll(baseOffset: bigint): Promise<void> {
    const state = this.state;
    const previous = state.active;
    previous.sealTimeIndex();
    await previous.persistIndexes();
    // As Kafka does, the producer state is snapshotted at every roll: a later open replays at
    // most one segment of batch headers.
    await state.writeProducerSnapshot();
    state.segments.push(await Segment.create(state.fs, state.directory, baseOffset));
    state.indexCache.add(previous);
    await state.indexCache.trim();
    await state.fs.syncDirectory(state.directory);
    // As Kafka does, a rolled segment is flushed right away whatever the flush policy: it will
    // not change again, and the recovery point can move past it.
    state.commit.flushTo(baseOffset).catch((error: unknown) => state.fail(error));
  }
}
