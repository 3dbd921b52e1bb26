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

/** Asks reflection for the file that defines `symbol`, and returns the file names it sent. */
export function reflectionFilesContaining(address: string, symbol: string): Promise<string[]> {
  const client = clientFor(['grpc', 'reflection', 'v1'], 'ServerReflection', address) as grpc.Client & {
    ServerReflectionInfo(options: grpc.CallOptions): grpc.ClientDuplexStream<object, { file_descriptor_response?: { file_descriptor_proto: Buffer[] }; error_response?: { error_message: string } }>;
  };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: Date.now() + 5000 });
    call.on('data', (response: { file_descriptor_response?: { file_descriptor_proto: Buffer[] }; error_response?: { error_message: string } }) => {
      call.end();
      client.close();
      const files = response.file_descriptor_response?.file_descriptor_proto;
      if (!files) {
        reject(new Error(`reflection error: ${response.error_response?.error_message ?? 'no file_descriptor_response'}`));
        return;
      }
      // FileDescriptorProto field 1 is the file name: tag 0x0a, then a varint length (< 128 here).
      resolve(files.map((file) => (file[0] === 0x0a ? file.subarray(2, 2 + (file[1] ?? 0)).toString('utf8') : '?')).sort());
    });
    call.on('error', (error) => {
      client.close();
      reject(error);
    });
    call.write({ file_containing_symbol: symbol });
  });
}
