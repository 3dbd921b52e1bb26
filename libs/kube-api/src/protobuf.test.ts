// The protobuf decoder against bytes from an independent encoder: protobufjs, driven by the messages and
// field numbers of k8s.io/api core/v1, apimachinery meta/v1 and runtime generated.proto (only the fields
// used here), wrapped as client-go does: "k8s\0" + runtime.Unknown.
import * as protobuf from 'protobufjs';
import { decodeProtobufObject, protobufContentType } from './protobuf';
import { KubeApiServer } from './server';
import { KubeStatusError } from './status';
import { type KubeObject } from './store';
import { Kubectl } from './test-kubectl';

const proto = `
syntax = "proto2";
package k8s;
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message FieldsV1 { optional bytes Raw = 1; }
message OwnerReference { optional string apiVersion = 5; optional string kind = 1; optional string name = 3; optional string uid = 4; optional bool controller = 6; optional bool blockOwnerDeletion = 7; }
message ManagedFieldsEntry { optional string manager = 1; optional string operation = 2; optional string apiVersion = 3; optional Time time = 4; optional string fieldsType = 6; optional FieldsV1 fieldsV1 = 7; optional string subresource = 8; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3; optional string selfLink = 4;
  optional string uid = 5; optional string resourceVersion = 6; optional int64 generation = 7; optional Time creationTimestamp = 8;
  optional Time deletionTimestamp = 9; optional int64 deletionGracePeriodSeconds = 10; map<string, string> labels = 11;
  map<string, string> annotations = 12; repeated OwnerReference ownerReferences = 13; repeated string finalizers = 14;
  repeated ManagedFieldsEntry managedFields = 17;
  optional string unmodelled = 99;
}
message Secret { optional ObjectMeta metadata = 1; optional bool immutable = 5; map<string, bytes> data = 2; map<string, string> stringData = 4; optional string type = 3; }
message ConfigMap { optional ObjectMeta metadata = 1; optional bool immutable = 4; map<string, string> data = 2; map<string, bytes> binaryData = 3; }
message Preconditions { optional string uid = 1; optional string resourceVersion = 2; }
message DeleteOptions { optional int64 gracePeriodSeconds = 1; optional Preconditions preconditions = 2; optional bool orphanDependents = 3; optional string propagationPolicy = 4; repeated string dryRun = 5; }
message Pod { optional ObjectMeta metadata = 1; }
message NamespaceSpec { repeated string finalizers = 1; }
message NamespaceStatus { optional string phase = 1; }
message Namespace { optional ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; optional NamespaceStatus status = 3; }
message LocalObjectReference { optional string name = 1; }
message ServiceAccount { optional ObjectMeta metadata = 1; repeated LocalObjectReference imagePullSecrets = 3; optional bool automountServiceAccountToken = 4; }
message PolicyRule { repeated string verbs = 1; repeated string apiGroups = 2; repeated string resources = 3; repeated string resourceNames = 4; repeated string nonResourceURLs = 5; }
message Role { optional ObjectMeta metadata = 1; repeated PolicyRule rules = 2; }
message Subject { optional string kind = 1; optional string apiGroup = 2; optional string name = 3; optional string namespace = 4; }
message RoleRef { optional string apiGroup = 1; optional string kind = 2; optional string name = 3; }
message RoleBinding { optional ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3; }
`;
const root = protobuf.parse(proto).root;
const type = (name: string): protobuf.Type => root.lookupType(`k8s.${name}`);

/** What client-go sends: the magic, then an Unknown envelope around the encoded object. */
function envelope(apiVersion: string, kind: string, message: string, value: Record<string, unknown>, extra: Record<string, unknown> = {}): Buffer {
  const raw = type(message).encode(type(message).fromObject(value)).finish();
  const unknown = type('Unknown').encode(type('Unknown').fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '', ...extra })).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

const release = Buffer.from('H4sIAAAAAAAA/wEAAP//AAAAAAAAAAA=', 'base64');

describe('protobuf request bodies', () => {
  it('decodes a helm release Secret with its metadata into the JSON form (bytes as base64, empty fields left out)', () => {
    const body = envelope('v1', 'Secret', 'Secret', {
      metadata: {
        name: 'sh.helm.release.v1.starlane.v1',
        namespace: 'starlane',
        // Go marshals every non-pointer field: empty strings, zero numbers and the zero Time.
        generateName: '',
        uid: '',
        resourceVersion: '',
        generation: 0,
        creationTimestamp: { seconds: -62135596800, nanos: 0 },
        labels: { name: 'starlane', owner: 'helm', status: 'pending-install', version: '1' },
        annotations: { note: 'ünïcode' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
        finalizers: ['a/b', 'c/d'],
        managedFields: [{ manager: 'helm', operation: 'Update', apiVersion: 'v1', time: { seconds: 1767323045 }, fieldsType: 'FieldsV1', fieldsV1: { Raw: Buffer.from('{"f:data":{}}') } }],
        unmodelled: 'skipped',
      },
      data: { release },
      type: 'helm.sh/release.v1',
      immutable: false,
    });
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'sh.helm.release.v1.starlane.v1',
        namespace: 'starlane',
        labels: { name: 'starlane', owner: 'helm', status: 'pending-install', version: '1' },
        annotations: { note: 'ünïcode' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
        finalizers: ['a/b', 'c/d'],
        managedFields: [{ manager: 'helm', operation: 'Update', apiVersion: 'v1', time: '2026-01-02T03:04:05Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }],
      },
      data: { release: release.toString('base64') },
      type: 'helm.sh/release.v1',
    });
  });

  it('decodes a ConfigMap (string data and binary data), an update carrying a resourceVersion, and DeleteOptions', () => {
    const cm = envelope('v1', 'ConfigMap', 'ConfigMap', { metadata: { name: 'c', resourceVersion: '42', generation: 3 }, data: { a: '1' }, binaryData: { b: Buffer.from([0, 255]) }, immutable: true });
    expect(decodeProtobufObject(cm)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '42', generation: 3 }, data: { a: '1' }, binaryData: { b: 'AP8=' }, immutable: true });
    const options = envelope('meta.k8s.io/v1', 'DeleteOptions', 'DeleteOptions', { preconditions: { resourceVersion: '7' }, propagationPolicy: 'Foreground', gracePeriodSeconds: 30, dryRun: ['All'] });
    expect(decodeProtobufObject(options)).toEqual({ apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', preconditions: { resourceVersion: '7' }, propagationPolicy: 'Foreground', gracePeriodSeconds: 30, dryRun: ['All'] });
  });

  it('decodes what kubectl create sends: a Namespace, a ServiceAccount, a Role and a RoleBinding', () => {
    expect(decodeProtobufObject(envelope('v1', 'Namespace', 'Namespace', { metadata: { name: 'team' }, spec: {}, status: {} }))).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' }, spec: {}, status: {} });
    expect(decodeProtobufObject(envelope('v1', 'ServiceAccount', 'ServiceAccount', { metadata: { name: 'op' }, imagePullSecrets: [{ name: 'registry' }], automountServiceAccountToken: true }))).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'op' },
      imagePullSecrets: [{ name: 'registry' }],
      automountServiceAccountToken: true,
    });
    const rule = { verbs: ['get', 'list'], apiGroups: ['starlane.dev'], resources: ['topics', 'topics/status'] };
    expect(decodeProtobufObject(envelope('rbac.authorization.k8s.io/v1', 'Role', 'Role', { metadata: { name: 'r' }, rules: [rule, { verbs: ['get'], nonResourceURLs: ['/healthz'] }] }))).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'r' },
      rules: [rule, { verbs: ['get'], nonResourceURLs: ['/healthz'] }],
    });
    const binding = { metadata: { name: 'b' }, subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'team' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' } };
    expect(decodeProtobufObject(envelope('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'RoleBinding', binding))).toEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', ...binding });
  });

  it('decodes a large map and a long repeated field entry by entry, and keeps a __proto__ map key an own field', () => {
    const entries = 50_000;
    const data = Object.fromEntries(Array.from({ length: entries }, (_, i) => [`k${i}`, `v${i}`]));
    const decoded = decodeProtobufObject(envelope('v1', 'ConfigMap', 'ConfigMap', { metadata: { name: 'big', finalizers: Array.from({ length: entries }, (_, i) => `f${i}`) }, data }));
    expect(Object.keys(decoded.data as object).length).toBe(entries);
    expect((decoded.data as Record<string, string>)['k49999']).toBe('v49999');
    expect((decoded.metadata.finalizers as string[]).length).toBe(entries);
    const sneaky = decodeProtobufObject(envelope('v1', 'ConfigMap', 'ConfigMap', { metadata: { name: 's' }, data: { ['__proto__']: 'x' } }));
    expect(Object.keys(sneaky.data as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(sneaky.data)).toBe(Object.prototype);
  });

  it('refuses other kinds with 415 and malformed bytes with 400, naming what it decodes', () => {
    const pod = envelope('v1', 'Pod', 'Pod', { metadata: { name: 'p' } });
    expect(() => decodeProtobufObject(pod)).toThrow(expect.objectContaining({ code: 415, reason: 'UnsupportedMediaType', message: expect.stringContaining('this server decodes only v1/Secret, v1/ConfigMap, v1/Namespace') }) as unknown as Error);
    const gzipped = envelope('v1', 'Secret', 'Secret', { metadata: { name: 's' } }, { contentEncoding: 'gzip' });
    expect(() => decodeProtobufObject(gzipped)).toThrow(KubeStatusError);
    expect(() => decodeProtobufObject(Buffer.from('{"kind":"Secret"}'))).toThrow(expect.objectContaining({ code: 400 }) as unknown as Error);
    const truncated = envelope('v1', 'Secret', 'Secret', { metadata: { name: 'long-enough-name', labels: { a: 'b' } } }).subarray(0, 30);
    expect(() => decodeProtobufObject(truncated)).toThrow(expect.objectContaining({ code: 400 }) as unknown as Error);
  });

  it('serves a protobuf POST and PUT of a Secret over HTTP, answering JSON', async () => {
    const server = await KubeApiServer.start();
    try {
      const send = (method: string, path: string, body: Buffer): Promise<Response> =>
        fetch(`${server.url}${path}`, { method, headers: { 'Content-Type': protobufContentType, Accept: `${protobufContentType}, application/json` }, body });
      const created = await send('POST', '/api/v1/namespaces/default/secrets', envelope('v1', 'Secret', 'Secret', { metadata: { name: 'r', labels: { owner: 'helm' } }, data: { release }, type: 'helm.sh/release.v1' }));
      expect(created.status).toBe(201);
      expect(created.headers.get('content-type')).toBe('application/json');
      const json = (await created.json()) as { metadata: { resourceVersion: string; uid: string } };
      expect(json).toMatchObject({ kind: 'Secret', metadata: { name: 'r', namespace: 'default', labels: { owner: 'helm' } }, data: { release: release.toString('base64') }, type: 'helm.sh/release.v1' });
      const updated = await send('PUT', '/api/v1/namespaces/default/secrets/r', envelope('v1', 'Secret', 'Secret', { metadata: { name: 'r', namespace: 'default', resourceVersion: json.metadata.resourceVersion, labels: { owner: 'helm', status: 'deployed' } }, data: { release }, type: 'helm.sh/release.v1' }));
      expect(updated.status).toBe(200);
      expect(await updated.json()).toMatchObject({ metadata: { uid: json.metadata.uid, labels: { status: 'deployed' } } });
      const pod = await send('POST', '/api/v1/namespaces/default/configmaps', envelope('v1', 'Pod', 'Pod', { metadata: { name: 'p' } }));
      expect(pod.status).toBe(415);
      expect(await pod.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType' });
      const deleted = await send('DELETE', '/api/v1/namespaces/default/secrets/r', envelope('meta.k8s.io/v1', 'DeleteOptions', 'DeleteOptions', { preconditions: { resourceVersion: '1' } }));
      expect(deleted.status).toBe(409);
    } finally {
      await server.close();
    }
  });
});

describe('kubectl create, which sends protobuf for built-in kinds', () => {
  it('creates namespaces, service accounts, RBAC objects, secrets and config maps; kinds not decoded get a clear 415', async () => {
    const server = await KubeApiServer.start();
    const kubectl = new Kubectl(server);
    try {
      await kubectl.ok('create', 'namespace', 'team');
      await kubectl.ok('-n', 'team', 'create', 'serviceaccount', 'op');
      await kubectl.ok('-n', 'team', 'create', 'role', 'reader', '--verb=get,list', '--resource=configmaps');
      await kubectl.ok('-n', 'team', 'create', 'rolebinding', 'reader', '--role=reader', '--serviceaccount=team:op');
      await kubectl.ok('create', 'clusterrole', 'topics', '--verb=get', '--resource=leases.coordination.k8s.io');
      await kubectl.ok('create', 'clusterrolebinding', 'topics', '--clusterrole=topics', '--serviceaccount=team:op');
      await kubectl.ok('-n', 'team', 'create', 'secret', 'generic', 's', '--from-literal=password=hunter2');
      await kubectl.ok('-n', 'team', 'create', 'configmap', 'c', '--from-literal=a=b');
      const creates = server.requests((r) => r.method === 'POST');
      expect(creates.map((r) => r.contentType)).toEqual(Array(8).fill(protobufContentType));

      const get = async (path: string): Promise<KubeObject> => (await (await fetch(`${server.url}${path}`)).json()) as KubeObject;
      expect(await get('/api/v1/namespaces/team')).toMatchObject({ metadata: { name: 'team' }, status: { phase: 'Active' } });
      expect(await get('/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/reader')).toMatchObject({ rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'] }] });
      expect(await get('/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings/reader')).toMatchObject({ roleRef: { kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'team' }] });
      expect(await get('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/topics')).toMatchObject({ roleRef: { kind: 'ClusterRole', name: 'topics' } });
      expect(await get('/api/v1/namespaces/team/secrets/s')).toMatchObject({ type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64') } });
      expect(await get('/api/v1/namespaces/team/configmaps/c')).toMatchObject({ data: { a: 'b' } });
      expect((await get('/api/v1/namespaces/team/serviceaccounts/op')).metadata.name).toBe('op');

      const deployment = await kubectl.run('-n', 'team', 'create', 'deployment', 'd', '--image=x');
      expect(deployment.code).not.toBe(0);
      expect(deployment.stderr).toContain('this server decodes only');
      expect(deployment.stderr).toContain('not apps/v1 Deployment; send JSON (application/json) instead');
    } finally {
      kubectl.cleanup();
      await server.close();
    }
  }, 120_000);
});
