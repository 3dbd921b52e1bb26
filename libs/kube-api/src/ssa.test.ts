// Server-side apply over HTTP, as kubectl, helm and client-node send it.
import { KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';
import { createWidgetCrd, widgetPath } from './test-fixtures';

const widgets = '/apis/example.com/v1alpha1/namespaces/default/widgets';
type Entry = { manager: string; operation: string; subresource?: string; fieldsV1: Record<string, unknown>; time: string; apiVersion: string };

describe('server-side apply', () => {
  let server: KubeApiServer;
  const send = async (method: string, path: string, body: string, contentType: string, userAgent = 'test-client/1.0') => {
    const res = await fetch(`${server.url}${path}`, { method, body, headers: { 'Content-Type': contentType, 'User-Agent': userAgent } });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const managers = (o: Record<string, any>): Record<string, unknown> => // eslint-disable-line @typescript-eslint/no-explicit-any
    Object.fromEntries((o.metadata.managedFields as Entry[]).map((e) => [`${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ''}`, e.fieldsV1]));

  beforeEach(async () => {
    server = await KubeApiServer.start({ now: () => new Date('2026-03-01T10:00:00Z') });
    await createWidgetCrd(server.url);
  });
  afterEach(async () => {
    await server.close();
  });

  it('creates a missing object from a YAML configuration (201) and records the manager', async () => {
    const yaml = 'apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: demo\nspec:\n  clusterRef: c\n  partitions: 3\n';
    const created = await send('PATCH', `${widgets}/demo?fieldManager=kubectl&force=false`, yaml, 'application/apply-patch+yaml');
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual({ clusterRef: 'c', partitions: 3, deletionPolicy: 'Delete' });
    expect(created.body.metadata.generation).toBe(1);
    expect(created.body.metadata.managedFields).toEqual([
      { manager: 'kubectl', operation: 'Apply', apiVersion: 'example.com/v1alpha1', time: '2026-03-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:clusterRef': {}, 'f:partitions': {} } } },
    ]);
  });

  it('needs a fieldManager, and refuses force on other patches', async () => {
    const missing = await send('PATCH', `${widgets}/demo`, '{"apiVersion":"example.com/v1alpha1","kind":"Widget","spec":{"clusterRef":"c"}}', 'application/apply-patch+yaml', '');
    expect(missing).toMatchObject({ status: 422, body: { reason: 'Invalid', message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' } });
    const forced = await send('PATCH', `${widgets}/demo?force=true`, '{}', 'application/merge-patch+json');
    expect(forced.status).toBe(422);
  });

  it('records other writes as Update under fieldManager or the user agent, and a status apply under its subresource', async () => {
    const body = JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c' } });
    expect((await send('POST', widgets, body, 'application/json', 'kubectl/v1.34.1 (linux/amd64) kubernetes/abc')).status).toBe(201);
    const patched = await send('PATCH', `${widgets}/demo?fieldManager=editor`, '{"spec":{"partitions":4}}', 'application/merge-patch+json');
    const status = await send('PATCH', `${widgets}/demo/status?fieldManager=starlane-operator`, JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', status: { widgetId: 'abc' } }), 'application/apply-patch+yaml');
    expect(patched.status).toBe(200);
    expect(status.status).toBe(200);
    expect(status.body.status).toEqual({ widgetId: 'abc' });
    expect(managers(status.body)).toEqual({
      'kubectl/Update': { 'f:spec': { '.': {}, 'f:clusterRef': {}, 'f:deletionPolicy': {} } },
      'editor/Update': { 'f:spec': { 'f:partitions': {} } },
      'starlane-operator/Apply/status': { 'f:status': { 'f:widgetId': {} } },
    });
  });

  it('conflicts with an Update manager over a changed value, naming it as the real server does', async () => {
    const body = JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c', partitions: 2 } });
    await send('POST', `${widgets}?fieldManager=kubectl-client-side-apply`, body, 'application/json');
    const apply = JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c', partitions: 5 } });
    const refused = await send('PATCH', `${widgets}/demo?fieldManager=kubectl&force=false`, apply, 'application/apply-patch+yaml');
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using example.com/v1alpha1 at 2026-03-01T10:00:00Z: .spec.partitions');
    const forced = await send('PATCH', `${widgets}/demo?fieldManager=kubectl&force=true`, apply, 'application/apply-patch+yaml');
    expect(forced.body.spec.partitions).toBe(5);
    expect(forced.body.metadata.generation).toBe(2);
    expect(managers(forced.body)).toEqual({
      'kubectl-client-side-apply/Update': { 'f:spec': { '.': {}, 'f:clusterRef': {}, 'f:deletionPolicy': {} } },
      'kubectl/Apply': { 'f:spec': { 'f:clusterRef': {}, 'f:partitions': {} } },
    });
  });

  it('works through client-node: KubernetesObjectApi.patch with ServerSideApply creates and updates, and a status apply', async () => {
    const kc = kubeConfigFor(server);
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const desired = { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo', namespace: 'default' }, spec: { clusterRef: 'c', partitions: 2 } };
    const created = (await objects.patch(desired, undefined, undefined, 'starlane-operator', true, k8s.PatchStrategy.ServerSideApply)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(created.spec).toEqual({ clusterRef: 'c', partitions: 2, deletionPolicy: 'Delete' });
    await objects.patch({ ...desired, spec: { clusterRef: 'c', partitions: 4 } }, undefined, undefined, 'starlane-operator', true, k8s.PatchStrategy.ServerSideApply);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const condition = { type: 'Ready', status: 'True', reason: 'Reconciled' };
    const status = { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo', namespace: 'default' }, status: { observedGeneration: 2, conditions: [condition] } };
    const applied = (await custom.patchNamespacedCustomObjectStatus(
      { ...widgetPath, namespace: 'default', name: 'demo', body: status, fieldManager: 'starlane-operator', force: true },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    )) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(applied.spec.partitions).toBe(4);
    expect(applied.metadata.generation).toBe(2);
    expect(applied.status).toEqual({ observedGeneration: 2, conditions: [condition] });
    expect(Object.keys(managers(applied))).toEqual(['starlane-operator/Apply', 'starlane-operator/Apply/status']);
  });

  it('stores nothing for a write that changes nothing: a repeated apply or an empty merge patch keeps the resourceVersion', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    await server.close();
    server = await KubeApiServer.start({ now: () => new Date((clock += 1000)) });
    await createWidgetCrd(server.url);
    const apply = JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c', partitions: 2 } });
    const first = await send('PATCH', `${widgets}/demo?fieldManager=op&force=true`, apply, 'application/apply-patch+yaml');
    const again = await send('PATCH', `${widgets}/demo?fieldManager=op&force=true`, apply, 'application/apply-patch+yaml');
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    expect(again.body.metadata.managedFields).toEqual(first.body.metadata.managedFields);
    const patched = await send('PATCH', `${widgets}/demo?fieldManager=op`, '{"spec":{"partitions":2}}', 'application/merge-patch+json');
    expect(patched.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    const status = JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, status: { widgetId: 'x' } });
    const s1 = await send('PATCH', `${widgets}/demo/status?fieldManager=op&force=true`, status, 'application/apply-patch+yaml');
    const s2 = await send('PATCH', `${widgets}/demo/status?fieldManager=op&force=true`, status, 'application/apply-patch+yaml');
    expect(Number(s1.body.metadata.resourceVersion)).toBeGreaterThan(Number(first.body.metadata.resourceVersion));
    expect(s2.body.metadata.resourceVersion).toBe(s1.body.metadata.resourceVersion);
    // A second manager sharing the same value changes managedFields, so that is stored.
    const shared = await send('PATCH', `${widgets}/demo/status?fieldManager=other&force=true`, status, 'application/apply-patch+yaml');
    expect(Number(shared.body.metadata.resourceVersion)).toBeGreaterThan(Number(s1.body.metadata.resourceVersion));
    expect(Object.keys(managers(shared.body))).toEqual(['op/Apply', 'op/Apply/status', 'other/Apply/status']);
  });

  it('takes managedFields sent with an update as given (kubectl rewrites them when it moves to server-side apply), [{}] clears them', async () => {
    const body = JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c' } });
    await send('POST', `${widgets}?fieldManager=a`, body, 'application/json');
    const moved = [{ manager: 'b', operation: 'Apply', apiVersion: 'example.com/v1alpha1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:clusterRef': {} } } }];
    const rewritten = await send('PATCH', `${widgets}/demo?fieldManager=a`, JSON.stringify([{ op: 'replace', path: '/metadata/managedFields', value: moved }]), 'application/json-patch+json');
    expect(managers(rewritten.body)).toEqual({ 'b/Apply': { 'f:spec': { 'f:clusterRef': {} } } });
    const garbage = [{ manager: 'c', operation: 'Update', apiVersion: 'v', fieldsType: 'FieldsV1', fieldsV1: { 'k:not json': {}, 'i:0': {}, 'f:spec': { 'k:[1]': {}, 'f:clusterRef': {} } } }];
    const odd = await send('PATCH', `${widgets}/demo?fieldManager=a`, JSON.stringify({ metadata: { managedFields: garbage } }), 'application/merge-patch+json');
    expect(odd.status).toBe(200);
    expect(managers(odd.body)).toEqual({ 'c/Update': { 'f:spec': { 'f:clusterRef': {} } } });
    const cleared = await send('PATCH', `${widgets}/demo`, '{"metadata":{"managedFields":[{}]}}', 'application/merge-patch+json', '');
    expect(cleared.body.metadata.managedFields).toBeUndefined();
  });
});
