/**
 * The controller's host in the simulation: the real MetadataController over the real
 * FileMetadataStore on an in-memory disk, driven by simulated time as the controller app
 * drives it (apps/controller/src/active-term.ts): a liveness tick a few times per session
 * timeout. A crash is a power loss: the disk keeps a seeded torn tail of unsynced writes and
 * the controller is opened again from the store after a restart delay.
 *
 * Metadata reaches each node as the MetadataWatcher delivers it: one ordered stream per node,
 * the current image first, then every change in version order. A lost message breaks the
 * stream; the node reconnects and gets the latest image.
 */
import { MemoryFileSystem } from '@starlane/io-ports';
import { StarlaneError } from '@starlane/model';
import { FileMetadataStore, MetadataController, seededRandom as metadataRandom, type MetadataImage } from '@starlane/metadata';
import type { SimNetwork, StreamServer } from './network';
import { HostScheduler, type SimClock, type SimScheduler } from './sim-time';
import type { SimTrace } from './trace';

export const controllerEndpoint = 'controller';
export const controllerDirectory = '/controller';

export interface ControllerSettings {
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

/** A request of the metadata stream: "the next image after the one I have". */
export interface MetadataPull {
  readonly afterVersion: number;
}

export class ControllerHost {
  readonly disk = new MemoryFileSystem();
  private host: HostScheduler | undefined;
  private controller: MetadataController | undefined;
  private incarnation = 0;
  private readonly feeds = new Set<(image: MetadataImage) => void>();

  constructor(
    private readonly clock: SimClock,
    private readonly scheduler: SimScheduler,
    private readonly network: SimNetwork,
    private readonly trace: SimTrace,
    private readonly random: () => number,
    private readonly settings: ControllerSettings,
    private readonly fail: (message: string) => void,
  ) {}

  get isUp(): boolean {
    return this.controller !== undefined;
  }

  /** The active controller, when up and loaded. */
  get active(): MetadataController | undefined {
    return this.controller;
  }

  /** Starts an incarnation: loads the store (the simulation settles before using it). */
  async start(): Promise<void> {
    const host = new HostScheduler(this.scheduler);
    this.host = host;
    const incarnation = ++this.incarnation;
    this.network.attach(controllerEndpoint, host);
    const store = new FileMetadataStore({ fs: this.disk, directory: controllerDirectory });
    const controller = await MetadataController.open({
      store,
      clock: this.clock,
      random: metadataRandom(Math.floor(this.random() * 2 ** 31)),
      controllerId: 0,
      host: controllerEndpoint,
      port: 9093,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      initialClusterId: async () => 'simulated-cluster',
    });
    if (incarnation !== this.incarnation || host.isDead) return;
    this.controller = controller;
    controller.subscribe((_delta, image) => {
      if (incarnation !== this.incarnation) return;
      for (const feed of this.feeds) feed(image);
    });
    this.trace.record(`controller up (incarnation ${incarnation}, metadata v${controller.image().version})`);
    this.scheduleLiveness(host, controller);
  }

  /** As active-term.ts: check sessions a few times per timeout, so a node is fenced at most a quarter late. */
  private scheduleLiveness(host: HostScheduler, controller: MetadataController): void {
    const intervalMs = Math.max(10, Math.min(this.settings.heartbeatIntervalMs, Math.floor(this.settings.sessionTimeoutMs / 4)));
    const tick = (): void => {
      void controller.tick().then(
        (fenced) => {
          if (fenced.length > 0) this.trace.record(`controller fenced node(s) ${fenced.join(',')}`);
        },
        () => {
          // A store that failed leaves the metadata unknown: the app exits and is restarted.
          if (controller.failed !== undefined && this.controller === controller) this.fail(`controller store failed: ${controller.failed.message}`);
        },
      );
      host.schedule(intervalMs, tick);
    };
    host.schedule(intervalMs, tick);
  }

  /** Power loss: unsynced writes are lost but for a torn tail; the metadata streams break. */
  crash(tornBytes: (path: string, unsyncedBytes: number) => number): void {
    this.incarnation += 1;
    this.host?.kill();
    this.host = undefined;
    this.controller = undefined;
    this.feeds.clear();
    this.network.detach(controllerEndpoint);
    this.disk.crash(tornBytes);
    this.trace.record('controller crashed');
  }

  /** Runs a request on the controller, as its gRPC service does; refused while down or loading. */
  handle<T>(body: (controller: MetadataController) => Promise<T>): Promise<T> {
    const controller = this.controller;
    if (controller === undefined) return Promise.reject(new StarlaneError('CONTROLLER_NOT_AVAILABLE', 'the controller is not serving'));
    return body(controller);
  }

  /** The server end of one node's metadata stream (undefined while the controller is down). */
  openFeed(): StreamServer<MetadataPull, MetadataImage> | undefined {
    const controller = this.controller;
    if (controller === undefined) return undefined;
    const queue: MetadataImage[] = [controller.image()];
    let waiting: ((image: MetadataImage) => void) | undefined;
    const feed = (image: MetadataImage): void => {
      if (waiting !== undefined) {
        const deliver = waiting;
        waiting = undefined;
        deliver(image);
      } else queue.push(image);
    };
    this.feeds.add(feed);
    return {
      fetch: () => {
        const next = queue.shift();
        if (next !== undefined) return Promise.resolve(next);
        return new Promise<MetadataImage>((resolve) => (waiting = resolve));
      },
      close: () => {
        this.feeds.delete(feed);
      },
    };
  }
}
