// Deletion with owner references, as the real API server and its garbage collector and namespace
// controllers do it (docs concepts/architecture/garbage-collection; pkg/controller/garbagecollector and
// pkg/controller/namespace), done here in the same process right after the write that triggers it:
// - Background (the default): the owner goes at once; its dependents are deleted after it. A dependent that
//   still has another existing owner only loses the reference to the one that went.
// - Foreground: the owner gets `deletionTimestamp` and the `foregroundDeletion` finalizer, its dependents are
//   deleted, and it goes once no dependent with `blockOwnerDeletion: true` remains.
// - Orphan (or the older `orphanDependents: true`): the dependents lose their references to the owner and stay.
// - An object written with owner references none of which exists is deleted; references to absent owners
//   next to a present one are dropped (the collector's dangling references).
// - Namespaces: DELETE marks the namespace `Terminating` (and refuses new content in it), deletes everything
//   in it, and removes it once it is empty. Objects with finalizers keep it `Terminating` until the finalizers
//   are removed (as Strimzi #11901 shows on a real cluster).
import { allVerbs, verbsByResource } from './builtins';
import { type ObjectRules } from './objects';
import { type ResourceRegistry, type ResourceType, storageKeyOf } from './resources';
import { type FieldSelector, type Selector } from './selectors';
import { type KubeObject, type ObjectStore } from './store';
import { KubeStatusError, badRequest, conflict, methodNotAllowed, notFound } from './status';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export const foregroundFinalizer = 'foregroundDeletion';
/** The namespace lifecycle's finalizer, in `spec.finalizers` of a Namespace (not `metadata.finalizers`). */
export const namespaceFinalizer = 'kubernetes';

export interface DeleteRequest {
  readonly preconditionRv?: string;
  readonly propagationPolicy: PropagationPolicy;
  /** `dryRun=All`: checked and answered, nothing deleted (`kubectl delete --dry-run=server`). */
  readonly dryRun?: boolean;
}

interface Stored {
  readonly storageKey: string;
  readonly object: KubeObject;
}

interface OwnerReference {
  readonly uid?: string;
  readonly blockOwnerDeletion?: boolean;
}

const namespacesKey = '/namespaces';
/** The NamespaceLifecycle admission plugin refuses to delete these. */
const immortalNamespaces: readonly string[] = ['default', 'kube-system', 'kube-public'];

const ownerRefsOf = (o: KubeObject): OwnerReference[] => (Array.isArray(o.metadata.ownerReferences) ? (o.metadata.ownerReferences as OwnerReference[]) : []);

/** DeleteOptions from a DELETE's body (JSON or protobuf, already decoded) and query, as the real server reads them. */
export function deleteRequestOf(body: KubeObject | undefined, query: URLSearchParams): DeleteRequest {
  const policy = body?.propagationPolicy ?? query.get('propagationPolicy') ?? undefined;
  const orphan = body?.orphanDependents ?? (query.has('orphanDependents') ? query.get('orphanDependents') === 'true' : undefined);
  if (policy !== undefined && orphan !== undefined) throw badRequest('orphanDependents and propagationPolicy cannot both be set');
  if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
    throw badRequest(`propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Orphan", "Foreground", "Background"`);
  }
  const preconditionRv = body?.preconditions?.resourceVersion;
  const dryRun = query.get('dryRun') === 'All' || (Array.isArray(body?.dryRun) && (body.dryRun as unknown[]).includes('All'));
  return { propagationPolicy: policy ?? (orphan === true ? 'Orphan' : 'Background'), ...(preconditionRv ? { preconditionRv: String(preconditionRv) } : {}), ...(dryRun ? { dryRun } : {}) };
}

export class GarbageCollector {
  /** Objects removed from the store whose dependents, owners and namespace still need looking at. */
  private readonly removed: KubeObject[] = [];
  /** Objects written with owner references, to check that their owners exist. */
  private readonly owned: Stored[] = [];
  private scheduled = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly rules: ObjectRules,
    private readonly registry: ResourceRegistry,
    private readonly now: () => Date,
  ) {
    // Any removal counts, however it happened (a DELETE, or the write that dropped the last finalizer), and
    // any write that sets or changes owner references.
    store.subscribe((event) => {
      if (event.type === 'DELETED') this.removed.push(event.object);
      else if (ownerRefsOf(event.object).length > 0 && JSON.stringify(ownerRefsOf(event.object)) !== JSON.stringify(ownerRefsOf(event.previous ?? { metadata: {} }))) {
        this.owned.push({ storageKey: event.storageKey, object: event.object });
      } else return;
      this.schedule();
    });
  }

  delete(r: ResourceType, namespace: string, name: string, request: DeleteRequest): KubeObject {
    const ns = r.namespaced ? namespace : '';
    const current = this.store.get(storageKeyOf(r), ns, name);
    if (!current) throw notFound(r, name);
    if (request.preconditionRv && request.preconditionRv !== current.metadata.resourceVersion) throw conflict(r, name);
    if (request.dryRun) return this.rules.present(r, current);
    if (r.group === '' && r.plural === 'namespaces') return this.rules.present(r, this.terminateNamespace(current));
    if (request.propagationPolicy === 'Orphan') {
      for (const dependent of this.dependentsOf(current.metadata.uid)) this.dropOwner(dependent, current.metadata.uid);
      return this.rules.delete(r, namespace, name);
    }
    if (request.propagationPolicy === 'Foreground' && !current.metadata.deletionTimestamp) {
      const marked = this.store.write(storageKeyOf(r), this.markDeleting(current, [foregroundFinalizer]));
      for (const dependent of this.dependentsOf(current.metadata.uid)) this.deleteStored(dependent, 'Foreground');
      this.finishForeground(marked.metadata.uid);
      return this.rules.present(r, this.store.get(storageKeyOf(r), ns, name) ?? marked);
    }
    return this.rules.delete(r, namespace, name);
  }

  /** deletecollection: every selected object, each as by its own DELETE; answers the list of what was deleted. */
  deleteCollection(r: ResourceType, namespace: string | undefined, labels: Selector, fields: FieldSelector, request: DeleteRequest): KubeObject[] {
    // Namespaces have no deletecollection verb on a real server (one DELETE must never take them all).
    if (!(verbsByResource.get(storageKeyOf(r)) ?? allVerbs).includes('deletecollection')) throw methodNotAllowed();
    const selected = this.rules.list(r, namespace, labels, fields);
    return selected.map((o) => this.delete(r, o.metadata.namespace ?? '', o.metadata.name, { propagationPolicy: request.propagationPolicy, ...(request.dryRun ? { dryRun: true } : {}) }));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the write that removed the object (and its answer) is done, as the real collector runs after it.
    queueMicrotask(() => {
      this.scheduled = false;
      this.collect();
    });
  }

  private collect(): void {
    for (let written = this.owned.shift(); written !== undefined; written = this.owned.shift()) this.checkOwners(written);
    for (let gone = this.removed.shift(); gone !== undefined; gone = this.removed.shift()) {
      const uid: string = gone.metadata.uid;
      for (const dependent of this.dependentsOf(uid)) {
        const otherOwners = ownerRefsOf(dependent.object).filter((ref) => ref.uid !== uid && this.findByUid(ref.uid) !== undefined);
        if (otherOwners.length > 0) this.dropOwner(dependent, uid);
        else this.deleteStored(dependent, 'Background');
      }
      for (const ref of ownerRefsOf(gone)) if (ref.uid) this.finishForeground(ref.uid);
      if (gone.metadata.namespace) this.finishNamespace(gone.metadata.namespace);
    }
  }

  /**
   * An object whose owners are all absent is deleted; one with some absent owners loses the references to
   * them (the collector's dangling references), as when an owner went before the dependent was written.
   */
  private checkOwners(written: Stored): void {
    const { metadata } = written.object;
    const current = this.store.get(written.storageKey, metadata.namespace ?? '', metadata.name);
    if (!current || current.metadata.uid !== metadata.uid) return;
    const refs = ownerRefsOf(current);
    const absent = refs.filter((ref) => this.findByUid(ref.uid) === undefined);
    if (absent.length === 0) return;
    const stored = { storageKey: written.storageKey, object: current };
    if (absent.length === refs.length) this.deleteStored(stored, 'Background');
    else for (const ref of absent) if (ref.uid) this.dropOwner({ storageKey: written.storageKey, object: this.store.get(written.storageKey, metadata.namespace ?? '', metadata.name) ?? current }, ref.uid);
  }

  private dependentsOf(uid: string): Stored[] {
    return this.store.all().filter(({ object }) => ownerRefsOf(object).some((ref) => ref.uid === uid));
  }

  private findByUid(uid: string | undefined): Stored | undefined {
    return uid === undefined ? undefined : this.store.all().find(({ object }) => object.metadata.uid === uid);
  }

  private dropOwner(dependent: Stored, uid: string): void {
    const object = dependent.object;
    const refs = ownerRefsOf(object).filter((ref) => ref.uid !== uid);
    if (refs.length > 0) object.metadata.ownerReferences = refs;
    else delete object.metadata.ownerReferences;
    this.store.write(dependent.storageKey, object);
  }

  /** Deletes a stored object as a DELETE with that policy would, unless it is already being deleted. */
  private deleteStored(target: Stored, policy: PropagationPolicy): void {
    const { metadata } = target.object;
    if (metadata.deletionTimestamp) return;
    const r = this.registry.all().find((x) => storageKeyOf(x) === target.storageKey);
    if (!r) {
      this.store.remove(target.storageKey, metadata.namespace ?? '', metadata.name);
      return;
    }
    this.delete(r, metadata.namespace ?? '', metadata.name, { propagationPolicy: policy });
  }

  /** A foreground deletion ends once no dependent blocks it. */
  private finishForeground(ownerUid: string): void {
    const owner = this.findByUid(ownerUid);
    if (!owner?.object.metadata.deletionTimestamp || !(owner.object.metadata.finalizers ?? []).includes(foregroundFinalizer)) return;
    const blocked = this.dependentsOf(ownerUid).some(({ object }) => ownerRefsOf(object).some((ref) => ref.uid === ownerUid && ref.blockOwnerDeletion === true));
    if (blocked) return;
    const object = owner.object;
    const finalizers = (object.metadata.finalizers as string[]).filter((f) => f !== foregroundFinalizer);
    if (finalizers.length === 0) this.store.remove(owner.storageKey, object.metadata.namespace ?? '', object.metadata.name);
    else this.store.write(owner.storageKey, { ...object, metadata: { ...object.metadata, finalizers } });
  }

  private markDeleting(object: KubeObject, addFinalizers: string[]): KubeObject {
    const finalizers = [...new Set([...(object.metadata.finalizers ?? []), ...addFinalizers])];
    return { ...object, metadata: { ...object.metadata, finalizers, deletionTimestamp: this.timestamp(), deletionGracePeriodSeconds: 0 } };
  }

  private terminateNamespace(namespace: KubeObject): KubeObject {
    const name: string = namespace.metadata.name;
    if (immortalNamespaces.includes(name)) {
      throw new KubeStatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    let marked = namespace;
    if (!namespace.metadata.deletionTimestamp) {
      marked = this.store.write(namespacesKey, {
        ...namespace,
        metadata: { ...namespace.metadata, deletionTimestamp: this.timestamp() },
        spec: { ...(namespace.spec ?? {}), finalizers: [namespaceFinalizer] },
        status: { ...(namespace.status ?? {}), phase: 'Terminating' },
      });
    }
    for (const content of this.contentsOf(name)) this.deleteStored(content, 'Background');
    this.finishNamespace(name);
    return this.store.get(namespacesKey, '', name) ?? marked;
  }

  private contentsOf(namespace: string): Stored[] {
    return this.store.all().filter(({ storageKey, object }) => storageKey !== namespacesKey && object.metadata.namespace === namespace);
  }

  private finishNamespace(name: string): void {
    const namespace = this.store.get(namespacesKey, '', name);
    if (!namespace?.metadata.deletionTimestamp || this.contentsOf(name).length > 0) return;
    this.store.remove(namespacesKey, '', name);
  }

  private timestamp(): string {
    return `${this.now().toISOString().slice(0, 19)}Z`;
  }
}
