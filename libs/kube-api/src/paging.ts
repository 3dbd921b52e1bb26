// `limit` / `continue` paging of lists (kubectl get asks limit=500; --chunk-size and client-go pagers ask
// less). The token carries the first page's resourceVersion and the last key served, as the real server's
// does (apiserver storage/etcd3 continue tokens). Simplification: later pages read the current objects after
// that key, where the real server reads the snapshot at the first page's revision; a token older than the
// kept history answers 410 Expired, as the real server does once etcd compacted that revision.
import type { KubeObject, ObjectStore } from './store';
import { KubeStatusError, badRequest } from './status';

export interface Page {
  readonly items: KubeObject[];
  readonly metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function decodeToken(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: unknown; start?: unknown };
    if (parsed.v === 'meta.k8s.io/v1' && Number.isInteger(parsed.rv) && typeof parsed.start === 'string') return { rv: parsed.rv as number, start: parsed.start };
  } catch {
    // falls through to the 400 below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** One page of `items` (sorted by namespace/name, as the store lists them). */
export function paginate(items: readonly KubeObject[], query: URLSearchParams, store: ObjectStore): Page {
  const limit = Number(query.get('limit') ?? 0);
  const token = query.get('continue');
  let rv = store.resourceVersion;
  let rest = [...items];
  if (token) {
    const { rv: tokenRv, start } = decodeToken(token);
    try {
      store.eventsSince(tokenRv);
    } catch {
      throw new KubeStatusError(
        410,
        'Expired',
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
      );
    }
    rv = tokenRv;
    rest = rest.filter((o) => keyOf(o) > start);
  }
  if (!Number.isInteger(limit) || limit <= 0 || rest.length <= limit) return { items: rest, metadata: { resourceVersion: String(rv) } };
  const page = rest.slice(0, limit);
  const next = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: keyOf(page[page.length - 1] as KubeObject) })).toString('base64url');
  return { items: page, metadata: { resourceVersion: String(rv), continue: next, remainingItemCount: rest.length - limit } };
}
