/**
 * Simulated time for unit tests of this library: a clock and a scheduler that move only when a
 * test says, and a way to let the code under test finish what an answer set off.
 *
 * The code under test calls ports that answer within promise reactions (no I/O), so after each
 * task the test drains the microtask queue: every chain of awaits it started runs until it
 * waits on the scheduler again. Nothing here waits on real time or the event loop.
 * (`@starlane/testing` has a manual scheduler too, but the testing library depends on this one.)
 */
import type { Clock, Scheduler } from '@starlane/io-ports';

/** Microtask turns one `settle` lets pass: far more than any chain of awaits in one step takes. */
export const settleTurnsMax = 1_000;

interface Task {
  readonly dueMs: number;
  readonly delayMs: number;
  readonly task: () => void;
  cancelled: boolean;
}

export class SteppedTime implements Clock, Scheduler {
  private now = 1_700_000_000_000;
  private tasks: Task[] = [];

  nowMs(): number {
    return this.now;
  }

  schedule(delayMs: number, task: () => void): () => void {
    const entry: Task = { dueMs: this.now + delayMs, delayMs, task, cancelled: false };
    this.tasks.push(entry);
    return () => {
      entry.cancelled = true;
    };
  }

  /** Lets every chain of awaits that can go on without the scheduler go on. */
  async settle(): Promise<void> {
    for (let turn = 0; turn < settleTurnsMax; turn += 1) await Promise.resolve();
  }

  /** The delays of the tasks waiting, earliest due first. */
  pending(): number[] {
    return this.live()
      .sort((a, b) => a.dueMs - b.dueMs)
      .map((entry) => entry.delayMs);
  }

  /**
   * Runs the earliest waiting task that `accept` takes (by the delay it was scheduled with),
   * moving the clock to its due time, then settles; the delay. Fails when none waits.
   */
  async step(accept: (delayMs: number) => boolean = () => true): Promise<number> {
    await this.settle();
    const next = this.live()
      .filter((entry) => accept(entry.delayMs))
      .reduce<Task | undefined>((earliest, entry) => (earliest === undefined || entry.dueMs < earliest.dueMs ? entry : earliest), undefined);
    if (next === undefined) throw new Error('nothing is scheduled');
    this.tasks.splice(this.tasks.indexOf(next), 1);
    this.now = Math.max(this.now, next.dueMs);
    next.task();
    await this.settle();
    return next.delayMs;
  }

  /** Steps `count` times; the delays. */
  async steps(count: number, accept?: (delayMs: number) => boolean): Promise<number[]> {
    const delays: number[] = [];
    for (let index = 0; index < count; index += 1) delays.push(await this.step(accept));
    return delays;
  }

  /** Moves the clock `ms` ahead, running every task that falls due on the way (those they schedule too), in due order. */
  async advance(ms: number): Promise<void> {
    const targetMs = this.now + ms;
    await this.settle();
    for (;;) {
      const due = this.live()
        .filter((entry) => entry.dueMs <= targetMs)
        .reduce<Task | undefined>((earliest, entry) => (earliest === undefined || entry.dueMs < earliest.dueMs ? entry : earliest), undefined);
      if (due === undefined) break;
      this.tasks.splice(this.tasks.indexOf(due), 1);
      this.now = Math.max(this.now, due.dueMs);
      due.task();
      await this.settle();
    }
    this.now = targetMs;
  }

  private live(): Task[] {
    this.tasks = this.tasks.filter((entry) => !entry.cancelled);
    return [...this.tasks];
  }
}
