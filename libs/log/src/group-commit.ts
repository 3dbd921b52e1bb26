/**
 * Durability by group commit: any number of appends waiting for an fsync share the next one.
 * Tracks what is durable (`durableEnd`, the recovery point) and how many records were written
 * since the last fsync, for `flush.messages`.
 */
import type { StarlaneError } from '@starlane/model';
import { storageError } from './partition-files';
import type { Segment } from './segment';

/** What group commit needs of the log that owns it. */
export interface GroupCommitHost {
  /** Offset after the last batch whose write completed. */
  writtenEnd(): bigint;
  /** Throws the log's failure, if it failed. */
  checkHealthy(): void;
  /** Takes the log offline. */
  fail(error: unknown): void;
  failure(): StarlaneError | null;
}

export class GroupCommit {
  /** Every offset below this is on disk (fsynced). */
  durableEnd: bigint;
  /** Records written since the fsync that last completed (for `flush.messages`). */
  unflushedRecords = 0;
  /** The fsync under way, which later callers share. */
  private sync: Promise<void> | null = null;
  /** Bumped by every truncation, so an fsync that straddles one does not vouch for new data. */
  private truncations = 0;
  /** fsyncs run one after another: `dirty` is cleared when one starts, so a second caller must
   * wait for it rather than skip a segment whose fsync has not finished. */
  private syncChain: Promise<void> = Promise.resolve();

  /** `segments` is the log's own list, changed in place. */
  constructor(
    private readonly segments: readonly Segment[],
    durableEnd: bigint,
    private readonly host: GroupCommitHost,
  ) {
    this.durableEnd = durableEnd;
  }

  /**
   * Group commit: resolves once every offset below `offset` is durable. If an fsync is already
   * running, waits for it and then starts at most one more, which covers every write that
   * completed meanwhile, so N waiting appends cost one or two fsyncs, not N.
   */
  async flushTo(offset: bigint): Promise<void> {
    for (;;) {
      // Only written bytes can be made durable (a caller never asks past them, but waiting for
      // them would spin), and a truncation may have moved the end since the call.
      const writtenEnd = this.host.writtenEnd();
      const wanted = offset < writtenEnd ? offset : writtenEnd;
      if (this.durableEnd >= wanted) return;
      this.host.checkHealthy();
      if (this.sync !== null) {
        await this.sync;
        continue;
      }
      const target = writtenEnd;
      const records = this.unflushedRecords;
      const generation = this.truncations;
      this.sync = this.syncAll().then(
        () => {
          // A truncation during the fsync voids its target: offsets below it may now be new,
          // unsynced data. The loop simply syncs again.
          if (generation === this.truncations && target > this.durableEnd) this.durableEnd = target;
          this.unflushedRecords = Math.max(0, this.unflushedRecords - records);
          this.sync = null;
        },
        (error: unknown) => {
          this.sync = null;
          this.host.fail(error);
          throw this.host.failure() ?? error;
        },
      );
      await this.sync;
    }
  }

  /** fsyncs every segment written since its last fsync, after any fsync already running. */
  syncAll(): Promise<void> {
    const run = this.syncChain.then(() => this.syncDirtySegments());
    this.syncChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async syncDirtySegments(): Promise<void> {
    for (const segment of [...this.segments]) {
      if (!segment.dirty) continue;
      segment.dirty = false;
      try {
        await segment.file.sync();
      } catch (error) {
        // Truncation or retention may have deleted the segment meanwhile: nothing to sync then.
        if (!this.segments.includes(segment)) continue;
        segment.dirty = true;
        throw storageError(`cannot fsync ${segment.logPath}`, error);
      }
    }
  }

  /** Lets a running fsync finish before segment files are deleted or cut under it. */
  async quiesce(): Promise<void> {
    if (this.sync !== null) await this.sync.catch(() => undefined);
  }

  /** The log was truncated to end at `logEnd`: nothing past it is durable, nothing is unflushed. */
  truncated(logEnd: bigint): void {
    this.truncations++;
    if (this.durableEnd > logEnd) this.durableEnd = logEnd;
    this.unflushedRecords = 0;
  }
}
