/**
 * Request latency and errors by code, per RPC method, for every app: Kafka's RequestMetrics
 * (`TotalTimeMs` per request type, and `ErrorsPerSec` per request type and error) in
 * Prometheus form. The service host's RPC guard times every unary call and counts the status
 * of every call that fails; apps that carry many requests over one stream (AppendStream,
 * ReadStream, ReplicaFetch, ProduceStream) time each request with `startRequest`, and report
 * the per-partition error codes of their answers, which a status cannot carry.
 *
 * Labels are bounded: `method` is one of the methods the process serves, `code` one of the
 * catalogue's codes (or a gRPC status name for a status without one).
 */
import * as grpc from '@grpc/grpc-js';
import { StarlaneError, errorCodeFromWire } from '@starlane/model';
import { Counter, Histogram, type Registry } from 'prom-client';
import { errorCodeMetadataKey } from './grpc-status';

/**
 * Upper bounds (seconds) of the latency histogram's buckets: from half a millisecond (an
 * append acknowledged by the leader alone) to 30 s (a long poll that waited its whole time, or
 * an acks=all write that timed out).
 */
export const rpcDurationBucketsSeconds: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Records one request's outcome: the error codes of its answer, none when it succeeded. */
export type RequestDone = (errorCodes?: readonly string[]) => void;

/** What apps record beyond what the guard sees; handed to them in `AppContext.rpc`. */
export interface RpcMetrics {
  /**
   * Starts timing one request of `method` (`package.Service/Method`) carried inside a stream;
   * the returned function records its latency and the error codes of its answer.
   */
  startRequest(method: string): RequestDone;
  /** Counts error codes found inside an answer whose call the guard times (per-partition results). */
  countErrors(method: string, errorCodes: readonly string[]): void;
}

/** What the guard reports: unary calls timed from handler to answer, and failed calls' codes. */
export interface GuardObserver {
  /** A unary call began; the returned function gets its status (null: it succeeded). */
  unaryStarted(method: string): (status: unknown) => void;
  /** A streaming call ended with an error status. */
  streamFailed(method: string, status: unknown): void;
}

/** The method label of a gRPC path: `/starlane.v1.ProducerService/Produce` → `starlane.v1.ProducerService/Produce`. */
export function methodLabel(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

/**
 * The code of a failed call's status: the catalogue code in its trailer (or of the
 * StarlaneError itself), else the name of its gRPC status, else UNKNOWN.
 */
export function statusCode(status: unknown): string {
  if (status instanceof StarlaneError) return status.code;
  if (typeof status !== 'object' || status === null) return 'UNKNOWN';
  const { metadata, code } = status as { metadata?: unknown; code?: unknown };
  if (metadata instanceof grpc.Metadata) {
    const value = metadata.get(errorCodeMetadataKey)[0];
    if (value !== undefined) return String(value);
  }
  if (typeof code === 'number' && grpc.status[code] !== undefined) return grpc.status[code];
  return 'UNKNOWN';
}

/** The catalogue codes of the failed results in an answer (`error_code` in Kafka's numbering; 0 is success). */
export function failedResultCodes(results: readonly { readonly errorCode: number }[]): string[] {
  const codes: string[] = [];
  for (const result of results) {
    const code = errorCodeFromWire(result.errorCode);
    if (code !== undefined) codes.push(code);
  }
  return codes;
}

/** Registers the two metrics in `registry`; returns the app-facing recorder and the guard's observer. */
export function createRpcMetrics(registry: Registry): { rpc: RpcMetrics; guard: GuardObserver } {
  const duration = new Histogram({
    name: 'starlane_rpc_request_duration_seconds',
    help: 'Time from receiving a request to answering it, by RPC method (Kafka: RequestMetrics TotalTimeMs); requests carried in streams are timed one by one',
    labelNames: ['method'],
    buckets: [...rpcDurationBucketsSeconds],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'starlane_rpc_errors_total',
    help: 'Error codes answered, by RPC method and code: failed calls, failed requests in streams and failed partitions in answers (Kafka: RequestMetrics ErrorsPerSec)',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const countErrors = (method: string, errorCodes: readonly string[]): void => {
    for (const code of errorCodes) errors.inc({ method, code });
  };
  return {
    rpc: {
      startRequest(method) {
        const stop = duration.startTimer({ method });
        return (errorCodes = []) => {
          stop();
          countErrors(method, errorCodes);
        };
      },
      countErrors,
    },
    guard: {
      unaryStarted(method) {
        const stop = duration.startTimer({ method });
        return (status) => {
          stop();
          if (status !== null && status !== undefined) errors.inc({ method, code: statusCode(status) });
        };
      },
      streamFailed(method, status) {
        errors.inc({ method, code: statusCode(status) });
      },
    },
  };
}
