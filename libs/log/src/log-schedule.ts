/**
 * The log's own periodic work: flushes by `flush.ms`, retention checks, cleaner passes and the
 * recovery-point checkpoint, each a task repeated on the injected scheduler. `LogTimers` decides
 * which run under the settings in force and restarts them when the settings change.
 */
import type { Scheduler } from '@starlane/io-ports';
import type { BackgroundTask, LogState } from './log-state';

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

/** The periodic tasks themselves, which are the log's operations. */
export interface LogTasks {
  flush(): Promise<void>;
  retention(): Promise<void>;
  compaction(): Promise<void>;
}

/**
 * The log's timers, from open to close. The recovery-point checkpoint always runs; flushes,
 * retention and the cleaner follow the settings, and `restart` replaces them when the settings
 * change (switching to `compact` starts the cleaner, to `delete` stops it).
 */
export class LogTimers {
  /** Cancels the timers that follow the settings (flush, retention, cleaner). */
  private readonly settingsTimers: (() => void)[] = [];
  /** Cancels the recovery-point checkpoint timer, which runs from open to close whatever the settings. */
  private cancelCheckpointTimer: () => void = () => undefined;
  /** Bumped when the settings timers restart, so a tick of the old set does not reschedule itself. */
  private generation = 0;

  constructor(
    private readonly state: LogState,
    private readonly tasks: LogTasks,
  ) {}

  start(): void {
    const state = this.state;
    this.cancelCheckpointTimer = this.every(recoveryCheckpointIntervalMs, () => state.checkpointRecoveryPoint(), () => !state.closed);
    this.startSettingsTimers();
  }

  /** The settings changed: the timers they decide start over on the new schedule and policy. */
  restart(): void {
    for (const cancel of this.settingsTimers.splice(0)) cancel();
    this.generation++;
    this.startSettingsTimers();
  }

  stop(): void {
    for (const cancel of this.settingsTimers) cancel();
    this.cancelCheckpointTimer();
  }

  /** The timers whose period or existence the settings decide. */
  private startSettingsTimers(): void {
    const { state, tasks } = this;
    const config = state.config;
    const generation = this.generation;
    const live = (): boolean => !state.closed && generation === this.generation;
    const every = (intervalMs: number, task: () => Promise<void>, housekeeping?: BackgroundTask, firstDelayMs?: number): void => {
      this.settingsTimers.push(this.every(intervalMs, task, live, housekeeping, firstDelayMs));
    };
    if (config.flushMs > 0) every(config.flushMs, () => tasks.flush());
    // Kafka's retention checker and log cleaner run on their own; so do these.
    if (config.cleanupPolicy !== 'compact') {
      const intervalMs = state.options.retentionCheckIntervalMs ?? retentionCheckIntervalMs;
      every(intervalMs, () => tasks.retention(), 'retention', Math.min(intervalMs, retentionFirstCheckDelayMsMax));
    }
    if (config.cleanupPolicy !== 'delete') every(compactionIntervalMs, () => tasks.compaction(), 'compaction');
  }

  /**
   * Runs `task` every `intervalMs` (the first time after `firstDelayMs`, by default the
   * interval) while `live()`; returns the function that cancels it. Durability tasks that fail
   * take the log offline; housekeeping that fails (a damaged batch the cleaner cannot decode,
   * say) is reported and tried again next time.
   */
  private every(intervalMs: number, task: () => Promise<void>, live: () => boolean, housekeeping?: BackgroundTask, firstDelayMs = intervalMs): () => void {
    const state = this.state;
    return repeatTask(state.options.scheduler, intervalMs, firstDelayMs, task, live, (error) => {
      if (housekeeping === undefined || state.failure !== null) {
        state.fail(error);
        return false;
      }
      state.options.onBackgroundError?.(housekeeping, error);
      return true;
    });
  }
}
