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
 * NOT_CONTROLLER answers redirect to the active controller they name; an unreachable controller
 * is rotated away from over the bootstrap addresses (`ControllerChannel`). Every retry waits
 * (no tight loop, as Kafka's BrokerLifecycleManager backs off every resend): a failed call, a
 * redirect, a refusal or a lost session is retried after `controllerRetryBackoffMsInitial`,
 * doubling with every failure in a row up to `controllerRetryBackoffMsMax`; only a heartbeat
 * the controller accepted resets it. The node keeps serving meanwhile (nothing here stops it).
 *
 * Timers and the clock are injected, so the retry schedule can be driven step by step in tests.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Clock, Scheduler } from '@starlane/io-ports';
import { StarlaneError, backoffMs } from '@starlane/model';
import type { internalV1, v1 } from '@starlane/proto';
import { errorCodeFromProto } from './codec';
import { ControllerChannel, type CallResult, type UnaryInvoker } from './controller-channel';
import type { ClientLogger } from './watcher';

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
  /**
   * dir_ids of the node's log directories that failed since it started, reported in every
   * heartbeat (the controller then moves their leaderships away); none when not given.
   */
  readonly offlineLogDirIds?: () => readonly string[];
  /** Time for deadlines of ISR changes and controlled shutdown. */
  readonly clock: Clock;
  /** Runs every step and every retry after its delay. */
  readonly scheduler: Scheduler;
  readonly logger: ClientLogger;
  /** Called after every successful registration (the first, and each re-registration). */
  readonly onRegistered?: (registration: NodeRegistration) => void;
  /** The node cannot be part of this cluster (INCONSISTENT_CLUSTER_ID, a refused request); the
   * session has given up and the node should exit. */
  readonly onFatal?: (error: StarlaneError) => void;
  /** The controller told the node to exit (removed from the cluster, or shutdown complete). */
  readonly onShutdownRequested?: () => void;
  /** First retry delay (default `controllerRetryBackoffMsInitial`); doubles per failure in a row up to `retryBackoffMsMax`. */
  readonly retryBackoffMsInitial?: number;
  /** Longest retry delay (default `controllerRetryBackoffMsMax`). */
  readonly retryBackoffMsMax?: number;
  /** Deadline of each call to the controller. */
  readonly requestTimeoutMs?: number;
}

/** How the stop went: whether the controller confirmed that no leaderships remain. */
export interface ControlledShutdownOutcome {
  readonly completed: boolean;
  readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[];
}

/** First delay before a call to the controller is retried; doubles with every failure in a row. */
export const controllerRetryBackoffMsInitial = 50;
/** Longest delay between retries: a node that lost every controller tries again every 2 s. */
export const controllerRetryBackoffMsMax = 2_000;
/** Redirects an ISR change request follows, beyond one try per bootstrap address, before it gives up for the round. */
export const redirectsInARowMax = 3;
/** Pause between ControlledShutdown calls while leaderships remain. */
export const controlledShutdownRetryMs = 100;

type Phase = 'idle' | 'registering' | 'registered' | 'stopped' | 'failed';

export class NodeSession {
  private phase: Phase = 'idle';
  private registration: NodeRegistration | undefined;
  private clusterIdInUse: string;
  private isFenced = true;
  private stopping = false;
  private shutdownRequested = false;
  /** Cancels the next step of the registration/heartbeat chain; undefined while a step runs. */
  private cancelStep: (() => void) | undefined;
  private readonly channel: ControllerChannel;
  /** Failed calls of the chain in a row (for back-off): reset by an accepted heartbeat only. */
  private failures = 0;
  /** A log directory failed while a heartbeat was under way: send the next one at once. */
  private heartbeatAtOnce = false;

  constructor(private readonly options: NodeSessionOptions) {
    if (options.controllers.length === 0) throw new TypeError('NodeSession needs at least one controller address');
    this.channel = new ControllerChannel(options.controllers, options.requestTimeoutMs);
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
    if (this.phase !== 'registered' || registration === undefined || !this.isFenced || this.cancelStep === undefined) return;
    if (BigInt(this.options.metadataVersion()) < registration.nodeEpoch) return;
    this.schedule(0, () => this.heartbeat());
  }

  /**
   * A log directory failed (`offlineLogDirIds` says which): the controller hears it with the
   * next heartbeat, sent at once rather than an interval later (Kafka's
   * BrokerLifecycleManager.propagateDirectoryFailure), so leaderships move without delay.
   */
  logDirsChanged(): void {
    if (this.phase !== 'registered') return;
    if (this.cancelStep === undefined) this.heartbeatAtOnce = true;
    else this.schedule(0, () => this.heartbeat());
  }

  /**
   * Proposes ISR changes for partitions this node leads (AlterPartition), quoting the
   * registration in force, at the active controller: NOT_CONTROLLER redirects are followed and
   * an unreachable controller is rotated away from, as for heartbeats, for a few attempts. The
   * answer, or undefined when the node is not registered or no controller took the request (the
   * leader proposes again later).
   */
  async alterPartition(partitions: readonly internalV1.PartitionIsrChange[], timeoutMs: number): Promise<internalV1.AlterPartitionResponse | undefined> {
    const { clock } = this.options;
    const deadlineMs = clock.nowMs() + timeoutMs;
    for (let attempt = 0; attempt <= this.options.controllers.length + redirectsInARowMax; attempt += 1) {
      if (attempt > 0) {
        // Every retry waits, doubling: a redirect loop or a refusing address is not hammered.
        const waitMs = Math.min(this.retryDelayMs(attempt), deadlineMs - clock.nowMs());
        if (waitMs <= 0) return undefined;
        await this.sleep(waitMs);
      }
      const registration = this.registration;
      const leftMs = deadlineMs - clock.nowMs();
      if (registration === undefined || this.phase !== 'registered' || leftMs <= 0) return undefined;
      const address = this.channel.target();
      const request: internalV1.AlterPartitionRequest = { nodeId: this.options.nodeId, nodeEpoch: registration.nodeEpoch, partitions: [...partitions] };
      const result = await this.unary<internalV1.AlterPartitionResponse>(address, (client, ...rest) => client.alterPartition(request, ...rest), leftMs);
      if (!result.ok) {
        this.unreachable(address, result.error, 'ISR change');
        continue;
      }
      if (errorCodeFromProto(result.value.errorCode) === 'NOT_CONTROLLER') {
        this.channel.follow(result.value.activeController);
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
      if (this.registration !== undefined && this.phase === 'registered') outcome = await this.controlledShutdown(this.options.clock.nowMs() + timeoutMs);
    } finally {
      this.close();
    }
    return outcome;
  }

  private close(): void {
    this.phase = this.phase === 'failed' ? 'failed' : 'stopped';
    this.cancelStep?.();
    this.cancelStep = undefined;
    this.channel.close();
  }

  // -----------------------------------------------------------------------------------------
  // Registration and heartbeats: one chain of steps, each scheduling the next.

  private schedule(delayMs: number, step: () => Promise<void>): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return;
    this.cancelStep?.();
    const cancel = this.options.scheduler.schedule(delayMs, () => {
      if (this.cancelStep !== cancel) return;
      this.cancelStep = undefined;
      // Every step handles its own failures; one that throws is a bug and ends the session loudly.
      step().catch((error: unknown) => this.fatal(error instanceof StarlaneError ? error : new StarlaneError('UNKNOWN_SERVER_ERROR', `node session failed: ${String(error)}`)));
    });
    this.cancelStep = cancel;
  }

  /** Waits `delayMs` on the injected scheduler (retries inside one call). */
  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.options.scheduler.schedule(delayMs, resolve);
    });
  }

  private async register(): Promise<void> {
    if (this.stopping) return;
    const { options } = this;
    const address = this.channel.target();
    const offline = this.options.offlineLogDirIds?.() ?? [];
    const request: internalV1.RegisterNodeRequest = {
      nodeId: options.nodeId,
      incarnationId: options.incarnationId,
      clusterId: this.clusterIdInUse,
      host: options.host,
      port: options.port,
      rack: options.rack,
      // The online directories only; failed ones are reported by heartbeats.
      logDirs: options.logDirs.filter((dir) => !offline.includes(dir.dirId)).map((dir) => ({ dirId: dir.dirId, path: dir.path })),
      cleanShutdown: options.cleanShutdown,
      softwareVersion: options.softwareVersion,
    };
    const result = await this.unary<internalV1.RegisterNodeResponse>(address, (client, ...rest) => client.registerNode(request, ...rest));
    if (this.phase !== 'registering' || this.stopping) return;
    if (!result.ok) {
      this.unreachable(address, result.error, 'register');
      this.schedule(this.retryDelayMs(), () => this.register());
      return;
    }
    const response = result.value;
    const code = errorCodeFromProto(response.errorCode);
    if (code === 'NOT_CONTROLLER') {
      this.redirected(response.activeController);
      this.schedule(this.retryDelayMs(), () => this.register());
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
      this.schedule(this.retryDelayMs(), () => this.register());
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
    // The back-off is not reset here but by an accepted heartbeat: a controller that registers
    // the node and then refuses its heartbeats (STALE_BROKER_EPOCH) must not make a tight loop.
    options.logger.info({ event: 'node-registered', address, nodeEpoch: String(registration.nodeEpoch), clusterId: registration.clusterId }, 'registered with the controller');
    options.onRegistered?.(registration);
    // The first heartbeat goes at once: the controller unfences the node on it.
    this.schedule(0, () => this.heartbeat());
  }

  private async heartbeat(): Promise<void> {
    const registration = this.registration;
    if (registration === undefined || this.phase !== 'registered') return;
    const address = this.channel.target();
    const reportedVersion = BigInt(this.options.metadataVersion());
    this.heartbeatAtOnce = false;
    const request: internalV1.HeartbeatRequest = {
      nodeId: this.options.nodeId,
      nodeEpoch: registration.nodeEpoch,
      metadataVersion: reportedVersion,
      offlineLogDirIds: [...(this.options.offlineLogDirIds?.() ?? [])],
      reassignmentProgress: [],
    };
    const result = await this.unary<internalV1.HeartbeatResponse>(address, (client, ...rest) => client.heartbeat(request, ...rest));
    if (this.phase !== 'registered' || this.registration !== registration) return;
    if (!result.ok) {
      this.unreachable(address, result.error, 'heartbeat');
      this.schedule(Math.min(this.retryDelayMs(), registration.heartbeatIntervalMs), () => this.heartbeat());
      return;
    }
    const response = result.value;
    const code = errorCodeFromProto(response.errorCode);
    if (code === undefined) {
      this.failures = 0;
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
      this.schedule(caughtUpSince || this.heartbeatAtOnce ? 0 : registration.heartbeatIntervalMs, () => this.heartbeat());
    } else if (code === 'NOT_CONTROLLER') {
      this.redirected(response.activeController);
      this.schedule(this.retryDelayMs(), () => this.heartbeat());
    } else if (code === 'STALE_BROKER_EPOCH' || code === 'BROKER_ID_NOT_REGISTERED') {
      this.options.logger.warn({ event: 'node-session-lost', errorCode: code, errorMessage: response.errorMessage }, 'the controller no longer knows this registration; registering again');
      this.registration = undefined;
      this.isFenced = true;
      this.phase = 'registering';
      this.failures++;
      this.schedule(this.retryDelayMs(), () => this.register());
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
      const leftMs = deadlineMs - this.options.clock.nowMs();
      if (leftMs <= 0) break;
      const address = this.channel.target();
      const request: internalV1.ControlledShutdownRequest = { nodeId: this.options.nodeId, nodeEpoch: registration.nodeEpoch };
      const result = await this.unary<internalV1.ControlledShutdownResponse>(address, (client, ...rest) => client.controlledShutdown(request, ...rest), leftMs);
      let pauseMs = controlledShutdownRetryMs;
      if (!result.ok) {
        this.unreachable(address, result.error, 'controlled shutdown');
        pauseMs = this.retryDelayMs();
      } else {
        const code = errorCodeFromProto(result.value.errorCode);
        if (code === undefined) {
          remaining = result.value.remainingLeaderships;
          if (remaining.length === 0) {
            this.options.logger.info({ event: 'controlled-shutdown-complete' }, 'the controller moved every leadership away');
            return { completed: true, remainingLeaderships: [] };
          }
        } else if (code === 'NOT_CONTROLLER') {
          this.redirected(result.value.activeController);
          pauseMs = this.retryDelayMs();
        } else {
          // STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED: the controller no longer counts this
          // session, so it has nothing to move on its behalf.
          this.options.logger.warn({ event: 'controlled-shutdown-refused', errorCode: code, errorMessage: result.value.errorMessage }, 'controlled shutdown refused');
          return { completed: false, remainingLeaderships: remaining };
        }
      }
      const waitMs = Math.min(pauseMs, deadlineMs - this.options.clock.nowMs());
      if (waitMs <= 0) break;
      await this.sleep(waitMs);
    }
    this.options.logger.warn(
      { event: 'controlled-shutdown-incomplete', remaining: remaining.map((partition) => `${partition.topic}-${partition.partition}`).slice(0, 20) },
      'stopping with leaderships the controller could not move',
    );
    return { completed: false, remainingLeaderships: remaining };
  }

  // -----------------------------------------------------------------------------------------
  // Transport and back-off

  /** A NOT_CONTROLLER answer: counted as a failure (the retry backs off) and followed. */
  private redirected(location: internalV1.ControllerLocation | undefined): void {
    this.failures++;
    this.channel.follow(location);
  }

  /** A controller did not answer (or answered with a gRPC error): rotate away from it. */
  private unreachable(address: string, error: grpc.ServiceError, what: string): void {
    this.channel.unreachable();
    this.logFailure({ address, code: error.code, details: error.details }, `controller unreachable (${what}); retrying`);
  }

  /** The delay before the next retry after `failures` failures in a row (the first waits the least): doubling, bounded. */
  private retryDelayMs(failures: number = this.failures): number {
    const bounds = { initialMs: this.options.retryBackoffMsInitial ?? controllerRetryBackoffMsInitial, maxMs: this.options.retryBackoffMsMax ?? controllerRetryBackoffMsMax };
    return backoffMs(failures - 1, bounds);
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

  private unary<Res>(address: string, invoke: UnaryInvoker<Res>, timeoutMs?: number): Promise<CallResult<Res>> {
    return this.channel.unary(address, invoke, timeoutMs);
  }
}
