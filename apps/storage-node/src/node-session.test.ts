/**
 * The node's session as the app builds it (`NodeLifecycle` over `GrpcControllerPort`), against
 * controllers scripted over real gRPC on loopback: the wiring, and ISR changes in proto terms.
 * The session's decisions are tested on simulated time in `@starlane/replica`, the port's
 * translation and redirects in `@starlane/metadata-rpc`. The session runs on real timers here;
 * the tests wait for the requests the controller receives, never sleep.
 */
import * as grpc from '@grpc/grpc-js';
import { systemClock, timerScheduler } from '@starlane/node-io';
import type { StarlaneError } from '@starlane/model';
import { internalV1, v1 } from '@starlane/proto';
import { waitUntil } from '@starlane/testing';
import { NodeSession } from './node-session';

/** A controller that registers every node with epoch 100, accepts heartbeats and records what it receives. */
class ScriptedController {
  readonly registrations: internalV1.RegisterNodeRequest[] = [];
  readonly heartbeats: internalV1.HeartbeatRequest[] = [];
  readonly shutdowns: internalV1.ControlledShutdownRequest[] = [];
  readonly isrChanges: internalV1.AlterPartitionRequest[] = [];
  register: () => Partial<internalV1.RegisterNodeResponse> = () => ({ nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 });

  private constructor(private readonly server: grpc.Server, readonly address: string) {}

  static async start(): Promise<ScriptedController> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    const self = new ScriptedController(server, `127.0.0.1:${port}`);
    const handlers: Partial<internalV1.ControllerServiceServer> = {
      registerNode: (call, callback) => {
        self.registrations.push(call.request);
        callback(null, internalV1.RegisterNodeResponse.fromPartial(self.register()));
      },
      heartbeat: (call, callback) => {
        self.heartbeats.push(call.request);
        callback(null, internalV1.HeartbeatResponse.fromPartial({ fenced: false }));
      },
      controlledShutdown: (call, callback) => {
        self.shutdowns.push(call.request);
        callback(null, internalV1.ControlledShutdownResponse.fromPartial({}));
      },
      alterPartition: (call, callback) => {
        self.isrChanges.push(call.request);
        const partitions = call.request.partitions.map((change) => ({ topicId: change.topicId, topic: change.topic, partition: change.partition, errorCode: v1.ErrorCode.INVALID_UPDATE_VERSION, errorMessage: 'stale' }));
        callback(null, internalV1.AlterPartitionResponse.fromPartial({ partitions }));
      },
    };
    server.addService(internalV1.ControllerServiceService, handlers as grpc.UntypedServiceImplementation);
    return self;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const running: { stop(): unknown }[] = [];

afterEach(async () => {
  for (const item of running.splice(0)) await item.stop();
});

async function controller(): Promise<ScriptedController> {
  const started = await ScriptedController.start();
  running.push(started);
  return started;
}

function session(controllers: readonly string[], onFatal: (error: StarlaneError) => void = () => undefined): NodeSession {
  const created = new NodeSession({
    controllers,
    nodeId: 7,
    incarnationId: 'incarnation-1',
    host: '127.0.0.1',
    port: 9999,
    rack: '',
    logDirs: [{ dirId: 'dir-1', path: '/data' }],
    cleanShutdown: true,
    softwareVersion: '0.1.0',
    clusterId: 'cluster-a',
    storeClusterId: () => Promise.resolve(),
    metadataVersion: () => 100,
    logger: { info: () => undefined, warn: () => undefined },
    onFatal,
    retryBackoffMsInitial: 10,
    retryBackoffMsMax: 50,
    clock: systemClock,
    scheduler: timerScheduler,
  });
  running.push({ stop: () => created.stop(0) });
  return created;
}

describe('NodeSession', () => {
  it('registers and heartbeats at the active controller a standby names, and leaves it with a controlled shutdown', async () => {
    const active = await controller();
    const standby = await controller();
    const activePort = Number(active.address.split(':')[1]);
    standby.register = () => ({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: { controllerId: 1, host: '127.0.0.1', port: activePort, controllerEpoch: 3n } });
    const node = session([standby.address]);
    node.start();
    await waitUntil('heartbeats at the active controller', () => active.heartbeats.length >= 2, 5000, 10);
    expect([standby.registrations.length, standby.heartbeats.length, active.registrations.length]).toEqual([1, 0, 1]);
    expect(node.current?.nodeEpoch).toBe(100n);
    expect(node.fenced).toBe(false);
    await expect(node.stop(5000)).resolves.toEqual({ completed: true, remainingLeaderships: [] });
    expect(active.shutdowns).toEqual([{ nodeId: 7, nodeEpoch: 100n }]);
  });

  it('sends ISR changes given in proto terms with its registration, and answers in proto terms', async () => {
    const active = await controller();
    const node = session([active.address]);
    const change = { topicId: 'id-1', topic: 't', partition: 2, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ nodeId: 7, nodeEpoch: 100n }] };
    // Not registered yet: nothing is sent.
    await expect(node.alterPartition([change], 1000)).resolves.toBeUndefined();
    node.start();
    await waitUntil('registration and a heartbeat', () => active.heartbeats.length >= 1, 5000, 10);
    await expect(node.alterPartition([change], 2000)).resolves.toEqual({
      partitions: [{ topicId: 'id-1', topic: 't', partition: 2, state: undefined, errorCode: v1.ErrorCode.INVALID_UPDATE_VERSION, errorMessage: 'stale' }],
      activeController: undefined,
      errorCode: 0,
      errorMessage: '',
    });
    expect(active.isrChanges).toEqual([{ nodeId: 7, nodeEpoch: 100n, partitions: [change] }]);
  });

  it('gives up when the controller says the node belongs to another cluster', async () => {
    const active = await controller();
    active.register = () => ({ errorCode: v1.ErrorCode.INCONSISTENT_CLUSTER_ID, errorMessage: 'cluster-b is not cluster-a' });
    const fatal = new Promise<StarlaneError>((resolve) => session([active.address], resolve).start());
    await expect(fatal).resolves.toMatchObject({ code: 'INCONSISTENT_CLUSTER_ID', message: expect.stringContaining('cluster-b is not cluster-a') });
    expect(active.heartbeats).toHaveLength(0);
  });
});
