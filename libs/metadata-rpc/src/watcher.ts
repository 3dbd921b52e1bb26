/**
 * Follows the active controller's metadata stream and keeps a current MetadataImage: what
 * storage nodes and gateways route and serve by.
 *
 * The stream starts with a snapshot (possibly chunked) and continues with deltas. Anything
 * unexpected (the stream ends or fails, a delta that does not follow the image, NOT_CONTROLLER)
 * closes the stream and opens a new one after a backoff, which starts with a fresh snapshot;
 * the image in hand keeps being served meanwhile, so a controller restart does not stop traffic.
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '@starlane/io-ports';
import { applyDelta, emptyImage, imageFromSnapshot, type MetadataDelta, type MetadataImage, type NodeInfo, type TopicState } from '@starlane/metadata';
import { backoffMs, transportDetail, type BackoffBounds } from '@starlane/model';
import { internalV1 } from '@starlane/proto';
import { controllerFromProto, deltaFromProto, nodeFromProto, topicFromProto } from './codec';
import { formatAddress, grpcMessageBytesMax } from '@starlane/service-host';

/** The slice of a pino logger the client libraries use. */
export interface ClientLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface MetadataWatcherOptions {
  /** Controller addresses (host:port) to bootstrap from; any of them redirects to the active one. */
  readonly controllers: readonly string[];
  /** The watching storage node's id, or -1 for a gateway or tool. */
  readonly nodeId: number;
  readonly logger: ClientLogger;
  /** First reconnect delay; doubles per failed attempt up to `reconnectBackoffMsMax`. */
  readonly reconnectBackoffMsInitial?: number;
  readonly reconnectBackoffMsMax?: number;
  /** The time a stream's serving span is measured in (whether it ends a run of failures); `systemClock` of `@starlane/node-io` in production. */
  readonly clock: Clock;
}

export type MetadataListener = (image: MetadataImage, delta: MetadataDelta | undefined) => void;

/** Bound on the topics held while a chunked snapshot arrives (a cluster larger than this is refused). */
export const snapshotTopicsMax = 1_000_000;

/** Reconnect delays when the options name none: the first, and the longest. */
export const reconnectBackoffMsInitialDefault = 50;
export const reconnectBackoffMsMaxDefault = 2000;

/** What the delay before the next stream depends on. */
export interface ReconnectState {
  /** Streams failed in a row, the one that just ended included (1 for the first). */
  readonly attempt: number;
  /** Configured controller addresses. */
  readonly controllers: number;
  /**
   * The stream that ended had served for at least the longest delay and named the controller
   * to follow instead (an active controller that stepped down, naming its successor).
   */
  readonly handOver: boolean;
}

/**
 * How long to wait before opening the next stream. A hand-over goes at once, so a controller
 * change costs no delay. Everything else waits, so no cycle can spin, not even two controllers
 * that each serve a snapshot and then name the other: the delay doubles per round over the
 * controller list, not per attempt, because during a failover the first ones tried are the
 * dead controller and standbys still naming it, and the one that takes over must be tried
 * again soon after it does, not after a delay grown on them.
 */
export function reconnectDelayMs(state: ReconnectState, bounds: BackoffBounds): number {
  if (state.handOver) return 0;
  const round = Math.floor((Math.max(1, state.attempt) - 1) / Math.max(1, state.controllers));
  return backoffMs(round, bounds);
}

export class MetadataWatcher {
  private image: MetadataImage = emptyImage;
  private readonly listeners = new Set<MetadataListener>();
  private readonly clients = new Map<string, internalV1.ControllerServiceClient>();
  private call: grpc.ClientReadableStream<internalV1.WatchMetadataResponse> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private nextAddress: string | undefined;
  private closed = false;
  private hasImage = false;
  private problem: string | undefined;

  constructor(private readonly options: MetadataWatcherOptions) {
    if (options.controllers.length === 0) throw new TypeError('MetadataWatcher needs at least one controller address');
  }

  /** The latest complete image (the empty image until the first snapshot arrived). */
  current(): MetadataImage {
    return this.image;
  }

  /** Whether a snapshot has been received. */
  get ready(): boolean {
    return this.hasImage;
  }

  /** Why the last stream ended, e.g. `metadata stream failed (127.0.0.1:9091): connect ECONNREFUSED 127.0.0.1:9091`; undefined before any ended. */
  get lastProblem(): string | undefined {
    return this.problem;
  }

  /** Calls `listener` after every applied snapshot (delta undefined) or delta. Returns an unsubscribe function. */
  onChange(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first image satisfying `predicate` (checked now and on every change), or undefined after `timeoutMs`. */
  waitFor(predicate: (image: MetadataImage) => boolean, timeoutMs: number): Promise<MetadataImage | undefined> {
    if (this.hasImage && predicate(this.image)) return Promise.resolve(this.image);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(undefined);
      }, timeoutMs);
      const unsubscribe = this.onChange((image) => {
        if (!predicate(image)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(image);
      });
    });
  }

  start(): void {
    this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.call?.cancel();
    this.call = undefined;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.listeners.clear();
  }

  private client(address: string): internalV1.ControllerServiceClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new internalV1.ControllerServiceClient(address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': grpcMessageBytesMax,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  private connect(): void {
    if (this.closed) return;
    const { controllers } = this.options;
    const address = this.nextAddress ?? controllers[this.attempt % controllers.length] ?? controllers[0]!;
    this.nextAddress = undefined;
    const call = this.client(address).watchMetadata({ nodeId: this.options.nodeId });
    this.call = call;
    let chunkTopics: TopicState[] = [];
    let chunkNodes: NodeInfo[] = [];
    let chunkHead: internalV1.MetadataSnapshot | undefined;
    /** When this stream applied its first snapshot (the clock's time); undefined before. */
    let servingSinceMs: number | undefined;
    const restart = (reason: string, details: object): void => {
      if (this.call !== call) return;
      this.call = undefined;
      call.cancel();
      this.scheduleReconnect(reason, { address, ...details }, servingSinceMs === undefined ? undefined : this.options.clock.nowMs() - servingSinceMs);
    };
    call.on('data', (message: internalV1.WatchMetadataResponse) => {
      if (this.call !== call) return;
      if (message.errorCode !== 0) {
        if (message.activeController !== undefined && message.activeController.host !== '') {
          const active = controllerFromProto(message.activeController);
          this.nextAddress = formatAddress(active.host, active.port);
        }
        restart('controller refused the watch', { errorCode: message.errorCode, errorMessage: message.errorMessage });
        return;
      }
      try {
        const update = message.update;
        if (update === undefined) return;
        if (update.$case === 'snapshot') {
          const chunk = update.value;
          chunkHead ??= chunk;
          for (const topic of chunk.topics) chunkTopics.push(topicFromProto(topic));
          for (const node of chunk.nodes) chunkNodes.push(nodeFromProto(node));
          if (chunkTopics.length > snapshotTopicsMax) throw new RangeError(`snapshot has more than ${snapshotTopicsMax} topics`);
          if (!chunk.lastChunk) return;
          const head = chunkHead;
          const image = imageFromSnapshot({
            clusterId: head.clusterId,
            version: Number(message.metadataVersion),
            controller: head.controller === undefined ? undefined : controllerFromProto(head.controller),
            nodes: chunkNodes,
            topics: chunkTopics,
            clusterConfigs: head.clusterConfigs?.configs ?? {},
          });
          chunkTopics = [];
          chunkNodes = [];
          chunkHead = undefined;
          if (this.hasImage && (image.clusterId !== this.image.clusterId || image.version < this.image.version)) {
            // Another cluster, or metadata older than what was already applied (a controller
            // restored from an old copy): following it would silently roll state back.
            restart('refusing a snapshot that goes back', { clusterId: image.clusterId, version: image.version, currentClusterId: this.image.clusterId, currentVersion: this.image.version });
            return;
          }
          servingSinceMs ??= this.options.clock.nowMs();
          this.publish(image, undefined);
        } else {
          const delta = deltaFromProto(message.metadataVersion, update.value);
          this.publish(applyDelta(this.image, delta), delta);
        }
      } catch (error) {
        restart('metadata stream out of sync', { error: String(error) });
      }
    });
    call.on('error', (error: grpc.ServiceError) => {
      restart('metadata stream failed', { code: error.code, details: error.details });
    });
    call.on('end', () => restart('metadata stream ended', {}));
  }

  private publish(image: MetadataImage, delta: MetadataDelta | undefined): void {
    this.image = image;
    this.hasImage = true;
    for (const listener of [...this.listeners]) listener(image, delta);
  }

  /** `servedMs`: how long the stream that ended had served metadata; undefined if it never did. */
  private scheduleReconnect(reason: string, details: object, servedMs: number | undefined): void {
    if (this.closed) return;
    const bounds: BackoffBounds = { initialMs: this.options.reconnectBackoffMsInitial ?? reconnectBackoffMsInitialDefault, maxMs: this.options.reconnectBackoffMsMax ?? reconnectBackoffMsMaxDefault };
    // A stream that served for a while ends the run of failures; one that served a snapshot and
    // ended at once is part of it, so a cycle of such streams backs off like any failure.
    const stable = servedMs !== undefined && servedMs >= bounds.maxMs;
    if (stable) this.attempt = 0;
    this.attempt += 1;
    this.problem = problemText(reason, details);
    const delay = reconnectDelayMs({ attempt: this.attempt, controllers: this.options.controllers.length, handOver: stable && this.nextAddress !== undefined }, bounds);
    if (this.attempt === 1 || this.attempt % 20 === 0) this.options.logger.warn({ reason, attempt: this.attempt, delayMs: delay, ...details }, 'reconnecting to the controller');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}

/** One line saying why a stream ended, without grpc-js's connection boilerplate (`transportDetail`). */
function problemText(reason: string, details: object): string {
  const fields = details as { address?: unknown; details?: unknown; errorMessage?: unknown; error?: unknown };
  const raw = [fields.errorMessage, fields.details, fields.error].find((value): value is string => typeof value === 'string' && value !== '') ?? '';
  const detail = transportDetail(raw);
  const at = typeof fields.address === 'string' ? ` (${fields.address})` : '';
  return detail === '' ? `${reason}${at}` : `${reason}${at}: ${detail}`;
}
