// The real kubectl 1.34 against the local API: the commands the README promises (apply client-side and
// server-side, get with printer columns, get -o yaml, describe with events, delete waiting on a finalizer),
// and server-side apply conflicts as kubectl reports them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil, workspaceRoot } from '@starlane/testing';
import { parse } from 'yaml';
import { KubeApiServer } from './server';
import type { KubeObject } from './store';
import { k8s, kubeConfigFor } from './test-client';
import { Kubectl } from './test-kubectl';

jest.setTimeout(180_000);

const startMs = Date.parse('2026-03-01T10:00:00Z');
const crdsCreated = 'customresourcedefinition.apiextensions.k8s.io/clusters.starlane.dev created\ncustomresourcedefinition.apiextensions.k8s.io/topics.starlane.dev created\n';
const exampleTopic = 'deploy/examples/topic.yaml';
const topicRef = { group: 'starlane.dev', version: 'v1alpha1', namespace: 'default', plural: 'topics' };
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
/** Table output as cells: columns are separated by at least two spaces (kubectl's tabwriter pads with 3). */
const table = (text: string): string[][] => text.trimEnd().split('\n').map((line) => line.trim().split(/\s{2,}/u));

describe('the real kubectl against KubeApiServer', () => {
  let server: KubeApiServer;
  let kubectl: Kubectl;
  let custom: InstanceType<typeof k8s.CustomObjectsApi>;
  let clockMs: number;
  const topic = async (): Promise<KubeObject> => (await custom.getNamespacedCustomObject({ ...topicRef, name: 'demo' })) as KubeObject;
  const withPartitions = (n: number): string => kubectl.file(`topic-${n}.yaml`, readFileSync(join(workspaceRoot(), exampleTopic), 'utf8').replace('partitions: 3', `partitions: ${n}`));

  beforeEach(async () => {
    clockMs = startMs;
    server = await KubeApiServer.start({ now: () => new Date(clockMs) });
    kubectl = new Kubectl(server);
    custom = kubeConfigFor(server).makeApiClient(k8s.CustomObjectsApi);
    expect(await kubectl.ok('apply', '-f', 'helm/starlane/crds')).toBe(crdsCreated);
  });
  afterEach(async () => {
    await server.close();
    kubectl.cleanup();
  });

  it('applies the example Topic client-side, then server-side (taking over kubectl-client-side-apply fields), then a changed spec', async () => {
    expect(await kubectl.run('apply', '-f', exampleTopic)).toEqual({ code: 0, stdout: 'topic.starlane.dev/demo created\n', stderr: '' });
    expect((await topic()).metadata.managedFields.map((e: KubeObject) => `${e.manager}/${e.operation}`)).toEqual(['kubectl-client-side-apply/Update']);

    expect(await kubectl.run('apply', '--server-side', '-f', exampleTopic)).toEqual({ code: 0, stdout: 'topic.starlane.dev/demo serverside-applied\n', stderr: '' });
    // kubectl moves the client-side manager's fields to its own apply entry (csaupgrade), a write of managedFields.
    const migrated = await topic();
    expect(migrated.metadata.managedFields.map((e: KubeObject) => `${e.manager}/${e.operation}`).sort()).toEqual(['kubectl-last-applied/Apply', 'kubectl/Apply']);
    expect(migrated.metadata.generation).toBe(1);

    expect(await kubectl.run('apply', '--server-side', '-f', withPartitions(5))).toEqual({ code: 0, stdout: 'topic.starlane.dev/demo serverside-applied\n', stderr: '' });
    const changed = await topic();
    expect(changed.spec).toEqual({ clusterRef: { name: 'demo' }, topicName: 'Demo_Events', partitions: 5, config: { 'retention.ms': '604800000', 'cleanup.policy': 'delete' }, deletionPolicy: 'Delete' });
    expect(changed.metadata.generation).toBe(2);
    const mine = (changed.metadata.managedFields as KubeObject[]).find((e) => e.manager === 'kubectl');
    expect(mine).toMatchObject({ operation: 'Apply', apiVersion: 'starlane.dev/v1alpha1', time: '2026-03-01T10:00:00Z', fieldsType: 'FieldsV1' });
    expect(mine?.fieldsV1['f:spec']).toMatchObject({ 'f:partitions': {}, 'f:topicName': {}, 'f:config': { 'f:retention.ms': {}, 'f:cleanup.policy': {} } });

    // Client-side apply again: a three-way JSON merge patch (custom resources take no strategic merge).
    expect(await kubectl.ok('apply', '-f', withPartitions(6))).toBe('topic.starlane.dev/demo configured\n');
    expect((await topic()).spec.partitions).toBe(6);
    expect(server.requests((r) => r.method === 'PATCH' && r.query.includes('fieldManager=kubectl-client-side-apply'))).toHaveLength(1);
  });

  it('get topics prints the printer columns (the Ready filter path, -o wide adds the priority-1 Reason, Age from the server clock)', async () => {
    await kubectl.ok('apply', '-f', exampleTopic);
    const condition = { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'topic is as declared', lastTransitionTime: '2026-03-01T10:00:00Z' };
    await custom.patchNamespacedCustomObjectStatus(
      { ...topicRef, name: 'demo', body: { status: { topicName: 'Demo_Events', partitions: 3, replicationFactor: 1, conditions: [{ ...condition, type: 'Paused', status: 'False', reason: 'NotPaused' }, condition] } } },
      mergePatch,
    );
    clockMs = startMs + 5 * 60_000;
    expect(table(await kubectl.ok('get', 'topics'))).toEqual([
      ['NAME', 'CLUSTER', 'TOPIC', 'PARTITIONS', 'RF', 'READY', 'AGE'],
      ['demo', 'demo', 'Demo_Events', '3', '1', 'True', '5m'],
    ]);
    expect(table(await kubectl.ok('get', 'st', 'demo', '-o', 'wide'))).toEqual([
      ['NAME', 'CLUSTER', 'TOPIC', 'PARTITIONS', 'RF', 'READY', 'REASON', 'AGE'],
      ['demo', 'demo', 'Demo_Events', '3', '1', 'True', 'Reconciled', '5m'],
    ]);
    expect(table(await kubectl.ok('get', 'namespaces'))).toEqual([
      ['NAME', 'STATUS', 'AGE'],
      ['default', 'Active', '5m'],
      ['kube-node-lease', 'Active', '5m'],
      ['kube-public', 'Active', '5m'],
      ['kube-system', 'Active', '5m'],
    ]);
  });

  it('get topics -w prints a row per change as a Table from the watch', async () => {
    await kubectl.ok('apply', '-f', exampleTopic);
    const watching = kubectl.start(['get', 'topics', '-w']);
    await waitUntil('kubectl to watch topics', () => server.requests((r) => r.watch && r.path.endsWith('/topics')).length > 0, 30_000);
    await custom.patchNamespacedCustomObjectStatus({ ...topicRef, name: 'demo', body: { status: { topicName: 'Demo_Events', partitions: 3, replicationFactor: 2 } } }, mergePatch);
    await waitUntil('the changed row', () => watching.stdout().includes('Demo_Events'), 30_000);
    watching.stop();
    await watching.done;
    expect(table(watching.stdout())).toEqual([
      ['NAME', 'CLUSTER', 'TOPIC', 'PARTITIONS', 'RF', 'READY', 'AGE'],
      ['demo', 'demo', '0s'],
      ['demo', 'demo', 'Demo_Events', '3', '2', '0s'],
    ]);
  });

  it('get topic demo -o yaml shows the stored object without managedFields', async () => {
    await kubectl.ok('apply', '--server-side', '-f', exampleTopic);
    const text = await kubectl.ok('get', 'topic', 'demo', '-o', 'yaml');
    expect(text).not.toContain('managedFields');
    const shown = parse(text) as KubeObject;
    expect(shown).toEqual({
      apiVersion: 'starlane.dev/v1alpha1',
      kind: 'Topic',
      metadata: { name: 'demo', namespace: 'default', uid: shown.metadata.uid, resourceVersion: shown.metadata.resourceVersion, generation: 1, creationTimestamp: '2026-03-01T10:00:00Z' },
      spec: { clusterRef: { name: 'demo' }, topicName: 'Demo_Events', partitions: 3, config: { 'retention.ms': '604800000', 'cleanup.policy': 'delete' }, deletionPolicy: 'Delete' },
    });
    expect((parse(await kubectl.ok('get', 'topic', 'demo', '-o', 'yaml', '--show-managed-fields')) as KubeObject).metadata.managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'starlane.dev/v1alpha1',
        time: '2026-03-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:clusterRef': { 'f:name': {} }, 'f:config': { 'f:cleanup.policy': {}, 'f:retention.ms': {} }, 'f:deletionPolicy': {}, 'f:partitions': {}, 'f:topicName': {} } },
      },
    ]);
  });

  it('describe topic demo shows the spec and the events about this Topic only (field selectors on involvedObject)', async () => {
    await kubectl.ok('apply', '-f', exampleTopic);
    const uid = (await topic()).metadata.uid as string;
    const core = kubeConfigFor(server).makeApiClient(k8s.CoreV1Api);
    const event = (name: string, involvedName: string, involvedUid: string, reason: string, message: string) =>
      core.createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { name },
          involvedObject: { apiVersion: 'starlane.dev/v1alpha1', kind: 'Topic', name: involvedName, namespace: 'default', uid: involvedUid },
          reason,
          message,
          type: 'Normal',
          source: { component: 'starlane-operator' },
          firstTimestamp: new Date(),
          lastTimestamp: new Date(),
          count: 1,
        },
      });
    await event('demo.1', 'demo', uid, 'Created', 'topic Demo_Events created with 3 partitions');
    await event('other.1', 'other', 'another-uid', 'Created', 'topic other created');
    const text = await kubectl.ok('describe', 'topic', 'demo');
    expect(text).toContain('Name:         demo\nNamespace:    default\n');
    expect(text).toContain('Kind:         Topic\n');
    expect(text).toMatch(/Spec:\n {2}Cluster Ref:\n {4}Name: {2}demo\n {2}Config:\n {4}cleanup\.policy: {2}delete\n {4}retention\.ms: {4}604800000\n {2}Deletion Policy: {3}Delete\n {2}Partitions: {8}3\n {2}Topic Name: {8}Demo_Events\n/u);
    const events = table(text.slice(text.indexOf('Events:')));
    expect(events[1]).toEqual(['Type', 'Reason', 'Age', 'From', 'Message']);
    expect(events.slice(3).map((row) => [row[0], row[1], row[3], row[4]])).toEqual([['Normal', 'Created', 'starlane-operator', 'topic Demo_Events created with 3 partitions']]);
  });

  it('delete -f waits while a finalizer holds the Topic and finishes when it is removed', async () => {
    await kubectl.ok('apply', '-f', exampleTopic);
    await custom.patchNamespacedCustomObject({ ...topicRef, name: 'demo', body: { metadata: { finalizers: ['starlane.dev/topic'] } } }, mergePatch);
    const deletion = kubectl.start(['delete', '-f', exampleTopic]);
    await waitUntil('the Topic to be marked for deletion', async () => (await topic()).metadata.deletionTimestamp !== undefined, 30_000);
    // kubectl is now watching for the object to go; it cannot finish while the finalizer is there.
    await waitUntil('kubectl to watch the Topic', () => server.requests((r) => r.watch && r.path.endsWith('/topics')).length > 0, 30_000);
    expect(deletion.exited()).toBe(false);
    expect((await topic()).metadata).toMatchObject({ deletionTimestamp: '2026-03-01T10:00:00Z', deletionGracePeriodSeconds: 0, finalizers: ['starlane.dev/topic'] });
    await custom.patchNamespacedCustomObject({ ...topicRef, name: 'demo', body: { metadata: { finalizers: null } } }, mergePatch);
    expect(await deletion.done).toEqual({ code: 0, stdout: 'topic.starlane.dev "demo" deleted from default namespace\n', stderr: '' });
    expect(await kubectl.run('get', 'topic', 'demo')).toEqual({ code: 1, stdout: '', stderr: 'Error from server (NotFound): topics.starlane.dev "demo" not found\n' });
  });

  it('a server-side apply conflict between two managers is reported by kubectl, and --force-conflicts takes the field over', async () => {
    await kubectl.ok('apply', '--server-side', '--field-manager', 'alice', '-f', exampleTopic);
    const refused = await kubectl.run('apply', '--server-side', '--field-manager', 'bob', '-f', withPartitions(5));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.split('\n')[0]).toBe('error: Apply failed with 1 conflict: conflict with "alice": .spec.partitions');
    expect(refused.stderr).toContain('please re-run the apply\n  command with the `--force-conflicts` flag.');
    expect((await topic()).spec.partitions).toBe(3);

    expect(await kubectl.ok('apply', '--server-side', '--field-manager', 'bob', '--force-conflicts', '-f', withPartitions(5))).toBe('topic.starlane.dev/demo serverside-applied\n');
    const taken = await topic();
    expect(taken.spec.partitions).toBe(5);
    const owners = Object.fromEntries((taken.metadata.managedFields as KubeObject[]).map((e) => [e.manager, Object.keys(e.fieldsV1['f:spec'] as object).sort()]));
    expect(owners).toEqual({
      alice: ['f:clusterRef', 'f:config', 'f:deletionPolicy', 'f:topicName'],
      bob: ['f:clusterRef', 'f:config', 'f:deletionPolicy', 'f:partitions', 'f:topicName'],
    });
    // alice now leaves partitions out: bob keeps it, so it stays.
    expect(await kubectl.ok('apply', '--server-side', '--field-manager', 'alice', '-f', kubectl.file('alice.yaml', 'apiVersion: starlane.dev/v1alpha1\nkind: Topic\nmetadata:\n  name: demo\nspec:\n  clusterRef:\n    name: demo\n'))).toBe(
      'topic.starlane.dev/demo serverside-applied\n',
    );
    expect((await topic()).spec.partitions).toBe(5);
  });

  it('validates on the server as the OpenAPI document offers: Strict refuses an unknown field, --validate=warn warns, false drops it', async () => {
    const bogus = kubectl.file('bogus.yaml', readFileSync(join(workspaceRoot(), exampleTopic), 'utf8').replace('  partitions: 3', '  partitions: 3\n  colour: blue'));
    expect(await kubectl.run('apply', '-f', bogus)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error from server (BadRequest): error when creating "${bogus}": Topic in version "v1alpha1" cannot be handled as a Topic: strict decoding error: unknown field "spec.colour"\n`,
    });
    expect(server.requests((r) => r.method === 'POST' && r.path.endsWith('/topics')).map((r) => r.query)).toEqual(['?fieldManager=kubectl-client-side-apply&fieldValidation=Strict']);
    expect(await kubectl.run('apply', '--validate=warn', '-f', bogus)).toEqual({ code: 0, stdout: 'topic.starlane.dev/demo created\n', stderr: 'Warning: unknown field "spec.colour"\n' });
    expect(await kubectl.run('apply', '--server-side', '--validate=false', '-f', bogus)).toEqual({ code: 0, stdout: 'topic.starlane.dev/demo serverside-applied\n', stderr: '' });
    expect((await topic()).spec.colour).toBeUndefined();
  });

  it('applies a Namespace and a Secret with stringData as a real server stores them (Active, Opaque, data in base64)', async () => {
    const manifest = kubectl.file(
      'team.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n  namespace: team-a\nstringData:\n  password: hunter2\n',
    );
    expect(await kubectl.ok('apply', '-f', manifest)).toBe('namespace/team-a created\nsecret/s1 created\n');
    expect(table(await kubectl.ok('get', 'namespace', 'team-a'))).toEqual([['NAME', 'STATUS', 'AGE'], ['team-a', 'Active', '0s']]);
    expect(await kubectl.ok('get', 'secret', 's1', '-n', 'team-a', '-o', 'jsonpath={.type} {.data.password} {.stringData}')).toBe(`Opaque ${Buffer.from('hunter2').toString('base64')} `);
    const described = await kubectl.ok('describe', 'secret', 's1', '-n', 'team-a');
    expect(described).toContain('Type:  Opaque\n');
    expect(described).toContain('password:  7 bytes');
    expect(table(await kubectl.ok('get', 'secrets', '-n', 'team-a'))).toEqual([['NAME', 'TYPE', 'DATA', 'AGE'], ['s1', 'Opaque', '1', '0s']]);
  });

  it('applies a built-in ConfigMap client-side (strategic merge patch, a removed key goes) and server-side', async () => {
    const v1 = kubectl.file('cm1.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: "1"\n  b: "2"\n');
    const v2 = kubectl.file('cm2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  b: "3"\n');
    expect(await kubectl.ok('apply', '-f', v1)).toBe('configmap/c1 created\n');
    expect(await kubectl.ok('apply', '-f', v2)).toBe('configmap/c1 configured\n');
    expect(await kubectl.ok('get', 'configmap', 'c1', '-o', 'jsonpath={.data}')).toBe('{"b":"3"}');
    // data.b belongs to kubectl-client-side-apply with another value: a conflict, as on a real server.
    expect((await kubectl.run('apply', '--server-side', '-f', v1)).stderr.split('\n')[0]).toBe(
      'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1 at 2026-03-01T10:00:00Z: .data.b',
    );
    expect(await kubectl.ok('apply', '--server-side', '--force-conflicts', '-f', v1)).toBe('configmap/c1 serverside-applied\n');
    expect(await kubectl.ok('get', 'configmap', 'c1', '-o', 'jsonpath={.data}')).toBe('{"a":"1","b":"2"}');
    expect(table(await kubectl.ok('get', 'configmaps'))).toEqual([
      ['NAME', 'DATA', 'AGE'],
      ['c1', '2', '0s'],
    ]);
  });
});
