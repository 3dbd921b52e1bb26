// Structural-schema handling of custom resources, in the real API server's order: prune unknown fields,
// apply defaults, then validate (apiextensions-apiserver pkg/apiserver/schema). CEL rules, formats and
// x-kubernetes-validations are not evaluated.
import { isObject } from './json';
import type { StatusCause } from './status';

export interface JsonSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly items?: JsonSchema;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly nullable?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly description?: string;
}

type Json = unknown;
/** apiVersion, kind and metadata are never pruned or checked against the CRD's schema. */
const rootFields = new Set(['apiVersion', 'kind', 'metadata']);

/** Removes fields the schema does not declare; returns their paths (for fieldValidation=Strict|Warn). */
export function prune(schema: JsonSchema, value: Json, path = '', root = true): string[] {
  const pruned: string[] = [];
  if (schema['x-kubernetes-preserve-unknown-fields']) return pruned;
  if (isObject(value)) {
    const props = schema.properties ?? {};
    const extra = schema.additionalProperties;
    for (const key of Object.keys(value)) {
      const child = `${path}.${key}`;
      if (root && rootFields.has(key)) continue;
      if (props[key]) pruned.push(...prune(props[key], value[key], child, false));
      else if (typeof extra === 'object') pruned.push(...prune(extra, value[key], child, false));
      else if (extra !== true) {
        delete value[key];
        pruned.push(child.slice(1));
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => pruned.push(...prune(schema.items as JsonSchema, item, `${path}[${i}]`, false)));
  }
  return pruned;
}

/** Fills missing properties that declare a default, recursively. */
export function applyDefaults(schema: JsonSchema, value: Json): void {
  if (isObject(value)) {
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (value[key] === undefined && child.default !== undefined) value[key] = structuredClone(child.default);
      if (value[key] !== undefined) applyDefaults(child, value[key]);
    }
    const extra = schema.additionalProperties;
    if (typeof extra === 'object') for (const key of Object.keys(value)) applyDefaults(extra, value[key]);
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(schema.items, item);
  }
}

function typeMatches(schema: JsonSchema, value: Json): boolean {
  if (schema['x-kubernetes-int-or-string']) return typeof value === 'string' || Number.isInteger(value);
  switch (schema.type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case undefined:
    default:
      return true;
  }
}

const cause = (field: string, message: string, reason = 'FieldValueInvalid'): StatusCause => ({ reason, message, field });

/** The causes of a 422 Invalid, worded as the real server words them. */
export function validate(schema: JsonSchema, value: Json, path = ''): StatusCause[] {
  const field = path.startsWith('.') ? path.slice(1) : path || '<root>';
  if (value === null) return schema.nullable || !schema.type ? [] : [cause(field, `Invalid value: "null": ${field} in body must be of type ${schema.type}: "null"`, 'FieldValueTypeInvalid')];
  if (!typeMatches(schema, value)) {
    return [cause(field, `Invalid value: "${typeof value}": ${field} in body must be of type ${schema.type}: "${typeof value}"`, 'FieldValueTypeInvalid')];
  }
  const causes: StatusCause[] = [];
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    causes.push(cause(field, `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`, 'FieldValueNotSupported'));
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) causes.push(cause(field, `Invalid value: ${value}: ${field} in body should be greater than or equal to ${schema.minimum}`));
    if (schema.maximum !== undefined && value > schema.maximum) causes.push(cause(field, `Invalid value: ${value}: ${field} in body should be less than or equal to ${schema.maximum}`));
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) causes.push(cause(field, `Invalid value: "${value}": ${field} in body should be at least ${schema.minLength} chars long`));
    if (schema.maxLength !== undefined && value.length > schema.maxLength) causes.push(cause(field, `Invalid value: "${value}": ${field} in body may not be more than ${schema.maxLength} chars long`, 'FieldValueTooLong'));
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) causes.push(cause(field, `Invalid value: "${value}": ${field} in body should match '${schema.pattern}'`));
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) causes.push(cause(field, `Invalid value: ${value.length}: ${field} in body should have at least ${schema.minItems} items`));
    if (schema.maxItems !== undefined && value.length > schema.maxItems) causes.push(cause(field, `Too many: ${value.length}: must have at most ${schema.maxItems} items`, 'FieldValueTooMany'));
    if (schema.items) value.forEach((item, i) => causes.push(...validate(schema.items as JsonSchema, item, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    for (const name of schema.required ?? []) if (value[name] === undefined) causes.push(cause(`${field === '<root>' ? '' : `${field}.`}${name}`, 'Required value', 'FieldValueRequired'));
    for (const [key, child] of Object.entries(value)) {
      const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (sub && !(path === '' && rootFields.has(key))) causes.push(...validate(sub, child, `${path}.${key}`));
    }
  }
  return causes;
}
