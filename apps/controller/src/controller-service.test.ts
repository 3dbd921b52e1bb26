import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { MemoryMetadataStore, MetadataController, seededRandom } from '@starlane/metadata';
import { v1, type internalV1 } from '@starlane/proto';
import { createLogger } from '@starlane/service-host';
import { MetadataStreams, controllerService, watcherQueuedDeltasMax } from './controller-service';

/** A server stream whose connection takes messages only while `accepting` is set. */
class StreamDouble extends EventEmitter {
  readonly written: internalV1.WatchMetadataResponse[] = [];
  readonly request = { nodeId: 5 };
  accepting = true;
  ended = false;
  write(message: internalV1.WatchMetadataResponse): boolean {
    this.written.push(message);
    return this.accepting;
  }
  end(): void {
    this.ended = true;
  }
  getHost(): string {
    return '127.0.0.1:4321';
  }
}

const location: internalV1.ControllerLocation = { controllerId: 0, host: '127.0.0.1', port: 4321, controllerEpoch: 1n };

async function setup(): Promise<{ controller: MetadataController; streams: MetadataStreams; watch: (stream: StreamDouble) => void }> {
  const controller = await MetadataController.open({
    store: new MemoryMetadataStore(),
    clock: { nowMs: () => 0 },
    random: seededRandom(1),
    controllerId: 0,
    host: '127.0.0.1',
    port: 0,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 1000,
    initialClusterId: async () => 'AAAAAAAAAAAAAAAAAAAAAA',
  });
  const streams = new MetadataStreams();
  const handlers = controllerService(controller, () => location, streams, createLogger('controller', 'silent'));
  const watch = (stream: StreamDouble): void => {
    handlers.watchMetadata?.(stream as unknown as grpc.ServerWritableStream<internalV1.WatchMetadataRequest, internalV1.WatchMetadataResponse>);
  };
  return { controller, streams, watch };
}

describe('WatchMetadata', () => {
  it('sends the snapshot with this controller, then deltas in order, queueing while the connection is full', async () => {
    const { controller, watch } = await setup();
    const stream = new StreamDouble();
    watch(stream);
    expect(stream.written).toHaveLength(1);
    const first = stream.written[0]?.update;
    expect(first?.$case === 'snapshot' && [first.value.clusterId, first.value.controller, first.value.lastChunk]).toEqual(['AAAAAAAAAAAAAAAAAAAAAA', location, true]);

    stream.accepting = false;
    await controller.allocateProducerIds(1);
    await controller.allocateProducerIds(1);
    await controller.allocateProducerIds(1);
    // The first delta went to the (now full) connection; the other two wait.
    expect(stream.written).toHaveLength(2);
    stream.accepting = true;
    stream.emit('drain');
    expect(stream.written).toHaveLength(4);
    const versions = stream.written.map((message) => message.metadataVersion);
    expect([...versions].sort((a, b) => (a < b ? -1 : 1))).toEqual(versions);
    const bases = stream.written.slice(1).map((message) => (message.update?.$case === 'delta' ? message.update.value.baseVersion : -1n));
    expect(bases).toEqual(versions.slice(0, 3));
  });

  it(`ends a watcher more than ${watcherQueuedDeltasMax} deltas behind, so it resynchronises`, async () => {
    const { controller, streams, watch } = await setup();
    const stream = new StreamDouble();
    const errors: Partial<grpc.StatusObject>[] = [];
    stream.on('error', (error: Partial<grpc.StatusObject>) => errors.push(error));
    watch(stream);
    stream.accepting = false;
    for (let i = 0; i <= watcherQueuedDeltasMax + 1; i += 1) await controller.allocateProducerIds(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.metadata?.get('starlane-error-code')).toEqual(['METADATA_OUT_OF_SYNC']);
    expect(streams.size).toBe(0);
    // Nothing more is written to a stream that was ended.
    const count = stream.written.length;
    await controller.allocateProducerIds(1);
    stream.emit('drain');
    expect(stream.written).toHaveLength(count);
  });

  it('ends every stream with NOT_CONTROLLER when the controller stops', async () => {
    const { streams, watch } = await setup();
    const a = new StreamDouble();
    const b = new StreamDouble();
    watch(a);
    watch(b);
    b.emit('cancelled');
    expect(streams.size).toBe(1);
    streams.endAll('stopping');
    expect([a.ended, a.written.at(-1)?.errorCode, a.written.at(-1)?.errorMessage]).toEqual([true, v1.ErrorCode.NOT_CONTROLLER, 'stopping']);
    expect(b.ended).toBe(false);
  });
});
