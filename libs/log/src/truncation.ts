/**
 * The file work of truncation: cutting the segment list back to an offset, or replacing it
 * with one empty segment. The log runs these in its lane and then resets its offsets, epochs
 * and producer state (the order of those steps is the log's).
 */
import type { LogFileSystem } from '@starlane/io-ports';
import { storedBatchBytesMax } from './partition-files';
import { removeProducerSnapshots } from './producer-snapshots';
import { Segment } from './segment';
import { segmentIndexFor } from './segment-read';

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
