/**
 * Clients for the standard gRPC services every Starlane process serves, loaded from the
 * protos the grpc packages ship: what grpcurl or a Kubernetes gRPC probe would see.
 */
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

const reflectionProtoPath = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');

type Loaded = Record<string, Record<string, Record<string, Record<string, grpc.ServiceClientConstructor>>>>;
const loaded = grpc.loadPackageDefinition(loadSync([healthProtoPath, reflectionProtoPath], { enums: String, keepCase: true })) as unknown as Loaded;

function clientFor(pkg: [string, string, string], service: string, address: string): grpc.Client {
  const Constructor = loaded[pkg[0]]?.[pkg[1]]?.[pkg[2]]?.[service];
  if (!Constructor) throw new Error(`${pkg.join('.')}.${service} is not loaded`);
  return new Constructor(address, grpc.credentials.createInsecure());
}

/** `grpc.health.v1.Health/Check` for `service` ('' is the whole server). */
export function healthStatus(address: string, service = ''): Promise<string> {
  const client = clientFor(['grpc', 'health', 'v1'], 'Health', address) as grpc.Client & {
    check(request: { service: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + 5000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response.status);
    });
  });
}

export interface HealthWatch {
  /** Statuses received so far, in order. */
  readonly statuses: string[];
  /** Resolves when the server ends the stream (with any status). */
  readonly ended: Promise<void>;
  /** Resolves with the first status the server sends. */
  readonly first: Promise<string>;
  cancel(): void;
}

/** Opens a `grpc.health.v1.Health/Watch` stream: a long-lived call, as a probe or a client keeps. */
export function watchHealth(address: string, service = ''): HealthWatch {
  const client = clientFor(['grpc', 'health', 'v1'], 'Health', address) as grpc.Client & {
    watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  };
  const call = client.watch({ service });
  const statuses: string[] = [];
  const first = new Promise<string>((resolve, reject) => {
    call.once('data', (response: { status: string }) => resolve(response.status));
    call.once('error', reject);
  });
  call.on('data', (response: { status: string }) => statuses.push(response.status));
  const ended = new Promise<void>((resolve) => {
    const finish = (): void => {
      client.close();
      resolve();
    };
    call.on('error', finish);
    call.on('end', finish);
  });
  first.catch(() => undefined);
  return { statuses, ended, first, cancel: () => call.cancel() };
}

/** The fully-qualified service names a server lists through reflection (v1). */
export function reflectionServices(address: string): Promise<string[]> {
  const client = clientFor(['grpc', 'reflection', 'v1'], 'ServerReflection', address) as grpc.Client & {
    ServerReflectionInfo(options: grpc.CallOptions): grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] }; error_response?: { error_message: string } }>;
  };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: Date.now() + 5000 });
    call.on('data', (response: { list_services_response?: { service: { name: string }[] }; error_response?: { error_message: string } }) => {
      call.end();
      client.close();
      if (response.list_services_response) resolve(response.list_services_response.service.map((entry) => entry.name).sort());
      else reject(new Error(`reflection error: ${response.error_response?.error_message ?? 'no list_services_response'}`));
    });
    call.on('error', (error) => {
      client.close();
      reject(error);
    });
    call.write({ list_services: '' });
  });
}
