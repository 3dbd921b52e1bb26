// Label selectors (the string form: =, ==, !=, in, notin, exists, !exists) and the field selectors
// every resource supports (metadata.name, metadata.namespace) plus the few per-resource ones the real server
// has (events' involvedObject.*, a secret's type), as in apimachinery pkg/labels and pkg/fields.
import { badRequest } from './status';

type Labels = Readonly<Record<string, string>>;
export type Selector = (labels: Labels) => boolean;
/** `object` lets a selector read fields beyond the name and namespace (events' involvedObject.*). */
export type FieldSelector = (name: string, namespace: string, object?: Readonly<Record<string, unknown>>) => boolean;

/** Splits on commas outside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function labelTerm(term: string): Selector {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/u.exec(term);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = list.split(',').map((v) => v.trim());
    return op === 'in' ? (l) => key in l && values.includes(l[key] ?? '') : (l) => !(key in l) || !values.includes(l[key] ?? '');
  }
  const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/u.exec(term);
  if (cmp) {
    const [, key = '', op, value = ''] = cmp;
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  const exists = /^(!?)([^\s!=()]+)$/u.exec(term);
  if (exists) {
    const key = exists[2] ?? '';
    return exists[1] ? (l) => !(key in l) : (l) => key in l;
  }
  throw badRequest(`unable to parse requirement: ${term}`);
}

export function parseLabelSelector(text: string | null): Selector {
  if (!text) return () => true;
  const parts = terms(text).map(labelTerm);
  return (labels) => parts.every((p) => p(labels));
}

const involved = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'];
/** Field selectors beyond metadata.name / metadata.namespace that the real server supports, per resource. */
const selectableFields: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // kubectl describe lists a resource's events with involvedObject.{namespace,kind,uid,name} (core/v1 events).
  '/events': {
    ...Object.fromEntries(involved.map((f) => [`involvedObject.${f}`, `involvedObject.${f}`])),
    reason: 'reason',
    reportingComponent: 'reportingComponent',
    source: 'source.component',
    type: 'type',
  },
  'events.k8s.io/events': {
    ...Object.fromEntries(involved.map((f) => [`regarding.${f}`, `regarding.${f}`])),
    reason: 'reason',
    reportingController: 'reportingController',
    type: 'type',
  },
  '/secrets': { type: 'type' },
  '/namespaces': { 'status.phase': 'status.phase' },
};

const valueAt = (o: Readonly<Record<string, unknown>> | undefined, path: string): string => {
  const v = path.split('.').reduce<unknown>((at, k) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[k] : undefined), o);
  return v === undefined || v === null ? '' : String(v);
};

/** `resource` is `<group>/<plural>`; it decides which fields beyond metadata.name / namespace may be selected. */
export function parseFieldSelector(text: string | null, resource = ''): FieldSelector {
  if (!text) return () => true;
  const extra = selectableFields[resource] ?? {};
  const parts = terms(text).map((term) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/u.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = m;
    const path = extra[field];
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && path === undefined) throw badRequest(`field label not supported: ${field}`);
    const pick = (n: string, ns: string, o?: Readonly<Record<string, unknown>>): string => (field === 'metadata.name' ? n : field === 'metadata.namespace' ? ns : valueAt(o, path ?? ''));
    return op === '!=' ? (n: string, ns: string, o?: Readonly<Record<string, unknown>>) => pick(n, ns, o) !== value : (n: string, ns: string, o?: Readonly<Record<string, unknown>>) => pick(n, ns, o) === value;
  });
  return (name, namespace, object) => parts.every((p) => p(name, namespace, object));
}
