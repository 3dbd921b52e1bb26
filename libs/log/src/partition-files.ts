/**
 * The partition directory's small files besides the segments: the checkpoint of log start
 * offset and recovery point, the leader-epoch checkpoint, the clean-shutdown marker; and the
 * helpers every part of the log shares to name and remove them.
 */
import { joinPath, type LogFileSystem } from '@starlane/io-ports';
import { StarlaneError } from '@starlane/model';
import { segmentBytesMax } from './config';
import { serializeLeaderEpochs, type LeaderEpochCache } from './leader-epoch-cache';

export const cleanShutdownFileName = '.clean-shutdown';
export const stateFileName = 'partition.checkpoint';
export const leaderEpochFileName = 'leader-epoch-checkpoint';

/**
 * The largest batch a scan of stored data accepts. What is stored was accepted under the
 * settings of its day, or copied unchecked from a leader, so today's max.message.bytes and
 * segment.bytes say nothing about it: recovery bounded by them would cut fsynced batches as torn
 * after either was lowered. A length past the file's end still ends a scan, and the CRC decides
 * whether a batch is whole.
 */
export const storedBatchBytesMax = segmentBytesMax;

export interface PartitionState {
  readonly logStartOffset: bigint;
  readonly recoveryPoint: bigint;
  /** Whether compaction ever removed batches: offsets may have gaps even under `delete`. */
  readonly compacted: boolean;
}

export function storageError(message: string, cause?: unknown): StarlaneError {
  return new StarlaneError('STORAGE_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

export function parseState(bytes: Buffer | null): PartitionState | null {
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { version?: unknown; logStartOffset?: unknown; recoveryPoint?: unknown; compacted?: unknown };
    if (parsed.version !== 1 || typeof parsed.logStartOffset !== 'string' || typeof parsed.recoveryPoint !== 'string') return null;
    return { logStartOffset: BigInt(parsed.logStartOffset), recoveryPoint: BigInt(parsed.recoveryPoint), compacted: parsed.compacted === true };
  } catch {
    return null;
  }
}

/** Writes partition.checkpoint atomically. */
export async function writeState(fs: LogFileSystem, directory: string, state: PartitionState): Promise<void> {
  const json = { version: 1, logStartOffset: state.logStartOffset.toString(), recoveryPoint: state.recoveryPoint.toString(), compacted: state.compacted };
  await fs.writeFileAtomic(joinPath(directory, stateFileName), Buffer.from(`${JSON.stringify(json)}\n`));
}

/** Writes the leader-epoch checkpoint atomically (Kafka's format). */
export async function writeEpochs(fs: LogFileSystem, directory: string, epochs: LeaderEpochCache): Promise<void> {
  await fs.writeFileAtomic(joinPath(directory, leaderEpochFileName), serializeLeaderEpochs(epochs.entries()));
}

/** Removes the files of the segments at `bases` and syncs the directory; returns how many. */
export async function deleteSegmentFiles(fs: LogFileSystem, directory: string, bases: readonly bigint[]): Promise<number> {
  for (const base of bases) {
    for (const suffix of ['.log', '.index', '.timeindex']) {
      const path = joinPath(directory, `${base.toString().padStart(20, '0')}${suffix}`);
      if (await fs.exists(path)) await fs.remove(path);
    }
  }
  if (bases.length > 0) await fs.syncDirectory(directory);
  return bases.length;
}

export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
