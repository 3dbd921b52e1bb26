/**
 * One segment of a partition log: `<baseOffset>.log` holding whole batches back to back, with
 * its sparse `.index` and `.timeindex`. The segment knows its committed size (bytes fully
 * written), its next offset and its largest timestamp; the log decides when to roll, flush or
 * delete it.
 */
import { batchHeaderBytes, batchSize, lastOffset, readBatchHeader, validateBatch, type BatchHeader } from '@starlane/record-batch';
import { assert } from '@starlane/model';
import { OffsetIndex, TimeIndex } from './indexes';
import { joinPath, type LogFile, type LogFileSystem } from '@starlane/io-ports';

/** Digits of a segment's base offset in its file names, as Kafka pads them. */
const fileNameDigits = 20;
/** Bytes read at a time while scanning a segment (recovery, index rebuild). Large enough that
 * a batch straddling two chunks costs a small re-read, not a second read of everything. */
export const scanChunkBytes = 8 * 1024 * 1024;

export function segmentFileName(baseOffset: bigint, suffix: '.log' | '.index' | '.timeindex'): string {
  return `${baseOffset.toString().padStart(fileNameDigits, '0')}${suffix}`;
}

export function parseSegmentFileName(name: string): bigint | null {
  const match = /^(\d{20})\.log$/.exec(name);
  return match?.[1] === undefined ? null : BigInt(match[1]);
}

export interface ScannedBatch {
  readonly position: number;
  readonly header: BatchHeader;
  readonly bytes: Buffer;
}

export class Segment {
  /** Bytes of whole batches in the file. */
  size: number;
  /** Offset after the last batch (the base offset while empty). */
  nextOffset: bigint;
  maxTimestamp: bigint;
  /** Clock time of the first append, for `segment.ms` rolls. */
  firstAppendMs: number | null = null;
  /** Bytes appended since the last offset index entry. */
  bytesSinceIndexEntry = 0;
  /** How many index entries are already in the index files. */
  persistedOffsetEntries = 0;
  persistedTimeEntries = 0;
  /** Whether the file has writes not yet fsynced. */
  dirty = false;

  private constructor(
    private readonly fs: LogFileSystem,
    readonly directory: string,
    readonly baseOffset: bigint,
    readonly file: LogFile,
    offsetIndex: OffsetIndex,
    timeIndex: TimeIndex,
    size: number,
    nextOffset: bigint,
    maxTimestamp: bigint,
  ) {
    this.size = size;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.indexes = { offset: offsetIndex, time: timeIndex };
  }

  /**
   * The in-memory indexes, or null while unloaded. Only a bounded number of closed segments
   * keep theirs loaded (the log decides which); the rest are read back from their files.
   */
  private indexes: { offset: OffsetIndex; time: TimeIndex } | null;

  get indexesLoaded(): boolean {
    return this.indexes !== null;
  }

  /** The offset index; only for the active segment or right after loadIndexes(). */
  get offsetIndex(): OffsetIndex {
    assert(this.indexes !== null, `indexes of ${this.logPath} are not loaded`);
    return this.indexes.offset;
  }

  get timeIndex(): TimeIndex {
    assert(this.indexes !== null, `indexes of ${this.logPath} are not loaded`);
    return this.indexes.time;
  }

  /**
   * Loads the indexes from their files, or rebuilds them from the log (without changing it)
   * when a file is missing or implausible.
   */
  async loadIndexes(indexIntervalBytes: number, batchBytesMax: number): Promise<{ offset: OffsetIndex; time: TimeIndex }> {
    if (this.indexes !== null) return this.indexes;
    const offsetBytes = await this.fs.readFile(this.indexPath('.index'));
    const timeBytes = await this.fs.readFile(this.indexPath('.timeindex'));
    const offset = offsetBytes === null ? null : OffsetIndex.parse(offsetBytes, Math.max(this.size, 1));
    const time = timeBytes === null ? null : TimeIndex.parse(timeBytes, Number(this.nextOffset - this.baseOffset));
    if (offset !== null && time !== null) {
      this.indexes = { offset, time };
      this.persistedOffsetEntries = offset.length;
      this.persistedTimeEntries = time.length;
      return this.indexes;
    }
    // Rebuilt aside, without touching the segment's summary that concurrent reads rely on.
    const rebuilt = { offset: new OffsetIndex(), time: new TimeIndex() };
    let sinceEntry = 0;
    let maxTimestamp = -1n;
    let maxAt = 0;
    await this.scan(0, this.size, batchBytesMax, (batch) => {
      const relative = Number(batch.header.baseOffset - this.baseOffset);
      if (batch.header.maxTimestamp > maxTimestamp) {
        maxTimestamp = batch.header.maxTimestamp;
        maxAt = relative;
      }
      if (rebuilt.offset.length === 0 || sinceEntry >= indexIntervalBytes) {
        rebuilt.offset.append(relative, batch.position);
        sinceEntry = 0;
        if (maxTimestamp > rebuilt.time.lastTimestamp) rebuilt.time.append(maxTimestamp, Math.max(maxAt, rebuilt.time.length === 0 ? 0 : rebuilt.time.lastRelativeOffset));
      }
      sinceEntry += batch.bytes.length;
      return true;
    });
    if (maxTimestamp > rebuilt.time.lastTimestamp) rebuilt.time.append(maxTimestamp, Math.max(maxAt, rebuilt.time.length === 0 ? 0 : rebuilt.time.lastRelativeOffset));
    this.indexes = rebuilt;
    if (this.retired) return rebuilt;
    await this.persistIndexes(true);
    return rebuilt;
  }

  /** Drops the in-memory indexes of a closed segment once they are all in their files. */
  async unloadIndexes(): Promise<void> {
    if (this.indexes === null) return;
    await this.persistIndexes();
    this.indexes = null;
  }

  get logPath(): string {
    return joinPath(this.directory, segmentFileName(this.baseOffset, '.log'));
  }

  indexPath(suffix: '.index' | '.timeindex'): string {
    return joinPath(this.directory, segmentFileName(this.baseOffset, suffix));
  }

  static async create(fs: LogFileSystem, directory: string, baseOffset: bigint): Promise<Segment> {
    const file = await fs.open(joinPath(directory, segmentFileName(baseOffset, '.log')), { create: true });
    await file.truncate(0);
    for (const suffix of ['.index', '.timeindex'] as const) {
      const path = joinPath(directory, segmentFileName(baseOffset, suffix));
      if (await fs.exists(path)) await fs.remove(path);
    }
    return new Segment(fs, directory, baseOffset, file, new OffsetIndex(), new TimeIndex(), 0, baseOffset, -1n);
  }

  /**
   * Opens an existing segment. With `trusted`, the index files are believed when they pass
   * their sanity checks (after a clean shutdown, or below the recovery point); otherwise the
   * whole segment is scanned, cut after its last valid batch, and its indexes rebuilt.
   * Returns the segment and whether it had to cut anything.
   */
  static async open(
    fs: LogFileSystem,
    directory: string,
    baseOffset: bigint,
    options: { trusted: boolean; indexIntervalBytes: number; batchBytesMax: number; offsetGapsAllowed: boolean },
  ): Promise<{ segment: Segment; truncatedBytes: number }> {
    const file = await fs.open(joinPath(directory, segmentFileName(baseOffset, '.log')), { create: false });
    const fileBytes = await file.size();
    const segment = new Segment(fs, directory, baseOffset, file, new OffsetIndex(), new TimeIndex(), fileBytes, baseOffset, -1n);
    if (options.trusted && (await segment.loadTrustedIndexes(fileBytes))) return { segment, truncatedBytes: 0 };
    const validBytes = await segment.rebuild(options.indexIntervalBytes, options.batchBytesMax, options.offsetGapsAllowed);
    if (validBytes < fileBytes) await file.truncate(validBytes);
    await segment.persistIndexes(true);
    return { segment, truncatedBytes: fileBytes - validBytes };
  }

  /** Loads trusted index files and finds the segment's tail from the last indexed batch. */
  private async loadTrustedIndexes(fileBytes: number): Promise<boolean> {
    const offsetBytes = await this.fs.readFile(this.indexPath('.index'));
    const timeBytes = await this.fs.readFile(this.indexPath('.timeindex'));
    if (offsetBytes === null || timeBytes === null) return false;
    const offsetIndex = OffsetIndex.parse(offsetBytes, Math.max(fileBytes, 1));
    if (offsetIndex === null) return false;
    // Walk batch headers from the last indexed position to learn the tail (next offset, size).
    const start = offsetIndex.lastPosition;
    let position = start;
    let nextOffset = this.baseOffset;
    let maxTimestamp = -1n;
    const header = Buffer.allocUnsafe(batchHeaderBytes);
    while (position + batchHeaderBytes <= fileBytes) {
      if ((await this.file.read(header, 0, batchHeaderBytes, position)) < batchHeaderBytes) break;
      const parsed = readBatchHeader(header);
      const size = batchSize(parsed);
      if (parsed.batchLength < batchHeaderBytes - 12 || position + size > fileBytes) return false;
      nextOffset = lastOffset(parsed) + 1n;
      if (parsed.maxTimestamp > maxTimestamp) maxTimestamp = parsed.maxTimestamp;
      position += size;
    }
    if (position !== fileBytes) return false;
    const timeIndex = TimeIndex.parse(timeBytes, Number(nextOffset - this.baseOffset));
    if (timeIndex === null) return false;
    this.replaceIndexes(offsetIndex, timeIndex);
    this.nextOffset = nextOffset;
    this.maxTimestamp = timeIndex.lastTimestamp > maxTimestamp ? timeIndex.lastTimestamp : maxTimestamp;
    this.size = fileBytes;
    this.persistedOffsetEntries = offsetIndex.length;
    this.persistedTimeEntries = timeIndex.length;
    return true;
  }

  private replaceIndexes(offsetIndex: OffsetIndex, timeIndex: TimeIndex): void {
    this.indexes = { offset: offsetIndex, time: timeIndex };
  }

  /**
   * Scans the whole file, validating every batch (framing, magic, CRC, offsets moving
   * forward), rebuilds both indexes, and returns the byte length of the valid prefix.
   */
  private async rebuild(indexIntervalBytes: number, batchBytesMax: number, offsetGapsAllowed: boolean): Promise<number> {
    const offsetIndex = new OffsetIndex();
    const timeIndex = new TimeIndex();
    this.replaceIndexes(offsetIndex, timeIndex);
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1n;
    this.bytesSinceIndexEntry = 0;
    const fileBytes = this.size;
    let validBytes = 0;
    await this.scan(0, fileBytes, batchBytesMax, (batch) => {
      try {
        validateBatch(batch.bytes);
      } catch {
        return false;
      }
      // Offsets continue exactly from the previous batch (from the segment's base for the
      // first): baseOffset lies outside the CRC, so this is the check that catches its damage.
      // Compaction leaves gaps where whole batches went, so there offsets need only increase.
      if (offsetGapsAllowed ? batch.header.baseOffset < this.nextOffset : batch.header.baseOffset !== this.nextOffset) return false;
      this.indexBatch(batch.header, batch.position, indexIntervalBytes);
      validBytes = batch.position + batch.bytes.length;
      return true;
    });
    this.size = validBytes;
    this.persistedOffsetEntries = 0;
    this.persistedTimeEntries = 0;
    return validBytes;
  }

  /** Records a batch just placed at `position` in the indexes and the segment's summary. */
  indexBatch(header: BatchHeader, position: number, indexIntervalBytes: number): void {
    const relative = Number(header.baseOffset - this.baseOffset);
    if (header.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = header.maxTimestamp;
      this.maxTimestampRelativeOffset = relative;
    }
    // Both indexes are sparse, with entries at the same interval (as Kafka's): the time index
    // records the largest timestamp so far, where it grew.
    if (this.offsetIndex.length === 0 || this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.offsetIndex.append(relative, position);
      this.bytesSinceIndexEntry = 0;
      this.sealTimeIndex();
    }
    this.bytesSinceIndexEntry += batchSize(header);
    this.nextOffset = lastOffset(header) + 1n;
  }

  /**
   * Reads whole batches from `from` (a batch boundary) up to `to`, calling `visit` for each
   * until it returns false. Stops at a torn or implausible batch. Memory stays bounded by
   * max(scanChunkBytes, batchBytesMax) whatever the segment size.
   */
  async scan(from: number, to: number, batchBytesMax: number, visit: (batch: ScannedBatch) => boolean): Promise<void> {
    let position = from;
    while (position + batchHeaderBytes <= to) {
      const chunkBytes = Math.min(to - position, Math.max(scanChunkBytes, batchHeaderBytes));
      const chunk = Buffer.allocUnsafe(chunkBytes);
      const read = await this.file.read(chunk, 0, chunkBytes, position);
      let cursor = 0;
      let progressed = false;
      while (cursor + batchHeaderBytes <= read) {
        const header = readBatchHeader(chunk, cursor);
        const size = batchSize(header);
        if (header.batchLength < batchHeaderBytes - 12 || size > batchBytesMax || position + cursor + size > to) return;
        if (cursor + size > read) {
          if (cursor === 0) {
            // One batch larger than the chunk: read it whole.
            const whole = Buffer.allocUnsafe(size);
            if ((await this.file.read(whole, 0, size, position)) < size) return;
            if (!visit({ position, header: readBatchHeader(whole), bytes: whole })) return;
            cursor = size;
            progressed = true;
          }
          break;
        }
        if (!visit({ position: position + cursor, header, bytes: chunk.subarray(cursor, cursor + size) })) return;
        cursor += size;
        progressed = true;
      }
      if (!progressed) return;
      position += cursor;
    }
  }

  /** Where the largest timestamp was seen, relative to the base offset. */
  private maxTimestampRelativeOffset = 0;

  /**
   * Adds a time index entry for the largest timestamp so far if the index lags it. Called at
   * each offset index entry, and when the segment is rolled or closed, so a closed segment's
   * time index always ends with its largest timestamp (Kafka does the same on roll).
   */
  sealTimeIndex(): void {
    if (this.indexes !== null && this.maxTimestamp > this.indexes.time.lastTimestamp) {
      const last = this.indexes.time.length === 0 ? 0 : this.indexes.time.lastRelativeOffset;
      this.indexes.time.append(this.maxTimestamp, Math.max(last, this.maxTimestampRelativeOffset));
    }
  }

  /** Appends index entries not yet in the index files (or rewrites them all). */
  /** Set when compaction replaced this segment: its files now belong to the replacement. */
  retired = false;

  async persistIndexes(rewrite = false): Promise<void> {
    if (this.indexes === null || this.retired) return;
    const targets = [
      { path: this.indexPath('.index'), bytes: this.offsetIndex.serialize(rewrite ? 0 : this.persistedOffsetEntries), entrySize: 8, persisted: rewrite ? 0 : this.persistedOffsetEntries },
      { path: this.indexPath('.timeindex'), bytes: this.timeIndex.serialize(rewrite ? 0 : this.persistedTimeEntries), entrySize: 12, persisted: rewrite ? 0 : this.persistedTimeEntries },
    ];
    for (const target of targets) {
      if (rewrite) {
        await this.fs.writeFileAtomic(target.path, target.bytes);
        continue;
      }
      if (target.bytes.length === 0 && (await this.fs.exists(target.path))) continue;
      const file = await this.fs.open(target.path, { create: true });
      try {
        await file.truncate(target.persisted * target.entrySize);
        if (target.bytes.length > 0) await file.write([target.bytes], target.persisted * target.entrySize);
        // Trusted after a clean shutdown, so they must be on disk before the marker is.
        await file.sync();
      } finally {
        await file.close();
      }
    }
    this.persistedOffsetEntries = this.offsetIndex.length;
    this.persistedTimeEntries = this.timeIndex.length;
  }

  /**
   * Cuts the segment so it ends before the batch holding `offset` (Kafka's semantics: a batch
   * is never split). Scans from the start to recompute the largest timestamp.
   */
  async truncateTo(offset: bigint, batchBytesMax: number, indexIntervalBytes: number): Promise<void> {
    await this.loadIndexes(indexIntervalBytes, batchBytesMax);
    let cut = this.size;
    let nextOffset = this.baseOffset;
    let maxTimestamp = -1n;
    await this.scan(0, this.size, batchBytesMax, (batch) => {
      if (lastOffset(batch.header) >= offset) {
        cut = batch.position;
        return false;
      }
      nextOffset = lastOffset(batch.header) + 1n;
      if (batch.header.maxTimestamp > maxTimestamp) maxTimestamp = batch.header.maxTimestamp;
      return true;
    });
    await this.file.truncate(cut);
    this.size = cut;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.offsetIndex.truncateToPosition(cut);
    this.timeIndex.truncateToOffset(Number(nextOffset - this.baseOffset));
    this.persistedOffsetEntries = Math.min(this.persistedOffsetEntries, this.offsetIndex.length);
    this.persistedTimeEntries = Math.min(this.persistedTimeEntries, this.timeIndex.length);
    this.dirty = true;
    await this.persistIndexes(true);
  }

  async delete(): Promise<void> {
    await this.file.close();
    for (const path of [this.logPath, this.indexPath('.index'), this.indexPath('.timeindex')]) {
      if (await this.fs.exists(path)) await this.fs.remove(path);
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
