// A Kubernetes-API-compatible HTTP server on 127.0.0.1 (port chosen at run time), in memory, for tests and
// for trying the operator without a cluster. See ../README.md for what it implements and leaves out.
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkForce, fieldManagerOf, mediaTypeOf, parseBody, serverSideApply } from './apply-request';
import { checkCrd, crdStatus, registerCrd, unregisterCrd } from './crds';
import { apiGroup, coreVersions, groupList, resourceList, versionInfo } from './discovery';
import { FaultInjector, type RequestInfo } from './faults';
import { GarbageCollector, deleteRequestOf } from './gc';
import { type FieldValidation, ObjectRules, type WriteResult } from './objects';
import { paginate } from './paging';
import { openApiV2, openApiV3Document, openApiV3Root } from './openapi';
import { jsonPatch, mergePatch } from './patch';
import { decodeProtobufObject, protobufContentType } from './protobuf';
import { ResourceRegistry, type ResourceType, apiVersionOf, storageKeyOf } from './resources';
import { checkBodyKeys } from './safe-keys';
import { strategicMergePatch } from './strategic-merge';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { type KubeObject, ObjectStore, watchHistoryEventsMax } from './store';
import { KubeStatusError, badRequest, conflict, internalError, methodNotAllowed, notFound, unsupportedMediaType } from './status';
import { includeObjectOf, toTable, wantsTable } from './table';
import { type WatchSettings, WatchStream, watchBufferedBytesMax } from './watch';

/** Real servers send a bookmark about once a minute (apiserver watch cache); tests may ask for less. */
export const bookmarkIntervalMsDefault = 60_000;
/** Requests remembered for `requests()` (tests count them to show the absence of a hot loop). */
export const requestLogEntriesMax = 10_000;
/** Largest request body accepted (the real server's limit is 3 MiB, etcd's request size). */
export const requestBodyBytesMax = 3 * 1024 * 1024;

export interface KubeApiServerOptions {
  /** The clock for creationTimestamp / deletionTimestamp. */
  readonly now?: () => Date;
  readonly watchHistoryEventsMax?: number;
  readonly bookmarkIntervalMs?: number;
  /** Bytes a watcher may leave unread before it is closed (default `watchBufferedBytesMax`). */
  readonly watchBufferedBytesMax?: number;
  /** The port on 127.0.0.1; 0 (the default) asks the system for a free one. */
  readonly port?: number;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly watch: boolean;
  /** The request body's media type (`application/vnd.kubernetes.protobuf` for helm's release records). */
  readonly contentType: string;
}

interface Target {
  readonly resource: ResourceType;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

const initialNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function getPath(o: KubeObject, path: string): unknown {
  return path.split('.').filter(Boolean).reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as KubeObject)[k] : undefined), o);
}

function setPath(o: KubeObject, path: string, value: unknown): void {
  const keys = path.split('.').filter(Boolean);
  const last = keys.pop() as string;
  let at = o;
  for (const k of keys) at = at[k] ??= {};
  at[last] = value;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > requestBodyBytesMax) reject(new KubeStatusError(413, 'RequestEntityTooLarge', 'request entity too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request target as a URL; one that does not parse (`GET http://[x/`) is the client's error → 400. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    throw badRequest(`the request target is not a valid URL: ${JSON.stringify(target ?? '')}`);
  }
}

/** A failure that is not a Status is a bug here: it is answered 500 and logged so it is seen, never swallowed. */
function logFailure(error: unknown): void {
  process.stderr.write(`kube-api: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}

function lastResort(res: ServerResponse, error: unknown): void {
  logFailure(error);
  if (!res.headersSent) {
    res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(internalError(error instanceof Error ? error.message : String(error)).toStatus()));
  } else if (!res.writableEnded) res.end();
}

export class KubeApiServer {
  readonly faults = new FaultInjector();
  readonly registry = new ResourceRegistry();
  readonly store: ObjectStore;
  private readonly rules: ObjectRules;
  private readonly gc: GarbageCollector;
  private readonly now: () => Date;
  private readonly watchSettings: WatchSettings;
  private readonly watches = new Set<WatchStream>();
  private readonly requestLog: RequestRecord[] = [];
  private url_ = '';

  private constructor(
    private readonly server: Server,
    options: KubeApiServerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.store = new ObjectStore(options.watchHistoryEventsMax ?? watchHistoryEventsMax);
    this.rules = new ObjectRules(this.store, this.now, (r, o) => {
      if (r.group === 'apiextensions.k8s.io') checkCrd(o);
    });
    this.gc = new GarbageCollector(this.store, this.rules, this.registry, this.now);
    this.watchSettings = { bookmarkIntervalMs: options.bookmarkIntervalMs ?? bookmarkIntervalMsDefault, bufferedBytesMax: options.watchBufferedBytesMax ?? watchBufferedBytesMax };
    const namespaces = this.registry.find('', 'v1', 'namespaces') as ResourceType;
    for (const name of initialNamespaces) this.rules.create(namespaces, '', { metadata: { name }, status: { phase: 'Active' } });
  }

  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const server = createServer();
    const api = new KubeApiServer(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // The last resort: handle() answers every failure itself, but a throw in the answering must still end
      // in a Status and a log line, never an unhandled rejection that ends the process.
      api.handle(req, res).catch((error: unknown) => lastResort(res, error));
    });
    // A port in use rejects (EADDRINUSE) instead of leaving the promise pending.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    api.url_ = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return api;
  }

  get url(): string {
    return this.url_;
  }

  /** A kubeconfig (YAML) that points kubectl, helm or client-node at this server. */
  kubeconfig(namespace = 'default'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: starlane-local',
      '  cluster:',
      `    server: ${this.url}`,
      // client-node refuses plain http unless TLS verification is off (there is no TLS to verify).
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: starlane-local',
      '  user:',
      '    token: local',
      'contexts:',
      '- name: starlane-local',
      '  context:',
      '    cluster: starlane-local',
      '    user: starlane-local',
      `    namespace: ${namespace}`,
      'current-context: starlane-local',
      '',
    ].join('\n');
  }

  /** The requests received so far (the newest `requestLogEntriesMax`), optionally only those matching. */
  requests(filter: (r: RequestRecord) => boolean = () => true): RequestRecord[] {
    return this.requestLog.filter(filter);
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = requestUrl(req.url);
      const query = url.searchParams;
      const watch = query.get('watch') === 'true' || query.get('watch') === '1';
      const info: RequestInfo = { method: req.method ?? 'GET', path: url.pathname, watch };
      this.requestLog.push({ ...info, query: url.search, contentType: req.headers['content-type'] ?? '' });
      if (this.requestLog.length > requestLogEntriesMax) this.requestLog.shift();
      const delayMs = this.faults.delayFor(info);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const failure = this.faults.failureFor(info);
      if (failure && watch && failure.code === 410) {
        // A watch learns of expiry as an ERROR event on a 200 stream, then the server closes it.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: failure.toStatus() })}\n`);
        return;
      }
      if (failure) throw failure;
      const body = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
      const answer = this.route(req, url, body, res);
      if (answer === undefined) return;
      this.reply(res, answer.code, answer.body, answer.warnings);
    } catch (error) {
      const status = error instanceof KubeStatusError ? error : internalError(error instanceof Error ? error.message : String(error));
      if (!(error instanceof KubeStatusError)) logFailure(error);
      if (!res.headersSent) this.reply(res, status.code, status.toStatus());
      else res.end();
    }
  }

  private reply(res: ServerResponse, code: number, body: unknown, warnings: readonly string[] = []): void {
    const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
    if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(JSON.stringify(body));
  }

  /** Undefined when the response is already being written (a watch). */
  private route(req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): { code: number; body: unknown; warnings?: string[] } | undefined {
    const segments = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    const [root] = segments;
    if (url.pathname === '/version') return { code: 200, body: versionInfo() };
    if (['/healthz', '/readyz', '/livez'].includes(url.pathname)) return { code: 200, body: 'ok' };
    const openApi = this.openApi(url.pathname, req.headers.accept);
    if (openApi) return openApi;
    if (url.pathname === '/api') return { code: 200, body: coreVersions(url.host) };
    if (url.pathname === '/apis') return { code: 200, body: groupList(this.registry) };
    if (root === 'apis' && segments.length === 2) {
      const group = apiGroup(this.registry, segments[1] ?? '');
      if (!group) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
      return { code: 200, body: group };
    }
    const groupVersion = root === 'api' ? ['', segments[1]] : root === 'apis' ? [segments[1] ?? '', segments[2]] : undefined;
    if (!groupVersion || groupVersion[0] === undefined || groupVersion[1] === undefined) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
    const rest = segments.slice(root === 'api' ? 2 : 3);
    if (rest.length === 0) {
      const list = resourceList(this.registry, groupVersion[0], groupVersion[1]);
      if (!list) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
      return { code: 200, body: list };
    }
    const target = this.target(groupVersion[0], groupVersion[1], rest);
    return this.resourceRequest(method, target, url.searchParams, req.headers['content-type'] ?? 'application/json', body, res, req.headers);
  }

  /** `/openapi/v3`, `/openapi/v3/<api/v1 | apis/g/v>` and `/openapi/v2` (JSON only: a protobuf-only Accept → 406). */
  private openApi(path: string, accept: string | undefined): { code: number; body: unknown } | undefined {
    if (path === '/openapi/v3') return { code: 200, body: openApiV3Root(this.registry) };
    const v3 = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/u.exec(path);
    if (v3) {
      const document = openApiV3Document(this.registry, v3[2] ?? '', v3[1] ?? v3[3] ?? '');
      if (!document) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
      return { code: 200, body: document };
    }
    if (path !== '/openapi/v2') return undefined;
    if (accept && !/application\/json|\*\/\*/u.test(accept)) throw new KubeStatusError(406, 'NotAcceptable', 'only application/json is served for /openapi/v2');
    return { code: 200, body: openApiV2(this.registry) };
  }

  private target(group: string, version: string, rest: string[]): Target {
    let namespace: string | undefined;
    let parts = rest;
    const namespaceSub = rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
    if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSub) {
      namespace = rest[1];
      parts = rest.slice(2);
    }
    const [plural = '', name, subresource] = parts;
    const resource = this.registry.find(group, version, plural);
    if (!resource || parts.length > 3) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (namespace !== undefined && !resource.namespaced) throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (name === undefined && resource.namespaced === false) return { resource };
    return { resource, namespace, name, subresource };
  }

  private resourceRequest(method: string, t: Target, query: URLSearchParams, contentType: string, body: Buffer, res: ServerResponse, headers: IncomingHttpHeaders = {}): { code: number; body: unknown; warnings?: string[] } | undefined {
    const r = t.resource;
    const namespace = r.namespaced ? (t.namespace ?? '') : '';
    if (t.subresource && !((t.subresource === 'status' && r.statusSubresource) || (t.subresource === 'scale' && r.scale))) {
      throw new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const fieldManager = fieldManagerOf(query, headers['user-agent']);
    const table = wantsTable(headers.accept) ? { includeObject: includeObjectOf(query), now: this.now() } : undefined;
    const options = { fieldValidation: (query.get('fieldValidation') ?? undefined) as FieldValidation | undefined, dryRun: query.get('dryRun') === 'All', ...(fieldManager ? { fieldManager } : {}) };
    const done = (code: number, w: WriteResult): { code: number; body: unknown; warnings: string[] } => ({ code, body: w.object, warnings: w.warnings });
    if (t.name === undefined) {
      if (method === 'GET') {
        const listed = this.list(t, query, res, table && ((o) => toTable(r, [o], { ...table, now: this.now() })));
        if (!table || !listed) return listed;
        const list = listed.body as KubeObject;
        return { code: 200, body: { ...toTable(r, list.items as KubeObject[], table), metadata: list.metadata } };
      }
      if (method === 'POST') {
        if (r.namespaced && t.namespace === undefined) throw methodNotAllowed();
        return done(201, this.write(r, () => this.rules.create(r, namespace, this.json(contentType, body), options)));
      }
      if (method === 'DELETE') return this.deleteCollection(t, query, contentType, body);
      throw methodNotAllowed();
    }
    const name = t.name;
    if (t.subresource === 'scale') return this.scale(method, r, namespace, name, contentType, body);
    const sub = t.subresource === 'status' ? 'status' : undefined;
    switch (method) {
      case 'GET': {
        const object = this.rules.get(r, namespace, name);
        return { code: 200, body: table ? toTable(r, [object], { ...table, resourceVersion: object.metadata.resourceVersion }) : object };
      }
      case 'PUT':
        return done(200, this.write(r, () => this.rules.update(r, namespace, name, this.json(contentType, body), sub, options)));
      case 'PATCH': {
        const apply = mediaTypeOf(contentType) === 'application/apply-patch+yaml';
        const force = checkForce(query, apply);
        if (!apply) return done(200, this.write(r, () => this.patch(r, namespace, name, contentType, body, sub, options)));
        let code = 200;
        const result = this.write(r, () => {
          const applied = serverSideApply(this.rules, this.store, r, { namespace, name, subresource: sub }, body, { ...options, force });
          code = applied.code;
          return applied.result;
        });
        return done(code, result);
      }
      case 'DELETE': {
        const deleted = this.gc.delete(r, namespace, name, deleteRequestOf(body.length > 0 ? this.json(contentType, body) : undefined, query));
        if (r.group === 'apiextensions.k8s.io' && !deleted.metadata.deletionTimestamp) this.dropCrd(deleted);
        return { code: 200, body: deleted };
      }
      default:
        throw methodNotAllowed();
    }
  }

  private list(t: Target, query: URLSearchParams, res: ServerResponse, present?: (o: KubeObject) => unknown): { code: number; body: unknown } | undefined {
    const r = t.resource;
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(query.get('fieldSelector'), `${r.group}/${r.plural}`);
    const namespace = r.namespaced ? t.namespace : undefined;
    if (query.get('watch') === 'true' || query.get('watch') === '1') {
      const timeout = query.get('timeoutSeconds');
      const stream: WatchStream = new WatchStream(
        res,
        this.store,
        this.rules,
        {
          resource: r,
          namespace,
          labels,
          fields,
          resourceVersion: query.get('resourceVersion') ?? undefined,
          allowBookmarks: query.get('allowWatchBookmarks') === 'true',
          sendInitialEvents: query.get('sendInitialEvents') === 'true',
          ...(timeout ? { timeoutMs: Number(timeout) * 1000 } : {}),
          ...(present ? { present } : {}),
        },
        this.watchSettings,
        () => {
          this.watches.delete(stream);
          untrack();
        },
      );
      const untrack = this.faults.trackWatch({ method: 'GET', path: res.req.url?.split('?')[0] ?? '', watch: true }, () => stream.end());
      this.watches.add(stream);
      stream.start();
      return undefined;
    }
    const page = paginate(this.rules.list(r, namespace, labels, fields), query, this.store);
    return { code: 200, body: { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: page.metadata, items: page.items } };
  }

  /** DELETE of a collection (deletecollection): the selected objects, each deleted as by its own DELETE. */
  private deleteCollection(t: Target, query: URLSearchParams, contentType: string, body: Buffer): { code: number; body: unknown } {
    const r = t.resource;
    if (r.namespaced && t.namespace === undefined) throw methodNotAllowed();
    const request = deleteRequestOf(body.length > 0 ? this.json(contentType, body) : undefined, query);
    const items = this.gc.deleteCollection(r, r.namespaced ? t.namespace : undefined, parseLabelSelector(query.get('labelSelector')), parseFieldSelector(query.get('fieldSelector')), request);
    for (const crd of r.group === 'apiextensions.k8s.io' ? items.filter((o) => !o.metadata.deletionTimestamp) : []) this.dropCrd(crd);
    return { code: 200, body: { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.store.resourceVersion) }, items } };
  }

  /** Runs a write and keeps the served CRDs in step with the stored ones. */
  private write(r: ResourceType, run: () => WriteResult): WriteResult {
    if (r.group !== 'apiextensions.k8s.io') return run();
    const result = run();
    const stored = this.store.get(storageKeyOf(r), '', result.object.metadata.name);
    if (!stored || !result.object.metadata.resourceVersion) return result;
    registerCrd(this.registry, stored);
    if (stored.status?.conditions) return result;
    const established = this.store.write(storageKeyOf(r), { ...stored, status: crdStatus(stored, `${this.now().toISOString().slice(0, 19)}Z`) });
    return { object: this.rules.present(r, established), warnings: result.warnings };
  }

  private dropCrd(crd: KubeObject): void {
    for (const served of this.registry.all().filter((x) => x.group === crd.spec?.group && x.plural === crd.spec?.names?.plural).slice(0, 1)) this.rules.removeAll(served);
    unregisterCrd(this.registry, crd);
  }

  private json(contentType: string, body: Buffer): KubeObject {
    if (mediaTypeOf(contentType) === protobufContentType) return checkBodyKeys(decodeProtobufObject(body));
    return parseBody(contentType, body) as KubeObject;
  }

  private patch(r: ResourceType, namespace: string, name: string, contentType: string, body: Buffer, sub: 'status' | undefined, options: { fieldValidation?: FieldValidation; dryRun?: boolean }): WriteResult {
    const type = (contentType.split(';')[0] ?? '').trim();
    const current = this.store.get(storageKeyOf(r), namespace, name);
    let document: unknown;
    try {
      document = JSON.parse(body.toString('utf8'));
    } catch {
      throw badRequest('the body of the request is not valid JSON');
    }
    checkBodyKeys(document);
    if (!current) throw notFound(r, name);
    const served = this.rules.present(r, current);
    let patched: KubeObject;
    if (type === 'application/merge-patch+json') patched = mergePatch(served, document) as KubeObject;
    else if (type === 'application/strategic-merge-patch+json' && r.builtIn) patched = strategicMergePatch(r.kind, served, document) as KubeObject;
    else if (type === 'application/json-patch+json') patched = jsonPatch(served, document) as KubeObject;
    else throw unsupportedMediaType(type);
    if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw badRequest('a patch must leave an object');
    // A patch that names a resourceVersion is a precondition, as in the real server.
    const rv = patched.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(r, name);
    patched.metadata = { ...(patched.metadata ?? {}), resourceVersion: current.metadata.resourceVersion };
    return this.rules.update(r, namespace, name, patched, sub, options);
  }

  /** autoscaling/v1 Scale view of a custom resource (CRD subresources.scale). */
  private scale(method: string, r: ResourceType, namespace: string, name: string, contentType: string, body: Buffer): { code: number; body: unknown } {
    const paths = r.scale as NonNullable<ResourceType['scale']>;
    const current = this.rules.get(r, namespace, name);
    const view = (o: KubeObject): KubeObject => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: getPath(o, paths.specReplicasPath) ?? 0 },
      status: { replicas: getPath(o, paths.statusReplicasPath) ?? 0, ...(paths.labelSelectorPath ? { selector: getPath(o, paths.labelSelectorPath) ?? '' } : {}) },
    });
    if (method === 'GET') return { code: 200, body: view(current) };
    let next: KubeObject;
    if (method === 'PUT') next = this.json(contentType, body);
    else if (method === 'PATCH') {
      const type = (contentType.split(';')[0] ?? '').trim();
      const doc = this.json('application/json', body);
      if (type === 'application/merge-patch+json') next = mergePatch(view(current), doc) as KubeObject;
      else if (type === 'application/json-patch+json') next = jsonPatch(view(current), doc) as KubeObject;
      else throw unsupportedMediaType(type);
    } else throw methodNotAllowed();
    const updated = structuredClone(current);
    setPath(updated, paths.specReplicasPath, next.spec?.replicas);
    updated.metadata.resourceVersion = next.metadata?.resourceVersion ?? current.metadata.resourceVersion;
    return { code: 200, body: view(this.rules.update(r, namespace, name, updated, undefined).object) };
  }
}
