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
  /** JoinGroup with an empty member id (KIP-394): rejoin with the id the answer carries. Not
   * retriable unchanged (Kafka's MemberIdRequiredException is no RetriableException). */
  MEMBER_ID_REQUIRED: { kafkaCode: 79, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  BROKER_NOT_AVAILABLE: { kafkaCode: 8, grpcStatus: S.UNAVAILABLE, retriable: true },
  STALE_CONTROLLER_EPOCH: { kafkaCode: 11, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  OFFSET_METADATA_TOO_LARGE: { kafkaCode: 12, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  RECORD_LIST_TOO_LARGE: { kafkaCode: 18, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  INVALID_REQUIRED_ACKS: { kafkaCode: 21, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  INVALID_TIMESTAMP: { kafkaCode: 32, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  INVALID_REPLICA_ASSIGNMENT: { kafkaCode: 39, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  POLICY_VIOLATION: { kafkaCode: 44, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  OPERATION_NOT_ATTEMPTED: { kafkaCode: 55, grpcStatus: S.ABORTED, retriable: false },
  KAFKA_STORAGE_ERROR: { kafkaCode: 56, grpcStatus: S.UNAVAILABLE, retriable: true },
  LOG_DIR_NOT_FOUND: { kafkaCode: 57, grpcStatus: S.NOT_FOUND, retriable: false },
  REASSIGNMENT_IN_PROGRESS: { kafkaCode: 60, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  NON_EMPTY_GROUP: { kafkaCode: 68, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  GROUP_ID_NOT_FOUND: { kafkaCode: 69, grpcStatus: S.NOT_FOUND, retriable: false },
  TOPIC_DELETION_DISABLED: { kafkaCode: 73, grpcStatus: S.PERMISSION_DENIED, retriable: false },
  UNSUPPORTED_COMPRESSION_TYPE: { kafkaCode: 76, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  STALE_BROKER_EPOCH: { kafkaCode: 77, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  OFFSET_NOT_AVAILABLE: { kafkaCode: 78, grpcStatus: S.UNAVAILABLE, retriable: true },
  GROUP_MAX_SIZE_REACHED: { kafkaCode: 81, grpcStatus: S.RESOURCE_EXHAUSTED, retriable: false },
  FENCED_INSTANCE_ID: { kafkaCode: 82, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  NO_REASSIGNMENT_IN_PROGRESS: { kafkaCode: 85, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  PRODUCER_FENCED: { kafkaCode: 90, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  INVALID_UPDATE_VERSION: { kafkaCode: 95, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  UNKNOWN_TOPIC_ID: { kafkaCode: 100, grpcStatus: S.NOT_FOUND, retriable: true },
  DUPLICATE_BROKER_REGISTRATION: { kafkaCode: 101, grpcStatus: S.ALREADY_EXISTS, retriable: false },
  BROKER_ID_NOT_REGISTERED: { kafkaCode: 102, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  INCONSISTENT_TOPIC_ID: { kafkaCode: 103, grpcStatus: S.FAILED_PRECONDITION, retriable: true },
  INCONSISTENT_CLUSTER_ID: { kafkaCode: 104, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  INELIGIBLE_REPLICA: { kafkaCode: 107, grpcStatus: S.FAILED_PRECONDITION, retriable: false },
  NEW_LEADER_ELECTED: { kafkaCode: 108, grpcStatus: S.ABORTED, retriable: true },
  INVALID_RECORD: { kafkaCode: 87, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  /** A quota is exceeded or a bounded queue is full; the client backs off and retries. Kafka's
   * name is kept (KIP-599 answers it when controller mutations exceed their quota). */
  THROTTLING_QUOTA_EXCEEDED: { kafkaCode: 89, grpcStatus: S.RESOURCE_EXHAUSTED, retriable: true },
  /** The RPC is part of the contract but this release has no handler for it yet. */
  NOT_IMPLEMENTED: { kafkaCode: 35, grpcStatus: S.UNIMPLEMENTED, retriable: false },
  /** A process was started with a configuration it cannot run with. */
  CONFIG_INVALID: { kafkaCode: null, grpcStatus: S.INVALID_ARGUMENT, retriable: false },
  /** A data or metadata directory cannot be created, written or synced. */
  STORAGE_UNAVAILABLE: { kafkaCode: null, grpcStatus: S.UNAVAILABLE, retriable: false },
  /** The process asked is not the active controller; the answer names the one that is. */
  NOT_CONTROLLER: { kafkaCode: 41, grpcStatus: S.UNAVAILABLE, retriable: true },
  /** A newer group session stream took over this member id (wire code 1000). */
  SESSION_REPLACED: { kafkaCode: null, grpcStatus: S.ABORTED, retriable: false },
  /** A metadata delta does not follow the receiver's image; resynchronise from a snapshot. */
  METADATA_OUT_OF_SYNC: { kafkaCode: null, grpcStatus: S.FAILED_PRECONDITION, retriable: true },
  /** No controller could be reached (or none is active) to forward an admin call to; retry later. */
  CONTROLLER_NOT_AVAILABLE: { kafkaCode: null, grpcStatus: S.UNAVAILABLE, retriable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** A programmer error: an invariant the code itself broke. Never caught and handled. */
export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}

/** The codes Kafka has no error for. */
type StarlaneOnlyCode = {
  [Code in ErrorCode]: (typeof errorCatalogue)[Code]['kafkaCode'] extends null ? Code : never;
}[ErrorCode];

/**
 * Wire numbers (proto `ErrorCode` values >= 1000) of the codes whose proto value is not Kafka's
 * number: every Starlane-only code (the type makes this total), and NOT_IMPLEMENTED, which
 * Kafka clients are answered as UNSUPPORTED_VERSION but which must stay distinct on the gRPC API.
 * Keep in step with proto/starlane/v1/common.proto; a test in libs/metadata-rpc ties the two.
 */
const starlaneWireCodes: Readonly<Record<StarlaneOnlyCode | 'NOT_IMPLEMENTED', number>> = {
  SESSION_REPLACED: 1000,
  NOT_IMPLEMENTED: 1001,
  CONFIG_INVALID: 1002,
  STORAGE_UNAVAILABLE: 1003,
  METADATA_OUT_OF_SYNC: 1004,
  CONTROLLER_NOT_AVAILABLE: 1005,
};

function hasStarlaneWireCode(code: ErrorCode): code is keyof typeof starlaneWireCodes {
  return Object.prototype.hasOwnProperty.call(starlaneWireCodes, code);
}

/**
 * The number carried in a proto `ErrorCode` field: Kafka's number where Kafka has the error,
 * else the code's Starlane number (>= 1000). Distinct for every code, so each round-trips.
 */
export function wireErrorCode(code: ErrorCode): number {
  if (hasStarlaneWireCode(code)) return starlaneWireCodes[code];
  const kafkaCode = errorCatalogue[code].kafkaCode;
  assert(kafkaCode !== null, `${code} has neither a Kafka nor a Starlane wire number`);
  return kafkaCode;
}

const codesByWireNumber = new Map<number, ErrorCode>();
for (const code of Object.keys(errorCatalogue) as ErrorCode[]) {
  const wire = wireErrorCode(code);
  assert(!codesByWireNumber.has(wire), `${code} and ${codesByWireNumber.get(wire)} share wire number ${wire}`);
  codesByWireNumber.set(wire, code);
}

/**
 * The catalogue name for a wire number: undefined for 0 (NONE), UNKNOWN_SERVER_ERROR for a
 * number this release does not know (a newer peer's code), as proto/starlane/v1/common.proto asks.
 */
export function errorCodeFromWire(wire: number): ErrorCode | undefined {
  if (wire === 0) return undefined;
  return codesByWireNumber.get(wire) ?? 'UNKNOWN_SERVER_ERROR';
}

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
