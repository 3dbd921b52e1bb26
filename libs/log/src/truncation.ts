/**
 * Cutting the log: at its end (truncation, a follower that diverged from its leader, or one so
 * far behind that it starts over empty) and at its start (retention). The steps run in the
 * lane, after appends called earlier; each leaves the files, the offsets, the epoch history and
 * the producer state agreeing, in an order that a crash part-way cannot turn into a hole or
 * resurrect offsets. `retention.ts` holds the pure rule of which segments retention deletes.
 */
import type { LogFileSystem } from '@starlane/io-ports';
import type { LogState } from './log-state';
import { storedBatchBytesMax } from './partition-files';
import { loadProducerState, removeProducerSnapshots } from './producer-snapshots';
import { boundRetention, segmentsToDelete } from './retention';
import { Segment } from './segment';
import { segmentIndexFor } from './segment-read';

/** `PartitionLog.truncateTo` once in the lane: see there for what happens at either end. */
export async function truncateLogTo(state: LogState, offset: bigint): Promise<void> {
  await state.quiesceSync();
  if (offset >= state.logEnd) {
    if (state.epochs.truncateFromEnd(state.logEnd)) await state.persistEpochs();
    return;
  }
  if (offset <= state.logStart) {
    await replaceWithEmpty(state, offset);
    return;
  }
  await cutSegmentsAt(state.segments, offset, state.config.indexIntervalBytes, (segment) => state.deleteSegment(segment));
  await afterTruncation(state);
}

/** `PartitionLog.truncateFullyAndStartAt` once in the lane. */
export async function truncateLogFully(state: LogState, offset: bigint): Promise<void> {
  await state.quiesceSync();
  await replaceWithEmpty(state, offset);
}

/** Drops the whole log and starts it empty at `offset`. */
async function replaceWithEmpty(state: LogState, offset: bigint): Promise<void> {
  for (const segment of state.segments.splice(0)) await state.deleteSegment(segment);
  // Nothing of the old log carries over: its epochs and producers described data now gone.
  state.epochs.clear();
  await startEmptyAt(state.fs, state.directory, state.segments, offset);
  state.logStart = offset;
  await afterTruncation(state);
}

/** The offsets, group commit, epochs and producer state follow the cut files; then everything is made durable. */
async function afterTruncation(state: LogState): Promise<void> {
  state.logEnd = state.active.nextOffset;
  state.writtenEnd = state.logEnd;
  state.commit.truncated(state.logEnd);
  state.epochs.truncateFromEnd(state.logEnd);
  // The state of producers whose batches were cut is found again from the last snapshot
  // below the new end and the batches after it.
  state.producers = await loadProducerState(state.fs, state.directory, state.segments, state.logEnd);
  await state.fs.syncDirectory(state.directory);
  await state.commit.syncAll();
  await state.persistState();
  await state.persistEpochs();
}

/** `PartitionLog.deleteOldSegments` once in the lane: how many segments went. */
export async function applyRetention(state: LogState): Promise<number> {
  const summaries = state.segments.map((segment) => ({ baseOffset: segment.baseOffset, sizeBytes: segment.size, maxTimestamp: segment.maxTimestamp }));
  // Never past the replica's high watermark (retainFrom), as Kafka bounds it.
  const count = boundRetention(summaries, segmentsToDelete(summaries, state.config, state.options.clock.nowMs()), state.options.retainFrom?.());
  if (count === 0) return 0;
  await state.quiesceSync();
  const kept = state.segments[count] as Segment;
  // The new start is durable before any file goes, so a crash never resurrects offsets.
  state.logStart = kept.baseOffset > state.logStart ? kept.baseOffset : state.logStart;
  await state.persistState();
  for (const segment of state.segments.splice(0, count)) await state.deleteSegment(segment);
  await state.fs.syncDirectory(state.directory);
  state.epochs.truncateFromStart(state.logStart);
  await state.persistEpochs();
  const logStart = state.logStart;
  await removeProducerSnapshots(state.fs, state.directory, (offset) => offset < logStart);
  return count;
}

/**
 * Removes every batch holding an offset at or after `offset` from `segments` (changed in
 * place): later segments are deleted, the one holding `offset` is cut at a batch boundary.
 * `offset` lies inside the log (past its start, before its end).
 */
export async function cutSegmentsAt(
  segments: Segment[],
  offset: bigint,
  indexIntervalBytes: number,
  deleteSegment: (segment: Segment) => Promise<void>,
): Promise<void> {
  const keep = segmentIndexFor(segments, offset);
  const doomed = segments.splice(keep + 1);
  // Newest first: a crash part-way leaves a shorter log, never a hole.
  for (const segment of doomed.reverse()) await deleteSegment(segment);
  const active = segments.at(-1) as Segment;
  await active.truncateTo(offset, storedBatchBytesMax, indexIntervalBytes);
}

/**
 * Starts `segments` (emptied by the caller) again with one empty segment at `offset`, after
 * removing every producer snapshot: nothing of the old log carries over.
 */
export async function startEmptyAt(fs: LogFileSystem, directory: string, segments: Segment[], offset: bigint): Promise<void> {
  await removeProducerSnapshots(fs, directory);
  segments.push(await Segment.create(fs, directory, offset));
}
