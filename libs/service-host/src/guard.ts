/**
 * The safety net around every RPC handler, so client input can never take a server down and
 * every failure reaches the client as a status with a stable code:
 *
 * - request bytes that do not decode become INVALID_ARGUMENT with code INVALID_REQUEST
 *   (grpc-js alone answers INTERNAL without a code);
 * - a handler that throws, or whose returned promise rejects, answers the call with the
 *   error's catalogue status (a StarlaneError) or INTERNAL / UNKNOWN_SERVER_ERROR (anything
 *   else, reported to `onUnexpected` because it is a bug), instead of an unhandled rejection
 *   that would end the process;
 * - and, being the one place every call passes, it tells the `observer` (the RPC metrics) when
 *   each unary call began and how it was answered, and which streaming calls failed with what.
 */
import type * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { toGrpcError } from './grpc-status';
import { methodLabel, type GuardObserver } from './rpc-metrics';

/** Stands in for a request message whose bytes did not decode. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

function malformedStatus(request: MalformedRequest, path: string): Partial<grpc.StatusObject> {
  return toGrpcError(new StarlaneError('INVALID_REQUEST', `malformed ${path.slice(1)} request: ${request.reason}`));
}

export type UnexpectedErrorHandler = (error: unknown, method: string) => void;

function statusFor(error: unknown, path: string, onUnexpected: UnexpectedErrorHandler): Partial<grpc.StatusObject> {
  if (error instanceof StarlaneError) return toGrpcError(error);
  onUnexpected(error, path);
  return toGrpcError(new StarlaneError('UNKNOWN_SERVER_ERROR', `${path.slice(1)} failed unexpectedly; the server log has the details`));
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A copy of `definition` whose request decoders never throw (they yield MalformedRequest). */
export function tolerantDefinition(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    methods[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (error) {
          return new MalformedRequest(error instanceof Error ? error.message : String(error));
        }
      },
    };
  }
  return methods as grpc.ServiceDefinition;
}

/** Wraps every handler of `implementation` (see the module comment). Use with `tolerantDefinition`. */
export function guardImplementation(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  onUnexpected: UnexpectedErrorHandler,
  observer?: GuardObserver,
): grpc.UntypedServiceImplementation {
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = implementation[name] as ((...args: unknown[]) => unknown) | undefined;
    if (handler === undefined) continue;
    const path = method.path;
    const label = methodLabel(path);
    if (!method.requestStream && !method.responseStream) {
      guarded[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const observed = observer?.unaryStarted(label);
        let answered = false;
        const once: grpc.sendUnaryData<unknown> = (error, value) => {
          if (answered) return;
          answered = true;
          observed?.(error);
          callback(error, value);
        };
        if (call.request instanceof MalformedRequest) return once(malformedStatus(call.request, path), null);
        const fail = (error: unknown): void => once(statusFor(error, path, onUnexpected), null);
        try {
          const result = handler(call, once);
          if (isPromise(result)) result.catch(fail);
        } catch (error) {
          fail(error);
        }
      };
      continue;
    }
    const streaming = (call: grpc.ServerDuplexStream<unknown, unknown> & { request?: unknown }): void => {
      // Handlers end a stream with an error status by emitting it (grpc-js turns it into the status).
      if (observer !== undefined) call.on('error', (status: unknown) => observer.streamFailed(label, status));
      const fail = (status: Partial<grpc.StatusObject>): void => {
        if (call.destroyed || call.writableEnded) return;
        call.emit('error', status);
      };
      if (!method.requestStream && call.request instanceof MalformedRequest) return fail(malformedStatus(call.request, path));
      if (method.requestStream) {
        // Incoming messages reach the handler through push(); a malformed one ends the call.
        const push = call.push.bind(call);
        call.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
          if (chunk instanceof MalformedRequest) {
            fail(malformedStatus(chunk, path));
            return false;
          }
          return push(chunk, encoding);
        };
      }
      const failWith = (error: unknown): void => fail(statusFor(error, path, onUnexpected));
      try {
        const result = handler(call);
        if (isPromise(result)) result.catch(failWith);
      } catch (error) {
        failWith(error);
      }
    };
    guarded[name] = streaming as grpc.UntypedHandleCall;
  }
  return guarded;
}
