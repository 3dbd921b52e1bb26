/**
 * Controller registrations in etcd: each controller process holds the key
 * `controllers/<id>` (under the cluster's prefix) on a lease of its own for as long as it
 * runs, with its advertised address and an incarnation id. That gives
 *
 * - **one process per controller id.** A process started with an id that a live process holds
 *   is refused with CONFIG_INVALID (the controller exits 2, as for any configuration error),
 *   as a Kafka broker whose `broker.id` is registered by a live broker is. A key alone cannot
 *   tell a live holder from one that has just died (its lease outlives it by up to a TTL), so a
 *   claim that finds the key held waits for it to go, for the holder's lease TTL plus etcd's
 *   expiry slack: a crashed predecessor's key expires within that and the restarted process
 *   takes over; a live holder keeps renewing, and the claim is refused.
 * - **the list of controllers**, active and standbys, for DescribeCluster.
 *
 * Worked example (TTL 3 s): controller 1 is SIGKILLed at t = 10 s right after a keepalive and
 * restarted at t = 11 s. The new process finds `controllers/1` held by the old incarnation and
 * watches it; etcd expires the old lease at about t = 13.5 s and deletes the key; the new
 * process creates it. Had the old process been alive (two processes configured with id 1), it
 * would have kept renewing, and at t = 11 + 3 + 1.5 = 15.5 s the new one is refused.
 *
 * A held registration whose lease is lost (etcd unreachable for a whole TTL) is claimed again
 * once etcd answers; if another live process has taken the id meanwhile, `displaced` reports it.
 */
import type { IKeyValue, Namespace } from 'etcd3';
import { StarlaneError, backoffMs, type BackoffBounds } from '@starlane/model';
import { etcdFailure } from './client';
import { controllerLeaseTtlMsDefault, decodeEndpoint, isCount, type ControllerEndpoint, type ElectionLogger } from './election';
import { LeaseKeeper, deferred, monotonicClock, notController, type MonotonicClock } from './lease-keeper';

/** Registration keys, under the cluster's prefix: `controllers/<controller id>`. */
export const registrationPrefix = 'controllers/';
/**
 * Added to a holder's lease TTL before its key counts as kept alive: etcd looks for expired
 * leases every 500 ms, and the holder's last keepalive may have been answered a little after
 * it was sent.
 */
export const registrationExpirySlackMs = 1500;
/** Most registrations DescribeCluster lists (controllers are a handful; the bound keeps a stray prefix from flooding an answer). */
export const registrationsListedMax = 1000;
/** First and longest pause between attempts to claim while etcd is unreachable; doubling in between. */
const claimRetryMsInitial = 100;
const claimRetryMsMax = 2000;
const claimRetryBackoff: BackoffBounds = { initialMs: claimRetryMsInitial, maxMs: claimRetryMsMax };

/** A controller as its registration says. */
export interface RegisteredController extends ControllerEndpoint {
  readonly incarnationId: string;
  readonly leaseTtlMs: number;
}

export interface ControllerRegistrationOptions {
  /** The cluster's namespace (see `clusterNamespace`). */
  readonly namespace: Namespace;
  /** This controller's id and advertised address. */
  readonly endpoint: ControllerEndpoint;
  /** Unique to this process: tells its own key from another process's. */
  readonly incarnationId: string;
  /** Lease TTL (whole seconds; etcd may raise it to its minimum). */
  readonly leaseTtlMs?: number;
  readonly clock?: MonotonicClock;
  readonly logger?: ElectionLogger;
}

export function encodeRegistration(registration: RegisteredController): string {
  const { controllerId, host, port, incarnationId, leaseTtlMs } = registration;
  return JSON.stringify({ controllerId, host, port, incarnationId, leaseTtlMs });
}

/** The registration a key's value holds, or undefined if it is not one of ours. */
export function decodeRegistration(value: Buffer): RegisteredController | undefined {
  const decoded = decodeEndpoint(value);
  if (decoded === undefined) return undefined;
  const { incarnationId, leaseTtlMs } = decoded.fields;
  if (typeof incarnationId !== 'string' || !isCount(leaseTtlMs)) return undefined;
  return { ...decoded.endpoint, incarnationId, leaseTtlMs };
}

const silentLogger: ElectionLogger = { info: () => undefined, warn: () => undefined };

export class ControllerRegistration {
  /** Resolves (never rejects) with CONFIG_INVALID when another live process took this id after this one lost its lease. */
  readonly displaced: Promise<StarlaneError>;
  private readonly reportDisplaced: (error: StarlaneError) => void;
  private readonly key: string;
  private readonly leaseTtlMs: number;
  private readonly clock: MonotonicClock;
  private readonly logger: ElectionLogger;
  private keeper: LeaseKeeper | undefined;
  private claiming: Promise<void> | undefined;
  private closed = false;
  private readonly closing = deferred<void>();

  constructor(private readonly options: ControllerRegistrationOptions) {
    this.key = `${registrationPrefix}${options.endpoint.controllerId}`;
    this.leaseTtlMs = options.leaseTtlMs ?? controllerLeaseTtlMsDefault;
    this.clock = options.clock ?? monotonicClock;
    this.logger = options.logger ?? silentLogger;
    const displaced = deferred<StarlaneError>();
    this.displaced = displaced.promise;
    this.reportDisplaced = displaced.resolve;
  }

  /**
   * Resolves once this process holds its registration, retrying while etcd cannot be reached.
   * Rejects with CONFIG_INVALID when a live process holds the id, and with NOT_CONTROLLER once
   * closed.
   */
  claim(): Promise<void> {
    this.claiming ??= this.claimUntilHeld();
    return this.claiming;
  }

  /** Every registered controller, by controller id. */
  async list(): Promise<RegisteredController[]> {
    let kvs: IKeyValue[];
    try {
      kvs = (await this.options.namespace.getAll().prefix(registrationPrefix).limit(registrationsListedMax).exec()).kvs;
    } catch (error) {
      throw etcdFailure('list the controllers', error);
    }
    return kvs.flatMap((kv) => decodeRegistration(kv.value) ?? []).sort((a, b) => a.controllerId - b.controllerId);
  }

  /** Gives the registration up (its key goes with the lease) and stops claiming. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.resolve();
    await this.keeper?.revoke().catch(() => undefined);
  }

  private async claimUntilHeld(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw notController('the controller registration is closed');
      try {
        await this.claimOnce();
        return;
      } catch (error) {
        if (error instanceof StarlaneError && (error.code === 'CONFIG_INVALID' || error.code === 'NOT_CONTROLLER')) throw error;
        if (attempt === 1 || attempt % 20 === 0) this.logger.warn({ event: 'controller-registration-failed', attempt, err: error }, 'cannot register this controller in etcd; retrying');
        await Promise.race([new Promise((resolve) => setTimeout(resolve, backoffMs(attempt - 1, claimRetryBackoff))), this.closing.promise]);
      }
    }
  }

  /** One attempt with a fresh lease: resolves holding the key; rejects as `claim` does, or with an etcd failure to retry. */
  private async claimOnce(): Promise<void> {
    const { namespace, endpoint, incarnationId } = this.options;
    let keeper: LeaseKeeper;
    try {
      keeper = await LeaseKeeper.grant(namespace, this.leaseTtlMs, this.clock);
    } catch (error) {
      throw etcdFailure('grant the controller registration lease', error);
    }
    const value = encodeRegistration({ ...endpoint, incarnationId, leaseTtlMs: keeper.ttlMs });
    try {
      for (;;) {
        if (this.closed) throw notController('the controller registration is closed');
        const result = await namespace
          .if(this.key, 'Create', '==', 0)
          .then(namespace.put(this.key).value(value).lease(keeper.id))
          .else(namespace.get(this.key))
          .commit();
        if (result.succeeded) break;
        const held = result.responses[0]?.response_range.kvs[0];
        if (held === undefined) continue;
        const holder = decodeRegistration(held.value);
        if (holder?.incarnationId === incarnationId) {
          // This process's own key on a lease it gave up for lost that etcd still counts: move it to the new lease.
          const moved = await namespace.if(this.key, 'Mod', '==', held.mod_revision).then(namespace.put(this.key).value(value).lease(keeper.id)).commit();
          if (moved.succeeded) break;
          continue;
        }
        const waitedMs = (holder?.leaseTtlMs ?? this.leaseTtlMs) + registrationExpirySlackMs;
        if (!(await this.deletedWithin(result.header.revision, waitedMs, keeper))) throw this.duplicate(holder, waitedMs);
      }
    } catch (error) {
      keeper.abandon();
      throw etcdFailure('register the controller', error);
    }
    this.keeper = keeper;
    this.logger.info({ event: 'controller-registered', controllerId: endpoint.controllerId, key: this.key }, `registered as controller ${endpoint.controllerId}`);
    void keeper.lost.then((reason) => this.lostLease(reason));
  }

  /** Whether the key is deleted after `revision` within `timeoutMs` (false: still held). */
  private async deletedWithin(revision: string, timeoutMs: number, keeper: LeaseKeeper): Promise<boolean> {
    const watcher = await this.options.namespace
      .watch()
      .key(this.key)
      .only('delete')
      .startRevision((BigInt(revision) + 1n).toString())
      .create();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<boolean>((resolve, reject) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        watcher.on('delete', () => resolve(true));
        // A watch that cannot go on (history compacted): look at the key again.
        watcher.on('error', () => resolve(true));
        // Losing this process's own lease meanwhile is an etcd failure: the claim is retried.
        void keeper.lost.then((lost) => reject(new StarlaneError('STORAGE_UNAVAILABLE', lost.message)));
        void this.closing.promise.then(() => reject(notController('the controller registration is closed')));
      });
    } finally {
      clearTimeout(timer);
      await watcher.cancel().catch(() => undefined);
    }
  }

  private duplicate(holder: RegisteredController | undefined, waitedMs: number): StarlaneError {
    const id = this.options.endpoint.controllerId;
    const who = holder === undefined ? 'another process' : `the controller at ${holder.host}:${holder.port} (incarnation ${holder.incarnationId})`;
    return new StarlaneError(
      'CONFIG_INVALID',
      `--controller-id ${id} is in use: ${who} has held etcd key ${this.key} for the last ${waitedMs} ms; give every controller of a cluster its own --controller-id`,
    );
  }

  /** The lease was lost (etcd unreachable for a TTL): claim again, unless closed. */
  private lostLease(reason: StarlaneError): void {
    this.keeper = undefined;
    if (this.closed) return;
    this.logger.warn({ event: 'controller-registration-lost', reason: reason.message }, 'lost the controller registration lease; registering again');
    this.claiming = this.claimUntilHeld();
    this.claiming.catch((error: unknown) => {
      if (error instanceof StarlaneError && error.code === 'CONFIG_INVALID') this.reportDisplaced(error);
    });
  }
}
