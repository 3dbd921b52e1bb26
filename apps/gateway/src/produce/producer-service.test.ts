import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { settle } from '../fakes';
import type { ProduceHandler, ProduceInput, QueuedProduce } from './produce-handler';
import type { ProducerIdAllocator } from './producer-ids';
import { producerService } from './producer-service';

/** A server duplex stream as far as the handler uses it. */
class FakeCall extends EventEmitter {
  readonly written: v1.ProduceStreamResponse[] = [];
  paused = false;
  ended = false;
  /** What write() answers: false as when HTTP/2 buffers are full because the client does not read. */
  writable = true;
  write(message: v1.ProduceStreamResponse): boolean {
    this.written.push(message);
    return this.writable;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): void {
    this.ended = true;
  }
}

function request(requestId: bigint, acks = v1.Acks.LEADER): v1.ProduceStreamRequest {
  return { requestId, acks, timeoutMs: 0, partitions: [{ topic: 't', partition: 0, payload: { $case: 'recordBatches', value: Buffer.from(String(requestId)) } }] };
}

describe('ProduceStream', () => {
  it('queues requests one after another, answers in request order, and stops reading at the bound', async () => {
    const queuedOrder: bigint[] = [];
    const completions = new Map<bigint, (results: v1.ProducePartitionResult[]) => void>();
    const handler = {
      queue(input: ProduceInput): Promise<QueuedProduce> {
        const id = BigInt(input.partitions[0]!.payload?.$case === 'recordBatches' ? input.partitions[0]!.payload.value.toString() : '0');
        if (input.acks === 9) return Promise.reject(new StarlaneError('INVALID_REQUIRED_ACKS', 'acks 9'));
        queuedOrder.push(id);
        return Promise.resolve({ results: new Promise<v1.ProducePartitionResult[]>((resolve) => completions.set(id, resolve)) });
      },
    } as unknown as ProduceHandler;
    const service = producerService(handler, {} as ProducerIdAllocator, 3);
    const call = new FakeCall();
    service.produceStream!(call as unknown as grpc.ServerDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse>);
    call.emit('data', request(1n));
    call.emit('data', request(2n, 9 as v1.Acks));
    call.emit('data', request(3n));
    await settle();
    expect(queuedOrder).toEqual([1n, 3n]);
    expect(call.paused).toBe(true);
    // 3 completes first, but 1 is answered first.
    completions.get(3n)!([]);
    await settle();
    expect(call.written).toEqual([]);
    completions.get(1n)!([]);
    await settle();
    expect(call.written.map((response) => [response.requestId, response.errorCode])).toEqual([
      [1n, v1.ErrorCode.NONE],
      [2n, v1.ErrorCode.INVALID_REQUIRED_ACKS],
      [3n, v1.ErrorCode.NONE],
    ]);
    expect(call.paused).toBe(false);
    call.emit('end');
    await settle();
    expect(call.ended).toBe(true);
  });

  it('stops reading requests while its responses are not being read, and resumes on drain', async () => {
    const handler = {
      queue: (): Promise<QueuedProduce> => Promise.resolve({ results: Promise.resolve([]) }),
    } as unknown as ProduceHandler;
    const service = producerService(handler, {} as ProducerIdAllocator, 100);
    const call = new FakeCall();
    call.writable = false;
    service.produceStream!(call as unknown as grpc.ServerDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse>);
    call.emit('data', request(1n));
    call.emit('data', request(2n));
    await settle();
    // The first answer filled the buffers: no more are written and no more requests are read.
    expect(call.written.map((response) => response.requestId)).toEqual([1n]);
    expect(call.paused).toBe(true);
    call.writable = true;
    call.emit('drain');
    await settle();
    expect(call.written.map((response) => response.requestId)).toEqual([1n, 2n]);
    expect(call.paused).toBe(false);
  });
});
