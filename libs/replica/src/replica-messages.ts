/**
 * The ReplicaFetch conversation between a follower and its leader, as domain values: what the
 * storage node's wire codec decodes into and encodes from (no copy of the record bytes), and
 * what the cluster simulator carries over its seeded network. Errors are catalogue codes from
 * `@starlane/model`, never proto numbers.
 */
import type { ErrorCode } from '@starlane/model';

/** A failure with its catalogue code, as a result or response carries it. */
export interface ResultError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** One partition a fetch lists: new to the session, or its fetch state moved (KIP-227). */
export interface ReplicaFetchPartition {
  topic: string;
  topicId: string;
  partition: number;
  /** The follower's log end: where it wants records from, and its progress for the leader. */
  fetchOffset: bigint;
  /** The epoch of the follower's last batch (-1 when empty), for the divergence check (KIP-320). */
  lastFetchedEpoch: number;
  /** The leader epoch the follower's metadata shows; checked as every partition request is. */
  currentLeaderEpoch: number;
  logStartOffset: bigint;
  /** Bytes for this partition; 0 for the leader's default. */
  maxBytes: number;
}

export interface ReplicaFetchRequest {
  replicaNodeId: number;
  /** The follower's registration epoch, quoted by the leader in ISR proposals (KIP-903). */
  replicaNodeEpoch: bigint;
  maxWaitMs: number;
  minBytes: number;
  /** Bytes for the whole response; 0 for the leader's default. */
  maxBytes: number;
  partitions: ReplicaFetchPartition[];
  /** Partitions the session should stop following. */
  removedPartitions: { topic: string; partition: number }[];
}

export interface ReplicaFetchPartitionResult {
  topic: string;
  topicId: string;
  partition: number;
  highWatermark: bigint;
  logStartOffset: bigint;
  /** Batches as the leader stores them; a view of the received message on a follower. */
  recordBatches: Buffer;
  /** Set when the follower's last fetched epoch ends earlier here: truncate there first. */
  divergingEpoch?: { epoch: number; endOffset: bigint };
  /** The leader's log end, with OFFSET_OUT_OF_RANGE (a follower past it truncates there). */
  leaderLogEnd?: bigint;
  /** The partition was refused; it leaves the session. */
  error?: ResultError;
}

export interface ReplicaFetchResponse {
  partitions: ReplicaFetchPartitionResult[];
  /** Session-level refusal; the leader ends the stream after it. */
  error?: ResultError;
}

/**
 * The follower's side of the transport: one stream per leader, one fetch outstanding at a
 * time. `fetch` rejects once the stream broke (or ended); the fetcher then opens another.
 */
export interface ReplicaStream {
  fetch(request: ReplicaFetchRequest): Promise<ReplicaFetchResponse>;
  /** Ends the stream; a fetch still outstanding may reject. */
  close(): void;
}

/** Where a follower's fetchers get their streams to leaders from (gRPC in the storage node). */
export interface ReplicaStreamPort {
  open(leader: { nodeId: number; host: string; port: number }): ReplicaStream;
}
