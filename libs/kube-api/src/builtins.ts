// The built-in kinds the Starlane chart renders beyond the core ones (helm/starlane with default and
// non-default values), and core pods (which `helm status` lists): apps/v1 Deployments, RBAC (Cluster)Roles and (Cluster)RoleBindings, policy/v1
// PodDisruptionBudgets. They are stored and served like any object, never schema-checked, and nothing
// acts on them (no ReplicaSets or pods appear, as with envtest). Short names, categories, verbs and
// subresources are those of a real 1.34 API server's discovery, so kubectl and helm resolve them alike.
// A ServiceMonitor (monitoring.coreos.com) is not built in: as in a cluster, it is served once its CRD
// (the Prometheus Operator's) exists.
import type { ResourceType } from './resources';

/** The verbs of a real server's discovery for most resources. */
export const allVerbs: readonly string[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface BuiltInShape {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly statusSubresource?: boolean;
  readonly tracksGeneration?: boolean;
  readonly scale?: ResourceType['scale'];
}

function builtInKind(shape: BuiltInShape): ResourceType {
  return {
    singular: shape.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    statusSubresource: false,
    tracksGeneration: false,
    builtIn: true,
    printerColumns: [],
    ...shape,
  };
}

const rbac = 'rbac.authorization.k8s.io';

export const chartBuiltInResources: readonly ResourceType[] = [
  // No pod ever runs here; the resource exists because `helm status` lists a Deployment's pods.
  builtInKind({ group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], statusSubresource: true }),
  builtInKind({
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    statusSubresource: true,
    // Workloads count spec changes in metadata.generation (the Deployment controller reports
    // status.observedGeneration against it; no controller runs here).
    tracksGeneration: true,
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
  }),
  builtInKind({ group: rbac, version: 'v1', plural: 'roles', kind: 'Role', namespaced: true }),
  builtInKind({ group: rbac, version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true }),
  builtInKind({ group: rbac, version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
  builtInKind({ group: rbac, version: 'v1', plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false }),
  builtInKind({ group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true, shortNames: ['pdb'], statusSubresource: true }),
];

/** Discovery `verbs` where a real server lists fewer than all (namespaces have no deletecollection). */
export const verbsByResource: ReadonlyMap<string, readonly string[]> = new Map([['/namespaces', ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']]]);

/** Discovery `categories` of the core built-ins (kubectl get all). */
export const categoriesByResource: ReadonlyMap<string, readonly string[]> = new Map([
  ['/services', ['all']],
  ['apiextensions.k8s.io/customresourcedefinitions', ['api-extensions']],
]);
