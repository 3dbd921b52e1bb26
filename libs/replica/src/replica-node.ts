/**
 * One storage node's replica code wired together, with every effect behind a port: the
 * partitions it hosts (`PartitionManager`, with the high-watermark checkpoint), the follower
 * fetchers, the ISR updater, the leader side of ReplicaFetch, and the leader's decisions for
 * producer writes and LATEST. The storage node wraps it in gRPC and the disk; the cluster
 * simulator runs several over an in-memory disk, a seeded network and manual time.
 */
import type { Clock, LogFileSystem, Scheduler } from '@starlane/io-ports';
import type { AlterPartitionResult, IsrChangeInput, MetadataImage } from '@starlane/metadata';
import type { StarlaneError } from '@starlane/model';
import { IsrUpdater } from './isr-updater';
import type { DivergenceOutcome } from './leader-fetcher';
import { PartitionManager, type ManagerLogger } from './partition-manager';
import { appendAsLeader, appendTimeoutMs, latestOffset, type LatestOffset, type ProduceOutcome } from './produce';
import { ReplicaFetchers } from './replica-fetchers';
import { ReplicaFetchSession } from './replica-fetch-session';
import type { ResultError, ReplicaStreamPort } from './replica-messages';

export interface ReplicaNodeOptions {
  readonly nodeId: number;
  /**
   * The cluster this node's data belongs to, when known at start. Metadata images are applied
   * only once it is set (here or later through `manager.setClusterId`) and only when theirs
   * matches: metadata of another cluster never decides which data is deleted.
   */
  readonly clusterId?: string;
  /** The folder holding one directory per partition (`<data-dir>/partitions`). */
  readonly directory: string;
  readonly fs: LogFileSystem;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Removes a directory and everything in it. */
  removeTree(path: string): Promise<void>;
  /** Kafka's replica.lag.time.max.ms. */
  readonly replicaLagTimeMaxMs: number;
  /** Kafka's log.retention.check.interval.ms; the log's default when not given. */
  readonly retentionCheckIntervalMs?: number;
  /** This node's registration epoch, from its lifecycle with the controller; undefined while unregistered. */
  nodeEpoch(): bigint | undefined;
  readonly streams: ReplicaStreamPort;
  /** Sends ISR proposals to the controller (see `IsrUpdaterOptions.alterPartition`). */
  alterPartition(changes: readonly IsrChangeInput[], timeoutMs: number): Promise<readonly AlterPartitionResult[] | undefined>;
  readonly logger: ManagerLogger;
  /** Told of every truncation answer acted on or refused as a repeat. */
  onDivergence?(outcome: DivergenceOutcome): void;
  /** Told once when the data directory goes offline (the node reports it to the controller). */
  onDirectoryFailure?(error: StarlaneError): void;
}

/** A producer write to one partition, as a client's request carries it. */
export interface ProduceRequest {
  /** Topic name, checked against the id when given. */
  readonly topic?: string;
  readonly topicId: string;
  readonly partition: number;
  /** The leader epoch the producer's metadata shows; unset skips the check (Kafka's -1). */
  readonly leaderEpoch?: number;
  readonly records: Buffer;
  /** Kafka's acks: 0 and 1 answer once the leader wrote, -1 once the ISR has it. */
  readonly acks: 0 | 1 | -1;
  readonly timeoutMs: number;
}

export class ReplicaNode {
  readonly manager: PartitionManager;
  private readonly fetchers: ReplicaFetchers;
  private readonly isrUpdater: IsrUpdater;
  private syncQueued = false;
  /** The newest image, while it does not show this node's registration in force (see `registeredIn`). */
  private held: MetadataImage | undefined;

  constructor(private readonly options: ReplicaNodeOptions) {
    this.manager = new PartitionManager({
      nodeId: options.nodeId,
      directory: options.directory,
      fs: options.fs,
      clock: options.clock,
      scheduler: options.scheduler,
      removeTree: (path) => options.removeTree(path),
      replicaLagTimeMaxMs: options.replicaLagTimeMaxMs,
      ...(options.retentionCheckIntervalMs === undefined ? {} : { retentionCheckIntervalMs: options.retentionCheckIntervalMs }),
      logger: options.logger,
      // Logs open a few at a time at start: one re-plan of the fetchers per turn, not per log.
      onOpened: () => this.queueSync(),
      // The data directory failed: stop fetching into it, and say so at once.
      onDirectoryFailure: (error) => {
        this.fetchers.sync();
        options.onDirectoryFailure?.(error);
      },
    });
    this.fetchers = new ReplicaFetchers({
      manager: this.manager,
      streams: options.streams,
      nodeEpoch: () => options.nodeEpoch(),
      scheduler: options.scheduler,
      nowMs: () => options.clock.nowMs(),
      logger: options.logger,
      onDivergence: (outcome) => options.onDivergence?.(outcome),
    });
    this.isrUpdater = new IsrUpdater({
      manager: this.manager,
      alterPartition: (changes, timeoutMs) => options.alterPartition(changes, timeoutMs),
      scheduler: options.scheduler,
      logger: options.logger,
    });
  }

  /** Lists the partition directories, reads the high-watermark checkpoint and starts the ISR updater. */
  async start(): Promise<void> {
    await this.manager.start();
    if (this.options.clusterId !== undefined) this.manager.setClusterId(this.options.clusterId);
    this.isrUpdater.start();
  }

  /** Brings the hosted partitions in line with `image`, and the fetchers with them. */
  applyMetadata(image: MetadataImage): void {
    if (!this.registeredIn(image)) {
      this.held = image;
      return;
    }
    this.held = undefined;
    this.manager.apply(image);
    this.fetchers.sync();
  }

  /**
   * The node registered (or registered again, with a new epoch): metadata held back until it
   * showed that registration is applied now, if it does.
   */
  registered(): void {
    if (this.held !== undefined) this.applyMetadata(this.held);
  }

  /**
   * Whether `image` already has this node's registration in force. Until it does, the node acts
   * on no metadata: an image from before the registration can still name this node leader in
   * an epoch its previous process held, and a process that restarted after losing unflushed
   * records (a power loss) would lead with a shorter log, and its followers would truncate
   * committed records to match it. The controller moves a new incarnation's leaderships away
   * in the same batch as its registration (`registerNode`), so from that image on the node
   * only follows where it led. Kafka's broker likewise waits for its registration and for the
   * metadata that carries it (the lifecycle manager's initial catch-up) before its replica
   * manager acts on the image.
   */
  private registeredIn(image: MetadataImage): boolean {
    const epoch = this.options.nodeEpoch();
    const node = image.nodes.get(this.options.nodeId);
    return epoch !== undefined && node !== undefined && BigInt(node.nodeEpoch) === epoch;
  }

  /** The leader side of one follower's ReplicaFetch stream. */
  openFetchSession(): ReplicaFetchSession {
    return new ReplicaFetchSession(this.manager, this.options.scheduler);
  }

  /** A producer write as the partition's leader, checked as the storage node's Append checks it. */
  produce(request: ProduceRequest): Promise<ProduceOutcome> {
    const address = { topic: request.topic ?? '', topicId: request.topicId, partition: request.partition, currentLeaderEpoch: request.leaderEpoch ?? -1 };
    return appendAsLeader(this.manager, address, request.records, request.acks === -1 ? 'all' : 'leader', appendTimeoutMs(request.timeoutMs));
  }

  /** LATEST as ListOffsets answers it (the high watermark; OFFSET_NOT_AVAILABLE per KIP-207). */
  latestOffset(topicId: string, partition: number): LatestOffset | { readonly error: ResultError } {
    return latestOffset(this.manager, { topic: '', topicId, partition, currentLeaderEpoch: -1 });
  }

  /** Stops fetching and proposing, closes every log; resolves whether every log closed cleanly. */
  async close(): Promise<boolean> {
    this.isrUpdater.close();
    this.fetchers.close();
    return this.manager.close();
  }

  private queueSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    // A microtask, as the storage node always did: every log that opened in this turn is seen.
    void Promise.resolve().then(() => {
      this.syncQueued = false;
      this.fetchers.sync();
    });
  }
}
