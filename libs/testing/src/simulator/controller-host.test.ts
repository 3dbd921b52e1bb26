import type { MetadataImage } from '@starlane/metadata';
import { seededRandom } from '../random';
import { ControllerHost, controllerEndpoint } from './controller-host';
import { SimNetwork } from './network';
import { HostScheduler, SimClock, SimScheduler } from './sim-time';
import { SimTrace } from './trace';

function setup(): { scheduler: SimScheduler; network: SimNetwork; controller: ControllerHost; failures: string[] } {
  const clock = new SimClock();
  const scheduler = new SimScheduler(clock);
  const trace = new SimTrace(clock);
  const network = new SimNetwork(clock, seededRandom(3), trace);
  const failures: string[] = [];
  const controller = new ControllerHost(clock, scheduler, network, trace, seededRandom(4), { heartbeatIntervalMs: 100, sessionTimeoutMs: 600 }, (m) => failures.push(m));
  const node = new HostScheduler(scheduler);
  network.attach('node-1', node);
  return { scheduler, network, controller, failures };
}

const register = (controller: ControllerHost, network: SimNetwork): Promise<{ nodeEpoch: number }> =>
  network.unary('node-1', controllerEndpoint, 'register', () => controller.handle((c) => c.registerNode({ nodeId: 1, incarnationId: 'i-1', clusterId: '', host: 'node-1', port: 9092, rack: '' })), 500);

describe('simulated controller host', () => {
  it('serves the real controller over the network and keeps what it acknowledged across a crash with a torn tail', async () => {
    const { scheduler, network, controller, failures } = setup();
    void controller.start();
    await scheduler.advance(1);
    const registered = register(controller, network);
    await scheduler.advance(100);
    const { nodeEpoch } = await registered;
    const versionBefore = controller.active?.image().version ?? 0;
    controller.crash((_path, unsynced) => unsynced);
    expect(controller.isUp).toBe(false);
    const refused = register(controller, network).catch((error: { code: string }) => error.code);
    await scheduler.advance(100);
    expect(await refused).toBe('BROKER_NOT_AVAILABLE'); // connection refused while it is down
    void controller.start();
    await scheduler.advance(1);
    const image = controller.active?.image();
    expect(image?.nodes.get(1)?.nodeEpoch).toBe(nodeEpoch);
    expect(image?.version).toBeGreaterThan(versionBefore); // the new activation is recorded
    expect(image?.controller?.controllerEpoch).toBe(2);
    expect(failures).toEqual([]);
  });

  it('feeds one node the current image, then every change in order; a new feed starts from the latest image', async () => {
    const { scheduler, network, controller } = setup();
    void controller.start();
    await scheduler.advance(1);
    const feed = controller.openFeed();
    if (feed === undefined) throw new Error('controller not up');
    const seen: number[] = [];
    const pull = (): void => void feed.fetch({ afterVersion: 0 }).then((image: MetadataImage) => (seen.push(image.version), pull()));
    pull();
    const registered = register(controller, network);
    await scheduler.advance(100);
    await registered;
    await controller.active?.registerNode({ nodeId: 2, incarnationId: 'i-2', clusterId: '', host: 'node-2', port: 9092, rack: '' });
    await scheduler.advance(1);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    const late = controller.openFeed();
    const first = await late?.fetch({ afterVersion: 0 });
    expect(first?.version).toBe(controller.active?.image().version);
    feed.close();
    late?.close();
  });
});
