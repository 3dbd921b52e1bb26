import {
  afterLeaseWrite,
  decideLease,
  isLeading,
  leaderElectionDurationsDefault as durations,
  newElector,
  releaseLease,
  type ElectorState,
  type LeaseRecord,
  type ObservedLease,
} from './leader-election';

/** A Lease object with optimistic concurrency, as the API server keeps it. */
class LeaseStore {
  lease: ObservedLease | undefined;
  current(): ObservedLease {
    if (this.lease === undefined) throw new Error('no lease yet');
    return this.lease;
  }
  private version = 0;
  write(record: LeaseRecord, resourceVersion?: string): 'ok' | 'conflict' {
    if (resourceVersion === undefined ? this.lease !== undefined : this.lease?.resourceVersion !== resourceVersion) return 'conflict';
    this.version += 1;
    this.lease = { record, resourceVersion: String(this.version) };
    return 'ok';
  }
}

/** One retry-period step of a candidate: read, decide, write, report. */
function step(store: LeaseStore, state: ElectorState, nowMs: number, fail = false): ElectorState {
  const { state: next, decision } = decideLease(state, store.lease, nowMs);
  if (decision.type === 'wait') return next;
  const outcome = fail ? 'error' : store.write(decision.record, decision.type === 'update' ? decision.resourceVersion : undefined);
  return afterLeaseWrite(next, decision.record, outcome, nowMs);
}

const t0 = 1_700_000_000_000;

describe('leader election', () => {
  it('uses controller-runtime durations: 15 s lease, 10 s renew deadline, 2 s retry', () => {
    expect(durations).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });

  it('creates an absent lease and leads; renewing keeps acquireTime and transitions', () => {
    const store = new LeaseStore();
    let a = step(store, newElector('a'), t0);
    expect(isLeading(a, t0)).toBe(true);
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const acquired = store.lease?.record.acquireTime;
    a = step(store, a, t0 + 2000);
    expect(isLeading(a, t0 + 2000)).toBe(true);
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'a', acquireTime: acquired, leaseTransitions: 0 });
    expect(store.lease?.record.renewTime).toBe('2023-11-14T22:13:22.000000Z');
  });

  it('a second candidate waits while the lease is renewed, and takes over once it expires by its own clock', () => {
    const store = new LeaseStore();
    let a = step(store, newElector('a'), t0);
    let b = step(store, newElector('b'), t0 + 1000);
    for (let ms = 2000; ms <= 30_000; ms += 2000) {
      a = step(store, a, t0 + ms);
      b = step(store, b, t0 + ms + 1000);
      expect([isLeading(a, t0 + ms + 1000), isLeading(b, t0 + ms + 1000)]).toEqual([true, false]);
    }
    // a dies after its renewal at 30 s: b saw that record at 31 s, so it takes over at 46 s, not before.
    b = step(store, b, t0 + 45_000);
    expect(isLeading(b, t0 + 45_000)).toBe(false);
    b = step(store, b, t0 + 46_000);
    expect(isLeading(b, t0 + 46_000)).toBe(true);
    expect(store.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('judges expiry by when the record was seen to change, not by the holder renewTime (skewed clocks)', () => {
    const store = new LeaseStore();
    store.write({ holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z', leaseTransitions: 0 });
    let b = step(store, newElector('b'), t0);
    expect(isLeading(b, t0)).toBe(false);
    b = step(store, b, t0 + 14_999);
    expect(isLeading(b, t0 + 14_999)).toBe(false);
    b = step(store, b, t0 + 15_000);
    expect(isLeading(b, t0 + 15_000)).toBe(true);
  });

  it('takes over a lease whose holder is empty (released) at once', () => {
    const store = new LeaseStore();
    const a = step(store, newElector('a'), t0);
    const release = releaseLease(a, store.current());
    expect(release?.type).toBe('update');
    if (release?.type !== 'update') return;
    expect(store.write(release.record, release.resourceVersion)).toBe('ok');
    const b = step(store, newElector('b'), t0 + 1);
    expect(isLeading(b, t0 + 1)).toBe(true);
    expect(releaseLease(a, store.current())).toBeUndefined();
  });

  it('loses on a 409: another candidate wrote first', () => {
    const store = new LeaseStore();
    let a = step(store, newElector('a'), t0);
    const { state, decision } = decideLease(a, store.lease, t0 + 2000);
    store.write({ ...store.current().record, holderIdentity: 'b' }, store.current().resourceVersion);
    if (decision.type !== 'update') throw new Error('expected an update');
    a = afterLeaseWrite(state, decision.record, store.write(decision.record, decision.resourceVersion), t0 + 2000);
    expect(isLeading(a, t0 + 2000)).toBe(false);
  });

  it('keeps leading through failed renewals until the renew deadline, and stops before the others may take over', () => {
    const store = new LeaseStore();
    let a = step(store, newElector('a'), t0);
    for (let ms = 2000; ms < 10_000; ms += 2000) {
      a = step(store, a, t0 + ms, true);
      expect(isLeading(a, t0 + ms)).toBe(true);
    }
    a = step(store, a, t0 + 10_000, true);
    expect(isLeading(a, t0 + 10_000)).toBe(false);
    expect(durations.renewDeadlineMs).toBeLessThan(durations.leaseDurationMs);
    // A later successful write wins the lease back.
    a = step(store, a, t0 + 12_000);
    expect(isLeading(a, t0 + 12_000)).toBe(true);
  });

  it('a candidate that sees another holder stops leading', () => {
    const store = new LeaseStore();
    let a = step(store, newElector('a'), t0);
    store.write({ holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: 'x', leaseTransitions: 1 }, store.current().resourceVersion);
    a = step(store, a, t0 + 2000);
    expect(isLeading(a, t0 + 2000)).toBe(false);
  });
});
