/**
 * The reading and rewriting half of a log-cleaner pass (`cleanup.policy` compact): which
 * segments may be cleaned, the newest offset of every key in them, and each segment's cleaned
 * copy written beside the original. The swap of a finished copy into the log is the log's.
 */
import type { LogFileSystem } from '@starlane/io-ports';
import { readBatch, rebuildBatch } from '@starlane/record-batch';
import { LatestOffsets, survivesCompaction } from './compaction';
import { storedBatchBytesMax } from './partition-files';
import { Segment } from './segment';

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
