/**
 * Simulated time: one clock and one scheduler that every part of a simulated cluster shares
 * (the controller host, each node, the network, the clients), and a per-host view of the
 * scheduler that can pause (SIGSTOP) and kill (crash) one host's timers.
 *
 * Order is total and reproducible: tasks run by due time, then by the order they were
 * scheduled. Between two tasks the scheduler lets every promise continuation run
 * (`settle()`): the code under test is async (the log and the metadata store await the
 * filesystem port), and a timer must not fire while the work of the previous one is
 * half done.
 *
 * How `settle()` drains: it waits for one `setImmediate` turn. Node runs the whole microtask
 * queue (promise continuations, process.nextTick) before it moves to the check phase, so once
 * the immediate fires no promise work remains — however deep the chain — PROVIDED no part
 * waits on real I/O (threadpool or sockets), whose completion time the simulator does not
 * own. Everything a simulation runs goes through MemoryFileSystem and the simulated network,
 * which resolve promises in-process and never touch the threadpool, so one turn is both
 * sufficient and deterministic. A part that did real I/O would make runs irreproducible;
 * that is why the filesystem and time are ports.
 */
import type { Clock, Scheduler } from '@starlane/io-ports';

/** Simulated wall-clock start (2023-11-14), far from 0 so code never mistakes it for "unset". */
export const simulatedEpochMs = 1_700_000_000_000;

export class SimClock implements Clock {
  constructor(private now = simulatedEpochMs) {}
  nowMs(): number {
    return this.now;
  }
  /** Moves the clock forward only; simulated time never goes back. */
  moveTo(ms: number): void {
    if (ms > this.now) this.now = ms;
  }
}

interface TimerTask {
  readonly dueMs: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/** Lets every pending promise continuation run (see the module comment for why this is enough). */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

function before(a: TimerTask | undefined, b: TimerTask | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}

function swap(heap: TimerTask[], i: number, j: number): void {
  const a = heap[i] as TimerTask;
  heap[i] = heap[j] as TimerTask;
  heap[j] = a;
}

/** The shared scheduler: a binary heap of tasks ordered by (due time, insertion sequence). */
export class SimScheduler implements Scheduler {
  private readonly heap: TimerTask[] = [];
  private seq = 0;
  private executed = 0;

  constructor(
    readonly clock: SimClock,
    /** A task that throws is a defect of the code under test; the simulation reports it. */
    private readonly onTaskError: (error: unknown) => void = (error) => {
      throw error;
    },
  ) {}

  schedule(delayMs: number, task: () => void): () => void {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const entry: TimerTask = { dueMs: this.clock.nowMs() + delay, seq: this.seq++, run: task, cancelled: false };
    this.push(entry);
    return () => {
      entry.cancelled = true;
    };
  }

  /** Tasks run so far. */
  get tasksRun(): number {
    return this.executed;
  }

  /** Due time of the next live task, if any. */
  nextDueMs(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.dueMs;
  }

  /** Settles, runs the next task (moving the clock to its due time), settles again. False when idle. */
  async runNext(): Promise<boolean> {
    await settle();
    this.dropCancelled();
    const next = this.pop();
    if (next === undefined) return false;
    this.clock.moveTo(next.dueMs);
    this.executed += 1;
    try {
      next.run();
    } catch (error) {
      this.onTaskError(error);
    }
    await settle();
    return true;
  }

  /** Runs every task due up to `timeMs` (at most `tasksMax`), then moves the clock there. */
  async runUntil(timeMs: number, tasksMax = Number.MAX_SAFE_INTEGER): Promise<number> {
    let ran = 0;
    for (;;) {
      await settle();
      const due = this.nextDueMs();
      if (due === undefined || due > timeMs || ran >= tasksMax) break;
      await this.runNext();
      ran += 1;
    }
    this.clock.moveTo(timeMs);
    await settle();
    return ran;
  }

  advance(ms: number, tasksMax?: number): Promise<number> {
    return this.runUntil(this.clock.nowMs() + ms, tasksMax);
  }

  /** Runs tasks until none is left or `tasksMax` ran (periodic timers never leave a cluster idle). */
  async runUntilIdle(tasksMax = 100_000): Promise<number> {
    let ran = 0;
    while (ran < tasksMax && (await this.runNext())) ran += 1;
    return ran;
  }

  private dropCancelled(): void {
    while (this.heap[0]?.cancelled === true) this.pop();
  }

  private push(entry: TimerTask): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index], heap[parent])) break;
      swap(heap, index, parent);
      index = parent;
    }
  }

  private pop(): TimerTask | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
      if (smallest === index) break;
      swap(heap, index, smallest);
      index = smallest;
    }
    return top;
  }
}

/**
 * One host's (process's) timers on the shared scheduler. `pause()` is SIGSTOP: timers that fall
 * due wait, and run in their order at `resume()` (SIGCONT), late, as a stopped process finds
 * them. `kill()` is a crash: no timer of this incarnation ever runs again, and later
 * `schedule` calls by code still running from it are ignored.
 */
export class HostScheduler implements Scheduler {
  private readonly live = new Set<() => void>();
  private readonly held: (() => void)[] = [];
  private paused = false;
  private dead = false;

  constructor(private readonly shared: SimScheduler) {}

  get isPaused(): boolean {
    return this.paused;
  }

  get isDead(): boolean {
    return this.dead;
  }

  schedule(delayMs: number, task: () => void): () => void {
    if (this.dead) return () => undefined;
    let cancelled = false;
    const fire = (): void => {
      this.live.delete(cancel);
      if (cancelled || this.dead) return;
      if (this.paused) this.held.push(task);
      else task();
    };
    const cancelShared = this.shared.schedule(delayMs, fire);
    const cancel = (): void => {
      cancelled = true;
      this.live.delete(cancel);
      cancelShared();
    };
    this.live.add(cancel);
    return cancel;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused || this.dead) return;
    this.paused = false;
    const due = this.held.splice(0);
    for (const task of due) this.schedule(0, task);
  }

  kill(): void {
    this.dead = true;
    for (const cancel of [...this.live]) cancel();
    this.held.length = 0;
  }
}
