import { KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';

const errorBody = (e: { body: string }): Record<string, unknown> => JSON.parse(e.body) as Record<string, unknown>;

describe('fault injection', () => {
  let server: KubeApiServer;
  let core: InstanceType<typeof k8s.CoreV1Api>;
  beforeEach(async () => {
    server = await KubeApiServer.start();
    core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
  });
  afterEach(async () => {
    await server.close();
  });

  it('answers the next N matching requests with 500 or 409 and leaves the others alone', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm' } } });
    server.faults.failNext(500, 2, { method: 'PUT', path: '/configmaps/cm' });
    const put = () => core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cm', body: cm });
    expect(await put().catch(errorBody)).toMatchObject({ kind: 'Status', code: 500, reason: 'InternalError' });
    expect((await core.readNamespacedConfigMap({ namespace: 'default', name: 'cm' })).metadata?.name).toBe('cm');
    expect(await put().catch(errorBody)).toMatchObject({ code: 500 });
    const ok = await put();
    server.faults.failNext(409, 1, { method: 'PUT' });
    expect(await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cm', body: ok }).catch(errorBody)).toMatchObject({ code: 409, reason: 'Conflict' });
    server.faults.failNext(410, 1, { watch: false, path: '/configmaps' });
    expect(await core.listNamespacedConfigMap({ namespace: 'default' }).catch(errorBody)).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('holds a delayed answer back while later requests are answered', async () => {
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'slow' } } });
    server.faults.delayNext(300, 1, { path: '/secrets/slow' });
    const order: string[] = [];
    const slow = core.readNamespacedSecret({ namespace: 'default', name: 'slow' }).then(() => order.push('slow'));
    await core.listNamespace().then(() => order.push('fast'));
    await slow;
    expect(order).toEqual(['fast', 'slow']);
  });

  it('closes open watches early and sends a 410 ERROR event to a watch; client-node informers recover from both', async () => {
    const kc = kubeConfigFor(server);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const added: string[] = [];
    const waiters = new Map<string, () => void>();
    informer.on('add', (o) => {
      const name = o.metadata?.name ?? '';
      added.push(name);
      waiters.get(name)?.();
    });
    const addedName = (name: string): Promise<void> => new Promise((resolve) => (added.includes(name) ? resolve() : waiters.set(name, resolve)));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'one' } } });
    await addedName('one');

    expect(server.faults.closeWatches({ path: '/configmaps' })).toBe(1);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'two' } } });
    await addedName('two');

    server.faults.failNext(410, 1, { watch: true });
    expect(server.faults.closeWatches()).toBe(1);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'three' } } });
    await addedName('three');
    expect(server.faults.pendingFailures()).toBe(0);
    await informer.stop();
    expect(added).toEqual(['one', 'two', 'three']);
    // The 410 made the informer list again; the clean close alone did not.
    const lists = server.requests((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/default/configmaps' && !r.watch);
    expect(lists).toHaveLength(2);
  });

  it('drops spent fault entries, so arming many over a long test does not accumulate them', async () => {
    for (let i = 0; i < 50; i++) server.faults.failNext(500, 1, { method: 'GET', path: '/configmaps' });
    server.faults.delayNext(1, 2, { method: 'GET', path: '/configmaps' });
    expect(server.faults.armedEntries()).toBe(51);
    for (let i = 0; i < 50; i++) expect(await core.listNamespacedConfigMap({ namespace: 'default' }).catch(errorBody)).toMatchObject({ code: 500 });
    expect(server.faults.armedEntries()).toBe(0);
    expect(server.faults.pendingFailures()).toBe(0);
    expect((await core.listNamespacedConfigMap({ namespace: 'default' })).items).toEqual([]);
  });
});
