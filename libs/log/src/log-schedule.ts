/**
 * The log's own periodic work: flushes by `flush.ms`, retention checks, cleaner passes and the
 * recovery-point checkpoint, each a task repeated on the injected scheduler.
 */
import type { Scheduler } from '@starlane/io-ports';

/** How often retention runs by itself unless the opener says (Kafka's log.retention.check.interval.ms default). */
export const retentionCheckIntervalMs = 300_000;
/**
 * Longest wait for the first retention check after the log opens (or its settings change):
 * Kafka's LogManager starts its retention task 30 s after start-up (InitialTaskDelayMs), not
 * a whole interval later, so a process restarted more often than the interval still applies
 * retention.
 */
export const retentionFirstCheckDelayMsMax = 30_000;
/** How often the cleaner passes over a compacted log by itself (Kafka's log.cleaner.backoff.ms is 15 s between passes). */
export const compactionIntervalMs = 15_000;
/** How often the recovery point is written to partition.checkpoint (Kafka's default). */
export const recoveryCheckpointIntervalMs = 60_000;

export type BackgroundTask = 'retention' | 'compaction';

/**
 * Runs `task` every `intervalMs` (the first time after `firstDelayMs`) while `live()`; returns
 * the function that cancels it. When a run fails, `onError` says whether to go on: the log
 * takes itself offline for a failed durability task and stops, and reports failed housekeeping
 * and tries again next time.
 */
export function repeatTask(
  scheduler: Scheduler,
  intervalMs: number,
  firstDelayMs: number,
  task: () => Promise<void>,
  live: () => boolean,
  onError: (error: unknown) => boolean,
): () => void {
  let cancel = (): void => undefined;
  const tick = (): void => {
    if (!live()) return;
    task().then(
      () => {
        if (live()) cancel = scheduler.schedule(intervalMs, tick);
      },
      (error: unknown) => {
        if (!onError(error)) return;
        if (live()) cancel = scheduler.schedule(intervalMs, tick);
      },
    );
  };
  cancel = scheduler.schedule(firstDelayMs, tick);
  return () => cancel();
}
