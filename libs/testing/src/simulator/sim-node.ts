/**
 * What the simulator needs from one storage node's replica code: the port the real node is
 * wired to (ReplicaNode + NodeLifecycle of @starlane/replica), and what the simulator hands it
 * (its disk, its timers, its links to the controller and to other nodes).
 *
 * The simulator never looks inside a node: it starts it, hands it metadata as the metadata
 * watcher would, routes fetch streams and client calls to it, and reads its partitions' state
 * and records for the checks. `Req`/`Res` are the replica fetch messages, opaque here.
 */
import type { Clock, LogFileSystem, Scheduler } from '@starlane/io-ports';
import type { ErrorCode } from '@starlane/model';
import type { MetadataController, MetadataImage } from '@starlane/metadata';
import type { SimStream, StreamServer } from './network';

/** A unary call to the active controller, over the simulated network. */
export interface SimControllerLink {
  /**
   * Runs `body` on the controller host when the request arrives; resolves with its answer.
   * Rejects with REQUEST_TIMED_OUT (lost: the deadline passed), BROKER_NOT_AVAILABLE (connection refused), CONTROLLER_NOT_AVAILABLE (down or loading) or the
   * controller's own StarlaneError.
   */
  call<T>(method: string, body: (controller: MetadataController) => Promise<T>, deadlineMs: number): Promise<T>;
}

/** Opens fetch streams to other nodes: shaped as ReplicaStreamPort (host and port are not needed here). */
export interface SimStreamPort<Req, Res> {
  open(leader: { readonly nodeId: number }): SimStream<Req, Res>;
}

export interface SimLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Everything one incarnation of a node gets from the simulator. */
export interface SimNodeEnvironment<Req, Res> {
  readonly nodeId: number;
  /** 1 for the first start, +1 per restart (a new process: a new incarnation id). */
  readonly incarnation: number;
  /** The boot of the node's machine this incarnation runs in: a power loss starts a new one, a kill keeps it (Linux's boot_id). */
  readonly bootId: string;
  /** This node's disk; it survives crashes (minus unsynced writes) and stops working for a dead incarnation. */
  readonly fs: LogFileSystem;
  readonly directory: string;
  readonly clock: Clock;
  /** This incarnation's timers: paused with the process, gone when it dies. */
  readonly scheduler: Scheduler;
  readonly controller: SimControllerLink;
  readonly streams: SimStreamPort<Req, Res>;
  /** Removes a directory tree on `fs` (ReplicaNodeOptions.removeTree). */
  removeTree(path: string): Promise<void>;
  readonly logger: SimLogger;
  /** Reports a defect the node detected in itself (it fails the run). */
  fail(message: string): void;
}

/** One replica's state as the checks read it. */
export interface SimReplicaState {
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly isLeader: boolean;
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
}

export interface SimRecord {
  readonly offset: bigint;
  readonly value: string;
}

export interface SimProduceRequest {
  readonly topicId: string;
  readonly partition: number;
  /** A record batch (v2) of the client's records. */
  readonly records: Buffer;
  readonly acks: 0 | 1 | -1;
  readonly timeoutMs: number;
}

export type SimError = { readonly error: { readonly code: ErrorCode; readonly message: string } };
export type SimProduceResult = { readonly baseOffset: bigint; readonly logEndOffset: bigint; readonly leaderEpoch: number } | SimError;
export type SimLatestOffset = { readonly offset: bigint; readonly leaderEpoch: number } | SimError;

/** The node under simulation: one incarnation of a storage node's replica code. */
export interface SimNode<Req, Res> {
  /** Opens the node's disk and starts its lifecycle (registration, heartbeats). May take simulated time. */
  start(): Promise<void>;
  /** The cluster metadata, as the metadata watcher delivers it: in version order, possibly skipping to a later image. */
  applyMetadata(image: MetadataImage): void;
  /** Highest metadata version applied (heartbeats report it). */
  readonly metadataVersion: number;
  /** The leader side of one follower's fetch stream. */
  openFetchSession(): StreamServer<Req, Res>;
  produce(request: SimProduceRequest): Promise<SimProduceResult>;
  /** LATEST as ListOffsets answers it: the high watermark, with the leader epoch. */
  latestOffset(topicId: string, partition: number): SimLatestOffset;
  /** The node's replicas, for the checks. */
  replicas(): SimReplicaState[];
  /** Records of one replica from `fromOffset` to the log end (values as UTF-8). */
  readRecords(topicId: string, partition: number, fromOffset: bigint): Promise<SimRecord[]>;
  /** A clean stop (controlled shutdown); a crash never calls it. */
  close(): Promise<void>;
}

export type SimNodeFactory<Req, Res> = (environment: SimNodeEnvironment<Req, Res>) => SimNode<Req, Res>;
