/**
 * Sparse indexes of one segment, kept in memory and persisted as Kafka lays them out:
 *
 * - offset index (`.index`): 8-byte entries (relative offset u32, file position u32), one per
 *   `index.interval.bytes` of log, pointing at the start of a batch;
 * - time index (`.timeindex`): 12-byte entries (timestamp i64, relative offset u32) at the same
 *   interval, holding the largest timestamp so far when it grew, and a final entry with the
 *   segment's largest timestamp when it is rolled or closed.
 *
 * A lookup gives a position at or before the wanted batch; the caller scans forward from there.
 * Both are rebuilt from the log whenever a file fails its sanity check, so a torn or stale index
 * costs time, never correctness.
 */
import { assert } from '@starlane/model';

/** Initial capacity (entries); arrays double as they fill. */
const initialEntries = 64;

export const offsetIndexEntryBytes = 8;
export const timeIndexEntryBytes = 12;

export class OffsetIndex {
  private offsets = new Uint32Array(initialEntries);
  private positions = new Uint32Array(initialEntries);
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Position of the last entry (0 when empty). */
  get lastPosition(): number {
    return this.count === 0 ? 0 : (this.positions[this.count - 1] ?? 0);
  }

  /** Entries must grow strictly in both offset and position. */
  append(relativeOffset: number, position: number): void {
    if (this.count > 0) {
      assert(relativeOffset > (this.offsets[this.count - 1] ?? -1) && position > (this.positions[this.count - 1] ?? -1), 'offset index entries must increase');
    }
    if (this.count === this.offsets.length) {
      this.offsets = grow(this.offsets);
      this.positions = grow(this.positions);
    }
    this.offsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** Position of the last indexed batch starting at or before `relativeOffset` (0 if none). */
  lookup(relativeOffset: number): number {
    const index = lastAtOrBelow(this.offsets, this.count, relativeOffset);
    return index < 0 ? 0 : (this.positions[index] ?? 0);
  }

  /** Drops entries at or past `position` (the log was cut there). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && (this.positions[this.count - 1] ?? 0) >= position) this.count--;
  }

  /** Serialized entries from `fromEntry` on, for appending to the index file. */
  serialize(fromEntry = 0): Buffer {
    const buffer = Buffer.allocUnsafe((this.count - fromEntry) * offsetIndexEntryBytes);
    for (let i = fromEntry; i < this.count; i++) {
      buffer.writeUInt32BE(this.offsets[i] ?? 0, (i - fromEntry) * offsetIndexEntryBytes);
      buffer.writeUInt32BE(this.positions[i] ?? 0, (i - fromEntry) * offsetIndexEntryBytes + 4);
    }
    return buffer;
  }

  /** Parses an index file; null when it is not a plausible index for a log of `logBytes`. */
  static parse(bytes: Buffer, logBytes: number): OffsetIndex | null {
    if (bytes.length % offsetIndexEntryBytes !== 0) return null;
    const index = new OffsetIndex();
    for (let at = 0; at < bytes.length; at += offsetIndexEntryBytes) {
      const relativeOffset = bytes.readUInt32BE(at);
      const position = bytes.readUInt32BE(at + 4);
      const previous = index.count - 1;
      if (position >= logBytes) return null;
      if (previous >= 0 && (relativeOffset <= (index.offsets[previous] ?? 0) || position <= (index.positions[previous] ?? 0))) return null;
      index.append(relativeOffset, position);
    }
    return index;
  }
}

export class TimeIndex {
  private timestamps: bigint[] = [];
  private offsets = new Uint32Array(initialEntries);

  get length(): number {
    return this.timestamps.length;
  }

  get lastTimestamp(): bigint {
    return this.timestamps.at(-1) ?? -1n;
  }

  get lastRelativeOffset(): number {
    return this.timestamps.length === 0 ? 0 : (this.offsets[this.timestamps.length - 1] ?? 0);
  }

  /** `timestamp` must exceed the last entry's: entries are the running maximum. */
  append(timestamp: bigint, relativeOffset: number): void {
    const count = this.timestamps.length;
    if (count > 0) assert(timestamp > this.lastTimestamp && relativeOffset >= (this.offsets[count - 1] ?? 0), 'time index entries must increase');
    if (count === this.offsets.length) this.offsets = grow(this.offsets);
    this.timestamps.push(timestamp);
    this.offsets[count] = relativeOffset;
  }

  /**
   * Relative offset to start scanning from for the first record at or after `timestamp`:
   * every batch before the returned offset has only older records.
   */
  lookup(timestamp: bigint): number {
    let low = 0;
    let high = this.timestamps.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if ((this.timestamps[middle] ?? 0n) < timestamp) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? 0 : (this.offsets[found] ?? 0);
  }

  truncateToOffset(relativeOffset: number): void {
    while (this.timestamps.length > 0 && (this.offsets[this.timestamps.length - 1] ?? 0) >= relativeOffset) this.timestamps.pop();
  }

  serialize(fromEntry = 0): Buffer {
    const buffer = Buffer.allocUnsafe((this.timestamps.length - fromEntry) * timeIndexEntryBytes);
    for (let i = fromEntry; i < this.timestamps.length; i++) {
      buffer.writeBigInt64BE(this.timestamps[i] ?? 0n, (i - fromEntry) * timeIndexEntryBytes);
      buffer.writeUInt32BE(this.offsets[i] ?? 0, (i - fromEntry) * timeIndexEntryBytes + 8);
    }
    return buffer;
  }

  /** Parses a time index file; null when it is not plausible for offsets below `nextRelativeOffset`. */
  static parse(bytes: Buffer, nextRelativeOffset: number): TimeIndex | null {
    if (bytes.length % timeIndexEntryBytes !== 0) return null;
    const index = new TimeIndex();
    for (let at = 0; at < bytes.length; at += timeIndexEntryBytes) {
      const timestamp = bytes.readBigInt64BE(at);
      const relativeOffset = bytes.readUInt32BE(at + 8);
      const count = index.timestamps.length;
      if (relativeOffset >= nextRelativeOffset) return null;
      if (count > 0 && (timestamp <= index.lastTimestamp || relativeOffset < (index.offsets[count - 1] ?? 0))) return null;
      index.append(timestamp, relativeOffset);
    }
    return index;
  }
}

function grow(array: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const grown = new Uint32Array(array.length * 2);
  grown.set(array);
  return grown;
}

/** Index of the last element <= value among the first `count` (sorted ascending), or -1. */
function lastAtOrBelow(sorted: Uint32Array, count: number, value: number): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? 0) <= value) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
