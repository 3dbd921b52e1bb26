/**
 * The operator's per-object work queue as a state machine on an injected scheduler, with the
 * semantics of client-go's rate-limited work queue (which controller-runtime and every Go
 * operator use):
 * - a key is queued at most once (adds of a queued key are merged);
 * - a key is handed to one worker at a time; an add while it is being processed marks it
 *   dirty, and it is queued again when that worker is done, so the latest state is reconciled;
 * - a failed key is retried after an exponential back-off per key (`backoffMs` of
 *   @starlane/model), reset by a success, so a failing object cannot hot-loop;
 * - every key the informer knows is added again each resync period, which is what reverts
 *   drift nobody told us about.
 * Workers are the driver's: it calls `next()` when `onReady` says work is waiting.
 */
import type { Scheduler } from '@starlane/io-ports';
import { assert, backoffMs, type BackoffBounds } from '@starlane/model';

export interface WorkQueueBounds {
  /** Back-off of a failed key, per key. */
  readonly retryBackoff: BackoffBounds;
  /** How often every known key is reconciled again. */
  readonly resyncPeriodMs: number;
  /** Most keys waiting at once; an add beyond it is dropped (and counted) — the next resync brings the key back. */
  readonly queuedKeysMax: number;
}

/**
 * Retries start at 500 ms and stop doubling at 5 min (client-go's per-item limiter starts at
 * 5 ms and caps at 1000 s; an admin-API call is slower than a Kubernetes write, so the first
 * retry waits longer, and 5 min keeps a broken object visible within one coffee). Resync every
 * 2 min is Strimzi's full topic reconcile period. Keys are objects, far fewer than 100,000.
 */
export const workQueueBoundsDefault: WorkQueueBounds = {
  retryBackoff: { initialMs: 500, maxMs: 300_000 },
  resyncPeriodMs: 120_000,
  queuedKeysMax: 100_000,
};

export interface WorkQueueOptions {
  readonly bounds?: WorkQueueBounds;
  /** The keys to add on each resync (the informer's cache). */
  readonly resyncKeys?: () => Iterable<string>;
  /** Called when a key becomes available to `next()`. */
  readonly onReady?: () => void;
}

export class WorkQueue {
  readonly bounds: WorkQueueBounds;
  /** Keys waiting, in the order they were added. */
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: queued again when their worker finishes. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, () => void>();
  private cancelResync: (() => void) | undefined;
  private stopped = false;
  private droppedCount = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.bounds = options.bounds ?? workQueueBoundsDefault;
  }

  /** Queues `key` unless it is queued already; false when it was dropped (queue full or stopped). */
  add(key: string): boolean {
    if (this.stopped) return false;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return true;
    }
    if (this.queued.has(key)) return true;
    if (this.queued.size >= this.bounds.queuedKeysMax) {
      this.droppedCount += 1;
      return false;
    }
    this.queued.add(key);
    this.options.onReady?.();
    return true;
  }

  /** Adds `key` after `delayMs`; replaces a delayed add of the same key still waiting. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    this.delayed.get(key)?.();
    const cancel = this.scheduler.schedule(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, cancel);
  }

  /** The next key to process, now owned by the caller until `done` or `failed`; undefined when none waits. */
  next(): string | undefined {
    const first = this.queued.values().next();
    if (first.done === true) return undefined;
    this.queued.delete(first.value);
    this.processing.add(first.value);
    return first.value;
  }

  /** `key` was reconciled: its failures are forgotten; queued again if it changed meanwhile. */
  done(key: string): void {
    this.failures.delete(key);
    this.finish(key);
  }

  /** `key` failed: retried after its back-off (which doubles per failure); returns that delay. */
  failed(key: string): number {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    const delayMs = backoffMs(attempt, this.bounds.retryBackoff);
    this.finish(key);
    if (!this.queued.has(key)) this.addAfter(key, delayMs);
    return delayMs;
  }

  /** The object is gone: forget its failures and any delayed add. */
  forget(key: string): void {
    this.failures.delete(key);
    this.delayed.get(key)?.();
    this.delayed.delete(key);
  }

  /** Starts the periodic resync (adding every key of `resyncKeys`). */
  startResync(): void {
    if (this.stopped || this.cancelResync !== undefined) return;
    const tick = (): void => {
      for (const key of this.options.resyncKeys?.() ?? []) this.add(key);
      this.cancelResync = this.scheduler.schedule(this.bounds.resyncPeriodMs, tick);
    };
    this.cancelResync = this.scheduler.schedule(this.bounds.resyncPeriodMs, tick);
  }

  /** Cancels every timer; later adds are dropped. */
  stop(): void {
    this.stopped = true;
    this.cancelResync?.();
    for (const cancel of this.delayed.values()) cancel();
    this.delayed.clear();
    this.queued.clear();
  }

  /** Keys waiting (the queue-depth metric). */
  depth(): number {
    return this.queued.size;
  }

  inProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  dropped(): number {
    return this.droppedCount;
  }

  private finish(key: string): void {
    assert(this.processing.delete(key), `work queue: ${key} was not being processed`);
    if (this.dirty.delete(key)) this.add(key);
  }
}
