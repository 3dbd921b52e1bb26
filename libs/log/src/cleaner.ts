/**
 * A log-cleaner pass (`cleanup.policy` compact): which segments may be cleaned, the newest
 * offset of every key in them, each segment's cleaned copy written beside the original while
 * appends go on, and the swap of a finished copy into the segment list, which alone takes the
 * lane, briefly. `compaction.ts` holds the pure rule, `survivesCompaction`.
 */
import type { LogFileSystem } from '@starlane/io-ports';
import { readBatch, rebuildBatch } from '@starlane/record-batch';
import { LatestOffsets, survivesCompaction } from './compaction';
import type { LogState } from './log-state';
import { storedBatchBytesMax } from './partition-files';
import { Segment, segmentFileName } from './segment';

export interface CompactionReport {
  readonly segmentsCleaned: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** How long a replaced segment's old file stays open for reads already under way. */
export const replacedSegmentCloseDelayMs = 5_000;

/** `PartitionLog.compact`: one pass over the closed segments old enough to clean. */
export async function runCleanerPass(state: LogState): Promise<CompactionReport> {
  const report = { segmentsCleaned: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
  if (state.config.cleanupPolicy === 'delete' || state.compacting !== null) return report;
  state.checkOpen();
  let finished = (): void => undefined;
  state.compacting = new Promise<void>((resolve) => (finished = resolve));
  try {
    const nowMs = state.options.clock.nowMs();
    const candidates = compactionCandidates(state.segments, BigInt(nowMs - state.config.minCompactionLagMs));
    const { latest, cleanable } = await latestOffsetsOf(state.segments, candidates);
    const tombstoneHorizon = BigInt(nowMs - state.config.deleteRetentionMs);
    for (const segment of candidates.slice(0, cleanable)) {
      if (state.closed) break;
      const cleaned = await cleanSegment(state, segment, latest, tombstoneHorizon);
      if (cleaned === 'closed') break;
      if (cleaned === null) continue;
      report.segmentsCleaned++;
      report.recordsRemoved += cleaned.recordsRemoved;
      report.bytesBefore += cleaned.bytesBefore;
      report.bytesAfter += cleaned.bytesAfter;
    }
    return report;
  } finally {
    state.compacting = null;
    finished();
  }
}

/**
 * Cleans one segment: its cleaned copy written, then swapped in. Null when nothing was removed
 * or the copy went stale; 'closed' when the log closed while the copy was written.
 */
async function cleanSegment(
  state: LogState,
  segment: Segment,
  latest: LatestOffsets,
  tombstoneHorizon: bigint,
): Promise<{ recordsRemoved: number; bytesBefore: number; bytesAfter: number } | null | 'closed'> {
  const sizeBefore = segment.size;
  const nextBefore = segment.nextOffset;
  const batches = await batchesOf(state.segments, segment);
  if (batches === null) return null;
  const { kept, removed } = await cleanBatches(batches, latest, tombstoneHorizon);
  if (removed === 0) return null;
  const cleanedPath = state.path(`${segmentFileName(segment.baseOffset, '.log')}.cleaned`);
  await writeCleanedCopy(state.fs, cleanedPath, kept);
  if (state.closed) {
    await state.fs.remove(cleanedPath);
    return 'closed';
  }
  const swapped = await state.mutate(() => swapCleaned(state, segment, cleanedPath, sizeBefore, nextBefore));
  if (!swapped) return null;
  return { recordsRemoved: removed, bytesBefore: sizeBefore, bytesAfter: kept.reduce((sum, batch) => sum + batch.length, 0) };
}

/**
 * Puts the cleaned copy at `cleanedPath` in place of `segment`, unless truncation or retention
 * changed the segment since it was read (then the copy is stale and goes). Runs in the lane.
 */
async function swapCleaned(state: LogState, segment: Segment, cleanedPath: string, sizeBefore: number, nextBefore: bigint): Promise<boolean> {
  const index = state.segments.indexOf(segment);
  // Truncation or retention got there first: the cleaned copy is stale.
  if (index < 0 || index === state.segments.length - 1 || segment.size !== sizeBefore || segment.nextOffset !== nextBefore) {
    await state.fs.remove(cleanedPath);
    return false;
  }
  const replacement = await installCleanedCopy(state.fs, state.directory, segment, cleanedPath, state.config.indexIntervalBytes);
  state.segments[index] = replacement;
  state.indexCache.forget(segment);
  state.indexCache.add(replacement);
  await state.indexCache.trim();
  // Reads that started before the swap still hold the old segment: close it later.
  segment.retired = true;
  state.retired.add(segment);
  if (!state.compacted) {
    state.compacted = true;
    await state.persistState();
  }
  state.options.scheduler.schedule(replacedSegmentCloseDelayMs, () => state.closeRetired(segment));
  return true;
}

/** Closed segments, oldest first, whose every record is older than the lag horizon. */
export function compactionCandidates(segments: readonly Segment[], lagHorizon: bigint): Segment[] {
  const candidates: Segment[] = [];
  for (const segment of segments.slice(0, -1)) {
    if (segment.maxTimestamp > lagHorizon) break;
    candidates.push(segment);
  }
  return candidates;
}

/** Copies of every batch of a closed segment, or null if the segment left `segments`. */
export async function batchesOf(segments: readonly Segment[], segment: Segment): Promise<Buffer[] | null> {
  const batches: Buffer[] = [];
  try {
    await segment.scan(0, segment.size, storedBatchBytesMax, (batch) => {
      batches.push(Buffer.from(batch.bytes));
      return true;
    });
  } catch (error) {
    if (!segments.includes(segment)) return null;
    throw error;
  }
  return segments.includes(segment) ? batches : null;
}

/**
 * The newest offset of every key in `candidates`, and how many of them (from the oldest) it
 * covers: it stops when the key map is full or a segment leaves the log.
 */
export async function latestOffsetsOf(segments: readonly Segment[], candidates: readonly Segment[]): Promise<{ latest: LatestOffsets; cleanable: number }> {
  const latest = new LatestOffsets();
  let cleanable = 0;
  for (const segment of candidates) {
    if (latest.full) break;
    const batches = await batchesOf(segments, segment);
    // Retention or truncation removed it while we read: the pass stops here.
    if (batches === null) break;
    for (const batch of batches) {
      for (const record of (await readBatch(batch)).records) latest.record(record);
    }
    cleanable++;
  }
  return { latest, cleanable };
}

/** The batches to keep and how many records go: whole batches, or rebuilt from their survivors. */
export async function cleanBatches(batches: readonly Buffer[], latest: LatestOffsets, tombstoneHorizon: bigint): Promise<{ kept: Buffer[]; removed: number }> {
  const kept: Buffer[] = [];
  let removed = 0;
  for (const batch of batches) {
    const decoded = await readBatch(batch);
    const survivors = decoded.records.filter((record) => survivesCompaction(record, latest, tombstoneHorizon));
    removed += decoded.records.length - survivors.length;
    if (survivors.length === decoded.records.length) kept.push(batch);
    else if (survivors.length > 0) kept.push(await rebuildBatch(decoded.header, survivors));
  }
  return { kept, removed };
}

/** Writes and fsyncs a cleaned copy at `path`, replacing whatever an earlier pass left there. */
export async function writeCleanedCopy(fs: LogFileSystem, path: string, kept: readonly Buffer[]): Promise<void> {
  const cleaned = await fs.open(path, { create: true });
  try {
    await cleaned.truncate(0);
    if (kept.length > 0) await cleaned.write(kept, 0);
    await cleaned.sync();
  } finally {
    await cleaned.close();
  }
}

/**
 * Replaces `segment`'s log file with the cleaned copy at `cleanedPath` and opens the result as
 * a new Segment (indexes rebuilt from the batches). The caller has checked that the segment did
 * not change since it was read, and runs this in the log's lane.
 */
export async function installCleanedCopy(fs: LogFileSystem, directory: string, segment: Segment, cleanedPath: string, indexIntervalBytes: number): Promise<Segment> {
  // The old indexes go first: a crash after the rename then finds a segment without
  // index files, which is rebuilt from the batches, never one with stale indexes.
  for (const path of [segment.indexPath('.index'), segment.indexPath('.timeindex')]) {
    if (await fs.exists(path)) await fs.remove(path);
  }
  await fs.rename(cleanedPath, segment.logPath);
  await fs.syncDirectory(directory);
  const { segment: replacement } = await Segment.open(fs, directory, segment.baseOffset, {
    trusted: false,
    indexIntervalBytes,
    batchBytesMax: storedBatchBytesMax,
    offsetGapsAllowed: true,
  });
  return replacement;
}
