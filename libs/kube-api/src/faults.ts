// Faults a test asks for on the server object (never over HTTP): early watch closes, error answers to the
// next N matching requests, and slow answers; an operator must survive all of them in a real cluster.
import { type KubeStatusError, conflict, expired, internalError } from './status';

export interface RequestMatch {
  /** HTTP method, e.g. 'PUT'; any when absent. */
  readonly method?: string;
  /** A substring of, or a pattern for, the request path (without the query). */
  readonly path?: string | RegExp;
  /** Only watch requests (true) or only non-watch requests (false). */
  readonly watch?: boolean;
}

export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly watch: boolean;
}

interface Armed {
  readonly match: RequestMatch;
  remaining: number;
}

interface ArmedFailure extends Armed {
  readonly code: 409 | 410 | 500;
}

interface ArmedDelay extends Armed {
  readonly ms: number;
}

function matches(m: RequestMatch, req: RequestInfo): boolean {
  if (m.method && m.method.toUpperCase() !== req.method) return false;
  if (m.watch !== undefined && m.watch !== req.watch) return false;
  if (m.path === undefined) return true;
  return typeof m.path === 'string' ? req.path.includes(m.path) : m.path.test(req.path);
}

/** Serves one armed entry that matches; a spent entry is dropped, so a long test does not accumulate them. */
function take<T extends Armed>(list: T[], req: RequestInfo): T | undefined {
  const index = list.findIndex((a) => a.remaining > 0 && matches(a.match, req));
  const found = list[index];
  if (!found) return undefined;
  found.remaining -= 1;
  if (found.remaining <= 0) list.splice(index, 1);
  return found;
}

export class FaultInjector {
  private readonly failures: ArmedFailure[] = [];
  private readonly delays: ArmedDelay[] = [];
  private readonly watchClosers = new Set<{ info: RequestInfo; close: () => void }>();

  /** Answers the next `count` matching requests with 409 Conflict, 410 Gone (Expired) or 500. */
  failNext(code: 409 | 410 | 500, count = 1, match: RequestMatch = {}): void {
    if (count > 0) this.failures.push({ code, remaining: count, match });
  }

  /** Holds the next `count` matching requests for `ms` before answering them. */
  delayNext(ms: number, count = 1, match: RequestMatch = {}): void {
    if (count > 0) this.delays.push({ ms, remaining: count, match });
  }

  /** Ends every open matching watch now, cleanly (the client sees the stream end). Returns how many. */
  closeWatches(match: RequestMatch = {}): number {
    let closed = 0;
    for (const w of [...this.watchClosers]) {
      if (matches(match, w.info)) {
        w.close();
        closed += 1;
      }
    }
    return closed;
  }

  /** How many injected failures are still to be answered (0 once every armed one was served). */
  pendingFailures(): number {
    return this.failures.reduce((sum, a) => sum + a.remaining, 0);
  }

  /** How many failure and delay entries are armed and not yet spent. */
  armedEntries(): number {
    return this.failures.length + this.delays.length;
  }

  /** Forgets every armed failure and delay. */
  clear(): void {
    this.failures.length = 0;
    this.delays.length = 0;
  }

  /** The failure a request must get, if one is armed for it. */
  failureFor(req: RequestInfo): KubeStatusError | undefined {
    const armed = take(this.failures, req);
    if (!armed) return undefined;
    if (armed.code === 410) return expired(0, 1);
    if (armed.code === 409) return conflict({ group: '', plural: 'objects' }, req.path.split('/').pop() ?? '');
    return internalError('injected fault');
  }

  delayFor(req: RequestInfo): number {
    return take(this.delays, req)?.ms ?? 0;
  }

  /** Registers an open watch; returns the function that unregisters it. */
  trackWatch(info: RequestInfo, close: () => void): () => void {
    const entry = { info, close };
    this.watchClosers.add(entry);
    return () => this.watchClosers.delete(entry);
  }
}
