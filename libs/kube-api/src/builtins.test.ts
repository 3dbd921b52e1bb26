import { KubeApiServer } from './server';
import { k8s, kubeConfigFor } from './test-client';
import { createWidgetCrd } from './test-fixtures';

describe('the built-in kinds the chart renders', () => {
  let server: KubeApiServer;
  beforeEach(async () => {
    server = await KubeApiServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  const get = async (path: string): Promise<Record<string, unknown>> => (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>;

  it('lists them in discovery with the verbs, short names, categories and subresources of a real server', async () => {
    const groups = ((await get('/apis')) as { groups: { name: string }[] }).groups.map((g) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['apps', 'rbac.authorization.k8s.io', 'policy']));
    const apps = (await get('/apis/apps/v1')) as { resources: Record<string, unknown>[] };
    expect(apps.resources).toEqual([
      expect.objectContaining({ name: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }),
      expect.objectContaining({ name: 'deployments/status', verbs: ['get', 'patch', 'update'] }),
      expect.objectContaining({ name: 'deployments/scale', group: 'autoscaling', version: 'v1', kind: 'Scale' }),
    ]);
    const rbac = (await get('/apis/rbac.authorization.k8s.io/v1')) as { resources: { name: string; namespaced: boolean }[] };
    expect(rbac.resources.map((r) => [r.name, r.namespaced])).toEqual([
      ['roles', true],
      ['rolebindings', true],
      ['clusterroles', false],
      ['clusterrolebindings', false],
    ]);
    expect((await get('/apis/policy/v1')) as unknown).toMatchObject({ resources: [{ name: 'poddisruptionbudgets', shortNames: ['pdb'] }, { name: 'poddisruptionbudgets/status' }] });
    const core = (await get('/api/v1')) as { resources: { name: string; verbs: string[]; categories?: string[] }[] };
    expect(core.resources.find((r) => r.name === 'services')?.categories).toEqual(['all']);
    expect(core.resources.find((r) => r.name === 'namespaces')?.verbs).not.toContain('deletecollection');
    expect((await get('/apis/monitoring.coreos.com/v1')) as unknown).toMatchObject({ kind: 'Status', code: 404 });
  });

  it('stores Deployments (generation on spec changes, scale subresource), RBAC objects and PodDisruptionBudgets through the real client', async () => {
    const kc = kubeConfigFor(server);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const template = { metadata: { labels: { app: 'op' } }, spec: { containers: [{ name: 'op', image: 'op:1' }] } };
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: { metadata: { name: 'op' }, spec: { replicas: 1, selector: { matchLabels: { app: 'op' } }, template } } });
    expect(created.metadata?.generation).toBe(1);
    const scaled = await apps.replaceNamespacedDeploymentScale({ namespace: 'default', name: 'op', body: { metadata: { name: 'op', resourceVersion: created.metadata?.resourceVersion }, spec: { replicas: 2 } } });
    expect(scaled.spec?.replicas).toBe(2);
    const read = await apps.readNamespacedDeployment({ namespace: 'default', name: 'op' });
    expect([read.spec?.replicas, read.metadata?.generation]).toEqual([2, 2]);

    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: 'op' }, rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }] } });
    await rbac.createClusterRoleBinding({ body: { metadata: { name: 'op' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'op' }, subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'default' }] } });
    await rbac.createNamespacedRole({ namespace: 'default', body: { metadata: { name: 'le' }, rules: [] } });
    await rbac.createNamespacedRoleBinding({ namespace: 'default', body: { metadata: { name: 'le' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'le' } } });
    expect((await rbac.readClusterRole({ name: 'op' })).rules?.[0]?.resources).toEqual(['widgets']);
    expect((await rbac.listRoleBindingForAllNamespaces()).items.map((b) => b.metadata?.name)).toEqual(['le']);

    const policy = kc.makeApiClient(k8s.PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'op' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'op' } } } } });
    expect((await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'op' })).spec?.maxUnavailable).toBe(1);
  });

  it('takes a PUT without resourceVersion to a built-in as an unconditional update (helm 4 updates its release Secret so), not to a custom resource', async () => {
    const put = async (path: string, body: unknown): Promise<Response> => fetch(`${server.url}${path}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await fetch(`${server.url}/api/v1/namespaces/default/secrets`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'r', labels: { status: 'pending-install' } } }) });
    const updated = await put('/api/v1/namespaces/default/secrets/r', { metadata: { name: 'r', labels: { status: 'deployed' } } });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ metadata: { labels: { status: 'deployed' } } });
    const stale = await put('/api/v1/namespaces/default/secrets/r', { metadata: { name: 'r', resourceVersion: '1' } });
    expect(stale.status).toBe(409);

    await createWidgetCrd(server.url);
    const widgets = '/apis/example.com/v1alpha1/namespaces/default/widgets';
    await fetch(`${server.url}${widgets}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { name: 't' }, spec: { clusterRef: 'c' } }) });
    const refused = await put(`${widgets}/t`, { metadata: { name: 't' }, spec: { clusterRef: 'd' } });
    expect(await refused.json()).toMatchObject({ code: 422, message: expect.stringContaining('metadata.resourceVersion: Invalid value: 0x0: must be specified for an update') });
  });
});
