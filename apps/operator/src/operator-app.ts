import { type ServiceDescription } from '@starlane/service-host';
import { version } from '../package.json';

export const operatorOptions = {};

/** The operator: reconciles Topic and Cluster custom resources on Kubernetes. It serves only
 * health (for its pod's probes) and metrics; it is a client of the cluster, not a server. */
export const operatorApp: ServiceDescription<typeof operatorOptions> = {
  name: 'operator',
  version,
  options: operatorOptions,
  async start() {
    return { services: [] };
  },
};
