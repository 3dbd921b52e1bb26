/**
 * The storage node's session with the active controller over gRPC: `NodeLifecycle` (the
 * decisions: registration, heartbeats, back-off, controlled shutdown; `@starlane/replica`)
 * wired to `GrpcControllerPort` (the calls: redirects, rotation over the bootstrap addresses,
 * deadlines; `@starlane/metadata-rpc`). Wiring only; the cluster simulator drives
 * `NodeLifecycle` over a port of its own.
 */
import { GrpcControllerPort, alterPartitionResultToProto, isrChangeFromProto } from '@starlane/metadata-rpc';
import { type StarlaneError } from '@starlane/model';
import type { internalV1 } from '@starlane/proto';
import { NodeLifecycle, type ControlledShutdownOutcome, type ControllerPort, type NodeLifecycleOptions, type NodeRegistration } from '@starlane/replica';

export interface NodeSessionOptions extends Omit<NodeLifecycleOptions, 'controller' | 'isrChangeAttemptsMax'> {
  /** Controller addresses (host:port) to bootstrap from; any of them redirects to the active one. */
  readonly controllers: readonly string[];
  /** Deadline of each call to the controller. */
  readonly requestTimeoutMs?: number;
}

export class NodeSession {
  /** The decisions, for callers that speak domain types (`alterPartition` with `IsrChange`s). */
  readonly lifecycle: NodeLifecycle;
  private readonly port: GrpcControllerPort;

  constructor(options: NodeSessionOptions) {
    if (options.controllers.length === 0) throw new TypeError('NodeSession needs at least one controller address');
    const { controllers, requestTimeoutMs, onFatal, ...rest } = options;
    this.port = new GrpcControllerPort(controllers, requestTimeoutMs);
    const controller: ControllerPort = this.port;
    this.lifecycle = new NodeLifecycle({
      ...rest,
      controller,
      // A request reaches the active controller from any bootstrap address.
      isrChangeAttemptsMax: this.port.callsToReachActiveMax,
      onFatal: (error: StarlaneError) => {
        this.port.close();
        onFatal?.(error);
      },
    });
  }

  /** The registration in force, or undefined while (re-)registering. */
  get current(): NodeRegistration | undefined {
    return this.lifecycle.current;
  }

  /** The cluster id: the stored one, or the one the first registration gave; empty until known. */
  get clusterId(): string {
    return this.lifecycle.clusterId;
  }

  /** Whether the controller last said the node is fenced (true until a heartbeat says otherwise). */
  get fenced(): boolean {
    return this.lifecycle.fenced;
  }

  start(): void {
    this.lifecycle.start();
  }

  metadataApplied(): void {
    this.lifecycle.metadataApplied();
  }

  logDirsChanged(): void {
    this.lifecycle.logDirsChanged();
  }

  /**
   * `NodeLifecycle.alterPartition` in the wire's terms, for callers that hold proto messages:
   * the answer, or undefined when the node is not registered, no controller took the request or
   * the controller refused it as a whole (the lifecycle logs why).
   */
  async alterPartition(partitions: readonly internalV1.PartitionIsrChange[], timeoutMs: number): Promise<internalV1.AlterPartitionResponse | undefined> {
    const results = await this.lifecycle.alterPartition(partitions.map(isrChangeFromProto), timeoutMs);
    if (results === undefined) return undefined;
    return {
      partitions: results.map(alterPartitionResultToProto),
      activeController: undefined,
      errorCode: 0,
      errorMessage: '',
    };
  }

  /** Controlled shutdown (`NodeLifecycle.stop`), then the gRPC clients are closed. */
  async stop(timeoutMs: number): Promise<ControlledShutdownOutcome> {
    try {
      return await this.lifecycle.stop(timeoutMs);
    } finally {
      this.port.close();
    }
  }
}
