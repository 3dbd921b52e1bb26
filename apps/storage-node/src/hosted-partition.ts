/**
 * One partition replica this node hosts: its log (once open), its replication state as the
 * metadata says, its topic config, and the readers waiting for it to change.
 *
 * Replication factor 1 for now: the high watermark is the log end offset and a leader's write
 * is committed when its log has it. Replication replaces exactly two things here: where the
 * high watermark comes from (`highWatermark`) and when an acks=all write is answered
 * (`whenCommitted`); everything else (appends, reads, long-poll wake-ups) stays as it is.
 */
import type { AppendResult, LogConfig, PartitionLog, Scheduler } from '@starlane/log';
import type { PartitionState } from '@starlane/metadata';
import { StarlaneError } from '@starlane/model';

export type PartitionStatus = 'opening' | 'online' | 'offline' | 'removed';

export class HostedPartition {
  private log: PartitionLog | undefined;
  private failure: StarlaneError | undefined;
  private removed = false;
  /** Readers and writers waiting for the partition to change (data, leadership, removal). */
  private readonly listeners = new Set<() => void>();
  private settleOpen: { resolve(log: PartitionLog): void; reject(error: StarlaneError): void } | undefined;
  /** Settles once the log is open, or failed to open, or the partition was removed first. */
  readonly opened: Promise<PartitionLog>;

  constructor(
    readonly topicId: string,
    readonly partition: number,
    /** Topic name, for results and logs. */
    public topic: string,
    /** Replication state from the latest metadata the node applied. */
    public state: PartitionState,
    /** Log settings from the topic's effective config. */
    public config: LogConfig,
    readonly directory: string,
    private readonly scheduler: Scheduler,
  ) {
    this.opened = new Promise<PartitionLog>((resolve, reject) => (this.settleOpen = { resolve, reject }));
    // Waiting on `opened` is optional; an open failure is reported through `status` too.
    this.opened.catch(() => undefined);
  }

  get status(): PartitionStatus {
    if (this.removed) return 'removed';
    if (this.failure !== undefined) return 'offline';
    return this.log === undefined ? 'opening' : 'online';
  }

  /** The open log, while the partition is online. */
  get onlineLog(): PartitionLog | undefined {
    return this.removed ? undefined : this.log;
  }

  /** Why the partition is offline, if it is. */
  get storageFailure(): StarlaneError | undefined {
    return this.failure;
  }

  /**
   * The offset below which records are committed and visible to consumers. With one replica
   * that is the log end offset; -1 while the log is not open.
   */
  get highWatermark(): bigint {
    return this.log === undefined ? -1n : this.log.logEndOffset;
  }

  /** The log opened: requests that waited for it go on, in the order they came. */
  attach(log: PartitionLog): void {
    this.log = log;
    // The config may have changed while the log was opening.
    if (log.logConfig !== this.config) log.reconfigure(this.config);
    this.settleOpen?.resolve(log);
    this.notify();
  }

  /** The log could not be opened (damaged beyond recovery, disk error): only this partition is offline. */
  fail(error: StarlaneError): void {
    this.failure = error;
    this.settleOpen?.reject(error);
    this.notify();
  }

  /**
   * The partition left this node (topic deleted, replica moved): requests and waiters stop. An
   * open under way still settles `opened`, so whoever removes the files can close the log first.
   */
  remove(): void {
    this.removed = true;
    this.notify();
  }

  /** The log will not be opened at all (removed or stopping before its turn came). */
  abandonOpen(): void {
    if (this.log !== undefined || this.failure !== undefined) return;
    this.settleOpen?.reject(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} was not opened`));
  }

  /** New metadata for the partition. Waiters re-check when leadership or epochs change. */
  update(topic: string, state: PartitionState): void {
    const previous = this.state;
    this.topic = topic;
    this.state = state;
    if (previous.leader !== state.leader || previous.leaderEpoch !== state.leaderEpoch || previous.partitionEpoch !== state.partitionEpoch) this.notify();
  }

  /** A changed topic config: applied to the open log at once, or when it opens. */
  applyConfig(config: LogConfig): void {
    this.config = config;
    this.log?.reconfigure(config);
  }

  /**
   * Appends producer batches as leader in `leaderEpoch` (the epoch the request was checked
   * against), stamping it on them. Calls are applied in call order, also while the log is still
   * opening: they wait for it, up to `timeoutMs`, and one that gave up is never written later.
   * One that waited is written only if the partition is still in that epoch when the log opens:
   * leadership may have moved meanwhile, and a write under a newer epoch it was never checked
   * against could be truncated away by the real leader after it was acknowledged.
   */
  append(records: Buffer, timeoutMs: number, leaderEpoch: number = this.state.leaderEpoch): Promise<AppendResult> {
    const log = this.onlineLog;
    if (log !== undefined) return this.appended(log.append(records, leaderEpoch));
    if (this.removed) return Promise.reject(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is no longer hosted here`));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<AppendResult>((resolve, reject) => {
      let abandoned = false;
      const cancel = this.scheduler.schedule(timeoutMs, () => {
        abandoned = true;
        reject(new StarlaneError('REQUEST_TIMED_OUT', `${this.topic}-${this.partition} did not open within ${timeoutMs} ms`));
      });
      this.opened.then(
        (opened) => {
          cancel();
          if (abandoned) return;
          if (this.removed) {
            reject(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is no longer hosted here`));
            return;
          }
          if (this.state.leaderEpoch !== leaderEpoch) {
            reject(new StarlaneError('FENCED_LEADER_EPOCH', `${this.topic}-${this.partition} moved from leader epoch ${leaderEpoch} to ${this.state.leaderEpoch} while its log opened`));
            return;
          }
          this.appended(opened.append(records, leaderEpoch)).then(resolve, reject);
        },
        (error: unknown) => {
          cancel();
          if (!abandoned) reject(error);
        },
      );
    });
  }

  /**
   * Resolves once every offset below `endOffset` is committed (acks=all), within `timeoutMs`.
   * With one replica the leader's log is the whole ISR, so a write is committed as soon as it
   * is appended and this resolves at once.
   */
  whenCommitted(endOffset: bigint, timeoutMs: number): Promise<void> {
    if (this.highWatermark >= endOffset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (error?: StarlaneError): void => {
        stop();
        cancel();
        if (error === undefined) resolve();
        else reject(error);
      };
      const stop = this.listen(() => {
        if (this.status !== 'online') finish(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is no longer led here`));
        else if (this.highWatermark >= endOffset) finish();
      });
      const cancel = this.scheduler.schedule(timeoutMs, () => finish(new StarlaneError('REQUEST_TIMED_OUT', `offsets below ${endOffset} were not committed within ${timeoutMs} ms`)));
    });
  }

  /** Calls `listener` whenever the partition changes; returns the unsubscribe function. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private appended(result: Promise<AppendResult>): Promise<AppendResult> {
    return result.then((appended) => {
      this.notify();
      return appended;
    });
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) listener();
  }
}
