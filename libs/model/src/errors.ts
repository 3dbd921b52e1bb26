/**
 * The one catalogue of operating errors. Every error a client can see has a stable name
 * here, and the same entry decides its gRPC status and its Kafka wire error code, so the
 * gRPC API and the Kafka listener never disagree about what went wrong.
 *
 * Programmer errors are not listed: they are assertions (see `assert`), not codes.
 */

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), kept here so
 * domain code can name them without depending on a gRPC library. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

export interface ErrorSpec {
  /** Kafka protocol error code, or null where Kafka has none (Starlane-only errors). */
  readonly kafkaCode: number | null;
  readonly grpcStatus: GrpcStatusCode;
  /** Whether a client may retry the same request unchanged (after a metadata refresh). */
  readonly retriable: boolean;
}

const S = GrpcStatus;

export const errorCatalogue = {
  UNKNOWN_SERVER_ERROR: { kafkaCode: -1, grpcStatus: S.INTERNAL, retriable: false },
  OFFSET_OUT_OF_RANGE: { kafkaCode: 1, grpcStatus: S.OUT_OF_RANGE, retriable: false },
  CORRUPT_MESSAGE: { kafkaCode: 2, grpcStatus: S.INVALID_ARGUMENT, retriable: true },
  UNKNOWN_TOPIC_OR_PARTITION: { kafkaCode: 3, grpcStatus: S.NOT_FOUND, retriable: true },
  LEADER_NOT_AVAILABLE: { kafkaCode: 5, grpcStatus: S.UNAVAILABLE, retriable: true },
  NOT_LEADER_OR_FOLLOWER: { kafkaCode: 6, grpcStatus: S.UNAVAILABLE, retriable: true },
  REQUEST_TIMED_OUT: { kafkaCode: 7, grpcStatus: S.DEADLINE_EXCEEDED, retriable: true },
  MESSAGE_TOO_LARGE: { kafkaCode: 10, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  COORDINATOR_LOAD_IN_PROGRESS: { kafkaCode: 14, grpcStatus: S.UNAVAILABLE, retriable: true },
  COORDINATOR_NOT_AVAILABLE: { kafkaCode: 15, grpcStatus: S.UNAVAILABLE, retriable: true },
  NOT_COORDINATOR: { kafkaCode: 16, grpcStatus: S.UNAVAILABLE, retriable: true },
  INVALID_TOPIC_EXCEPTION: { kafkaCode: 17, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  NOT_ENOUGH_REPLICAS: { kafkaCode: 19, grpcStatus: S.UNAVAILABLE, retriable: true },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { kafkaCode: 20, grpcStatus: S.UNAVAILABLE, retriable: true },
  ILLEGAL_GENERATION: { kafkaCode: 22, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  INCONSISTENT_GROUP_PROTOCOL: { kafkaCode: 23, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  INVALID_GROUP_ID: { kafkaCode: 24, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  UNKNOWN_MEMBER_ID: { kafkaCode: 25, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  INVALID_SESSION_TIMEOUT: { kafkaCode: 26, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  REBALANCE_IN_PROGRESS: { kafkaCode: 27, grpcStatus: S.ABORTED, retriable: true },
  UNSUPPORTED_VERSION: { kafkaCode: 35, grpcStatus: S.UNIMPLEMENTED, retriable: false },
  TOPIC_ALREADY_EXISTS: { kafkaCode: 36, grpcStatus: S.ALREADY_EXISTS, retriable: false },
  INVALID_PARTITIONS: { kafkaCode: 37, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  INVALID_REPLICATION_FACTOR: { kafkaCode: 38, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  INVALID_REQUEST: { kafkaCode: 42, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  INVALID_CONFIG: { kafkaCode: 40, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { kafkaCode: 45, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  DUPLICATE_SEQUENCE_NUMBER: { kafkaCode: 46, grpcStatus: S.ALREADY_EXISTS, retriable: false },
  INVALID_PRODUCER_EPOCH: { kafkaCode: 47, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  UNKNOWN_PRODUCER_ID: { kafkaCode: 59, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  FENCED_LEADER_EPOCH: { kafkaCode: 74, grpcStatus: S.FAILED_PRECONDITION, retriable: true },
  UNKNOWN_LEADER_EPOCH: { kafkaCode: 75, grpcStatus: S.UNAVAILABLE, retriable: true },
  MEMBER_ID_REQUIRED: { kafkaCode: 79, grpcStatus: S.FAILED_PRECONDITION, retriable: true },
  INVALID_RECORD: { kafkaCode: 87, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  /** A queue is full; the client should back off and retry (Kafka's THROTTLING_QUOTA_EXCEEDED). */
  THROTTLED: { kafkaCode: 89, grpcStatus: S.RESOURCE_EXHAUSTED, retriable: true },
  /** The RPC is part of the contract but this release has no handler for it yet. */
  NOT_IMPLEMENTED: { kafkaCode: 35, grpcStatus: S.UNIMPLEMENTED, retriable: false },
  /** A process was started with a configuration it cannot run with. */
  CONFIG_INVALID: { kafkaCode: null, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  /** A data or metadata directory cannot be created, written or synced. */
  STORAGE_UNAVAILABLE: { kafkaCode: null, grpcStatus: S.UNAVAILABLE, retriable: false },
  /** The process asked is not the active controller; the answer names the one that is. */
  NOT_CONTROLLER: { kafkaCode: 41, grpcStatus: S.UNAVAILABLE, retriable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.prototype.hasOwnProperty.call(errorCatalogue, value);
}

/** An operating error: something the world did (bad input, a dead peer, a full disk). */
export class StarlaneError extends Error {
  override readonly name = 'StarlaneError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get spec(): ErrorSpec {
    return errorCatalogue[this.code];
  }
}

/** A programmer error: an invariant the code itself broke. Never caught and handled. */
export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}
