import * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { Registry } from 'prom-client';
import { startGrpcServer, stopGrpcServer, toGrpcError, type GrpcEndpoint } from './grpc';
import { createRpcMetrics, failedResultCodes, statusCode } from './rpc-metrics';

const raw = {
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: (value: Buffer) => {
    if (value.toString() === 'garbage') throw new RangeError('invalid wire type 7');
    return value.toString();
  },
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value,
};
const definition: grpc.ServiceDefinition = {
  ok: { path: '/test.v1.Measured/Ok', requestStream: false, responseStream: false, originalName: 'Ok', ...raw },
  refuses: { path: '/test.v1.Measured/Refuses', requestStream: false, responseStream: false, originalName: 'Refuses', ...raw },
  stream: { path: '/test.v1.Measured/Stream', requestStream: true, responseStream: true, originalName: 'Stream', ...raw },
};

const registry = new Registry();
const { rpc, guard } = createRpcMetrics(registry);
let endpoint: GrpcEndpoint;
let client: grpc.Client;

beforeAll(async () => {
  const implementation: grpc.UntypedServiceImplementation = {
    ok: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from('fine')),
    refuses: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(toGrpcError(new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', 'no such topic')), null),
    // Each message is a request of its own, timed by the app; "fail" ends the stream with a status.
    stream: (call: grpc.ServerDuplexStream<string, Buffer>) => {
      call.on('data', (message: string) => {
        if (message === 'fail') {
          call.emit('error', toGrpcError(new StarlaneError('NOT_CONTROLLER', 'gone')));
          return;
        }
        const done = rpc.startRequest('test.v1.Measured/Stream');
        call.write(Buffer.from(message));
        done(message === 'partly' ? ['NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_OR_FOLLOWER'] : []);
      });
      call.on('end', () => call.end());
    },
  };
  endpoint = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [{ definition, implementation }], observer: guard });
  client = new grpc.Client(`127.0.0.1:${endpoint.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopGrpcServer(endpoint, 1000);
});

function unary(path: string, body: string): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (value: Buffer) => value, (value: Buffer) => value, Buffer.from(body), (error) => resolve(error));
  });
}

function streamOf(messages: readonly string[]): Promise<void> {
  const call = client.makeBidiStreamRequest('/test.v1.Measured/Stream', (value: Buffer) => value, (value: Buffer) => value);
  call.on('data', () => undefined);
  call.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => call.on('status', () => resolve()));
  for (const message of messages) call.write(Buffer.from(message));
  call.end();
  return ended;
}

async function valueOf(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  const data = await metric?.get();
  const wanted = Object.entries(labels);
  return data?.values.find((sample) => wanted.every(([key, value]) => sample.labels[key] === value))?.value;
}

describe('RPC metrics', () => {
  it('times every unary call and counts failed ones by catalogue code', async () => {
    expect(await unary('/test.v1.Measured/Ok', 'a')).toBeNull();
    expect(await unary('/test.v1.Measured/Ok', 'garbage')).not.toBeNull();
    expect(await unary('/test.v1.Measured/Refuses', 'a')).not.toBeNull();
    expect(await valueOf('starlane_rpc_request_duration_seconds', { method: 'test.v1.Measured/Ok', le: '+Inf' })).toBe(2);
    expect(await valueOf('starlane_rpc_errors_total', { method: 'test.v1.Measured/Ok', code: 'INVALID_REQUEST' })).toBe(1);
    expect(await valueOf('starlane_rpc_errors_total', { method: 'test.v1.Measured/Refuses', code: 'UNKNOWN_TOPIC_OR_PARTITION' })).toBe(1);
    expect(await valueOf('starlane_rpc_errors_total', { method: 'test.v1.Measured/Ok', code: 'NONE' })).toBeUndefined();
  });

  it('times requests inside a stream one by one, with their partition errors, and counts a stream that failed', async () => {
    await streamOf(['a', 'partly', 'b']);
    await streamOf(['fail']);
    expect(await valueOf('starlane_rpc_request_duration_seconds', { method: 'test.v1.Measured/Stream', le: '+Inf' })).toBe(3);
    expect(await valueOf('starlane_rpc_errors_total', { method: 'test.v1.Measured/Stream', code: 'NOT_LEADER_OR_FOLLOWER' })).toBe(2);
    expect(await valueOf('starlane_rpc_errors_total', { method: 'test.v1.Measured/Stream', code: 'NOT_CONTROLLER' })).toBe(1);
  });

  it('names a status by its catalogue code, else its gRPC status', () => {
    expect(statusCode(new StarlaneError('FENCED_LEADER_EPOCH', 'old'))).toBe('FENCED_LEADER_EPOCH');
    expect(statusCode({ code: grpc.status.CANCELLED, details: 'cancelled' })).toBe('CANCELLED');
    expect(statusCode('a string')).toBe('UNKNOWN');
  });

  it('names the failed results of an answer by their wire codes', () => {
    expect(failedResultCodes([{ errorCode: 0 }, { errorCode: 6 }, { errorCode: 3 }, { errorCode: 6 }])).toEqual(['NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);
  });
});
