/**
 * A storage node's way to the active controller: one gRPC client per address, the address to
 * call next, and unary calls with deadlines that never reject.
 *
 * The next address is the active controller the last NOT_CONTROLLER answer named, else the
 * bootstrap addresses in turn: an address that cannot be reached is rotated away from. When to
 * call again is the caller's business (`NodeSession` backs off).
 */
import * as grpc from '@grpc/grpc-js';
import { internalV1 } from '@starlane/proto';
import { formatAddress } from '@starlane/service-host';
import { controllerFromProto } from './codec';

export type CallResult<T> = { ok: true; value: T } | { ok: false; error: grpc.ServiceError };

export type UnaryInvoker<Res> = (
  client: internalV1.ControllerServiceClient,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => void;

/** Deadline of one call when the caller gives none. */
export const controllerRequestTimeoutMsDefault = 5_000;

export class ControllerChannel {
  private readonly clients = new Map<string, internalV1.ControllerServiceClient>();
  /** Index into the bootstrap list, advanced when a controller cannot be reached. */
  private bootstrapIndex = 0;
  /** The active controller named by the last NOT_CONTROLLER answer, tried next. */
  private redirect: string | undefined;

  constructor(
    private readonly controllers: readonly string[],
    private readonly requestTimeoutMs: number = controllerRequestTimeoutMsDefault,
  ) {
    if (controllers.length === 0) throw new TypeError('a controller channel needs at least one controller address');
  }

  /** The address to call next. */
  target(): string {
    if (this.redirect !== undefined) return this.redirect;
    return this.controllers[this.bootstrapIndex % this.controllers.length] ?? (this.controllers[0] as string);
  }

  /** A NOT_CONTROLLER answer: call the active controller it names next, or the next bootstrap address. */
  follow(location: internalV1.ControllerLocation | undefined): void {
    if (location === undefined || location.host === '') {
      // No active controller known yet (an election under way): try the next bootstrap address.
      this.redirect = undefined;
      this.bootstrapIndex++;
      return;
    }
    const active = controllerFromProto(location);
    this.redirect = formatAddress(active.host, active.port);
  }

  /** A controller did not answer (or answered with a gRPC error): forget it and rotate. */
  unreachable(): void {
    this.redirect = undefined;
    this.bootstrapIndex++;
  }

  /**
   * One unary call, with a deadline of `timeoutMs` (at most the channel's request timeout).
   * The deadline is wall-clock time because gRPC's is; when to call is decided elsewhere.
   */
  unary<Res>(address: string, invoke: UnaryInvoker<Res>, timeoutMs?: number): Promise<CallResult<Res>> {
    const deadline = Date.now() + Math.min(timeoutMs ?? Infinity, this.requestTimeoutMs);
    return new Promise((resolve) => {
      invoke(this.client(address), new grpc.Metadata(), { deadline }, (error, response) => {
        resolve(error === null ? { ok: true, value: response } : { ok: false, error });
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(address: string): internalV1.ControllerServiceClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new internalV1.ControllerServiceClient(address, grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
      });
      this.clients.set(address, client);
    }
    return client;
  }
}
