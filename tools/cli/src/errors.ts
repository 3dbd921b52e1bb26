/**
 * What can go wrong in a command, sorted by who is at fault, and the exit code each gets.
 * Scripts branch on the exit code, so the mapping is part of the CLI's contract
 * (docs/cli.md, "Exit codes").
 */
import { status as GrpcStatusCode, type Metadata } from '@grpc/grpc-js';
import { errorCodeFromWire, isErrorCode, transportDetail } from '@starlane/model';

export const exitCodes = {
  ok: 0,
  /** The gateway (or a server behind it) answered with an error. */
  serverError: 1,
  /** The command line, or the input the command was given, cannot be used. */
  usage: 2,
  /** No answer: the gateway is unreachable, or a deadline passed without a reply. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The trailer in which Starlane servers send the catalogue name of an error. */
export const errorCodeTrailer = 'starlane-error-code';

/** A failure that ends a command with a known exit code and a one-line message. */
export abstract class CliFailure extends Error {
  abstract readonly exitCode: ExitCode;
  /** The line printed on stderr, after `error: `. */
  abstract describe(): string;
}

/** The command line or the command's input is wrong; nothing was asked of the server because of it. */
export class UsageError extends CliFailure {
  override readonly name = 'UsageError';
  readonly exitCode = exitCodes.usage;

  /** `command` names the command whose `--help` explains the mistake, e.g. `topics create`. */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }

  describe(): string {
    return this.message;
  }
}

/** The server answered, with an error: `code` is the catalogue name (or, lacking one, the gRPC status name). */
export class ServerError extends CliFailure {
  override readonly name = 'ServerError';
  readonly exitCode = exitCodes.serverError;

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  describe(): string {
    // A message that already starts with the code (a server that put it there) keeps it once.
    if (this.message === '' || this.message === this.code) return this.code;
    return this.message.startsWith(`${this.code}: `) ? this.message : `${this.code}: ${this.message}`;
  }
}

/** No answer came: connection refused, connection lost, or the deadline passed. */
export class UnreachableError extends CliFailure {
  override readonly name = 'UnreachableError';
  readonly exitCode = exitCodes.unreachable;

  describe(): string {
    return this.message;
  }
}

/** Something failed on this machine (reading stdin, writing stdout, a bug): exit 1 as well. */
export class LocalFailure extends CliFailure {
  override readonly name = 'LocalFailure';
  readonly exitCode = exitCodes.serverError;

  describe(): string {
    return this.message;
  }
}

/** The fields of a grpc-js `ServiceError` this module reads. */
export interface GrpcFailure {
  readonly code: number;
  readonly details: string;
  readonly metadata?: Metadata;
}

export function isGrpcFailure(error: unknown): error is GrpcFailure {
  return typeof error === 'object' && error !== null && typeof (error as Partial<GrpcFailure>).code === 'number' && typeof (error as Partial<GrpcFailure>).details === 'string';
}

/** The name of a gRPC status code, e.g. 14 → UNAVAILABLE. */
export function grpcStatusName(code: number): string {
  return (GrpcStatusCode as unknown as Record<number, string | undefined>)[code] ?? `STATUS_${code}`;
}

/**
 * Classifies a failed RPC. A status that carries the `starlane-error-code` trailer is the
 * server's answer (exit 1), whatever the status: REQUEST_TIMED_OUT from a gateway arrives as
 * DEADLINE_EXCEEDED but is an answer. Without the trailer, UNAVAILABLE and DEADLINE_EXCEEDED
 * come from the transport (nobody answered: exit 3); any other status was sent by a server
 * that is not Starlane's or did not name the error (exit 1 with the status name).
 */
export function fromGrpcFailure(error: GrpcFailure, gatewayAddress: string): CliFailure {
  const trailer = error.metadata?.get(errorCodeTrailer)[0];
  const code = typeof trailer === 'string' && trailer !== '' ? trailer : undefined;
  // grpc-js's wrapping goes here, whoever wrote the details (a server may relay a transport failure).
  const details = transportDetail(error.details);
  if (code !== undefined) return new ServerError(isErrorCode(code) ? code : code.toUpperCase(), details);
  if (error.code === GrpcStatusCode.UNAVAILABLE) return new UnreachableError(`gateway ${gatewayAddress} is unreachable (${details})`);
  if (error.code === GrpcStatusCode.DEADLINE_EXCEEDED) return new UnreachableError(`gateway ${gatewayAddress} did not answer in time (${details})`);
  return new ServerError(grpcStatusName(error.code), details);
}

/** The catalogue name of a proto `ErrorCode` number; undefined for NONE (0). */
export function errorName(wire: number): string | undefined {
  return errorCodeFromWire(wire);
}

/**
 * The failure for a per-item `error_code`, or undefined when it is NONE. `subject` says which
 * item failed (e.g. `topic orders`) when the server's message may not.
 */
export function itemFailure(wire: number, message: string, subject: string): ServerError | undefined {
  const name = errorName(wire);
  if (name === undefined) return undefined;
  const detail = message === '' ? subject : message.includes(subject) ? message : `${message} (${subject})`;
  return new ServerError(name, detail);
}

/** Any error as a CliFailure: operating failures keep their class, anything else is unexpected. */
export function toFailure(error: unknown, gatewayAddress: string): CliFailure {
  if (error instanceof CliFailure) return error;
  if (isGrpcFailure(error)) return fromGrpcFailure(error, gatewayAddress);
  return new LocalFailure(error instanceof Error ? (error.stack ?? error.message) : String(error));
}
