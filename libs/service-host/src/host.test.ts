import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { errorCodeMetadataKey, withUnimplemented } from './grpc';
import { hostOptions, startService, type HostConfig, type RunningService } from './host';

// A two-method service with identity serializers: enough to exercise routing without protobuf.
const identity = {
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: (value: Buffer) => value,
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value,
};
const echoDefinition: grpc.ServiceDefinition = {
  echo: { path: '/test.v1.EchoService/Echo', requestStream: false, responseStream: false, originalName: 'Echo', ...identity },
  follow: { path: '/test.v1.EchoService/Follow', requestStream: false, responseStream: true, originalName: 'Follow', ...identity },
};

const healthPackage = grpc.loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

function config(): HostConfig {
  return { listenHost: '127.0.0.1', grpcPort: 0, metricsPort: 0, logLevel: 'silent', shutdownGraceMs: 1000 };
}

function healthOf(address: string, service: string): Promise<string> {
  const client = new healthPackage.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(request: { service: string }, callback: (error: grpc.ServiceError | null, response: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) => {
    client.check({ service }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response.status);
    });
  });
}

describe('startService', () => {
  let service: RunningService<HostConfig>;
  let stopped = false;
  let address: string;
  let metricsUrl: string;

  beforeAll(async () => {
    service = await startService(
      {
        name: 'test-app',
        version: '0.0.0-test',
        options: {},
        start: async () => ({
          services: [
            {
              definition: echoDefinition,
              implementation: withUnimplemented(echoDefinition, {
                echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
              }),
            },
          ],
          stop: async () => {
            stopped = true;
          },
        }),
      },
      config(),
    );
    address = `127.0.0.1:${service.grpc.port}`;
    metricsUrl = `http://127.0.0.1:${service.metricsHttp.port}`;
  });

  afterAll(async () => {
    await service.stop('test end');
  });

  it('binds free ports when asked for port 0', () => {
    expect(service.grpc.port).toBeGreaterThan(0);
    expect(service.metricsHttp.port).toBeGreaterThan(0);
  });

  it('reports SERVING for the server and for each service', async () => {
    await expect(healthOf(address, '')).resolves.toBe('SERVING');
    await expect(healthOf(address, 'test.v1.EchoService')).resolves.toBe('SERVING');
  });

  it('routes implemented methods and answers the rest UNIMPLEMENTED with a code', async () => {
    const Client = grpc.makeGenericClientConstructor(echoDefinition, 'EchoService');
    const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      echo(request: Buffer, callback: (error: grpc.ServiceError | null, value: Buffer) => void): void;
      follow(request: Buffer): grpc.ClientReadableStream<Buffer>;
    };
    const echoed = await new Promise<Buffer>((resolve, reject) =>
      client.echo(Buffer.from('hi'), (error, value) => (error ? reject(error) : resolve(value))),
    );
    expect(echoed.toString()).toBe('hi');

    const failure = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = client.follow(Buffer.from('x'));
      stream.on('error', resolve);
      stream.on('data', () => undefined);
    });
    client.close();
    expect(failure.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(failure.details).toBe('test.v1.EchoService/Follow is not implemented in this release');
    expect(failure.metadata.get(errorCodeMetadataKey)).toEqual(['NOT_IMPLEMENTED']);
  });

  it('serves Prometheus text with process metrics and build info', async () => {
    const response = await fetch(`${metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toContain('starlane_build_info{service="test-app",version="0.0.0-test"} 1');
    expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${metricsUrl}/nope`)).status).toBe(404);
  });

  it('stops the app and both servers, once', async () => {
    await Promise.all([service.stop('first'), service.stop('second')]);
    expect(stopped).toBe(true);
    await expect(fetch(`${metricsUrl}/healthz`)).rejects.toThrow();
    await expect(healthOf(address, '')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});

describe('startService with an app that becomes ready later', () => {
  it('reports NOT_SERVING and 503 until the app says it is ready, then SERVING and 200', async () => {
    let becomeReady = (): void => undefined;
    const ready = new Promise<void>((resolve) => (becomeReady = resolve));
    const service = await startService({ name: 'late', version: '0', options: {}, start: async () => ({ services: [], ready }) }, config());
    try {
      const address = `127.0.0.1:${service.grpc.port}`;
      const readyz = `http://127.0.0.1:${service.metricsHttp.port}/readyz`;
      await expect(healthOf(address, '')).resolves.toBe('NOT_SERVING');
      expect((await fetch(readyz)).status).toBe(503);
      becomeReady();
      await ready;
      await expect(healthOf(address, '')).resolves.toBe('SERVING');
      expect((await fetch(readyz)).status).toBe(200);
    } finally {
      await service.stop('test end');
    }
  });
});

describe('startService failures', () => {
  it('refuses a busy port with CONFIG_INVALID and stops the app it started', async () => {
    const first = await startService({ name: 'a', version: '0', options: {}, start: async () => ({ services: [] }) }, config());
    let stopped = false;
    try {
      const busy = { ...config(), grpcPort: first.grpc.port };
      const attempt = startService(
        {
          name: 'b',
          version: '0',
          options: {},
          start: async () => ({
            services: [],
            stop: async () => {
              stopped = true;
            },
          }),
        },
        busy,
      );
      await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(`cannot listen for gRPC on 127.0.0.1:${first.grpc.port}`) });
      expect(stopped).toBe(true);
    } finally {
      await first.stop('test end');
    }
  });

  it('offers the common host options with app defaults', () => {
    const options = hostOptions({ grpcPort: 1234, metricsPort: 5678 });
    expect(options.grpcPort.default).toBe(1234);
    expect(options.metricsPort.default).toBe(5678);
    expect(options.listenHost.default).toBe('127.0.0.1');
  });
});
