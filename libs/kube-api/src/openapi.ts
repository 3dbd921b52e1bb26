// OpenAPI documents built from the served resources: `/openapi/v3` (a root naming one document per
// group-version, each at `/openapi/v3/<api/v1 | apis/g/v>?hash=…`) and `/openapi/v2` (one swagger document,
// JSON only). kubectl apply and helm fetch v3 first and read two things from it (cli-runtime
// query_param_verifier_v3.go, kubectl apply patcher.go):
//   - the `patch` operation of a kind (found by `x-kubernetes-group-version-kind`) lists a `fieldValidation`
//     query parameter → they send fieldValidation=Strict and leave validation to the server;
//   - its request body lists `application/strategic-merge-patch+json` → client-side apply builds a strategic
//     merge patch from the published schema. Only custom resources publish their schema here, and they
//     never list strategic merge (as on a real server), so kubectl sends them a JSON merge patch; for
//     built-ins it falls back to its compiled-in types.
// Custom resources get their CRD's `openAPIV3Schema` (metadata as a reference to ObjectMeta); built-ins a
// minimal object schema.
import { createHash } from 'node:crypto';
import type { ResourceRegistry, ResourceType } from './resources';
import type { JsonSchema } from './schema';

type Doc = Record<string, unknown>;
const metaRef = (v3: boolean, name: string): Doc => ({ $ref: `#/${v3 ? 'components/schemas' : 'definitions'}/io.k8s.apimachinery.pkg.apis.meta.v1.${name}` });

/** The real server's definition names: io.k8s.api.core.v1.Secret, dev.starlane.v1alpha1.Topic. */
export function definitionName(r: Pick<ResourceType, 'group' | 'version' | 'kind' | 'builtIn'>, kind = r.kind): string {
  if (r.group === '') return `io.k8s.api.core.${r.version}.${kind}`;
  if (r.group === 'apiextensions.k8s.io') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${r.version}.${kind}`;
  if (r.builtIn && r.group.endsWith('.k8s.io')) return `io.k8s.api.${r.group.split('.')[0] ?? ''}.${r.version}.${kind}`;
  return `${r.group.split('.').reverse().join('.')}.${r.version}.${kind}`;
}

export const groupVersionPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

const gvk = (r: ResourceType, kind = r.kind): Doc => ({ group: r.group, version: r.version, kind });

function objectSchema(r: ResourceType, v3: boolean): Doc {
  const schema = (r.schema ?? { type: 'object' }) as JsonSchema & Doc;
  return {
    ...schema,
    type: 'object',
    properties: {
      ...(schema.properties ?? {}),
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { ...metaRef(v3, 'ObjectMeta'), description: "Standard object's metadata." },
    },
    'x-kubernetes-group-version-kind': [gvk(r)],
  };
}

function listSchema(r: ResourceType, v3: boolean): Doc {
  const ref = { $ref: `#/${v3 ? 'components/schemas' : 'definitions'}/${definitionName(r)}` };
  return {
    type: 'object',
    required: ['items'],
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: metaRef(v3, 'ListMeta'), items: { type: 'array', items: ref } },
    'x-kubernetes-group-version-kind': [gvk(r, `${r.kind}List`)],
  };
}

const metaSchemas: Record<string, Doc> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    type: 'object',
    properties: {
      name: { type: 'string' },
      generateName: { type: 'string' },
      namespace: { type: 'string' },
      uid: { type: 'string' },
      resourceVersion: { type: 'string' },
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: { type: 'string', format: 'date-time' },
      deletionTimestamp: { type: 'string', format: 'date-time' },
      deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
      finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
      ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'] },
      managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta': { type: 'object', properties: { resourceVersion: { type: 'string' }, continue: { type: 'string' }, remainingItemCount: { type: 'integer', format: 'int64' } } },
};

const queryParameter = (name: string, description: string): Doc => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });
const v2Parameter = (p: Doc): Doc => {
  const { schema, ...rest } = p;
  return { ...rest, ...(schema as Doc) };
};
const writeParameters = [
  queryParameter('dryRun', 'When present, indicates that modifications should not be persisted.'),
  queryParameter('fieldManager', 'A name associated with the actor or entity that is making these changes.'),
  queryParameter('fieldValidation', 'Ignore, Warn (the default) or Strict: what to do with unknown or duplicate fields.'),
];
const patchParameters = [...writeParameters, { ...queryParameter('force', 'Force is going to "force" Apply requests; only for apply patches.'), schema: { type: 'boolean', uniqueItems: true } }];

/** Never strategic merge (see the top of this file): kubectl then uses its compiled-in types for built-ins. */
const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

/** The operations of one path, in the v3 or the v2 shape. */
function operations(r: ResourceType, v3: boolean, item: boolean, subresource?: string): Doc {
  const schemaRef = { $ref: `#/${v3 ? 'components/schemas' : 'definitions'}/${definitionName(r, item ? r.kind : `${r.kind}List`)}` };
  const ok = v3 ? { description: 'OK', content: { 'application/json': { schema: schemaRef } } } : { description: 'OK', schema: schemaRef };
  const op = (action: string, verb: string, parameters: Doc[], body?: string[]): Doc => ({
    operationId: `${verb}${r.kind}${subresource ? subresource[0]?.toUpperCase() + subresource.slice(1) : ''}`,
    tags: [r.group ? `${r.group}_${r.version}` : `core_${r.version}`],
    parameters: v3 ? parameters : [...parameters.map(v2Parameter), ...(body ? [{ name: 'body', in: 'body', required: true, schema: { type: 'object' } }] : [])],
    ...(v3 && body ? { requestBody: { content: Object.fromEntries(body.map((t) => [t, { schema: { type: 'object' } }])), required: true } } : {}),
    ...(!v3 && body ? { consumes: body } : {}),
    responses: { '200': ok },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(r),
  });
  if (!item) return { get: op('list', 'list', []), post: op('post', 'create', writeParameters, ['application/json', 'application/yaml']) };
  const out: Doc = { get: op('get', 'read', []), put: op('put', 'replace', writeParameters, ['application/json', 'application/yaml']), patch: op('patch', 'patch', patchParameters, patchTypes) };
  if (!subresource) out.delete = op('delete', 'delete', [queryParameter('dryRun', 'When present, indicates that modifications should not be persisted.')]);
  return out;
}

function paths(registry: ResourceRegistry, group: string, version: string, v3: boolean): Doc {
  const out: Doc = {};
  for (const r of registry.all().filter((x) => x.group === group && x.version === version)) {
    const base = `/${groupVersionPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    out[base] = operations(r, v3, false);
    out[`${base}/{name}`] = operations(r, v3, true);
    if (r.statusSubresource) out[`${base}/{name}/status`] = operations(r, v3, true, 'status');
  }
  return out;
}

function schemas(registry: ResourceRegistry, filter: (r: ResourceType) => boolean, v3: boolean): Doc {
  const out: Doc = { ...metaSchemas };
  for (const r of registry.all().filter(filter)) {
    out[definitionName(r)] = objectSchema(r, v3);
    out[definitionName(r, `${r.kind}List`)] = listSchema(r, v3);
  }
  return v3 ? out : JSON.parse(JSON.stringify(out).replace(/#\/components\/schemas\//gu, '#/definitions/')) as Doc;
}

const info = { title: 'Kubernetes', version: 'v1.34.0' };

export function openApiV3Document(registry: ResourceRegistry, group: string, version: string): Doc | undefined {
  if (!registry.all().some((r) => r.group === group && r.version === version)) return undefined;
  return { openapi: '3.0.0', info, paths: paths(registry, group, version, true), components: { schemas: schemas(registry, (r) => r.group === group && r.version === version, true) } };
}

/** `{"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=…"}}}`; the hash changes with the document. */
export function openApiV3Root(registry: ResourceRegistry): Doc {
  const out: Doc = {};
  for (const [group, versions] of registry.groups()) {
    for (const version of versions) {
      const key = groupVersionPath(group, version);
      const hash = createHash('sha512').update(JSON.stringify(openApiV3Document(registry, group, version))).digest('hex').toUpperCase();
      out[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }
  return { paths: out };
}

export function openApiV2(registry: ResourceRegistry): Doc {
  let allPaths: Doc = {};
  for (const [group, versions] of registry.groups()) for (const version of versions) allPaths = { ...allPaths, ...paths(registry, group, version, false) };
  return { swagger: '2.0', info, paths: allPaths, definitions: schemas(registry, () => true, false) };
}
