/**
 * One partition replica this node hosts: its log (once open), its replication state as the
 * metadata says, its topic config, and the readers waiting for it to change.
 *
 * Its role follows the metadata. As leader it keeps a `LeaderReplicaState` (the followers'
 * progress from their fetches), which gives the high watermark and the ISR changes to propose;
 * taking over first records the new leader epoch at the log end. As follower its high watermark
 * is the one its leader last reported, capped by its own log end. Reads and acks=all waiters
 * are woken whenever the high watermark moves.
 */
import type { Scheduler } from '@starlane/io-ports';
import type { AppendResult, LogConfig, PartitionLog } from '@starlane/log';
import { noLeader, type PartitionState } from '@starlane/metadata';
import { StarlaneError } from '@starlane/model';
import { LeaderReplicaState, followerHighWatermark, type IsrEligibility, type IsrProposal, type LeaderAssignment, type ReplicaSettings } from '@starlane/replication';

export type PartitionStatus = 'opening' | 'online' | 'offline' | 'removed';

/** The controller's answer to an ISR proposal, in the node's metadata terms (see `ProposalAnswer`). */
export type IsrProposalAnswer =
  | { readonly outcome: 'accepted'; readonly state: PartitionState }
  | { readonly outcome: 'refused'; readonly state: PartitionState | undefined }
  | { readonly outcome: 'unanswered' };

export class HostedPartition {
  private log: PartitionLog | undefined;
  private failure: StarlaneError | undefined;
  private removed = false;
  /** Readers and writers waiting for the partition to change (data, leadership, removal). */
  private readonly listeners = new Set<() => void>();
  private settleOpen: { resolve(log: PartitionLog): void; reject(error: StarlaneError): void } | undefined;
  /** Settles once the log is open, or failed to open, or the partition was removed first. */
  readonly opened: Promise<PartitionLog>;
  /** The leader's view of its followers, while this node leads in `state.leaderEpoch` with the log open. */
  private leading: LeaderReplicaState | undefined;
  /** The leader epoch a takeover is under way for (its epoch being recorded in the log). */
  private takingOver: number | undefined;
  /** As follower: the high watermark the leader last reported. */
  private followerHw = 0n;

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
    /** This node's id: whether it leads is read from `state`. */
    readonly localNodeId: number,
    /** min.insync.replicas and the follower lag limit. */
    public replicaSettings: ReplicaSettings,
    /** Milliseconds now (follower lag is judged by it). */
    private readonly nowMs: () => number,
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

  /** The open log, while the partition is online (not removed, not failed). */
  get onlineLog(): PartitionLog | undefined {
    return this.removed || this.failure !== undefined ? undefined : this.log;
  }

  /** Why the partition is offline, if it is. */
  get storageFailure(): StarlaneError | undefined {
    return this.failure;
  }

  /**
   * The offset below which records are committed and visible to consumers; -1 while the log is
   * not open. A leader's comes from its followers' progress; a follower's from its leader.
   */
  get highWatermark(): bigint {
    if (this.log === undefined) return -1n;
    if (this.leading !== undefined) return this.leading.highWatermark;
    // A sole in-sync leader taking over commits its whole log the moment it leads: say so
    // already, so a restarted single replica does not hide its records for that moment.
    if (this.isLeader && this.state.isr.length === 1 && this.state.isr[0] === this.localNodeId && this.replicaSettings.minInsyncReplicas <= 1) return this.log.logEndOffset;
    return followerHighWatermark(this.followerHw, this.log.logEndOffset);
  }

  /**
   * As leader: the first offset of this leader's epoch while the high watermark has not yet
   * reached it, else undefined. A new leader starts from the high watermark it knew as a
   * follower (or from its checkpoint after a restart), which may lag the one its predecessor
   * had reached and shown; until its followers' fetches bring it to the start of the epoch it
   * cannot say where the committed log ends (Kafka's KIP-207). While taking over, the epoch is
   * about to start at the log end.
   */
  get epochStartAheadOfHighWatermark(): bigint | undefined {
    const log = this.log;
    if (log === undefined || this.removed || !this.isLeader) return undefined;
    const epochStart = this.leading?.epochStartOffset ?? log.logEndOffset;
    return this.highWatermark < epochStart ? epochStart : undefined;
  }

  /** Whether this node leads the partition in the current epoch and is ready to act as leader. */
  get leaderState(): LeaderReplicaState | undefined {
    return this.leading;
  }

  /** Whether the metadata names this node leader. */
  get isLeader(): boolean {
    return this.state.leader === this.localNodeId;
  }

  /** Whether this node should fetch the partition from another leader. */
  get isFollower(): boolean {
    return !this.removed && this.state.leader !== noLeader && this.state.leader !== this.localNodeId && this.state.replicas.includes(this.localNodeId);
  }

  /**
   * The high watermark this replica had checkpointed before a restart: where it starts, as
   * follower and as a leader taking over, until the leader or its followers say more. Call
   * before the log is attached.
   */
  restoreHighWatermark(highWatermark: bigint): void {
    if (this.log === undefined && this.leading === undefined) this.followerHw = highWatermark;
  }

  /** As follower: the leader reported `highWatermark`. */
  setFollowerHighWatermark(highWatermark: bigint): void {
    if (this.leading !== undefined || highWatermark === this.followerHw) return;
    const before = this.highWatermark;
    this.followerHw = highWatermark;
    if (this.highWatermark !== before) this.notify();
  }

  /** A follower fetched at `fetchOffset` (its log end); wakes waiters if the high watermark moved. */
  onFollowerFetch(nodeId: number, fetchOffset: bigint, nodeEpoch: bigint): void {
    if (this.leading?.onFollowerFetch(nodeId, fetchOffset, nodeEpoch, this.nowMs()) === true) this.notify();
  }

  /** The ISR change this leader should ask the controller for now, if any; joins only of replicas `isEligible` admits. */
  isrProposal(isEligible: IsrEligibility): IsrProposal | undefined {
    return this.leading?.proposal(this.nowMs(), isEligible);
  }

  /** The controller answered this leader's ISR proposal. */
  isrProposalSettled(answer: IsrProposalAnswer): void {
    const settled =
      answer.outcome === 'unanswered'
        ? answer
        : answer.outcome === 'accepted'
          ? { outcome: answer.outcome, state: assignmentOf(answer.state) }
          : { outcome: answer.outcome, state: answer.state === undefined ? undefined : assignmentOf(answer.state) };
    if (this.leading?.onProposalSettled(settled, this.nowMs()) === true) this.notify();
  }

  /** New replica settings (min.insync.replicas changed). */
  applyReplicaSettings(settings: ReplicaSettings): void {
    this.replicaSettings = settings;
    if (this.leading?.reconfigure(settings) === true) this.notify();
  }

  /** The log opened: requests that waited for it go on, in the order they came. */
  attach(log: PartitionLog): void {
    this.log = log;
    // The config may have changed while the log was opening.
    if (log.logConfig !== this.config) log.reconfigure(this.config);
    this.settleOpen?.resolve(log);
    this.syncRole();
    this.notify();
  }

  /**
   * The partition goes offline: its log could not be opened, or failed, or another log of the
   * same directory did (see `PartitionManager`). It stops leading at once (the controller moves
   * the leadership once the node reports the directory) and serves nothing until the node
   * restarts.
   */
  fail(error: StarlaneError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.settleOpen?.reject(error);
    this.syncRole();
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
    this.syncRole();
    if (previous.leader !== state.leader || previous.leaderEpoch !== state.leaderEpoch || previous.partitionEpoch !== state.partitionEpoch) this.notify();
  }

  /**
   * Follows the metadata's choice of leader. Taking over records the new epoch at the log end
   * first (in the log's order, after any follower write already queued), so the leader state
   * starts from a settled log end and the epoch history can answer followers' divergence
   * checks; giving up leadership keeps the high watermark reached as the follower's start.
   */
  private syncRole(): void {
    const log = this.onlineLog;
    if (!this.isLeader || log === undefined) {
      this.stepDown();
      this.takingOver = undefined;
      return;
    }
    const epoch = this.state.leaderEpoch;
    if (this.leading !== undefined && this.leading.leaderEpoch === epoch) {
      if (this.leading.onAssignment(assignmentOf(this.state), this.nowMs())) this.notify();
      return;
    }
    if (this.takingOver === epoch) return;
    this.stepDown();
    this.takingOver = epoch;
    log.assignLeaderEpoch(epoch).then(
      () => {
        if (this.takingOver !== epoch || this.log !== log || !this.isLeader || this.state.leaderEpoch !== epoch) return;
        this.takingOver = undefined;
        const end = log.logEndOffset;
        this.leading = new LeaderReplicaState(this.localNodeId, assignmentOf(this.state), end, end, this.followerHw, this.replicaSettings, this.nowMs());
        this.notify();
      },
      (error: unknown) => {
        if (this.takingOver === epoch) this.takingOver = undefined;
        this.fail(error instanceof StarlaneError ? error : new StarlaneError('STORAGE_UNAVAILABLE', String(error), { cause: error }));
      },
    );
  }

  /** Drops the leader state, keeping the high watermark it reached as the follower's start. */
  private stepDown(): void {
    if (this.leading === undefined) return;
    this.followerHw = this.leading.highWatermark;
    this.leading = undefined;
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
   * Committed means below the high watermark: every ISR member has it, and the ISR held at least
   * min.insync.replicas members. Fails if leadership moves, or if the ISR shrinks below
   * min.insync.replicas first (NOT_ENOUGH_REPLICAS_AFTER_APPEND, as Kafka answers).
   */
  whenCommitted(endOffset: bigint, timeoutMs: number): Promise<void> {
    /** Settled already: committed, or never will be here. Undefined while still open. */
    const outcome = (): StarlaneError | null | undefined => {
      if (this.status !== 'online' || !this.isLeader) return new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is no longer led here`);
      if (this.highWatermark >= endOffset) return null;
      if (this.leading !== undefined && !this.leading.enoughReplicas) {
        return new StarlaneError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', `the ISR of ${this.topic}-${this.partition} shrank below min.insync.replicas (${this.replicaSettings.minInsyncReplicas}) before the write was committed`);
      }
      return undefined;
    };
    // Judged now as well as on every change: the partition may have been removed or lost its
    // leadership between the append and this call, and then no change is coming to say so.
    const now = outcome();
    if (now === null) return Promise.resolve();
    if (now !== undefined) return Promise.reject(now);
    return new Promise((resolve, reject) => {
      const finish = (error: StarlaneError | null): void => {
        stop();
        cancel();
        if (error === null) resolve();
        else reject(error);
      };
      const stop = this.listen(() => {
        const settled = outcome();
        if (settled !== undefined) finish(settled);
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
      if (this.log !== undefined) this.leading?.onLocalAppend(this.log.logEndOffset);
      this.notify();
      return appended;
    });
  }

  /** As follower: cuts the log where it parts from the leader's (see `truncationFor`). */
  truncateAsFollower(offset: bigint): Promise<void> {
    const log = this.onlineLog;
    if (log === undefined || !this.isFollower) return Promise.reject(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is not followed here`));
    return log.truncateTo(offset).then(() => this.notify());
  }

  /** As follower: empties the log and starts it at `offset` (the leader's log start). */
  restartAsFollower(offset: bigint): Promise<void> {
    const log = this.onlineLog;
    if (log === undefined || !this.isFollower) return Promise.reject(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is not followed here`));
    return log.truncateFullyAndStartAt(offset).then(() => this.notify());
  }

  /**
   * Appends batches fetched from the leader, unchanged. Only while this node follows; the
   * fetcher checks the role before and the log refuses batches that do not continue it.
   */
  appendAsFollower(records: Buffer): Promise<AppendResult> {
    const log = this.onlineLog;
    if (log === undefined || !this.isFollower) return Promise.reject(new StarlaneError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is not followed here`));
    return this.appended(log.appendAsFollower(records));
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) listener();
  }
}

function assignmentOf(state: PartitionState): LeaderAssignment {
  return { leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, replicas: state.replicas, isr: state.isr };
}
