/**
 * Controller election on an etcd lease: the controller whose value sits in the key
 * `controller` (under the cluster's prefix) is the active one, and the key is bound to its
 * lease, so it disappears when that controller stops renewing.
 *
 * Campaign: grant a lease, then create the key only if it does not exist (a transaction
 * comparing its create revision with 0). Whoever fails waits, on a watch, for the key's
 * deletion and tries again; its lease is kept alive meanwhile. The winner's term is identified
 * by the key's create revision, which the metadata store's appends compare against, so a
 * controller that lost the key can never write metadata again (`StoreFence`).
 *
 * Losing the lease is reported (`ControllerLeadership.lost`) as soon as it can be known
 * locally: etcd answers a keepalive with TTL 0, the key is seen deleted or recreated, or no
 * keepalive has been answered for a whole TTL counted from when the last answered one was
 * *sent*. etcd counts its TTL from when it received that keepalive, so the local deadline
 * passes before etcd lets anyone else take the key: the old controller stops serving before a
 * new one can start.
 *
 * Worked example (TTL 3 s): keepalives go out every second. The active controller is
 * SIGKILLed right after a keepalive at t = 10 s; etcd expires its lease at about t = 13 s
 * (its expiry check runs every 500 ms), deletes the key, every standby's watch fires, one
 * creates the key and loads the metadata. Had the controller only lost its connection to
 * etcd instead, it would have stepped down at t = 13 s by its own clock.
 */
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { assert, backoffMs, type BackoffBounds, type StarlaneError } from '@starlane/model';
import { etcdFailure } from './client';
import { LeaseKeeper, deferred, monotonicClock, notController, type MonotonicClock } from './lease-keeper';
import type { StoreFence } from './etcd-store';

/** Lease TTL by default: a standby takes over within about this long after the active controller dies. */
export const controllerLeaseTtlMsDefault = 3000;
/** The election key, under the cluster's prefix. */
export const electionKey = 'controller';
/** First and longest pause between attempts to read or watch the election key while etcd is unreachable; doubling in between. */
const observeRetryMsInitial = 100;
const observeRetryMsMax = 2000;
const observeRetryBackoff: BackoffBounds = { initialMs: observeRetryMsInitial, maxMs: observeRetryMsMax };

/** Where a controller is reached. */
export interface ControllerEndpoint {
  readonly controllerId: number;
  readonly host: string;
  readonly port: number;
}

/** The active controller as its election key says: 0 as epoch until it has loaded the metadata and proclaimed one. */
export interface ElectedController extends ControllerEndpoint {
  readonly controllerEpoch: number;
}

export interface ElectionLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ControllerElectionOptions {
  /** The cluster's namespace (see `clusterNamespace`). */
  readonly namespace: Namespace;
  /** What this controller campaigns with: its id and advertised address. */
  readonly candidate: ControllerEndpoint;
  /** Lease TTL; etcd counts whole seconds (rounded up here) and may raise it to its minimum. */
  readonly leaseTtlMs?: number;
  readonly clock?: MonotonicClock;
  readonly logger?: ElectionLogger;
}

export type LeaderListener = (leader: ElectedController | undefined) => void;

const silentLogger: ElectionLogger = { info: () => undefined, warn: () => undefined };

export function encodeLeader(leader: ElectedController): string {
  return JSON.stringify({ controllerId: leader.controllerId, host: leader.host, port: leader.port, controllerEpoch: leader.controllerEpoch });
}

/** Whether `n` is a non-negative safe integer. */
export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * The controller endpoint a key's JSON value names (election and registration values both
 * start with one), with the value's fields for the rest; undefined if it is not one of ours.
 */
export function decodeEndpoint(value: Buffer): { readonly endpoint: ControllerEndpoint; readonly fields: Readonly<Record<string, unknown>> } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const fields = json as Record<string, unknown>;
  const { controllerId, host, port } = fields;
  if (!isCount(controllerId) || typeof host !== 'string' || !isCount(port) || port > 65_535) return undefined;
  return { endpoint: { controllerId, host, port }, fields };
}

/** The leader an election key's value names, or undefined if it is not one of ours. */
export function decodeLeader(value: Buffer): ElectedController | undefined {
  const decoded = decodeEndpoint(value);
  const controllerEpoch = decoded?.fields['controllerEpoch'];
  if (decoded === undefined || !isCount(controllerEpoch)) return undefined;
  return { ...decoded.endpoint, controllerEpoch };
}

/**
 * A term as the active controller. It lasts until `lost` resolves (with NOT_CONTROLLER and the
 * reason) or `resign()` is called; the metadata store is fenced on it.
 */
export class ControllerLeadership implements StoreFence {
  readonly key = electionKey;
  /** Resolves (never rejects) when the term ends, resignation included. */
  readonly lost: Promise<StarlaneError>;
  private readonly reportLost: (error: StarlaneError) => void;
  private ended = false;

  constructor(
    private readonly namespace: Namespace,
    private readonly keeper: LeaseKeeper,
    /** The election key's create revision: unique to this term. */
    readonly createRevision: string,
    readonly candidate: ControllerEndpoint,
  ) {
    const lost = deferred<StarlaneError>();
    this.lost = lost.promise;
    this.reportLost = lost.resolve;
    void keeper.lost.then((error) => this.lose(error));
  }

  get leaseId(): string {
    return this.keeper.id;
  }

  /** The lease TTL etcd was asked for (whole seconds). */
  get leaseTtlMs(): number {
    return this.keeper.ttlMs;
  }

  /** Whether the term still holds (as far as this process can know). */
  get holding(): boolean {
    return !this.ended;
  }

  /** Ends the term with `error` (the key was seen gone or taken, the lease lost). */
  lose(error: StarlaneError): void {
    if (this.ended) return;
    this.ended = true;
    this.keeper.abandon();
    this.reportLost(error);
  }

  /** Publishes this controller's epoch in the election key, for standbys to pass on. */
  async proclaim(controllerEpoch: number): Promise<void> {
    if (this.ended) throw notController('the controller term has ended');
    const value = encodeLeader({ ...this.candidate, controllerEpoch });
    let succeeded: boolean;
    try {
      const result = await this.namespace
        .if(this.key, 'Create', '==', this.createRevision)
        .then(this.namespace.put(this.key).value(value).lease(this.keeper.id))
        .commit();
      succeeded = result.succeeded;
    } catch (error) {
      throw etcdFailure('update the controller key', error);
    }
    if (!succeeded) {
      const error = notController('the controller key is no longer this controller’s');
      this.lose(error);
      throw error;
    }
  }

  /** Gives the term up: the lease is revoked, which deletes the key, and a standby takes over at once. */
  async resign(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.reportLost(notController('this controller resigned'));
    try {
      await this.keeper.revoke();
    } catch (error) {
      throw etcdFailure('revoke the controller lease', error);
    }
  }
}

interface Holder {
  readonly createRevision: string;
  /** Undefined when the key holds something that is not a controller's value. */
  readonly leader: ElectedController | undefined;
}

export class ControllerElection {
  private readonly namespace: Namespace;
  private readonly leaseTtlMs: number;
  private readonly clock: MonotonicClock;
  private readonly logger: ElectionLogger;
  private holder: Holder | undefined;
  private readonly listeners = new Set<LeaderListener>();
  private term: ControllerLeadership | undefined;
  private observer: Watcher | undefined;
  private started = false;
  private closed = false;
  private readonly closing = deferred<void>();

  constructor(private readonly options: ControllerElectionOptions) {
    this.namespace = options.namespace;
    this.leaseTtlMs = options.leaseTtlMs ?? controllerLeaseTtlMsDefault;
    this.clock = options.clock ?? monotonicClock;
    this.logger = options.logger ?? silentLogger;
    assert(this.leaseTtlMs > 0, 'the controller lease TTL must be positive');
  }

  /** The active controller as last observed; undefined while none is (or before the first read). */
  leader(): ElectedController | undefined {
    return this.holder?.leader;
  }

  /** Calls `listener` whenever the observed leader changes. Returns an unsubscribe function. */
  onLeaderChange(listener: LeaderListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts following the election key (retrying while etcd cannot be reached). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.observe();
  }

  /**
   * Campaigns until this controller holds the key, and resolves with its term. Rejects when
   * etcd cannot be reached (or the lease is lost while waiting), and with NOT_CONTROLLER when
   * the election is closed.
   */
  async campaign(): Promise<ControllerLeadership> {
    if (this.closed) throw notController('the controller election is closed');
    assert(this.term === undefined || !this.term.holding, 'campaign while holding a term');
    let keeper: LeaseKeeper;
    try {
      keeper = await LeaseKeeper.grant(this.namespace, this.leaseTtlMs, this.clock);
    } catch (error) {
      throw etcdFailure('grant the controller lease', error);
    }
    try {
      for (;;) {
        if (this.closed) throw notController('the controller election is closed');
        const value = encodeLeader({ ...this.options.candidate, controllerEpoch: 0 });
        const result = await this.namespace
          .if(electionKey, 'Create', '==', 0)
          .then(this.namespace.put(electionKey).value(value).lease(keeper.id))
          .else(this.namespace.get(electionKey))
          .commit();
        if (result.succeeded) {
          const term = new ControllerLeadership(this.namespace, keeper, result.header.revision, this.options.candidate);
          this.term = term;
          return term;
        }
        await this.vacancy(result.header.revision, keeper);
      }
    } catch (error) {
      keeper.abandon();
      throw etcdFailure('campaign for the controller key', error);
    }
  }

  /** Waits until the key is deleted after `revision` (its holder resigned or its lease expired). */
  private async vacancy(revision: string, keeper: LeaseKeeper): Promise<void> {
    const watcher = await this.namespace
      .watch()
      .key(electionKey)
      .only('delete')
      .startRevision((BigInt(revision) + 1n).toString())
      .create();
    try {
      await new Promise<void>((resolve, reject) => {
        watcher.on('delete', () => resolve());
        // A watch that cannot go on (history compacted): look at the key again.
        watcher.on('error', () => resolve());
        void keeper.lost.then(reject);
        void this.closing.promise.then(() => reject(notController('the controller election is closed')));
      });
    } finally {
      await watcher.cancel().catch(() => undefined);
    }
  }

  /** Stops observing and campaigning; a term still held is resigned. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.resolve();
    this.listeners.clear();
    const observer = this.observer;
    this.observer = undefined;
    await observer?.cancel().catch(() => undefined);
    await this.term?.resign();
  }

  private async observe(): Promise<void> {
    /** Failed reads or watches in a row; reset by a watch that starts. */
    let failures = 0;
    while (!this.closed) {
      try {
        const response = await this.namespace.get(electionKey).exec();
        if (this.closed) return;
        this.observed(response.kvs[0], response.header.revision);
        const watcher = await this.namespace
          .watch()
          .key(electionKey)
          .startRevision((BigInt(response.header.revision) + 1n).toString())
          .create();
        if (this.closed) {
          await watcher.cancel().catch(() => undefined);
          return;
        }
        this.observer = watcher;
        failures = 0;
        await new Promise<void>((resolve) => {
          watcher.on('put', (kv) => this.observed(kv, kv.mod_revision));
          watcher.on('delete', (kv) => this.observed(undefined, kv.mod_revision));
          // Unrecoverable for this watch (history compacted): start over from a read.
          watcher.on('error', (error) => {
            this.logger.warn({ event: 'election-watch-failed', error: String(error) }, 'the controller election watch failed; reading the key again');
            resolve();
          });
          watcher.on('end', () => resolve());
        });
        this.observer = undefined;
        await watcher.cancel().catch(() => undefined);
      } catch (error) {
        if (this.closed) return;
        const retryMs = backoffMs(failures, observeRetryBackoff);
        failures += 1;
        this.logger.warn({ event: 'election-observe-failed', error: String(error), retryMs }, 'cannot read the controller election key; retrying');
        await Promise.race([new Promise((resolve) => setTimeout(resolve, retryMs)), this.closing.promise]);
      }
    }
  }

  /** The key as of `revision`: `kv` undefined when it does not exist. */
  private observed(kv: IKeyValue | undefined, revision: string): void {
    const term = this.term;
    // Events older than a term's creation say nothing about it (the deletion that let it win).
    if (term?.holding === true && BigInt(revision) > BigInt(term.createRevision) && kv?.create_revision !== term.createRevision) {
      term.lose(notController(kv === undefined ? 'the controller key was deleted' : 'another controller holds the controller key'));
    }
    const holder: Holder | undefined = kv === undefined ? undefined : { createRevision: kv.create_revision, leader: decodeLeader(kv.value) };
    const before = this.holder?.leader;
    this.holder = holder;
    const after = holder?.leader;
    const same = before === undefined || after === undefined ? before === after : encodeLeader(before) === encodeLeader(after);
    if (same) return;
    for (const listener of [...this.listeners]) listener(after);
  }
}
