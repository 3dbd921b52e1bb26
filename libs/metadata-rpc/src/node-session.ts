/**
 * A storage node's session with the active controller: registration, heartbeats and controlled
 * shutdown (Kafka's BrokerLifecycleManager).
 *
 * Lifecycle:
 * 1. RegisterNode with a fresh incarnation id, the cluster id stored with the node's data (empty
 *    for new data), the advertised address, rack, log directories and whether the previous run
 *    stopped cleanly. A node with new data stores the cluster id it is given before it goes on;
 *    a node whose stored id differs from the controller's refuses to join (fatal).
 * 2. Heartbeat every `heartbeat_interval_ms` (as the controller says), quoting the node epoch and
 *    the highest metadata version the node has applied; the controller unfences the node once
 *    it has caught up. STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED (a new controller that
 *    lost the registration, a session that expired) start over at registration, with the same
 *    incarnation.
 * 3. On stop, ControlledShutdown is repeated until the controller reports no remaining
 *    leaderships, for at most a bounded time, while heartbeats go on.
 *
 * NOT_CONTROLLER answers redirect to the active controller they name. While no controller
 * answers, every call is retried with exponential backoff, rotating over the bootstrap
 * addresses; the node keeps serving meanwhile (nothing here stops it).
 */
import * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import { internalV1, type v1 } from '@starlane/proto';
import { controllerFromProto, errorCodeFromProto } from './codec';
import type { ClientLogger } from './watcher';
import { formatAddress } from '@starlane/service-host';

/** What a successful registration established. */
export interface NodeRegistration {
  readonly nodeEpoch: bigint;
  readonly clusterId: string;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

export interface NodeSessionOptions {
  /** Controller addresses (host:port) to bootstrap from; any of them redirects to the active one. */
  readonly controllers: readonly string[];
  readonly nodeId: number;
  /** A UUID generated at every process start. */
  readonly incarnationId: string;
  /** Advertised address of the node's gRPC listener. */
  readonly host: string;
  readonly port: number;
  /** Rack or zone; empty if none. */
  readonly rack: string;
  readonly logDirs: readonly { readonly dirId: string; readonly path: string }[];
  /** Whether the previous run stopped cleanly (all logs flushed). */
  readonly cleanShutdown: boolean;
  readonly softwareVersion: string;
  /** The cluster id stored with the node's data; empty for a node whose data is new. */
  readonly clusterId: string;
  /** Stores the cluster id a node with new data was given; resolves once it is durable. */
  readonly storeClusterId: (clusterId: string) => Promise<void>;
  /** The highest metadata version the node has applied, reported in every heartbeat. */
  readonly metadataVersion: () => number;
  readonly logger: ClientLogger;
  /** Called after every successful registration (the first, and each re-registration). */
  readonly onRegistered?: (registration: NodeRegistration) => void;
  /** The node cannot be part of this cluster (INCONSISTENT_CLUSTER_ID, a refused request); the
   * session has given up and the node should exit. */
  readonly onFatal?: (error: StarlaneError) => void;
  /** The controller told the node to exit (removed from the cluster, or shutdown complete). */
  readonly onShutdownRequested?: () => void;
  /** First retry delay; doubles per failed attempt up to `retryBackoffMsMax`. */
  readonly retryBackoffMsInitial?: number;
  readonly retryBackoffMsMax?: number;
  /** Deadline of each call to the controller. */
  readonly requestTimeoutMs?: number;
}

/** How the stop went: whether the controller confirmed that no leaderships remain. */
export interface ControlledShutdownOutcome {
  readonly completed: boolean;
  readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[];
}

/** Redirects followed in a row before the session backs off (two controllers naming each other). */
export const redirectsInARowMax = 3;
/** Pause between ControlledShutdown calls while leaderships remain. */
export const controlledShutdownRetryMs = 100;

type Phase = 'idle' | 'registering' | 'registered' | 'stopped' | 'failed';

type CallResult<T> = { ok: true; value: T } | { ok: false; error: grpc.ServiceError };

export class NodeSession {
  private phase: Phase = 'idle';
  private registration: NodeRegistration | undefined;
  private clusterIdInUse: string;
  private isFenced = true;
  private stopping = false;
  private shutdownRequested = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly clients = new Map<string, internalV1.ControllerServiceClient>();
  /** Index into the bootstrap list, advanced when a controller cannot be reached. */
  private bootstrapIndex = 0;
  /** The active controller named by the last NOT_CONTROLLER answer, tried next. */
  private redirect: string | undefined;
  private redirectsInARow = 0;
  private failures = 0;

  constructor(private readonly options: NodeSessionOptions) {
    if (options.controllers.length === 0) throw new TypeError('NodeSession needs at least one controller address');
    this.clusterIdInUse = options.clusterId;
  }

  /** The registration in force, or undefined while (re-)registering. */
  get current(): NodeRegistration | undefined {
    return this.registration;
  }

  /** The cluster id: the stored one, or the one the first registration gave; empty until known. */
  get clusterId(): string {
    return this.clusterIdInUse;
  }

  /** Whether the controller last said the node is fenced (true until a heartbeat says otherwise). */
  get fenced(): boolean {
    return this.isFenced;
  }

  /**
   * The node applied newer metadata. A fenced node heartbeats at once rather than at the next
   * interval once it has caught up with its registration, since that is what unfences it.
   */
  metadataApplied(): void {
    const registration = this.registration;
    if (this.phase !== 'registered' || registration === undefined || !this.isFenced || this.timer === undefined) return;
    if (BigInt(this.options.metadataVersion()) < registration.nodeEpoch) return;
    this.schedule(0, () => this.heartbeat());
  }

  /**
   * Proposes ISR changes for partitions this node leads (AlterPartition), quoting the
   * registration in force, at the active controller: NOT_CONTROLLER redirects are followed and
   * an unreachable controller is rotated away from, as for heartbeats, for a few attempts. The
   * answer, or undefined when the node is not registered or no controller took the request (the
   * leader proposes again later).
   */
  async alterPartition(partitions: readonly internalV1.PartitionIsrChange[], timeoutMs: number): Promise<internalV1.AlterPartitionResponse | undefined> {
    const deadlineMs = Date.now() + timeoutMs;
    for (let attempt = 0; attempt <= this.options.controllers.length + redirectsInARowMax; attempt += 1) {
      const registration = this.registration;
      const leftMs = deadlineMs - Date.now();
      if (registration === undefined || this.phase !== 'registered' || leftMs <= 0) return undefined;
      const address = this.target();
      const request: internalV1.AlterPartitionRequest = { nodeId: this.options.nodeId, nodeEpoch: registration.nodeEpoch, partitions: [...partitions] };
      const result = await this.unary<internalV1.AlterPartitionResponse>(address, (client, ...rest) => client.alterPartition(request, ...rest), leftMs);
      if (!result.ok) {
        this.unreachable(address, result.error, 'ISR change');
        continue;
      }
      if (errorCodeFromProto(result.value.errorCode) === 'NOT_CONTROLLER') {
        this.follow(result.value.activeController);
        continue;
      }
      return result.value;
    }
    return undefined;
  }

  start(): void {
    if (this.phase !== 'idle') return;
    this.phase = 'registering';
    this.schedule(0, () => this.register());
  }

  /**
   * Moves the node's leaderships away (ControlledShutdown, repeated while some remain, for at
   * most `timeoutMs`) and ends the session. Safe to call in any state; a session that never
   * registered ends at once.
   */
  async stop(timeoutMs: number): Promise<ControlledShutdownOutcome> {
    if (this.stopping || this.phase === 'stopped') return { completed: this.phase === 'stopped', remainingLeaderships: [] };
    this.stopping = true;
    let outcome: ControlledShutdownOutcome = { completed: false, remainingLeaderships: [] };
    try {
      if (this.registration !== undefined && this.phase === 'registered') outcome = await this.controlledShutdown(Date.now() + timeoutMs);
    } finally {
      this.close();
    }
    return outcome;
  }

  private close(): void {
    this.phase = this.phase === 'failed' ? 'failed' : 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  // -----------------------------------------------------------------------------------------
  // Registration and heartbeats: one chain of steps, each scheduling the next.

  private schedule(delayMs: number, step: () => Promise<void>): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Every step handles its own failures; one that throws is a bug and ends the session loudly.
      step().catch((error: unknown) => this.fatal(error instanceof StarlaneError ? error : new StarlaneError('UNKNOWN_SERVER_ERROR', `node session failed: ${String(error)}`)));
    }, delayMs);
  }

  private async register(): Promise<void> {
    if (this.stopping) return;
    const { options } = this;
    const address = this.target();
    const request: internalV1.RegisterNodeRequest = {
      nodeId: options.nodeId,
      incarnationId: options.incarnationId,
      clusterId: this.clusterIdInUse,
      host: options.host,
      port: options.port,
      rack: options.rack,
      logDirs: options.logDirs.map((dir) => ({ dirId: dir.dirId, path: dir.path })),
      cleanShutdown: options.cleanShutdown,
      softwareVersion: options.softwareVersion,
    };
    const result = await this.unary<internalV1.RegisterNodeResponse>(address, (client, ...rest) => client.registerNode(request, ...rest));
    if (this.phase !== 'registering' || this.stopping) return;
    if (!result.ok) {
      this.unreachable(address, result.error, 'register');
      this.schedule(this.backoffMs(), () => this.register());
      return;
    }
    const response = result.value;
    const code = errorCodeFromProto(response.errorCode);
    if (code === 'NOT_CONTROLLER') {
      this.follow(response.activeController);
      this.schedule(this.redirectDelayMs(), () => this.register());
      return;
    }
    if (code === 'INCONSISTENT_CLUSTER_ID' || code === 'INVALID_REQUEST') {
      this.fatal(new StarlaneError(code, `the controller at ${address} refused the registration: ${response.errorMessage}`));
      return;
    }
    if (code !== undefined) {
      // DUPLICATE_BROKER_REGISTRATION: the previous incarnation's session has not expired yet
      // (a restart right after a crash); it will, so keep trying.
      this.logFailure({ address, errorCode: code, errorMessage: response.errorMessage }, 'registration refused; retrying');
      this.schedule(this.backoffMs(), () => this.register());
      return;
    }
    if (this.clusterIdInUse !== '' && response.clusterId !== this.clusterIdInUse) {
      this.fatal(new StarlaneError('INCONSISTENT_CLUSTER_ID', `this node's data belongs to cluster ${this.clusterIdInUse}, the controller at ${address} serves cluster ${response.clusterId}`));
      return;
    }
    if (this.clusterIdInUse === '') {
      if (response.clusterId === '') {
        this.fatal(new StarlaneError('INVALID_REQUEST', `the controller at ${address} registered the node without a cluster id`));
        return;
      }
      try {
        await options.storeClusterId(response.clusterId);
      } catch (error) {
        this.fatal(error instanceof StarlaneError ? error : new StarlaneError('STORAGE_UNAVAILABLE', `cannot store the cluster id: ${String(error)}`));
        return;
      }
      this.clusterIdInUse = response.clusterId;
    }
    const registration: NodeRegistration = {
      nodeEpoch: response.nodeEpoch,
      clusterId: response.clusterId,
      heartbeatIntervalMs: Math.max(1, response.heartbeatIntervalMs),
      sessionTimeoutMs: response.sessionTimeoutMs,
    };
    this.registration = registration;
    this.phase = 'registered';
    this.failures = 0;
    options.logger.info({ event: 'node-registered', address, nodeEpoch: String(registration.nodeEpoch), clusterId: registration.clusterId }, 'registered with the controller');
    options.onRegistered?.(registration);
    // The first heartbeat goes at once: the controller unfences the node on it.
    this.schedule(0, () => this.heartbeat());
  }

  private async heartbeat(): Promise<void> {
    const registration = this.registration;
    if (registration === undefined || this.phase !== 'registered') return;
    const address = this.target();
    const reportedVersion = BigInt(this.options.metadataVersion());
    const request: internalV1.HeartbeatRequest = {
      nodeId: this.options.nodeId,
      nodeEpoch: registration.nodeEpoch,
      metadataVersion: reportedVersion,
      offlineLogDirIds: [],
      reassignmentProgress: [],
    };
    const result = await this.unary<internalV1.HeartbeatResponse>(address, (client, ...rest) => client.heartbeat(request, ...rest));
    if (this.phase !== 'registered' || this.registration !== registration) return;
    if (!result.ok) {
      this.unreachable(address, result.error, 'heartbeat');
      this.schedule(Math.min(this.backoffMs(), registration.heartbeatIntervalMs), () => this.heartbeat());
      return;
    }
    const response = result.value;
    const code = errorCodeFromProto(response.errorCode);
    if (code === undefined) {
      this.failures = 0;
      this.redirectsInARow = 0;
      if (response.fenced !== this.isFenced) {
        this.options.logger.info({ event: response.fenced ? 'node-fenced' : 'node-unfenced', nodeEpoch: String(registration.nodeEpoch) }, response.fenced ? 'the controller fenced this node' : 'the controller unfenced this node');
      }
      this.isFenced = response.fenced;
      if (response.shouldShutDown && !this.shutdownRequested) {
        this.shutdownRequested = true;
        // While stopping, this only says the controlled shutdown is complete.
        if (!this.stopping) {
          this.options.logger.info({ event: 'shutdown-requested' }, 'the controller asked this node to shut down');
          this.options.onShutdownRequested?.();
        }
      }
      // Still fenced for metadata that has arrived meanwhile: say so now, not an interval later.
      const caughtUpSince = response.fenced && reportedVersion < registration.nodeEpoch && BigInt(this.options.metadataVersion()) >= registration.nodeEpoch;
      this.schedule(caughtUpSince ? 0 : registration.heartbeatIntervalMs, () => this.heartbeat());
    } else if (code === 'NOT_CONTROLLER') {
      this.follow(response.activeController);
      this.schedule(this.redirectDelayMs(), () => this.heartbeat());
    } else if (code === 'STALE_BROKER_EPOCH' || code === 'BROKER_ID_NOT_REGISTERED') {
      this.options.logger.warn({ event: 'node-session-lost', errorCode: code, errorMessage: response.errorMessage }, 'the controller no longer knows this registration; registering again');
      this.registration = undefined;
      this.isFenced = true;
      this.phase = 'registering';
      this.schedule(0, () => this.register());
    } else {
      this.logFailure({ address, errorCode: code, errorMessage: response.errorMessage }, 'heartbeat refused; retrying');
      this.schedule(registration.heartbeatIntervalMs, () => this.heartbeat());
    }
  }

  // -----------------------------------------------------------------------------------------
  // Controlled shutdown

  private async controlledShutdown(deadlineMs: number): Promise<ControlledShutdownOutcome> {
    let remaining: readonly v1.TopicPartition[] = [];
    for (;;) {
      const registration = this.registration;
      if (registration === undefined || this.shutdownRequested) return { completed: this.shutdownRequested, remainingLeaderships: remaining };
      const leftMs = deadlineMs - Date.now();
      if (leftMs <= 0) break;
      const address = this.target();
      const request: internalV1.ControlledShutdownRequest = { nodeId: this.options.nodeId, nodeEpoch: registration.nodeEpoch };
      const result = await this.unary<internalV1.ControlledShutdownResponse>(address, (client, ...rest) => client.controlledShutdown(request, ...rest), leftMs);
      let pauseMs = controlledShutdownRetryMs;
      if (!result.ok) {
        this.unreachable(address, result.error, 'controlled shutdown');
        pauseMs = this.backoffMs();
      } else {
        const code = errorCodeFromProto(result.value.errorCode);
        if (code === undefined) {
          remaining = result.value.remainingLeaderships;
          if (remaining.length === 0) {
            this.options.logger.info({ event: 'controlled-shutdown-complete' }, 'the controller moved every leadership away');
            return { completed: true, remainingLeaderships: [] };
          }
        } else if (code === 'NOT_CONTROLLER') {
          this.follow(result.value.activeController);
          pauseMs = this.redirectDelayMs();
        } else {
          // STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED: the controller no longer counts this
          // session, so it has nothing to move on its behalf.
          this.options.logger.warn({ event: 'controlled-shutdown-refused', errorCode: code, errorMessage: result.value.errorMessage }, 'controlled shutdown refused');
          return { completed: false, remainingLeaderships: remaining };
        }
      }
      const waitMs = Math.min(pauseMs, deadlineMs - Date.now());
      if (waitMs <= 0) break;
      await new Promise<void>((resolve) => setTimeout(resolve, waitMs));
    }
    this.options.logger.warn(
      { event: 'controlled-shutdown-incomplete', remaining: remaining.map((partition) => `${partition.topic}-${partition.partition}`).slice(0, 20) },
      'stopping with leaderships the controller could not move',
    );
    return { completed: false, remainingLeaderships: remaining };
  }

  // -----------------------------------------------------------------------------------------
  // Transport

  private target(): string {
    if (this.redirect !== undefined) return this.redirect;
    const { controllers } = this.options;
    return controllers[this.bootstrapIndex % controllers.length] ?? (controllers[0] as string);
  }

  private follow(location: internalV1.ControllerLocation | undefined): void {
    this.redirectsInARow++;
    if (location === undefined || location.host === '') {
      // No active controller known yet (an election under way): try the next bootstrap address.
      this.redirect = undefined;
      this.bootstrapIndex++;
      return;
    }
    const active = controllerFromProto(location);
    this.redirect = formatAddress(active.host, active.port);
  }

  private redirectDelayMs(): number {
    return this.redirect !== undefined && this.redirectsInARow <= redirectsInARowMax ? 0 : this.backoffMs();
  }

  /** A controller did not answer (or answered with a gRPC error): forget it and rotate. */
  private unreachable(address: string, error: grpc.ServiceError, what: string): void {
    this.redirect = undefined;
    this.redirectsInARow = 0;
    this.bootstrapIndex++;
    this.logFailure({ address, code: error.code, details: error.details }, `controller unreachable (${what}); retrying`);
  }

  private backoffMs(): number {
    const initial = this.options.retryBackoffMsInitial ?? 50;
    const max = this.options.retryBackoffMsMax ?? 2000;
    return Math.min(max, initial * 2 ** Math.min(this.failures, 16));
  }

  /** Counts a failed attempt (for backoff) and logs the first and every 20th. */
  private logFailure(fields: object, message: string): void {
    this.failures++;
    if (this.failures === 1 || this.failures % 20 === 0) this.options.logger.warn({ attempt: this.failures, ...fields }, message);
  }

  private fatal(error: StarlaneError): void {
    if (this.phase === 'failed' || this.phase === 'stopped') return;
    this.options.logger.warn({ event: 'node-session-failed', errorCode: error.code, error: error.message }, 'the node cannot join the cluster');
    this.phase = 'failed';
    this.registration = undefined;
    this.close();
    this.options.onFatal?.(error);
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

  /** One unary call with a deadline; never rejects. */
  private unary<Res>(
    address: string,
    invoke: (client: internalV1.ControllerServiceClient, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (error: grpc.ServiceError | null, response: Res) => void) => void,
    timeoutMs?: number,
  ): Promise<CallResult<Res>> {
    const deadline = Date.now() + Math.min(timeoutMs ?? Infinity, this.options.requestTimeoutMs ?? 5000);
    return new Promise((resolve) => {
      invoke(this.client(address), new grpc.Metadata(), { deadline }, (error, response) => {
        resolve(error === null ? { ok: true, value: response } : { ok: false, error });
      });
    });
  }
}
