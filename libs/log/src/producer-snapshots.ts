/**
 * Idempotent-producer snapshots: `<20-digit offset>.snapshot` files holding the producer state
 * up to that offset, written at every roll and at close, and the state at the log end rebuilt
 * from the newest good one plus the batch headers after it.
 */
import { joinPath, type LogFileSystem } from '@starlane/io-ports';
import { storedBatchBytesMax } from './partition-files';
import { ProducerStateManager } from './producer-state';
import type { Segment } from './segment';

/** Producer-state snapshots: `<20-digit offset>.snapshot`, the state up to that offset. */
export const producerSnapshotSuffix = '.snapshot';
/** Snapshots kept; a truncation below the oldest rebuilds the state from batch headers. */
export const producerSnapshotsRetained = 2;

export interface ProducerSnapshotFile {
  readonly offset: bigint;
  readonly name: string;
}

/** The snapshot files in `directory`, oldest first. */
export async function listProducerSnapshots(fs: LogFileSystem, directory: string): Promise<ProducerSnapshotFile[]> {
  const names = await fs.list(directory);
  return names
    .map((name) => ({ name, match: /^(\d{20})\.snapshot$/.exec(name) }))
    .filter((entry) => entry.match?.[1] !== undefined)
    .map((entry) => ({ name: entry.name, offset: BigInt(entry.match?.[1] ?? '0') }))
    .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

/** Snapshots `producers` as of `logEnd` and removes all but the newest `producerSnapshotsRetained`. */
export async function writeProducerSnapshot(fs: LogFileSystem, directory: string, producers: ProducerStateManager, logEnd: bigint): Promise<void> {
  const name = `${logEnd.toString().padStart(20, '0')}${producerSnapshotSuffix}`;
  await fs.writeFileAtomic(joinPath(directory, name), producers.snapshot());
  const snapshots = await listProducerSnapshots(fs, directory);
  for (const { name: old } of snapshots.slice(0, Math.max(0, snapshots.length - producerSnapshotsRetained))) await fs.remove(joinPath(directory, old));
}

/** Removes the snapshots that `doomed` picks (all of them when not given). */
export async function removeProducerSnapshots(fs: LogFileSystem, directory: string, doomed: (offset: bigint) => boolean = () => true): Promise<void> {
  for (const { offset, name } of await listProducerSnapshots(fs, directory)) {
    if (doomed(offset)) await fs.remove(joinPath(directory, name));
  }
}

/**
 * The producer state at the log end: the newest intact snapshot at or below it, then every
 * batch header after the snapshot's offset. Snapshots past the log end (left by a truncation)
 * are deleted. Batch headers alone rebuild it when there is no snapshot at all.
 */
export async function loadProducerState(fs: LogFileSystem, directory: string, segments: readonly Segment[], logEnd: bigint): Promise<ProducerStateManager> {
  let state = new ProducerStateManager();
  const snapshots = await listProducerSnapshots(fs, directory);
  for (const { offset, name } of snapshots) {
    if (offset > logEnd) await fs.remove(joinPath(directory, name));
  }
  for (const { offset, name } of snapshots.filter((entry) => entry.offset <= logEnd).reverse()) {
    const bytes = await fs.readFile(joinPath(directory, name));
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
  for (const segment of segments) {
    if (segment.nextOffset <= from) continue;
    await segment.scan(0, segment.size, storedBatchBytesMax, (batch) => {
      if (batch.header.baseOffset >= from) state.update(batch.header);
      return true;
    });
  }
  return state;
}
