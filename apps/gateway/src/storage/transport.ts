/**
 * What the gateway needs from storage nodes, as an interface: the gRPC implementation keeps
 * long-lived streams per node; tests inject a fake to drive routing and retries
 * deterministically.
 */
import type { NodeInfo } from '@starlane/metadata';
import { StarlaneError } from '@starlane/model';
import type { internalV1, v1 } from '@starlane/proto';

/**
 * A request that was sent and then lost its answer (the stream broke): the node may or may not
 * have acted on it. An append failing this way must not be sent again by the gateway on its
 * own, or its records could be stored twice; a request that was never sent fails with a plain
 * StarlaneError and may be retried.
 */
export class AnswerLostError extends StarlaneError {}

export interface AppendCall {
  readonly acks: v1.Acks;
  readonly timeoutMs: number;
  readonly partitions: readonly internalV1.AppendPartitionData[];
}

export interface ReadCall {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolationLevel: v1.IsolationLevel;
  readonly partitions: readonly internalV1.ReadPartition[];
}

/**
 * Calls on storage nodes. Every method rejects with a StarlaneError: BROKER_NOT_AVAILABLE when
 * the node cannot be reached or its stream broke before answering, the node's request-level
 * code when it refused the whole request, THROTTLING_QUOTA_EXCEEDED when the node's send queue is full.
 */
export interface StorageTransport {
  /**
   * The current append session with `node`: it changes whenever the append stream to it
   * breaks. Requests that were unanswered or still queued when a session ended all fail, so
   * writes that succeed within one session were applied in the order they were sent.
   */
  appendSession(node: NodeInfo): number;
  /** Appends; resolves with one result per partition, in order, and the session it was sent in. */
  append(node: NodeInfo, call: AppendCall): Promise<{ readonly session: number; readonly results: v1.ProducePartitionResult[] }>;
  /** Reads (long-polls); one result per partition, in order. */
  read(node: NodeInfo, call: ReadCall): Promise<v1.FetchPartitionResult[]>;
  /** Offset lookups; one result per lookup, in order. */
  listOffsets(node: NodeInfo, isolationLevel: v1.IsolationLevel, lookups: readonly internalV1.OffsetLookup[]): Promise<v1.ListOffsetsPartitionResult[]>;
  close(): void;
}
