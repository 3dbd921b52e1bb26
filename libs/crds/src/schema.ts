// The OpenAPI v3 subset a CustomResourceDefinition accepts (a structural schema: every field has a
// type, no $ref, x-kubernetes-* extensions allowed). Kept minimal: only what our CRDs use.
export interface OpenApiSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, OpenApiSchema>>;
  readonly required?: readonly string[];
  readonly items?: OpenApiSchema;
  readonly additionalProperties?: OpenApiSchema;
  readonly enum?: readonly (string | number)[];
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-validations'?: readonly { readonly rule: string; readonly message: string }[];
}

/** A printer column (`kubectl get`), CRD `additionalPrinterColumns`. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

/** Everything that differs between our CRDs; crdManifest() turns it into the CRD object. */
export interface CrdDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly description: string;
  readonly spec: OpenApiSchema;
  readonly status: OpenApiSchema;
  readonly printerColumns: readonly PrinterColumn[];
  readonly scale?: {
    readonly specReplicasPath: string;
    readonly statusReplicasPath: string;
    readonly labelSelectorPath?: string;
  };
}

export const crdGroup = 'starlane.dev';
export const crdVersion = 'v1alpha1';
export const crdApiVersion = `${crdGroup}/${crdVersion}`;

/** The standard Condition shape (meta/v1 Condition), as CRDs declare it. */
export const conditionsSchema: OpenApiSchema = {
  type: 'array',
  description: 'Latest observations of the resource state (meta/v1 Condition).',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  maxItems: 8,
  items: {
    type: 'object',
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: { type: 'string', maxLength: 316 },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      observedGeneration: { type: 'integer', minimum: 0 },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      reason: { type: 'string', maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
      message: { type: 'string', maxLength: 32768 },
    },
  },
};

/** meta/v1 Condition as the operator reads and writes it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The object-level schema of one version: apiVersion, kind, metadata, spec, status. */
export function resourceSchema(def: CrdDefinition): OpenApiSchema {
  return {
    type: 'object',
    description: def.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: def.spec,
      status: def.status,
    },
  };
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition object for one definition. */
export function crdManifest(def: CrdDefinition): Record<string, unknown> {
  const subresources: Record<string, unknown> = { status: {} };
  if (def.scale) subresources['scale'] = { ...def.scale };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${crdGroup}`,
      labels: { 'app.kubernetes.io/part-of': 'starlane' },
    },
    spec: {
      group: crdGroup,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: [...def.shortNames],
        categories: [...def.categories],
      },
      versions: [
        {
          name: crdVersion,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: resourceSchema(def) },
          subresources,
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
        },
      ],
    },
  };
}
