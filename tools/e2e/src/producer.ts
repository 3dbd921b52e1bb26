/**
 * The fault run's producer: one acks=all request at a time on its own partition, so
 * acknowledgements come in send order, every value unique. It can be paused, so that a phase of
 * the run writes nothing at all (leadership then changes with no data in the new epochs).
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import type { PublicClients } from './clients';

export interface Ack {
  readonly partition: number;
  readonly offset: bigint;
  readonly value: string;
  /** When the request was sent and when its acknowledgement arrived (wall clock). */
  readonly sentAtMs: number;
  readonly atMs: number;
}

/** How long a producer waits after a failed request before the next (bounded, as a client's retry.backoff.ms). */
export const produceRetryBackoffMs = 50;
/** Server-side timeout of each acks=all request. */
const produceTimeoutMs = 10_000;
/** Deadline of each request: the server's timeout plus room for the answer to arrive. */
const produceDeadlineMs = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Producer {
  private sequence = 0;
  private stopped = false;
  /** Resolves `pause()`'s caller once the request in flight has settled. */
  private onIdle: (() => void) | undefined;
  /** While paused: resolves the run loop on resume() or stop(). */
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  private inFlight = false;
  readonly sent = new Set<string>();
  failedRequests = 0;

  constructor(
    private readonly clients: PublicClients,
    readonly partition: number,
    private readonly recordsPerRequest: number,
    private readonly acks: Ack[],
    private readonly topicName: string,
  ) {}

  stop(): void {
    this.stopped = true;
    this.resume();
  }

  /** Stops sending; resolves once no request of this producer is in flight. */
  pause(): Promise<void> {
    if (this.gate === undefined) {
      let open = (): void => undefined;
      const promise = new Promise<void>((resolve) => (open = resolve));
      this.gate = { promise, open };
    }
    if (!this.inFlight) return Promise.resolve();
    const previous = this.onIdle;
    return new Promise((resolve) => {
      this.onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  resume(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      if (this.gate !== undefined) {
        await this.gate.promise;
        continue;
      }
      const values = Array.from({ length: this.recordsPerRequest }, () => `${this.topicName}-p${this.partition}-${this.sequence++}`);
      for (const value of values) this.sent.add(value);
      this.inFlight = true;
      const sentAtMs = Date.now();
      const result = await this.produce(values);
      this.inFlight = false;
      this.onIdle?.();
      this.onIdle = undefined;
      if (result === undefined) {
        this.failedRequests += 1;
        await sleep(produceRetryBackoffMs);
        continue;
      }
      const atMs = Date.now();
      values.forEach((value, index) => this.acks.push({ partition: this.partition, offset: result + BigInt(index), value, sentAtMs, atMs }));
    }
  }

  /** The base offset on success; undefined when the request failed or its outcome is unknown. */
  private produce(values: readonly string[]): Promise<bigint | undefined> {
    return new Promise((resolve) => {
      this.clients.producer.produce(
        {
          acks: v1.Acks.ALL,
          timeoutMs: produceTimeoutMs,
          partitions: [
            {
              topic: this.topicName,
              partition: this.partition,
              payload: {
                $case: 'records',
                value: {
                  records: values.map((value) => ({
                    nullableKey: undefined,
                    nullableValue: { $case: 'value', value: Buffer.from(value) },
                    headers: [],
                    timestampMs: 0n,
                    offset: 0n,
                    timestampType: v1.TimestampType.UNSPECIFIED,
                    leaderEpoch: 0,
                  })),
                  producer: undefined,
                  baseSequence: 0,
                },
              },
            },
          ],
        },
        new grpc.Metadata(),
        { deadline: Date.now() + produceDeadlineMs },
        (error: grpc.ServiceError | null, response?: v1.ProduceResponse) => {
          const result = response?.partitions[0];
          resolve(error === null && result !== undefined && result.errorCode === v1.ErrorCode.NONE ? result.baseOffset : undefined);
        },
      );
    });
  }
}
