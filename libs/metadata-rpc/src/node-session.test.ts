/**
 * NodeSession against scripted controllers served over real gRPC on loopback: each test says
 * what the controller answers and waits on the requests it receives, never on sleeps. The
 * retry tests run the session's timers on a scheduler they step, so every delay it chose is
 * seen and none is waited out.
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock, Scheduler } from '@starlane/io-ports';
import type { StarlaneError } from '@starlane/model';
import { internalV1, v1 } from '@starlane/proto';
import { NodeSession, type NodeSessionOptions } from './node-session';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? DeepPartial<U>[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A controller whose answers each test scripts, recording every request it receives. */
class ScriptedController {
  readonly registrations: internalV1.RegisterNodeRequest[] = [];
  readonly heartbeats: internalV1.HeartbeatRequest[] = [];
  readonly shutdowns: internalV1.ControlledShutdownRequest[] = [];
  register: (request: internalV1.RegisterNodeRequest, index: number) => DeepPartial<internalV1.RegisterNodeResponse> = (_request, index) => ({
    nodeEpoch: BigInt(100 + index),
    clusterId: 'cluster-a',
    heartbeatIntervalMs: 20,
    sessionTimeoutMs: 1000,
  });
  heartbeat: (request: internalV1.HeartbeatRequest, index: number) => DeepPartial<internalV1.HeartbeatResponse> = () => ({ fenced: false });
  controlledShutdown: (request: internalV1.ControlledShutdownRequest, index: number) => DeepPartial<internalV1.ControlledShutdownResponse> = () => ({});
  readonly isrChanges: internalV1.AlterPartitionRequest[] = [];
  alterPartition: (request: internalV1.AlterPartitionRequest) => DeepPartial<internalV1.AlterPartitionResponse> = () => ({});
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<ScriptedController> {
    const server = new grpc.Server();
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, actual) => (error ? reject(error) : resolve(actual))),
    );
    const self = new ScriptedController(server, bound);
    const handlers: Partial<internalV1.ControllerServiceServer> = {
      registerNode: (call, callback) => {
        self.registrations.push(call.request);
        callback(null, internalV1.RegisterNodeResponse.fromPartial(self.register(call.request, self.registrations.length - 1)));
        self.notify();
      },
      heartbeat: (call, callback) => {
        self.heartbeats.push(call.request);
        callback(null, internalV1.HeartbeatResponse.fromPartial(self.heartbeat(call.request, self.heartbeats.length - 1)));
        self.notify();
      },
      alterPartition: (call, callback) => {
        self.isrChanges.push(call.request);
        callback(null, internalV1.AlterPartitionResponse.fromPartial(self.alterPartition(call.request)));
        self.notify();
      },
      controlledShutdown: (call, callback) => {
        self.shutdowns.push(call.request);
        callback(null, internalV1.ControlledShutdownResponse.fromPartial(self.controlledShutdown(call.request, self.shutdowns.length - 1)));
        self.notify();
      },
    };
    server.addService(internalV1.ControllerServiceService, handlers as grpc.UntypedServiceImplementation);
    return self;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once `check` holds, checked now and after every request. */
  until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.check()) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const quietLogger = { info: () => undefined, warn: () => undefined };

/** Real time, for the tests that let the session run on its own. */
const systemClock: Clock = { nowMs: () => Date.now() };
const timerScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    return () => clearTimeout(timer);
  },
};

/** A clock that moves only when the stepped scheduler runs a task. (@starlane/testing depends on this library, so its ManualClock is out of reach.) */
class ManualClock implements Clock {
  private now = 1_700_000_000_000;
  nowMs(): number {
    return this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

/**
 * A scheduler the test steps: `step` waits for the session to schedule something (its calls
 * are real gRPC), then moves the clock to the earliest task's time, runs it, and says how long
 * the session asked to wait.
 */
class SteppedScheduler implements Scheduler {
  private tasks: { dueMs: number; delayMs: number; task: () => void; cancelled: boolean }[] = [];
  private arrived: (() => void) | undefined;

  constructor(readonly clock = new ManualClock()) {}

  schedule(delayMs: number, task: () => void): () => void {
    const entry = { dueMs: this.clock.nowMs() + delayMs, delayMs, task, cancelled: false };
    this.tasks.push(entry);
    this.arrived?.();
    return () => {
      entry.cancelled = true;
    };
  }

  /** Runs the earliest task `accept` takes (by the delay asked), once there is one. */
  async step(accept: (delayMs: number) => boolean = () => true): Promise<number> {
    for (;;) {
      this.tasks = this.tasks.filter((entry) => !entry.cancelled);
      const next = this.tasks
        .filter((entry) => accept(entry.delayMs))
        .reduce<(typeof this.tasks)[number] | undefined>((earliest, entry) => (earliest === undefined || entry.dueMs < earliest.dueMs ? entry : earliest), undefined);
      if (next !== undefined) {
        this.tasks.splice(this.tasks.indexOf(next), 1);
        this.clock.advance(Math.max(0, next.dueMs - this.clock.nowMs()));
        next.task();
        return next.delayMs;
      }
      await this.arrival();
    }
  }

  /** Waits for a task to be scheduled and says its delay, without running it. */
  async pending(): Promise<number> {
    for (;;) {
      const live = this.tasks.find((entry) => !entry.cancelled);
      if (live !== undefined) return live.delayMs;
      await this.arrival();
    }
  }

  private arrival(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the session to schedule its next step')), 5000);
      this.arrived = () => {
        clearTimeout(timer);
        this.arrived = undefined;
        resolve();
      };
    });
  }

  /** Steps `count` times; the delays asked for. */
  async steps(count: number, accept?: (delayMs: number) => boolean): Promise<number[]> {
    const delays: number[] = [];
    for (let index = 0; index < count; index += 1) delays.push(await this.step(accept));
    return delays;
  }
}
const running: { stop(): unknown }[] = [];

function session(controllers: readonly string[], overrides: Partial<NodeSessionOptions> = {}): { session: NodeSession; stored: string[]; fatal: StarlaneError[] } {
  const stored: string[] = [];
  const fatal: StarlaneError[] = [];
  const created = new NodeSession({
    controllers,
    nodeId: 7,
    incarnationId: 'incarnation-1',
    host: '127.0.0.1',
    port: 9999,
    rack: 'rack-a',
    logDirs: [{ dirId: 'dir-1', path: '/data' }],
    cleanShutdown: true,
    softwareVersion: '0.1.0',
    clusterId: '',
    storeClusterId: async (clusterId) => void stored.push(clusterId),
    metadataVersion: () => 42,
    logger: quietLogger,
    onFatal: (error) => fatal.push(error),
    retryBackoffMsInitial: 10,
    retryBackoffMsMax: 50,
    clock: systemClock,
    scheduler: timerScheduler,
    ...overrides,
  });
  running.push({ stop: () => created.stop(0) });
  return { session: created, stored, fatal };
}

async function controller(port?: number): Promise<ScriptedController> {
  const started = await ScriptedController.start(port);
  running.push(started);
  return started;
}

afterEach(async () => {
  for (const item of running.splice(0)) await item.stop();
});

describe('NodeSession', () => {
  it('registers with everything the controller needs, stores a new cluster id, then heartbeats at the given interval', async () => {
    const active = await controller();
    const registered: bigint[] = [];
    const { session: node, stored } = session([active.address], { onRegistered: (registration) => registered.push(registration.nodeEpoch) });
    node.start();
    await active.until(() => active.heartbeats.length >= 3, 'three heartbeats');

    expect(active.registrations[0]).toEqual({
      nodeId: 7,
      incarnationId: 'incarnation-1',
      clusterId: '',
      host: '127.0.0.1',
      port: 9999,
      rack: 'rack-a',
      logDirs: [{ dirId: 'dir-1', path: '/data' }],
      cleanShutdown: true,
      softwareVersion: '0.1.0',
    });
    expect(stored).toEqual(['cluster-a']);
    expect(registered).toEqual([100n]);
    expect(node.clusterId).toBe('cluster-a');
    expect(active.heartbeats[0]).toMatchObject({ nodeId: 7, nodeEpoch: 100n, metadataVersion: 42n });
    expect(node.fenced).toBe(false);
    expect(node.current?.heartbeatIntervalMs).toBe(20);
  });

  it('quotes a stored cluster id and does not store it again', async () => {
    const active = await controller();
    const { session: node, stored } = session([active.address], { clusterId: 'cluster-a' });
    node.start();
    await active.until(() => active.heartbeats.length >= 1, 'a heartbeat');
    expect(active.registrations[0]?.clusterId).toBe('cluster-a');
    expect(stored).toEqual([]);
  });

  it('gives up on INCONSISTENT_CLUSTER_ID and never heartbeats', async () => {
    const active = await controller();
    active.register = () => ({ errorCode: v1.ErrorCode.INCONSISTENT_CLUSTER_ID, errorMessage: 'cluster-b is not cluster-a' });
    const fatal = new Promise<StarlaneError>((resolve) => session([active.address], { clusterId: 'cluster-b', onFatal: resolve }).session.start());
    await expect(fatal).resolves.toMatchObject({ code: 'INCONSISTENT_CLUSTER_ID' });
    expect(active.heartbeats).toHaveLength(0);
  });

  it('gives up when the controller serves another cluster than the stored one, even without an error code', async () => {
    const active = await controller();
    const fatal = new Promise<StarlaneError>((resolve) => session([active.address], { clusterId: 'cluster-b', onFatal: resolve }).session.start());
    await expect(fatal).resolves.toMatchObject({ code: 'INCONSISTENT_CLUSTER_ID' });
    expect(active.heartbeats).toHaveLength(0);
  });

  it.each(['STALE_BROKER_EPOCH', 'BROKER_ID_NOT_REGISTERED'] as const)('registers again, with the same incarnation, after %s', async (code) => {
    const active = await controller();
    active.heartbeat = (_request, index) => (index === 1 ? { errorCode: v1.ErrorCode[code] } : { fenced: false });
    const { session: node } = session([active.address]);
    node.start();
    await active.until(() => active.registrations.length === 2 && active.heartbeats.length >= 4, 'a second registration and heartbeats after it');
    expect(active.registrations.map((request) => request.incarnationId)).toEqual(['incarnation-1', 'incarnation-1']);
    expect(active.heartbeats.slice(0, 2).map((request) => request.nodeEpoch)).toEqual([100n, 100n]);
    expect(active.heartbeats.at(-1)?.nodeEpoch).toBe(101n);
  });

  it('follows NOT_CONTROLLER to the active controller for registration and heartbeats', async () => {
    const active = await controller();
    const standby = await controller();
    standby.register = () => ({
      errorCode: v1.ErrorCode.NOT_CONTROLLER,
      activeController: { controllerId: 1, host: '127.0.0.1', port: active.port, controllerEpoch: 3n },
    });
    const { session: node } = session([standby.address]);
    node.start();
    await active.until(() => active.heartbeats.length >= 2, 'heartbeats at the active controller');
    expect(standby.registrations).toHaveLength(1);
    expect(standby.heartbeats).toHaveLength(0);
    expect(active.registrations).toHaveLength(1);
  });

  it('sends ISR changes with its registration to the active controller, following NOT_CONTROLLER', async () => {
    const active = await controller();
    const standby = await controller();
    standby.alterPartition = () => ({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: { controllerId: 1, host: '127.0.0.1', port: active.port, controllerEpoch: 3n } });
    active.alterPartition = (request) => ({ partitions: request.partitions.map((change) => ({ topicId: change.topicId, partition: change.partition })) });
    const { session: node } = session([standby.address, active.address]);
    const change = { topicId: 'id-1', topic: 't', partition: 2, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ nodeId: 7, nodeEpoch: 1n }] };
    // Not registered yet: nothing is sent.
    expect(await node.alterPartition([change], 1000)).toBeUndefined();
    node.start();
    await standby.until(() => standby.heartbeats.length >= 1, 'registration and a heartbeat');
    const response = await node.alterPartition([change], 2000);
    expect(response?.partitions.map((result) => result.partition)).toEqual([2]);
    expect(standby.isrChanges).toHaveLength(1);
    expect(active.isrChanges).toEqual([{ nodeId: 7, nodeEpoch: node.current?.nodeEpoch, partitions: [change] }]);
  });

  it('keeps retrying while no controller answers and registers once one does', async () => {
    const placeholder = await controller();
    const port = placeholder.port;
    placeholder.stop();
    let failed: () => void = () => undefined;
    const firstFailure = new Promise<void>((resolve) => (failed = resolve));
    const { session: node } = session([`127.0.0.1:${port}`], { logger: { info: () => undefined, warn: () => failed() } });
    node.start();
    // The controller comes up on the address the node knows only after an attempt failed.
    await firstFailure;
    expect(node.current).toBeUndefined();
    const active = await controller(port);
    await active.until(() => active.heartbeats.length >= 1, 'a heartbeat once the controller is up');
    expect(node.current?.nodeEpoch).toBe(100n);
  });

  it('retries DUPLICATE_BROKER_REGISTRATION until the previous incarnation is gone', async () => {
    const active = await controller();
    active.register = (_request, index) =>
      index < 2 ? { errorCode: v1.ErrorCode.DUPLICATE_BROKER_REGISTRATION } : { nodeEpoch: 5n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 };
    const { session: node, fatal } = session([active.address]);
    node.start();
    await active.until(() => active.heartbeats.length >= 1, 'a heartbeat');
    expect(active.registrations).toHaveLength(3);
    expect(fatal).toEqual([]);
  });

  it('tracks fencing and hears a shutdown request', async () => {
    const active = await controller();
    active.heartbeat = (_request, index) => ({ fenced: index < 2, shouldShutDown: index === 3 });
    const events: string[] = [];
    const logger = { info: (fields: { event?: string }) => void events.push(fields.event ?? ''), warn: () => undefined };
    let node: NodeSession | undefined;
    const fencedWhenAsked = new Promise<boolean | undefined>((resolve) => {
      node = session([active.address], { logger, onShutdownRequested: () => resolve(node?.fenced) }).session;
      node.start();
    });
    await expect(fencedWhenAsked).resolves.toBe(false);
    expect(events).toEqual(['node-registered', 'node-unfenced', 'shutdown-requested']);
  });

  it('heartbeats at once, not an interval later, when it catches up with the metadata of its registration', async () => {
    const active = await controller();
    active.register = () => ({ nodeEpoch: 50n, clusterId: 'cluster-a', heartbeatIntervalMs: 60_000, sessionTimeoutMs: 120_000 });
    active.heartbeat = (request) => ({ fenced: request.metadataVersion < 50n });
    let applied = 10;
    const { session: node } = session([active.address], { metadataVersion: () => applied });
    node.start();
    await active.until(() => active.heartbeats.length === 1, 'the first heartbeat');
    expect(node.fenced).toBe(true);
    applied = 49;
    node.metadataApplied();
    applied = 50;
    node.metadataApplied();
    await active.until(() => active.heartbeats.length === 2, 'a heartbeat right after catching up');
    expect(active.heartbeats[1]?.metadataVersion).toBe(50n);
  });

  it('repeats ControlledShutdown until no leaderships remain, heartbeating meanwhile', async () => {
    const active = await controller();
    active.controlledShutdown = (_request, index) => ({ remainingLeaderships: index < 2 ? [{ topic: 'orders', partition: 0 }] : [] });
    const { session: node } = session([active.address]);
    node.start();
    await active.until(() => active.heartbeats.length >= 1, 'a heartbeat');
    const outcome = await node.stop(5000);
    expect(outcome).toEqual({ completed: true, remainingLeaderships: [] });
    expect(active.shutdowns).toHaveLength(3);
    expect(active.shutdowns[0]).toEqual({ nodeId: 7, nodeEpoch: 100n });
    // Nothing signals an absence: three heartbeat intervals pass without one. A heartbeat sent
    // just before the stop may still be on its way, so counting starts after it could land.
    await new Promise<void>((resolve) => setTimeout(resolve, 40));
    const heartbeats = active.heartbeats.length;
    await new Promise<void>((resolve) => setTimeout(resolve, 60));
    expect(active.heartbeats.length).toBe(heartbeats);
  });

  it('takes should_shut_down during its own stop as the controlled shutdown completing', async () => {
    const active = await controller();
    let stopping = false;
    active.controlledShutdown = () => {
      stopping = true;
      return { remainingLeaderships: [{ topic: 'orders', partition: 0 }] };
    };
    active.heartbeat = () => ({ fenced: false, shouldShutDown: stopping });
    const requested: string[] = [];
    const { session: node } = session([active.address], { onShutdownRequested: () => requested.push('asked') });
    node.start();
    await active.until(() => active.heartbeats.length >= 1, 'a heartbeat');
    await expect(node.stop(5000)).resolves.toMatchObject({ completed: true });
    expect(requested).toEqual([]);
  });

  it('stops within its bound when leaderships cannot move', async () => {
    const active = await controller();
    active.controlledShutdown = () => ({ remainingLeaderships: [{ topic: 'orders', partition: 0 }] });
    const { session: node } = session([active.address]);
    node.start();
    await active.until(() => active.heartbeats.length >= 1, 'a heartbeat');
    const startedAt = Date.now();
    const outcome = await node.stop(300);
    expect(Date.now() - startedAt).toBeLessThan(1500);
    expect(outcome.completed).toBe(false);
    expect(outcome.remainingLeaderships).toEqual([{ topic: 'orders', partition: 0 }]);
  });

  it('stops at once when it never registered', async () => {
    const placeholder = await controller();
    placeholder.stop();
    const { session: node } = session([placeholder.address]);
    node.start();
    await expect(node.stop(5000)).resolves.toEqual({ completed: false, remainingLeaderships: [] });
  });
});

describe('NodeSession retries', () => {
  /** A session on a stepped scheduler, backing off from 10 ms to at most 80 ms. */
  function stepped(controllers: readonly string[], overrides: Partial<NodeSessionOptions> = {}): { session: NodeSession; scheduler: SteppedScheduler } {
    const scheduler = new SteppedScheduler();
    const created = session(controllers, { scheduler, clock: scheduler.clock, retryBackoffMsInitial: 10, retryBackoffMsMax: 80, ...overrides });
    return { session: created.session, scheduler };
  }
  const redirectTo = (target: ScriptedController) => ({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: { controllerId: 1, host: '127.0.0.1', port: target.port, controllerEpoch: 3n } });

  it('waits longer after every failure in a row while no controller answers, up to the bound', async () => {
    const placeholder = await controller();
    placeholder.stop();
    const { session: node, scheduler } = stepped([placeholder.address]);
    node.start();
    expect(await scheduler.steps(7)).toEqual([0, 10, 20, 40, 80, 80, 80]);
    expect(node.current).toBeUndefined();
  });

  it('backs off redirects: two controllers naming each other are not called in a tight loop', async () => {
    const a = await controller();
    const b = await controller();
    a.register = () => redirectTo(b);
    b.register = () => redirectTo(a);
    const { session: node, scheduler } = stepped([a.address]);
    node.start();
    expect(await scheduler.steps(6)).toEqual([0, 10, 20, 40, 80, 80]);
    // The sixth answer arrived once the session has scheduled the seventh attempt.
    expect(await scheduler.pending()).toBe(80);
    expect([a.registrations.length, b.registrations.length]).toEqual([3, 3]);
  });

  it('backs off when the controller registers the node and then refuses every heartbeat as stale, until one is accepted', async () => {
    const active = await controller();
    // Heartbeats 0-4 and 6 on are refused as stale; heartbeat 5 is accepted.
    active.heartbeat = (_request, index) => (index === 5 ? { fenced: false } : { errorCode: v1.ErrorCode.STALE_BROKER_EPOCH });
    const { session: node, scheduler } = stepped([active.address]);
    node.start();
    // Register, heartbeat at once, refused: register again after a back-off that keeps growing.
    expect(await scheduler.steps(12)).toEqual([0, 0, 10, 0, 20, 0, 40, 0, 80, 0, 80, 0]);
    // The accepted heartbeat resets it: after the next one (an interval later) is refused, the
    // registration is retried after 10 ms again.
    expect(await scheduler.steps(4)).toEqual([20, 10, 0, 20]);
    expect(active.registrations.length).toBeGreaterThanOrEqual(7);
  });

  it('waits between the attempts of an ISR change, redirects included, and gives up within its attempts', async () => {
    const a = await controller();
    const b = await controller();
    a.register = () => ({ nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 60_000, sessionTimeoutMs: 120_000 });
    a.alterPartition = () => redirectTo(b);
    b.alterPartition = () => redirectTo(a);
    const { session: node, scheduler } = stepped([a.address]);
    node.start();
    expect(await scheduler.steps(2)).toEqual([0, 0]);
    await a.until(() => a.heartbeats.length === 1, 'a heartbeat');
    const change = { topicId: 'id-1', topic: 't', partition: 2, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ nodeId: 7, nodeEpoch: 100n }] };
    const answer = node.alterPartition([change], 10_000);
    // One try per bootstrap address plus the redirects allowed: five calls, four waits between them.
    // (The next heartbeat, a minute away, is left waiting.)
    expect(await scheduler.steps(4, (delayMs) => delayMs < 60_000)).toEqual([10, 20, 40, 80]);
    await expect(answer).resolves.toBeUndefined();
    expect(a.isrChanges.length + b.isrChanges.length).toBe(5);
  });

  it('reports a failed log directory with a heartbeat sent at once, and registers again with its online directories only', async () => {
    const active = await controller();
    active.register = () => ({ nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 60_000, sessionTimeoutMs: 120_000 });
    active.heartbeat = (_request, index) => (index === 1 ? { errorCode: v1.ErrorCode.STALE_BROKER_EPOCH } : { fenced: false });
    let offline: string[] = [];
    const { session: node, scheduler } = stepped([active.address], { offlineLogDirIds: () => offline });
    node.start();
    expect(await scheduler.steps(2)).toEqual([0, 0]);
    await active.until(() => active.heartbeats.length === 1, 'the first heartbeat');
    offline = ['dir-1'];
    node.logDirsChanged();
    // Not a heartbeat interval (60 s) later: now.
    expect(await scheduler.step()).toBe(0);
    await active.until(() => active.heartbeats.length === 2, 'the heartbeat reporting the directory');
    expect(active.heartbeats.map((request) => request.offlineLogDirIds)).toEqual([[], ['dir-1']]);
    expect(await scheduler.step()).toBe(10);
    await active.until(() => active.registrations.length === 2, 'the second registration');
    expect(active.registrations.map((request) => request.logDirs.map((dir) => dir.dirId))).toEqual([['dir-1'], []]);
  });
});
