import { KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';

describe('core object store through the real client', () => {
  let server: KubeApiServer;
  beforeEach(async () => {
    server = await KubeApiServer.start({ now: () => new Date('2026-01-02T03:04:05.678Z') });
  });
  afterEach(async () => {
    await server.close();
  });

  it('creates, gets, lists by label, updates and deletes a Secret with one global resourceVersion', async () => {
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    const a = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'a', labels: { owner: 'helm', name: 'r1' } }, stringData: { k: 'v' } } });
    const b = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'b', labels: { owner: 'other' } } } });
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/u);
    expect(a.metadata?.creationTimestamp?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(Number(b.metadata?.resourceVersion)).toBe(Number(a.metadata?.resourceVersion) + 1);
    expect(a.metadata?.generation).toBeUndefined();

    const got = await core.readNamespacedSecret({ namespace: 'default', name: 'a' });
    expect(got.metadata?.resourceVersion).toBe(a.metadata?.resourceVersion);
    const helm = await core.listNamespacedSecret({ namespace: 'default', labelSelector: 'name=r1,owner=helm' });
    expect(helm.items.map((s) => s.metadata?.name)).toEqual(['a']);
    const notHelm = await core.listNamespacedSecret({ namespace: 'default', labelSelector: 'owner notin (helm)' });
    expect(notHelm.items.map((s) => s.metadata?.name)).toEqual(['b']);
    const byName = await core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=b' });
    expect(byName.items.map((s) => s.metadata?.name)).toEqual(['b']);
    expect(Number(helm.metadata?.resourceVersion)).toBe(Number(b.metadata?.resourceVersion));

    const updated = await core.replaceNamespacedSecret({ namespace: 'default', name: 'a', body: { ...got, data: { k: Buffer.from('w').toString('base64') } } });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(b.metadata?.resourceVersion));
    await core.deleteNamespacedSecret({ namespace: 'default', name: 'a' });
    await expect(core.readNamespacedSecret({ namespace: 'default', name: 'a' })).rejects.toMatchObject({ code: 404 });
  });

  it('answers a stale PUT with 409 Conflict and a duplicate create with 409 AlreadyExists, as Status objects', async () => {
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    const first = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' }, data: { x: '1' } } });
    await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'c', body: { ...first, data: { x: '2' } } });
    const stale = core.replaceNamespacedConfigMap({ namespace: 'default', name: 'c', body: { ...first, data: { x: '3' } } });
    await expect(stale).rejects.toMatchObject({ code: 409 });
    const error = await stale.catch((e: { body: string }) => JSON.parse(e.body) as Record<string, unknown>);
    expect(error).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: 'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again',
    });
    const dup = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' } } }).catch((e: { body: string }) => JSON.parse(e.body) as Record<string, unknown>);
    expect(dup).toMatchObject({ reason: 'AlreadyExists', code: 409, message: 'configmaps "c" already exists' });
    const missing = await core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' }).catch((e: { body: string }) => JSON.parse(e.body) as Record<string, unknown>);
    expect(missing).toMatchObject({ reason: 'NotFound', code: 404, details: { name: 'nope', kind: 'configmaps' } });
  });

  it('keeps cluster-scoped namespaces apart from namespaced objects and refuses creates into a missing namespace', async () => {
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'team-a']));
    await core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name: 'op' } } });
    expect((await core.listNamespacedServiceAccount({ namespace: 'default' })).items).toEqual([]);
    expect((await core.listServiceAccountForAllNamespaces({ fieldSelector: 'metadata.namespace=team-a' })).items.map((s) => s.metadata?.name)).toEqual(['op']);
    await expect(core.createNamespacedServiceAccount({ namespace: 'nowhere', body: { metadata: { name: 'x' } } })).rejects.toMatchObject({ code: 404 });
    const bad = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'Bad_Name' } } }).catch((e: { body: string }) => JSON.parse(e.body) as Record<string, unknown>);
    expect(bad).toMatchObject({ reason: 'Invalid', code: 422 });
  });

  it('keeps Leases for leader election: an optimistic PUT from a stale holder loses with 409', async () => {
    const coordination = kubeConfigFor(server).makeApiClient(k8s.CoordinationV1Api);
    const lease = await coordination.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'op' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    await coordination.replaceNamespacedLease({ namespace: 'default', name: 'op', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } });
    await expect(coordination.replaceNamespacedLease({ namespace: 'default', name: 'op', body: { ...lease, spec: { ...lease.spec, renewTime: new k8s.V1MicroTime() } } })).rejects.toMatchObject({ code: 409 });
    expect((await coordination.readNamespacedLease({ namespace: 'default', name: 'op' })).spec?.holderIdentity).toBe('b');
  });
});
