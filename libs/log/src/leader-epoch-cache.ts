/**
 * The leader epoch history of one partition replica: for every leader epoch that wrote to this
 * log, the offset of its first batch. This is Kafka's LeaderEpochFileCache (KIP-101, KIP-279).
 *
 * Why it exists: a follower that truncated to its own high watermark after a restart could
 * lose acknowledged data, or keep data that diverged from the new leader's. With this history
 * a follower asks the leader "where does my latest epoch end in your log?" (OffsetsForLeaderEpoch)
 * and truncates exactly there.
 *
 * Worked example: batches written at 0..9 in epoch 0, at 10..29 in epoch 2 and from 30 on in
 * epoch 5 give entries 0@0, 2@10, 5@30. A follower whose last epoch is 3 learns that epoch 3
 * (which this leader never saw) ends where epoch 5 starts: {epoch: 2, endOffset: 30}.
 *
 * Pure state: the log persists `serializeLeaderEpochs(cache.entries())` through its own
 * filesystem when a mutator returns true (the history changed), and rebuilds the cache with
 * `parseLeaderEpochs`.
 */
import { StarlaneError, assert } from '@starlane/model';

export interface LeaderEpochEntry {
  readonly epoch: number;
  /** Offset of the first batch written in this epoch (or the log start, after retention). */
  readonly startOffset: bigint;
}

export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: bigint;
}

/**
 * Most entries kept. One entry per leader change that wrote data: a partition that changed
 * leader 100 000 times before retention dropped a single epoch points at a controller bug,
 * and refusing loudly beats silently forgetting the history followers truncate by.
 */
export const leaderEpochEntriesMax = 100_000;

/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET, as OffsetsForLeaderEpoch answers them. */
export const undefinedLeaderEpoch = -1;
export const undefinedEpochOffset = -1n;
export const undefinedEpochEndOffset: EpochEndOffset = Object.freeze({ epoch: undefinedLeaderEpoch, endOffset: undefinedEpochOffset });

/** The only checkpoint version Kafka has ever written (`leader-epoch-checkpoint`). */
export const leaderEpochCheckpointVersion = 0;

const int32Max = 2 ** 31 - 1;
const int64Max = 2n ** 63n - 1n;

/** Largest checkpoint file a valid cache can produce; anything bigger is rejected unread. */
export const leaderEpochCheckpointBytesMax =
  `${leaderEpochCheckpointVersion}\n${leaderEpochEntriesMax}\n`.length + leaderEpochEntriesMax * `${int32Max} ${int64Max}\n`.length;

function assertEntry(epoch: number, startOffset: bigint): void {
  assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= int32Max, `leader epoch must be an int32 >= 0, got ${epoch}`);
  assert(startOffset >= 0n && startOffset <= int64Max, `epoch start offset must be an int64 >= 0, got ${startOffset}`);
}

/**
 * Entries must grow strictly in epoch and in start offset. Kafka's assign keeps start offsets
 * strictly increasing too (a new epoch starting where an older one started replaces it: the
 * older one wrote nothing), so an epoch with no batches never sits in the middle of the history.
 */
function orderProblem(entries: readonly LeaderEpochEntry[]): string | null {
  for (let i = 1; i < entries.length; i++) {
    const previous = entries[i - 1];
    const current = entries[i];
    if (previous === undefined || current === undefined) continue;
    if (current.epoch <= previous.epoch) return `epoch ${current.epoch} follows epoch ${previous.epoch}`;
    if (current.startOffset <= previous.startOffset) {
      return `epoch ${current.epoch} starts at ${current.startOffset}, not after epoch ${previous.epoch} at ${previous.startOffset}`;
    }
  }
  return null;
}

function freezeEntry(epoch: number, startOffset: bigint): LeaderEpochEntry {
  return Object.freeze({ epoch, startOffset });
}

export class LeaderEpochCache {
  /**
   * Ordered by epoch; start offsets strictly increase with it. Entries are frozen and replaced,
   * never mutated, so `entries()` can hand them out without copying each one.
   */
  private list: LeaderEpochEntry[] = [];

  /** `entries` typically come from `parseLeaderEpochs`, which has already checked them. */
  constructor(entries: readonly LeaderEpochEntry[] = []) {
    assert(entries.length <= leaderEpochEntriesMax, `${entries.length} leader epoch entries exceed ${leaderEpochEntriesMax}`);
    for (const entry of entries) {
      assertEntry(entry.epoch, entry.startOffset);
      this.list.push(freezeEntry(entry.epoch, entry.startOffset));
    }
    const problem = orderProblem(this.list);
    assert(problem === null, `leader epoch entries out of order: ${problem ?? ''}`);
  }

  get size(): number {
    return this.list.length;
  }

  /** The epoch of the newest entry, or -1 when the cache is empty. */
  latestEpoch(): number {
    return this.list[this.list.length - 1]?.epoch ?? undefinedLeaderEpoch;
  }

  latestEntry(): LeaderEpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /** A copy of the entries, oldest first. */
  entries(): readonly LeaderEpochEntry[] {
    return [...this.list];
  }

  /**
   * Records that a batch of `epoch` starts at `startOffset`; the log calls this for every batch
   * it appends (leader or follower) and while recovering segments. Returns whether the history
   * changed, so the log rewrites the checkpoint only then.
   *
   * Exactly Kafka's rule (LeaderEpochFileCache.assign):
   * - a batch of the latest epoch at or after its start changes nothing (the common case);
   * - otherwise every entry that the new one contradicts is removed from the end first: those
   *   with an epoch >= `epoch` or a start offset >= `startOffset`. The log is the truth and the
   *   cache must describe it, so the latest assignment wins.
   *
   * Worked examples, from entries 1@5, 2@8:
   * - assign(2, 9): nothing (epoch 2 already started at 8);
   * - assign(3, 12): 1@5, 2@8, 3@12;
   * - assign(3, 8): 1@5, 3@8 (epoch 2 wrote nothing that survived);
   * - assign(2, 6): 1@5, 2@6 (an earlier start for the same epoch replaces the entry);
   * - assign(1, 9): 1@9 (a lower epoch after a higher one: the log was rewritten under us,
   *   e.g. a stale checkpoint met a truncated log; Kafka drops every contradicting entry).
   *
   * A negative epoch (-1: the batch was written before leader epochs existed, or by a client
   * that does not stamp one) says nothing about leadership and is ignored.
   */
  assign(epoch: number, startOffset: bigint): boolean {
    if (epoch < 0) return false;
    assertEntry(epoch, startOffset);

    const latest = this.latestEntry();
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;

    // Both keys increase along the list, so the contradicting entries form a suffix.
    let keep = this.list.length;
    while (keep > 0) {
      const entry = this.list[keep - 1];
      if (entry === undefined || (entry.epoch < epoch && entry.startOffset < startOffset)) break;
      keep--;
    }
    // Checked before mutating, so a refused assign leaves the history as it was.
    if (keep >= leaderEpochEntriesMax) {
      throw new StarlaneError(
        'STORAGE_UNAVAILABLE',
        `leader epoch history is full (${leaderEpochEntriesMax} epochs); cannot record epoch ${epoch} at offset ${startOffset}`,
      );
    }
    this.list.length = keep;
    this.list.push(freezeEntry(epoch, startOffset));
    return true;
  }

  /**
   * Where `requestedEpoch` ends in this log: OffsetsForLeaderEpoch, as Kafka answers it.
   *
   * - The latest epoch is still being written to, so it ends at the log end offset.
   * - Any other epoch ends where the first greater epoch starts; the answer names the largest
   *   epoch <= the requested one that this log has, because the requester diverged from us after
   *   that epoch. Epochs 0@0, 2@10, 5@30: endOffsetFor(3) is {2, 30}, endOffsetFor(2) is {2, 30},
   *   endOffsetFor(1) is {0, 10}, endOffsetFor(5, 42) is {5, 42}.
   * - A requested epoch below the first entry answers {requested, start of the first entry}
   *   (KIP-279; what Kafka does since 2.0). Retention removed that epoch's data here, and the
   *   follower must still truncate to where our log begins rather than fall back to its high
   *   watermark, which is the data loss KIP-101 exists to prevent. Epochs 3@100, 4@150:
   *   endOffsetFor(1) is {1, 100}.
   * - An epoch above the latest, a negative epoch, or an empty cache: undefined {-1, -1}.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): EpochEndOffset {
    assert(Number.isInteger(requestedEpoch), `requested epoch must be an integer, got ${requestedEpoch}`);
    assert(logEndOffset >= 0n, `log end offset must be >= 0, got ${logEndOffset}`);
    if (requestedEpoch < 0) return undefinedEpochEndOffset;
    if (this.latestEpoch() === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };

    const higher = this.firstIndexWithEpochAbove(requestedEpoch);
    const higherEntry = this.list[higher];
    if (higherEntry === undefined) return undefinedEpochEndOffset;
    const floorEntry = this.list[higher - 1];
    if (floorEntry === undefined) return { epoch: requestedEpoch, endOffset: higherEntry.startOffset };
    return { epoch: floorEntry.epoch, endOffset: higherEntry.startOffset };
  }

  /**
   * The epoch of the batch holding `offset`: the epoch of the last entry starting at or before
   * it, or -1 when `offset` lies before the first entry or the cache is empty (Kafka's
   * LeaderEpochFileCache.epochForOffset). Entries 0@0, 2@10, 5@30: epochForOffset(9) is 0,
   * epochForOffset(10) is 2, epochForOffset(99) is 5.
   */
  epochForOffset(offset: bigint): number {
    let low = 0;
    let high = this.list.length - 1;
    let found = undefinedLeaderEpoch;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.list[middle] as LeaderEpochEntry;
      if (entry.startOffset <= offset) {
        found = entry.epoch;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /**
   * The log was truncated to `endOffset` (it now ends just before it): forget every epoch that
   * started at or after it. Entries 2@6, 3@8, 4@11: truncateFromEnd(9) leaves 2@6, 3@8;
   * truncateFromEnd(8) leaves 2@6. A negative offset (Kafka's UNDEFINED_EPOCH_OFFSET) is ignored.
   */
  truncateFromEnd(endOffset: bigint): boolean {
    if (endOffset < 0n) return false;
    const before = this.list.length;
    while ((this.list[this.list.length - 1]?.startOffset ?? -1n) >= endOffset) this.list.pop();
    return this.list.length !== before;
  }

  /**
   * Retention moved the log start to `startOffset`: drop the epochs that ended before it and
   * move the start of the epoch covering it up to it, so the first entry never points below the
   * log. Entries 2@6, 3@8, 4@11: truncateFromStart(9) gives 3@9, 4@11; truncateFromStart(8) gives
   * 3@8, 4@11; truncateFromStart(15) gives 4@15; truncateFromStart(6) or (1) changes nothing.
   */
  truncateFromStart(startOffset: bigint): boolean {
    let removed = 0;
    while ((this.list[removed]?.startOffset ?? int64Max + 1n) <= startOffset) removed++;
    const covering = this.list[removed - 1];
    if (covering === undefined) return false;
    const changed = removed > 1 || covering.startOffset !== startOffset;
    this.list.splice(0, removed, freezeEntry(covering.epoch, startOffset));
    return changed;
  }

  /** The log was deleted or replaced wholesale (a follower starting over from the leader). */
  clear(): boolean {
    const changed = this.list.length > 0;
    this.list = [];
    return changed;
  }

  /** Binary search: the index of the first entry whose epoch is greater than `epoch` (or size). */
  private firstIndexWithEpochAbove(epoch: number): number {
    let low = 0;
    let high = this.list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.list[middle]?.epoch ?? Infinity) > epoch) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

/**
 * Kafka's `leader-epoch-checkpoint` text format, so files can be compared with a Kafka broker's:
 *
 *     0          version
 *     3          entry count
 *     0 0        epoch, space, start offset
 *     2 10
 *     5 30
 *
 * Every line ends with "\n" (Kafka writes the platform separator; we always write "\n").
 */
export function serializeLeaderEpochs(entries: readonly LeaderEpochEntry[]): Buffer {
  assert(entries.length <= leaderEpochEntriesMax, `${entries.length} leader epoch entries exceed ${leaderEpochEntriesMax}`);
  for (const entry of entries) assertEntry(entry.epoch, entry.startOffset);
  const problem = orderProblem(entries);
  assert(problem === null, `leader epoch entries out of order: ${problem ?? ''}`);
  const lines = [`${leaderEpochCheckpointVersion}`, `${entries.length}`];
  for (const entry of entries) lines.push(`${entry.epoch} ${entry.startOffset}`);
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}

function malformed(why: string): StarlaneError {
  return new StarlaneError('STORAGE_UNAVAILABLE', `leader epoch checkpoint is malformed: ${why}`);
}

/** Canonical decimal: no sign, no leading zeros, no spaces; what `serializeLeaderEpochs` writes. */
const decimalPattern = /^(?:0|[1-9][0-9]*)$/;
const entryPattern = /^(0|[1-9][0-9]{0,9}) (0|[1-9][0-9]{0,18})$/;

/**
 * Parses a checkpoint written by `serializeLeaderEpochs` (or by Kafka on Linux). Stricter than
 * Kafka, which reads an empty file as an empty history: here an empty, torn (no final newline),
 * reordered or otherwise odd file is rejected, because the cache can always be rebuilt from the
 * batches' own partitionLeaderEpoch fields, while a silently shortened history makes followers
 * truncate to the wrong offset.
 */
export function parseLeaderEpochs(bytes: Buffer): LeaderEpochEntry[] {
  if (bytes.length === 0) throw malformed('the file is empty');
  if (bytes.length > leaderEpochCheckpointBytesMax) throw malformed(`${bytes.length} bytes exceed the ${leaderEpochCheckpointBytesMax}-byte maximum`);
  // latin1 maps each byte to one character, so no byte sequence is silently replaced.
  const text = bytes.toString('latin1');
  if (!text.endsWith('\n')) throw malformed('the last line is not terminated by a newline (torn write?)');
  const lines = text.slice(0, -1).split('\n');

  const version = lines[0] ?? '';
  if (version !== `${leaderEpochCheckpointVersion}`) throw malformed(`line 1: unsupported version ${JSON.stringify(version.slice(0, 20))}`);

  const countText = lines[1];
  if (countText === undefined) throw malformed('line 2: the entry count is missing');
  if (!decimalPattern.test(countText) || countText.length > 7) throw malformed(`line 2: entry count ${JSON.stringify(countText.slice(0, 20))} is not a number`);
  const count = Number(countText);
  if (count > leaderEpochEntriesMax) throw malformed(`line 2: ${count} entries exceed the maximum of ${leaderEpochEntriesMax}`);
  if (lines.length - 2 !== count) throw malformed(`line 2 announces ${count} entries, the file has ${lines.length - 2}`);

  const entries: LeaderEpochEntry[] = [];
  for (let i = 0; i < count; i++) {
    const lineNumber = i + 3;
    const line = lines[i + 2] ?? '';
    const match = entryPattern.exec(line);
    const epochText = match?.[1];
    const offsetText = match?.[2];
    if (epochText === undefined || offsetText === undefined) {
      throw malformed(`line ${lineNumber}: ${JSON.stringify(line.slice(0, 40))} is not "<epoch> <start offset>"`);
    }
    const epoch = Number(epochText);
    const startOffset = BigInt(offsetText);
    if (epoch > int32Max) throw malformed(`line ${lineNumber}: epoch ${epochText} exceeds int32`);
    if (startOffset > int64Max) throw malformed(`line ${lineNumber}: start offset ${offsetText} exceeds int64`);
    const previous = entries[entries.length - 1];
    if (previous !== undefined && epoch <= previous.epoch) {
      throw malformed(`line ${lineNumber}: epoch ${epoch} does not follow epoch ${previous.epoch}`);
    }
    if (previous !== undefined && startOffset <= previous.startOffset) {
      throw malformed(`line ${lineNumber}: start offset ${startOffset} does not follow ${previous.startOffset}`);
    }
    entries.push(freezeEntry(epoch, startOffset));
  }
  return entries;
}
