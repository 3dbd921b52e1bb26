/**
 * Reads over the whole log: the range check against the log start and end, which segments to
 * ask (segment-read.ts finds the bytes in each), a read retried once when a segment left the
 * list under it, and ListOffsets by timestamp. Reads run beside appends, outside the lane, and
 * only ever see bytes whose write has completed, because the log end moves only after that.
 */
import { StarlaneError } from '@starlane/model';
import type { LogState } from './log-state';
import type { Segment } from './segment';
import { findOffsetForTimestamp, readFromSegment, segmentIndexFor, type SegmentReadRules } from './segment-read';

export interface ReadResult {
  /** Whole batches, back to back; empty when there is nothing at `offset` yet. */
  readonly records: Buffer;
  /** The offset to read next: after the last returned batch, or the asked offset. */
  readonly nextOffset: bigint;
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
}

export interface ReadOptions {
  readonly maxBytes: number;
  readonly maxOffset?: bigint;
  readonly buffer?: Buffer;
}

/** `PartitionLog.read`: whole batches from the batch holding `offset` on. `retried` after a segment left under a first try. */
export async function readLog(state: LogState, offset: bigint, options: ReadOptions, retried = false): Promise<ReadResult> {
  state.checkHealthy();
  const logStart = state.logStart;
  const logEnd = state.logEnd;
  const limit = options.maxOffset === undefined || options.maxOffset > logEnd ? logEnd : options.maxOffset;
  if (offset < logStart || offset > logEnd) {
    throw new StarlaneError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside the log [${logStart}, ${logEnd}]`);
  }
  const empty = { records: Buffer.alloc(0), nextOffset: offset, logStartOffset: logStart, logEndOffset: logEnd };
  if (offset >= limit) return empty;
  // A copy: retention, truncation or a compaction swap may change the list during the read.
  const segments = [...state.segments];
  for (let index = segmentIndexFor(segments, offset); index < segments.length; index++) {
    const segment = segments[index] as Segment;
    let found;
    try {
      found = await readFromSegment(state.indexCache, segment, offset, limit, options.maxBytes, options.buffer, readRules(state));
    } catch (error) {
      if (state.segments.includes(segment)) throw error;
      // The segment left the list under the read: compaction replaced it (read again from the
      // current list), or retention or truncation removed it (the offset may be gone).
      if (retried || offset < state.logStart || offset > state.logEnd) {
        throw new StarlaneError('OFFSET_OUT_OF_RANGE', `offset ${offset} left the log while being read (now [${state.logStart}, ${state.logEnd}])`);
      }
      return readLog(state, offset, options, true);
    }
    if (found !== null) return { ...found, logStartOffset: logStart, logEndOffset: logEnd };
  }
  return empty;
}

function readRules(state: LogState): SegmentReadRules {
  return { gapsAllowed: state.gapsAllowed, maxMessageBytes: state.config.maxMessageBytes, indexIntervalBytes: state.config.indexIntervalBytes };
}

/** `PartitionLog.offsetForTimestamp`: the first record at or after `timestampMs`, or null. */
export async function offsetForTimestamp(state: LogState, timestampMs: bigint): Promise<{ offset: bigint; timestampMs: bigint } | null> {
  state.checkHealthy();
  return findOffsetForTimestamp([...state.segments], state.indexCache, state.config.indexIntervalBytes, timestampMs, () => state.logStart);
}

/** `PartitionLog.offsetForMaxTimestamp`: the first record carrying the largest header timestamp, or null. */
export async function offsetForMaxTimestamp(state: LogState): Promise<{ offset: bigint; timestampMs: bigint } | null> {
  state.checkHealthy();
  let largest = -1n;
  for (const segment of state.segments) if (segment.maxTimestamp > largest) largest = segment.maxTimestamp;
  if (largest < 0n) return null;
  return offsetForTimestamp(state, largest);
}
