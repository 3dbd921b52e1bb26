/**
 * What a partition leader knows about its followers, and what it decides from it: the high
 * watermark, and when to ask the controller to shrink or grow the ISR. Pure and clock-free: the
 * caller passes the time, so every rule can be driven step by step in tests and simulations.
 *
 * The rules are Kafka's, with two deliberate choices:
 * - The high watermark is the smallest log end offset in the *maximal* ISR: the committed ISR
 *   plus replicas a pending proposal adds (KIP-497). A replica leaving the ISR still counts
 *   until the controller has accepted its removal, so nothing is committed that the old ISR
 *   would not vouch for.
 * - The high watermark advances only while the committed ISR holds at least
 *   `min.insync.replicas` members. A record is never shown to consumers (or acknowledged to
 *   acks=all producers) while fewer replicas than the topic asks for have it.
 */
import { backoffMs, type BackoffBounds } from '@starlane/model';

/** A leader's view of one follower, learned from its fetches. */
export interface FollowerProgress {
  readonly nodeId: number;
  /** The follower's log end offset: the offset of its last fetch; -1 before any. */
  readonly logEndOffset: bigint;
  /** When the follower last had every record the leader had (Kafka's lastCaughtUpTimeMs). */
  readonly lastCaughtUpMs: number;
  /** The node epoch the follower fetched with, quoted in ISR proposals; -1 before any fetch. */
  readonly nodeEpoch: bigint;
}

export interface ReplicaSettings {
  /** min.insync.replicas of the topic. */
  readonly minInsyncReplicas: number;
  /** A follower that has not caught up for this long leaves the ISR (replica.lag.time.max.ms). */
  readonly replicaLagTimeMaxMs: number;
}

/** The partition as the controller last described it. */
export interface LeaderAssignment {
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /** Assigned replicas, the leader among them. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/**
 * A shrink only removes members, an expand only adds replicas; the two never travel in one
 * proposal (Kafka's `prepareIsrShrink` / `prepareIsrExpand`), so a join the controller refuses
 * never holds back the removal of a lagging member.
 */
export type IsrChangeKind = 'shrink' | 'expand';

/** A change of ISR the leader asks the controller for. */
export interface IsrProposal {
  readonly kind: IsrChangeKind;
  readonly leaderEpoch: number;
  /** The partition epoch the proposal is based on; the controller refuses it if it moved. */
  readonly partitionEpoch: number;
  readonly isr: readonly { readonly nodeId: number; readonly nodeEpoch: bigint }[];
}

/**
 * Whether a follower may join the ISR as the leader's metadata shows its node now, given the
 * node epoch it fetched with. The leader asks before it proposes a join (KIP-841, KIP-903), so
 * it never proposes one the controller must refuse. See `isrEligible`.
 */
export type IsrEligibility = (nodeId: number, fetchedNodeEpoch: bigint) => boolean;

/** A follower's node as the leader's metadata describes it. */
export interface ReplicaNodeView {
  readonly state: 'active' | 'fenced' | 'controlled-shutdown';
  /** The epoch of the node's registration in force; 0 or less when the metadata does not say. */
  readonly nodeEpoch: number;
  /** Log directories the node reported failed; its replicas there cannot serve. */
  readonly offlineLogDirIds: readonly string[];
}

/**
 * Kafka's `Partition.isReplicaIsrEligible`: a follower joins only if its node is registered,
 * not fenced, not in controlled shutdown (KIP-841), has no failed log directory, and fetched
 * with the node epoch the metadata holds for it (KIP-903: fetches of a previous incarnation do
 * not vouch for the current one). A metadata image that does not publish node epochs leaves
 * the epoch check to the controller.
 */
export function isrEligible(node: ReplicaNodeView | undefined, fetchedNodeEpoch: bigint): boolean {
  if (node === undefined || node.state !== 'active' || node.offlineLogDirIds.length > 0) return false;
  return node.nodeEpoch <= 0 || BigInt(node.nodeEpoch) === fetchedNodeEpoch;
}

/** How the controller answered a proposal. */
export type ProposalAnswer =
  /** Recorded; `state` is the partition after it. */
  | { readonly outcome: 'accepted'; readonly state: LeaderAssignment }
  /** Refused, with the partition's state when the answer carried it. */
  | { readonly outcome: 'refused'; readonly state: LeaderAssignment | undefined }
  /** No answer (the request failed or no controller took it): the proposal may be made again. */
  | { readonly outcome: 'unanswered' };

/**
 * After a refusal the same kind of change waits before it is proposed again, doubling from
 * the first value to the second: a proposal the controller keeps refusing (a race with
 * metadata the leader has not seen yet, a controller that is behind) is not repeated every
 * round. The other kind is not held back.
 */
export const isrProposalBackoffMsInitial = 500;
export const isrProposalBackoffMsMax = 8_000;
const isrProposalBackoff: BackoffBounds = { initialMs: isrProposalBackoffMsInitial, maxMs: isrProposalBackoffMsMax };

/** A refused kind of change: when it may be proposed again, and how many refusals in a row. */
interface Refusals {
  readonly count: number;
  readonly retryAtMs: number;
}

export class LeaderReplicaState {
  private assignment: LeaderAssignment;
  private readonly followers = new Map<number, FollowerProgress>();
  private logEnd: bigint;
  /** The leader's log end at the previous fetch of each follower (Kafka's lastFetchLeaderLogEndOffset). */
  private readonly leaderEndAtLastFetch = new Map<number, { endOffset: bigint; atMs: number }>();
  private hw: bigint;
  private pending: IsrProposal | undefined;
  private readonly refusals = new Map<IsrChangeKind, Refusals>();

  constructor(
    readonly localNodeId: number,
    assignment: LeaderAssignment,
    /** Where the leader's log ends now. */
    logEndOffset: bigint,
    /** The first offset of the leader's own epoch: followers rejoin only once past it. */
    readonly epochStartOffset: bigint,
    /** The high watermark the leader knew as a follower (never moves back). */
    highWatermark: bigint,
    private settings: ReplicaSettings,
    nowMs: number,
  ) {
    this.assignment = assignment;
    this.logEnd = logEndOffset;
    this.hw = highWatermark < logEndOffset ? highWatermark : logEndOffset;
    // Followers start as caught up: a new leader gives each ISR member a full lag period to
    // fetch before it proposes to drop it.
    for (const nodeId of assignment.replicas) {
      if (nodeId !== localNodeId) this.followers.set(nodeId, { nodeId, logEndOffset: -1n, lastCaughtUpMs: nowMs, nodeEpoch: -1n });
    }
    this.advance();
  }

  get highWatermark(): bigint {
    return this.hw;
  }

  get isr(): readonly number[] {
    return this.assignment.isr;
  }

  get leaderEpoch(): number {
    return this.assignment.leaderEpoch;
  }

  /** Whether an acks=all write may be accepted: the committed ISR is at least min.insync.replicas. */
  get enoughReplicas(): boolean {
    return this.assignment.isr.length >= this.settings.minInsyncReplicas;
  }

  follower(nodeId: number): FollowerProgress | undefined {
    return this.followers.get(nodeId);
  }

  reconfigure(settings: ReplicaSettings): boolean {
    this.settings = settings;
    return this.advance();
  }

  /**
   * New metadata for the partition while this node still leads it in the same epoch. A newer
   * partition epoch settles any pending proposal (accepted or overtaken). Returns whether the
   * high watermark moved.
   */
  onAssignment(assignment: LeaderAssignment, nowMs: number): boolean {
    if (assignment.partitionEpoch < this.assignment.partitionEpoch) return false;
    if (this.pending !== undefined && assignment.partitionEpoch > this.pending.partitionEpoch) this.pending = undefined;
    this.assignment = assignment;
    for (const nodeId of assignment.replicas) {
      if (nodeId !== this.localNodeId && !this.followers.has(nodeId)) this.followers.set(nodeId, { nodeId, logEndOffset: -1n, lastCaughtUpMs: nowMs, nodeEpoch: -1n });
    }
    for (const nodeId of [...this.followers.keys()]) if (!assignment.replicas.includes(nodeId)) this.followers.delete(nodeId);
    return this.advance();
  }

  /** The leader's own log grew. Returns whether the high watermark moved. */
  onLocalAppend(logEndOffset: bigint): boolean {
    this.logEnd = logEndOffset;
    return this.advance();
  }

  /**
   * A follower fetched from `fetchOffset`, so its log ends there. Returns whether the high
   * watermark moved. Fetches from nodes that are not assigned replicas are ignored.
   */
  onFollowerFetch(nodeId: number, fetchOffset: bigint, nodeEpoch: bigint, nowMs: number): boolean {
    const previous = this.followers.get(nodeId);
    if (previous === undefined) return false;
    const last = this.leaderEndAtLastFetch.get(nodeId);
    let lastCaughtUpMs = previous.lastCaughtUpMs;
    // Caught up now, or caught up with where the leader was at the previous fetch (Kafka's rule:
    // a follower fetching steadily behind a busy leader is still in sync).
    if (fetchOffset >= this.logEnd) lastCaughtUpMs = nowMs;
    else if (last !== undefined && fetchOffset >= last.endOffset) lastCaughtUpMs = Math.max(lastCaughtUpMs, last.atMs);
    this.leaderEndAtLastFetch.set(nodeId, { endOffset: this.logEnd, atMs: nowMs });
    this.followers.set(nodeId, { nodeId, logEndOffset: fetchOffset, lastCaughtUpMs, nodeEpoch });
    return this.advance();
  }

  /**
   * The ISR change to ask for now, if any and none is pending. A shrink comes first: members
   * that have not caught up within the lag limit leave. Otherwise an expand: replicas that
   * reached the high watermark and the start of this leader's epoch, keep fetching, and that
   * `isEligible` admits, join. A kind refused lately waits out its back-off. The caller sends it and
   * reports back with `onProposalSettled`.
   */
  proposal(nowMs: number, isEligible: IsrEligibility): IsrProposal | undefined {
    if (this.pending !== undefined) return undefined;
    const { isr, replicas } = this.assignment;
    if (this.mayPropose('shrink', nowMs)) {
      const keep = isr.filter((nodeId) => nodeId === this.localNodeId || !this.isLagging(nodeId, nowMs));
      if (keep.length < isr.length) return this.propose('shrink', keep);
    }
    if (this.mayPropose('expand', nowMs)) {
      const join = replicas.filter((nodeId) => nodeId !== this.localNodeId && !isr.includes(nodeId) && this.canJoin(nodeId, nowMs, isEligible));
      if (join.length > 0) return this.propose('expand', [...isr, ...join]);
    }
    return undefined;
  }

  /**
   * The controller answered the pending proposal (see `ProposalAnswer`). A refusal holds that
   * kind of change back for a while; an acceptance clears its back-off. Returns whether the
   * high watermark moved.
   */
  onProposalSettled(answer: ProposalAnswer, nowMs: number): boolean {
    const settled = this.pending;
    this.pending = undefined;
    if (settled !== undefined && answer.outcome === 'refused') {
      const count = (this.refusals.get(settled.kind)?.count ?? 0) + 1;
      this.refusals.set(settled.kind, { count, retryAtMs: nowMs + backoffMs(count - 1, isrProposalBackoff) });
    } else if (settled !== undefined && answer.outcome === 'accepted') {
      this.refusals.delete(settled.kind);
    }
    const state = answer.outcome === 'unanswered' ? undefined : answer.state;
    if (state === undefined || state.leaderEpoch !== this.assignment.leaderEpoch) return this.advance();
    return this.onAssignment(state, nowMs);
  }

  private mayPropose(kind: IsrChangeKind, nowMs: number): boolean {
    const refused = this.refusals.get(kind);
    return refused === undefined || nowMs >= refused.retryAtMs;
  }

  private propose(kind: IsrChangeKind, members: readonly number[]): IsrProposal {
    this.pending = {
      kind,
      leaderEpoch: this.assignment.leaderEpoch,
      partitionEpoch: this.assignment.partitionEpoch,
      isr: members.map((nodeId) => ({ nodeId, nodeEpoch: this.followers.get(nodeId)?.nodeEpoch ?? -1n })),
    };
    return this.pending;
  }

  private isLagging(nodeId: number, nowMs: number): boolean {
    const progress = this.followers.get(nodeId);
    if (progress === undefined) return true;
    return nowMs - progress.lastCaughtUpMs > this.settings.replicaLagTimeMaxMs;
  }

  /**
   * Whether a replica outside the ISR may join: it reached the high watermark and the start of
   * this leader's epoch, it has not stopped fetching (Kafka judges a join on the follower's
   * fetch; a replica that left for lagging must not rejoin on the strength of an old fetch at an
   * idle log's end), and the metadata admits its node.
   */
  private canJoin(nodeId: number, nowMs: number, isEligible: IsrEligibility): boolean {
    const progress = this.followers.get(nodeId);
    if (progress === undefined || progress.nodeEpoch < 0n) return false;
    if (progress.logEndOffset < this.hw || progress.logEndOffset < this.epochStartOffset) return false;
    if (this.isLagging(nodeId, nowMs)) return false;
    return isEligible(nodeId, progress.nodeEpoch);
  }

  /** Members whose log end bounds the high watermark: the committed ISR plus pending joiners. */
  private maximalIsr(): number[] {
    const members = new Set(this.assignment.isr);
    for (const member of this.pending?.isr ?? []) members.add(member.nodeId);
    return [...members];
  }

  private advance(): boolean {
    if (!this.enoughReplicas) return false;
    let candidate = this.logEnd;
    for (const nodeId of this.maximalIsr()) {
      if (nodeId === this.localNodeId) continue;
      const end = this.followers.get(nodeId)?.logEndOffset ?? -1n;
      if (end < candidate) candidate = end;
    }
    if (candidate <= this.hw) return false;
    this.hw = candidate;
    return true;
  }
}
