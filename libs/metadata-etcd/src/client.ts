/**
 * The etcd client the controller uses, with the settings the store and the election rely on:
 * every unary call has a deadline, responses may be as large as `etcdResponseBytesMax` (the
 * store reads pages of values up to `valueBytesMax` each), no per-endpoint circuit breaker and
 * a short watch reconnect backoff.
 *
 * etcd3's default circuit breaker refuses every call to an endpoint for 5 s after three
 * failures in a row, and its watch backoff grows to 30 s: after a short etcd outage either
 * would keep a standby from taking over (or the active controller from renewing its lease) for
 * far longer than the lease TTL. Calls are still retried on another endpoint (etcd3's global
 * retry, three attempts, for errors etcd3 deems recoverable).
 */
import { Etcd3, type IOptions, type Namespace } from 'etcd3';
import { StarlaneError, backoffMs, errorText, transportDetail, type BackoffBounds } from '@starlane/model';

/** Largest etcd response the client accepts. */
export const etcdResponseBytesMax = 64 * 1024 * 1024;
/** Deadline of one unary etcd call, by default. */
export const etcdRequestTimeoutMsDefault = 5000;
/** The key prefix of a cluster whose prefix is not configured. */
export const etcdPrefixDefault = '/starlane/default/';

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;
type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

/**
 * A policy that runs every call as it comes: failures reach the caller (and the global retry).
 * Async, so a function that throws yields a rejection (etcd3 reports stream failures through
 * it with a function that throws).
 */
const passThrough = {
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> => fn({ signal: new AbortController().signal }),
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
} as unknown as HostPolicy;

/** Watch reconnect delays: 100 ms doubling to 1 s. */
const watchReconnectBackoff: BackoffBounds = { initialMs: 100, maxMs: 1000 };

/** etcd3's back-off object for reconnect number `attempt` (0 first) of a watch. */
function watchBackoff(attempt = 0): WatchBackoff {
  const backoff = { duration: backoffMs(attempt, watchReconnectBackoff), next: () => watchBackoff(attempt + 1) };
  return backoff as unknown as WatchBackoff;
}

export interface EtcdConnectionOptions {
  /** Client endpoints, host:port. */
  readonly endpoints: readonly string[];
  readonly requestTimeoutMs?: number;
}

/** A client for `endpoints` (no call is made until it is used). Close it with `close()`. */
export function connectEtcd(options: EtcdConnectionOptions): Etcd3 {
  if (options.endpoints.length === 0) throw new StarlaneError('CONFIG_INVALID', 'no etcd endpoint given');
  const requestTimeoutMs = options.requestTimeoutMs ?? etcdRequestTimeoutMsDefault;
  return new Etcd3({
    hosts: [...options.endpoints],
    dialTimeout: requestTimeoutMs,
    grpcOptions: { 'grpc.max_receive_message_length': etcdResponseBytesMax },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    faultHandling: { host: () => passThrough, watchBackoff: watchBackoff() },
  });
}

/**
 * The namespace of one cluster: every key the store and the election write is under `prefix`,
 * which must end with '/' so one cluster's prefix is never the start of another's.
 */
export function clusterNamespace(client: Etcd3, prefix: string): Namespace {
  if (prefix === '' || !prefix.endsWith('/')) throw new StarlaneError('CONFIG_INVALID', `the etcd key prefix must end with '/', got ${JSON.stringify(prefix)}`);
  return client.namespace(prefix);
}

/** A failure talking to etcd, as a catalogue error (StarlaneErrors pass through). */
export function etcdFailure(what: string, error: unknown): StarlaneError {
  if (error instanceof StarlaneError) return error;
  // etcd3 passes grpc-js's text on (`14 UNAVAILABLE: No connection established. ...`).
  return new StarlaneError('STORAGE_UNAVAILABLE', `etcd: cannot ${what}: ${transportDetail(errorText(error))}`, { cause: error });
}
