/**
 * Produce requests over one ProduceStream with a bounded number in flight. The gateway answers
 * every request once, in request order, so the session keeps the unanswered ones in a FIFO and
 * matches each response to the oldest. The first failure (a request-level or per-partition
 * error, or the stream ending with a status) stops further sends; requests already in flight are
 * still waited for, so the acknowledged count is exact.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { ServerError, itemFailure, type CliFailure } from './errors';
import type { ProducedRecord } from './line-format';
import type { PlannedEntry } from './partitioner';

export interface SessionOptions {
  readonly topic: string;
  readonly acks: v1.Acks;
  /** How long the leaders may wait for replication (ProduceStreamRequest.timeout_ms). */
  readonly timeoutMs: number;
  /** Requests sent and not yet answered; `send` waits for an answer beyond this. */
  readonly inflightRequestsMax: number;
  /** Called per answered request with what it acknowledged. */
  readonly onAcknowledged?: (records: number, bytes: number) => void;
  /** Turns a stream error into a CliFailure (the gateway address decides the message). */
  readonly toFailure: (error: unknown) => CliFailure;
}

interface InFlight {
  readonly requestId: bigint;
  readonly records: number;
  readonly bytes: number;
}

export class ProduceSession {
  private nextRequestId = 1n;
  private readonly inFlight: InFlight[] = [];
  private wakeUp: (() => void) | undefined;
  private streamDone = false;
  private firstFailure: CliFailure | undefined;
  private cancelled = false;
  acknowledgedRecords = 0;
  acknowledgedBytes = 0;
  /** Partitions written, with the lowest base offset seen (-1 with acks none). */
  readonly partitionsWritten = new Map<number, bigint>();

  constructor(
    private readonly call: ClientDuplexStream<v1.ProduceStreamRequest, v1.ProduceStreamResponse>,
    private readonly options: SessionOptions,
  ) {
    call.on('data', (response: v1.ProduceStreamResponse) => this.onResponse(response));
    call.on('error', (error: unknown) => {
      if (!this.cancelled) this.fail(options.toFailure(error));
      this.finishStream();
    });
    call.on('status', () => this.finishStream());
  }

  get failure(): CliFailure | undefined {
    return this.firstFailure;
  }

  get inflight(): number {
    return this.inFlight.length;
  }

  /** Sends one request; waits first while `inflightRequestsMax` are unanswered. No-op after a failure. */
  async send(entries: readonly PlannedEntry[], records: number, bytes: number): Promise<void> {
    while (this.firstFailure === undefined && !this.streamDone && this.inFlight.length >= this.options.inflightRequestsMax) await this.nextEvent();
    if (this.firstFailure !== undefined || this.streamDone || entries.length === 0) return;
    const requestId = this.nextRequestId;
    this.nextRequestId += 1n;
    this.inFlight.push({ requestId, records, bytes });
    const writable = this.call.write({
      requestId,
      acks: this.options.acks,
      timeoutMs: this.options.timeoutMs,
      partitions: entries.map((entry) => ({
        topic: this.options.topic,
        partition: entry.partition,
        payload: { $case: 'records', value: { records: entry.records.map(toProtoRecord), producer: undefined, baseSequence: 0 } },
      })),
    });
    if (!writable) await new Promise<void>((resolve) => this.call.once('drain', resolve));
  }

  /** Half-closes the stream and waits until every request is answered and the stream has ended. */
  async finish(): Promise<void> {
    this.call.end();
    while (!this.streamDone) await this.nextEvent();
    if (this.inFlight.length > 0 && this.firstFailure === undefined) {
      this.fail(new ServerError('UNKNOWN_SERVER_ERROR', `the produce stream ended with ${this.inFlight.length} requests unanswered`));
    }
  }

  /** Stops at once (Ctrl-C twice, or a failure the caller cannot wait out). */
  cancel(): void {
    this.cancelled = true;
    this.call.cancel();
  }

  private onResponse(response: v1.ProduceStreamResponse): void {
    const request = this.inFlight.shift();
    if (request === undefined || request.requestId !== response.requestId) {
      this.fail(new ServerError('UNKNOWN_SERVER_ERROR', `produce response ${response.requestId} does not answer request ${request?.requestId ?? 'none'}`));
      this.notify();
      return;
    }
    const requestFailure = itemFailure(response.errorCode, response.errorMessage, `topic ${this.options.topic}`);
    let failed = requestFailure !== undefined;
    if (requestFailure !== undefined) this.fail(requestFailure);
    for (const result of response.partitions) {
      const failure = itemFailure(result.errorCode, result.errorMessage, `${result.topic}/${result.partition}`);
      if (failure !== undefined) {
        failed = true;
        this.fail(failure);
        continue;
      }
      const known = this.partitionsWritten.get(result.partition);
      if (known === undefined || (result.baseOffset >= 0n && (known < 0n || result.baseOffset < known))) this.partitionsWritten.set(result.partition, result.baseOffset);
    }
    // A request is counted only when all of its partitions succeeded: per-partition record
    // counts are not tracked, and after a failure the run stops anyway.
    if (!failed) {
      this.acknowledgedRecords += request.records;
      this.acknowledgedBytes += request.bytes;
      this.options.onAcknowledged?.(request.records, request.bytes);
    }
    this.notify();
  }

  private fail(failure: CliFailure): void {
    this.firstFailure ??= failure;
  }

  private finishStream(): void {
    this.streamDone = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private nextEvent(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }
}

function toProtoRecord(record: ProducedRecord): v1.Record {
  return {
    nullableKey: record.key === null ? undefined : { $case: 'key', value: record.key },
    nullableValue: record.value === null ? undefined : { $case: 'value', value: record.value },
    headers: record.headers.map((header) => ({ key: header.key, nullableValue: header.value === null ? undefined : { $case: 'value', value: header.value } })),
    timestampMs: 0n,
    offset: 0n,
    timestampType: v1.TimestampType.UNSPECIFIED,
    leaderEpoch: 0,
  };
}
