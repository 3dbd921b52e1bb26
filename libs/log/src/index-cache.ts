/**
 * Which closed segments keep their sparse indexes in memory: the most recently used ones, at
 * most `loadedIndexesMax`, so memory does not grow with the number of segments. The active
 * segment always keeps its indexes and is never counted.
 */
import type { OffsetIndex, TimeIndex } from './indexes';
import type { Segment } from './segment';

/** Closed segments whose indexes stay in memory; the others are loaded again on demand, so
 * memory does not grow with the number of segments. */
export const loadedIndexesMax = 8;

export interface SegmentIndexes {
  readonly offset: OffsetIndex;
  readonly time: TimeIndex;
}

export class IndexCache {
  /** Most recently used closed segments with loaded indexes, oldest first. */
  private readonly loaded = new Set<Segment>();

  /** `segments` is the log's own list, changed in place; its last segment is the active one. */
  constructor(private readonly segments: readonly Segment[]) {}

  private isActive(segment: Segment): boolean {
    return segment === this.segments.at(-1);
  }

  /** Counts `segment` as most recently used (its indexes are in memory). */
  add(segment: Segment): void {
    this.loaded.add(segment);
  }

  /** `segment` left the log (deleted, or replaced by a cleaned copy). */
  forget(segment: Segment): void {
    this.loaded.delete(segment);
  }

  /** A segment's indexes, loading them if needed and unloading the least recently used. */
  async indexesOf(segment: Segment, indexIntervalBytes: number, batchBytesMax: number): Promise<SegmentIndexes> {
    const indexes = await segment.loadIndexes(indexIntervalBytes, batchBytesMax);
    if (!this.isActive(segment)) {
      this.loaded.delete(segment);
      this.loaded.add(segment);
      await this.trim();
    }
    return indexes;
  }

  /** The hot path of indexesOf: indexes already in memory, marked most recently used. */
  touch(segment: Segment): SegmentIndexes {
    if (!this.isActive(segment)) {
      this.loaded.delete(segment);
      this.loaded.add(segment);
    }
    return { offset: segment.offsetIndex, time: segment.timeIndex };
  }

  /** Unloads the least recently used indexes beyond `loadedIndexesMax`. */
  async trim(): Promise<void> {
    for (const segment of this.loaded) {
      if (this.loaded.size <= loadedIndexesMax) break;
      this.loaded.delete(segment);
      if (!this.isActive(segment) && this.segments.includes(segment)) await segment.unloadIndexes();
    }
  }
}
