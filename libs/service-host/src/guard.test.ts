import * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { errorCodeMetadataKey, startGrpcServer, stopGrpcServer, type GrpcEndpoint } from './grpc';

// A service whose request decoder accepts only the bytes "ok", so a test can send malformed
// requests; responses are raw bytes.
const strict = {
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: (value: Buffer) => {
    if (value.toString() !== 'ok') throw new RangeError('invalid wire type 7 at offset 0');
    return value.toString();
  },
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value,
};
const definition: grpc.ServiceDefinition = {
  unary: { path: '/test.v1.Guarded/Unary', requestStream: false, responseStream: false, originalName: 'Unary', ...strict },
  serverStream: { path: '/test.v1.Guarded/ServerStream', requestStream: false, responseStream: true, originalName: 'ServerStream', ...strict },
  bidi: { path: '/test.v1.Guarded/Bidi', requestStream: true, responseStream: true, originalName: 'Bidi', ...strict },
  throwsPlain: { path: '/test.v1.Guarded/ThrowsPlain', requestStream: false, responseStream: false, originalName: 'ThrowsPlain', ...strict },
  rejectsCoded: { path: '/test.v1.Guarded/RejectsCoded', requestStream: false, responseStream: false, originalName: 'RejectsCoded', ...strict },
  streamRejects: { path: '/test.v1.Guarded/StreamRejects', requestStream: false, responseStream: true, originalName: 'StreamRejects', ...strict },
};

const unexpected: unknown[] = [];
let endpoint: GrpcEndpoint;
let client: grpc.Client;

beforeAll(async () => {
  const implementation: grpc.UntypedServiceImplementation = {
    unary: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from('fine')),
    serverStream: (call: grpc.ServerWritableStream<string, Buffer>) => call.end(Buffer.from('fine')),
    bidi: (call: grpc.ServerDuplexStream<string, Buffer>) => {
      call.on('data', (message: string) => call.write(Buffer.from(`echo ${message}`)));
      call.on('end', () => call.end());
    },
    throwsPlain: () => {
      throw new TypeError('a bug');
    },
    // Deliberately promise-returning handlers: the guard must catch what they reject with.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    rejectsCoded: async () => {
      await Promise.resolve();
      throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', 'topic nope does not exist');
    },
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    streamRejects: async () => {
      await Promise.resolve();
      throw new StarlaneError('OFFSET_OUT_OF_RANGE', 'offset 9 is past the end');
    },
  };
  endpoint = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [{ definition, implementation }], onUnexpectedError: (error) => unexpected.push(error) });
  client = new grpc.Client(`127.0.0.1:${endpoint.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopGrpcServer(endpoint, 1000);
});

function unary(path: string, body: string): Promise<{ error: grpc.ServiceError | null; value: Buffer | undefined }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (value: Buffer) => value, (value: Buffer) => value, Buffer.from(body), (error, value) => resolve({ error, value }));
  });
}

function streamStatus(call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>): Promise<{ status: grpc.StatusObject; messages: string[] }> {
  const messages: string[] = [];
  call.on('data', (message: Buffer) => messages.push(message.toString()));
  call.on('error', () => undefined);
  return new Promise((resolve) => call.on('status', (status: grpc.StatusObject) => resolve({ status, messages })));
}

describe('the RPC guard', () => {
  it('answers a malformed unary request with INVALID_ARGUMENT and code INVALID_REQUEST', async () => {
    const { error } = await unary('/test.v1.Guarded/Unary', '\xff\xff');
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.metadata.get(errorCodeMetadataKey)).toEqual(['INVALID_REQUEST']);
    expect(error?.details).toMatch(/malformed test\.v1\.Guarded\/Unary request: invalid wire type/);
    expect((await unary('/test.v1.Guarded/Unary', 'ok')).value?.toString()).toBe('fine');
  });

  it('answers a malformed server-streaming request the same way', async () => {
    const call = client.makeServerStreamRequest('/test.v1.Guarded/ServerStream', (value: Buffer) => value, (value: Buffer) => value, Buffer.from('garbage'));
    const { status } = await streamStatus(call);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.metadata.get(errorCodeMetadataKey)).toEqual(['INVALID_REQUEST']);
  });

  it('ends a bidirectional stream at the first malformed message, after answering the good ones', async () => {
    const call = client.makeBidiStreamRequest('/test.v1.Guarded/Bidi', (value: Buffer) => value, (value: Buffer) => value);
    const outcome = streamStatus(call);
    call.write(Buffer.from('ok'));
    call.write(Buffer.from('bad'));
    const { status, messages } = await outcome;
    expect(messages).toEqual(['echo ok']);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.metadata.get(errorCodeMetadataKey)).toEqual(['INVALID_REQUEST']);
  });

  it('turns a handler that throws into INTERNAL with UNKNOWN_SERVER_ERROR and reports the bug', async () => {
    const { error } = await unary('/test.v1.Guarded/ThrowsPlain', 'ok');
    expect(error?.code).toBe(grpc.status.INTERNAL);
    expect(error?.metadata.get(errorCodeMetadataKey)).toEqual(['UNKNOWN_SERVER_ERROR']);
    expect(unexpected).toEqual([expect.objectContaining({ message: 'a bug' })]);
  });

  it('turns a rejected operating error into its catalogue status, unary and streaming', async () => {
    const { error } = await unary('/test.v1.Guarded/RejectsCoded', 'ok');
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    expect(error?.metadata.get(errorCodeMetadataKey)).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
    const call = client.makeServerStreamRequest('/test.v1.Guarded/StreamRejects', (value: Buffer) => value, (value: Buffer) => value, Buffer.from('ok'));
    const { status } = await streamStatus(call);
    expect(status.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(status.metadata.get(errorCodeMetadataKey)).toEqual(['OFFSET_OUT_OF_RANGE']);
    expect(unexpected).toHaveLength(1);
  });
});
