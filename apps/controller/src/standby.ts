/**
 * What a controller that is not the active one answers, and the switch between that and the
 * active handlers. A standby serves the same services as the active controller:
 *
 * - ControllerService: every call but GetActiveController is refused with NOT_CONTROLLER in
 *   `error_code` and the active controller's location (when one is known) in
 *   `active_controller`, so storage nodes and gateways redirect without another lookup;
 *   WatchMetadata sends that as its only message and ends. GetActiveController answers with
 *   the active controller (unset while none is elected).
 * - AdminService: every call fails with status UNAVAILABLE and code NOT_CONTROLLER in the
 *   `starlane-error-code` trailer, as the active controller answers while it stops; callers
 *   then ask GetActiveController.
 */
import type * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { errorCodeToProto } from '@starlane/metadata-rpc';
import type { internalV1 } from '@starlane/proto';
import { formatAddress, toGrpcError } from '@starlane/service-host';

/** The active controller's location as this process knows it; undefined while none is known. */
export type ActiveLocator = () => internalV1.ControllerLocation | undefined;

function notActive(controllerId: number, active: internalV1.ControllerLocation | undefined): string {
  return active === undefined
    ? `controller ${controllerId} is not the active controller and knows of no other that is (none is elected yet, or etcd cannot be reached); retry`
    : `controller ${controllerId} is not the active controller; controller ${active.controllerId} at ${formatAddress(active.host, active.port)} is`;
}

export function standbyControllerService(controllerId: number, locate: ActiveLocator): internalV1.ControllerServiceServer {
  const refusal = (): { activeController: internalV1.ControllerLocation | undefined; errorCode: number; errorMessage: string } => {
    const active = locate();
    return { activeController: active, errorCode: errorCodeToProto('NOT_CONTROLLER'), errorMessage: notActive(controllerId, active) };
  };
  return {
    registerNode: (_call, callback) => callback(null, { nodeEpoch: -1n, clusterId: '', heartbeatIntervalMs: 0, sessionTimeoutMs: 0, ...refusal() }),
    heartbeat: (_call, callback) => callback(null, { fenced: false, shouldShutDown: false, ...refusal() }),
    controlledShutdown: (_call, callback) => callback(null, { remainingLeaderships: [], ...refusal() }),
    alterPartition: (_call, callback) => callback(null, { partitions: [], ...refusal() }),
    allocateProducerIds: (_call, callback) => callback(null, { firstProducerId: -1n, count: 0, ...refusal() }),
    getActiveController: (_call, callback) => callback(null, { activeController: locate() }),
    watchMetadata: (call) => {
      call.write({ metadataVersion: 0n, update: undefined, ...refusal() });
      call.end();
    },
  };
}

/** Every method of `definition` refused with status NOT_CONTROLLER. */
export function standbyStatusService(definition: grpc.ServiceDefinition, controllerId: number, locate: ActiveLocator): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(definition)) {
    const status = (): Partial<grpc.StatusObject> => toGrpcError(new StarlaneError('NOT_CONTROLLER', notActive(controllerId, locate())));
    handlers[method] = spec.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', status())
      : (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(status(), null);
  }
  return handlers;
}

/** Handlers that pass each call to whichever implementation `pick` gives when the call arrives. */
export function routed(definition: grpc.ServiceDefinition, pick: () => grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    handlers[method] = ((call: unknown, callback: unknown) => {
      const handler = pick()[method] as unknown as (call: unknown, callback: unknown) => unknown;
      return handler(call, callback);
    }) as grpc.UntypedHandleCall;
  }
  return handlers;
}
