/**
 * The gRPC controller port against scripted controllers served over real gRPC on loopback: each
 * test says what the controller answers and awaits the port's calls, never sleeps. The decisions
 * of the node's session (when to call, back-off, re-registration) are tested on simulated time
 * with `NodeLifecycle` in `@starlane/replica`; here only the translation, the redirects and the
 * rotation over addresses are.
 */
import * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { internalV1, v1 } from '@starlane/proto';
import { GrpcControllerPort, redirectsInARowMax } from './grpc-controller-port';

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
      },
      heartbeat: (call, callback) => {
        self.heartbeats.push(call.request);
        callback(null, internalV1.HeartbeatResponse.fromPartial(self.heartbeat(call.request, self.heartbeats.length - 1)));
      },
      alterPartition: (call, callback) => {
        self.isrChanges.push(call.request);
        callback(null, internalV1.AlterPartitionResponse.fromPartial(self.alterPartition(call.request)));
      },
      controlledShutdown: (call, callback) => {
        self.shutdowns.push(call.request);
        callback(null, internalV1.ControlledShutdownResponse.fromPartial(self.controlledShutdown(call.request, self.shutdowns.length - 1)));
      },
    };
    server.addService(internalV1.ControllerServiceService, handlers as grpc.UntypedServiceImplementation);
    return self;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const running: { stop(): unknown }[] = [];

async function controller(port?: number): Promise<ScriptedController> {
  const started = await ScriptedController.start(port);
  running.push(started);
  return started;
}

function grpcPort(addresses: readonly string[]): GrpcControllerPort {
  const port = new GrpcControllerPort(addresses, 2000);
  running.push({ stop: () => port.close() });
  return port;
}

/** An address nothing listens on (a port freed just now). */
async function deadAddress(): Promise<string> {
  const placeholder = await ScriptedController.start();
  placeholder.stop();
  return placeholder.address;
}

afterEach(async () => {
  for (const item of running.splice(0)) await item.stop();
});

const registrationRequest = {
  nodeId: 7,
  incarnationId: 'incarnation-1',
  clusterId: '',
  host: '127.0.0.1',
  port: 9999,
  rack: 'rack-a',
  logDirs: [{ dirId: 'dir-1', path: '/data' }],
  cleanShutdown: false,
  softwareVersion: '0.1.0',
};
const redirectTo = (target: ScriptedController) => ({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: { controllerId: 1, host: '127.0.0.1', port: target.port, controllerEpoch: 3n } });

describe('GrpcControllerPort', () => {
  it('translates RegisterNode both ways', async () => {
    const active = await controller();
    const port = grpcPort([active.address]);
    await expect(port.registerNode(registrationRequest)).resolves.toEqual({ nodeEpoch: 100n, clusterId: 'cluster-a', heartbeatIntervalMs: 20, sessionTimeoutMs: 1000 });
    expect(active.registrations).toEqual([registrationRequest]);
  });

  it('translates heartbeats, controlled shutdown and ISR changes both ways', async () => {
    const active = await controller();
    active.heartbeat = () => ({ fenced: true, shouldShutDown: true });
    active.controlledShutdown = () => ({ remainingLeaderships: [{ topic: 'orders', partition: 3 }] });
    active.alterPartition = () => ({
      partitions: [
        { topicId: 'id-1', topic: 't', partition: 2, state: { partition: 2, leaderId: 7, leaderEpoch: 4, partitionEpoch: 10, replicas: [7, 8], isr: [7], eligibleLeaderReplicas: [8], offlineReplicas: [], addingReplicas: [], removingReplicas: [] } },
        { topicId: 'id-1', topic: 't', partition: 3, errorCode: v1.ErrorCode.INVALID_UPDATE_VERSION, errorMessage: 'partition epoch 9 is stale' },
      ],
    });
    const port = grpcPort([active.address]);

    await expect(port.heartbeat({ nodeId: 7, nodeEpoch: 100n, metadataVersion: 42, offlineLogDirIds: ['dir-1'] })).resolves.toEqual({ fenced: true, shouldShutDown: true });
    expect(active.heartbeats).toEqual([{ nodeId: 7, nodeEpoch: 100n, metadataVersion: 42n, offlineLogDirIds: ['dir-1'], reassignmentProgress: [] }]);

    await expect(port.controlledShutdown({ nodeId: 7, nodeEpoch: 100n }, 1000)).resolves.toEqual({ remainingLeaderships: [{ topic: 'orders', partition: 3 }] });
    expect(active.shutdowns).toEqual([{ nodeId: 7, nodeEpoch: 100n }]);

    const changes = [2, 3].map((partition) => ({ topicId: 'id-1', topic: 't', partition, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ nodeId: 7, nodeEpoch: 100 }, { nodeId: 8 }] }));
    await expect(port.alterPartition({ nodeId: 7, nodeEpoch: 100n, partitions: changes }, 1000)).resolves.toEqual([
      {
        topicId: 'id-1',
        topic: 't',
        partition: 2,
        state: { partition: 2, leader: 7, leaderEpoch: 4, partitionEpoch: 10, replicas: [7, 8], isr: [7], elr: [8], offlineReplicas: [], addingReplicas: [], removingReplicas: [] },
      },
      { topicId: 'id-1', topic: 't', partition: 3, error: { code: 'INVALID_UPDATE_VERSION', message: 'partition epoch 9 is stale' } },
    ]);
    // Node epochs go as int64; a member whose epoch is not quoted goes with 0.
    expect(active.isrChanges).toEqual([
      {
        nodeId: 7,
        nodeEpoch: 100n,
        partitions: [2, 3].map((partition) => ({ topicId: 'id-1', topic: 't', partition, leaderEpoch: 4, partitionEpoch: 9, newIsr: [{ nodeId: 7, nodeEpoch: 100n }, { nodeId: 8, nodeEpoch: 0n }] })),
      },
    ]);
  });

  it('rejects an answer that carries an error code with that code, and calls the same controller next', async () => {
    const active = await controller();
    active.heartbeat = (_request, index) => (index === 0 ? { errorCode: v1.ErrorCode.STALE_BROKER_EPOCH, errorMessage: 'epoch 99 is not 100' } : { fenced: false });
    const port = grpcPort([active.address]);
    const refused = port.heartbeat({ nodeId: 7, nodeEpoch: 99n, metadataVersion: 1, offlineLogDirIds: [] });
    await expect(refused).rejects.toBeInstanceOf(StarlaneError);
    await expect(refused).rejects.toMatchObject({ code: 'STALE_BROKER_EPOCH', message: expect.stringContaining('epoch 99 is not 100') });
    expect(port.target()).toBe(active.address);
    await expect(port.heartbeat({ nodeId: 7, nodeEpoch: 100n, metadataVersion: 1, offlineLogDirIds: [] })).resolves.toEqual({ fenced: false, shouldShutDown: false });
  });

  it('follows NOT_CONTROLLER to the active controller it names: the redirected call rejects, the next one goes there', async () => {
    const active = await controller();
    const standby = await controller();
    standby.register = () => redirectTo(active);
    const port = grpcPort([standby.address]);
    await expect(port.registerNode(registrationRequest)).rejects.toMatchObject({ code: 'NOT_CONTROLLER' });
    expect(port.target()).toBe(active.address);
    await expect(port.registerNode(registrationRequest)).resolves.toMatchObject({ nodeEpoch: 100n });
    expect([standby.registrations.length, active.registrations.length]).toEqual([1, 1]);
  });

  it('moves to the next bootstrap address on a NOT_CONTROLLER that names no active controller', async () => {
    const active = await controller();
    const standby = await controller();
    standby.register = () => ({ errorCode: v1.ErrorCode.NOT_CONTROLLER });
    const port = grpcPort([standby.address, active.address]);
    await expect(port.registerNode(registrationRequest)).rejects.toMatchObject({ code: 'NOT_CONTROLLER' });
    expect(port.target()).toBe(active.address);
  });

  it('rotates away from an address that does not answer, rejecting with CONTROLLER_NOT_AVAILABLE', async () => {
    const dead = await deadAddress();
    const active = await controller();
    const port = grpcPort([dead, active.address]);
    // A request given this many calls has tried every address and followed a few redirects.
    expect(port.callsToReachActiveMax).toBe(2 + redirectsInARowMax + 1);
    await expect(port.registerNode(registrationRequest)).rejects.toMatchObject({ code: 'CONTROLLER_NOT_AVAILABLE', message: expect.stringContaining(dead) });
    expect(port.target()).toBe(active.address);
    await expect(port.registerNode(registrationRequest)).resolves.toMatchObject({ nodeEpoch: 100n });
    // ... and back to the first address after the last.
    active.stop();
    await expect(port.heartbeat({ nodeId: 7, nodeEpoch: 100n, metadataVersion: 1, offlineLogDirIds: [] })).rejects.toMatchObject({ code: 'CONTROLLER_NOT_AVAILABLE' });
    expect(port.target()).toBe(dead);
  });
});
