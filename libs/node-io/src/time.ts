import type { Clock, Scheduler } from '@starlane/io-ports';

/** Wall-clock time. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** Timers that do not keep the process alive on their own. */
export const timerScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
