/**
 * NodeLifecycle against a scripted controller port on simulated time: each test says what the
 * controller answers, moves the clock, and reads the calls the lifecycle made and the delays it
 * chose. Nothing waits on real time; that nothing happened is shown by moving the clock past
 * when it would have.
 */
import type { StarlaneError } from '@starlane/model';
import { ManualScheduler, settle } from '@starlane/testing';
import { NodeLifecycle, type NodeLifecycleOptions } from './node-lifecycle';
import { ScriptedControllerPort, held, refuse } from './test/scripted-controller-port';

interface LogLine {
  readonly level: 'info' | 'warn';
  readonly fields: { readonly event?: string; readonly errorCode?: string };
  readonly message: string;
}

interface Harness {
  readonly node: NodeLifecycle;
  readonly controller: ScriptedControllerPort;
  readonly time: ManualScheduler;
  readonly stored: string[];
  readonly fatal: StarlaneError[];
  readonly registered: bigint[];
  readonly logs: LogLine[];
}

/** A lifecycle of node 7 on simulated time, backing off from 10 ms to at most 80 ms. */
function lifecycle(overrides: Partial<NodeLifecycleOptions> = {}, setUp: (controller: ScriptedControllerPort) => void = () => undefined): Harness {
  const time = new ManualScheduler();
  const controller = new ScriptedControllerPort(time.clock);
  setUp(controller);
  const stored: string[] = [];
  const fatal: StarlaneError[] = [];
  const registered: bigint[] = [];
  const logs: LogLine[] = [];
  const node = new NodeLifecycle({
    controller,
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
    logger: {
      info: (fields, message) => void logs.push({ level: 'info', fields, message }),
      warn: (fields, message) => void logs.push({ level: 'warn', fields, message }),
    },
    onFatal: (error) => fatal.push(error),
    onRegistered: (registration) => registered.push(registration.nodeEpoch),
    retryBackoffMsInitial: 10,
    retryBackoffMsMax: 80,
    clock: time.clock,
    scheduler: time,
    ...overrides,
  });
  return { node, controller, time, stored, fatal, registered, logs };
}

const change = { topicId: 'id-1', topic: 't', partition: 2, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ nodeId: 7, nodeEpoch: 1 }] };
const slowHeartbeats = (_request: unknown, index: number) => ({ nodeEpoch: BigInt(100 + index), clusterId: 'cluster-a', heartbeatIntervalMs: 60_000, sessionTimeoutMs: 120_000 });

describe('NodeLifecycle registration and heartbeats', () => {
  it('registers with everything the controller needs, stores a new cluster id, then heartbeats at the given interval', async () => {
    const { node, controller, time, stored, registered } = lifecycle();
    node.start();
    await time.advance(0);

    expect(controller.registrations).toEqual([
      {
        nodeId: 7,
        incarnationId: 'incarnation-1',
        clusterId: '',
        host: '127.0.0.1',
        port: 9999,
        rack: 'rack-a',
        logDirs: [{ dirId: 'dir-1', path: '/data' }],
        cleanShutdown: true,
        softwareVersion: '0.1.0',
      },
    ]);
    expect(stored).toEqual(['cluster-a']);
    expect(registered).toEqual([100n]);
    expect(node.clusterId).toBe('cluster-a');
    expect(node.current).toEqual({ nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 });
    // The first heartbeat goes at once, the next ones every 20 ms.
    expect(controller.heartbeats).toEqual([{ nodeId: 7, nodeEpoch: 100n, metadataVersion: 42, offlineLogDirIds: [] }]);
    expect(node.fenced).toBe(false);
    await time.advance(19);
    expect(controller.heartbeats).toHaveLength(1);
    await time.advance(1);
    expect(controller.heartbeats).toHaveLength(2);
    await time.advance(40);
    const firstMs = controller.heartbeatCalls[0]?.atMs ?? Number.NaN;
    expect(controller.heartbeatCalls.map((call) => call.atMs - firstMs)).toEqual([0, 20, 40, 60]);
  });

  it('quotes a stored cluster id and does not store it again', async () => {
    const { node, controller, time, stored } = lifecycle({ clusterId: 'cluster-a' });
    node.start();
    await time.advance(0);
    expect(controller.registrations[0]?.clusterId).toBe('cluster-a');
    expect(controller.heartbeats).toHaveLength(1);
    expect(stored).toEqual([]);
  });

  it('gives up on INCONSISTENT_CLUSTER_ID and never heartbeats', async () => {
    const { node, controller, time, fatal } = lifecycle({ clusterId: 'cluster-b' }, (port) => {
      port.answerRegister = () => refuse('INCONSISTENT_CLUSTER_ID');
    });
    node.start();
    await time.advance(10_000);
    expect(fatal.map((error) => error.code)).toEqual(['INCONSISTENT_CLUSTER_ID']);
    expect(controller.registrations).toHaveLength(1);
    expect(controller.heartbeats).toHaveLength(0);
    expect(time.pending()).toEqual([]);
    expect(node.ended).toBe(true);
  });

  it('gives up when the controller serves another cluster than the stored one, even without an error code', async () => {
    const { node, controller, time, fatal, stored } = lifecycle({ clusterId: 'cluster-b' });
    node.start();
    await time.advance(10_000);
    expect(fatal.map((error) => error.code)).toEqual(['INCONSISTENT_CLUSTER_ID']);
    expect(controller.heartbeats).toHaveLength(0);
    expect(stored).toEqual([]);
    expect(node.current).toBeUndefined();
  });

  it('gives up when the cluster id it was given cannot be stored', async () => {
    const { node, controller, time, fatal } = lifecycle({ storeClusterId: () => Promise.reject(new Error('EIO: i/o error')) });
    node.start();
    await time.advance(10_000);
    expect(fatal.map((error) => error.code)).toEqual(['STORAGE_UNAVAILABLE']);
    expect(node.clusterId).toBe('');
    expect(controller.heartbeats).toHaveLength(0);
  });

  it.each(['STALE_BROKER_EPOCH', 'BROKER_ID_NOT_REGISTERED'] as const)('registers again, with the same incarnation, after %s', async (code) => {
    const { node, controller, time, registered } = lifecycle({}, (port) => {
      port.answerHeartbeat = (_request, index) => (index === 1 ? refuse(code) : { fenced: false, shouldShutDown: false });
    });
    node.start();
    await time.advance(20);
    // The second heartbeat was refused: the registration is gone, and is renewed after a back-off.
    expect(controller.heartbeats).toHaveLength(2);
    expect(node.current).toBeUndefined();
    expect(node.fenced).toBe(true);
    await time.advance(9);
    expect(controller.registrations).toHaveLength(1);
    await time.advance(1);
    expect(controller.registrations.map((request) => request.incarnationId)).toEqual(['incarnation-1', 'incarnation-1']);
    expect(registered).toEqual([100n, 101n]);
    expect(controller.heartbeats.map((request) => request.nodeEpoch)).toEqual([100n, 100n, 101n]);
  });

  it('tries again after a back-off when a controller answers NOT_CONTROLLER, for registration and heartbeats, without logging it', async () => {
    const { node, controller, time, logs } = lifecycle({}, (port) => {
      port.answerRegister = (_request, index) => (index === 0 ? refuse('NOT_CONTROLLER') : { nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 });
      port.answerHeartbeat = (_request, index) => (index === 0 ? refuse('NOT_CONTROLLER') : { fenced: false, shouldShutDown: false });
    });
    node.start();
    // Register (redirected), 10 ms, register, heartbeat (redirected), 20 ms (two failures in a row), heartbeat.
    expect(await time.steps(5)).toEqual([0, 10, 0, 20, 20]);
    expect(controller.registrations).toHaveLength(2);
    expect(controller.heartbeats).toHaveLength(3);
    expect(logs.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('keeps retrying while no controller answers and registers once one does', async () => {
    let reachable = false;
    const { node, controller, time, logs } = lifecycle({}, (port) => {
      port.answerRegister = () => (reachable ? { nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 } : refuse('CONTROLLER_NOT_AVAILABLE'));
    });
    node.start();
    await time.advance(1_000);
    expect(node.current).toBeUndefined();
    const attempts = controller.registrations.length;
    expect(attempts).toBeGreaterThan(3);
    // The first failure is logged, not every one.
    expect(logs.filter((line) => line.message === 'controller unreachable (register); retrying')).toHaveLength(1);
    reachable = true;
    // The next attempt, at the longest back-off, registers; the first heartbeat follows at once.
    expect(await time.steps(2)).toEqual([80, 0]);
    expect(controller.registrations).toHaveLength(attempts + 1);
    expect(node.current?.nodeEpoch).toBe(100n);
    expect(controller.heartbeats).toHaveLength(1);
  });

  it('retries DUPLICATE_BROKER_REGISTRATION until the previous incarnation is gone', async () => {
    const { node, controller, time, fatal } = lifecycle({}, (port) => {
      port.answerRegister = (_request, index) => (index < 2 ? refuse('DUPLICATE_BROKER_REGISTRATION') : { nodeEpoch: 5n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 });
    });
    node.start();
    expect(await time.steps(4)).toEqual([0, 10, 20, 0]);
    expect(controller.registrations).toHaveLength(3);
    expect(controller.heartbeats.map((request) => request.nodeEpoch)).toEqual([5n]);
    expect(fatal).toEqual([]);
  });

  it('tracks fencing and hears a shutdown request', async () => {
    const fencedWhenAsked: boolean[] = [];
    const harness = lifecycle({ onShutdownRequested: () => fencedWhenAsked.push(harness.node.fenced) }, (port) => {
      port.answerHeartbeat = (_request, index) => ({ fenced: index < 2, shouldShutDown: index >= 3 });
    });
    const { node, time, logs } = harness;
    node.start();
    await time.advance(0);
    expect(node.fenced).toBe(true);
    await time.advance(100);
    // Asked once, however many heartbeats say so, and unfenced by then.
    expect(fencedWhenAsked).toEqual([false]);
    expect(logs.filter((line) => line.level === 'info').map((line) => line.fields.event)).toEqual(['node-registered', 'node-unfenced', 'shutdown-requested']);
  });

  it('heartbeats at once, not an interval later, when it catches up with the metadata of its registration', async () => {
    let applied = 10;
    const { node, controller, time } = lifecycle({ metadataVersion: () => applied }, (port) => {
      port.answerRegister = () => ({ nodeEpoch: 50n, clusterId: 'cluster-a', heartbeatIntervalMs: 60_000, sessionTimeoutMs: 120_000 });
      port.answerHeartbeat = (request) => ({ fenced: request.metadataVersion < 50, shouldShutDown: false });
    });
    node.start();
    await time.advance(0);
    expect(controller.heartbeats).toHaveLength(1);
    expect(node.fenced).toBe(true);
    applied = 49;
    node.metadataApplied();
    expect(time.pending()).toEqual([60_000]);
    applied = 50;
    node.metadataApplied();
    expect(await time.step()).toBe(0);
    expect(controller.heartbeats.map((request) => request.metadataVersion)).toEqual([10, 50]);
    expect(node.fenced).toBe(false);
  });

  it('heartbeats at once when the metadata of its registration arrived while a heartbeat was on its way', async () => {
    let applied = 10;
    const answer = held<{ fenced: boolean; shouldShutDown: boolean }>();
    const { node, controller, time } = lifecycle({ metadataVersion: () => applied }, (port) => {
      port.answerRegister = () => ({ nodeEpoch: 50n, clusterId: 'cluster-a', heartbeatIntervalMs: 60_000, sessionTimeoutMs: 120_000 });
      port.answerHeartbeat = (request, index) => (index === 0 ? answer.promise : { fenced: request.metadataVersion < 50, shouldShutDown: false });
    });
    node.start();
    await time.advance(0);
    applied = 50;
    // Nothing is scheduled while the heartbeat is on its way; its answer decides the next one.
    node.metadataApplied();
    answer.answer({ fenced: true, shouldShutDown: false });
    expect(await time.step()).toBe(0);
    expect(controller.heartbeats.map((request) => request.metadataVersion)).toEqual([10, 50]);
  });

  it('retries a heartbeat that got no answer within a heartbeat interval, and one refused otherwise an interval later', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerHeartbeat = (_request, index) => (index < 4 ? refuse('CONTROLLER_NOT_AVAILABLE') : index === 4 ? refuse('INVALID_REQUEST') : { fenced: false, shouldShutDown: false });
    });
    node.start();
    // Back-off 10, 20, then capped by the 20 ms interval; a refusal waits the interval.
    expect(await time.steps(7)).toEqual([0, 0, 10, 20, 20, 20, 20]);
    expect(controller.heartbeats).toHaveLength(6);
    expect(node.current?.nodeEpoch).toBe(100n);
  });
});

describe('NodeLifecycle controlled shutdown', () => {
  it('repeats ControlledShutdown until no leaderships remain, heartbeating meanwhile, then sends nothing more', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerControlledShutdown = (_request, index) => ({ remainingLeaderships: index < 2 ? [{ topic: 'orders', partition: 0 }] : [] });
    });
    node.start();
    await time.advance(0);
    const stopped = node.stop(5000);
    await time.advance(200);
    await expect(stopped).resolves.toEqual({ completed: true, remainingLeaderships: [] });
    expect(controller.shutdownCalls.map((call) => call.request)).toEqual([
      { nodeId: 7, nodeEpoch: 100n },
      { nodeId: 7, nodeEpoch: 100n },
      { nodeId: 7, nodeEpoch: 100n },
    ]);
    const startedMs = controller.shutdownCalls[0]?.atMs ?? Number.NaN;
    expect(controller.shutdownCalls.map((call) => call.atMs - startedMs)).toEqual([0, 100, 200]);
    expect(controller.shutdownCalls.map((call) => call.timeoutMs)).toEqual([5000, 4900, 4800]);
    // Heartbeats went on every 20 ms while leaderships moved.
    const during = controller.heartbeatCalls.filter((call) => call.atMs > startedMs && call.atMs < startedMs + 200);
    expect(during.map((call) => call.atMs - startedMs)).toEqual([20, 40, 60, 80, 100, 120, 140, 160, 180]);
    // Then none: ten heartbeat intervals pass without one.
    const heartbeats = controller.heartbeats.length;
    await time.advance(200);
    expect(controller.heartbeats).toHaveLength(heartbeats);
    expect(time.pending()).toEqual([]);
    expect(node.ended).toBe(true);
  });

  it('takes should_shut_down during its own stop as the controlled shutdown completing', async () => {
    let stopping = false;
    const requested: string[] = [];
    const { node, time } = lifecycle({ onShutdownRequested: () => requested.push('asked') }, (port) => {
      port.answerControlledShutdown = () => {
        stopping = true;
        return { remainingLeaderships: [{ topic: 'orders', partition: 0 }] };
      };
      port.answerHeartbeat = () => ({ fenced: false, shouldShutDown: stopping });
    });
    node.start();
    await time.advance(0);
    const stopped = node.stop(5000);
    await time.advance(100);
    await expect(stopped).resolves.toEqual({ completed: true, remainingLeaderships: [{ topic: 'orders', partition: 0 }] });
    expect(requested).toEqual([]);
  });

  it('stops within its bound when leaderships cannot move', async () => {
    const { node, time } = lifecycle({}, (port) => {
      port.answerControlledShutdown = () => ({ remainingLeaderships: [{ topic: 'orders', partition: 0 }] });
    });
    node.start();
    await time.advance(0);
    let outcome: unknown;
    void node.stop(300).then((result) => (outcome = result));
    await time.advance(299);
    expect(outcome).toBeUndefined();
    await time.advance(1);
    expect(outcome).toEqual({ completed: false, remainingLeaderships: [{ topic: 'orders', partition: 0 }] });
  });

  it('gives up the controlled shutdown at once when the controller no longer knows the session', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerControlledShutdown = () => refuse('STALE_BROKER_EPOCH');
    });
    node.start();
    await time.advance(0);
    const stopped = node.stop(5000);
    await settle();
    await expect(stopped).resolves.toEqual({ completed: false, remainingLeaderships: [] });
    expect(controller.shutdownCalls).toHaveLength(1);
  });

  it('stops at once when it never registered', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerRegister = () => refuse('CONTROLLER_NOT_AVAILABLE');
    });
    node.start();
    await time.advance(100);
    const stopped = node.stop(5000);
    await settle();
    await expect(stopped).resolves.toEqual({ completed: false, remainingLeaderships: [] });
    expect(controller.shutdownCalls).toHaveLength(0);
    const attempts = controller.registrations.length;
    await time.advance(10_000);
    expect(controller.registrations).toHaveLength(attempts);
  });
});

describe('NodeLifecycle retries', () => {
  it('waits longer after every failure in a row while no controller answers, up to the bound', async () => {
    const { node, time } = lifecycle({}, (port) => {
      port.answerRegister = () => refuse('CONTROLLER_NOT_AVAILABLE');
    });
    node.start();
    expect(await time.steps(7)).toEqual([0, 10, 20, 40, 80, 80, 80]);
    expect(node.current).toBeUndefined();
  });

  it('backs off NOT_CONTROLLER answers: controllers naming each other are not called in a tight loop', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerRegister = () => refuse('NOT_CONTROLLER');
    });
    node.start();
    expect(await time.steps(6)).toEqual([0, 10, 20, 40, 80, 80]);
    expect(controller.registrations).toHaveLength(6);
    expect(time.pending()).toEqual([80]);
  });

  it('backs off when the controller registers the node and then refuses every heartbeat as stale, until one is accepted', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      // Heartbeats 0-4 and 6 on are refused as stale; heartbeat 5 is accepted.
      port.answerHeartbeat = (_request, index) => (index === 5 ? { fenced: false, shouldShutDown: false } : refuse('STALE_BROKER_EPOCH'));
    });
    node.start();
    // Register, heartbeat at once, refused: register again after a back-off that keeps growing.
    expect(await time.steps(12)).toEqual([0, 0, 10, 0, 20, 0, 40, 0, 80, 0, 80, 0]);
    // The accepted heartbeat resets it: after the next one (an interval later) is refused, the
    // registration is retried after 10 ms again.
    expect(await time.steps(4)).toEqual([20, 10, 0, 20]);
    expect(controller.registrations).toHaveLength(8);
  });

  it('sends ISR changes quoting the registration in force, and none before it registers', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerHeartbeat = (_request, index) => (index === 1 ? refuse('STALE_BROKER_EPOCH') : { fenced: false, shouldShutDown: false });
    });
    await expect(node.alterPartition([change], 1000)).resolves.toBeUndefined();
    node.start();
    await time.advance(0);
    await expect(node.alterPartition([change], 2000)).resolves.toEqual([{ topicId: 'id-1', topic: 't', partition: 2 }]);
    await time.advance(30);
    expect(node.current?.nodeEpoch).toBe(101n);
    const answer = node.alterPartition([change], 2000);
    await settle();
    await expect(answer).resolves.toHaveLength(1);
    expect(controller.isrChangeCalls.map((call) => [call.request, call.timeoutMs])).toEqual([
      [{ nodeId: 7, nodeEpoch: 100n, partitions: [change] }, 2000],
      [{ nodeId: 7, nodeEpoch: 101n, partitions: [change] }, 2000],
    ]);
  });

  it('waits between the attempts of an ISR change, NOT_CONTROLLER included, and gives up within its attempts', async () => {
    const { node, controller, time } = lifecycle({}, (port) => {
      port.answerRegister = slowHeartbeats;
      port.answerAlterPartition = (_request, index) => (index % 2 === 0 ? refuse('NOT_CONTROLLER') : refuse('CONTROLLER_NOT_AVAILABLE'));
    });
    node.start();
    await time.advance(0);
    let answered = false;
    const answer = node.alterPartition([change], 10_000).finally(() => (answered = true));
    // Five calls, four waits between them. (The next heartbeat, a minute away, is left waiting.)
    expect(await time.steps(4, (delayMs) => delayMs < 60_000)).toEqual([10, 20, 40, 80]);
    expect(answered).toBe(true);
    await expect(answer).resolves.toBeUndefined();
    expect(controller.isrChangeCalls).toHaveLength(5);
    // Each call is given what is left of the request's time.
    expect(controller.isrChangeCalls.map((call) => call.timeoutMs)).toEqual([10_000, 9990, 9970, 9930, 9850]);
  });

  it('makes as many ISR change attempts as its owner allows, within the time given', async () => {
    const { node, controller, time } = lifecycle({ isrChangeAttemptsMax: 2 }, (port) => {
      port.answerRegister = slowHeartbeats;
      port.answerAlterPartition = () => refuse('NOT_CONTROLLER');
    });
    node.start();
    await time.advance(0);
    const answer = node.alterPartition([change], 10_000);
    expect(await time.step((delayMs) => delayMs < 60_000)).toBe(10);
    await expect(answer).resolves.toBeUndefined();
    expect(controller.isrChangeCalls).toHaveLength(2);

    const short = node.alterPartition([change], 15);
    expect(await time.step((delayMs) => delayMs < 60_000)).toBe(10);
    await expect(short).resolves.toBeUndefined();
    // The second attempt of this one had 5 ms left and got them.
    expect(controller.isrChangeCalls.slice(2).map((call) => call.timeoutMs)).toEqual([15, 5]);
  });

  it('does not repeat an ISR change refused as a whole (the leader proposes again later)', async () => {
    const { node, controller, time, logs } = lifecycle({}, (port) => {
      port.answerRegister = slowHeartbeats;
      port.answerAlterPartition = () => refuse('STALE_BROKER_EPOCH');
    });
    node.start();
    await time.advance(0);
    const answer = node.alterPartition([change], 10_000);
    await settle();
    await expect(answer).resolves.toBeUndefined();
    expect(controller.isrChangeCalls).toHaveLength(1);
    expect(time.pending()).toEqual([60_000]);
    expect(logs.filter((line) => line.message === 'the controller refused an ISR change request').map((line) => line.fields.errorCode)).toEqual(['STALE_BROKER_EPOCH']);
  });

  it('reports a failed log directory with a heartbeat sent at once, and registers again with its online directories only', async () => {
    let offline: string[] = [];
    const { node, controller, time } = lifecycle({ offlineLogDirIds: () => offline }, (port) => {
      port.answerRegister = slowHeartbeats;
      port.answerHeartbeat = (_request, index) => (index === 1 ? refuse('STALE_BROKER_EPOCH') : { fenced: false, shouldShutDown: false });
    });
    node.start();
    expect(await time.steps(2)).toEqual([0, 0]);
    offline = ['dir-1'];
    node.logDirsChanged();
    // Not a heartbeat interval (60 s) later: now.
    expect(await time.step()).toBe(0);
    expect(controller.heartbeats.map((request) => request.offlineLogDirIds)).toEqual([[], ['dir-1']]);
    expect(await time.step()).toBe(10);
    expect(controller.registrations.map((request) => request.logDirs.map((dir) => dir.dirId))).toEqual([['dir-1'], []]);
  });

  it('reports a log directory that failed while a heartbeat was on its way with the next heartbeat, sent at once', async () => {
    let offline: string[] = [];
    const answer = held<{ fenced: boolean; shouldShutDown: boolean }>();
    const { node, controller, time } = lifecycle({ offlineLogDirIds: () => offline }, (port) => {
      port.answerRegister = slowHeartbeats;
      port.answerHeartbeat = (_request, index) => (index === 0 ? answer.promise : { fenced: false, shouldShutDown: false });
    });
    node.start();
    await time.advance(0);
    offline = ['dir-1'];
    node.logDirsChanged();
    expect(time.pending()).toEqual([]);
    answer.answer({ fenced: false, shouldShutDown: false });
    expect(await time.step()).toBe(0);
    expect(controller.heartbeats.map((request) => request.offlineLogDirIds)).toEqual([[], ['dir-1']]);
    expect(time.pending()).toEqual([60_000]);
  });
});
