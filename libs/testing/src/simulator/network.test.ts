import type { StarlaneError } from '@starlane/model';
import { seededRandom } from '../random';
import { messageFaultCount, SimNetwork, type StreamServer } from './network';
import { HostScheduler, SimClock, SimScheduler, simulatedEpochMs } from './sim-time';
import { SimTrace } from './trace';

function setup(seed = 1): { clock: SimClock; scheduler: SimScheduler; network: SimNetwork; trace: SimTrace; hosts: Map<string, HostScheduler> } {
  const clock = new SimClock();
  const scheduler = new SimScheduler(clock);
  const trace = new SimTrace(clock);
  const network = new SimNetwork(clock, seededRandom(seed), trace, { delayMsMin: 1, delayMsMax: 20, breakNoticeMsMax: 50 });
  const hosts = new Map<string, HostScheduler>();
  for (const id of ['a', 'b', 'c']) {
    const host = new HostScheduler(scheduler);
    hosts.set(id, host);
    network.attach(id, host);
  }
  return { clock, scheduler, network, trace, hosts };
}

function outcome<T>(promise: Promise<T>): { value?: T; error?: StarlaneError } {
  const box: { value?: T; error?: StarlaneError } = {};
  promise.then(
    (value) => (box.value = value),
    (error: StarlaneError) => (box.error = error),
  );
  return box;
}

/** A stream server that answers each request with its text upper-cased, some after a wait. */
function echo(scheduler: HostScheduler, log: string[]): StreamServer<string, string> {
  return {
    fetch: (request) => new Promise((resolve) => scheduler.schedule(request.startsWith('slow') ? 30 : 0, () => resolve(request.toUpperCase()))),
    close: () => log.push('server closed'),
  };
}

describe('simulated network', () => {
  it('answers a unary call after two seeded delays', async () => {
    const { clock, scheduler, network } = setup();
    let handledAt = 0;
    const call = outcome(network.unary('a', 'b', 'ping', async () => ((handledAt = clock.nowMs() - simulatedEpochMs), 'pong'), 1000));
    await scheduler.runUntilIdle();
    expect(call.value).toBe('pong');
    expect(handledAt).toBeGreaterThanOrEqual(1);
    expect(network.stats).toMatchObject({ sent: 2, delivered: 2, dropped: 0 });
  });

  it('fails a call at its deadline when the link is cut, and fast when the host is down', async () => {
    const { clock, scheduler, network } = setup();
    network.partition(['a'], ['b']);
    const cut = outcome(network.unary('a', 'b', 'ping', async () => 'pong', 500));
    network.detach('c');
    const refused = outcome(network.unary('a', 'c', 'ping', async () => 'pong', 500));
    await scheduler.advance(100);
    expect(refused.error?.code).toBe('BROKER_NOT_AVAILABLE');
    expect(cut.error).toBeUndefined();
    await scheduler.runUntilIdle();
    expect(cut.error?.code).toBe('REQUEST_TIMED_OUT');
    expect(clock.nowMs() - simulatedEpochMs).toBe(500);
  });

  it('runs a request whose answer is lost, so the caller’s retry is a duplicate', async () => {
    const { scheduler, network } = setup();
    let handled = 0;
    const first = outcome(
      network.unary(
        'a',
        'b',
        'register',
        async () => {
          handled += 1;
          network.partition(['a'], ['b']); // cut after the request arrived: the answer is lost
          return handled;
        },
        300,
      ),
    );
    await scheduler.runUntilIdle();
    expect(first.error?.code).toBe('REQUEST_TIMED_OUT');
    network.heal();
    const retry = outcome(network.unary('a', 'b', 'register', async () => ++handled, 300));
    await scheduler.runUntilIdle();
    expect(retry.value).toBe(2);
    expect(network.stats.answersLostAfterHandling).toBe(1);
  });

  it('keeps a stream’s answers in order even when an earlier one takes longer', async () => {
    const { scheduler, network, hosts } = setup();
    const log: string[] = [];
    const stream = network.openStream<string, string>('a', 'b', 'fetch', () => echo(hosts.get('b') as HostScheduler, log));
    const answers: string[] = [];
    for (const request of ['slow-1', 'fast-2', 'fast-3']) void stream.fetch(request).then((answer) => answers.push(answer));
    await scheduler.runUntilIdle();
    expect(answers).toEqual(['SLOW-1', 'FAST-2', 'FAST-3']);
  });

  it('breaks a stream, never drops one message of it silently, when a message is lost', async () => {
    const { scheduler, network, hosts } = setup();
    const log: string[] = [];
    const stream = network.openStream<string, string>('a', 'b', 'fetch', () => echo(hosts.get('b') as HostScheduler, log));
    const first = outcome(stream.fetch('one'));
    await scheduler.runUntilIdle();
    expect(first.value).toBe('ONE');
    network.lossBurst(1, 1000);
    const second = outcome(stream.fetch('two'));
    await scheduler.runUntilIdle();
    expect(second.error?.code).toBe('BROKER_NOT_AVAILABLE');
    expect(stream.broken).toBe(true);
    expect(log).toEqual(['server closed']);
    const third = outcome(stream.fetch('three'));
    await scheduler.runUntilIdle();
    expect(third.error?.code).toBe('BROKER_NOT_AVAILABLE');
  });

  it('counts each message fault once: a lost message, not again the stream break it caused; a break without a loss', async () => {
    const { scheduler, network, hosts } = setup();
    const stream = network.openStream<string, string>('a', 'b', 'fetch', () => echo(hosts.get('b') as HostScheduler, []));
    network.lossBurst(1, 1000);
    const lost = outcome(stream.fetch('one'));
    const unary = outcome(network.unary('c', 'b', 'ping', async () => 'pong', 300));
    await scheduler.runUntilIdle();
    expect([lost.error?.code, unary.error?.code]).toEqual(['BROKER_NOT_AVAILABLE', 'REQUEST_TIMED_OUT']);
    network.heal();
    const other = network.openStream<string, string>('c', 'b', 'fetch', () => echo(hosts.get('b') as HostScheduler, []));
    const first = outcome(other.fetch('two'));
    await scheduler.runUntilIdle();
    expect(first.value).toBe('TWO');
    network.partition(['c'], ['b']); // nothing on the wire: the stream breaks without a loss
    await scheduler.runUntilIdle();
    expect(network.stats).toMatchObject({ dropped: 2, lostInBursts: 2, lostToCuts: 0, streamBreaks: 2, streamBreaksByLoss: 1 });
    expect(messageFaultCount(network.stats)).toBe(3);
  });

  it('holds messages for a paused host and delivers them when it resumes', async () => {
    const { clock, scheduler, network, hosts } = setup();
    hosts.get('b')?.pause();
    let handledAt = -1;
    const call = outcome(network.unary('a', 'b', 'ping', async () => ((handledAt = clock.nowMs() - simulatedEpochMs), 'pong'), 10_000));
    await scheduler.advance(1000);
    expect(handledAt).toBe(-1);
    hosts.get('b')?.resume();
    await scheduler.runUntilIdle();
    expect(handledAt).toBe(1000);
    expect(call.value).toBe('pong');
  });

  it('replays the same deliveries for the same seed', async () => {
    const run = async (seed: number): Promise<string> => {
      const { scheduler, network, trace, clock } = setup(seed);
      const order: string[] = [];
      for (let i = 0; i < 20; i++) {
        const from = i % 2 === 0 ? 'a' : 'c';
        void network.unary(from, 'b', `m${i}`, async () => (order.push(`${i}@${clock.nowMs() - simulatedEpochMs}`), i), 1000).catch(() => undefined);
      }
      network.lossBurst(0.3, 50);
      await scheduler.runUntilIdle();
      return `${order.join(',')}|${trace.digest}|${JSON.stringify(network.stats)}`;
    };
    expect(await run(5)).toBe(await run(5));
    expect(await run(5)).not.toBe(await run(6));
  });
});
