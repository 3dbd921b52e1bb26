/**
 * The storage node's way to the active controller, as domain calls: what `NodeLifecycle`
 * needs and nothing about how it travels. The storage node implements it over gRPC
 * (`GrpcControllerPort` in `@starlane/metadata-rpc`: redirects on NOT_CONTROLLER, rotation
 * over the bootstrap addresses, per-call deadlines); the cluster simulator over the real
 * `MetadataController` and a seeded network.
 *
 * One call is one attempt. When and how often to try again is the lifecycle's decision, so
 * every retry of the node backs off by the same rule whatever the transport.
 *
 * Rejections are `StarlaneError`s with the code the controller answered (NOT_CONTROLLER,
 * STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED, DUPLICATE_BROKER_REGISTRATION,
 * INCONSISTENT_CLUSTER_ID, INVALID_REQUEST, ...), or CONTROLLER_NOT_AVAILABLE when no answer
 * came (unreachable, deadline passed). An implementation that learned where the active
 * controller is from a NOT_CONTROLLER answer calls it next; the lifecycle only waits.
 */
import type { AlterPartitionResult, HeartbeatResult, IsrChangeInput, RegisterNodeInput } from '@starlane/metadata';

/** RegisterNode as the node sends it: the controller's `RegisterNodeInput` and what only the wire carries. */
export interface NodeRegistrationRequest extends RegisterNodeInput {
  /** The node's online log directories (failed ones are reported by heartbeats). */
  readonly logDirs: readonly { readonly dirId: string; readonly path: string }[];
  readonly softwareVersion: string;
}

/** What a successful registration established. */
export interface NodeRegistration {
  /** The node's epoch for this incarnation; quoted in every later request. */
  readonly nodeEpoch: bigint;
  readonly clusterId: string;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

/** One heartbeat (Kafka's BrokerHeartbeat). */
export interface NodeHeartbeat {
  readonly nodeId: number;
  readonly nodeEpoch: bigint;
  /** Highest metadata version the node has applied. */
  readonly metadataVersion: number;
  /** dir_ids of the node's log directories that failed since it started. */
  readonly offlineLogDirIds: readonly string[];
}

/** A proposed ISR change, with the topic name the wire carries for the controller's logs. */
export interface IsrChange extends IsrChangeInput {
  readonly topic?: string;
}

export interface ControllerPort {
  registerNode(input: NodeRegistrationRequest): Promise<NodeRegistration>;
  heartbeat(input: NodeHeartbeat): Promise<HeartbeatResult>;
  /** `timeoutMs`: the longest the call may take (the stop's time left); the port's default when not given. */
  controlledShutdown(
    input: { readonly nodeId: number; readonly nodeEpoch: bigint },
    timeoutMs?: number,
  ): Promise<{ readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[] }>;
  /** One result per change, in order (AlterPartition, KIP-497); a request-level refusal rejects. */
  alterPartition(
    input: { readonly nodeId: number; readonly nodeEpoch: bigint; readonly partitions: readonly IsrChange[] },
    timeoutMs: number,
  ): Promise<readonly AlterPartitionResult[]>;
}
