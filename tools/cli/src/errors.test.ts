import { Metadata, status } from '@grpc/grpc-js';
import { LocalFailure, ServerError, UnreachableError, UsageError, exitCodes, fromGrpcFailure, itemFailure, toFailure } from './errors';

function grpcError(code: number, details: string, trailer?: string): Error & { code: number; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (trailer !== undefined) metadata.set('starlane-error-code', trailer);
  return Object.assign(new Error(details), { code, details, metadata });
}

describe('exit codes', () => {
  it('are 1 for server answers, 2 for usage, 3 for no answer', () => {
    expect(new ServerError('X', 'y').exitCode).toBe(exitCodes.serverError);
    expect(new UsageError('y').exitCode).toBe(exitCodes.usage);
    expect(new UnreachableError('y').exitCode).toBe(exitCodes.unreachable);
    expect(new LocalFailure('y').exitCode).toBe(1);
    expect(exitCodes).toEqual({ ok: 0, serverError: 1, usage: 2, unreachable: 3 });
  });
});

describe('fromGrpcFailure', () => {
  it('trusts the starlane-error-code trailer whatever the status', () => {
    const notFound = fromGrpcFailure(grpcError(status.NOT_FOUND, 'topic t does not exist', 'UNKNOWN_TOPIC_OR_PARTITION'), 'g:1');
    expect(notFound).toBeInstanceOf(ServerError);
    expect(notFound.describe()).toBe('UNKNOWN_TOPIC_OR_PARTITION: topic t does not exist');
    const timedOut = fromGrpcFailure(grpcError(status.DEADLINE_EXCEEDED, 'replicas too slow', 'REQUEST_TIMED_OUT'), 'g:1');
    expect(timedOut.exitCode).toBe(1);
    const unavailable = fromGrpcFailure(grpcError(status.UNAVAILABLE, 'no leader', 'LEADER_NOT_AVAILABLE'), 'g:1');
    expect(unavailable.exitCode).toBe(1);
  });

  it('treats UNAVAILABLE and DEADLINE_EXCEEDED without the trailer as no answer', () => {
    const refused = fromGrpcFailure(
      grpcError(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9. Resolution note: '),
      '127.0.0.1:9',
    );
    expect(refused).toBeInstanceOf(UnreachableError);
    expect(refused.describe()).toBe('gateway 127.0.0.1:9 is unreachable (connect ECONNREFUSED 127.0.0.1:9)');
    expect(fromGrpcFailure(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), 'g:1').exitCode).toBe(3);
  });

  it('names other statuses without the trailer by their gRPC name', () => {
    const failure = fromGrpcFailure(grpcError(status.UNIMPLEMENTED, 'unknown service'), 'g:1');
    expect(failure.exitCode).toBe(1);
    expect(failure.describe()).toBe('UNIMPLEMENTED: unknown service');
  });
});

describe('itemFailure', () => {
  it('is undefined for NONE and names the catalogue code otherwise', () => {
    expect(itemFailure(0, '', 'topic t')).toBeUndefined();
    expect(itemFailure(3, 'topic t does not exist', 'topic t')!.describe()).toBe('UNKNOWN_TOPIC_OR_PARTITION: topic t does not exist');
    expect(itemFailure(36, 'exists', 'topic t')!.describe()).toBe('TOPIC_ALREADY_EXISTS: exists (topic t)');
    expect(itemFailure(7, '', 'orders/0')!.describe()).toBe('REQUEST_TIMED_OUT: orders/0');
    expect(itemFailure(9999, 'strange', 'x')!.code).toBe('UNKNOWN_SERVER_ERROR');
  });
});

describe('toFailure', () => {
  it('keeps CLI failures, maps gRPC errors, and reports anything else as a local failure', () => {
    const usage = new UsageError('bad');
    expect(toFailure(usage, 'g:1')).toBe(usage);
    expect(toFailure(grpcError(status.UNAVAILABLE, 'x'), 'g:1')).toBeInstanceOf(UnreachableError);
    expect(toFailure(new Error('disk on fire'), 'g:1')).toBeInstanceOf(LocalFailure);
  });

  it('strips grpc-js boilerplate from every message, relayed ones included, and never doubles the code', () => {
    const relayed = fromGrpcFailure(
      grpcError(status.UNAVAILABLE, 'controller at 127.0.0.1:9091: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9091. Resolution note: ', 'CONTROLLER_NOT_AVAILABLE'),
      'g:1',
    );
    expect(relayed.describe()).toBe('CONTROLLER_NOT_AVAILABLE: controller at 127.0.0.1:9091: connect ECONNREFUSED 127.0.0.1:9091');
    expect(fromGrpcFailure(grpcError(status.UNAVAILABLE, '14 UNAVAILABLE: No connection established. Last error: Error: connect EHOSTUNREACH 10.0.0.1:9090. Resolution note: '), '10.0.0.1:9090').describe()).toBe(
      'gateway 10.0.0.1:9090 is unreachable (connect EHOSTUNREACH 10.0.0.1:9090)',
    );
    expect(new ServerError('NOT_CONTROLLER', 'NOT_CONTROLLER').describe()).toBe('NOT_CONTROLLER');
    expect(new ServerError('KAFKA_STORAGE_ERROR', 'KAFKA_STORAGE_ERROR: disk full').describe()).toBe('KAFKA_STORAGE_ERROR: disk full');
  });
});
