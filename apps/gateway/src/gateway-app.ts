import { v1, fileDescriptorSet } from '@starlane/proto';
import { withUnimplemented, type ServiceDescription } from '@starlane/service-host';
import { version } from '../package.json';

export const gatewayOptions = {};

/** The gateway: the stateless client entry point that routes to partition leaders. */
export const gatewayApp: ServiceDescription<typeof gatewayOptions> = {
  name: 'gateway',
  version,
  options: gatewayOptions,
  fileDescriptorSet,
  async start() {
    const publicServices = [v1.AdminServiceService, v1.ProducerServiceService, v1.ConsumerServiceService, v1.ConsumerGroupServiceService];
    return { services: publicServices.map((definition) => ({ definition, implementation: withUnimplemented(definition, {}) })) };
  },
};
