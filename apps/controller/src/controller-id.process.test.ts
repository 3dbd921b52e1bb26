/**
 * Controller processes over a real etcd, as an operator configures them: each registers its
 * --controller-id, a second process with an id in use is refused (exit 2), a restarted one gets
 * its id back, DescribeCluster lists every controller with its role, a lease TTL etcd cannot
 * grant is a configuration error, and a controller cut off from etcd never names itself as the
 * active one.
 */
import * as grpc from '@grpc/grpc-js';
import { startEtcd, type EtcdProcess } from '@starlane/launcher';
import { internalV1, v1 } from '@starlane/proto';
import { killAll, launchApp, unaryCall, waitUntil, type AppProcess, type UnaryMethod } from '@starlane/testing';

jest.setTimeout(90_000);

const leaseTtlMs = 1000;
/** A registration of a process that died expires within its TTL plus etcd's 500 ms expiry check; the rest is slack for a shared machine. */
const expiryMsMax = leaseTtlMs + 5000;

/** Calls with a 5 s deadline. */
const call = <Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(client, method, request, 5000);

interface Controller {
  readonly id: number;
  readonly process: AppProcess;
  readonly port: number;
  readonly admin: v1.AdminServiceClient;
  readonly control: internalV1.ControllerServiceClient;
}

let etcd: EtcdProcess;
const clients: grpc.Client[] = [];
let prefixes = 0;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await killAll();
  await etcd?.stop();
});

function freshPrefix(): string {
  prefixes += 1;
  return `/starlane-test/controller-id-${prefixes}/`;
}

function launch(id: number, prefix: string, extra: readonly string[] = []): AppProcess {
  return launchApp('controller', ['--metadata-store=etcd', `--etcd-endpoints=${etcd.endpoint}`, `--etcd-prefix=${prefix}`, `--controller-id=${id}`, `--controller-lease-ttl-ms=${leaseTtlMs}`, ...extra]);
}

async function startController(id: number, prefix: string): Promise<Controller> {
  const child = launch(id, prefix);
  const { grpcAddress } = await child.ready;
  const admin = new v1.AdminServiceClient(grpcAddress, grpc.credentials.createInsecure());
  const control = new internalV1.ControllerServiceClient(grpcAddress, grpc.credentials.createInsecure());
  clients.push(admin, control);
  return { id, process: child, port: Number(grpcAddress.split(':').at(-1)), admin, control };
}

/** The active controller among `controllers`, once GetActiveController names one of them. */
async function activeOf(controllers: readonly Controller[]): Promise<Controller> {
  return waitUntil(
    'an active controller',
    async () => {
      for (const asked of controllers) {
        const answer = await call(asked.control, asked.control.getActiveController, {}).catch(() => undefined);
        const active = controllers.find((controller) => controller.port === answer?.activeController?.port);
        if (active !== undefined && answer?.activeController?.controllerId === active.id) return active;
      }
      return undefined;
    },
    expiryMsMax,
  );
}

/** DescribeCluster's controllers as `id:port:role`. */
async function describedControllers(active: Controller): Promise<string[]> {
  const described = await call(active.admin, active.admin.describeCluster, {});
  return described.controllers.map((controller) => `${controller.controllerId}:${controller.port}:${v1.ControllerRole[controller.role]}`);
}

describe('controller ids over etcd', () => {
  it('refuses a --controller-lease-ttl-ms etcd cannot grant with exit 2 and one line', async () => {
    const child = launch(0, freshPrefix(), ['--controller-lease-ttl-ms=1500']);
    expect(await child.exited).toEqual({ code: 2, signal: null });
    expect(child.stderrText()).toBe('controller: invalid --controller-lease-ttl-ms: expected a whole number of seconds (etcd leases count whole seconds), got 1500\n');
  });

  it('lists every controller with its role, refuses a second process with an id in use, and gives a restarted controller its id back', async () => {
    const prefix = freshPrefix();
    const started = await Promise.all([startController(0, prefix), startController(1, prefix)]);
    const active = await activeOf(started);
    const standby = started.find((controller) => controller !== active)!;
    const expected = [`0:${started[0]!.port}:${active.id === 0 ? 'ACTIVE' : 'STANDBY'}`, `1:${started[1]!.port}:${active.id === 1 ? 'ACTIVE' : 'STANDBY'}`];
    expect(await waitUntil('both controllers listed', async () => ((await describedControllers(active)).length === 2 ? describedControllers(active) : undefined), expiryMsMax)).toEqual(expected);

    // A third process configured with the standby's id: refused, after waiting out the holder's lease.
    const duplicate = launch(standby.id, prefix);
    expect(await duplicate.exited).toEqual({ code: 2, signal: null });
    expect(duplicate.stderrText()).toMatch(new RegExp(`^controller: --controller-id ${standby.id} is in use: the controller at 127\\.0\\.0\\.1:${standby.port} \\(incarnation [0-9a-f-]+\\) has held etcd key controllers/${standby.id} for the last \\d+ ms; give every controller of a cluster its own --controller-id\\n$`));
    expect(duplicate.stdoutLines().some((line) => line.includes('"controller-elected"'))).toBe(false);
    expect(await describedControllers(active)).toEqual(expected);

    // The standby crashes and comes back at once with the same id: it gets it back once the
    // dead process's lease has expired, and is listed with its new address.
    await standby.process.stop('SIGKILL');
    const restarted = await startController(standby.id, prefix);
    const listed = await waitUntil(
      'the restarted controller listed',
      async () => {
        const controllers = await describedControllers(active);
        return controllers.includes(`${standby.id}:${restarted.port}:STANDBY`) ? controllers : undefined;
      },
      expiryMsMax,
    );
    expect(listed).toHaveLength(2);
    expect(await Promise.race([restarted.process.exited, new Promise((resolve) => setTimeout(() => resolve('running'), 500))])).toBe('running');
  });

  it('with etcd unreachable, a controller that lost its lease names no active controller rather than itself', async () => {
    const [only] = await Promise.all([startController(0, freshPrefix())]);
    await activeOf([only!]);
    etcd.pause();
    try {
      const refused = await waitUntil(
        'the controller to step down',
        async () => {
          const answer = await call(only!.control, only!.control.allocateProducerIds, { count: 1 });
          return answer.errorCode === v1.ErrorCode.NOT_CONTROLLER ? answer : undefined;
        },
        expiryMsMax,
      );
      expect(refused.activeController).toBeUndefined();
      expect(refused.errorMessage).toBe('controller 0 is not the active controller and knows of no other that is (none is elected yet, or etcd cannot be reached); retry');
    } finally {
      etcd.resume();
    }
  });
});
