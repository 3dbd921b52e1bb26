// meta.k8s.io/v1 Table output, which `kubectl get` asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Custom resources get their CRD's
// additionalPrinterColumns (apiextensions-apiserver registry/customresource/tableconvertor): cells from a
// JSONPath, `date` cells turned into an age ("5m", as the server's ConvertToHumanReadableDateType does),
// `priority` kept (kubectl shows priority > 0 only with -o wide). Built-ins get the columns of their real
// printers for the few kinds served here, NAME / AGE for the rest.
import { jsonPathFirst } from './jsonpath';
import type { ResourceType } from './resources';
import type { KubeObject } from './store';
import { badRequest } from './status';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

interface Column extends ColumnDefinition {
  readonly cell: (o: KubeObject) => unknown;
}

/** Whether an Accept header asks for a Table (the first acceptable type that names one). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((type) => {
    const params = type.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && (params.includes('v=v1') || params.includes('v=v1beta1'));
  });
}

/** apimachinery util/duration HumanDuration: the age kubectl prints. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

function age(value: unknown, now: Date): unknown {
  if (typeof value !== 'string') return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? '<invalid>' : humanDuration(now.getTime() - at);
}

/** The CRD table convertor's cell for a non-string column (cellForJSONValue). */
function typedCell(type: string, value: unknown, now: Date): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return age(value, now);
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    default:
      return null;
  }
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
  cell: (o) => o.metadata.name,
};

const column = (name: string, type: string, cell: (o: KubeObject) => unknown, description = ''): Column => ({ name, type, format: '', description, priority: 0, cell });

function builtInColumns(r: ResourceType, now: Date): Column[] {
  const ageColumn = column('Age', 'string', (o) => age(o.metadata.creationTimestamp, now), 'CreationTimestamp is a timestamp representing the server time when this object was created.');
  const count = (v: unknown): number => (v && typeof v === 'object' ? Object.keys(v).length : 0);
  switch (`${r.group}/${r.plural}`) {
    case '/namespaces':
      return [nameColumn, column('Status', 'string', (o) => o.status?.phase ?? ''), ageColumn];
    case '/secrets':
      return [nameColumn, column('Type', 'string', (o) => o.type ?? 'Opaque'), column('Data', 'string', (o) => count(o.data)), ageColumn];
    case '/configmaps':
      return [nameColumn, column('Data', 'string', (o) => count(o.data) + count(o.binaryData)), ageColumn];
    case '/events':
      return [
        column('Last Seen', 'string', (o) => age(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now)),
        column('Type', 'string', (o) => o.type ?? ''),
        column('Reason', 'string', (o) => o.reason ?? ''),
        column('Object', 'string', (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`),
        column('Message', 'string', (o) => o.message ?? ''),
      ];
    case 'apiextensions.k8s.io/customresourcedefinitions':
      return [nameColumn, column('Created At', 'date', (o) => o.metadata.creationTimestamp)];
    default:
      return [nameColumn, ageColumn];
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- printer columns are CRD JSON */
/** A CRD version without printer columns gets Age (apiextensions-apiserver serveDefaultColumnsIfEmpty). */
const defaultCrdColumns = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' }];

function crdColumns(r: ResourceType, now: Date): Column[] {
  return [
    nameColumn,
    ...(r.printerColumns.length > 0 ? r.printerColumns : defaultCrdColumns).map((c: any): Column => {
      const type = String(c.type ?? 'string');
      return {
        name: String(c.name),
        type,
        format: String(c.format ?? ''),
        description: String(c.description ?? ''),
        priority: Number(c.priority ?? 0),
        cell: (o) => typedCell(type, jsonPathFirst(o, String(c.jsonPath ?? '')), now),
      };
    }),
  ];
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject') ?? 'Metadata';
  if (value !== 'None' && value !== 'Metadata' && value !== 'Object') throw badRequest(`includeObject: Unsupported value: "${value}": supported values: "None", "Metadata", "Object"`);
  return value;
}

/** A Table of the objects, as the real server answers a list (or a get) asked for as=Table. */
export function toTable(r: ResourceType, objects: readonly KubeObject[], options: { resourceVersion?: string; includeObject: IncludeObject; now: Date; noHeaders?: boolean }): KubeObject {
  const columns = r.builtIn ? builtInColumns(r, options.now) : crdColumns(r, options.now);
  const rowObject = (o: KubeObject): KubeObject | undefined => {
    if (options.includeObject === 'None') return undefined;
    if (options.includeObject === 'Object') return o;
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: options.resourceVersion ? { resourceVersion: options.resourceVersion } : {},
    ...(options.noHeaders ? {} : { columnDefinitions: columns.map(({ cell: _cell, ...definition }) => definition) }),
    rows: objects.map((o) => {
      const object = rowObject(o);
      return { cells: columns.map((c) => c.cell(o) ?? null), ...(object ? { object } : {}) };
    }),
  };
}
