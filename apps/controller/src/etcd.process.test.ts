import * as grpc from '@grpc/grpc-js';
import { startEtcd, type EtcdProcess } from '@starlane/launcher';
import type { MetadataImage } from '@starlane/metadata';
import { MetadataWatcher } from '@starlane/metadata-rpc';
import { systemClock } from '@starlane/node-io';
import { internalV1, v1 } from '@starlane/proto';
import { killAll, launchApp, unaryCall, type AppProcess, type UnaryMethod } from '@starlane/testing';

jest.setTimeout(60_000);

const leaseTtlMs = 1000;
/** From a crash to a standby serving: the lease TTL, etcd's 500 ms expiry check, a metadata load, and slack. */
const failoverMsMax = leaseTtlMs + 3000;

/** Calls with a 5 s deadline. */
const call = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(client, method, request, 5000);

const quiet = { info: () => undefined, warn: () => undefined };

interface Controller {
  readonly id: number;
  readonly process: AppProcess;
  readonly address: string;
  readonly admin: v1.AdminServiceClient;
  readonly control: internalV1.ControllerServiceClient;
}

let etcd: EtcdProcess;
const open: Controller[] = [];
const watchers: MetadataWatcher[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  for (const watcher of watchers) watcher.close();
  for (const controller of open) {
    controller.admin.close();
    controller.control.close();
  }
  await killAll();
  await etcd?.stop();
});

let prefixes = 0;

async function startControllers(count: number): Promise<Controller[]> {
  prefixes += 1;
  const prefix = `/starlane-test/controllers-${prefixes}/`;
  return Promise.all(Array.from({ length: count }, (_unused, id) => startController(id, prefix)));
}

async function startController(id: number, prefix: string): Promise<Controller> {
  const child = launchApp('controller', ['--metadata-store=etcd', `--etcd-endpoints=${etcd.endpoint}`, `--etcd-prefix=${prefix}`, `--controller-id=${id}`, `--controller-lease-ttl-ms=${leaseTtlMs}`]);
  const { grpcAddress } = await child.ready;
  const controller: Controller = {
    id,
    process: child,
    address: grpcAddress,
    admin: new v1.AdminServiceClient(grpcAddress, grpc.credentials.createInsecure()),
    control: new internalV1.ControllerServiceClient(grpcAddress, grpc.credentials.createInsecure()),
  };
  open.push(controller);
  return controller;
}

function follow(controllers: readonly Controller[]): MetadataWatcher {
  const watcher = new MetadataWatcher({ controllers: controllers.map((controller) => controller.address), nodeId: -1, logger: quiet, reconnectBackoffMsMax: 200, clock: systemClock });
  watchers.push(watcher);
  watcher.start();
  return watcher;
}

/** The controller the followed metadata names as active once `accept` takes it. */
async function activeOf(watcher: MetadataWatcher, controllers: readonly Controller[], accept: (controller: Controller) => boolean = () => true, timeoutMs = failoverMsMax): Promise<{ controller: Controller; image: MetadataImage }> {
  const find = (image: MetadataImage): Controller | undefined => controllers.find((controller) => controller.address === `${image.controller?.host}:${image.controller?.port}`);
  const image = await watcher.waitFor((image) => {
    const found = find(image);
    return found !== undefined && accept(found);
  }, timeoutMs);
  const controller = image === undefined ? undefined : find(image);
  if (image === undefined || controller === undefined) throw new Error(`no accepted controller became active within ${timeoutMs} ms`);
  return { controller, image };
}

describe('controllers over etcd', () => {
  it('one is active, the standbys redirect to it, and a standby takes over within seconds of a crash', async () => {
    const controllers = await startControllers(3);
    const watcher = follow(controllers);
    const { controller: active, image: first } = await activeOf(watcher, controllers);
    expect(first.controller?.controllerEpoch).toBe(1);
    const standbys = controllers.filter((controller) => controller !== active);
    const location = { controllerId: active.id, host: '127.0.0.1', port: Number(active.address.split(':')[1]) };

    // A node registers and a topic is created on the active controller.
    const registered = await call(active.control, active.control.registerNode, {
      nodeId: 1,
      incarnationId: 'a',
      clusterId: '',
      host: '127.0.0.1',
      port: 9001,
      rack: '',
      logDirs: [],
      cleanShutdown: true,
      softwareVersion: 'test',
    });
    expect(registered.errorCode).toBe(v1.ErrorCode.NONE);
    await call(active.control, active.control.heartbeat, { nodeId: 1, nodeEpoch: registered.nodeEpoch, metadataVersion: registered.nodeEpoch, offlineLogDirIds: [], reassignmentProgress: [] });
    const created = await call(active.admin, active.admin.createTopics, {
      topics: [{ name: 'before', partitionCount: 2, replicationFactor: 1, replicaAssignments: [], configs: {} }],
      validateOnly: false,
      timeoutMs: 0,
    });
    expect(created.results[0]?.errorCode).toBe(v1.ErrorCode.NONE);

    for (const standby of standbys) {
      // ControllerService: NOT_CONTROLLER with the active controller's location.
      await expect(call(standby.control, standby.control.getActiveController, {})).resolves.toEqual({ activeController: expect.objectContaining(location) });
      const refused = await call(standby.control, standby.control.registerNode, {
        nodeId: 2,
        incarnationId: 'b',
        clusterId: '',
        host: '127.0.0.1',
        port: 9002,
        rack: '',
        logDirs: [],
        cleanShutdown: true,
        softwareVersion: 'test',
      });
      expect(refused).toMatchObject({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: expect.objectContaining(location) });
      const messages: internalV1.WatchMetadataResponse[] = [];
      await new Promise<void>((resolve, reject) => {
        const stream = standby.control.watchMetadata({ nodeId: -1 });
        stream.on('data', (message: internalV1.WatchMetadataResponse) => messages.push(message));
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      expect(messages).toEqual([expect.objectContaining({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: expect.objectContaining(location), update: undefined })]);
      // AdminService: status NOT_CONTROLLER in the trailer.
      const failure = await call(standby.admin, standby.admin.listTopics, { includeInternal: false, pageSize: 0, pageToken: '' }).then(
        () => undefined,
        (error: grpc.ServiceError) => error,
      );
      expect(failure?.code).toBe(grpc.status.UNAVAILABLE);
      expect(failure?.metadata.get('starlane-error-code')).toEqual(['NOT_CONTROLLER']);
    }

    // A crash: a standby loads the metadata from etcd and serves within seconds.
    const crashedAt = performance.now();
    await active.process.stop('SIGKILL');
    const { controller: successor, image } = await activeOf(watcher, controllers, (controller) => controller !== active);
    expect(performance.now() - crashedAt).toBeLessThan(failoverMsMax);
    expect(image.controller?.controllerEpoch).toBe(2);
    expect(image.topics.get('before')?.partitions).toHaveLength(2);
    expect(image.nodes.get(1)?.state).toBe('active');
    const after = await call(successor.admin, successor.admin.createTopics, {
      topics: [{ name: 'after', partitionCount: 1, replicationFactor: 1, replicaAssignments: [], configs: {} }],
      validateOnly: false,
      timeoutMs: 0,
    });
    expect(after.results[0]?.errorCode).toBe(v1.ErrorCode.NONE);
    expect(await watcher.waitFor((next) => next.topics.has('after'), 5000)).toBeDefined();

    // A clean stop resigns: the last controller takes over without waiting for the lease.
    const [last] = standbys.filter((controller) => controller !== successor);
    const stoppedAt = performance.now();
    await successor.process.stop('SIGTERM');
    const { image: third } = await activeOf(watcher, controllers, (controller) => controller === last);
    expect(performance.now() - stoppedAt).toBeLessThan(failoverMsMax);
    expect(third.controller?.controllerEpoch).toBe(3);
    expect([...third.topics.keys()].sort()).toEqual(['after', 'before']);
  });

  it('an active controller that loses its lease stops serving at once and ends its metadata streams', async () => {
    const controllers = await startControllers(1);
    const only = controllers[0];
    if (only === undefined) throw new Error('no controller started');
    const watcher = follow(controllers);
    await activeOf(watcher, controllers);
    const ended = new Promise<internalV1.WatchMetadataResponse | undefined>((resolve) => {
      const stream = only.control.watchMetadata({ nodeId: -1 });
      let last: internalV1.WatchMetadataResponse | undefined;
      stream.on('data', (message: internalV1.WatchMetadataResponse) => (last = message));
      stream.on('end', () => resolve(last));
      stream.on('error', () => resolve(last));
    });
    // etcd stops answering: the controller cannot renew, and steps down by its own clock.
    etcd.pause();
    try {
      const last = await ended;
      expect(last).toMatchObject({ errorCode: v1.ErrorCode.NOT_CONTROLLER });
      const answer = await call(only.control, only.control.allocateProducerIds, { count: 1 });
      expect(answer.errorCode).toBe(v1.ErrorCode.NOT_CONTROLLER);
    } finally {
      etcd.resume();
    }
    // Once etcd is back, it campaigns again and is active in a new term.
    await expect(watcher.waitFor((next) => (next.controller?.controllerEpoch ?? 0) >= 2, failoverMsMax)).resolves.toBeDefined();
  });
});
