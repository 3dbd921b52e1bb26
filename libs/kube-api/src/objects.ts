// The write rules of the real API server for one resource: create, update (PUT), the status and scale
// subresources, delete with finalizers, and what they do to resourceVersion, generation, uid and
// timestamps (apiserver pkg/registry/rest, apiextensions-apiserver registry/customresource/strategy.go).
import { randomUUID } from 'node:crypto';
import { builtInDefaults } from './defaults';
import { type Manager, decodeManagers, deepEqual, encodeManagers, forgetMissing, recordUpdate, trackingSchema } from './managed-fields';
import { type ResourceType, apiVersionOf, storageKeyOf } from './resources';
import { applyDefaults, prune, validate } from './schema';
import { type FieldSelector, type Selector } from './selectors';
import { type KubeObject, type ObjectStore } from './store';
import { KubeStatusError, alreadyExists, badRequest, conflict, invalid, notFound } from './status';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  readonly fieldValidation?: FieldValidation;
  readonly dryRun?: boolean;
  /** Who writes: recorded in `metadata.managedFields` as an Update (none: ownership only loses gone fields). */
  readonly fieldManager?: string;
  /** The ownership a server-side apply computed (then no Update is recorded). */
  readonly managers?: Manager[];
}

export interface WriteResult {
  readonly object: KubeObject;
  readonly warnings: string[];
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u;
/** RFC 1123 subdomain limit for object names (apimachinery validation.DNS1123SubdomainMaxLength). */
const objectNameLengthMax = 253;
/** generateName gets this many random characters (apiserver names.SimpleNameGenerator). */
const generatedSuffixLength = 5;

/** Everything but metadata and status: a change here bumps generation. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

export class ObjectRules {
  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => Date,
    /** Kind-specific checks run before anything is stored (a CRD's names and versions). */
    private readonly check: (r: ResourceType, object: KubeObject) => void = () => undefined,
  ) {}

  get(r: ResourceType, namespace: string, name: string): KubeObject {
    const found = this.store.get(storageKeyOf(r), namespace, name);
    if (!found) throw notFound(r, name);
    return this.present(r, found);
  }

  list(r: ResourceType, namespace: string | undefined, labels: Selector, fields: FieldSelector): KubeObject[] {
    return this.store
      .list(storageKeyOf(r), namespace)
      .filter((o) => labels(o.metadata.labels ?? {}) && fields(o.metadata.name, o.metadata.namespace ?? '', o))
      .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`))
      .map((o) => this.present(r, o));
  }

  /** The stored object as served at this resource's version. */
  present(r: ResourceType, o: KubeObject): KubeObject {
    return { ...o, apiVersion: apiVersionOf(r), kind: r.kind };
  }

  create(r: ResourceType, namespace: string, body: KubeObject, options: WriteOptions = {}): WriteResult {
    const object = this.checkBody(r, body);
    const meta = object.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().replace(/-/gu, '').slice(0, generatedSuffixLength)}`;
    if (r.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = namespace;
      const ns = this.store.get('/namespaces', '', namespace);
      if (!ns) throw new KubeStatusError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
      // The namespace lifecycle admission plugin: nothing new in a namespace being deleted.
      if (ns.metadata.deletionTimestamp) throw new KubeStatusError(403, 'Forbidden', `${r.plural} "${meta.name ?? meta.generateName ?? ''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, { name: meta.name, kind: r.plural });
    } else delete meta.namespace;
    this.checkName(r, meta.name);
    if (this.store.get(storageKeyOf(r), namespace, meta.name)) throw alreadyExists(r, meta.name);
    if (r.statusSubresource && !r.builtIn) delete object.status;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    if (r.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    builtInDefaults(r, object, true);
    const warnings = this.applySchema(r, object, options);
    this.check(r, object);
    this.track(r, undefined, object, undefined, options);
    if (options.dryRun) return { object: this.present(r, { ...object, metadata: { ...meta, resourceVersion: '' } }), warnings };
    return { object: this.present(r, this.store.write(storageKeyOf(r), object)), warnings };
  }

  /** PUT of the main resource or of its status subresource. */
  update(r: ResourceType, namespace: string, name: string, body: KubeObject, subresource: 'status' | undefined, options: WriteOptions = {}): WriteResult {
    const incoming = this.checkBody(r, body);
    if (incoming.metadata.name && incoming.metadata.name !== name) throw badRequest('the name of the object does not match the name on the URL');
    const current = this.store.get(storageKeyOf(r), r.namespaced ? namespace : '', name);
    if (!current) throw notFound(r, name);
    const rv = incoming.metadata.resourceVersion;
    // Built-in kinds take a PUT without resourceVersion as an unconditional update (their registry
    // strategies' AllowUnconditionalUpdate; helm 4 writes its release Secret so); custom resources and
    // CRDs do not.
    const unconditionalAllowed = r.builtIn && r.group !== 'apiextensions.k8s.io';
    if (!rv && !unconditionalAllowed) throw invalid(r.kind, r.group, name, [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(r, name);
    return this.replace(r, current, incoming, subresource, options);
  }

  /**
   * Writes `incoming` over `current` (the version check is done): keeps what the caller may not change,
   * applies the subresource split, bumps generation on a spec change, and finishes a deletion whose
   * last finalizer went away.
   */
  replace(r: ResourceType, current: KubeObject, incoming: KubeObject, subresource: 'status' | undefined, options: WriteOptions = {}): WriteResult {
    const name = current.metadata.name;
    let next: KubeObject;
    if (subresource === 'status') next = { ...current, metadata: { ...current.metadata }, status: incoming.status };
    else {
      next = { ...incoming, metadata: { ...incoming.metadata } };
      if (r.statusSubresource) {
        if (current.status === undefined) delete next.status;
        else next.status = current.status;
      }
    }
    const meta = next.metadata;
    for (const kept of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name', 'generation'] as const) {
      if (current.metadata[kept] === undefined) delete meta[kept];
      else meta[kept] = current.metadata[kept];
    }
    const deleting = current.metadata.deletionTimestamp !== undefined;
    const oldFinalizers: string[] = current.metadata.finalizers ?? [];
    const newFinalizers: string[] = meta.finalizers ?? [];
    if (deleting && newFinalizers.some((f) => !oldFinalizers.includes(f))) {
      throw invalid(r.kind, r.group, name, [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: 'Forbidden: no new finalizers can be added if the object is being deleted' }]);
    }
    if (subresource !== 'status') builtInDefaults(r, next, false);
    const warnings = subresource === 'status' ? [] : this.applySchema(r, next, options);
    this.check(r, next);
    if (r.tracksGeneration && specOf(next) !== specOf(current)) meta.generation = (current.metadata.generation ?? 0) + 1;
    this.track(r, current, next, subresource, options);
    if (options.dryRun) return { object: this.present(r, next), warnings };
    // A write that changes nothing (managedFields included) is not stored: no new resourceVersion, no watch
    // event, as the real server compares the bytes before writing to etcd. A no-op apply or status write
    // from a controller must not wake its own informer.
    if (deepEqual(next, current)) return { object: this.present(r, current), warnings };
    if (deleting && newFinalizers.length === 0) {
      return { object: this.present(r, this.store.remove(storageKeyOf(r), meta.namespace ?? '', name) as KubeObject), warnings };
    }
    return { object: this.present(r, this.store.write(storageKeyOf(r), next)), warnings };
  }

  /**
   * DELETE: an object with finalizers only gets deletionTimestamp (grace 0, as for custom resources)
   * and stays until they are gone; anything else goes at once.
   */
  delete(r: ResourceType, namespace: string, name: string, preconditionRv?: string): KubeObject {
    const ns = r.namespaced ? namespace : '';
    const current = this.store.get(storageKeyOf(r), ns, name);
    if (!current) throw notFound(r, name);
    if (preconditionRv && preconditionRv !== current.metadata.resourceVersion) throw conflict(r, name);
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return this.present(r, current);
      current.metadata.deletionTimestamp = this.timestamp();
      current.metadata.deletionGracePeriodSeconds = 0;
      return this.present(r, this.store.write(storageKeyOf(r), current));
    }
    return this.present(r, this.store.remove(storageKeyOf(r), ns, name) as KubeObject);
  }

  /** Removes every object of a resource at once (the instances of a deleted CRD). */
  removeAll(r: ResourceType): void {
    for (const o of this.store.list(storageKeyOf(r))) this.store.remove(storageKeyOf(r), o.metadata.namespace ?? '', o.metadata.name);
  }

  /**
   * Sets `metadata.managedFields` of an object about to be stored. Managed fields sent with a non-apply
   * write replace the stored ones (kubectl rewrites them so when it moves from client-side to server-side
   * apply); `[{}]` clears them; absent or `[]` keeps the stored ones (apiserver fieldmanager).
   */
  private track(r: ResourceType, current: KubeObject | undefined, next: KubeObject, subresource: 'status' | undefined, options: WriteOptions): void {
    const schema = trackingSchema(r.schema);
    let managers = options.managers;
    if (!managers) {
      const sent: unknown = next.metadata.managedFields;
      managers = Array.isArray(sent) && sent.length > 0 ? decodeManagers(sent) : decodeManagers(current?.metadata.managedFields);
      if (options.fieldManager) {
        const scope = subresource === 'status' ? 'status' : r.statusSubresource ? 'main' : 'all';
        recordUpdate(managers, current, next, { manager: options.fieldManager, ...(subresource ? { subresource } : {}), apiVersion: apiVersionOf(r), time: this.timestamp(), schema, scope });
      }
    }
    const entries = encodeManagers(forgetMissing(managers, next, schema));
    if (entries.length > 0) next.metadata.managedFields = entries;
    else delete next.metadata.managedFields;
  }

  /** The time for managedFields entries (RFC 3339, seconds). */
  timeNow(): string {
    return this.timestamp();
  }

  private timestamp(): string {
    // Kubernetes timestamps are RFC 3339 with second precision.
    return `${this.now().toISOString().slice(0, 19)}Z`;
  }

  private checkBody(r: ResourceType, body: unknown): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body of the request is not a JSON object');
    const object = structuredClone(body) as KubeObject;
    if (object.kind !== undefined && object.kind !== r.kind) throw badRequest(`the kind of the object (${object.kind}) does not match the resource (${r.kind})`);
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(r)) throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(r)})`);
    object.metadata = typeof object.metadata === 'object' && object.metadata !== null ? object.metadata : {};
    return object;
  }

  private checkName(r: ResourceType, name: unknown): void {
    if (typeof name !== 'string' || name === '') {
      throw invalid(r.kind, r.group, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    if (name.length > objectNameLengthMax || !dnsSubdomain.test(name)) {
      throw invalid(r.kind, r.group, name, [{
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      }]);
    }
  }

  /** Prune → default → validate for custom resources; returns warnings for fieldValidation=Warn. */
  private applySchema(r: ResourceType, object: KubeObject, options: WriteOptions): string[] {
    if (!r.schema) return [];
    const pruned = prune(r.schema, object);
    const mode = options.fieldValidation ?? 'Warn';
    if (pruned.length > 0 && mode === 'Strict') throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`);
    applyDefaults(r.schema, object);
    const causes = validate(r.schema, object);
    if (causes.length > 0) throw invalid(r.kind, r.group, object.metadata.name ?? '', causes);
    return mode === 'Warn' ? pruned.map((p) => `unknown field "${p}"`) : [];
  }
}
