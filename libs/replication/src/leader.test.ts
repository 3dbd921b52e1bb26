import { LeaderReplicaState, type LeaderAssignment } from './leader';
import { divergingEpoch, truncationFor } from './follower';

const assignment: LeaderAssignment = { leaderEpoch: 3, partitionEpoch: 7, replicas: [1, 2, 3], isr: [1, 2, 3] };
const settings = { minInsyncReplicas: 2, replicaLagTimeMaxMs: 1000 };

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
    expect(state.proposal(1000)).toBeUndefined();
    const proposal = state.proposal(1001);
    expect(proposal?.isr.map((member) => member.nodeId)).toEqual([1, 2]);
    expect(proposal?.partitionEpoch).toBe(7);
    expect(state.proposal(5000)).toBeUndefined();
    // The removed member still bounds the high watermark until the controller accepts.
    expect(state.highWatermark).toBe(5n);
    state.onProposalSettled({ ...assignment, isr: [1, 2], partitionEpoch: 8 }, 1002);
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
    expect(state.proposal(1400)).toBeUndefined();
  });

  it('lets a replica join once it reached the high watermark and the start of the leader epoch, quoting its node epoch', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 4n, 1);
    expect(state.highWatermark).toBe(10n);
    state.onFollowerFetch(3, 9n, 6n, 1);
    expect(state.proposal(2)).toBeUndefined();
    state.onFollowerFetch(3, 10n, 6n, 3);
    expect(state.proposal(4)?.isr).toEqual([
      { nodeId: 1, nodeEpoch: -1n },
      { nodeId: 2, nodeEpoch: 4n },
      { nodeId: 3, nodeEpoch: 6n },
    ]);
  });

  it('a refused proposal can be made again; a proposal from an older leader epoch is dropped', () => {
    const state = leader({ isr: [1, 2] });
    state.onFollowerFetch(2, 10n, 1n, 1);
    state.onFollowerFetch(3, 10n, 1n, 1);
    expect(state.proposal(2)).toBeDefined();
    state.onProposalSettled(undefined, 3);
    expect(state.proposal(4)).toBeDefined();
    state.onProposalSettled({ ...assignment, leaderEpoch: 4, isr: [2, 3], partitionEpoch: 9 }, 5);
    expect(state.isr).toEqual([1, 2]);
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
