/**
 * A unary call of a generated grpc-js client as a promise, for tests that talk to real
 * processes: one place for the callback plumbing every process test needs.
 */
import * as grpc from '@grpc/grpc-js';

/** A generated client's unary method in its full form (request, metadata, options, callback). */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** Deadline of a test's call when it names none: room for a busy shared machine. */
export const unaryTimeoutMsDefault = 30_000;

/** Calls `method` of `client` with a deadline `timeoutMs` from now (Infinity: none); rejects with the ServiceError. */
export function unaryCall<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req, timeoutMs = unaryTimeoutMsDefault): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** The outcome of a unary call, error included, for tests that expect failures. */
export async function unaryAttempt<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req, timeoutMs = unaryTimeoutMsDefault): Promise<{ response?: Res; error?: grpc.ServiceError }> {
  try {
    return { response: await unaryCall(client, method, request, timeoutMs) };
  } catch (error) {
    return { error: error as grpc.ServiceError };
  }
}
