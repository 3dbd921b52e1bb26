import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir, helm, installManifestPath, renderInstallManifest } from './helm';
import { validateBuiltinObjects, validateStarlaneObject, type KubeObject } from './k8s-validate';

const root = join(__dirname, '..', '..', '..');
const fullValues = join(__dirname, '..', 'test-values', 'full.yaml');
// helm runs a Go binary per call on shared cores: generous, never a performance assertion.
const helmTimeoutMs = 120_000;

function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

function render(args: readonly string[] = []): KubeObject[] {
  return parseObjects(helm(['template', 'rel', chartDir, '--namespace', 'streaming', '--include-crds', ...args]));
}

function expectAllValid(objects: readonly KubeObject[]): void {
  const builtin = objects.filter((o) => !o.apiVersion.startsWith('starlane.dev/'));
  const results = [...validateBuiltinObjects(builtin), ...objects.filter((o) => o.apiVersion.startsWith('starlane.dev/')).map(validateStarlaneObject)];
  expect(results.filter((r) => r.error !== undefined)).toEqual([]);
  expect(results).toHaveLength(objects.length);
}

function kinds(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => o.kind).sort();
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

describe('helm/starlane with the real helm binary', () => {
  jest.setTimeout(helmTimeoutMs);

  it('helm lint passes with default and with non-default values', () => {
    expect(helm(['lint', '--strict', chartDir])).toContain('0 chart(s) failed');
    expect(helm(['lint', '--strict', chartDir, '-f', fullValues])).toContain('0 chart(s) failed');
  });

  it('default values render the CRDs, the operator and least-privilege RBAC, each valid for its kind', () => {
    const objects = render();
    expect(kinds(objects)).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition',
      'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
    ]);
    expectAllValid(objects);
    const deployment = objects.find((o) => o.kind === 'Deployment') as { spec: { replicas: number; template: { spec: { securityContext: { runAsNonRoot: boolean } } } } } & KubeObject;
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const rules = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((o) => (o as unknown as { rules: Rule[] }).rules);
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.resources).not.toContain('secrets');
      expect(rule.verbs).not.toContain('delete');
    }
    const leaseRole = objects.find((o) => o.kind === 'Role' && (o as unknown as { rules: Rule[] }).rules.some((r) => r.resources.includes('leases')));
    expect(leaseRole?.metadata).toMatchObject({ namespace: 'streaming' });
  });

  it('non-default values render two replicas, namespaced Roles, a Cluster and a ServiceMonitor, each valid for its kind', () => {
    const objects = render(['-f', fullValues]);
    expect(kinds(objects)).toEqual([
      'Cluster', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'PodDisruptionBudget',
      'Role', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceMonitor',
    ]);
    expectAllValid(objects);
    expect(objects.find((o) => o.kind === 'Deployment')).toMatchObject({ spec: { replicas: 2 } });
    const roleNamespaces = objects.filter((o) => o.kind === 'Role').map((o) => (o.metadata as { namespace: string }).namespace).sort();
    expect(roleNamespaces).toEqual(['streaming', 'team-a', 'team-b']);
    expect(objects.find((o) => o.kind === 'Cluster')).toMatchObject({
      metadata: { name: 'prod', namespace: 'streaming' },
      spec: { storageNodes: { replicas: 5 }, controllers: { mode: 'Etcd', etcdEndpoints: ['http://etcd-0.etcd:2379', 'http://etcd-1.etcd:2379'] } },
    });
  });

  it.each([
    ['a negative replica count', 'operator.replicas=-1'],
    ['an unknown controllers mode', 'cluster.controllers.mode=Raft'],
    ['an unknown value', 'operator.replicaCount=2'],
  ])('values.schema.json rejects %s', (_what, setting) => {
    expect(() => helm(['template', 'rel', chartDir, '--set', setting])).toThrow(/values don't meet the specifications of the schema|schema/);
  });

  it(`${installManifestPath} equals the chart rendered with default values (npx nx run helm-check:render-install)`, () => {
    expect(readFileSync(join(root, installManifestPath), 'utf8')).toBe(renderInstallManifest());
  });
});

describe('deploy/ examples against the CRD schemas', () => {
  it.each(['deploy/examples/topic.yaml', 'deploy/examples/cluster.yaml'])('%s is valid', (path) => {
    const objects = parseObjects(readFileSync(join(root, path), 'utf8'));
    expect(objects).toHaveLength(1);
    expect(objects.map(validateStarlaneObject)).toEqual([{ kind: objects[0]?.kind, name: objects[0]?.metadata?.name }]);
  });

  it('the Topic schema refuses zero partitions, a bad deletionPolicy and a non-string config value', () => {
    const base = { apiVersion: 'starlane.dev/v1alpha1', kind: 'Topic', metadata: { name: 't' } };
    const bad = [
      { clusterRef: { name: 'c' }, partitions: 0 },
      { clusterRef: { name: 'c' }, partitions: 1, deletionPolicy: 'Keep' },
      { clusterRef: { name: 'c' }, partitions: 1, config: { 'retention.ms': 1000 } },
      { clusterRef: { name: 'c' }, partitions: 1, topicName: 'has space' },
    ];
    for (const spec of bad) expect(validateStarlaneObject({ ...base, spec }).error).toBeDefined();
    expect(validateStarlaneObject({ ...base, spec: { clusterRef: { name: 'c' }, partitions: 1, topicName: 'Upper_case.ok-1' } }).error).toBeUndefined();
  });
});
