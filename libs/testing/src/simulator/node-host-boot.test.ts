import { seededRandom } from '../random';
import { ControllerHost } from './controller-host';
import { SimNetwork } from './network';
import { NodeHost } from './node-host';
import type { SimNode, SimNodeEnvironment } from './sim-node';
import { SimClock, SimScheduler } from './sim-time';
import { SimTrace } from './trace';

describe('node host boots', () => {
  it('starts a new boot after a power loss and keeps the boot across a kill, whose writes all survive', async () => {
    const clock = new SimClock();
    const scheduler = new SimScheduler(clock);
    const trace = new SimTrace(clock, 1000);
    const network = new SimNetwork(clock, seededRandom(1), trace);
    const failures: string[] = [];
    const controller = new ControllerHost(clock, scheduler, network, trace, seededRandom(2), { heartbeatIntervalMs: 100, sessionTimeoutMs: 600 }, (m) => failures.push(m));
    const environments: SimNodeEnvironment<unknown, unknown>[] = [];
    // A node that never finishes starting: only what it is handed matters here.
    const factory = (environment: SimNodeEnvironment<unknown, unknown>): SimNode<unknown, unknown> => {
      environments.push(environment);
      return { start: () => new Promise<void>(() => undefined) } as unknown as SimNode<unknown, unknown>;
    };
    const host = new NodeHost(1, factory, clock, scheduler, network, controller, () => undefined, trace, (m) => failures.push(m));
    const writeUnsynced = async (): Promise<void> => {
      const file = await host.disk.open('/unsynced', { create: true });
      await file.write([Buffer.from('page cache')], 0);
    };

    host.start();
    await writeUnsynced();
    host.kill();
    expect(host.disk.rawFile('/unsynced')?.toString()).toBe('page cache');
    host.start();
    host.crash(() => 0);
    host.start();
    host.kill();
    host.start();
    const boots = environments.map((environment) => environment.bootId);
    expect(new Set(boots).size).toBe(2);
    expect(boots[1]).toBe(boots[0]);
    expect(boots[2]).not.toBe(boots[1]);
    expect(boots[3]).toBe(boots[2]);
    expect(environments.map((environment) => environment.incarnation)).toEqual([1, 2, 3, 4]);
    expect(failures).toEqual([]);
  });
});
