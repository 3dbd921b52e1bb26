/**
 * Keeps the partition logs this node hosts in step with the cluster metadata.
 *
 * For every metadata image the node applies:
 * - every partition whose replicas include this node gets a `HostedPartition` at once, and its
 *   log is opened in the background (a few at a time), so a long recovery of one partition
 *   never holds up the others;
 * - a log that fails (cannot be opened, or a write, fsync, roll or checkpoint fails at run
 *   time) takes the whole data directory offline, as Kafka's log-directory failure handling
 *   does: every partition in it answers KAFKA_STORAGE_ERROR, nothing more is written there,
 *   and the node reports the directory in its heartbeats so the controller moves its
 *   leaderships away (see `failDirectory`);
 * - a partition whose topic is gone, or whose replicas no longer include this node, is taken
 *   out of service at once and its log is closed and deleted in the background;
 * - leadership, epochs and topic configs are updated in place; a changed log config
 *   (`retention.ms`, `segment.bytes`, `max.message.bytes`, `cleanup.policy`, ...) is applied
 *   to the open log. Retention and compaction then run on the log's own schedule.
 *
 * Images are applied only when their cluster id is the node's: metadata from another cluster
 * must never decide which data this node deletes.
 */
import { joinPath, type Clock, type LogFileSystem, type Scheduler } from '@starlane/io-ports';
import { PartitionLog, defaultLogConfig, logConfigNames, parseLogConfig, type BackgroundTask, type LogConfig } from '@starlane/log';
import { effectiveConfigs, topicById, type MetadataImage, type TopicState } from '@starlane/metadata';
import { StarlaneError } from '@starlane/model';
import type { ReplicaSettings } from '@starlane/replication';
import { HostedPartition } from './hosted-partition';
import {
  decodeHighWatermarks,
  encodeHighWatermarks,
  highWatermarkCheckpointFileName,
  highWatermarkCheckpointIntervalMs,
} from './hw-checkpoint';
import { deletionMarkerFileName, isSafeTopicId, parsePartitionDirectoryName, partitionDirectoryName, partitionKey as keyOf } from './partition-dirs';

/** Logs opened at the same time; the rest wait their turn (each open may scan segments). */
export const opensInParallelMax = 4;

export interface ManagerLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface PartitionManagerOptions {
  readonly nodeId: number;
  /** The folder holding one directory per partition (`<data-dir>/partitions`). */
  readonly directory: string;
  readonly fs: LogFileSystem;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Removes a directory and everything in it. */
  readonly removeTree: (path: string) => Promise<void>;
  /** A follower that has not caught up for this long leaves the ISR (Kafka's replica.lag.time.max.ms). */
  readonly replicaLagTimeMaxMs: number;
  /** How often each log applies retention (Kafka's log.retention.check.interval.ms); the log's default when not given. */
  readonly retentionCheckIntervalMs?: number;
  /** Told when a partition's log has opened (replication starts following it then). */
  readonly onOpened?: (partition: HostedPartition) => void;
  /** Told once when the data directory goes offline (the node reports it to the controller). */
  readonly onDirectoryFailure?: (error: StarlaneError) => void;
  readonly logger: ManagerLogger;
}

export class PartitionManager {
  private readonly hosted = new Map<string, HostedPartition>();
  private image: MetadataImage | undefined;
  private clusterId = '';
  private readonly openQueue: HostedPartition[] = [];
  private opensRunning = 0;
  /** Directory removals under way, so a partition coming back waits for its old files to go. */
  private readonly removals = new Map<string, Promise<void>>();
  /** Partition directories found at start; those the first image does not claim are removed. */
  private found: Map<string, string> | undefined;
  private mismatchReported = false;
  private closing = false;
  /** High watermarks from the checkpoint read at start, for partitions not opened since. */
  private checkpointed = new Map<string, bigint>();
  /** The checkpoint write under way, if any; writes never overlap. */
  private checkpointing: Promise<void> | undefined;
  private cancelCheckpointTimer: (() => void) | undefined;
  /** Why the data directory is offline, once a log in it failed. */
  private dirFailure: StarlaneError | undefined;

  constructor(private readonly options: PartitionManagerOptions) {}

  /** The latest image applied, or undefined before the first. */
  get metadata(): MetadataImage | undefined {
    return this.image;
  }

  /** The version of the latest image applied; 0 before the first. Reported in heartbeats. */
  get appliedVersion(): number {
    return this.image?.version ?? 0;
  }

  get nodeId(): number {
    return this.options.nodeId;
  }

  /** Why the data directory went offline, if it did; it stays offline until the node restarts. */
  get directoryFailure(): StarlaneError | undefined {
    return this.dirFailure;
  }

  /** The hosted partition, if this node hosts it. */
  partition(topicId: string, partition: number): HostedPartition | undefined {
    return this.hosted.get(keyOf(topicId, partition));
  }

  /** Every hosted partition (for status and tests). */
  partitions(): HostedPartition[] {
    return [...this.hosted.values()];
  }

  /**
   * Lists the partition directories already on disk and finishes removals a crash cut short.
   * Call once, before the first image.
   */
  async start(): Promise<void> {
    const { fs, directory } = this.options;
    await fs.makeDirectory(directory);
    const found = new Map<string, string>();
    for (const name of await fs.list(directory)) {
      if (name === highWatermarkCheckpointFileName) continue;
      if (name.startsWith(`${highWatermarkCheckpointFileName}.`)) {
        // A checkpoint write a crash cut short.
        await fs.remove(joinPath(directory, name));
        continue;
      }
      const path = joinPath(directory, name);
      if (await fs.exists(joinPath(path, deletionMarkerFileName))) {
        this.removeDirectory(path);
        continue;
      }
      const parsed = parsePartitionDirectoryName(name);
      if (parsed === null) {
        this.options.logger.warn({ path }, 'ignoring an entry of the partitions folder that is not a partition directory');
        continue;
      }
      found.set(keyOf(parsed.topicId, parsed.partition), path);
    }
    this.found = found;
    this.checkpointed = await this.readCheckpoint();
    await Promise.all(this.removals.values());
    this.scheduleCheckpoint();
  }

  /**
   * Writes every hosted partition's high watermark to the checkpoint file (atomically). Runs
   * on a timer and at close; a call while a write is under way waits for it and writes again.
   */
  async checkpointHighWatermarks(entries: ReadonlyMap<string, bigint> = this.highWatermarks()): Promise<void> {
    const previous = this.checkpointing;
    const write = (async () => {
      await previous?.catch(() => undefined);
      await this.options.fs.writeFileAtomic(joinPath(this.options.directory, highWatermarkCheckpointFileName), encodeHighWatermarks(entries));
    })();
    this.checkpointing = write;
    try {
      await write;
    } finally {
      if (this.checkpointing === write) this.checkpointing = undefined;
    }
  }

  /** Each hosted partition's high watermark, or the checkpointed one while its log is not open. */
  private highWatermarks(): Map<string, bigint> {
    const entries = new Map<string, bigint>();
    for (const [key, partition] of this.hosted) {
      const highWatermark = partition.highWatermark;
      const known = highWatermark >= 0n ? highWatermark : this.checkpointed.get(key);
      if (known !== undefined) entries.set(key, known);
    }
    return entries;
  }

  private scheduleCheckpoint(): void {
    this.cancelCheckpointTimer = this.options.scheduler.schedule(highWatermarkCheckpointIntervalMs, () => {
      // An offline directory is not written again (Kafka stops checkpointing it too).
      if (this.closing || this.dirFailure !== undefined) return;
      this.checkpointHighWatermarks()
        .catch((error: unknown) => this.options.logger.warn({ error: String(error) }, 'cannot write the high-watermark checkpoint; it is retried'))
        .finally(() => {
          if (!this.closing) this.scheduleCheckpoint();
        });
    });
  }

  /** The checkpoint left by the last run; a missing or unreadable one counts as empty. */
  private async readCheckpoint(): Promise<Map<string, bigint>> {
    const path = joinPath(this.options.directory, highWatermarkCheckpointFileName);
    try {
      const data = await this.options.fs.readFile(path);
      return data === null ? new Map() : decodeHighWatermarks(data);
    } catch (error) {
      // Only visibility suffers: high watermarks come back as followers fetch again.
      this.options.logger.warn({ path, error: error instanceof Error ? error.message : String(error) }, 'ignoring an unreadable high-watermark checkpoint');
      return new Map();
    }
  }

  /** The cluster this node's data belongs to; images of other clusters are ignored. */
  setClusterId(clusterId: string): void {
    this.clusterId = clusterId;
  }

  /** Brings the hosted partitions in line with `image`. Synchronous: logs open and close in the background. */
  apply(image: MetadataImage): void {
    if (this.closing) return;
    if (this.clusterId === '' || image.clusterId !== this.clusterId) {
      if (this.clusterId !== '' && !this.mismatchReported) {
        this.mismatchReported = true;
        this.options.logger.error({ imageClusterId: image.clusterId, clusterId: this.clusterId }, 'ignoring metadata of another cluster');
      }
      return;
    }
    const previous = this.image;
    this.image = image;
    const { nodeId } = this.options;
    for (const topic of image.topics.values()) {
      // Images share unchanged topics: nothing to do for one that is the same object as before.
      if (previous !== undefined && previous.topics.get(topic.name) === topic && previous.clusterConfigs === image.clusterConfigs) continue;
      let config: LogConfig | undefined;
      let settings: ReplicaSettings | undefined;
      for (const state of topic.partitions) {
        if (!state.replicas.includes(nodeId)) continue;
        config ??= this.logConfigFor(image, topic);
        settings ??= this.replicaSettingsFor(image, topic);
        const existing = this.hosted.get(keyOf(topic.topicId, state.partition));
        if (existing === undefined) {
          this.host(topic, state.partition, config, settings);
          continue;
        }
        if (existing.replicaSettings.minInsyncReplicas !== settings.minInsyncReplicas || existing.replicaSettings.replicaLagTimeMaxMs !== settings.replicaLagTimeMaxMs) existing.applyReplicaSettings(settings);
        existing.update(topic.name, state);
        if (!sameConfig(existing.config, config)) {
          this.options.logger.info({ topic: topic.name, partition: state.partition }, 'applying a changed topic config');
          existing.applyConfig(config);
        }
      }
    }
    for (const [key, partition] of this.hosted) {
      const state = topicById(image, partition.topicId)?.partitions[partition.partition];
      if (state !== undefined && state.replicas.includes(nodeId)) continue;
      this.hosted.delete(key);
      this.unhost(partition, state === undefined ? 'topic deleted' : 'replica moved to other nodes');
    }
    this.removeStrays();
  }

  /** Closes every log (flushing it and marking it clean); resolves whether all closed cleanly. */
  async close(): Promise<boolean> {
    this.closing = true;
    this.cancelCheckpointTimer?.();
    for (const partition of this.openQueue.splice(0)) partition.abandonOpen();
    const finalHighWatermarks = this.highWatermarks();
    let clean = true;
    await Promise.all(
      [...this.hosted.values()].map(async (partition) => {
        let log: PartitionLog;
        try {
          log = await partition.opened;
        } catch {
          // Never opened (or failed to): nothing to flush; a failed log cannot vouch for itself.
          if (partition.status === 'offline') clean = false;
          return;
        }
        try {
          await log.close();
        } catch (error) {
          clean = false;
          this.options.logger.error({ topic: partition.topic, partition: partition.partition, error: String(error) }, 'a partition log did not close cleanly');
        }
      }),
    );
    await Promise.all(this.removals.values());
    if (this.dirFailure !== undefined) {
      // Nothing in a failed directory can vouch for itself: no checkpoint, no clean shutdown.
      this.hosted.clear();
      return false;
    }
    try {
      await this.checkpointHighWatermarks(finalHighWatermarks);
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'cannot write the high-watermark checkpoint at shutdown');
    }
    this.hosted.clear();
    return clean;
  }

  // -----------------------------------------------------------------------------------------

  private host(topic: TopicState, index: number, config: LogConfig, settings: ReplicaSettings): void {
    const state = topic.partitions[index];
    if (state === undefined) return;
    if (!isSafeTopicId(topic.topicId)) {
      this.options.logger.error({ topic: topic.name, topicId: topic.topicId }, 'refusing to host a partition whose topic id cannot name a directory');
      return;
    }
    const directory = this.found?.get(keyOf(topic.topicId, index)) ?? joinPath(this.options.directory, partitionDirectoryName(topic.name, topic.topicId, index));
    const partition = new HostedPartition(topic.topicId, index, topic.name, state, config, directory, this.options.scheduler, this.options.nodeId, settings, () => this.options.clock.nowMs());
    this.hosted.set(keyOf(topic.topicId, index), partition);
    if (this.dirFailure !== undefined) {
      partition.fail(this.dirFailure);
      return;
    }
    this.openQueue.push(partition);
    this.pumpOpens();
  }

  private pumpOpens(): void {
    while (this.opensRunning < opensInParallelMax && this.openQueue.length > 0) {
      const partition = this.openQueue.shift() as HostedPartition;
      if (partition.status === 'removed' || partition.status === 'offline') {
        partition.abandonOpen();
        continue;
      }
      this.opensRunning++;
      this.open(partition)
        .catch((error: unknown) => {
          const failure = error instanceof StarlaneError ? error : new StarlaneError('STORAGE_UNAVAILABLE', String(error), { cause: error });
          partition.fail(failure);
          this.failDirectory(failure, partition, 'cannot open a partition log');
        })
        .finally(() => {
          this.opensRunning--;
          this.pumpOpens();
        });
    }
  }

  private async open(partition: HostedPartition): Promise<void> {
    const { fs, clock, scheduler, logger } = this.options;
    // A partition that left and came back waits for the old directory to be gone.
    await this.removals.get(partition.directory);
    const { log, report } = await PartitionLog.open({
      directory: partition.directory,
      fs,
      clock,
      scheduler,
      config: partition.config,
      // Retention never deletes records this replica has not seen committed (Kafka's bound).
      retainFrom: () => partition.highWatermark,
      ...(this.options.retentionCheckIntervalMs === undefined ? {} : { retentionCheckIntervalMs: this.options.retentionCheckIntervalMs }),
      onBackgroundError: (task: BackgroundTask, error: unknown) =>
        logger.warn({ topic: partition.topic, partition: partition.partition, task, error: String(error) }, 'log housekeeping failed; it will be retried'),
      onFailure: (error) => this.failDirectory(error, partition, 'a partition log failed'),
    });
    if (this.dirFailure !== undefined) {
      // The directory failed while this log was opening: it is not served from.
      await log.release().catch(() => undefined);
      throw this.dirFailure;
    }
    // The checkpointed high watermark first: attaching may make this replica leader at once.
    const key = keyOf(partition.topicId, partition.partition);
    const checkpointed = this.checkpointed.get(key);
    this.checkpointed.delete(key);
    if (checkpointed !== undefined) partition.restoreHighWatermark(checkpointed);
    // Attached even when removed or stopping meanwhile: whoever deletes or closes it waits for
    // `opened` and closes this log first.
    partition.attach(log);
    this.options.onOpened?.(partition);
    const fields = { topic: partition.topic, partition: partition.partition, logStartOffset: String(log.logStartOffset), logEndOffset: String(log.logEndOffset), ...report };
    const recovered = report.segmentsRecovered > 0 || report.bytesTruncated > 0 || report.segmentsDeleted > 0;
    logger.info(fields, recovered ? 'partition log recovered' : 'partition log opened');
  }

  /**
   * A log failed: the whole data directory goes offline, as Kafka takes a log directory offline
   * on any IOException in it. The same disk is likely failing for every partition, and the
   * controller can only be told about directories. Every partition of it fails (and stops
   * leading), its open logs are released without a flush, and the node is told once, so its
   * heartbeats report the directory and the controller moves the leaderships to other in-sync
   * replicas. It stays offline until the node restarts (which opens and recovers every log).
   */
  private failDirectory(error: StarlaneError, origin: HostedPartition, what: string): void {
    if (this.dirFailure !== undefined || this.closing) return;
    const reason = withCauses(error);
    this.dirFailure = new StarlaneError('STORAGE_UNAVAILABLE', `the data directory is offline since ${origin.topic}-${origin.partition} failed: ${reason}`, { cause: error });
    this.cancelCheckpointTimer?.();
    this.options.logger.error(
      { event: 'log-directory-offline', topic: origin.topic, partition: origin.partition, directory: this.options.directory, partitions: this.hosted.size, error: reason },
      `${what}; the data directory is offline: every partition in it stops serving until the node restarts`,
    );
    for (const partition of this.hosted.values()) {
      partition.fail(partition === origin ? error : this.dirFailure);
      // Opened logs are released (descriptors closed, timers stopped, nothing flushed); a log
      // still opening is released when its open completes (`open`).
      void partition.opened.then((log) => log.release()).catch(() => undefined);
    }
    this.openQueue.splice(0);
    this.options.onDirectoryFailure?.(this.dirFailure);
  }

  private unhost(partition: HostedPartition, reason: string): void {
    partition.remove();
    if (this.dirFailure !== undefined) {
      // Nothing is written to a failed directory; the next start removes what no image claims.
      this.options.logger.info({ topic: partition.topic, partition: partition.partition, reason }, 'a partition left this node; its directory is offline and stays until the next start');
      return;
    }
    this.options.logger.info({ topic: partition.topic, partition: partition.partition, reason }, 'deleting a partition this node no longer hosts');
    const removal = (async () => {
      // Wait for an open under way to finish, so no file is created under the removal.
      const log = await partition.opened.catch(() => undefined);
      // The data is being deleted: nothing to flush.
      await log?.release().catch(() => undefined);
      await this.deleteDirectory(partition.directory);
    })();
    this.trackRemoval(partition.directory, removal);
  }

  /** Removes directories found at start that the first applied image does not claim. */
  private removeStrays(): void {
    const found = this.found;
    if (found === undefined || this.dirFailure !== undefined) return;
    this.found = undefined;
    for (const [key, path] of found) {
      if (this.hosted.has(key)) continue;
      this.options.logger.info({ path }, 'deleting a partition directory this node no longer hosts');
      this.removeDirectory(path);
    }
  }

  private removeDirectory(path: string): void {
    this.trackRemoval(path, this.deleteDirectory(path));
  }

  private trackRemoval(path: string, removal: Promise<void>): void {
    const tracked = removal.catch((error: unknown) => {
      this.options.logger.error({ path, error: String(error) }, 'cannot delete a partition directory; it is retried at the next start');
    });
    this.removals.set(path, tracked);
    void tracked.then(() => {
      if (this.removals.get(path) === tracked) this.removals.delete(path);
    });
  }

  private async deleteDirectory(path: string): Promise<void> {
    const { fs } = this.options;
    // The marker goes first: a crash part-way leaves a directory that is finished off at the
    // next start, never one opened as a damaged log.
    if (await fs.exists(path)) await fs.writeFileAtomic(joinPath(path, deletionMarkerFileName), Buffer.alloc(0));
    await this.options.removeTree(path);
  }

  /** The log settings of `topic`: its effective config restricted to the log's settings. A
   * value the log cannot take is left at its default, with a warning. */
  private replicaSettingsFor(image: MetadataImage, topic: TopicState): ReplicaSettings {
    const value = Number(effectiveConfigs(image, topic)['min.insync.replicas'] ?? '1');
    return { minInsyncReplicas: Number.isInteger(value) && value >= 1 ? value : 1, replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs };
  }

  private logConfigFor(image: MetadataImage, topic: TopicState): LogConfig {
    const effective = effectiveConfigs(image, topic);
    let config = defaultLogConfig;
    for (const name of logConfigNames) {
      const value = effective[name];
      if (value === undefined) continue;
      try {
        config = parseLogConfig({ [name]: value }, config);
      } catch (error) {
        this.options.logger.warn({ topic: topic.name, name, value, error: String(error) }, 'ignoring a topic config the log cannot apply');
      }
    }
    return config;
  }
}

/** An error's message followed by its causes' (the log says what failed, the cause has the errno). */
function withCauses(error: Error): string {
  let text = error.message;
  for (let cause = error.cause, depth = 0; cause instanceof Error && depth < 3; cause = cause.cause, depth += 1) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
  }
  return text;
}

function sameConfig(a: LogConfig, b: LogConfig): boolean {
  if (a === b) return true;
  for (const key of Object.keys(a) as (keyof LogConfig)[]) if (a[key] !== b[key]) return false;
  return true;
}
