import { connect } from 'node:net';
import { waitUntil } from '@starlane/testing';
import { type KubeApiServerOptions, KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';

interface Seen {
  readonly type: string;
  readonly name?: string;
  readonly rv?: string;
  readonly object: Record<string, unknown>;
}

/** Watches `path` with the real client-node Watch; `next(n)` resolves once n events have arrived. */
async function watchFrom(server: KubeApiServer, path: string, query: Record<string, string | number | boolean | undefined>) {
  const seen: Seen[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let endResolve: (error: unknown) => void = () => undefined;
  const ended = new Promise<unknown>((resolve) => (endResolve = resolve));
  const controller = await new k8s.Watch(kubeConfigFor(server)).watch(
    path,
    query,
    (type, object: { metadata?: { name?: string; resourceVersion?: string } }) => {
      seen.push({ type, name: object.metadata?.name, rv: object.metadata?.resourceVersion, object: object as Record<string, unknown> });
      for (const w of waiters.filter((x) => seen.length >= x.n)) w.resolve();
    },
    (error) => endResolve(error),
  );
  const next = (n: number): Promise<void> => (seen.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { seen, next, ended, stop: () => controller.abort() };
}

describe('watch', () => {
  let server: KubeApiServer;
  const start = async (options: KubeApiServerOptions = {}): Promise<KubeApiServer> => (server = await KubeApiServer.start(options));
  afterEach(async () => {
    await server.close();
  });

  it('streams ADDED, MODIFIED and DELETED from the list resourceVersion, one event per line, filtered by namespace and labels', async () => {
    await start();
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before', labels: { app: 'x' } } } });
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const w = await watchFrom(server, '/api/v1/namespaces/default/configmaps', { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'app=x' });
    const a = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a', labels: { app: 'x' } } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other', labels: { app: 'y' } } } });
    await core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: { name: 'elsewhere', labels: { app: 'x' } } } });
    await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'a', body: { ...a, data: { k: 'v' } } });
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'other', body: { metadata: { labels: { app: 'x' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'a' });
    await w.next(4);
    w.stop();
    expect(w.seen.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED a', 'MODIFIED a', 'ADDED other', 'DELETED a']);
    const rvs = w.seen.map((e) => Number(e.rv));
    expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
  });

  it('starts with the current objects as ADDED when no resourceVersion is given', async () => {
    await start();
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's1' } } });
    const w = await watchFrom(server, '/api/v1/namespaces/default/secrets', {});
    await w.next(1);
    w.stop();
    expect(w.seen[0]).toMatchObject({ type: 'ADDED', name: 's1' });
  });

  it('answers a resourceVersion older than the kept history with an ERROR event carrying a 410 Expired Status, then closes', async () => {
    await start({ watchHistoryEventsMax: 2 });
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    const first = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's0' } } });
    for (const name of ['s1', 's2', 's3']) await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name } } });
    const w = await watchFrom(server, '/api/v1/namespaces/default/secrets', { resourceVersion: first.metadata?.resourceVersion });
    await w.ended;
    expect(w.seen).toHaveLength(1);
    expect(w.seen[0]?.type).toBe('ERROR');
    expect(w.seen[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(String(w.seen[0]?.object.message)).toMatch(/^too old resource version: \d+ \(\d+\)$/u);

    const fresh = await watchFrom(server, '/api/v1/namespaces/default/secrets', { resourceVersion: String(Number(first.metadata?.resourceVersion) + 2) });
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's4' } } });
    await fresh.next(2);
    fresh.stop();
    expect(fresh.seen.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED s3', 'ADDED s4']);
  });

  it('sends bookmarks with the current resourceVersion when asked, and ends the stream after timeoutSeconds', async () => {
    await start({ bookmarkIntervalMs: 50 });
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    const s = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's' } } });
    const w = await watchFrom(server, '/api/v1/namespaces/default/secrets', { resourceVersion: s.metadata?.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1 });
    await w.next(1);
    expect(w.seen[0]).toMatchObject({ type: 'BOOKMARK', rv: s.metadata?.resourceVersion });
    expect(await w.ended).toBeNull();
    const plain = await watchFrom(server, '/api/v1/namespaces/default/secrets', { resourceVersion: s.metadata?.resourceVersion, timeoutSeconds: 1 });
    await plain.ended;
    expect(plain.seen).toEqual([]);
  });

  it('ends the initial events with a bookmark annotated k8s.io/initial-events-end under sendInitialEvents=true', async () => {
    await start();
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's' } } });
    const w = await watchFrom(server, '/api/v1/namespaces/default/secrets', { sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan' });
    await w.next(2);
    w.stop();
    expect(w.seen[0]).toMatchObject({ type: 'ADDED', name: 's' });
    expect(w.seen[1]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  });

  it('closes a watcher that leaves more than watchBufferedBytesMax unread, and keeps serving the others', async () => {
    await start({ watchBufferedBytesMax: 64 * 1024 });
    const { port } = new URL(server.url);
    // A client that stops reading: the socket is paused right after the request is sent.
    const slow = connect(Number(port), '127.0.0.1');
    slow.write('GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1 HTTP/1.1\r\nHost: localhost\r\n\r\n');
    slow.pause();
    let received = '';
    let ended = false;
    slow.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    slow.on('end', () => (ended = true));
    await waitUntil('the watch is open', () => server.requests((r) => r.watch).length === 1, 10_000);
    const written = 64;
    const value = 'v'.repeat(100 * 1024);
    for (let i = 0; i < written; i++) {
      const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { name: `cm${i}` }, data: { value } }) });
      expect(res.status).toBe(201);
    }
    slow.resume();
    await waitUntil('the server ends the slow watch', () => ended, 30_000);
    slow.destroy();
    const events = received.split('\n').filter((line) => line.startsWith('{"type"'));
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(written);
    // A watcher that keeps up still gets every event.
    const fresh = await watchFrom(server, '/api/v1/namespaces/default/configmaps', { resourceVersion: '0' });
    await fresh.next(written);
    fresh.stop();
    expect(fresh.seen.length).toBe(written);
  }, 60_000);
});
