/**
 * The watcher's reconnect delays, as the pure rule it applies after every stream that ends.
 */
import { reconnectDelayMs } from './watcher';

const bounds = { initialMs: 50, maxMs: 2000 };

describe('reconnectDelayMs', () => {
  it('doubles per round over the controller list, up to the longest delay', () => {
    const delays = Array.from({ length: 16 }, (_, index) => reconnectDelayMs({ attempt: index + 1, controllers: 3, handOver: false }, bounds));
    expect(delays).toEqual([50, 50, 50, 100, 100, 100, 200, 200, 200, 400, 400, 400, 800, 800, 800, 1600]);
    expect(reconnectDelayMs({ attempt: 1_000, controllers: 3, handOver: false }, bounds)).toBe(2000);
    expect(reconnectDelayMs({ attempt: 1, controllers: 1, handOver: false }, bounds)).toBe(50);
  });

  it('follows a hand-over at once, and nothing else', () => {
    expect(reconnectDelayMs({ attempt: 1, controllers: 3, handOver: true }, bounds)).toBe(0);
    // Streams that served a snapshot and were redirected at once are failures like any other:
    // two controllers naming each other cannot make the watcher spin.
    const cycle = Array.from({ length: 8 }, (_, index) => reconnectDelayMs({ attempt: index + 1, controllers: 2, handOver: false }, bounds));
    expect(cycle.every((delay) => delay >= bounds.initialMs)).toBe(true);
    expect(cycle.at(-1)).toBe(400);
  });
});
