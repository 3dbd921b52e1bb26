// Strategic merge patch (application/strategic-merge-patch+json) for built-in kinds, as kubectl sends it for
// `apply` (client-side), `set image`, `patch`, `edit`, `rollout restart`
// (kubernetes/community contributors/devel/sig-api-machinery/strategic-merge-patch.md; apimachinery
// pkg/util/strategicpatch). A JSON merge patch (RFC 7386) in which:
// - lists whose Go field carries `patchStrategy:"merge"` are merged: lists of objects element by element on
//   their `patchMergeKey` (containers by name, ports by containerPort, …), lists of primitives as a set;
//   every other list is replaced whole (the table below holds the fields that matter here);
// - directives steer the merge and are never stored: `$patch: replace | delete | merge` (in a map or as an
//   element of a list), `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`, `$retainKeys`.
import { isObject } from './json';
import { badRequest } from './status';

type Json = unknown;
type JsonMap = Record<string, Json>;
/** How a list merges: by a key of its elements, or as a set of primitives. Absent: replaced whole. */
export type ListRule = { readonly mergeKey: string } | 'set';

const byName: ListRule = { mergeKey: 'name' };
/** PodSpec lists (core/v1 types.go patchMergeKey tags). `tolerations` has no strategy: replaced whole. */
const podSpecLists: Record<string, ListRule> = {
  containers: byName,
  initContainers: byName,
  ephemeralContainers: byName,
  volumes: byName,
  imagePullSecrets: byName,
  hostAliases: { mergeKey: 'ip' },
};
/** Container lists. `envFrom` and `args` have no strategy. */
const containerLists: Record<string, ListRule> = {
  ports: { mergeKey: 'containerPort' },
  env: byName,
  volumeMounts: { mergeKey: 'mountPath' },
  volumeDevices: { mergeKey: 'devicePath' },
};
/** Where a kind keeps its PodSpec. */
const podSpecPaths: Record<string, string> = {
  Pod: 'spec',
  Deployment: 'spec.template.spec',
  ReplicaSet: 'spec.template.spec',
  StatefulSet: 'spec.template.spec',
  DaemonSet: 'spec.template.spec',
  Job: 'spec.template.spec',
  ReplicationController: 'spec.template.spec',
  CronJob: 'spec.jobTemplate.spec.template.spec',
};
/** Lists of every kind (ObjectMeta; conditions of the kinds that have them are merged by type). */
const commonLists: Record<string, ListRule> = {
  'metadata.finalizers': 'set',
  'metadata.ownerReferences': { mergeKey: 'uid' },
  'status.conditions': { mergeKey: 'type' },
};
/** Kind-specific lists. RBAC `rules` and `subjects` have no strategy: replaced whole. */
const kindLists: Record<string, Record<string, ListRule>> = {
  Service: { 'spec.ports': { mergeKey: 'port' } },
};

/** The merge rule of each list of a kind, by path (`*` for a list element): `spec.template.spec.containers.*.ports`. */
export function listRulesOf(kind: string): ReadonlyMap<string, ListRule> {
  const rules = new Map<string, ListRule>(Object.entries({ ...commonLists, ...(kindLists[kind] ?? {}) }));
  const pod = podSpecPaths[kind];
  if (pod !== undefined) {
    for (const [field, rule] of Object.entries(podSpecLists)) rules.set(`${pod}.${field}`, rule);
    for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
      for (const [field, rule] of Object.entries(containerLists)) rules.set(`${pod}.${list}.*.${field}`, rule);
    }
  }
  return rules;
}

const setElementOrder = '$setElementOrder/';
const deleteFromPrimitiveList = '$deleteFromPrimitiveList/';
const isDirectiveKey = (key: string): boolean => key === '$patch' || key === '$retainKeys' || key.startsWith(setElementOrder) || key.startsWith(deleteFromPrimitiveList);
const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
const same = (a: Json, b: Json): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/** Applies a strategic merge patch to an object of `kind`; the result holds no directive. */
export function strategicMergePatch(kind: string, original: Json, patch: Json): Json {
  if (!isObject(patch)) throw badRequest('the server rejected our request due to an error in our request: a strategic merge patch is a JSON object');
  return mergeMap(isObject(original) ? original : undefined, patch, '', listRulesOf(kind)) ?? {};
}

/** A value with every directive taken out (what `$patch: replace` stores). */
function clean(value: Json): Json {
  if (Array.isArray(value)) return value.filter((v) => !(isObject(v) && typeof v.$patch === 'string' && Object.keys(v).length === 1)).map(clean);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !isDirectiveKey(k)).map(([k, v]) => [k, clean(v)]));
}

/** Undefined: the map is deleted (`$patch: delete`). */
function mergeMap(original: JsonMap | undefined, patch: JsonMap, path: string, rules: ReadonlyMap<string, ListRule>): JsonMap | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return clean(patch) as JsonMap;
  if (directive !== undefined && directive !== 'merge') throw badRequest(`the server rejected our request due to an error in our request: unknown patch type: "${String(directive)}" in map at ${path || '.'}`);
  const out: JsonMap = original ? { ...original } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (isDirectiveKey(key)) continue;
    if (key.startsWith('$')) throw badRequest(`the server rejected our request due to an error in our request: unknown patch directive "${key}" at ${path || '.'}`);
    const child = join(path, key);
    if (value === null) delete out[key];
    else if (isObject(value)) {
      const merged = mergeMap(isObject(out[key]) ? out[key] : undefined, value, child, rules);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) out[key] = mergeList(out[key], value, child, rules);
    else out[key] = value;
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(deleteFromPrimitiveList)) {
      const list = key.slice(deleteFromPrimitiveList.length);
      const current = out[list];
      if (!Array.isArray(value)) throw badRequest(`the server rejected our request due to an error in our request: ${key} must be a list`);
      if (Array.isArray(current)) out[list] = current.filter((v) => !value.some((d) => same(d, v)));
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(setElementOrder)) continue;
    const list = key.slice(setElementOrder.length);
    if (!Array.isArray(value)) throw badRequest(`the server rejected our request due to an error in our request: ${key} must be a list`);
    const current = out[list];
    if (Array.isArray(current)) out[list] = reorder(current, value, rules.get(join(path, list)));
  }
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest('the server rejected our request due to an error in our request: $retainKeys must be a list');
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function mergeList(original: Json, patch: Json[], path: string, rules: ReadonlyMap<string, ListRule>): Json[] {
  const replace = patch.some((v) => isObject(v) && v.$patch === 'replace');
  const rule = rules.get(path);
  if (replace || rule === undefined) return clean(patch.filter((v) => !(isObject(v) && v.$patch === 'replace'))) as Json[];
  const current = Array.isArray(original) ? [...original] : [];
  if (rule === 'set') {
    for (const v of patch) if (!current.some((c) => same(c, v))) current.push(structuredClone(v));
    return current;
  }
  const { mergeKey } = rule;
  for (const item of patch) {
    if (!isObject(item) || item[mergeKey] === undefined) throw badRequest(`the server rejected our request due to an error in our request: an element of ${path} does not contain declared merge key: ${mergeKey}`);
    const matches = (c: Json): boolean => isObject(c) && same(c[mergeKey], item[mergeKey]);
    if (item.$patch === 'delete') {
      // Every element with that key goes, as the real server does for duplicates.
      for (let i = current.length - 1; i >= 0; i--) if (matches(current[i])) current.splice(i, 1);
      continue;
    }
    const index = current.findIndex(matches);
    const existing = index >= 0 ? current[index] : undefined;
    const merged = mergeMap(isObject(existing) ? existing : undefined, item, `${path}.*`, rules);
    if (merged === undefined) {
      if (index >= 0) current.splice(index, 1);
    } else if (index >= 0) current[index] = merged;
    else current.push(merged);
  }
  return current;
}

/**
 * `$setElementOrder/<list>`: the elements it names take its relative order; the others (the server's own)
 * keep their places.
 */
function reorder(list: Json[], order: Json[], rule: ListRule | undefined): Json[] {
  const keyOf = (v: Json): string => JSON.stringify(rule !== undefined && rule !== 'set' && isObject(v) ? v[rule.mergeKey] : v);
  const rank = new Map(order.map((v, i) => [keyOf(v), i]));
  const slots = list.map((v, i) => ({ v, i })).filter(({ v }) => rank.has(keyOf(v)));
  const sorted = [...slots].sort((a, b) => (rank.get(keyOf(a.v)) ?? 0) - (rank.get(keyOf(b.v)) ?? 0));
  const out = [...list];
  slots.forEach(({ i }, n) => (out[i] = (sorted[n] as { v: Json }).v));
  return out;
}
