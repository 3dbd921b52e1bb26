// The HTTP side of server-side apply and of field managers: reading request bodies in JSON or YAML, the
// `fieldManager` a write is recorded under, and PATCH with application/apply-patch+yaml.
import { parse } from 'yaml';
import { applyConfiguration } from './apply';
import { isObject } from './json';
import { decodeManagers, trackingSchema } from './managed-fields';
import type { FieldValidation, ObjectRules, WriteResult } from './objects';
import { checkBodyKeys } from './safe-keys';
import { type ResourceType, apiVersionOf, storageKeyOf } from './resources';
import type { KubeObject, ObjectStore } from './store';
import { KubeStatusError, badRequest, conflict, invalid, notFound, unsupportedMediaType } from './status';

/** The real server keeps at most this much of a manager name (apiserver fieldmanager validation). */
export const fieldManagerLengthMax = 128;

export const mediaTypeOf = (contentType: string): string => (contentType.split(';')[0] ?? '').trim().toLowerCase();

/** A request body as JSON, or YAML where the media type says so (kubectl and helm send JSON; people send YAML). */
export function parseBody(contentType: string, body: Buffer, yamlAllowed = false): unknown {
  const type = mediaTypeOf(contentType);
  const yaml = type === 'application/yaml' || type === 'application/apply-patch+yaml';
  if (!yaml && type !== 'application/json' && type !== '*/*' && type !== '' && !yamlAllowed) throw unsupportedMediaType(type);
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = yaml ? (parse(text) as unknown) : (JSON.parse(text) as unknown);
  } catch {
    throw badRequest(`the body of the request is not valid ${yaml ? 'YAML' : 'JSON'}`);
  }
  return checkBodyKeys(parsed);
}

/**
 * The manager a write is recorded under: the `fieldManager` query parameter, else the user agent up to its
 * first `/` (`kubectl/v1.34.1 (linux/amd64) …` → `kubectl`), as the real server derives it.
 */
export function fieldManagerOf(query: URLSearchParams, userAgent: string | undefined): string | undefined {
  const given = query.get('fieldManager');
  if (given !== null) {
    if (given.length > fieldManagerLengthMax) throw invalid('PatchOptions.meta.k8s.io', 'meta.k8s.io', '', [{ reason: 'FieldValueTooLong', field: 'fieldManager', message: `Too long: may not be more than ${fieldManagerLengthMax} bytes` }]);
    return given;
  }
  const prefix = (userAgent ?? '').split('/')[0]?.slice(0, fieldManagerLengthMax);
  return prefix || undefined;
}

export interface ApplyOptions {
  readonly fieldManager?: string;
  readonly force: boolean;
  readonly fieldValidation?: FieldValidation;
  readonly dryRun?: boolean;
}

/** PATCH with application/apply-patch+yaml: merges by ownership, creating the object when it is missing (201). */
export function serverSideApply(
  rules: ObjectRules,
  store: ObjectStore,
  r: ResourceType,
  target: { namespace: string; name: string; subresource: 'status' | undefined },
  body: Buffer,
  options: ApplyOptions,
): { code: number; result: WriteResult } {
  const { namespace, name, subresource } = target;
  const manager = options.fieldManager;
  if (!manager) throw invalid('PatchOptions.meta.k8s.io', 'meta.k8s.io', '', [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }]);
  const config = parseBody('application/apply-patch+yaml', body);
  if (!isObject(config)) throw badRequest('the body of an apply patch must be an object');
  const configured = config as KubeObject;
  if (typeof configured.apiVersion !== 'string' || typeof configured.kind !== 'string') throw badRequest('apiVersion and kind must be set in an apply configuration');
  const meta: KubeObject = isObject(configured.metadata) ? configured.metadata : {};
  if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
  configured.metadata = { ...meta, name, ...(r.namespaced ? { namespace } : {}) };
  const current = store.get(storageKeyOf(r), r.namespaced ? namespace : '', name);
  if (!current && subresource) throw notFound(r, name);
  // A resourceVersion in the configuration is a precondition, as for any patch.
  if (current && meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) throw conflict(r, name);
  delete configured.metadata.resourceVersion;
  const scope = subresource === 'status' ? 'status' : r.statusSubresource ? 'main' : 'all';
  const { object, managers } = applyConfiguration(decodeManagers(current?.metadata.managedFields), current ? rules.present(r, current) : undefined, configured, {
    manager,
    force: options.force,
    ...(subresource ? { subresource } : {}),
    apiVersion: apiVersionOf(r),
    time: rules.timeNow(),
    schema: trackingSchema(r.schema),
    scope,
  });
  const writeOptions = { ...(options.fieldValidation ? { fieldValidation: options.fieldValidation } : {}), ...(options.dryRun ? { dryRun: true } : {}), managers };
  if (!current) {
    delete object.metadata.managedFields;
    return { code: 201, result: rules.create(r, namespace, object, writeOptions) };
  }
  object.metadata.resourceVersion = current.metadata.resourceVersion;
  return { code: 200, result: rules.replace(r, current, object, subresource, writeOptions) };
}

/** `force` belongs to apply alone (apiserver: "force: Forbidden: may not be specified for non-apply patch"). */
export function checkForce(query: URLSearchParams, apply: boolean): boolean {
  const force = query.get('force');
  if (force === null) return false;
  if (!apply) throw new KubeStatusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  return force === 'true' || force === '1';
}
