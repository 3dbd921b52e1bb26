/**
 * Leader election over a coordination.k8s.io/v1 Lease as pure decisions, following client-go's
 * leaderelection package (which controller-runtime uses; @kubernetes/client-node has none):
 * - a Lease that is absent is created, one whose holder is empty or expired is taken over
 *   (acquireTime set, leaseTransitions + 1), our own is renewed (renewTime only);
 * - expiry is judged by the LOCAL time at which the record was last seen to change, never by
 *   the holder's renewTime, so clocks that disagree between nodes cannot cut a lease short;
 * - every write is an optimistic update with the observed resourceVersion: a 409 means another
 *   candidate wrote first, and we are not (or no longer) the leader;
 * - a leader that has not renewed for renewDeadline stops leading, before the lease it holds
 *   (leaseDuration, longer) can expire for the others: no two leaders at once.
 * The driver calls `decideLease` every retryPeriod with the Lease it just read, performs the
 * decision, and reports the outcome with `afterLeaseWrite`. Time is always an argument.
 */

export interface LeaderElectionDurations {
  /** How long the others wait, from the last change they saw, before taking over the lease. */
  readonly leaseDurationMs: number;
  /** How long a leader keeps leading without a successful renewal. */
  readonly renewDeadlineMs: number;
  /** The interval between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

/** controller-runtime's defaults (pkg/manager): 15 s lease, 10 s renew deadline, 2 s retry. */
export const leaderElectionDurationsDefault: LeaderElectionDurations = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** The Lease's spec fields (times as RFC 3339 MicroTime strings). */
export interface LeaseRecord {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface ObservedLease {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
}

export interface ElectorState {
  readonly identity: string;
  readonly leading: boolean;
  /** When we last acquired or renewed successfully. */
  readonly lastRenewMs?: number;
  /** The record last seen (as a comparable key) and the local time it was first seen so. */
  readonly observedKey?: string;
  readonly observedAtMs?: number;
}

export type LeaseDecision =
  | { readonly type: 'create'; readonly record: LeaseRecord }
  | { readonly type: 'update'; readonly record: LeaseRecord; readonly resourceVersion: string }
  /** Another candidate holds an unexpired lease; look again in retryPeriod. */
  | { readonly type: 'wait'; readonly holder: string };

export type LeaseWriteOutcome = 'ok' | 'conflict' | 'error';

export function newElector(identity: string): ElectorState {
  return { identity, leading: false };
}

function microTime(nowMs: number): string {
  return new Date(nowMs).toISOString().replace('Z', '000Z');
}

function recordKey(record: LeaseRecord): string {
  return JSON.stringify([record.holderIdentity ?? '', record.renewTime ?? '', record.acquireTime ?? '', record.leaseTransitions ?? 0]);
}

/** Whether we lead now: we won the lease and renewed it less than renewDeadline ago. */
export function isLeading(state: ElectorState, nowMs: number, durations: LeaderElectionDurations = leaderElectionDurationsDefault): boolean {
  return state.leading && state.lastRenewMs !== undefined && nowMs - state.lastRenewMs < durations.renewDeadlineMs;
}

/** What to do with the Lease as just read (undefined: it does not exist). */
export function decideLease(
  state: ElectorState,
  lease: ObservedLease | undefined,
  nowMs: number,
  durations: LeaderElectionDurations = leaderElectionDurationsDefault,
): { readonly state: ElectorState; readonly decision: LeaseDecision } {
  const leaseDurationSeconds = Math.ceil(durations.leaseDurationMs / 1000);
  const now = microTime(nowMs);
  const stillLeading = isLeading(state, nowMs, durations);
  if (lease === undefined) {
    const record: LeaseRecord = { holderIdentity: state.identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
    return { state: { ...state, leading: stillLeading }, decision: { type: 'create', record } };
  }
  const key = recordKey(lease.record);
  const seen: ElectorState = key === state.observedKey ? state : { ...state, observedKey: key, observedAtMs: nowMs };
  const holder = lease.record.holderIdentity ?? '';
  const ours = holder === state.identity;
  const durationMs = (lease.record.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  const expired = nowMs >= (seen.observedAtMs ?? nowMs) + durationMs;
  if (!ours && holder !== '' && !expired) return { state: { ...seen, leading: false }, decision: { type: 'wait', holder } };
  const record: LeaseRecord = ours
    ? { ...lease.record, leaseDurationSeconds, renewTime: now }
    : { holderIdentity: state.identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: (lease.record.leaseTransitions ?? 0) + 1 };
  return { state: { ...seen, leading: ours && stillLeading }, decision: { type: 'update', record, resourceVersion: lease.resourceVersion } };
}

/** The outcome of performing a create or update decision. */
export function afterLeaseWrite(
  state: ElectorState,
  written: LeaseRecord,
  outcome: LeaseWriteOutcome,
  nowMs: number,
  durations: LeaderElectionDurations = leaderElectionDurationsDefault,
): ElectorState {
  if (outcome === 'ok') return { ...state, leading: true, lastRenewMs: nowMs, observedKey: recordKey(written), observedAtMs: nowMs };
  // 409: someone else wrote the Lease since we read it. Any other failure: we keep leading until the renew deadline.
  if (outcome === 'conflict') return { ...state, leading: false };
  return { ...state, leading: isLeading(state, nowMs, durations) };
}

/** The update that gives the lease up on a clean shutdown (client-go ReleaseOnCancel), or undefined when it is not ours. */
export function releaseLease(state: ElectorState, lease: ObservedLease): LeaseDecision | undefined {
  if (lease.record.holderIdentity !== state.identity) return undefined;
  const record: LeaseRecord = { ...lease.record, holderIdentity: '', leaseDurationSeconds: 1 };
  return { type: 'update', record, resourceVersion: lease.resourceVersion };
}
