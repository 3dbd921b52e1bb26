import { HostScheduler, settle, SimClock, SimScheduler, simulatedEpochMs } from './sim-time';

function setup(): { clock: SimClock; scheduler: SimScheduler; log: string[] } {
  const clock = new SimClock();
  return { clock, scheduler: new SimScheduler(clock), log: [] };
}

describe('simulated time', () => {
  it('runs tasks by due time, then in the order they were scheduled', async () => {
    const { clock, scheduler, log } = setup();
    scheduler.schedule(20, () => log.push(`b@${clock.nowMs() - simulatedEpochMs}`));
    scheduler.schedule(10, () => log.push(`a@${clock.nowMs() - simulatedEpochMs}`));
    scheduler.schedule(20, () => log.push(`c@${clock.nowMs() - simulatedEpochMs}`));
    const cancel = scheduler.schedule(15, () => log.push('cancelled'));
    cancel();
    expect(await scheduler.runUntilIdle()).toBe(3);
    expect(log).toEqual(['a@10', 'b@20', 'c@20']);
  });

  it('lets a task finish its promise work, however deep, before the next task runs', async () => {
    const { scheduler, log } = setup();
    const deep = async (depth: number): Promise<void> => {
      if (depth > 0) await deep(depth - 1);
      else log.push('deep done');
    };
    scheduler.schedule(1, () => {
      void (async () => {
        for (let i = 0; i < 200; i++) await Promise.resolve();
        await deep(500);
      })();
    });
    scheduler.schedule(1, () => log.push('next task'));
    await scheduler.runUntilIdle();
    expect(log).toEqual(['deep done', 'next task']);
  });

  it('advances the clock to the end of the window even when no task is due', async () => {
    const { clock, scheduler, log } = setup();
    scheduler.schedule(50, () => log.push('late'));
    expect(await scheduler.advance(30)).toBe(0);
    expect(clock.nowMs() - simulatedEpochMs).toBe(30);
    expect(await scheduler.advance(30)).toBe(1);
    expect(log).toEqual(['late']);
    expect(clock.nowMs() - simulatedEpochMs).toBe(60);
  });

  it('holds a paused host’s timers until it resumes and drops a killed host’s for good', async () => {
    const { clock, scheduler, log } = setup();
    const paused = new HostScheduler(scheduler);
    const killed = new HostScheduler(scheduler);
    paused.schedule(10, () => log.push(`paused ran at ${clock.nowMs() - simulatedEpochMs}`));
    killed.schedule(10, () => log.push('killed ran'));
    paused.pause();
    killed.kill();
    killed.schedule(1, () => log.push('scheduled after death'));
    await scheduler.advance(100);
    expect(log).toEqual([]);
    paused.resume();
    await scheduler.advance(1);
    expect(log).toEqual(['paused ran at 100']);
  });

  it('reports a task that throws and goes on', async () => {
    const clock = new SimClock();
    const errors: unknown[] = [];
    const scheduler = new SimScheduler(clock, (error) => errors.push(error));
    scheduler.schedule(1, () => {
      throw new Error('boom');
    });
    let ran = false;
    scheduler.schedule(2, () => (ran = true));
    await scheduler.runUntilIdle();
    expect(errors).toHaveLength(1);
    expect(ran).toBe(true);
  });

  it('settle() drains promise chains started outside any task', async () => {
    let done = false;
    void Promise.resolve()
      .then(() => Promise.resolve())
      .then(() => (done = true));
    await settle();
    expect(done).toBe(true);
  });
});
