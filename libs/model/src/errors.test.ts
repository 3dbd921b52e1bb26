import { GrpcStatus, StarlaneError, assert, errorCatalogue, errorCodeFromWire, isErrorCode, wireErrorCode, AssertionFailure, type ErrorCode } from './errors';

describe('error catalogue', () => {
  it('maps every code to a valid gRPC status', () => {
    const errorStatuses = new Set<number>(Object.values(GrpcStatus).filter((status) => status !== GrpcStatus.OK));
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      expect({ code, ok: errorStatuses.has(spec.grpcStatus) }).toEqual({ code, ok: true });
    }
  });

  it('keeps Kafka error codes unique except for deliberate aliases', () => {
    const byKafka = new Map<number, string[]>();
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      if (spec.kafkaCode === null) continue;
      byKafka.set(spec.kafkaCode, [...(byKafka.get(spec.kafkaCode) ?? []), code]);
    }
    const shared = [...byKafka.values()].filter((codes) => codes.length > 1);
    // NOT_IMPLEMENTED is answered to Kafka clients as UNSUPPORTED_VERSION on purpose.
    expect(shared).toEqual([['UNSUPPORTED_VERSION', 'NOT_IMPLEMENTED']]);
  });

  it('gives every code its own wire number, Kafka\'s where Kafka has the error', () => {
    const codes = Object.keys(errorCatalogue) as ErrorCode[];
    expect(codes.filter((code) => errorCodeFromWire(wireErrorCode(code)) !== code)).toEqual([]);
    expect(wireErrorCode('MEMBER_ID_REQUIRED')).toBe(79);
    expect(wireErrorCode('THROTTLING_QUOTA_EXCEEDED')).toBe(89);
    // Kafka clients get UNSUPPORTED_VERSION (35) for it; the gRPC API keeps it distinct.
    expect(wireErrorCode('NOT_IMPLEMENTED')).toBeGreaterThanOrEqual(1000);
    expect(errorCodeFromWire(0)).toBeUndefined();
  });

  it('carries a code and its spec on StarlaneError', () => {
    const error = new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', 'topic "a" does not exist');
    expect(error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(error.spec.kafkaCode).toBe(3);
    expect(error.spec.grpcStatus).toBe(GrpcStatus.NOT_FOUND);
    expect(error).toBeInstanceOf(Error);
  });

  it('recognises catalogue names only', () => {
    expect(isErrorCode('MESSAGE_TOO_LARGE')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('turns a broken invariant into an AssertionFailure', () => {
    expect(() => assert(false, 'offsets go forward')).toThrow(AssertionFailure);
    expect(() => assert(true, 'fine')).not.toThrow();
  });
});
