import fc from 'fast-check';
import { StarlaneError } from '@starlane/model';
import {
  LeaderEpochCache,
  leaderEpochCheckpointBytesMax,
  leaderEpochEntriesMax,
  parseLeaderEpochs,
  serializeLeaderEpochs,
  undefinedEpochEndOffset,
  type EpochEndOffset,
  type LeaderEpochEntry,
} from './leader-epoch-cache';

/** Entries written as Kafka logs them: "0@0 2@10" is epoch 0 from offset 0, epoch 2 from offset 10. */
function cacheOf(spec: string): LeaderEpochCache {
  const cache = new LeaderEpochCache();
  for (const entry of parseSpec(spec)) cache.assign(entry.epoch, entry.startOffset);
  return cache;
}

function parseSpec(spec: string): LeaderEpochEntry[] {
  return spec
    .split(' ')
    .filter((part) => part !== '')
    .map((part) => {
      const [epoch, offset] = part.split('@');
      return { epoch: Number(epoch), startOffset: BigInt(offset ?? 'x') };
    });
}

function specOf(cache: LeaderEpochCache): string {
  return cache
    .entries()
    .map((entry) => `${entry.epoch}@${entry.startOffset}`)
    .join(' ');
}

const end = (epoch: number, endOffset: bigint): EpochEndOffset => ({ epoch, endOffset });

describe('LeaderEpochCache.assign', () => {
  it('records the first batch of each new epoch and ignores later batches of the same epoch', () => {
    const cache = new LeaderEpochCache();
    expect(cache.latestEpoch()).toBe(-1);
    expect(cache.assign(0, 0n)).toBe(true);
    expect(cache.assign(0, 1n)).toBe(false);
    expect(cache.assign(0, 2n)).toBe(false);
    expect(cache.assign(1, 3n)).toBe(true);
    expect(cache.assign(1, 4n)).toBe(false);
    expect(specOf(cache)).toBe('0@0 1@3');
    expect(cache.latestEpoch()).toBe(1);
  });

  it('ignores batches without a leader epoch (-1)', () => {
    const cache = cacheOf('2@10');
    expect(cache.assign(-1, 20n)).toBe(false);
    expect(specOf(cache)).toBe('2@10');
  });

  // Kafka's rule: remove every entry the new one contradicts (epoch >= new or start >= new start).
  it.each([
    ['1@5 2@8', 2, 9n, '1@5 2@8', false], // epoch 2 already started at 8
    ['1@5 2@8', 3, 12n, '1@5 2@8 3@12', true],
    ['1@5 2@8', 3, 8n, '1@5 3@8', true], // epoch 2 wrote nothing that survived
    ['2@9', 3, 9n, '3@9', true], // Kafka shouldEnforceMonotonicallyIncreasingStartOffsets
    ['2@6', 3, 5n, '3@5', true], // Kafka shouldEnforceOffsetsIncreaseMonotonically
    ['1@5 2@8', 2, 6n, '1@5 2@6', true], // same epoch, earlier start: replaced
    ['1@5 2@6', 1, 7n, '1@7', true], // Kafka shouldEnforceMonotonicallyIncreasingEpochs
    ['5@11 6@12 7@13', 7, 12n, '5@11 7@12', true], // Kafka shouldTruncateIfMatchingEpochButEarlierStartingOffset
  ])('from %s, assign(%d, %d) gives %s', (before, epoch, startOffset, after, changed) => {
    const cache = cacheOf(before);
    expect(cache.assign(epoch, startOffset)).toBe(changed);
    expect(specOf(cache)).toBe(after);
  });

  it('refuses a new epoch once the history holds leaderEpochEntriesMax entries, without changing it', () => {
    const full = Array.from({ length: leaderEpochEntriesMax }, (_, i) => ({ epoch: i, startOffset: BigInt(i) * 10n }));
    const cache = new LeaderEpochCache(full);
    expect(() => cache.assign(leaderEpochEntriesMax, 10n * BigInt(leaderEpochEntriesMax))).toThrow(
      expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }),
    );
    expect(cache.size).toBe(leaderEpochEntriesMax);
    // Replacing the tail keeps the size, so it is still allowed.
    expect(cache.assign(leaderEpochEntriesMax, 10n * BigInt(leaderEpochEntriesMax - 1))).toBe(true);
    expect(cache.size).toBe(leaderEpochEntriesMax);
  });

  it('asserts on offsets and epochs no batch can carry', () => {
    const cache = new LeaderEpochCache();
    expect(() => cache.assign(1, -5n)).toThrow(/start offset/);
    expect(() => cache.assign(1.5, 0n)).toThrow(/leader epoch/);
    expect(() => new LeaderEpochCache(parseSpec('2@10 1@20'))).toThrow(/out of order/);
  });
});

describe('LeaderEpochCache.endOffsetFor', () => {
  it('answers the worked example of the module comment', () => {
    const cache = cacheOf('0@0 2@10 5@30');
    // epochs 0@0, 2@10, 5@30: endOffsetFor(3) is {2, 30}: epoch 3 never wrote here, so the
    // requester diverged after epoch 2, which ended where epoch 5 starts.
    expect(cache.endOffsetFor(3, 42n)).toEqual(end(2, 30n));
    // endOffsetFor(2) is {2, 30}
    expect(cache.endOffsetFor(2, 42n)).toEqual(end(2, 30n));
    // endOffsetFor(1) is {0, 10}
    expect(cache.endOffsetFor(1, 42n)).toEqual(end(0, 10n));
    // endOffsetFor(0) is {0, 10}
    expect(cache.endOffsetFor(0, 42n)).toEqual(end(0, 10n));
    // the latest epoch is still being written: endOffsetFor(5) is {5, log end offset}
    expect(cache.endOffsetFor(5, 42n)).toEqual(end(5, 42n));
    // an epoch this replica has not seen yet: undefined
    expect(cache.endOffsetFor(6, 42n)).toEqual(undefinedEpochEndOffset);
  });

  it('answers {requested, first start offset} for an epoch below the first entry (KIP-279)', () => {
    // epochs 5@11, 6@12, 7@13: endOffsetFor(4) is {4, 11}; retention removed epoch 4 here and
    // the follower must truncate to where this log begins (Kafka shouldReturnFirstEpochIfRequestedEpochLessThanFirstEpoch).
    expect(cacheOf('5@11 6@12 7@13').endOffsetFor(4, 0n)).toEqual(end(4, 11n));
    // epochs 3@100, 4@150: endOffsetFor(1) is {1, 100}
    expect(cacheOf('3@100 4@150').endOffsetFor(1, 200n)).toEqual(end(1, 100n));
  });

  it('answers undefined for an empty cache, a negative epoch, or an epoch above the latest', () => {
    expect(new LeaderEpochCache().endOffsetFor(0, 0n)).toEqual(end(-1, -1n));
    expect(new LeaderEpochCache().endOffsetFor(-1, 73n)).toEqual(end(-1, -1n));
    expect(cacheOf('2@11 3@12').endOffsetFor(-1, 0n)).toEqual(end(-1, -1n));
    // epochs 2@100: endOffsetFor(3) is undefined (Kafka shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked)
    expect(cacheOf('2@100').endOffsetFor(3, 100n)).toEqual(end(-1, -1n));
  });

  it('tracks epochs as a follower receives many batches (Kafka shouldIncreaseAndTrackEpochsAsFollowerReceivesManyMessages)', () => {
    const cache = new LeaderEpochCache();
    for (const [epoch, offset] of [[0, 0n], [0, 1n], [0, 2n], [1, 3n], [1, 4n], [1, 5n], [2, 6n], [2, 7n], [2, 8n]] as const) {
      cache.assign(epoch, offset);
    }
    // epochs 0@0, 1@3, 2@6, log end 9: endOffsetFor(0) is {0, 3}, (1) is {1, 6}, (2) is {2, 9}
    expect(cache.endOffsetFor(0, 9n)).toEqual(end(0, 3n));
    expect(cache.endOffsetFor(1, 9n)).toEqual(end(1, 6n));
    expect(cache.endOffsetFor(2, 9n)).toEqual(end(2, 9n));
  });

  it('handles epochs that wrote nothing between leader changes', () => {
    // epochs 0@10, 2@13, 4@17: endOffsetFor(1) is {0, 13}, (2) and (3) are {2, 17}
    const cache = cacheOf('0@10 2@13 4@17');
    expect(cache.endOffsetFor(1, 0n)).toEqual(end(0, 13n));
    expect(cache.endOffsetFor(2, 0n)).toEqual(end(2, 17n));
    expect(cache.endOffsetFor(3, 0n)).toEqual(end(2, 17n));
  });
});

describe('KIP-101 scenarios', () => {
  // Scenario 1 (high watermark truncation loses data): leader A has m1@0, m2@1 in epoch 0;
  // follower B has m1@0 and learns HW 2 only on its next fetch, so its HW is 1. B restarts.
  // Truncating to its HW would drop m2@1... and if A then dies, m2 is gone although it was
  // acknowledged. With epochs, B asks A for the end of its latest epoch instead.
  it('scenario 1: a restarted follower keeps data the leader has', () => {
    const leaderA = cacheOf('0@0');
    const leaderLogEndOffset = 2n; // m1@0, m2@1
    const followerLogEndOffset = 2n; // B had also fetched m2 but not the HW that covers it
    const answer = leaderA.endOffsetFor(0, leaderLogEndOffset);
    expect(answer).toEqual(end(0, 2n));
    // B truncates to min(its log end, the answer): nothing is lost.
    const truncateTo = answer.endOffset < followerLogEndOffset ? answer.endOffset : followerLogEndOffset;
    expect(truncateTo).toBe(2n);
  });

  // Scenario 2 (replicas diverge): A (leader, epoch 0) has m1@0, m2@1; B has m1@0. Both crash;
  // B comes back first, becomes leader in epoch 1 and writes m3@1. A restarts as a follower.
  // By high watermark both logs end at 2 and A would keep m2@1 while B has m3@1: divergence.
  it('scenario 2: a follower truncates its diverging tail to the new leader epoch boundary', () => {
    const leaderB = cacheOf('0@0 1@1');
    const followerA = cacheOf('0@0');
    const answer = leaderB.endOffsetFor(followerA.latestEpoch(), 2n);
    // epochs 0@0, 1@1 on B: endOffsetFor(0) is {0, 1}: A must truncate to offset 1, dropping m2.
    expect(answer).toEqual(end(0, 1n));
    followerA.truncateFromEnd(answer.endOffset);
    expect(specOf(followerA)).toBe('0@0');
    // A then fetches m3@1 from B and records B's epoch.
    followerA.assign(1, 1n);
    expect(specOf(followerA)).toBe(specOf(leaderB));
  });

  // A deeper divergence: the follower's last epoch (3) never existed on the new leader, whose
  // history is 0@0 2@10 4@20. It must truncate to where epoch 2 ended on the leader.
  it('a follower whose latest epoch the leader never saw truncates to the next known boundary', () => {
    const leader = cacheOf('0@0 2@10 4@20');
    const follower = cacheOf('0@0 2@10 3@15');
    const answer = leader.endOffsetFor(follower.latestEpoch(), 30n);
    expect(answer).toEqual(end(2, 20n));
    // The follower then asks again for epoch 2 (the answer's epoch) and both agree epoch 2 ends
    // at 20 on the leader; its own epoch 3 starting at 15 is the divergent part.
    follower.truncateFromEnd(15n);
    expect(specOf(follower)).toBe('0@0 2@10');
  });
});

describe('LeaderEpochCache truncation', () => {
  it.each([
    [9n, '2@6 3@8', true], // Kafka shouldDropEntriesBetweenEpochBoundaryWhenRemovingNewest
    [8n, '2@6', true], // Kafka shouldDropEntriesOnEpochBoundaryWhenRemovingLatestEntries
    [12n, '2@6 3@8 4@11', false],
    [6n, '', true],
    [0n, '', true],
    [-1n, '2@6 3@8 4@11', false], // UNDEFINED_EPOCH_OFFSET changes nothing
  ])('entries 2@6 3@8 4@11: truncateFromEnd(%d) leaves "%s"', (offset, after, changed) => {
    const cache = cacheOf('2@6 3@8 4@11');
    expect(cache.truncateFromEnd(offset)).toBe(changed);
    expect(specOf(cache)).toBe(after);
  });

  it.each([
    [9n, '3@9 4@11', true], // Kafka shouldUpdateOffsetBetweenEpochBoundariesOnClearEarliest
    [8n, '3@8 4@11', true], // Kafka shouldPreserveResetOffsetOnClearEarliestIfOneExists
    [11n, '4@11', true], // Kafka shouldRetainLatestEpochOnClearAllEarliest
    [15n, '4@15', true], // Kafka shouldRetainLatestEpochOnClearAllEarliestAndUpdateItsOffset
    [6n, '2@6 3@8 4@11', false], // Kafka shouldNotClearAnythingIfOffsetIsFirstOffset
    [1n, '2@6 3@8 4@11', false], // Kafka shouldNotClearAnythingIfOffsetTooEarly
    [-1n, '2@6 3@8 4@11', false], // Kafka shouldNotResetEpochHistoryHeadIfUndefinedPassed
  ])('entries 2@6 3@8 4@11: truncateFromStart(%d) leaves "%s"', (offset, after, changed) => {
    const cache = cacheOf('2@6 3@8 4@11');
    expect(cache.truncateFromStart(offset)).toBe(changed);
    expect(specOf(cache)).toBe(after);
  });

  it('moves the first epoch up to a start offset between the first two boundaries', () => {
    // epochs 0@0, 1@7, 2@10: truncateFromStart(5) gives 0@5, 1@7, 2@10
    const cache = cacheOf('0@0 1@7 2@10');
    cache.truncateFromStart(5n);
    expect(specOf(cache)).toBe('0@5 1@7 2@10');
  });

  it('does nothing on an empty cache', () => {
    const cache = new LeaderEpochCache();
    expect(cache.truncateFromStart(7n)).toBe(false);
    expect(cache.truncateFromEnd(7n)).toBe(false);
    expect(cache.clear()).toBe(false);
    expect(cache.entries()).toEqual([]);
  });

  it('clears everything', () => {
    const cache = cacheOf('2@6 3@8');
    expect(cache.clear()).toBe(true);
    expect(cache.latestEpoch()).toBe(-1);
  });

  it('hands out a copy that cannot change the cache', () => {
    const cache = cacheOf('2@6 3@8');
    const entries = cache.entries() as LeaderEpochEntry[];
    entries.pop();
    expect(() => {
      (entries[0] as { startOffset: bigint }).startOffset = 99n;
    }).toThrow(TypeError);
    expect(specOf(cache)).toBe('2@6 3@8');
  });
});

describe('leader epoch checkpoint', () => {
  it('is Kafka’s text format', () => {
    const bytes = serializeLeaderEpochs(parseSpec('0@0 2@10 5@30'));
    expect(bytes.toString('latin1')).toBe('0\n3\n0 0\n2 10\n5 30\n');
    expect(serializeLeaderEpochs([]).toString('latin1')).toBe('0\n0\n');
  });

  it('round-trips, including the extremes of int32 epochs and int64 offsets', () => {
    const entries = parseSpec(`0@0 7@123456789 2147483647@9223372036854775807`);
    expect(parseLeaderEpochs(serializeLeaderEpochs(entries))).toEqual(entries);
    expect(parseLeaderEpochs(serializeLeaderEpochs([]))).toEqual([]);
    const cache = new LeaderEpochCache(parseLeaderEpochs(serializeLeaderEpochs(cacheOf('1@5 4@9').entries())));
    expect(specOf(cache)).toBe('1@5 4@9');
  });

  it('round-trips a full history within the byte bound', () => {
    const entries = Array.from({ length: leaderEpochEntriesMax }, (_, i) => ({ epoch: 2147483647 - leaderEpochEntriesMax + 1 + i, startOffset: 9223372036854775807n - BigInt(leaderEpochEntriesMax - 1 - i) }));
    const bytes = serializeLeaderEpochs(entries);
    expect(bytes.length).toBeLessThanOrEqual(leaderEpochCheckpointBytesMax);
    expect(parseLeaderEpochs(bytes)).toEqual(entries);
  });

  it.each([
    ['', /empty/],
    ['0\n1\n2 10', /not terminated by a newline/],
    ['1\n0\n', /line 1: unsupported version "1"/],
    ['00\n0\n', /line 1: unsupported version/],
    ['0\n', /line 2: the entry count is missing/],
    ['0\nx\n', /line 2: entry count "x" is not a number/],
    ['0\n-1\n', /line 2: entry count "-1" is not a number/],
    ['0\n100001\n', /line 2: 100001 entries exceed/],
    ['0\n2\n2 10\n', /line 2 announces 2 entries, the file has 1/],
    ['0\n1\n2 10\n3 20\n', /line 2 announces 1 entries, the file has 2/],
    ['0\n1\n2  10\n', /line 3: "2 {2}10" is not "<epoch> <start offset>"/],
    ['0\n1\n2 10 7\n', /line 3: .* is not "<epoch> <start offset>"/],
    ['0\n1\n-2 10\n', /line 3: .* is not "<epoch> <start offset>"/],
    ['0\n1\n2 -10\n', /line 3: .* is not "<epoch> <start offset>"/],
    ['0\n1\n2 010\n', /line 3: .* is not "<epoch> <start offset>"/],
    ['0\n1\n2 10\r\n', /line 3: .* is not "<epoch> <start offset>"/],
    ['0\n1\n\n', /line 3: "" is not/],
    ['0\n1\n2147483648 10\n', /line 3: epoch 2147483648 exceeds int32/],
    ['0\n1\n2 9223372036854775808\n', /line 3: start offset 9223372036854775808 exceeds int64/],
    ['0\n2\n3 10\n3 20\n', /line 4: epoch 3 does not follow epoch 3/],
    ['0\n2\n3 10\n2 20\n', /line 4: epoch 2 does not follow epoch 3/],
    ['0\n2\n3 10\n4 10\n', /line 4: start offset 10 does not follow 10/],
    ['0\n2\n3 10\n4 9\n', /line 4: start offset 9 does not follow 10/],
  ])('rejects %j', (text, message) => {
    const attempt = (): unknown => parseLeaderEpochs(Buffer.from(text, 'latin1'));
    expect(attempt).toThrow(StarlaneError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }));
    expect(attempt).toThrow(message);
  });

  it('rejects a file larger than any valid checkpoint before decoding it', () => {
    expect(() => parseLeaderEpochs(Buffer.alloc(leaderEpochCheckpointBytesMax + 1, 0x30))).toThrow(/exceed the .*-byte maximum/);
  });

  it('rejects every proper prefix of a checkpoint (a torn write)', () => {
    const bytes = serializeLeaderEpochs(parseSpec('0@0 2@10 5@30'));
    for (let length = 0; length < bytes.length; length++) {
      expect(() => parseLeaderEpochs(bytes.subarray(0, length))).toThrow(StarlaneError);
    }
  });
});

/**
 * The naive model: Kafka's rules written as whole-array filters, with no search and no
 * in-place editing, checked against the cache for random operation sequences.
 */
class NaiveEpochModel {
  entries: LeaderEpochEntry[] = [];

  assign(epoch: number, startOffset: bigint): void {
    if (epoch < 0) return;
    const latest = this.entries.at(-1);
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return;
    this.entries = [...this.entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset), { epoch, startOffset }];
  }

  endOffsetFor(requested: number, logEndOffset: bigint): EpochEndOffset {
    if (requested < 0) return end(-1, -1n);
    if (this.entries.at(-1)?.epoch === requested) return end(requested, logEndOffset);
    const higher = this.entries.find((e) => e.epoch > requested);
    if (higher === undefined) return end(-1, -1n);
    const floor = this.entries.filter((e) => e.epoch <= requested).at(-1);
    return end(floor === undefined ? requested : floor.epoch, higher.startOffset);
  }

  truncateFromEnd(endOffset: bigint): void {
    if (endOffset >= 0n) this.entries = this.entries.filter((e) => e.startOffset < endOffset);
  }

  truncateFromStart(startOffset: bigint): void {
    const removed = this.entries.filter((e) => e.startOffset <= startOffset);
    const last = removed.at(-1);
    if (last === undefined) return;
    this.entries = [{ epoch: last.epoch, startOffset }, ...this.entries.filter((e) => e.startOffset > startOffset)];
  }
}

type EpochOp =
  | { op: 'assign'; epoch: number; offset: bigint }
  | { op: 'truncateFromEnd'; offset: bigint }
  | { op: 'truncateFromStart'; offset: bigint }
  | { op: 'clear' };

// Small ranges, so that epochs and offsets collide often and every branch is exercised.
const smallOffset = fc.bigInt({ min: -1n, max: 40n });
const epochOp: fc.Arbitrary<EpochOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('assign' as const), epoch: fc.integer({ min: -1, max: 12 }), offset: fc.bigInt({ min: 0n, max: 40n }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncateFromEnd' as const), offset: smallOffset }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncateFromStart' as const), offset: smallOffset }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

describe('LeaderEpochCache properties', () => {
  it('agrees with the naive model on random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(epochOp, { maxLength: 60 }), (ops) => {
        const cache = new LeaderEpochCache();
        const model = new NaiveEpochModel();
        for (const op of ops) {
          const before = model.entries;
          let changed: boolean;
          switch (op.op) {
            case 'assign':
              changed = cache.assign(op.epoch, op.offset);
              model.assign(op.epoch, op.offset);
              break;
            case 'truncateFromEnd':
              changed = cache.truncateFromEnd(op.offset);
              model.truncateFromEnd(op.offset);
              break;
            case 'truncateFromStart':
              changed = cache.truncateFromStart(op.offset);
              model.truncateFromStart(op.offset);
              break;
            case 'clear':
              changed = cache.clear();
              model.entries = [];
              break;
          }
          expect(cache.entries()).toEqual(model.entries);
          // A mutator reports a change exactly when the history differs.
          expect(changed).toBe(JSON.stringify(before, bigintJson) !== JSON.stringify(model.entries, bigintJson));
          // Strictly increasing epochs and start offsets, so every state is serializable.
          expect(parseLeaderEpochs(serializeLeaderEpochs(cache.entries()))).toEqual(model.entries);
          for (let requested = -1; requested <= 13; requested++) {
            expect(cache.endOffsetFor(requested, 50n)).toEqual(model.endOffsetFor(requested, 50n));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  /**
   * A replica's log, one epoch per offset, driven the way the log drives the cache: appends
   * whose epochs never go below the log's last, truncations (follower) and retention. The cache
   * must always be the run-length encoding of the epochs in [log start, log end), and answer
   * endOffsetFor as a scan of the log would.
   */
  it('describes the epochs of a simulated log', () => {
    type LogOp = { op: 'append'; epochStep: number; records: number } | { op: 'truncate'; back: number } | { op: 'retain'; forward: number };
    const logOp: fc.Arbitrary<LogOp> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ op: fc.constant('append' as const), epochStep: fc.integer({ min: 0, max: 2 }), records: fc.integer({ min: 1, max: 4 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('retain' as const), forward: fc.integer({ min: 0, max: 8 }) }) },
    );
    fc.assert(
      fc.property(fc.array(logOp, { maxLength: 50 }), (ops) => {
        const cache = new LeaderEpochCache();
        let logStart = 0;
        const epochAt: number[] = []; // epochAt[offset], meaningful from logStart on
        let epoch = 0;
        for (const op of ops) {
          if (op.op === 'append') {
            // A leader writes its own epoch; a follower after truncation writes the leader's,
            // never below what its log still holds.
            epoch = Math.max(epoch, epochAt.at(-1) ?? 0) + op.epochStep;
            cache.assign(epoch, BigInt(epochAt.length));
            for (let i = 0; i < op.records; i++) epochAt.push(epoch);
          } else if (op.op === 'truncate') {
            const to = Math.max(logStart, epochAt.length - op.back);
            epochAt.length = to;
            cache.truncateFromEnd(BigInt(to));
            epoch = epochAt.at(-1) ?? epoch;
          } else {
            // Retention never deletes the last record (the active segment).
            const to = Math.min(logStart + op.forward, Math.max(logStart, epochAt.length - 1));
            logStart = to;
            cache.truncateFromStart(BigInt(to));
          }

          const expected: LeaderEpochEntry[] = [];
          for (let offset = logStart; offset < epochAt.length; offset++) {
            const at = epochAt[offset] ?? -1;
            if (expected.at(-1)?.epoch !== at) expected.push({ epoch: at, startOffset: BigInt(offset) });
          }
          const entries = cache.entries();
          if (epochAt.length > logStart) {
            expect(entries).toEqual(expected);
          } else {
            // An empty log keeps nothing after a truncation, or its latest epoch at the log start.
            expect(entries.length).toBeLessThanOrEqual(1);
          }

          const logEnd = BigInt(epochAt.length);
          for (let requested = 0; requested <= epoch + 1; requested++) {
            const answer = cache.endOffsetFor(requested, logEnd);
            if (entries.length === 0 || requested > cache.latestEpoch()) {
              expect(answer).toEqual(undefinedEpochEndOffset);
            } else if (requested === cache.latestEpoch()) {
              expect(answer).toEqual(end(requested, logEnd));
            } else {
              // Scan the log: the end of `requested` is the first offset written in a later epoch.
              let firstLater = logStart;
              while ((epochAt[firstLater] ?? Infinity) <= requested) firstLater++;
              const earlier = epochAt.slice(logStart, firstLater);
              expect(answer).toEqual(end(earlier.length === 0 ? requested : Math.max(...earlier), BigInt(firstLater)));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

describe('LeaderEpochCache.epochForOffset', () => {
  it('names the epoch of the entry covering the offset', () => {
    const cache = cacheOf('0@0 2@10 5@30');
    expect([0n, 9n, 10n, 29n, 30n, 1000n].map((offset) => cache.epochForOffset(offset))).toEqual([0, 0, 2, 2, 5, 5]);
  });

  it('is -1 before the first entry and for an empty cache', () => {
    expect(cacheOf('3@100').epochForOffset(99n)).toBe(-1);
    expect(new LeaderEpochCache().epochForOffset(0n)).toBe(-1);
  });
});
