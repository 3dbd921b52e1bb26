import { ManualScheduler } from '@starlane/testing';
import { WorkQueue, type WorkQueueBounds } from './work-queue';

function take(queue: WorkQueue): string {
  const key = queue.next();
  if (key === undefined) throw new Error('no key waits');
  return key;
}

const bounds: WorkQueueBounds = { retryBackoff: { initialMs: 100, maxMs: 1000 }, resyncPeriodMs: 60_000, queuedKeysMax: 3 };

function setup(keys: string[] = []): { queue: WorkQueue; scheduler: ManualScheduler; ready: { count: number } } {
  const scheduler = new ManualScheduler();
  const ready = { count: 0 };
  const queue = new WorkQueue(scheduler, { bounds, resyncKeys: () => keys, onReady: () => (ready.count += 1) });
  return { queue, scheduler, ready };
}

describe('WorkQueue', () => {
  it('hands keys out in order and merges adds of a queued key', () => {
    const { queue, ready } = setup();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.depth()).toBe(2);
    expect(ready.count).toBe(2);
    expect([queue.next(), queue.next(), queue.next()]).toEqual(['a', 'b', undefined]);
  });

  it('gives a key to one worker at a time and queues it again if it changed while processed', () => {
    const { queue } = setup();
    queue.add('a');
    expect(queue.next()).toBe('a');
    queue.add('a');
    expect(queue.next()).toBeUndefined();
    queue.done('a');
    expect(queue.next()).toBe('a');
    queue.done('a');
    expect(queue.next()).toBeUndefined();
  });

  it('retries a failed key after a back-off that doubles per failure up to its bound, and a success resets it', async () => {
    const { queue, scheduler } = setup();
    const delays: number[] = [];
    queue.add('a');
    for (let attempt = 0; attempt < 6; attempt += 1) {
      expect(queue.next()).toBe('a');
      delays.push(queue.failed('a'));
      await scheduler.advance((delays[attempt] ?? 0) - 1);
      expect(queue.depth()).toBe(0);
      await scheduler.advance(1);
      expect(queue.depth()).toBe(1);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(queue.next()).toBe('a');
    queue.done('a');
    expect(queue.failuresOf('a')).toBe(0);
    queue.add('a');
    expect(queue.next()).toBe('a');
    expect(queue.failed('a')).toBe(100);
  });

  it('keeps one delayed add per key', async () => {
    const { queue, scheduler } = setup();
    queue.addAfter('a', 500);
    queue.addAfter('a', 300);
    expect(scheduler.pending()).toEqual([300]);
    await scheduler.advance(300);
    expect(queue.depth()).toBe(1);
  });

  it('adds every known key each resync period', async () => {
    const { queue, scheduler } = setup(['a', 'b']);
    queue.startResync();
    await scheduler.advance(59_999);
    expect(queue.depth()).toBe(0);
    await scheduler.advance(1);
    expect(queue.depth()).toBe(2);
    queue.done(take(queue));
    queue.done(take(queue));
    await scheduler.advance(60_000);
    expect(queue.depth()).toBe(2);
  });

  it('drops adds beyond its bound and counts them', () => {
    const { queue } = setup();
    expect(['a', 'b', 'c', 'd'].map((key) => queue.add(key))).toEqual([true, true, true, false]);
    expect(queue.dropped()).toBe(1);
  });

  it('forgets a deleted key and stops every timer on stop', async () => {
    const { queue, scheduler } = setup(['a']);
    queue.add('a');
    queue.next();
    queue.failed('a');
    queue.forget('a');
    expect(queue.failuresOf('a')).toBe(0);
    expect(scheduler.pending()).toEqual([]);
    queue.startResync();
    queue.stop();
    expect(scheduler.pending()).toEqual([]);
    expect(queue.add('a')).toBe(false);
  });

  it('refuses done for a key it did not hand out (a programmer error)', () => {
    const { queue } = setup();
    expect(() => queue.done('a')).toThrow(/not being processed/);
  });
});
