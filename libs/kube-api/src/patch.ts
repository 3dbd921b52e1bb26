// JSON merge patch (RFC 7386) and JSON patch (RFC 6902), the two patch types every resource accepts.
import { isObject } from './json';
import { checkPointerSegment } from './safe-keys';
import { KubeStatusError, badRequest } from './status';

type Json = unknown;

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

const unescape = (token: string): string => token.replace(/~1/gu, '/').replace(/~0/gu, '~');

function parent(doc: Json, pointer: unknown): { container: Json; key: string } {
  if (typeof pointer !== 'string') throw badRequest('the server rejected our request due to an error in our request: a JSON patch path must be a string');
  if (!pointer.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer "${pointer}"`);
  const tokens = pointer.slice(1).split('/').map(unescape);
  for (const t of tokens) checkPointerSegment(t, pointer);
  const key = tokens.pop() as string;
  let container: Json = doc;
  for (const t of tokens) {
    container = Array.isArray(container) ? container[Number(t)] : isObject(container) && Object.hasOwn(container, t) ? container[t] : undefined;
    if (container === undefined) throw new KubeStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: missing path for ${pointer}`);
  }
  return { container, key };
}

function read(doc: Json, pointer: unknown): Json {
  if (pointer === '') return doc;
  const { container, key } = parent(doc, pointer);
  const value = Array.isArray(container) ? container[Number(key)] : isObject(container) && Object.hasOwn(container, key) ? container[key] : undefined;
  if (value === undefined) throw new KubeStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: missing path for ${pointer}`);
  return value;
}

function remove(doc: Json, pointer: unknown): Json {
  const value = read(doc, pointer);
  const { container, key } = parent(doc, pointer);
  if (Array.isArray(container)) container.splice(Number(key), 1);
  else delete (container as Record<string, Json>)[key];
  return value;
}

function add(doc: Json, pointer: unknown, value: Json): Json {
  if (pointer === '') return structuredClone(value);
  const { container, key } = parent(doc, pointer);
  if (Array.isArray(container)) {
    const index = key === '-' ? container.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > container.length) throw new KubeStatusError(422, 'Invalid', `add operation index out of bounds: ${pointer}`);
    container.splice(index, 0, structuredClone(value));
  } else if (isObject(container)) container[key] = structuredClone(value);
  else throw new KubeStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: missing path for ${pointer}`);
  return doc;
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('the server rejected our request due to an error in our request: a JSON patch is an array of operations');
  let doc = structuredClone(target);
  for (const op of ops as unknown[]) {
    if (!isObject(op)) throw badRequest('the server rejected our request due to an error in our request: each JSON patch operation is an object');
    if (typeof op.path !== 'string') throw badRequest('the server rejected our request due to an error in our request: a JSON patch operation needs a string "path"');
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') throw badRequest(`the server rejected our request due to an error in our request: a JSON patch ${op.op} needs a string "from"`);
    switch (op.op) {
      case 'add':
        doc = add(doc, op.path, op.value);
        break;
      case 'remove':
        remove(doc, op.path);
        break;
      case 'replace':
        remove(doc, op.path);
        doc = add(doc, op.path, op.value);
        break;
      case 'move':
        doc = add(doc, op.path, remove(doc, op.from));
        break;
      case 'copy':
        doc = add(doc, op.path, read(doc, op.from));
        break;
      case 'test':
        if (JSON.stringify(read(doc, op.path)) !== JSON.stringify(op.value)) throw new KubeStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${String(op.path)} failed`);
        break;
      default:
        throw badRequest(`the server rejected our request due to an error in our request: unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}
