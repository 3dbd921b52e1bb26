import { KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';
import { createWidgetCrd, widgetPath } from './test-fixtures';

type Widget = { metadata: { name: string; generation: number; resourceVersion: string; finalizers?: string[]; deletionTimestamp?: string; deletionGracePeriodSeconds?: number }; spec: Record<string, unknown> };
const errorBody = (e: { body: string }): Record<string, unknown> => JSON.parse(e.body) as Record<string, unknown>;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('patches and finalizers', () => {
  let server: KubeApiServer;
  let custom: InstanceType<typeof k8s.CustomObjectsApi>;
  beforeEach(async () => {
    server = await KubeApiServer.start();
    await createWidgetCrd(server.url);
    custom = kubeConfigFor(server).makeApiClient(k8s.CustomObjectsApi);
  });
  afterEach(async () => {
    await server.close();
  });

  const createWidget = async (name: string, extra: Record<string, unknown> = {}): Promise<Widget> =>
    (await custom.createNamespacedCustomObject({ ...widgetPath, namespace: 'default', body: { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name, ...extra }, spec: { clusterRef: 'c', config: { a: '1', b: '2' } } } })) as Widget;
  const rawPatch = (path: string, contentType: string, body: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, { method: 'PATCH', headers: { 'Content-Type': contentType }, body: JSON.stringify(body) });

  it('applies merge patches (null removes a key) and JSON patches, bumping generation on spec changes', async () => {
    await createWidget('demo');
    const merged = (await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { spec: { partitions: 4, config: { a: null, c: '3' } } } }, mergePatch)) as Widget;
    expect(merged.spec).toMatchObject({ partitions: 4, config: { b: '2', c: '3' } });
    expect(merged.metadata.generation).toBe(2);
    const patched = (await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: [{ op: 'test', path: '/spec/partitions', value: 4 }, { op: 'replace', path: '/spec/partitions', value: 5 }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }] })) as Widget;
    expect(patched.spec.partitions).toBe(5);
    expect(patched.metadata.generation).toBe(3);
    const failedTest = await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: [{ op: 'test', path: '/spec/partitions', value: 1 }] }).catch(errorBody);
    expect(failedTest).toMatchObject({ code: 422, reason: 'Invalid' });
    const invalid = await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { spec: { partitions: 0 } } }, mergePatch).catch(errorBody);
    expect(invalid).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('refuses a merge patch carrying a stale resourceVersion with 409', async () => {
    const widget = await createWidget('demo');
    await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { spec: { partitions: 2 } } }, mergePatch);
    const stale = await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { metadata: { resourceVersion: widget.metadata.resourceVersion }, spec: { partitions: 3 } } }, mergePatch).catch(errorBody);
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('answers a strategic-merge patch of a custom resource with 415 and accepts it on a built-in', async () => {
    await createWidget('demo');
    const onCr = await rawPatch('/apis/example.com/v1alpha1/namespaces/default/widgets/demo', 'application/strategic-merge-patch+json', { spec: { partitions: 2 } });
    expect(onCr.status).toBe(415);
    expect(await onCr.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    await kubeConfigFor(server).makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm' }, data: { a: '1' } } });
    const onBuiltIn = await rawPatch('/api/v1/namespaces/default/configmaps/cm', 'application/strategic-merge-patch+json', { data: { b: '2' } });
    expect(onBuiltIn.status).toBe(200);
    expect(((await onBuiltIn.json()) as { data: unknown }).data).toEqual({ a: '1', b: '2' });
  });

  it('marks an object with finalizers as deleting, refuses new finalizers, and deletes it when the last one is removed', async () => {
    await createWidget('demo', { finalizers: ['example.com/widget'] });
    const deleting = (await custom.deleteNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { propagationPolicy: 'Background' } })) as Widget;
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(deleting.metadata.deletionGracePeriodSeconds).toBe(0);
    const still = (await custom.getNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo' })) as Widget;
    expect(still.metadata.finalizers).toEqual(['example.com/widget']);

    const added = await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { metadata: { finalizers: ['example.com/widget', 'other'] } } }, mergePatch).catch(errorBody);
    expect(added).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(String(added.message)).toContain('no new finalizers can be added if the object is being deleted');

    const events: string[] = [];
    let firstEvent: () => void = () => undefined;
    const eventSeen = new Promise<void>((resolve) => (firstEvent = resolve));
    const watch = await new k8s.Watch(kubeConfigFor(server)).watch(
      '/apis/example.com/v1alpha1/namespaces/default/widgets',
      { resourceVersion: still.metadata.resourceVersion },
      (type) => {
        events.push(type);
        firstEvent();
      },
      () => undefined,
    );
    await custom.patchNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await expect(custom.getNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo' })).rejects.toMatchObject({ code: 404 });
    await eventSeen;
    watch.abort();
    expect(events).toEqual(['DELETED']);
  });
});
