/**
 * One etcd lease kept alive by this process, with a local deadline: the lease counts as lost
 * once no keepalive sent within the last TTL has been answered (see `ControllerElection` for
 * why that deadline passes before etcd's). The controller election holds one per term; the
 * controller registration (`ControllerRegistration`) one for the life of the process.
 */
import { EtcdLeaseInvalidError, type Lease, type Namespace } from 'etcd3';
import { StarlaneError } from '@starlane/model';

/**
 * Longest wait for a lease revocation: it only hastens a handover (the lease expires anyway),
 * so a stop does not wait on an etcd that does not answer.
 */
const revokeTimeoutMsMax = 1000;

/** Milliseconds from a monotonic source (not wall-clock time, which can jump). */
export interface MonotonicClock {
  nowMs(): number;
}

export const monotonicClock: MonotonicClock = { nowMs: () => performance.now() };

export function notController(message: string): StarlaneError {
  return new StarlaneError('NOT_CONTROLLER', message);
}

/** A promise with its resolve function. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/**
 * One lease, kept alive every TTL/3 and watched by a local deadline: the lease counts as lost
 * once no keepalive sent within the last TTL has been answered.
 */
export class LeaseKeeper {
  readonly lost: Promise<StarlaneError>;
  private readonly reportLost: (error: StarlaneError) => void;
  private validUntilMs: number;
  private readonly renewTimer: NodeJS.Timeout;
  private watchdog: NodeJS.Timeout | undefined;
  private renewing = false;
  private ended = false;

  private constructor(
    private readonly lease: Lease,
    readonly id: string,
    readonly ttlMs: number,
    grantSentAtMs: number,
    private readonly clock: MonotonicClock,
  ) {
    const lost = deferred<StarlaneError>();
    this.lost = lost.promise;
    this.reportLost = lost.resolve;
    this.validUntilMs = grantSentAtMs + ttlMs;
    this.armWatchdog();
    this.renewTimer = setInterval(() => this.renew(), Math.max(1, Math.floor(ttlMs / 3)));
  }

  static async grant(namespace: Namespace, ttlMs: number, clock: MonotonicClock): Promise<LeaseKeeper> {
    const ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const sentAtMs = clock.nowMs();
    const lease = namespace.lease(ttlSeconds, { autoKeepAlive: false });
    // Losses are reported through keepalive answers and the deadline; etcd3's own event
    // would only repeat them.
    lease.on('lost', () => undefined);
    const id = await lease.grant();
    return new LeaseKeeper(lease, id, ttlSeconds * 1000, sentAtMs, clock);
  }

  private renew(): void {
    // One keepalive at a time: one that hangs is overtaken by the deadline, not by a pile of retries.
    if (this.renewing || this.ended) return;
    this.renewing = true;
    const sentAtMs = this.clock.nowMs();
    this.lease.keepaliveOnce({ deadline: Date.now() + this.ttlMs }).then(
      (response) => {
        this.renewing = false;
        if (this.ended) return;
        const ttlSeconds = Number(response.TTL);
        if (!(ttlSeconds > 0)) {
          this.expire('etcd reports that the controller lease expired');
          return;
        }
        this.validUntilMs = Math.max(this.validUntilMs, sentAtMs + ttlSeconds * 1000);
        this.armWatchdog();
      },
      (error: unknown) => {
        this.renewing = false;
        if (error instanceof EtcdLeaseInvalidError) this.expire('etcd reports that the controller lease expired');
        // Anything else (etcd unreachable, a timeout) is tried again at the next interval;
        // the deadline decides when it is too late.
      },
    );
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.expire(`no keepalive of the controller lease was answered within its ${this.ttlMs} ms TTL`),
      Math.max(0, this.validUntilMs - this.clock.nowMs()),
    );
  }

  private expire(reason: string): void {
    if (this.ended) return;
    this.stop();
    // Should etcd still count the lease (this process was stalled, not cut off), revoking it
    // hands the key over now rather than at its expiry.
    this.lease.revoke({ deadline: this.revokeDeadline() }).catch(() => undefined);
    this.reportLost(notController(reason));
  }

  private revokeDeadline(): number {
    return Date.now() + Math.min(this.ttlMs, revokeTimeoutMsMax);
  }

  private stop(): void {
    this.ended = true;
    clearInterval(this.renewTimer);
    clearTimeout(this.watchdog);
  }

  /** Ends the lease at etcd (deleting the keys bound to it). */
  async revoke(): Promise<void> {
    this.stop();
    await this.lease.revoke({ deadline: this.revokeDeadline() });
  }

  /** Stops renewing and revokes in the background, for a lease that is being given up anyway. */
  abandon(): void {
    if (this.ended) return;
    this.stop();
    this.lease.revoke({ deadline: this.revokeDeadline() }).catch(() => undefined);
  }
}
