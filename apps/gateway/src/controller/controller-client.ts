/**
 * Calls on the active controller: the admin RPCs the gateway forwards and producer-id blocks.
 *
 * The gateway aims at the controller its metadata names (the watch stream's snapshot carries
 * the active controller's location), else at the configured addresses in turn. A call refused
 * with NOT_CONTROLLER or that cannot reach its target is sent again to the controller named
 * by the refusal, by GetActiveController, or by the metadata, up to controllerRedirectsMax
 * times within the call's deadline. A redirect to a controller not yet tried in this call goes
 * at once; every other attempt waits a bounded exponential back-off first (`controllerRetryBackoff`),
 * so controllers that name each other, or none reachable, cannot make a call spin.
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock, Scheduler } from '@starlane/io-ports';
import { StarlaneError, backoffMs, errorCodeFromWire, isErrorCode, transportDetail } from '@starlane/model';
import { internalV1, v1 } from '@starlane/proto';
import { systemClock, timerScheduler } from '@starlane/node-io';
import { errorCodeMetadataKey, formatAddress, grpcMessageBytesMax } from '@starlane/service-host';
import { controllerRetryBackoff } from '../backoff';
import { controllerRedirectsMax } from '../limits';
import type { MetadataSource } from '../routing';

const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': grpcMessageBytesMax,
  'grpc.max_send_message_length': grpcMessageBytesMax,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
};

/** A unary method of a generated client, as an untyped function. */
type UnaryMethod = (request: unknown, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (error: grpc.ServiceError | null, response: unknown) => void) => grpc.ClientUnaryCall;

/** The admin RPCs the controller serves, by client method name. */
export type ForwardedAdminMethod =
  | 'createTopics'
  | 'deleteTopics'
  | 'alterTopicConfigs'
  | 'createPartitions'
  | 'describeCluster'
  | 'reassignPartitions'
  | 'listReassignments';

/** A controller's refusal, kept whole so it can be relayed to the client as it came. */
export class ControllerCallError extends Error {
  constructor(
    readonly status: grpc.ServiceError,
    readonly code: StarlaneError['code'] | undefined,
  ) {
    // The message goes into CONTROLLER_NOT_AVAILABLE answers: without grpc-js's wrapping.
    super(transportDetail(status.details || status.message));
  }
}

export class ControllerClient {
  private readonly admins = new Map<string, v1.AdminServiceClient>();
  private readonly controllers = new Map<string, internalV1.ControllerServiceClient>();
  /** Where the last call succeeded or was redirected to. */
  private preferred: string | undefined;
  private nextBootstrap = 0;

  constructor(
    private readonly bootstrap: readonly string[],
    private readonly metadata: MetadataSource,
    /** The time deadlines are measured in; gRPC deadlines are derived from it, so in production it is wall-clock time. */
    private readonly clock: Clock = systemClock,
    /** Runs the waits between retries. */
    private readonly scheduler: Scheduler = timerScheduler,
  ) {}

  /** Forwards an admin call; rejects with ControllerCallError (the controller's own status) or StarlaneError CONTROLLER_NOT_AVAILABLE. */
  async admin<Res>(method: ForwardedAdminMethod, request: unknown, deadlineMs: number): Promise<Res> {
    return this.withRedirects(deadlineMs, async (address) => {
      const client = this.adminClient(address);
      const call = (client[method] as unknown as UnaryMethod).bind(client);
      return unary<Res>(call, request, deadlineMs);
    });
  }

  /**
   * Relays a WatchReassignments stream from the active controller to `relay` until it ends.
   * Redirects (NOT_CONTROLLER, an unreachable controller) are followed while nothing has been
   * relayed yet; a failure after that ends the relay with the controller's status, and the
   * client watches again (a new stream starts with every watched status). `cancel` is called
   * back with a function that stops the controller stream, for when the client goes away.
   */
  async watchReassignments(
    request: v1.WatchReassignmentsRequest,
    relay: (response: v1.WatchReassignmentsResponse) => void,
    onCancel: (cancel: () => void) => void,
    openDeadlineMs: number,
  ): Promise<void> {
    let cancelled = false;
    let current: grpc.ClientReadableStream<v1.WatchReassignmentsResponse> | undefined;
    onCancel(() => {
      cancelled = true;
      current?.cancel();
    });
    try {
      await this.withRedirects(openDeadlineMs, (address) => {
        if (cancelled) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          let relayed = 0;
          const stream = this.adminClient(address).watchReassignments(request);
          current = stream;
          stream.on('data', (response: v1.WatchReassignmentsResponse) => {
            relayed += 1;
            relay(response);
          });
          stream.on('end', () => resolve());
          stream.on('error', (error: grpc.ServiceError) => {
            if (cancelled) return resolve();
            const failure = controllerCallError(error);
            reject(relayed > 0 ? new AfterRelay(failure) : failure);
          });
        });
      });
    } catch (error) {
      throw error instanceof AfterRelay ? error.failure : error;
    }
  }

  /** The active controller's metadata version now (DescribeCluster), to wait for the gateway's image to reach it. */
  async metadataVersion(deadlineMs: number): Promise<number> {
    const response = await this.admin<v1.DescribeClusterResponse>('describeCluster', {}, deadlineMs);
    return Number(response.metadataVersion);
  }

  /** A block of producer ids from the active controller. */
  async allocateProducerIds(count: number, deadlineMs: number): Promise<{ first: bigint; count: number }> {
    return this.withRedirects(deadlineMs, async (address) => {
      const client = this.controllerClient(address);
      const response = await unary<internalV1.AllocateProducerIdsResponse>(client.allocateProducerIds.bind(client) as unknown as UnaryMethod, { count }, deadlineMs);
      const code = errorCodeFromWire(response.errorCode);
      if (code === 'NOT_CONTROLLER') {
        const active = response.activeController;
        if (active !== undefined && active.host !== '') this.preferred = formatAddress(active.host, active.port);
        throw new Redirect();
      }
      if (code !== undefined) throw new StarlaneError(code, response.errorMessage || code);
      if (response.count <= 0) throw new StarlaneError('CONTROLLER_NOT_AVAILABLE', 'the controller handed out an empty producer id block');
      return { first: response.firstProducerId, count: response.count };
    });
  }

  close(): void {
    for (const client of this.admins.values()) client.close();
    for (const client of this.controllers.values()) client.close();
    this.admins.clear();
    this.controllers.clear();
  }

  private async withRedirects<T>(deadlineMs: number, attempt: (address: string) => Promise<T>): Promise<T> {
    let lastProblem = 'no controller answered';
    const tried = new Set<string>();
    for (let tries = 0; tries <= controllerRedirectsMax && this.clock.nowMs() < deadlineMs; tries++) {
      const address = this.target();
      tried.add(address);
      try {
        const result = await attempt(address);
        this.preferred = address;
        return result;
      } catch (error) {
        if (error instanceof Redirect) {
          lastProblem = `controller at ${address} is not the active one`;
        } else if (error instanceof ControllerCallError && (error.code === 'NOT_CONTROLLER' || error.status.code === grpc.status.UNAVAILABLE)) {
          lastProblem = `controller at ${address}: ${error.message}`;
        } else {
          throw error;
        }
        if (this.preferred === address) this.preferred = undefined;
        await this.findActive(address, deadlineMs);
        // A controller named for the first time is asked at once; anything else waits.
        const next = this.preferred;
        if (next === undefined || tried.has(next)) await this.pause(backoffMs(tries, controllerRetryBackoff), deadlineMs);
      }
    }
    throw new StarlaneError('CONTROLLER_NOT_AVAILABLE', lastProblem);
  }

  /** The address to try next: the last good one, the metadata's active controller, or the next configured one. */
  private target(): string {
    if (this.preferred !== undefined) return this.preferred;
    const controller = this.metadata.current().controller;
    if (controller !== undefined && controller.host !== '') return formatAddress(controller.host, controller.port);
    const address = this.bootstrap[this.nextBootstrap % this.bootstrap.length]!;
    this.nextBootstrap += 1;
    return address;
  }

  /** Asks the configured controllers who is active; leaves `preferred` unset when none knows. */
  private async findActive(refused: string, deadlineMs: number): Promise<void> {
    for (const address of this.bootstrap) {
      try {
        const client = this.controllerClient(address);
        const response = await unary<internalV1.GetActiveControllerResponse>(client.getActiveController.bind(client) as unknown as UnaryMethod, {}, Math.min(deadlineMs, this.clock.nowMs() + 2000));
        const active = response.activeController;
        if (active !== undefined && active.host !== '') {
          const found = formatAddress(active.host, active.port);
          if (found !== refused) {
            this.preferred = found;
            return;
          }
        }
      } catch {
        // This controller cannot say; ask the next.
      }
    }
  }

  /** Waits `ms`, but not past `deadlineMs`. */
  private pause(ms: number, deadlineMs: number): Promise<void> {
    const wait = Math.max(0, Math.min(ms, deadlineMs - this.clock.nowMs()));
    return new Promise((resolve) => void this.scheduler.schedule(wait, resolve));
  }

  private adminClient(address: string): v1.AdminServiceClient {
    let client = this.admins.get(address);
    if (client === undefined) {
      client = new v1.AdminServiceClient(address, grpc.credentials.createInsecure(), channelOptions);
      this.admins.set(address, client);
    }
    return client;
  }

  private controllerClient(address: string): internalV1.ControllerServiceClient {
    let client = this.controllers.get(address);
    if (client === undefined) {
      client = new internalV1.ControllerServiceClient(address, grpc.credentials.createInsecure(), channelOptions);
      this.controllers.set(address, client);
    }
    return client;
  }
}

class Redirect extends Error {}

/** A stream failure after messages were relayed: not retried elsewhere, since the client has seen part of a stream. */
class AfterRelay extends Error {
  constructor(readonly failure: ControllerCallError) {
    super(failure.message);
  }
}

function unary<Res>(call: UnaryMethod, request: unknown, deadlineMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(request, new grpc.Metadata(), { deadline: deadlineMs }, (error, response) => {
      if (error !== null) {
        reject(controllerCallError(error));
      } else {
        resolve(response as Res);
      }
    });
  });
}

/** A controller's failed call, with the error code its trailer carries (if any). */
function controllerCallError(error: grpc.ServiceError): ControllerCallError {
  const trailer = error.metadata?.get(errorCodeMetadataKey)[0];
  return new ControllerCallError(error, typeof trailer === 'string' && isErrorCode(trailer) ? trailer : undefined);
}
