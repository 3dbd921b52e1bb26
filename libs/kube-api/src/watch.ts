// The watch protocol: a chunked JSON stream, one {"type","object"} event per line (client-node splits on
// newlines), starting after a resourceVersion, with bookmarks on request and an end after timeoutSeconds.
import type { ServerResponse } from 'node:http';
import { type ObjectRules } from './objects';
import { type ResourceType, apiVersionOf, storageKeyOf } from './resources';
import { type FieldSelector, type Selector } from './selectors';
import { type KubeObject, type ObjectStore, type StoreEvent } from './store';
import { KubeStatusError, badRequest } from './status';

export interface WatchRequest {
  readonly resource: ResourceType;
  /** Undefined: every namespace (or a cluster-scoped resource). */
  readonly namespace?: string;
  readonly labels: Selector;
  readonly fields: FieldSelector;
  readonly resourceVersion?: string;
  readonly allowBookmarks: boolean;
  readonly sendInitialEvents: boolean;
  readonly timeoutMs?: number;
  /** How each object is sent (a Table row for `kubectl get -w`); bookmarks and errors are sent as they are. */
  readonly present?: (o: KubeObject) => unknown;
}

type WireType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * Bytes a watcher may leave unread (buffered in the response and its socket) before it is closed. The real
 * API server does the same to a watcher that does not keep up (cacher.go "Forcing watcher close due to
 * unresponsiveness"); informers then relist and rewatch. Without it a stalled client grows memory unboundedly.
 */
export const watchBufferedBytesMax = 8 * 1024 * 1024;

export interface WatchSettings {
  readonly bookmarkIntervalMs: number;
  readonly bufferedBytesMax: number;
}

export class WatchStream {
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: () => void = () => undefined;
  private ended = false;
  /**
   * Bytes still unread when the initial events were written (undefined until then): they count apart from
   * the bound on live events.
   */
  private initialBytes: number | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly store: ObjectStore,
    private readonly rules: ObjectRules,
    private readonly request: WatchRequest,
    private readonly settings: WatchSettings,
    private readonly onEnd: () => void,
  ) {}

  start(): void {
    const { request } = this;
    const initial = request.resourceVersion === undefined || request.resourceVersion === '' || request.resourceVersion === '0' || request.sendInitialEvents;
    let backlog: StoreEvent[] = [];
    let snapshot: KubeObject[] = [];
    try {
      if (initial) snapshot = this.rules.list(request.resource, request.namespace, request.labels, request.fields);
      else {
        const from = Number(request.resourceVersion);
        if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version: ${request.resourceVersion}`);
        backlog = this.store.eventsSince(from);
      }
    } catch (error) {
      this.res.writeHead(200, { 'Content-Type': 'application/json' });
      if (error instanceof KubeStatusError) this.send('ERROR', error.toStatus());
      this.end();
      return;
    }
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    this.res.flushHeaders();
    for (const o of snapshot) this.send('ADDED', this.request.present ? this.request.present(o) : o);
    if (request.sendInitialEvents && request.allowBookmarks) this.bookmark({ 'k8s.io/initial-events-end': 'true' });
    for (const e of backlog) this.deliver(e);
    // The initial events are objects the store holds anyway; a client reading them is not slow.
    this.initialBytes = this.res.writableLength;
    this.unsubscribe = this.store.subscribe((e) => this.deliver(e));
    if (request.allowBookmarks) this.timers.push(setInterval(() => this.bookmark(), this.settings.bookmarkIntervalMs));
    if (request.timeoutMs !== undefined) this.timers.push(setTimeout(() => this.end(), request.timeoutMs));
    this.res.on('close', () => this.end());
  }

  /** Ends the stream cleanly; the client sees a normal end and re-watches. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    if (!this.res.writableEnded) this.res.end();
    this.onEnd();
  }

  private deliver(e: StoreEvent): void {
    const { resource, namespace } = this.request;
    if (e.storageKey !== storageKeyOf(resource)) return;
    if (namespace !== undefined && (e.object.metadata.namespace ?? '') !== namespace) return;
    const now = this.selected(e.object);
    const before = e.previous !== undefined && this.selected(e.previous);
    let type: WireType | undefined;
    if (e.type === 'MODIFIED') type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    else type = now ? e.type : undefined;
    if (!type) return;
    const object = this.rules.present(resource, e.object);
    this.send(type, this.request.present ? this.request.present(object) : object);
  }

  private selected(o: KubeObject): boolean {
    return this.request.labels(o.metadata.labels ?? {}) && this.request.fields(o.metadata.name, o.metadata.namespace ?? '', o);
  }

  private bookmark(annotations?: Record<string, string>): void {
    const { resource } = this.request;
    const metadata = { resourceVersion: String(this.store.resourceVersion), ...(annotations ? { annotations } : {}) };
    this.send('BOOKMARK', { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata });
  }

  private send(type: string, object: unknown): void {
    if (this.res.writableEnded) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
    // A watcher past its bound gets nothing more: the stream ends once the client reads what it was sent.
    if (this.initialBytes !== undefined && this.res.writableLength > this.initialBytes + this.settings.bufferedBytesMax) this.end();
  }
}
