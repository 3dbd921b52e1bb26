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
 *
 * The messages are the domain types of `@starlane/metadata`, which the gRPC implementation
 * speaks too without depending on this library (the launcher and the testing library depend on
 * the gRPC adapter, and this library's tests may depend on them).
 */
import type { AlterPartitionResult, HeartbeatResult, IsrChangeInput, NodeHeartbeat, NodeRegistrationRequest, NodeRegistrationResult } from '@starlane/metadata';

export type { NodeHeartbeat, NodeRegistrationRequest } from '@starlane/metadata';

/** What a successful registration established (`NodeRegistrationResult` of `@starlane/metadata`). */
export type NodeRegistration = NodeRegistrationResult;

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
    input: { readonly nodeId: number; readonly nodeEpoch: bigint; readonly partitions: readonly IsrChangeInput[] },
    timeoutMs: number,
  ): Promise<readonly AlterPartitionResult[]>;
}
