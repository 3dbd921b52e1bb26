// What lists and reads look like on the wire: Table output, paging, OpenAPI documents; and the JSONPath and
// age formatting behind printer columns.
import { jsonPathFirst, jsonPathValues } from './jsonpath';
import { KubeApiServer } from './server';
import { createWidgetCrd } from './test-fixtures';
import { humanDuration } from './table';

const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const widgets = '/apis/example.com/v1alpha1/namespaces/default/widgets';
/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are read as JSON */
type Body = Record<string, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('JSONPath for printer columns', () => {
  const widget = { spec: { partitions: 3, 'a.b': 1 }, status: { conditions: [{ type: 'Paused', status: 'False' }, { type: 'Ready', status: 'True', reason: 'Ok' }] } };
  it('reads fields, indexes, wildcards, quoted keys and filters', () => {
    expect(jsonPathFirst(widget, '.spec.partitions')).toBe(3);
    expect(jsonPathFirst(widget, '{.spec.partitions}')).toBe(3);
    expect(jsonPathFirst(widget, ".spec['a.b']")).toBe(1);
    expect(jsonPathFirst(widget, '.status.conditions[?(@.type=="Ready")].status')).toBe('True');
    expect(jsonPathFirst(widget, '.status.conditions[?(@.type!="Ready")].type')).toBe('Paused');
    expect(jsonPathFirst(widget, '.status.conditions[?(@.reason)].reason')).toBe('Ok');
    expect(jsonPathFirst(widget, '.status.conditions[-1].type')).toBe('Ready');
    expect(jsonPathValues(widget, '.status.conditions[*].type')).toEqual(['Paused', 'Ready']);
    expect(jsonPathFirst(widget, '.status.missing[0]')).toBeUndefined();
  });
});

describe('humanDuration', () => {
  it('formats ages as kubectl prints them (apimachinery HumanDuration)', () => {
    const s = 1000;
    expect([0, 119 * s, 150 * s, 600 * s, 179 * 60 * s, 3.5 * 3600 * s, 30 * 3600 * s, 50 * 3600 * s, 30 * 86400 * s, 800 * 86400 * s, 3000 * 86400 * s].map(humanDuration)).toEqual([
      '0s', '119s', '2m30s', '10m', '179m', '3h30m', '30h', '2d2h', '30d', '2y70d', '8y',
    ]);
    expect(humanDuration(-5000)).toBe('<invalid>');
  });
});

describe('lists on the wire', () => {
  let server: KubeApiServer;
  const get = async (path: string, accept = 'application/json'): Promise<{ status: number; body: Body }> => {
    const res = await fetch(`${server.url}${path}`, { headers: { Accept: accept } });
    return { status: res.status, body: (await res.json()) as Body };
  };
  beforeEach(async () => {
    let at = Date.parse('2026-03-01T10:00:00Z');
    server = await KubeApiServer.start({ now: () => new Date((at += 60_000)) });
    await createWidgetCrd(server.url);
    for (const name of ['a', 'b', 'c']) {
      const res = await fetch(`${server.url}${widgets}`, { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: `apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: ${name}\nspec:\n  clusterRef: c\n` });
      expect(res.status).toBe(201);
    }
  });
  afterEach(async () => {
    await server.close();
  });

  it('answers as=Table with the CRD printer columns and PartialObjectMetadata rows (includeObject=Metadata)', async () => {
    const { body } = await get(`${widgets}?limit=500`, tableAccept);
    expect(body.kind).toBe('Table');
    expect(body.apiVersion).toBe('meta.k8s.io/v1');
    expect(body.columnDefinitions.map((c: Body) => [c.name, c.type, c.format, c.priority])).toEqual([
      ['Name', 'string', 'name', 0],
      ['Partitions', 'integer', '', 0],
    ]);
    expect(body.rows.map((r: Body) => r.cells)).toEqual([['a', 1], ['b', 1], ['c', 1]]);
    expect(body.rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: expect.objectContaining({ name: 'a', namespace: 'default' }) });
    expect((await get(`${widgets}/b?includeObject=None`, tableAccept)).body.rows).toEqual([{ cells: ['b', 1] }]);
    expect((await get(`${widgets}/b?includeObject=Object`, tableAccept)).body.rows[0].object.spec).toEqual({ clusterRef: 'c', partitions: 1, deletionPolicy: 'Delete' });
    expect((await get(`${widgets}/b?includeObject=All`, tableAccept)).status).toBe(400);
    // Built-ins without a printer of their own: NAME and AGE.
    const leases = await get('/apis/coordination.k8s.io/v1/namespaces/default/leases', tableAccept);
    expect(leases.body.columnDefinitions.map((c: Body) => c.name)).toEqual(['Name', 'Age']);
  });

  it('gives a CRD version without printer columns an Age column, as the real server does', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gizmos.example.org' },
      spec: { group: 'example.org', scope: 'Cluster', names: { plural: 'gizmos', kind: 'Gizmo' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] },
    };
    const created = await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(crd) });
    expect(created.status).toBe(201);
    await fetch(`${server.url}/apis/example.org/v1/gizmos`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"apiVersion":"example.org/v1","kind":"Gizmo","metadata":{"name":"w"}}' });
    const { body } = await get('/apis/example.org/v1/gizmos', tableAccept);
    expect(body.columnDefinitions.map((c: Body) => [c.name, c.type])).toEqual([['Name', 'string'], ['Age', 'date']]);
    expect(body.rows[0].cells).toEqual(['w', expect.stringMatching(/^\dm$/u)]);
  });

  it('pages with limit and continue, and answers 410 for a token older than the kept history', async () => {
    const first = await get(`${widgets}?limit=2`);
    expect(first.body.items.map((o: Body) => o.metadata.name)).toEqual(['a', 'b']);
    expect(first.body.metadata.remainingItemCount).toBe(1);
    const token = encodeURIComponent(first.body.metadata.continue as string);
    const second = await get(`${widgets}?limit=2&continue=${token}`);
    expect(second.body.items.map((o: Body) => o.metadata.name)).toEqual(['c']);
    expect(second.body.metadata).toEqual({ resourceVersion: first.body.metadata.resourceVersion });
    expect((await get(`${widgets}?limit=2&continue=bad`)).status).toBe(400);
    await fetch(`${server.url}${widgets}/a`, { method: 'DELETE' });
    server.store.compact();
    expect((await get(`${widgets}?limit=2&continue=${token}`)).body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('serves /openapi/v3 (root and group-version documents whose patch lists fieldValidation) and /openapi/v2 as JSON', async () => {
    const root = (await get('/openapi/v3')).body;
    const url = root.paths['apis/example.com/v1alpha1'].serverRelativeURL as string;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/example\.com\/v1alpha1\?hash=[0-9A-F]{128}$/u);
    expect(Object.keys(root.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apiextensions.k8s.io/v1', 'apis/coordination.k8s.io/v1']));
    const doc = (await get(url)).body;
    const item = doc.paths['/apis/example.com/v1alpha1/namespaces/{namespace}/widgets/{name}'];
    expect(item.patch['x-kubernetes-group-version-kind']).toEqual({ group: 'example.com', version: 'v1alpha1', kind: 'Widget' });
    expect(item.patch.parameters.map((p: Body) => `${p.in}:${p.name}`)).toEqual(['query:dryRun', 'query:fieldManager', 'query:fieldValidation', 'query:force']);
    expect(Object.keys(item.patch.requestBody.content)).not.toContain('application/strategic-merge-patch+json');
    const schema = doc.components.schemas['com.example.v1alpha1.Widget'];
    expect(schema['x-kubernetes-group-version-kind']).toEqual([{ group: 'example.com', version: 'v1alpha1', kind: 'Widget' }]);
    expect(schema.properties.spec.properties.partitions).toEqual({ type: 'integer', minimum: 1, default: 1 });
    expect(schema.properties.metadata.$ref).toBe('#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    expect((await get('/openapi/v3/apis/nothing.example/v1')).status).toBe(404);
    const v2 = (await get('/openapi/v2')).body;
    expect(v2.swagger).toBe('2.0');
    expect(v2.definitions['com.example.v1alpha1.Widget'].properties.metadata.$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    expect((await get('/openapi/v2', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf')).status).toBe(406);
  });
});
