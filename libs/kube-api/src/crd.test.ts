import { KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';
import { createWidgetCrd, widgetCrd, widgetPath } from './test-fixtures';

const errorBody = (e: { body: string }): Record<string, unknown> => JSON.parse(e.body) as Record<string, unknown>;

describe('discovery and custom resources', () => {
  let server: KubeApiServer;
  beforeEach(async () => {
    server = await KubeApiServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  const get = async (path: string): Promise<Record<string, unknown>> => (await fetch(`${server.url}${path}`)).json() as Promise<Record<string, unknown>>;

  it('serves /version, /api, /api/v1 and /apis for the built-ins', async () => {
    const version = await kubeConfigFor(server).makeApiClient(k8s.VersionApi).getCode();
    expect(version).toMatchObject({ major: '1', minor: '34' });
    expect(await get('/api')).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = (await get('/api/v1')) as { resources: { name: string; namespaced: boolean }[] };
    expect(core.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['namespaces', 'namespaces/status', 'secrets', 'configmaps', 'events', 'services', 'serviceaccounts']));
    expect(core.resources.find((r) => r.name === 'namespaces')?.namespaced).toBe(false);
    const groups = (await get('/apis')) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['coordination.k8s.io', 'apiextensions.k8s.io']));
    expect(await get('/apis/coordination.k8s.io/v1')).toMatchObject({ groupVersion: 'coordination.k8s.io/v1', resources: [{ name: 'leases', kind: 'Lease', namespaced: true }] });
    expect((await fetch(`${server.url}/apis/example.com/v1alpha1`)).status).toBe(404);
  });

  it('serves a CRD as soon as it is created, with short names and status and scale subresources, and stops when it is deleted', async () => {
    const kc = kubeConfigFor(server);
    const crd = await kc.makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({ body: widgetCrd });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    expect(await get('/apis/example.com')).toMatchObject({ kind: 'APIGroup', preferredVersion: { groupVersion: 'example.com/v1alpha1' } });
    const list = (await get('/apis/example.com/v1alpha1')) as { resources: Record<string, unknown>[] };
    expect(list.resources).toEqual([
      expect.objectContaining({ name: 'widgets', singularName: 'widget', kind: 'Widget', namespaced: true, shortNames: ['wd'] }),
      expect.objectContaining({ name: 'widgets/status', kind: 'Widget' }),
      expect.objectContaining({ name: 'widgets/scale', kind: 'Scale', group: 'autoscaling', version: 'v1' }),
    ]);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.createNamespacedCustomObject({ ...widgetPath, namespace: 'default', body: { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c' } } });
    await kc.makeApiClient(k8s.ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'widgets.example.com' });
    expect((await fetch(`${server.url}/apis/example.com/v1alpha1`)).status).toBe(404);
    await kc.makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({ body: widgetCrd });
    expect((await custom.listNamespacedCustomObject({ ...widgetPath, namespace: 'default' })).items).toEqual([]);
  });

  it('refuses a CRD whose name is not <plural>.<group> with 422 and stores nothing', async () => {
    const res = await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...widgetCrd, metadata: { name: 'wrong.example.com' } }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'metadata.name' }] } });
    const list = await kubeConfigFor(server).makeApiClient(k8s.ApiextensionsV1Api).listCustomResourceDefinition();
    expect(list.items).toEqual([]);
    expect((await fetch(`${server.url}/apis/example.com/v1alpha1`)).status).toBe(404);
  });

  it('prunes unknown fields, applies defaults and validates against the schema with 422 Invalid', async () => {
    const kc = kubeConfigFor(server);
    await createWidgetCrd(server.url);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const widget = (await custom.createNamespacedCustomObject({
      ...widgetPath,
      namespace: 'default',
      body: { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c', bogus: 1, config: { 'retention.ms': '1000' } }, status: { ignored: true } },
    })) as { metadata: { generation: number }; spec: Record<string, unknown>; status?: unknown };
    expect(widget.spec).toEqual({ clusterRef: 'c', partitions: 1, deletionPolicy: 'Delete', config: { 'retention.ms': '1000' } });
    expect(widget.status).toBeUndefined();
    expect(widget.metadata.generation).toBe(1);

    const bad = await custom
      .createNamespacedCustomObject({ ...widgetPath, namespace: 'default', body: { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'bad' }, spec: { partitions: 0, deletionPolicy: 'Keep', config: { a: 1 } } } })
      .catch(errorBody);
    expect(bad).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
    const fields = ((bad.details as { causes: { field: string }[] }).causes ?? []).map((c) => c.field).sort();
    expect(fields).toEqual(['spec.clusterRef', 'spec.config.a', 'spec.deletionPolicy', 'spec.partitions']);

    const strict = await fetch(`${server.url}/apis/example.com/v1alpha1/namespaces/default/widgets?fieldValidation=Strict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'strict' }, spec: { clusterRef: 'c', bogus: 1 } }),
    });
    expect(strict.status).toBe(400);
    expect(((await strict.json()) as { message: string }).message).toBe('Widget in version "v1alpha1" cannot be handled as a Widget: strict decoding error: unknown field "spec.bogus"');
  });

  it('bumps generation on spec changes only; /status writes never do; /scale reads and writes the replicas path', async () => {
    const kc = kubeConfigFor(server);
    await createWidgetCrd(server.url);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    type Widget = { metadata: { generation: number; resourceVersion: string; labels?: Record<string, string> }; spec: Record<string, unknown>; status?: Record<string, unknown> };
    const created = (await custom.createNamespacedCustomObject({ ...widgetPath, namespace: 'default', body: { apiVersion: 'example.com/v1alpha1', kind: 'Widget', metadata: { name: 'demo' }, spec: { clusterRef: 'c' } } })) as Widget;
    const relabelled = (await custom.replaceNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { ...created, metadata: { ...created.metadata, labels: { a: 'b' } } } })) as Widget;
    expect(relabelled.metadata.generation).toBe(1);
    const withStatus = (await custom.replaceNamespacedCustomObjectStatus({ ...widgetPath, namespace: 'default', name: 'demo', body: { ...relabelled, spec: { clusterRef: 'ignored' }, status: { observedGeneration: 1 } } })) as Widget;
    expect(withStatus.metadata.generation).toBe(1);
    expect(withStatus.spec.clusterRef).toBe('c');
    expect(withStatus.status).toEqual({ observedGeneration: 1 });
    const respec = (await custom.replaceNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo', body: { ...withStatus, spec: { ...withStatus.spec, partitions: 3 }, status: { dropped: true } } })) as Widget;
    expect(respec.metadata.generation).toBe(2);
    expect(respec.status).toEqual({ observedGeneration: 1 });

    const scale = (await custom.getNamespacedCustomObjectScale({ ...widgetPath, namespace: 'default', name: 'demo' })) as { kind: string; spec: { replicas: number } };
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 } });
    await custom.patchNamespacedCustomObjectScale({ ...widgetPath, namespace: 'default', name: 'demo', body: { spec: { replicas: 6 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const after = (await custom.getNamespacedCustomObject({ ...widgetPath, namespace: 'default', name: 'demo' })) as Widget;
    expect(after.spec.partitions).toBe(6);
    expect(after.metadata.generation).toBe(3);
  });

  it('refuses a CRD whose printer column JSONPath cannot be evaluated with 422, naming the column', async () => {
    const columns = [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready"' },
      { name: 'Odd', type: 'string', jsonPath: '.spec[?(oops)]' },
    ];
    const crd = structuredClone(widgetCrd);
    crd.spec.versions[0] = { ...(crd.spec.versions[0] as (typeof crd.spec.versions)[0]), additionalPrinterColumns: columns as unknown as typeof crd.spec.versions[0]['additionalPrinterColumns'] };
    const res = await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(crd) });
    const status = (await res.json()) as { code: number; reason: string; details: { causes: { field: string }[] } };
    expect(status).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(status.details.causes.map((c) => c.field)).toEqual(['spec.versions[0].additionalPrinterColumns[0].jsonPath', 'spec.versions[0].additionalPrinterColumns[1].jsonPath']);
    expect((await fetch(`${server.url}/apis/example.com/v1alpha1`)).status).toBe(404);
  });
});
