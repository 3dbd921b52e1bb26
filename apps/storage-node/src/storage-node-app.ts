import { internalV1, fileDescriptorSet } from '@starlane/proto';
import { ensureWritableDirectory, stringOption, withUnimplemented, type ServiceDescription } from '@starlane/service-host';
import { version } from '../package.json';

export const storageNodeOptions = {
  dataDir: stringOption({ help: 'directory for partition logs', default: './data/storage-node', metavar: 'DIR' }),
};

/** A storage node: stores partition logs and replicates them. */
export const storageNodeApp: ServiceDescription<typeof storageNodeOptions> = {
  name: 'storage-node',
  version,
  options: storageNodeOptions,
  fileDescriptorSet,
  async start({ config, logger }) {
    const dataDir = await ensureWritableDirectory(config.dataDir, 'data directory');
    logger.info({ dataDir }, 'data directory ready');
    return {
      services: [{ definition: internalV1.StorageNodeServiceService, implementation: withUnimplemented(internalV1.StorageNodeServiceService, {}) }],
    };
  },
};
