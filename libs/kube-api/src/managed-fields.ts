// Field ownership for server-side apply: which field manager set which field of an object, kept in
// `metadata.managedFields` in the `FieldsV1` format, as the real API server does
// (sigs.k8s.io/structured-merge-diff fieldpath; apiserver pkg/util/managedfields).
//
// A field path is a list of elements: `f:<name>` (a map key), `k:{"type":"Ready"}` (an element of a list
// declared `x-kubernetes-list-type: map`, by its keys) or `v:<json>` (an element of a `set` list). Every
// other list is atomic: the whole list is one field, as for custom-resource lists without a list type.
import { isObject } from './json';
import type { JsonSchema } from './schema';
import type { KubeObject } from './store';

type Json = unknown;

export type FieldPath = readonly string[];
/** Paths joined by a NUL (which no element contains), so a set of paths is a `Set<string>`. */
export type FieldSet = Set<string>;
const sep = '\u0000';
export const pathKey = (p: FieldPath): string => p.join(sep);
export const pathOf = (key: string): string[] => (key === '' ? [] : key.split(sep));

export type ManagedOperation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager: string;
  operation: ManagedOperation;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, Json>;
  subresource?: string;
}

/** An entry with its field set decoded. */
export interface Manager {
  readonly manager: string;
  readonly operation: ManagedOperation;
  readonly subresource?: string;
  apiVersion: string;
  time?: string;
  fields: FieldSet;
}

/** The metadata fields that managers own; name, uid, resourceVersion and the like are the server's. */
const trackedMetadata = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

/** The list types metadata declares (finalizers are a set, owner references a map keyed by uid). */
const metadataSchema: JsonSchema = {
  type: 'object',
  properties: {
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ownerReferences: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'] },
  },
};

function childSchema(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
  if (!schema) return undefined;
  const extra = schema.additionalProperties;
  return schema.properties?.[key] ?? (typeof extra === 'object' ? extra : undefined);
}

/** The root schema to walk an object with: the resource's (if any), with metadata's list types. */
export function trackingSchema(schema: JsonSchema | undefined): JsonSchema {
  return { ...(schema ?? {}), properties: { ...(schema?.properties ?? {}), metadata: metadataSchema } };
}

/** Only the fields managers own: no apiVersion / kind, metadata cut to `trackedMetadata`, scoped to the endpoint. */
export function trackedPart(o: KubeObject, scope: 'main' | 'status' | 'all'): KubeObject {
  const out: KubeObject = {};
  for (const [key, value] of Object.entries(o)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (scope === 'status' && key !== 'status') continue;
    if (scope === 'main' && key === 'status') continue;
    if (key === 'metadata') {
      const meta: KubeObject = {};
      for (const m of trackedMetadata) if (isObject(value) && value[m] !== undefined) meta[m] = value[m];
      if (Object.keys(meta).length > 0) out.metadata = meta;
    } else out[key] = value;
  }
  return out;
}

export const keyElement = (item: Record<string, Json>, keys: readonly string[]): string => `k:${JSON.stringify(Object.fromEntries(keys.map((k) => [k, item[k]])))}`;

/** Visits every field: `leaf` is true for scalars, atomic lists, set elements and empty maps. */
function walk(value: Json, schema: JsonSchema | undefined, path: string[], visit: (path: string[], value: Json, leaf: boolean) => void): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    if (path.length > 0) visit(path, value, false);
    for (const [key, child] of Object.entries(value)) walk(child, childSchema(schema, key), [...path, `f:${key}`], visit);
    return;
  }
  const listType = schema?.['x-kubernetes-list-type'];
  const mapKeys = schema?.['x-kubernetes-list-map-keys'] ?? [];
  if (Array.isArray(value) && listType === 'map' && mapKeys.length > 0 && value.every(isObject)) {
    visit(path, value, false);
    for (const item of value as Record<string, Json>[]) walk(item, schema?.items, [...path, keyElement(item, mapKeys)], visit);
    return;
  }
  if (Array.isArray(value) && listType === 'set') {
    visit(path, value, false);
    for (const item of value) visit([...path, `v:${JSON.stringify(item)}`], item, true);
    return;
  }
  if (path.length > 0) visit(path, value, true);
}

/** Every field path of an object (maps and keyed list elements too), with whether it is a leaf. */
export function fieldsOf(value: Json, schema: JsonSchema | undefined): Map<string, boolean> {
  const out = new Map<string, boolean>();
  walk(value, schema, [], (p, _v, leaf) => out.set(pathKey(p), leaf));
  return out;
}

export function leavesOf(value: Json, schema: JsonSchema | undefined): FieldSet {
  return new Set([...fieldsOf(value, schema)].filter(([, leaf]) => leaf).map(([k]) => k));
}

function parseElement(element: string): { kind: 'f' | 'k' | 'v'; value: Json } {
  const kind = element.slice(0, 1) as 'f' | 'k' | 'v';
  return kind === 'f' ? { kind, value: element.slice(2) } : { kind, value: JSON.parse(element.slice(2)) as Json };
}

const matches = (item: Json, keys: Record<string, Json>): boolean => isObject(item) && Object.entries(keys).every(([k, v]) => deepEqual(item[k], v));

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The value at a path, or undefined. */
export function getAt(root: Json, path: FieldPath): Json {
  let at: Json = root;
  for (const element of path) {
    const { kind, value } = parseElement(element);
    if (kind === 'f') at = isObject(at) ? at[value as string] : undefined;
    else if (kind === 'k') at = Array.isArray(at) ? at.find((item) => matches(item, value as Record<string, Json>)) : undefined;
    else at = Array.isArray(at) ? at.find((item) => deepEqual(item, value)) : undefined;
    if (at === undefined) return undefined;
  }
  return at;
}

/** Sets the value at a path, creating maps and keyed list elements on the way. */
export function setAt(root: Record<string, Json>, path: FieldPath, leaf: Json): void {
  let at: Json = root;
  path.forEach((element, i) => {
    const last = i === path.length - 1;
    const { kind, value } = parseElement(element);
    const nextIsList = !last && (path[i + 1]?.startsWith('k:') || path[i + 1]?.startsWith('v:'));
    if (kind === 'f' && isObject(at)) {
      const key = value as string;
      if (last) at[key] = structuredClone(leaf);
      else {
        const fits = nextIsList ? Array.isArray(at[key]) : isObject(at[key]);
        if (!fits) at[key] = nextIsList ? [] : {};
        at = at[key];
      }
    } else if (kind === 'k' && Array.isArray(at)) {
      const keys = value as Record<string, Json>;
      let item = at.find((x) => matches(x, keys));
      if (last) {
        const index = item === undefined ? at.length : at.indexOf(item);
        at[index] = { ...structuredClone(leaf as object), ...keys };
      } else {
        if (item === undefined) at.push((item = { ...keys }));
        at = item;
      }
    } else if (kind === 'v' && Array.isArray(at)) {
      if (!at.some((x) => deepEqual(x, value))) at.push(structuredClone(value));
    }
  });
}

/** Removes the field at a path (a keyed or set element goes from its list). */
export function removeAt(root: Json, path: FieldPath): void {
  const parent = getAt(root, path.slice(0, -1));
  const element = path[path.length - 1];
  if (element === undefined) return;
  const { kind, value } = parseElement(element);
  if (kind === 'f' && isObject(parent)) delete parent[value as string];
  else if (Array.isArray(parent)) {
    const index = parent.findIndex((item) => (kind === 'k' ? matches(item, value as Record<string, Json>) : deepEqual(item, value)));
    if (index >= 0) parent.splice(index, 1);
  }
}

/** The key fields of a keyed list element path (`k:{"type":"Ready"}` → `type`). */
export function keyFieldsOf(element: string | undefined): string[] {
  return element?.startsWith('k:') ? Object.keys(JSON.parse(element.slice(2)) as object) : [];
}

/** Encodes a set in the FieldsV1 form: `{"f:spec":{".":{},"f:x":{}}}` (`.` marks a map that is itself owned). */
export function encodeFields(set: FieldSet): Record<string, Json> {
  const root: Record<string, Json> = {};
  const sorted = [...set].map(pathOf).sort((a, b) => a.length - b.length);
  for (const path of sorted) {
    let at = root;
    path.forEach((element, i) => {
      const child = (at[element] ??= {}) as Record<string, Json>;
      if (i === path.length - 1 && Object.keys(child).length === 0 && sorted.some((p) => p.length > path.length && pathKey(p.slice(0, path.length)) === pathKey(path))) child['.'] = {};
      at = child;
    });
  }
  return root;
}

/** Whether a FieldsV1 key is one this server can follow (`i:` positions and malformed keys are dropped). */
function validElement(key: string): boolean {
  if (key.startsWith('f:')) return !key.includes(sep);
  if (!key.startsWith('k:') && !key.startsWith('v:')) return false;
  try {
    const value = JSON.parse(key.slice(2)) as Json;
    return key.startsWith('v:') || isObject(value);
  } catch {
    return false;
  }
}

/** Decodes FieldsV1; whatever a client sent that is not well formed is left out rather than failing the write. */
export function decodeFields(fields: Json, prefix: string[] = [], out: FieldSet = new Set()): FieldSet {
  if (!isObject(fields)) return out;
  const keys = Object.keys(fields);
  if (keys.length === 0 && prefix.length > 0) out.add(pathKey(prefix));
  for (const key of keys) {
    if (key === '.') {
      if (prefix.length > 0) out.add(pathKey(prefix));
    } else if (validElement(key)) decodeFields(fields[key], [...prefix, key], out);
  }
  return out;
}

export function decodeManagers(entries: Json): Manager[] {
  if (!Array.isArray(entries)) return [];
  return entries.filter(isObject).filter((e) => typeof e.manager === 'string' && (e.operation === 'Apply' || e.operation === 'Update')).map((e) => ({
    manager: e.manager as string,
    operation: e.operation as ManagedOperation,
    ...(typeof e.subresource === 'string' && e.subresource ? { subresource: e.subresource } : {}),
    apiVersion: String(e.apiVersion ?? ''),
    ...(typeof e.time === 'string' ? { time: e.time } : {}),
    fields: decodeFields(e.fieldsV1),
  }));
}

export function encodeManagers(managers: readonly Manager[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => m.fields.size > 0)
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time ? { time: m.time } : {}),
      fieldsType: 'FieldsV1' as const,
      fieldsV1: encodeFields(m.fields),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
}

export const sameManager = (m: Manager, name: string, operation: ManagedOperation, subresource: string | undefined): boolean =>
  m.manager === name && m.operation === operation && (m.subresource ?? '') === (subresource ?? '');

/** The manager entry for (name, operation, subresource), added if missing. */
export function managerFor(managers: Manager[], name: string, operation: ManagedOperation, subresource: string | undefined, apiVersion: string): Manager {
  let found = managers.find((m) => sameManager(m, name, operation, subresource));
  if (!found) {
    found = { manager: name, operation, ...(subresource ? { subresource } : {}), apiVersion, fields: new Set() };
    managers.push(found);
  }
  return found;
}

/** True when `key` is `ancestor` or below it. */
export const isWithin = (key: string, ancestor: string): boolean => key === ancestor || key.startsWith(ancestor + sep);

export interface UpdateContext {
  readonly manager: string;
  readonly subresource?: string;
  readonly apiVersion: string;
  readonly time: string;
  readonly schema: JsonSchema;
  readonly scope: 'main' | 'status' | 'all';
}

/**
 * A write that is not an apply (create, PUT, merge / JSON / strategic patch): the writer's Update entry
 * gains every field it added or changed, which no other manager owns any more (an update takes
 * ownership without conflicts, as in the real server).
 */
export function recordUpdate(managers: Manager[], before: KubeObject | undefined, after: KubeObject, ctx: UpdateContext): void {
  const old = fieldsOf(trackedPart(before ?? {}, ctx.scope), ctx.schema);
  const next = fieldsOf(trackedPart(after, ctx.scope), ctx.schema);
  const changed = new Set<string>();
  for (const [key, leaf] of next) {
    // metadata always exists, so it is never anyone's as a whole (the real server never lists `.` under it).
    if (key === 'f:metadata') continue;
    if (!old.has(key) || (leaf && !deepEqual(getAt(before, pathOf(key)), getAt(after, pathOf(key))))) changed.add(key);
  }
  if (changed.size === 0) return;
  for (const m of managers) for (const key of changed) m.fields.delete(key);
  const mine = managerFor(managers, ctx.manager, 'Update', ctx.subresource, ctx.apiVersion);
  for (const key of changed) mine.fields.add(key);
  mine.time = ctx.time;
  mine.apiVersion = ctx.apiVersion;
}

/** Drops owned paths the object no longer has, and managers left owning nothing. */
export function forgetMissing(managers: Manager[], object: KubeObject, schema: JsonSchema): Manager[] {
  const present = fieldsOf(trackedPart(object, 'all'), schema);
  for (const m of managers) for (const key of [...m.fields]) if (!present.has(key)) m.fields.delete(key);
  return managers.filter((m) => m.fields.size > 0);
}

/** `.spec.partitions`, `.status.conditions[type="Ready"]`: how conflicts name a field. */
export function describePath(key: string): string {
  return pathOf(key)
    .map((element) => {
      const { kind, value } = parseElement(element);
      if (kind === 'f') return `.${value as string}`;
      if (kind === 'k') return `[${Object.entries(value as Record<string, Json>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      return `[=${JSON.stringify(value)}]`;
    })
    .join('');
}
