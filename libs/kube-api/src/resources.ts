// The resource types the server knows: a fixed set of built-ins, plus one per served version of each
// CustomResourceDefinition, registered when the CRD is written and dropped when it is deleted.
import { chartBuiltInResources } from './builtins';
import type { JsonSchema } from './schema';

export interface ScaleSubresource {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** With a status subresource the main endpoint ignores `status` and `/status` ignores the rest. */
  readonly statusSubresource: boolean;
  readonly scale?: ScaleSubresource;
  /** Custom resources and CRDs track `metadata.generation`; secrets, config maps etc. do not. */
  readonly tracksGeneration: boolean;
  /** Strategic-merge patches are accepted for built-ins only (a CR answers 415, as the real server does). */
  readonly builtIn: boolean;
  readonly schema?: JsonSchema;
  /** Kept for Table output (`kubectl get`), which is not served yet. */
  readonly printerColumns: readonly Record<string, unknown>[];
}

export const apiVersionOf = (r: { group: string; version: string }): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** All versions of one resource share one storage: no conversion, the stored apiVersion is rewritten on read. */
export const storageKeyOf = (r: { group: string; plural: string }): string => `${r.group}/${r.plural}`;

function builtIn(group: string, version: string, plural: string, kind: string, namespaced: boolean, shortNames: string[] = [], statusSubresource = false): ResourceType {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames,
    categories: [],
    statusSubresource,
    tracksGeneration: false,
    builtIn: true,
    printerColumns: [],
  };
}

export const builtInResources: readonly ResourceType[] = [
  builtIn('', 'v1', 'namespaces', 'Namespace', false, ['ns'], true),
  builtIn('', 'v1', 'secrets', 'Secret', true),
  builtIn('', 'v1', 'configmaps', 'ConfigMap', true, ['cm']),
  builtIn('', 'v1', 'events', 'Event', true, ['ev']),
  builtIn('', 'v1', 'services', 'Service', true, ['svc'], true),
  builtIn('', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa']),
  builtIn('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  { ...builtIn('events.k8s.io', 'v1', 'events', 'Event', true, ['ev']) },
  { ...builtIn('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, ['crd', 'crds'], true), tracksGeneration: true },
  ...chartBuiltInResources,
];

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  constructor() {
    for (const r of builtInResources) this.add(r);
  }

  add(r: ResourceType): void {
    this.types.set(`${r.group}/${r.version}/${r.plural}`, r);
  }

  removeGroupResource(group: string, plural: string): void {
    for (const [key, r] of this.types) if (r.group === group && r.plural === plural) this.types.delete(key);
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(`${group}/${version}/${plural}`);
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** Group name → versions, in registration order (the first one is preferred). */
  groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const r of this.types.values()) {
      const versions = groups.get(r.group) ?? [];
      if (!versions.includes(r.version)) versions.push(r.version);
      groups.set(r.group, versions);
    }
    return groups;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a CRD is user JSON, read defensively */
/** The resource types one CRD serves (one per served version). */
export function resourcesOfCrd(crd: any): ResourceType[] {
  const spec = crd?.spec ?? {};
  const names = spec.names ?? {};
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : [];
  return versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: String(spec.group),
      version: String(v.name),
      plural: String(names.plural),
      singular: String(names.singular ?? String(names.kind ?? '').toLowerCase()),
      kind: String(names.kind),
      namespaced: spec.scope !== 'Cluster',
      shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
      categories: Array.isArray(names.categories) ? names.categories.map(String) : [],
      statusSubresource: v.subresources?.status !== undefined,
      ...(v.subresources?.scale ? { scale: v.subresources.scale as ScaleSubresource } : {}),
      tracksGeneration: true,
      builtIn: false,
      ...(v.schema?.openAPIV3Schema ? { schema: v.schema.openAPIV3Schema as JsonSchema } : {}),
      printerColumns: Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : [],
    }));
}
/* eslint-enable @typescript-eslint/no-explicit-any */
