/**
 * The time ports: reading the clock and scheduling work are injected, never reached for, so
 * logic can run on wall-clock time (`systemClock`, `timerScheduler` in libs/node-io) or on
 * time a test or a seeded simulation moves step by step.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export interface Scheduler {
  /** Runs `task` once after `delayMs`; the returned function cancels it. */
  schedule(delayMs: number, task: () => void): () => void;
}
