/**
 * A clock and scheduler in one, for the log's own tests: time moves only when a test says so.
 * (The testing library has the same as ManualClock and ManualScheduler, but it depends on this
 * library, so this library's tests cannot use it.)
 */
import type { Clock, Scheduler } from '@starlane/io-ports';

export class ManualTime implements Clock, Scheduler {
  private now = 1_700_000_000_000;
  private tasks: { dueMs: number; task: () => void; cancelled: boolean }[] = [];
  nowMs(): number {
    return this.now;
  }
  schedule(delayMs: number, task: () => void): () => void {
    const entry = { dueMs: this.now + delayMs, task, cancelled: false };
    this.tasks.push(entry);
    return () => {
      entry.cancelled = true;
    };
  }
  /** Scheduled tasks not yet run or cancelled. */
  get pending(): number {
    return this.tasks.filter((entry) => !entry.cancelled).length;
  }
  /** Advances the time and runs every task that fell due, in due order. */
  advance(ms: number): void {
    this.now += ms;
    const due = this.tasks.filter((entry) => !entry.cancelled && entry.dueMs <= this.now).sort((a, b) => a.dueMs - b.dueMs);
    this.tasks = this.tasks.filter((entry) => !due.includes(entry) && !entry.cancelled);
    for (const entry of due) entry.task();
  }
}
