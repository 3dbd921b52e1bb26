/**
 * Manual time for in-process tests: a clock and a scheduler that move only when a test says,
 * and `advance` that lets the code under test finish what each timer set off before the next
 * one fires.
 *
 * The code these tests drive reaches time only through the Clock and Scheduler ports, and its
 * I/O through ports that answer within promise reactions (MemoryFileSystem, scripted
 * controllers, in-process fetch sessions). So all of its work is promise continuations, and
 * `settle()` (one `setImmediate` turn; see simulator/sim-time.ts for why one turn drains every
 * chain of awaits) finishes it deterministically. A test therefore never sleeps nor polls: it
 * settles, asserts, and to show that something did NOT happen it advances the clock past the
 * bound that would have made it happen (a long poll's max_wait_ms, a backoff, a timeout), then
 * asserts again. A part that did real I/O (a real disk, a socket) is not drained by `settle()`;
 * tests over real I/O wait for a condition with `waitUntil` instead.
 *
 * The cluster simulator keeps its own SimScheduler (simulator/sim-time.ts): a heap for the
 * thousands of timers of a seeded run, per-host pause and kill, and a hook that reports a
 * throwing task as a defect of the run; tests of one component need none of that, but do need
 * the delays each timer was scheduled with (`pending`, `step`), which the simulator does not keep.
 */
import type { Clock, Scheduler } from '@starlane/io-ports';
import { settle } from './simulator/sim-time';

export { settle };

/** Test time starts here (2023-11-14), far from 0 so code never mistakes it for "unset". */
export const manualEpochMs = 1_700_000_000_000;

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private now = manualEpochMs) {}
  nowMs(): number {
    return this.now;
  }
  /** Moves the clock only (no timer runs): for code that reads the time but waits on nothing. */
  advance(ms: number): void {
    this.now += ms;
  }
  /** Moves the clock forward to `ms`; never back. */
  moveTo(ms: number): void {
    if (ms > this.now) this.now = ms;
  }
}

interface ManualTask {
  readonly dueMs: number;
  readonly delayMs: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * A scheduler whose tasks run only when a test moves time: in due order, ties in the order
 * they were scheduled, the clock standing at each task's due time while it runs.
 */
export class ManualScheduler implements Scheduler {
  private tasks: ManualTask[] = [];
  private seq = 0;

  constructor(readonly clock: ManualClock = new ManualClock()) {}

  schedule(delayMs: number, task: () => void): () => void {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const entry: ManualTask = { dueMs: this.clock.nowMs() + delay, delayMs, seq: this.seq++, run: task, cancelled: false };
    this.tasks.push(entry);
    return () => {
      entry.cancelled = true;
    };
  }

  /** The delays of the tasks waiting (as they were scheduled), earliest due first. */
  pending(): number[] {
    return this.live().map((entry) => entry.delayMs);
  }

  /**
   * Moves the clock `ms` ahead, running every task that falls due on the way (those they
   * schedule too) in due order, settling before and after each; the clock ends at now + ms.
   * `advance(0)` runs what is due now.
   */
  async advance(ms: number): Promise<void> {
    const targetMs = this.clock.nowMs() + ms;
    await settle();
    for (let next = this.earliest(targetMs); next !== undefined; next = this.earliest(targetMs)) await this.run(next);
    this.clock.moveTo(targetMs);
    await settle();
  }

  /**
   * Runs the earliest waiting task that `accept` takes (by the delay it was scheduled with),
   * moving the clock to its due time, and settles; returns that delay. Fails when none waits.
   */
  async step(accept: (delayMs: number) => boolean = () => true): Promise<number> {
    await settle();
    const next = this.live().find((entry) => accept(entry.delayMs));
    if (next === undefined) throw new Error('nothing is scheduled');
    await this.run(next);
    return next.delayMs;
  }

  /** Steps `count` times; the delays. */
  async steps(count: number, accept?: (delayMs: number) => boolean): Promise<number[]> {
    const delays: number[] = [];
    for (let index = 0; index < count; index += 1) delays.push(await this.step(accept));
    return delays;
  }

  private async run(task: ManualTask): Promise<void> {
    this.tasks.splice(this.tasks.indexOf(task), 1);
    this.clock.moveTo(task.dueMs);
    task.run();
    await settle();
  }

  private earliest(dueByMs: number): ManualTask | undefined {
    const first = this.live()[0];
    return first !== undefined && first.dueMs <= dueByMs ? first : undefined;
  }

  /** Live tasks in run order (due time, then scheduling order). */
  private live(): ManualTask[] {
    this.tasks = this.tasks.filter((entry) => !entry.cancelled);
    return [...this.tasks].sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
  }
}

/** A manual clock and the scheduler on it, for a test that wants both. */
export function manualTime(startMs = manualEpochMs): { readonly clock: ManualClock; readonly scheduler: ManualScheduler } {
  const clock = new ManualClock(startMs);
  return { clock, scheduler: new ManualScheduler(clock) };
}
