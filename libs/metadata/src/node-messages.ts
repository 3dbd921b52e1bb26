/**
 * What a storage node and the controller say to each other about the node's session, in domain
 * terms, as the node sends and reads them (RegisterNode, Heartbeat of
 * starlane.internal.v1.ControllerService). The controller's commands take the narrower
 * `RegisterNodeInput` and `HeartbeatInput`; node epochs travel as `bigint` here, as on the wire.
 *
 * The node's side (`NodeLifecycle` in `@starlane/replica`) and the gRPC translation
 * (`GrpcControllerPort` in `@starlane/metadata-rpc`) both speak these, so neither depends on
 * the other.
 */
import type { RegisterNodeInput } from './node-commands';

/** RegisterNode as the node sends it: the controller's `RegisterNodeInput` and what only the wire carries. */
export interface NodeRegistrationRequest extends RegisterNodeInput {
  /** The node's online log directories (failed ones are reported by heartbeats). */
  readonly logDirs: readonly { readonly dirId: string; readonly path: string }[];
  readonly softwareVersion: string;
}

/** What a successful registration established. */
export interface NodeRegistrationResult {
  /** The node's epoch for this incarnation; quoted in every later request. */
  readonly nodeEpoch: bigint;
  readonly clusterId: string;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

/** One heartbeat (Kafka's BrokerHeartbeat) as the node sends it. */
export interface NodeHeartbeat {
  readonly nodeId: number;
  readonly nodeEpoch: bigint;
  /** Highest metadata version the node has applied. */
  readonly metadataVersion: number;
  /** dir_ids of the node's log directories that failed since it started. */
  readonly offlineLogDirIds: readonly string[];
}
