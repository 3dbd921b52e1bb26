// Label selectors (the string form: =, ==, !=, in, notin, exists, !exists) and the field selectors
// every resource supports (metadata.name, metadata.namespace), as in apimachinery pkg/labels and pkg/fields.
import { badRequest } from './status';

type Labels = Readonly<Record<string, string>>;
export type Selector = (labels: Labels) => boolean;
export type FieldSelector = (name: string, namespace: string) => boolean;

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

export function parseFieldSelector(text: string | null): FieldSelector {
  if (!text) return () => true;
  const parts = terms(text).map((term) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/u.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field, op, value = ''] = m;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') throw badRequest(`field label not supported: ${field}`);
    const pick = field === 'metadata.name' ? (n: string) => n : (_n: string, ns: string) => ns;
    return op === '!=' ? (n: string, ns: string) => pick(n, ns) !== value : (n: string, ns: string) => pick(n, ns) === value;
  });
  return (name, namespace) => parts.every((p) => p(name, namespace));
}
