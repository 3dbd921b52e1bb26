import { seededRandom } from '../random';
import { FaultInjector, faultSettingsDefault } from './faults';
import { SimNetwork } from './network';
import { SimClock, SimScheduler } from './sim-time';
import { SimTrace } from './trace';

/** `recovered`: whether a node whose fault ended is back in every ISR (default: as soon as it is up). */
async function schedule(seed: number, recovered?: (nodeId: number) => boolean): Promise<{ events: string[]; impairedMax: number; total: number }> {
  const clock = new SimClock();
  const scheduler = new SimScheduler(clock);
  const trace = new SimTrace(clock, 10_000);
  const network = new SimNetwork(clock, seededRandom(seed), trace);
  const down = new Set<number>();
  let impairedMax = 0;
  const impair = (id: number): void => {
    down.add(id);
    impairedMax = Math.max(impairedMax, down.size);
  };
  const injector = new FaultInjector(
    scheduler,
    seededRandom(seed),
    {
      nodeIds: [1, 2, 3],
      network,
      endpoints: () => ['controller', 'node-1', 'node-2', 'node-3'],
      nodeEndpoint: (id) => `node-${id}`,
      crashNode: impair,
      killNode: impair,
      startNode: (id) => down.delete(id),
      pauseNode: impair,
      resumeNode: (id) => down.delete(id),
      crashController: () => trace.record('controller crash'),
      startController: () => trace.record('controller start'),
      recovered: recovered ?? ((id) => !down.has(id)),
    },
    trace,
    { ...faultSettingsDefault, faultProbabilityPerStep: 0.2 },
  );
  for (let step = 0; step < 2000; step++) {
    injector.maybeInject();
    await scheduler.advance(10);
  }
  await scheduler.runUntilIdle();
  expect(injector.active).toBe(false);
  return { events: trace.events().map((e) => `${e.atMs} ${e.event}`), impairedMax, total: injector.total };
}

describe('fault schedule', () => {
  it('draws the same faults for the same seed, within the limits, and ends every one', async () => {
    const first = await schedule(9);
    expect(await schedule(9)).toEqual(first);
    expect((await schedule(10)).events).not.toEqual(first.events);
    expect(first.total).toBeGreaterThan(20);
    expect(first.impairedMax).toBe(1);
    expect(first.events.some((e) => e.includes('fault node-crash'))).toBe(true);
    expect(first.events.some((e) => e.includes('fault node-kill'))).toBe(true);
    expect(first.events.some((e) => e.includes('fault controller-crash'))).toBe(true);
    expect(first.events.some((e) => e.includes('net loss burst'))).toBe(true);
  });

  it('holds a node impaired after its fault ends until it is back in every ISR', async () => {
    const { events } = await schedule(9, () => false);
    const faulted = new Set(events.flatMap((e) => /fault node-\S+ node (\d+)/.exec(e)?.[1] ?? []));
    expect(faulted.size).toBe(1);
    expect(events.some((e) => e.includes('fault controller-crash'))).toBe(true);
  });
});
