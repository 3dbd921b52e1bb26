// Server-side apply (PATCH with application/apply-patch+yaml): merges a manager's configuration into the
// live object by field ownership, as sigs.k8s.io/structured-merge-diff does for the real API server.
//   - The applier owns exactly the fields of its configuration (the leaves: scalars, atomic lists, set
//     elements, keyed list elements' fields).
//   - A field another manager owns whose value the configuration would change is a conflict → 409, unless
//     `force`, which moves the field to the applier. Equal values are shared, never a conflict.
//   - A field the applier owned before and now leaves out is removed when nobody else owns it.
// Simplification (README): lists are atomic unless their schema says `x-kubernetes-list-type: map` (merged by
// `x-kubernetes-list-map-keys`) or `set`; built-ins have no schema here, so all their lists are atomic
// (metadata.finalizers is a set and metadata.ownerReferences a map by uid, as in the real server).
import { isObject } from './json';
import {
  type FieldSet,
  type Manager,
  deepEqual,
  describePath,
  getAt,
  isWithin,
  keyFieldsOf,
  leavesOf,
  managerFor,
  pathOf,
  removeAt,
  sameManager,
  setAt,
  trackedPart,
} from './managed-fields';
import type { JsonSchema } from './schema';
import type { KubeObject } from './store';
import { KubeStatusError } from './status';

export interface ApplyContext {
  readonly manager: string;
  readonly force: boolean;
  readonly subresource?: string;
  readonly apiVersion: string;
  readonly time: string;
  readonly schema: JsonSchema;
  readonly scope: 'main' | 'status' | 'all';
}

export interface ApplyResult {
  readonly object: KubeObject;
  readonly managers: Manager[];
}

interface Conflict {
  readonly manager: Manager;
  readonly key: string;
}

/** How the real server names a manager in a conflict (apiserver fieldmanager/internal/conflict.go). */
function printManager(m: Manager): string {
  let text = JSON.stringify(m.manager);
  if (m.subresource) text += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') text += m.time ? ` using ${m.apiVersion} at ${m.time}` : ` using ${m.apiVersion}`;
  return text;
}

export function conflictError(conflicts: readonly Conflict[]): KubeStatusError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: describePath(c.key) }));
  let message: string;
  if (conflicts.length === 1) {
    const [c] = conflicts as [Conflict];
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${describePath(c.key)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(printManager(c.manager), [...(byManager.get(printManager(c.manager)) ?? []), `- ${describePath(c.key)}`]);
    const lines = [...byManager.keys()].sort().flatMap((m) => [`conflict with ${m}:`, ...(byManager.get(m) ?? [])]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new KubeStatusError(409, 'Conflict', message, { causes });
}

/** Removes the field, then the maps and keyed elements it leaves empty that nobody owns. */
function removeUnowned(object: KubeObject, key: string, owned: (key: string) => boolean): void {
  const path = pathOf(key);
  const parentElement = path[path.length - 2];
  // The key fields of a keyed list element stay as long as the element does.
  if (keyFieldsOf(parentElement).some((k) => path[path.length - 1] === `f:${k}`)) return;
  removeAt(object, path);
  for (let depth = path.length - 1; depth > 0; depth--) {
    const ancestor = path.slice(0, depth);
    const value = getAt(object, ancestor);
    const keyFields = keyFieldsOf(ancestor[ancestor.length - 1]);
    const empty = (isObject(value) && Object.keys(value).every((k) => keyFields.includes(k))) || (Array.isArray(value) && value.length === 0);
    if (!empty || owned(ancestor.join('\u0000'))) return;
    removeAt(object, ancestor);
  }
}

/**
 * Applies `config` for `ctx.manager` over `live` (undefined: the object does not exist yet) and returns the
 * merged object with the new ownership; throws the real server's 409 on conflicts without `force`.
 */
export function applyConfiguration(managers: readonly Manager[], live: KubeObject | undefined, config: KubeObject, ctx: ApplyContext): ApplyResult {
  const owners: Manager[] = managers.map((m) => ({ ...m, fields: new Set(m.fields) }));
  const base: KubeObject = structuredClone(live ?? {});
  const applied = trackedPart(config, ctx.scope);
  const wanted: FieldSet = leavesOf(applied, ctx.schema);
  // An empty map in the configuration asks only that the map exist: it merges, it does not replace.
  const emptyMap = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 0;
  const changes = [...wanted].filter((key) => {
    const [want, have] = [getAt(applied, pathOf(key)), getAt(base, pathOf(key))];
    return emptyMap(want) ? !isObject(have) : !deepEqual(want, have);
  });
  const conflicts: Conflict[] = [];
  for (const m of owners) {
    if (sameManager(m, ctx.manager, 'Apply', ctx.subresource)) continue;
    for (const key of m.fields) if (changes.some((changed) => isWithin(key, changed))) conflicts.push({ manager: m, key });
  }
  if (conflicts.length > 0 && !ctx.force) throw conflictError(conflicts);
  for (const c of conflicts) c.manager.fields.delete(c.key);

  const mine = managerFor(owners, ctx.manager, 'Apply', ctx.subresource, ctx.apiVersion);
  const ownedBefore = new Set(mine.fields);
  // A map or keyed element the applier owned as a whole (`.`) stays while it configures anything inside it.
  const dropped = [...mine.fields].filter((key) => ![...wanted].some((w) => isWithin(w, key)));
  for (const key of changes) setAt(base, pathOf(key), getAt(applied, pathOf(key)));
  // Applying `{}` onto a missing map still creates it (an empty map is a leaf of the configuration).
  const ownedByOthers = (key: string): boolean => owners.some((m) => m !== mine && [...m.fields].some((owned) => isWithin(owned, key)));
  for (const key of dropped) if (!ownedByOthers(key)) removeUnowned(base, key, ownedByOthers);
  mine.fields = wanted;
  // The entry's time moves only when this apply changed something, so a repeated apply is a no-op write.
  const unchanged = changes.length === 0 && conflicts.length === 0 && dropped.length === 0 && ownedBefore.size === wanted.size && [...wanted].every((k) => ownedBefore.has(k)) && mine.apiVersion === ctx.apiVersion;
  if (!unchanged || mine.time === undefined) mine.time = ctx.time;
  mine.apiVersion = ctx.apiVersion;
  for (const key of ['apiVersion', 'kind'] as const) if (config[key] !== undefined) base[key] = config[key];
  base.metadata = { ...(isObject(base.metadata) ? base.metadata : {}), name: config.metadata?.name, ...(config.metadata?.namespace ? { namespace: config.metadata.namespace } : {}) };
  return { object: base, managers: owners.filter((m) => m.fields.size > 0) };
}
