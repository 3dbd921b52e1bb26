/**
 * Opening a partition directory: the segments are opened in offset order and, after an unclean
 * shutdown, every segment from the recovery point on is scanned and cut at a torn or corrupt
 * tail; the leader-epoch history is read from its checkpoint or rebuilt from the batches.
 */
import { joinPath, type LogFileSystem } from '@starlane/io-ports';
import type { LogConfig } from './config';
import { loadedIndexesMax } from './index-cache';
import { LeaderEpochCache, parseLeaderEpochs, type LeaderEpochEntry } from './leader-epoch-cache';
import { cleanShutdownFileName, deleteSegmentFiles, leaderEpochFileName, minBig, parseState, stateFileName, storedBatchBytesMax, type PartitionState } from './partition-files';
import { Segment, parseSegmentFileName } from './segment';

export interface OpenReport {
  readonly cleanShutdown: boolean;
  readonly segmentsRecovered: number;
  readonly bytesTruncated: number;
  readonly segmentsDeleted: number;
}

export interface RecoveredLog {
  /** The segments kept, in offset order; never empty. */
  readonly segments: Segment[];
  /** What partition.checkpoint should say now (the recovery point is what is on disk). */
  readonly state: PartitionState;
  readonly epochs: LeaderEpochCache;
  /** The recovery point the checkpoint held, or null after a clean shutdown. */
  readonly savedRecoveryPoint: bigint | null;
  readonly report: OpenReport;
}

/**
 * Opens the segments in `directory`. After an unclean shutdown, every segment from the recovery
 * point on is scanned: batches are checked (length, magic, CRC, offsets moving forward), a torn
 * or corrupt tail is cut, every later segment is deleted, and indexes are rebuilt. Missing or
 * implausible index files are rebuilt in any case.
 */
export async function recoverLog(fs: LogFileSystem, directory: string, config: LogConfig): Promise<RecoveredLog> {
  await fs.makeDirectory(directory);
  const names = await fs.list(directory);
  const cleanShutdown = names.includes(cleanShutdownFileName);
  const saved = parseState(await fs.readFile(joinPath(directory, stateFileName)));
  for (const name of names) {
    if (name.endsWith('.tmp') || name.endsWith('.cleaned') || name.endsWith('.swap')) await fs.remove(joinPath(directory, name));
  }
  const bases = names.map(parseSegmentFileName).filter((base): base is bigint => base !== null).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const recoveryPoint = cleanShutdown ? null : (saved?.recoveryPoint ?? 0n);
  // Gaps follow from compaction having run, not from today's policy: a topic switched from
  // compact to delete keeps its gaps.
  const gapsAllowed = config.cleanupPolicy !== 'delete' || saved?.compacted === true;
  const opened = await openSegments(fs, directory, bases, recoveryPoint, gapsAllowed, config.indexIntervalBytes);
  const { segments, recovered, bytesTruncated } = opened;

  const logStartFromState = saved?.logStartOffset ?? 0n;
  if (segments.length === 0) segments.push(await Segment.create(fs, directory, logStartFromState));
  const first = segments[0] as Segment;
  const logEnd = segments.at(-1)?.nextOffset ?? first.baseOffset;
  const logStartOffset = logStartFromState > first.baseOffset && logStartFromState <= logEnd ? logStartFromState : first.baseOffset;
  const durable = recoveryPoint === null ? logEnd : recovered.length > 0 || bytesTruncated > 0 ? logEnd : minBig(recoveryPoint, logEnd);

  const epochs = await rebuildEpochs(fs, directory, segments, recovered);
  epochs.truncateFromEnd(logEnd);
  epochs.truncateFromStart(logStartOffset);
  return {
    segments,
    state: { logStartOffset, recoveryPoint: durable, compacted: saved?.compacted === true },
    epochs,
    savedRecoveryPoint: recoveryPoint,
    report: { cleanShutdown, segmentsRecovered: recovered.length, bytesTruncated, segmentsDeleted: opened.segmentsDeleted },
  };
}

/** Opens the segments at `bases` in order, stopping at the first damage; recovers the untrusted ones. */
async function openSegments(
  fs: LogFileSystem,
  directory: string,
  bases: readonly bigint[],
  recoveryPoint: bigint | null,
  gapsAllowed: boolean,
  indexIntervalBytes: number,
): Promise<{ segments: Segment[]; recovered: Segment[]; bytesTruncated: number; segmentsDeleted: number }> {
  const segments: Segment[] = [];
  const recovered: Segment[] = [];
  let bytesTruncated = 0;
  let segmentsDeleted = 0;
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i] ?? 0n;
    const next = bases[i + 1];
    const previous = segments.at(-1);
    const trusted = recoveryPoint === null || (next !== undefined && next <= recoveryPoint);
    if (previous !== undefined && (gapsAllowed ? base < previous.nextOffset : base !== previous.nextOffset)) {
      // Overlaps the segment before it, or leaves a hole after it: only damage or a
      // half-finished operation leaves this behind, and offsets must stay contiguous.
      segmentsDeleted += await deleteSegmentFiles(fs, directory, bases.slice(i));
      break;
    }
    const { segment, truncatedBytes } = await Segment.open(fs, directory, base, {
      trusted,
      indexIntervalBytes,
      batchBytesMax: storedBatchBytesMax,
      offsetGapsAllowed: gapsAllowed,
    });
    if (!trusted) {
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
  return { segments, recovered, bytesTruncated, segmentsDeleted };
}

/** The epoch history from its checkpoint, or from the batches when the checkpoint is missing or damaged. */
async function rebuildEpochs(fs: LogFileSystem, directory: string, segments: readonly Segment[], recovered: readonly Segment[]): Promise<LeaderEpochCache> {
  const epochs = new LeaderEpochCache();
  const epochBytes = await fs.readFile(joinPath(directory, leaderEpochFileName));
  let epochEntries: readonly LeaderEpochEntry[] | null = null;
  if (epochBytes !== null) {
    try {
      epochEntries = parseLeaderEpochs(epochBytes);
    } catch {
      epochEntries = null;
    }
  }
  const assignFrom = async (segment: Segment): Promise<void> => {
    await segment.scan(0, segment.size, storedBatchBytesMax, (batch) => {
      epochs.assign(batch.header.partitionLeaderEpoch, batch.header.baseOffset);
      return true;
    });
  };
  if (epochEntries === null) {
    // Rebuild from the batches themselves: every batch carries its leader epoch.
    for (const segment of segments) await assignFrom(segment);
  } else {
    for (const entry of epochEntries) epochs.assign(entry.epoch, entry.startOffset);
    // The checkpoint may lag the batches a crash left behind: recovered segments carry their
    // epochs in every batch, so they are assigned again from there (as Kafka's recovery does).
    for (const segment of recovered) await assignFrom(segment);
  }
  return epochs;
}
