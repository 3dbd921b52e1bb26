// The JSONPath subset printer columns use (k8s.io/client-go/util/jsonpath as the CRD table convertor runs
// it): `.a.b`, `{.a.b}`, `['a.b']`, `[0]`, `[*]` and the filter `[?(@.type=="Ready")]` (==, != on a
// string, number or boolean, or `[?(@.x)]` for presence).
import { isObject } from './json';
import { KubeStatusError } from './status';

type Json = unknown;

type Step = { kind: 'field'; name: string } | { kind: 'index'; index: number } | { kind: 'all' } | { kind: 'filter'; path: string[]; op?: '==' | '!='; value?: Json };

function parseLiteral(text: string): Json {
  const t = text.trim();
  if (/^["'].*["']$/u.test(t)) return t.slice(1, -1);
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return Number.isNaN(n) ? t : n;
}

/** A JSONPath this subset cannot read: 422, so it can never surface as a 500. */
function invalidJsonPath(message: string): KubeStatusError {
  return new KubeStatusError(422, 'Invalid', message);
}

/** Why an expression cannot be evaluated, or undefined when it can (checked when a CRD is written). */
export function jsonPathProblem(expression: unknown): string | undefined {
  if (typeof expression !== 'string' || expression.trim() === '') return 'must be a JSONPath such as .spec.partitions';
  try {
    parseJsonPath(expression);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export function parseJsonPath(expression: string): Step[] {
  let text = expression.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (text.startsWith('$')) text = text.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      const m = /^\.([^.[\]]+)/u.exec(text.slice(i));
      if (!m) {
        i += 1;
        continue;
      }
      steps.push({ kind: 'field', name: m[1] ?? '' });
      i += m[0].length;
    } else if (ch === '[') {
      const end = text.indexOf(']', text.startsWith('[?(', i) ? text.indexOf(')]', i) : i);
      if (end < 0) throw invalidJsonPath(`unclosed [ in ${expression}`);
      const inside = text.slice(i + 1, end).trim();
      i = end + 1;
      if (inside === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/u.test(inside)) steps.push({ kind: 'index', index: Number(inside) });
      else if (/^['"].*['"]$/u.test(inside)) steps.push({ kind: 'field', name: inside.slice(1, -1) });
      else {
        const filter = /^\?\(@((?:\.[^.\s=!)]+)+)\s*(?:(==|!=)\s*(.+?))?\s*\)$/u.exec(inside);
        if (!filter) throw invalidJsonPath(`unsupported JSONPath ${expression}`);
        steps.push({ kind: 'filter', path: (filter[1] ?? '').split('.').filter(Boolean), ...(filter[2] ? { op: filter[2] as '==' | '!=', value: parseLiteral(filter[3] ?? '') } : {}) });
      }
    } else i += 1;
  }
  return steps;
}

function fieldOf(value: Json, path: readonly string[]): Json {
  return path.reduce<Json>((v, k) => (isObject(v) ? v[k] : undefined), value);
}

/** Every value the path reaches. */
export function jsonPathValues(root: Json, expression: string): Json[] {
  let current: Json[] = [root];
  for (const step of parseJsonPath(expression)) {
    const next: Json[] = [];
    for (const v of current) {
      if (step.kind === 'field' && isObject(v) && v[step.name] !== undefined) next.push(v[step.name]);
      else if (step.kind === 'index' && Array.isArray(v)) {
        const item = v[step.index < 0 ? v.length + step.index : step.index];
        if (item !== undefined) next.push(item);
      } else if (step.kind === 'all' && Array.isArray(v)) next.push(...v);
      else if (step.kind === 'all' && isObject(v)) next.push(...Object.values(v));
      else if (step.kind === 'filter' && Array.isArray(v)) {
        for (const item of v) {
          const field = fieldOf(item, step.path);
          const keep = step.op === undefined ? field !== undefined : step.op === '==' ? field === step.value : field !== step.value;
          if (keep) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** The first value, or undefined (a printer column shows `<none>` then); an unsupported path reaches nothing. */
export function jsonPathFirst(root: Json, expression: string): Json {
  try {
    return jsonPathValues(root, expression)[0];
  } catch {
    return undefined;
  }
}
