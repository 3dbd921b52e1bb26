import { SimClock } from './sim-time';
import { failureReport, SimTrace } from './trace';

describe('simulation trace', () => {
  it('keeps only the last events, oldest first, and a digest of all of them', () => {
    const clock = new SimClock();
    const trace = new SimTrace(clock, 3);
    for (let i = 0; i < 5; i++) {
      trace.step = i;
      clock.moveTo(clock.nowMs() + 7);
      trace.record(`event ${i}`);
    }
    expect(trace.events().map((e) => `${e.atMs}/${e.step}/${e.event}`)).toEqual(['21/2/event 2', '28/3/event 3', '35/4/event 4']);
    expect(trace.eventCount).toBe(5);
    const again = new SimTrace(new SimClock(), 100);
    expect(again.digest).not.toBe(trace.digest);
  });

  it('gives the same digest for the same events and another for a different one', () => {
    const make = (last: string): string => {
      const trace = new SimTrace(new SimClock(), 2);
      trace.record('a');
      trace.record('b');
      trace.record(last);
      return trace.digest;
    };
    expect(make('c')).toBe(make('c'));
    expect(make('c')).not.toBe(make('d'));
  });

  it('prints the seed, the step, how to replay and the trace in a failure report', () => {
    const trace = new SimTrace(new SimClock(), 10);
    trace.step = 42;
    trace.record('node-2 crashed');
    const report = failureReport({ seed: 7, step: 42, steps: 3000, failure: 'acknowledged write lost', trace });
    expect(report).toContain('seed 7 failed at step 42: acknowledged write lost');
    expect(report).toContain('npm run simulate -- --seed 7 --steps 3000');
    expect(report).toMatch(/0 ms\s+step\s+42\s+node-2 crashed/);
  });
});
