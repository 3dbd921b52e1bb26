// In-memory object storage: one global resourceVersion counter (as etcd's revision), current objects per
// resource, and a bounded history of change events that watches replay from. A watch from a
// resourceVersion older than the history answers 410 Gone, as the real server does once etcd compacts
// (about five minutes there; a count of events here).
import { expired } from './status';

/* eslint-disable @typescript-eslint/no-explicit-any -- stored objects are arbitrary JSON */
export type KubeObject = Record<string, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly storageKey: string;
  readonly type: EventType;
  readonly object: KubeObject;
  /** The object before a MODIFIED change, so a selector-filtered watch can turn it into ADDED / DELETED. */
  readonly previous?: KubeObject;
}

/** Events kept for watches to resume from; older resourceVersions get 410 Gone. */
export const watchHistoryEventsMax = 1000;

const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class ObjectStore {
  private rv = 0;
  /** The resourceVersion of the newest event dropped from the history (0: none dropped). */
  private compactedRv = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(private readonly historyMax = watchHistoryEventsMax) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get(storageKey: string, namespace: string, name: string): KubeObject | undefined {
    const found = this.objects.get(storageKey)?.get(objectKey(namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  list(storageKey: string, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(storageKey)?.values() ?? [])];
    return all.filter((o) => namespace === undefined || (o.metadata.namespace ?? '') === namespace).map((o) => structuredClone(o));
  }

  /** Every stored object with its storage key (the garbage collector finds owners and dependents by uid). */
  all(): { readonly storageKey: string; readonly object: KubeObject }[] {
    return [...this.objects].flatMap(([storageKey, bucket]) => [...bucket.values()].map((o) => ({ storageKey, object: structuredClone(o) })));
  }

  /** Stores a new or changed object under the next resourceVersion and returns the stored copy. */
  write(storageKey: string, object: KubeObject): KubeObject {
    const namespace = object.metadata.namespace ?? '';
    const bucket = this.objects.get(storageKey) ?? new Map<string, KubeObject>();
    this.objects.set(storageKey, bucket);
    const key = objectKey(namespace, object.metadata.name);
    const previous = bucket.get(key);
    this.rv += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.rv);
    bucket.set(key, stored);
    this.record({ rv: this.rv, storageKey, type: previous ? 'MODIFIED' : 'ADDED', object: stored, ...(previous ? { previous } : {}) });
    return structuredClone(stored);
  }

  /** Removes an object; the DELETED event carries a new resourceVersion, as in the real server. */
  remove(storageKey: string, namespace: string, name: string): KubeObject | undefined {
    const bucket = this.objects.get(storageKey);
    const previous = bucket?.get(objectKey(namespace, name));
    if (!bucket || !previous) return undefined;
    bucket.delete(objectKey(namespace, name));
    this.rv += 1;
    const gone = structuredClone(previous);
    gone.metadata.resourceVersion = String(this.rv);
    this.record({ rv: this.rv, storageKey, type: 'DELETED', object: gone });
    return structuredClone(gone);
  }

  /** Events after `rv`, or 410 Expired when some of them are no longer kept. */
  eventsSince(rv: number): StoreEvent[] {
    if (rv < this.compactedRv) throw expired(rv, this.compactedRv + 1);
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the whole history, so any watch from an earlier resourceVersion gets 410 (a test's compaction). */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyMax) this.compactedRv = (this.history.shift() as StoreEvent).rv;
    for (const listener of [...this.listeners]) listener(event);
  }
}
