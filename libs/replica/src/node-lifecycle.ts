/**
 * A storage node's session with the active controller: registration, heartbeats and controlled
 * shutdown (Kafka's BrokerLifecycleManager), as decisions over a `ControllerPort`, an injected
 * `Clock` and an injected `Scheduler`; no I/O of its own, so the storage node runs it over gRPC
 * and the cluster simulator over the real controller with simulated time.
 *
 * Lifecycle:
 * 1. RegisterNode with a fresh incarnation id, the cluster id stored with the node's data (empty
 *    for new data), the advertised address, rack, online log directories and whether the
 *    previous run stopped cleanly. A node with new data stores the cluster id it is given before
 *    it goes on; a node whose stored id differs from the controller's refuses to join (fatal).
 * 2. Heartbeat every `heartbeat_interval_ms` (as the controller says), quoting the node epoch,
 *    the highest metadata version the node has applied and its failed log directories; the
 *    controller unfences the node once it has caught up. STALE_BROKER_EPOCH or
 *    BROKER_ID_NOT_REGISTERED (a new controller that lost the registration, a session that
 *    expired) start over at registration, with the same incarnation.
 * 3. On stop, ControlledShutdown is repeated until the controller reports no remaining
 *    leaderships, for at most a bounded time, while heartbeats go on.
 *
 * Every retry waits (no tight loop, as Kafka's BrokerLifecycleManager backs off every resend):
 * a call that got no answer, a NOT_CONTROLLER answer (the port calls the controller it names
 * next), a refusal or a lost session is retried after `controllerRetryBackoffMsInitial`,
 * doubling with every failure in a row up to `controllerRetryBackoffMsMax`; only a heartbeat the
 * controller accepted resets it. The node keeps serving meanwhile (nothing here stops it).
 */
import type { Clock, Scheduler } from '@starlane/io-ports';
import type { AlterPartitionResult, HeartbeatResult, IsrChangeInput, NodeRegistrationRequest } from '@starlane/metadata';
import { StarlaneError, backoffMs, errorText } from '@starlane/model';
import type { ControllerPort, NodeRegistration } from './controller-port';

export interface NodeLifecycleLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface NodeLifecycleOptions {
  /** The active controller, one attempt per call. */
  readonly controller: ControllerPort;
  readonly nodeId: number;
  /** A UUID generated at every process start. */
  readonly incarnationId: string;
  /** Advertised address of the node's listener. */
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
  /** Time for the deadlines of ISR changes and controlled shutdown. */
  readonly clock: Clock;
  /** Runs every step and every retry after its delay. */
  readonly scheduler: Scheduler;
  readonly logger: NodeLifecycleLogger;
  /** Called after every successful registration (the first, and each re-registration). */
  readonly onRegistered?: (registration: NodeRegistration) => void;
  /** The node cannot be part of this cluster (INCONSISTENT_CLUSTER_ID, a refused request); the
   * lifecycle has given up and the node should exit. */
  readonly onFatal?: (error: StarlaneError) => void;
  /** The controller told the node to exit (removed from the cluster, or shutdown complete). */
  readonly onShutdownRequested?: () => void;
  /** First retry delay (default `controllerRetryBackoffMsInitial`); doubles per failure in a row up to `retryBackoffMsMax`. */
  readonly retryBackoffMsInitial?: number;
  /** Longest retry delay (default `controllerRetryBackoffMsMax`). */
  readonly retryBackoffMsMax?: number;
  /**
   * Calls one ISR change request may make (default `isrChangeAttemptsMaxDefault`). The gRPC
   * port's owner sets it to one per bootstrap address plus a few redirects, so a request can
   * reach the active controller from any of them.
   */
  readonly isrChangeAttemptsMax?: number;
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
/** Pause between ControlledShutdown calls while leaderships remain. */
export const controlledShutdownRetryMs = 100;
/** Calls of one ISR change request when the owner of the port does not say: one controller address, three redirects and one more try. */
export const isrChangeAttemptsMaxDefault = 5;
/** Failures in a row between two logged ones: the first is logged, then every 20th. */
const failuresPerLogLine = 20;

type Phase = 'idle' | 'registering' | 'registered' | 'stopped' | 'failed';

/** A rejection as the port promises it: a StarlaneError; anything else counts as a call that got no answer. */
function callFailure(error: unknown): StarlaneError {
  return error instanceof StarlaneError ? error : new StarlaneError('CONTROLLER_NOT_AVAILABLE', `the call to the controller failed: ${errorText(error)}`, { cause: error });
}

export class NodeLifecycle {
  private phase: Phase = 'idle';
  private registration: NodeRegistration | undefined;
  private clusterIdInUse: string;
  private isFenced = true;
  private stopping = false;
  private shutdownRequested = false;
  /** Cancels the next step of the registration/heartbeat chain; undefined while a step runs. */
  private cancelStep: (() => void) | undefined;
  /** Failed calls in a row (for back-off): reset by an accepted heartbeat only. */
  private failures = 0;
  /** A log directory failed while a heartbeat was under way: send the next one at once. */
  private heartbeatAtOnce = false;

  constructor(private readonly options: NodeLifecycleOptions) {
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

  /** Whether the lifecycle has ended: stopped, or given up (fatal). */
  get ended(): boolean {
    return this.phase === 'stopped' || this.phase === 'failed';
  }

  start(): void {
    if (this.phase !== 'idle') return;
    this.phase = 'registering';
    this.schedule(0, () => this.register());
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
   * registration in force when each call is made. A call that got no answer or a NOT_CONTROLLER
   * answer is tried again after a back-off, within `timeoutMs` and `isrChangeAttemptsMax` calls.
   * The results, or undefined when the node is not registered, no controller took the request
   * or it was refused as a whole (the leader proposes again later).
   */
  async alterPartition(partitions: readonly IsrChangeInput[], timeoutMs: number): Promise<readonly AlterPartitionResult[] | undefined> {
    const { clock } = this.options;
    const deadlineMs = clock.nowMs() + timeoutMs;
    const attemptsMax = this.options.isrChangeAttemptsMax ?? isrChangeAttemptsMaxDefault;
    for (let attempt = 0; attempt < attemptsMax; attempt += 1) {
      if (attempt > 0) {
        // Every retry waits, doubling: a redirect loop or a refusing address is not hammered.
        const waitMs = Math.min(this.retryDelayMs(attempt), deadlineMs - clock.nowMs());
        if (waitMs <= 0) return undefined;
        await this.sleep(waitMs);
      }
      const registration = this.registration;
      const leftMs = deadlineMs - clock.nowMs();
      if (registration === undefined || this.phase !== 'registered' || leftMs <= 0) return undefined;
      try {
        return await this.options.controller.alterPartition({ nodeId: this.options.nodeId, nodeEpoch: registration.nodeEpoch, partitions }, leftMs);
      } catch (error) {
        const failure = callFailure(error);
        if (failure.code === 'NOT_CONTROLLER') continue;
        if (failure.code === 'CONTROLLER_NOT_AVAILABLE') {
          this.logFailure(failure, 'controller unreachable (ISR change); retrying');
          continue;
        }
        // STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED: the session is being renewed; the
        // proposals are made again, with the new epoch, on a later round.
        this.options.logger.warn({ errorCode: failure.code, error: failure.message }, 'the controller refused an ISR change request');
        return undefined;
      }
    }
    return undefined;
  }

  /**
   * Moves the node's leaderships away (ControlledShutdown, repeated while some remain, for at
   * most `timeoutMs`) and ends the lifecycle. Safe to call in any state; a lifecycle that never
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
  }

  // -----------------------------------------------------------------------------------------
  // Registration and heartbeats: one chain of steps, each scheduling the next.

  private schedule(delayMs: number, step: () => Promise<void>): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return;
    this.cancelStep?.();
    const cancel = this.options.scheduler.schedule(delayMs, () => {
      if (this.cancelStep !== cancel) return;
      this.cancelStep = undefined;
      // Every step handles its own failures; one that throws is a bug and ends the lifecycle loudly.
      step().catch((error: unknown) => this.fatal(error instanceof StarlaneError ? error : new StarlaneError('UNKNOWN_SERVER_ERROR', `node lifecycle failed: ${errorText(error)}`)));
    });
    this.cancelStep = cancel;
  }

  /** Waits `delayMs` on the injected scheduler (retries inside one call). */
  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.options.scheduler.schedule(delayMs, resolve);
    });
  }

  private registrationRequest(): NodeRegistrationRequest {
    const { options } = this;
    const offline = options.offlineLogDirIds?.() ?? [];
    return {
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
  }

  private async register(): Promise<void> {
    if (this.stopping) return;
    let answer: NodeRegistration;
    try {
      answer = await this.options.controller.registerNode(this.registrationRequest());
    } catch (error) {
      if (this.phase !== 'registering' || this.stopping) return;
      const failure = callFailure(error);
      if (failure.code === 'INCONSISTENT_CLUSTER_ID' || failure.code === 'INVALID_REQUEST') {
        this.fatal(new StarlaneError(failure.code, `the controller refused the registration: ${failure.message}`));
        return;
      }
      // DUPLICATE_BROKER_REGISTRATION: the previous incarnation's session has not expired yet
      // (a restart right after a crash); it will, so keep trying.
      this.callFailed(failure, 'register', 'registration refused; retrying');
      this.schedule(this.retryDelayMs(), () => this.register());
      return;
    }
    if (this.phase !== 'registering' || this.stopping) return;
    if (!(await this.adoptClusterId(answer.clusterId))) return;
    const registration: NodeRegistration = { ...answer, heartbeatIntervalMs: Math.max(1, answer.heartbeatIntervalMs) };
    this.registration = registration;
    this.phase = 'registered';
    // The back-off is not reset here but by an accepted heartbeat: a controller that registers
    // the node and then refuses its heartbeats (STALE_BROKER_EPOCH) must not make a tight loop.
    this.options.logger.info({ event: 'node-registered', nodeEpoch: String(registration.nodeEpoch), clusterId: registration.clusterId }, 'registered with the controller');
    this.options.onRegistered?.(registration);
    // The first heartbeat goes at once: the controller unfences the node on it.
    this.schedule(0, () => this.heartbeat());
  }

  /** Checks the cluster id a registration gave against the stored one, storing it for new data; false when the lifecycle gave up. */
  private async adoptClusterId(clusterId: string): Promise<boolean> {
    if (this.clusterIdInUse !== '' && clusterId !== this.clusterIdInUse) {
      this.fatal(new StarlaneError('INCONSISTENT_CLUSTER_ID', `this node's data belongs to cluster ${this.clusterIdInUse}, the controller serves cluster ${clusterId}`));
      return false;
    }
    if (this.clusterIdInUse !== '') return true;
    if (clusterId === '') {
      this.fatal(new StarlaneError('INVALID_REQUEST', 'the controller registered the node without a cluster id'));
      return false;
    }
    try {
      await this.options.storeClusterId(clusterId);
    } catch (error) {
      this.fatal(error instanceof StarlaneError ? error : new StarlaneError('STORAGE_UNAVAILABLE', `cannot store the cluster id: ${errorText(error)}`));
      return false;
    }
    this.clusterIdInUse = clusterId;
    return true;
  }

  private async heartbeat(): Promise<void> {
    const registration = this.registration;
    if (registration === undefined || this.phase !== 'registered') return;
    const reportedVersion = this.options.metadataVersion();
    this.heartbeatAtOnce = false;
    let answer: HeartbeatResult;
    try {
      answer = await this.options.controller.heartbeat({
        nodeId: this.options.nodeId,
        nodeEpoch: registration.nodeEpoch,
        metadataVersion: reportedVersion,
        offlineLogDirIds: [...(this.options.offlineLogDirIds?.() ?? [])],
      });
    } catch (error) {
      if (this.phase !== 'registered' || this.registration !== registration) return;
      this.heartbeatFailed(registration, callFailure(error));
      return;
    }
    if (this.phase !== 'registered' || this.registration !== registration) return;
    this.failures = 0;
    if (answer.fenced !== this.isFenced) {
      this.options.logger.info({ event: answer.fenced ? 'node-fenced' : 'node-unfenced', nodeEpoch: String(registration.nodeEpoch) }, answer.fenced ? 'the controller fenced this node' : 'the controller unfenced this node');
    }
    this.isFenced = answer.fenced;
    if (answer.shouldShutDown && !this.shutdownRequested) {
      this.shutdownRequested = true;
      // While stopping, this only says the controlled shutdown is complete.
      if (!this.stopping) {
        this.options.logger.info({ event: 'shutdown-requested' }, 'the controller asked this node to shut down');
        this.options.onShutdownRequested?.();
      }
    }
    // Still fenced for metadata that has arrived meanwhile: say so now, not an interval later.
    const caughtUpSince = answer.fenced && BigInt(reportedVersion) < registration.nodeEpoch && BigInt(this.options.metadataVersion()) >= registration.nodeEpoch;
    this.schedule(caughtUpSince || this.heartbeatAtOnce ? 0 : registration.heartbeatIntervalMs, () => this.heartbeat());
  }

  private heartbeatFailed(registration: NodeRegistration, failure: StarlaneError): void {
    if (failure.code === 'CONTROLLER_NOT_AVAILABLE') {
      this.logFailure(failure, 'controller unreachable (heartbeat); retrying');
      // Failed heartbeats are retried at least once per heartbeat interval.
      this.schedule(Math.min(this.retryDelayMs(), registration.heartbeatIntervalMs), () => this.heartbeat());
    } else if (failure.code === 'NOT_CONTROLLER') {
      this.failures++;
      this.schedule(this.retryDelayMs(), () => this.heartbeat());
    } else if (failure.code === 'STALE_BROKER_EPOCH' || failure.code === 'BROKER_ID_NOT_REGISTERED') {
      this.options.logger.warn({ event: 'node-session-lost', errorCode: failure.code, errorMessage: failure.message }, 'the controller no longer knows this registration; registering again');
      this.registration = undefined;
      this.isFenced = true;
      this.phase = 'registering';
      this.failures++;
      this.schedule(this.retryDelayMs(), () => this.register());
    } else {
      this.logFailure(failure, 'heartbeat refused; retrying');
      this.schedule(registration.heartbeatIntervalMs, () => this.heartbeat());
    }
  }

  // -----------------------------------------------------------------------------------------
  // Controlled shutdown

  private async controlledShutdown(deadlineMs: number): Promise<ControlledShutdownOutcome> {
    const { clock, logger } = this.options;
    let remaining: readonly { readonly topic: string; readonly partition: number }[] = [];
    for (;;) {
      const registration = this.registration;
      if (registration === undefined || this.shutdownRequested) return { completed: this.shutdownRequested, remainingLeaderships: remaining };
      const leftMs = deadlineMs - clock.nowMs();
      if (leftMs <= 0) break;
      let pauseMs = controlledShutdownRetryMs;
      try {
        remaining = (await this.options.controller.controlledShutdown({ nodeId: this.options.nodeId, nodeEpoch: registration.nodeEpoch }, leftMs)).remainingLeaderships;
        if (remaining.length === 0) {
          logger.info({ event: 'controlled-shutdown-complete' }, 'the controller moved every leadership away');
          return { completed: true, remainingLeaderships: [] };
        }
      } catch (error) {
        const failure = callFailure(error);
        if (failure.code !== 'NOT_CONTROLLER' && failure.code !== 'CONTROLLER_NOT_AVAILABLE') {
          // STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED: the controller no longer counts this
          // session, so it has nothing to move on its behalf.
          logger.warn({ event: 'controlled-shutdown-refused', errorCode: failure.code, errorMessage: failure.message }, 'controlled shutdown refused');
          return { completed: false, remainingLeaderships: remaining };
        }
        this.callFailed(failure, 'controlled shutdown', 'controlled shutdown refused; retrying');
        pauseMs = this.retryDelayMs();
      }
      const waitMs = Math.min(pauseMs, deadlineMs - clock.nowMs());
      if (waitMs <= 0) break;
      await this.sleep(waitMs);
    }
    logger.warn(
      { event: 'controlled-shutdown-incomplete', remaining: remaining.map((partition) => `${partition.topic}-${partition.partition}`).slice(0, 20) },
      'stopping with leaderships the controller could not move',
    );
    return { completed: false, remainingLeaderships: remaining };
  }

  // -----------------------------------------------------------------------------------------
  // Back-off

  /**
   * Counts a failed call for the back-off. A NOT_CONTROLLER answer is not logged (the port
   * calls the controller it names next); a call with no answer or a refusal is, the first in a
   * row and every 20th.
   */
  private callFailed(failure: StarlaneError, what: string, refusedMessage: string): void {
    if (failure.code === 'NOT_CONTROLLER') {
      this.failures++;
      return;
    }
    this.logFailure(failure, failure.code === 'CONTROLLER_NOT_AVAILABLE' ? `controller unreachable (${what}); retrying` : refusedMessage);
  }

  /** The delay before the next retry after `failures` failures in a row (the first waits the least): doubling, bounded. */
  private retryDelayMs(failures: number = this.failures): number {
    const bounds = { initialMs: this.options.retryBackoffMsInitial ?? controllerRetryBackoffMsInitial, maxMs: this.options.retryBackoffMsMax ?? controllerRetryBackoffMsMax };
    return backoffMs(failures - 1, bounds);
  }

  /** Counts a failed attempt (for back-off) and logs the first and every 20th. */
  private logFailure(failure: StarlaneError, message: string): void {
    this.failures++;
    if (this.failures === 1 || this.failures % failuresPerLogLine === 0) this.options.logger.warn({ attempt: this.failures, errorCode: failure.code, error: failure.message }, message);
  }

  private fatal(error: StarlaneError): void {
    if (this.phase === 'failed' || this.phase === 'stopped') return;
    this.options.logger.warn({ event: 'node-session-failed', errorCode: error.code, error: error.message }, 'the node cannot join the cluster');
    this.phase = 'failed';
    this.registration = undefined;
    this.close();
    this.options.onFatal?.(error);
  }
}
