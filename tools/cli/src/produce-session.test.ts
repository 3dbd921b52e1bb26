import { EventEmitter } from 'node:events';
import { Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { ServerError, fromGrpcFailure, toFailure } from './errors';
import { ProduceSession } from './produce-session';
import type { PlannedEntry } from './partitioner';

/** A ProduceStream stand-in: records what is written, and lets the test answer. */
class FakeStream extends EventEmitter {
  readonly written: v1.ProduceStreamRequest[] = [];
  ended = false;
  cancelled = false;

  write(request: v1.ProduceStreamRequest): boolean {
    this.written.push(request);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  cancel(): void {
    this.cancelled = true;
    this.emit('error', Object.assign(new Error('cancelled'), { code: status.CANCELLED, details: 'Cancelled on client', metadata: new Metadata() }));
  }

  answer(requestId: bigint, results: Partial<v1.ProducePartitionResult>[], errorCode = 0): void {
    const partitions = results.map((result) => ({ topic: 't', partition: 0, baseOffset: 0n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorCode: 0, errorMessage: '', ...result }));
    this.emit('data', { requestId, partitions, errorCode, errorMessage: errorCode === 0 ? '' : 'bad request' });
  }

  close(): void {
    this.emit('status', { code: status.OK, details: '', metadata: new Metadata() });
  }
}

const entry = (partition: number, values: string[]): PlannedEntry => ({
  partition,
  records: values.map((value) => ({ key: null, value: Buffer.from(value), headers: [] })),
});

function session(stream: FakeStream, inflightRequestsMax = 2): ProduceSession {
  return new ProduceSession(stream as unknown as ClientDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse>, {
    topic: 't',
    acks: v1.Acks.ALL,
    timeoutMs: 0,
    inflightRequestsMax,
    toFailure: (error) => toFailure(error, 'g:1'),
  });
}

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ProduceSession', () => {
  it('numbers requests, sends structured records and counts what is acknowledged', async () => {
    const stream = new FakeStream();
    const producer = session(stream);
    await producer.send([entry(0, ['a', 'b']), entry(1, ['c'])], 3, 3);
    expect(stream.written).toHaveLength(1);
    const request = stream.written[0]!;
    expect(request.requestId).toBe(1n);
    expect(request.partitions.map((partition) => [partition.topic, partition.partition, partition.payload?.$case])).toEqual([
      ['t', 0, 'records'],
      ['t', 1, 'records'],
    ]);
    const payload = request.partitions[0]!.payload;
    expect(payload?.$case === 'records' ? payload.value.records.map((record) => record.nullableValue?.value.toString()) : []).toEqual(['a', 'b']);
    expect(payload?.$case === 'records' ? payload.value.records[0]!.nullableKey : 'none').toBeUndefined();

    stream.answer(1n, [
      { partition: 0, baseOffset: 10n },
      { partition: 1, baseOffset: 4n },
    ]);
    const finished = producer.finish();
    stream.close();
    await finished;
    expect(stream.ended).toBe(true);
    expect(producer.failure).toBeUndefined();
    expect([producer.acknowledgedRecords, producer.acknowledgedBytes]).toEqual([3, 3]);
    expect([...producer.partitionsWritten]).toEqual([
      [0, 10n],
      [1, 4n],
    ]);
  });

  it('keeps at most inflightRequestsMax requests unanswered', async () => {
    const stream = new FakeStream();
    const producer = session(stream, 2);
    await producer.send([entry(0, ['1'])], 1, 1);
    await producer.send([entry(0, ['2'])], 1, 1);
    let third = false;
    const sending = producer.send([entry(0, ['3'])], 1, 1).then(() => (third = true));
    await settle();
    expect([stream.written.length, third]).toEqual([2, false]);
    stream.answer(1n, [{}]);
    await sending;
    expect(stream.written.map((request) => request.requestId)).toEqual([1n, 2n, 3n]);
    expect(producer.inflight).toBe(2);
  });

  it('stops sending after a failed partition and reports the first failure', async () => {
    const stream = new FakeStream();
    const producer = session(stream, 4);
    await producer.send([entry(0, ['1'])], 1, 1);
    await producer.send([entry(0, ['2'])], 1, 1);
    stream.answer(1n, [{ errorCode: v1.ErrorCode.NOT_ENOUGH_REPLICAS, errorMessage: 'isr too small' }]);
    stream.answer(2n, [{ errorCode: v1.ErrorCode.REQUEST_TIMED_OUT }]);
    await producer.send([entry(0, ['3'])], 1, 1);
    expect(stream.written).toHaveLength(2);
    expect(producer.failure?.describe()).toBe('NOT_ENOUGH_REPLICAS: isr too small (t/0)');
    expect(producer.acknowledgedRecords).toBe(0);
  });

  it('fails on a request-level error code', async () => {
    const stream = new FakeStream();
    const producer = session(stream);
    await producer.send([entry(0, ['1'])], 1, 1);
    stream.answer(1n, [], v1.ErrorCode.INVALID_REQUEST);
    expect(producer.failure).toBeInstanceOf(ServerError);
    expect(producer.failure?.describe()).toBe('INVALID_REQUEST: bad request (topic t)');
  });

  it('fails when a response does not answer the oldest request', async () => {
    const stream = new FakeStream();
    const producer = session(stream);
    await producer.send([entry(0, ['1'])], 1, 1);
    stream.answer(7n, [{}]);
    expect(producer.failure?.describe()).toContain('does not answer request 1');
  });

  it('turns a stream failure into the mapped failure and releases waiting sends', async () => {
    const stream = new FakeStream();
    const producer = session(stream, 1);
    await producer.send([entry(0, ['1'])], 1, 1);
    const blocked = producer.send([entry(0, ['2'])], 1, 1);
    const lost = Object.assign(new Error('lost'), { code: status.UNAVAILABLE, details: 'Connection dropped', metadata: new Metadata() });
    stream.emit('error', lost);
    await blocked;
    expect(stream.written).toHaveLength(1);
    expect(producer.failure?.describe()).toBe(fromGrpcFailure(lost, 'g:1').describe());
    expect(producer.failure?.exitCode).toBe(3);
    await producer.finish();
  });

  it('reports requests left unanswered when the stream ends early', async () => {
    const stream = new FakeStream();
    const producer = session(stream);
    await producer.send([entry(0, ['1'])], 1, 1);
    const finished = producer.finish();
    stream.close();
    await finished;
    expect(producer.failure?.describe()).toContain('ended with 1 requests unanswered');
  });

  it('ignores the cancellation it caused itself', () => {
    const stream = new FakeStream();
    const producer = session(stream);
    producer.cancel();
    expect(stream.cancelled).toBe(true);
    expect(producer.failure).toBeUndefined();
  });
});
