// The protobuf messages this server decodes, as field number → JSON name and kind, with the field numbers
// of k8s.io/api core/v1 and rbac/v1, apimachinery meta/v1 and runtime generated.proto. Fields not listed
// here are skipped when decoding. These are the kinds clients send in protobuf that the server needs to
// take: helm 4's release records (Secret, ConfigMap), `kubectl create namespace | serviceaccount | secret |
// configmap | role | clusterrole | rolebinding | clusterrolebinding`, and DeleteOptions (a typed client's DELETE with options).

export type Scalar = 'string' | 'bool' | 'int64' | 'bytes';
export type FieldKind =
  | Scalar
  | { readonly message: MessageSpec }
  | { readonly repeated: 'string' | MessageSpec }
  | { readonly map: 'string' | 'bytes' }
  | 'time'
  | 'fieldsV1';

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
}

/** Field number → JSON name and kind, as in generated.proto. */
export type MessageSpec = ReadonlyMap<number, FieldSpec>;

const spec = (fields: Record<number, FieldSpec>): MessageSpec => new Map(Object.entries(fields).map(([no, f]) => [Number(no), f]));

// apimachinery pkg/apis/meta/v1/generated.proto
const ownerReference = spec({
  5: { name: 'apiVersion', kind: 'string' },
  1: { name: 'kind', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  6: { name: 'controller', kind: 'bool' },
  7: { name: 'blockOwnerDeletion', kind: 'bool' },
});

const managedFieldsEntry = spec({
  1: { name: 'manager', kind: 'string' },
  2: { name: 'operation', kind: 'string' },
  3: { name: 'apiVersion', kind: 'string' },
  4: { name: 'time', kind: 'time' },
  6: { name: 'fieldsType', kind: 'string' },
  7: { name: 'fieldsV1', kind: 'fieldsV1' },
  8: { name: 'subresource', kind: 'string' },
});

const objectMeta = spec({
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  4: { name: 'selfLink', kind: 'string' },
  5: { name: 'uid', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'generation', kind: 'int64' },
  8: { name: 'creationTimestamp', kind: 'time' },
  9: { name: 'deletionTimestamp', kind: 'time' },
  10: { name: 'deletionGracePeriodSeconds', kind: 'int64' },
  11: { name: 'labels', kind: { map: 'string' } },
  12: { name: 'annotations', kind: { map: 'string' } },
  13: { name: 'ownerReferences', kind: { repeated: ownerReference } },
  14: { name: 'finalizers', kind: { repeated: 'string' } },
  17: { name: 'managedFields', kind: { repeated: managedFieldsEntry } },
});

const preconditions = spec({ 1: { name: 'uid', kind: 'string' }, 2: { name: 'resourceVersion', kind: 'string' } });

const deleteOptions = spec({
  1: { name: 'gracePeriodSeconds', kind: 'int64' },
  2: { name: 'preconditions', kind: { message: preconditions } },
  3: { name: 'orphanDependents', kind: 'bool' },
  4: { name: 'propagationPolicy', kind: 'string' },
  5: { name: 'dryRun', kind: { repeated: 'string' } },
});

// k8s.io/api core/v1/generated.proto
const secret = spec({
  1: { name: 'metadata', kind: { message: objectMeta } },
  5: { name: 'immutable', kind: 'bool' },
  2: { name: 'data', kind: { map: 'bytes' } },
  4: { name: 'stringData', kind: { map: 'string' } },
  3: { name: 'type', kind: 'string' },
});

const configMap = spec({
  1: { name: 'metadata', kind: { message: objectMeta } },
  4: { name: 'immutable', kind: 'bool' },
  2: { name: 'data', kind: { map: 'string' } },
  3: { name: 'binaryData', kind: { map: 'bytes' } },
});

const objectReference = spec({
  1: { name: 'kind', kind: 'string' },
  2: { name: 'namespace', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'fieldPath', kind: 'string' },
});

const serviceAccount = spec({
  1: { name: 'metadata', kind: { message: objectMeta } },
  2: { name: 'secrets', kind: { repeated: objectReference } },
  3: { name: 'imagePullSecrets', kind: { repeated: spec({ 1: { name: 'name', kind: 'string' } }) } },
  4: { name: 'automountServiceAccountToken', kind: 'bool' },
});

const namespace = spec({
  1: { name: 'metadata', kind: { message: objectMeta } },
  2: { name: 'spec', kind: { message: spec({ 1: { name: 'finalizers', kind: { repeated: 'string' } } }) } },
  3: {
    name: 'status',
    kind: {
      message: spec({
        1: { name: 'phase', kind: 'string' },
        2: {
          name: 'conditions',
          kind: {
            repeated: spec({
              1: { name: 'type', kind: 'string' },
              2: { name: 'status', kind: 'string' },
              4: { name: 'lastTransitionTime', kind: 'time' },
              5: { name: 'reason', kind: 'string' },
              6: { name: 'message', kind: 'string' },
            }),
          },
        },
      }),
    },
  },
});

// k8s.io/api rbac/v1/generated.proto
const policyRule = spec({
  1: { name: 'verbs', kind: { repeated: 'string' } },
  2: { name: 'apiGroups', kind: { repeated: 'string' } },
  3: { name: 'resources', kind: { repeated: 'string' } },
  4: { name: 'resourceNames', kind: { repeated: 'string' } },
  5: { name: 'nonResourceURLs', kind: { repeated: 'string' } },
});

const labelSelector = spec({
  1: { name: 'matchLabels', kind: { map: 'string' } },
  2: {
    name: 'matchExpressions',
    kind: { repeated: spec({ 1: { name: 'key', kind: 'string' }, 2: { name: 'operator', kind: 'string' }, 3: { name: 'values', kind: { repeated: 'string' } } }) },
  },
});

const role = spec({ 1: { name: 'metadata', kind: { message: objectMeta } }, 2: { name: 'rules', kind: { repeated: policyRule } } });

const clusterRole = spec({
  1: { name: 'metadata', kind: { message: objectMeta } },
  2: { name: 'rules', kind: { repeated: policyRule } },
  3: { name: 'aggregationRule', kind: { message: spec({ 1: { name: 'clusterRoleSelectors', kind: { repeated: labelSelector } } }) } },
});

const roleBinding = spec({
  1: { name: 'metadata', kind: { message: objectMeta } },
  2: { name: 'subjects', kind: { repeated: spec({ 1: { name: 'kind', kind: 'string' }, 2: { name: 'apiGroup', kind: 'string' }, 3: { name: 'name', kind: 'string' }, 4: { name: 'namespace', kind: 'string' } }) } },
  3: { name: 'roleRef', kind: { message: spec({ 1: { name: 'apiGroup', kind: 'string' }, 2: { name: 'kind', kind: 'string' }, 3: { name: 'name', kind: 'string' } }) } },
});

/** The kinds accepted in protobuf, by `apiVersion/kind` of the envelope's typeMeta. */
export const decodableKinds: ReadonlyMap<string, MessageSpec> = new Map([
  ['v1/Secret', secret],
  ['v1/ConfigMap', configMap],
  ['v1/Namespace', namespace],
  ['v1/ServiceAccount', serviceAccount],
  ['rbac.authorization.k8s.io/v1/Role', role],
  ['rbac.authorization.k8s.io/v1/ClusterRole', clusterRole],
  ['rbac.authorization.k8s.io/v1/RoleBinding', roleBinding],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', roleBinding],
  // DeleteOptions arrive as meta.k8s.io/v1 (newer clients) or v1 (older ones).
  ['meta.k8s.io/v1/DeleteOptions', deleteOptions],
  ['v1/DeleteOptions', deleteOptions],
]);

// apimachinery pkg/runtime/generated.proto: Unknown {typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4}
const typeMeta = spec({ 1: { name: 'apiVersion', kind: 'string' }, 2: { name: 'kind', kind: 'string' } });
export const unknownEnvelope = spec({
  1: { name: 'typeMeta', kind: { message: typeMeta } },
  2: { name: 'raw', kind: 'bytes' },
  3: { name: 'contentEncoding', kind: 'string' },
  4: { name: 'contentType', kind: 'string' },
});
