// Keys that would reach Object.prototype when a parsed body is merged into plain objects here
// (`out[key] = …` with `__proto__` sets the prototype instead of a field). The real API server has no such
// hazard and would keep them as ordinary field names; no Kubernetes field is called that, so this server
// refuses them with 400 rather than carry the hazard through every merge (see ../README.md).
import { badRequest } from './status';

/** Object keys refused anywhere in a request body. */
const bodyKeysRefused = new Set(['__proto__']);
/** JSON-pointer segments refused in JSON patches (`/constructor/prototype/x` walks to Object.prototype). */
const pointerSegmentsRefused = new Set(['__proto__', 'constructor', 'prototype']);
/** Bodies nest no deeper than this (the real server's JSON decoder stops at 10,000 levels as well). */
export const bodyDepthMax = 10_000;

/** Throws 400 if any object in the value has a refused key; answers the value. */
export function checkBodyKeys<T>(value: T): T {
  const pending: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (pending.length > 0) {
    const { v, depth } = pending.pop() as { v: unknown; depth: number };
    if (typeof v !== 'object' || v === null) continue;
    if (depth > bodyDepthMax) throw badRequest(`the body of the request nests deeper than ${bodyDepthMax} levels`);
    for (const key of Object.keys(v)) {
      if (bodyKeysRefused.has(key)) throw badRequest(`the body of the request has a field named "${key}", which this server does not accept`);
      pending.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return value;
}

/** Throws 400 for a refused JSON-pointer segment. */
export function checkPointerSegment(segment: string, pointer: string): void {
  if (pointerSegmentsRefused.has(segment)) throw badRequest(`the server rejected our request due to an error in our request: the path "${pointer}" names "${segment}", which this server does not accept`);
}
