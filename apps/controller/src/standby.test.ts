/**
 * What a standby answers, driven through its handlers with the active controller's location
 * as the election reports it.
 */
import type * as grpc from '@grpc/grpc-js';
import { type internalV1, v1 } from '@starlane/proto';
import { standbyControllerService, standbyStatusService, type ActiveLocator } from './standby';

const self = { controllerId: 1, host: '127.0.0.1', port: 9091, controllerEpoch: 4n };
const other = { controllerId: 2, host: '127.0.0.1', port: 9092, controllerEpoch: 5n };

function heartbeatRefusal(locate: ActiveLocator): Promise<internalV1.HeartbeatResponse> {
  const service = standbyControllerService(1, locate);
  return new Promise((resolve) => service.heartbeat({} as grpc.ServerUnaryCall<internalV1.HeartbeatRequest, internalV1.HeartbeatResponse>, (_error, response) => resolve(response!)));
}

function adminRefusal(locate: ActiveLocator): Promise<Partial<grpc.StatusObject>> {
  const service = standbyStatusService(v1.AdminServiceService, 1, locate);
  return new Promise((resolve) => (service['listTopics'] as grpc.handleUnaryCall<unknown, unknown>)({} as grpc.ServerUnaryCall<unknown, unknown>, (error) => resolve(error as Partial<grpc.StatusObject>)));
}

describe('standby refusals', () => {
  it('name the active controller', async () => {
    const refused = await heartbeatRefusal(() => other);
    expect(refused).toMatchObject({ errorCode: v1.ErrorCode.NOT_CONTROLLER, activeController: other });
    expect(refused.errorMessage).toBe('controller 1 is not the active controller; controller 2 at 127.0.0.1:9092 is');
  });

  it('never name the standby itself: an election that still names it means its term ended unseen (etcd unreachable)', async () => {
    const refused = await heartbeatRefusal(() => self);
    expect(refused.activeController).toBeUndefined();
    expect(refused.errorMessage).toMatch(/^controller 1 is not the active controller and knows of no other that is \(none is elected yet, or etcd cannot be reached\); retry$/);
    const status = await adminRefusal(() => self);
    expect(status.details).not.toContain('controller 1 at');
    expect(status.metadata?.get('starlane-error-code')).toEqual(['NOT_CONTROLLER']);
    const service = standbyControllerService(1, () => self);
    const located = await new Promise<internalV1.GetActiveControllerResponse>((resolve) =>
      service.getActiveController({} as grpc.ServerUnaryCall<internalV1.GetActiveControllerRequest, internalV1.GetActiveControllerResponse>, (_error, response) => resolve(response!)),
    );
    expect(located.activeController).toBeUndefined();
  });
});
