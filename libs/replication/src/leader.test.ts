import { LeaderReplicaState, isrEligible, isrProposalBackoffMsInitial, isrProposalBackoffMsMax, type LeaderAssignment } from './leader';
import { divergingEpoch, truncationFor } from './follower';

const assignment: LeaderAssignment = { leaderEpoch: 3, partitionEpoch: 7, replicas: [1, 2, 3], isr: [1, 2, 3] };
const settings = { minInsyncReplicas: 2, replicaLagTimeMaxMs: 1000 };

/** Every follower may join, as far as the metadata says. */
const anyone = (): boolean => true;

function leader(overrides: Partial<LeaderAssignment> = {}, logEnd = 10n): LeaderReplicaState {
  return new LeaderReplicaState(1, { ...assignment, ...overrides }, logEnd, 10n, 0n, settings, 0);
}

describe('LeaderReplicaState', () => {
  it('the high watermark is the smallest log end in the ISR', () => {
    const state = leader();
    expect(state.highWatermark).toBe(0n);
    state.onFollowerFetch(2, 10n, 1n, 5);
    expect(state.highWatermark).toBe(0n);
    expect(state.onFollowerFetch(3, 8n, 1n, 5)).toBe(true);
    expect(state.highWatermark).toBe(8n);
    state.onFollowerFetch(3, 10n, 1n, 6);
    expect(state.highWatermark).toBe(10n);
  });

  it('never moves the high watermark back', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 1n, 5);
    expect(state.highWatermark).toBe(10n);
    state.onFollowerFetch(2, 4n, 1n, 6);
    expect(state.highWatermark).toBe(10n);
  });

  it('holds the high watermark while the ISR is smaller than min.insync.replicas', () => {
    const state = leader({ isr: [1] });
    expect(state.enoughReplicas).toBe(false);
    expect(state.highWatermark).toBe(0n);
    state.onLocalAppend(20n);
    expect(state.highWatermark).toBe(0n);
    // Once the ISR is big enough again it advances to what all members have.
    state.onFollowerFetch(2, 15n, 1n, 10);
    state.onAssignment({ ...assignment, isr: [1, 2], partitionEpoch: 8 }, 10);
    expect(state.highWatermark).toBe(15n);
  });

  it('proposes to drop a member that has not caught up within the lag limit, and only one proposal at a time', () => {
    const state = leader();
    state.onFollowerFetch(2, 10n, 1n, 900);
    state.onFollowerFetch(3, 5n, 1n, 900);
    expect(state.proposal(1000, anyone)).toBeUndefined();
    const proposal = state.proposal(1001, anyone);
    expect(proposal?.isr.map((member) => member.nodeId)).toEqual([1, 2]);
    expect(proposal?.partitionEpoch).toBe(7);
    expect(state.proposal(5000, anyone)).toBeUndefined();
    // The removed member still bounds the high watermark until the controller accepts.
    expect(state.highWatermark).toBe(5n);
    state.onProposalSettled({ outcome: 'accepted', state: { ...assignment, isr: [1, 2], partitionEpoch: 8 } }, 1002);
    expect(state.isr).toEqual([1, 2]);
    expect(state.highWatermark).toBe(10n);
  });

  it('counts a follower fetching steadily behind a busy leader as caught up', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 1n, 100);
    state.onLocalAppend(12n);
    state.onFollowerFetch(2, 10n, 1n, 500);
    state.onLocalAppend(14n);
    // Reached where the leader was at the previous fetch (12 at 500 ms): caught up as of 500.
    state.onFollowerFetch(2, 12n, 1n, 1400);
    expect(state.follower(2)?.lastCaughtUpMs).toBe(500);
    expect(state.proposal(1400, anyone)).toBeUndefined();
  });

  it('lets a replica join once it reached the high watermark and the start of the leader epoch, quoting its node epoch', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 4n, 1);
    expect(state.highWatermark).toBe(10n);
    state.onFollowerFetch(3, 9n, 6n, 1);
    expect(state.proposal(2, anyone)).toBeUndefined();
    state.onFollowerFetch(3, 10n, 6n, 3);
    expect(state.proposal(4, anyone)?.isr).toEqual([
      { nodeId: 1, nodeEpoch: -1n },
      { nodeId: 2, nodeEpoch: 4n },
      { nodeId: 3, nodeEpoch: 6n },
    ]);
  });

  it('an unanswered proposal can be made again; a proposal from an older leader epoch is dropped', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 1n, 1);
    state.onFollowerFetch(3, 10n, 1n, 1);
    expect(state.proposal(2, anyone)).toBeDefined();
    state.onProposalSettled({ outcome: 'unanswered' }, 3);
    expect(state.proposal(4, anyone)).toBeDefined();
    state.onProposalSettled({ outcome: 'accepted', state: { ...assignment, leaderEpoch: 4, isr: [2, 3], partitionEpoch: 9 } }, 5);
    expect(state.isr).toEqual([1, 2]);
  });

  it('proposes a shrink on its own, never together with a join', () => {
    const state = leader({ isr: [1, 2] });
    // 3 caught up and may join; 2 stopped fetching and lags past the limit.
    state.onFollowerFetch(2, 10n, 1n, 0);
    state.onFollowerFetch(3, 10n, 1n, 1500);
    const shrink = state.proposal(1500, anyone);
    expect(shrink).toMatchObject({ kind: 'shrink', partitionEpoch: 7 });
    expect(shrink?.isr.map((member) => member.nodeId)).toEqual([1]);
    state.onProposalSettled({ outcome: 'accepted', state: { ...assignment, isr: [1], partitionEpoch: 8 } }, 1501);
    // Then the join, adding only; 2, which stopped fetching, does not rejoin on its old fetch.
    const expand = state.proposal(1502, anyone);
    expect(expand).toMatchObject({ kind: 'expand', partitionEpoch: 8 });
    expect(expand?.isr.map((member) => member.nodeId)).toEqual([1, 3]);
  });

  it('never proposes a replica the metadata says may not join, so a lagging member still leaves', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 1n, 0);
    // Replica 3 keeps fetching at the log end, but its node is fenced (cut off from the controller).
    const fenced = (nodeId: number): boolean => nodeId !== 3;
    for (let nowMs = 100; nowMs <= 1500; nowMs += 100) state.onFollowerFetch(3, 10n, 1n, nowMs);
    expect(state.proposal(900, fenced)).toBeUndefined();
    const shrink = state.proposal(1500, fenced);
    expect(shrink?.isr.map((member) => member.nodeId)).toEqual([1]);
    state.onProposalSettled({ outcome: 'accepted', state: { ...assignment, isr: [1], partitionEpoch: 8 } }, 1500);
    expect(state.proposal(1600, fenced)).toBeUndefined();
    // Once the node is back in the metadata, it joins; 2, which stopped fetching, does not.
    state.onFollowerFetch(3, 10n, 1n, 1700);
    expect(state.proposal(1700, anyone)?.isr.map((member) => member.nodeId)).toEqual([1, 3]);
  });

  it('backs off a refused kind of change, doubling up to the bound, without holding back the other kind', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 1n, 0);
    state.onFollowerFetch(3, 10n, 1n, 0);
    let nowMs = 10;
    const refusedAt: number[] = [];
    for (let refusal = 0; refusal < 6; refusal += 1) {
      // Refused joins are proposed again only once their back-off has passed.
      for (;;) {
        state.onFollowerFetch(2, 10n, 1n, nowMs);
        state.onFollowerFetch(3, 10n, 1n, nowMs);
        const proposal = state.proposal(nowMs, anyone);
        if (proposal !== undefined) {
          expect(proposal.kind).toBe('expand');
          break;
        }
        nowMs += 10;
      }
      refusedAt.push(nowMs);
      state.onProposalSettled({ outcome: 'refused', state: { ...assignment, isr: [1, 2] } }, nowMs);
    }
    const gaps = refusedAt.slice(1).map((at, index) => at - (refusedAt[index] as number));
    expect(gaps).toEqual([500, 1000, 2000, 4000, 8000].map((ms) => Math.min(ms, isrProposalBackoffMsMax)));
    expect(gaps[0]).toBe(isrProposalBackoffMsInitial);
    // A lagging member is removed at once although joins are backing off.
    const lagging = nowMs + 1001;
    state.onFollowerFetch(3, 10n, 1n, lagging);
    expect(state.proposal(lagging, anyone)).toMatchObject({ kind: 'shrink' });
  });
});

describe('isrEligible', () => {
  const active = { state: 'active', nodeEpoch: 12, offlineLogDirIds: [] } as const;
  it('admits an active node that fetched in the epoch of its registration', () => {
    expect(isrEligible(active, 12n)).toBe(true);
    // An image that does not publish node epochs leaves the check to the controller.
    expect(isrEligible({ ...active, nodeEpoch: 0 }, 7n)).toBe(true);
  });

  it('refuses unknown, fenced and shutting-down nodes, failed log directories and earlier incarnations', () => {
    expect(isrEligible(undefined, 12n)).toBe(false);
    expect(isrEligible({ ...active, state: 'fenced' }, 12n)).toBe(false);
    expect(isrEligible({ ...active, state: 'controlled-shutdown' }, 12n)).toBe(false);
    expect(isrEligible({ ...active, offlineLogDirIds: ['dir-1'] }, 12n)).toBe(false);
    expect(isrEligible(active, 11n)).toBe(false);
  });
});

describe('divergence', () => {
  const history = (entries: [number, bigint][], logEnd: bigint) => ({
    endOffsetForEpoch(epoch: number) {
      const latest = entries[entries.length - 1];
      if (latest === undefined || epoch < 0) return { epoch: -1, endOffset: -1n };
      if (latest[0] === epoch) return { epoch, endOffset: logEnd };
      const higher = entries.findIndex(([e]) => e > epoch);
      if (higher < 0) return { epoch: -1, endOffset: -1n };
      const floor = entries[higher - 1];
      return { epoch: floor === undefined ? epoch : floor[0], endOffset: entries[higher]![1] };
    },
  });

  it('a follower inside the leader epoch it last fetched goes on', () => {
    expect(divergingEpoch(history([[0, 0n], [2, 10n]], 30n), 2, 25n)).toBeUndefined();
    expect(divergingEpoch(history([[0, 0n], [2, 10n]], 30n), -1, 0n)).toBeUndefined();
  });

  it('a follower past the end of its epoch on the leader is told where that epoch ended', () => {
    const leaderHistory = history([[0, 0n], [2, 10n], [5, 30n]], 40n);
    expect(divergingEpoch(leaderHistory, 2, 35n)).toEqual({ epoch: 2, endOffset: 30n });
    // An epoch the leader never had: the latest earlier one it has, ending where the next began.
    expect(divergingEpoch(leaderHistory, 3, 32n)).toEqual({ epoch: 2, endOffset: 30n });
  });

  it('the follower cuts to the smaller end of the diverging epoch, or starts over when neither can place it', () => {
    const followerHistory = history([[0, 0n], [2, 10n], [3, 28n]], 35n);
    expect(truncationFor({ epoch: 2, endOffset: 30n }, followerHistory, 35n)).toEqual({ kind: 'truncate', offset: 28n });
    expect(truncationFor({ epoch: 2, endOffset: 20n }, followerHistory, 35n)).toEqual({ kind: 'truncate', offset: 20n });
    expect(truncationFor({ epoch: -1, endOffset: -1n }, followerHistory, 35n)).toEqual({ kind: 'restart' });
  });
});
