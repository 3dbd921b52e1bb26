import * as grpc from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type * as http2 from 'node:http2';
import { isIPv6 } from 'node:net';
import { format } from 'node:util';
import { StarlaneError, assert, type ErrorCode } from '@starlane/model';
import type { Logger } from './logging';
import { guardImplementation, tolerantDefinition, type UnexpectedErrorHandler } from './guard';
import { errorCodeMetadataKey, toGrpcError } from './grpc-status';
import type { GuardObserver } from './rpc-metrics';

export { errorCodeMetadataKey, toGrpcError };

/** Largest message a Starlane gRPC server accepts. Record batches travel whole in one
 * message, so this bounds the largest produce request (topics' `max.message.bytes` is
 * checked separately and is smaller by default). */
export const grpcMessageBytesMax = 64 * 1024 * 1024;
/** HTTP/2 flow-control window per stream and connection. The default 64 KiB window makes
 * throughput latency-bound on the data plane; 16 MiB keeps a large batch in flight. */
export const grpcFlowControlWindowBytes = 16 * 1024 * 1024;

export const healthServiceName = 'grpc.health.v1.Health';

export interface GrpcService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** The fully-qualified name of a service, e.g. `starlane.v1.AdminService`. */
export function serviceName(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  assert(first !== undefined, 'a gRPC service must have at least one method');
  return first.path.slice(1, first.path.lastIndexOf('/'));
}

/** `host:port`, with IPv6 literals in brackets as gRPC and URLs want them. */
export function formatAddress(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Sends grpc-js's own diagnostics to the service's structured log instead of stderr. */
export function routeGrpcLogs(logger: Logger): void {
  grpc.setLogger({ error: (...args: unknown[]) => logger.warn({ source: 'grpc-js' }, format(...args)) });
  grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
}

function errorFor(code: ErrorCode, message: string): Partial<grpc.StatusObject> {
  return toGrpcError(new StarlaneError(code, message));
}

/**
 * Completes `implemented` so every method of `definition` has a handler: the ones this
 * release does not implement yet answer UNIMPLEMENTED with code NOT_IMPLEMENTED, instead of
 * pretending to work.
 */
export function withUnimplemented(
  definition: grpc.ServiceDefinition,
  implemented: Partial<grpc.UntypedServiceImplementation>,
): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(definition)) {
    const handler = implemented[method];
    if (handler !== undefined) {
      handlers[method] = handler;
      continue;
    }
    const status = errorFor('NOT_IMPLEMENTED', `${spec.path.slice(1)} is not implemented in this release`);
    if (!spec.responseStream) {
      handlers[method] = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(status, null);
    } else {
      handlers[method] = (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', status);
    }
  }
  return handlers;
}

export interface GrpcEndpoint {
  readonly server: grpc.Server;
  readonly health: HealthImplementation;
  readonly host: string;
  readonly port: number;
  /** Names of the services this server answers, health and reflection aside. */
  readonly serviceNames: readonly string[];
}

function reflectionPackage(fileDescriptorSet: Uint8Array | undefined): PackageDefinition {
  const health = loadSync(healthProtoPath);
  if (fileDescriptorSet === undefined) return health;
  return { ...loadFileDescriptorSetFromBuffer(Buffer.from(fileDescriptorSet)), ...health };
}

/**
 * Starts a gRPC server with the standard health service and server reflection (v1 and
 * v1alpha), so grpcurl-style tools and clients in any language can discover the API.
 * Health reports NOT_SERVING until `markServing` is called by the host.
 */
export async function startGrpcServer(options: {
  host: string;
  port: number;
  services: readonly GrpcService[];
  /** Serialized google.protobuf.FileDescriptorSet describing `services`, for reflection. */
  fileDescriptorSet?: Uint8Array;
  /** Told about handler failures that are not operating errors (bugs); the client gets INTERNAL. */
  onUnexpectedError?: UnexpectedErrorHandler;
  /** Told of every unary call's latency and status and of failed streams (the RPC metrics). */
  observer?: GuardObserver;
}): Promise<GrpcEndpoint> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': grpcMessageBytesMax,
    'grpc.max_send_message_length': grpcMessageBytesMax,
    'grpc-node.flow_control_window': grpcFlowControlWindowBytes,
  });
  const serviceNames = options.services.map((service) => serviceName(service.definition));
  const health = new HealthImplementation({ '': 'NOT_SERVING', ...Object.fromEntries(serviceNames.map((name) => [name, 'NOT_SERVING'])) });
  health.addToServer(server);
  widenServerWindows(server);
  const onUnexpected = options.onUnexpectedError ?? (() => undefined);
  for (const service of options.services) {
    server.addService(tolerantDefinition(service.definition), guardImplementation(service.definition, service.implementation, onUnexpected, options.observer));
  }
  new ReflectionService(reflectionPackage(options.fileDescriptorSet), { services: [...serviceNames, healthServiceName] }).addToServer(server);

  const port = await new Promise<number>((resolvePromise, reject) => {
    server.bindAsync(formatAddress(options.host, options.port), grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) reject(new StarlaneError('CONFIG_INVALID', `cannot listen for gRPC on ${formatAddress(options.host, options.port)} (${error.message})`, { cause: error }));
      else resolvePromise(boundPort);
    });
  });
  for (const http2Server of serverInternals(server).http2Servers?.keys() ?? []) {
    http2Server.on('session', (session: http2.ServerHttp2Session) => session.setLocalWindowSize(grpcFlowControlWindowBytes));
  }
  return { server, health, host: options.host, port, serviceNames };
}

interface GrpcServerInternals {
  commonServerOptions?: http2.ServerOptions;
  http2Servers?: Map<http2.Http2Server, unknown>;
}

function serverInternals(server: grpc.Server): GrpcServerInternals {
  return server as unknown as GrpcServerInternals;
}

/**
 * grpc-js applies `grpc-node.flow_control_window` to its clients' receive windows but not to
 * its server's, which keep HTTP/2's 64 KiB default: a client streaming large record batches
 * into a server then waits for a WINDOW_UPDATE every 64 KiB, which halves data-plane
 * throughput and burns CPU on tiny frames. The server's stream window is widened through the
 * SETTINGS grpc-js sends (its http2 server options), the connection window per session once
 * bound. Both reach into grpc-js internals; `grpc.test.ts` checks the advertised window so an
 * upgrade that moves them is caught.
 */
function widenServerWindows(server: grpc.Server): void {
  const internals = serverInternals(server);
  assert(internals.commonServerOptions !== undefined, 'grpc-js server options not found: re-check widenServerWindows after a grpc-js upgrade');
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: grpcFlowControlWindowBytes };
}

export function setServing(endpoint: GrpcEndpoint, serving: boolean): void {
  const status = serving ? 'SERVING' : 'NOT_SERVING';
  endpoint.health.setStatus('', status);
  for (const name of endpoint.serviceNames) endpoint.health.setStatus(name, status);
}

/** Lets in-flight calls finish for up to `graceMs`, then cancels what is left. */
export async function stopGrpcServer(endpoint: GrpcEndpoint, graceMs: number): Promise<void> {
  await new Promise<void>((resolvePromise) => {
    const deadline = setTimeout(() => {
      endpoint.server.forceShutdown();
      resolvePromise();
    }, graceMs);
    endpoint.server.tryShutdown(() => {
      clearTimeout(deadline);
      resolvePromise();
    });
  });
}
