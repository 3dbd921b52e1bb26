import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Ajv from 'ajv';
import { resourceSchema, starlaneCrds } from '@starlane/crds';

export interface ValidationResult {
  readonly kind: string;
  readonly name: string | undefined;
  readonly error?: string;
}

export type KubeObject = { apiVersion: string; kind: string; metadata?: { name?: string } } & Record<string, unknown>;

/** Validates built-in (and Prometheus Operator) objects against the Kubernetes schemas of their kinds. */
export function validateBuiltinObjects(objects: readonly KubeObject[]): ValidationResult[] {
  const output = execFileSync(process.execPath, [join(__dirname, 'validate-k8s-objects.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(output) as ValidationResult[];
}

// ajv 6 ignores the x-kubernetes-* extensions; what is left is plain JSON Schema.
const ajv = new Ajv({ allErrors: true });
const starlaneValidators = new Map(
  starlaneCrds.map((def) => [def.kind, ajv.compile(resourceSchema(def) as object)] as const),
);

/** Validates a starlane.dev custom resource against its CRD's OpenAPI v3 schema. */
export function validateStarlaneObject(object: KubeObject): ValidationResult {
  const name = object.metadata?.name;
  const validate = object.apiVersion === 'starlane.dev/v1alpha1' ? starlaneValidators.get(object.kind) : undefined;
  if (!validate) return { kind: object.kind, name, error: `not a starlane.dev/v1alpha1 kind: ${object.apiVersion} ${object.kind}` };
  if (validate(object)) return { kind: object.kind, name };
  return { kind: object.kind, name, error: ajv.errorsText(validate.errors) };
}
