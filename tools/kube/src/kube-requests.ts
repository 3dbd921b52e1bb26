/**
 * The few writes `npm run kube` makes to its Kubernetes API, over HTTP as any client makes
 * them (so what kubectl then shows is what a real server would hold): the CRDs, the local
 * Cluster, and that Cluster's status through the status subresource.
 */
import { crdManifest, starlaneCrds, type ClusterStatus } from '@starlane/crds';
import { StarlaneError } from '@starlane/model';
import { localClusterPath } from './cluster-resource';

const crdsPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface KubeResponse {
  readonly metadata?: { readonly generation?: number; readonly resourceVersion?: string };
}

async function kubeRequest(apiUrl: string, method: 'POST' | 'PATCH', path: string, body: unknown, contentType = 'application/json'): Promise<KubeResponse> {
  const response = await fetch(`${apiUrl}${path}`, { method, headers: { 'content-type': contentType, accept: 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) {
    // A Status object's message says what the server refused (docs: kubernetes API conventions).
    let message = text;
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
    } catch {
      // not JSON: the body as it came
    }
    throw new StarlaneError('UNKNOWN_SERVER_ERROR', `${method} ${path}: ${response.status} ${message}`);
  }
  return JSON.parse(text) as KubeResponse;
}

/** Creates every Starlane CRD (the objects helm/starlane/crds and deploy/crds hold). */
export async function createCrds(apiUrl: string): Promise<void> {
  for (const definition of starlaneCrds) await kubeRequest(apiUrl, 'POST', crdsPath, crdManifest(definition));
}

/** Creates the local Cluster; returns its metadata.generation, which its status then observes. */
export async function createCluster(apiUrl: string, manifest: Record<string, unknown>): Promise<number> {
  const collection = localClusterPath.slice(0, localClusterPath.lastIndexOf('/'));
  const created = await kubeRequest(apiUrl, 'POST', collection, manifest);
  return created.metadata?.generation ?? 1;
}

/** Writes the local Cluster's status through its status subresource (a merge patch, as a controller's status write). */
export async function writeClusterStatus(apiUrl: string, status: ClusterStatus): Promise<void> {
  await kubeRequest(apiUrl, 'PATCH', `${localClusterPath}/status`, { status }, 'application/merge-patch+json');
}
