import { v1, internalV1, fileDescriptorSet } from '@starlane/proto';
import { ensureWritableDirectory, integerOption, stringOption, withUnimplemented, type ServiceDescription } from '@starlane/service-host';
import type * as grpc from '@grpc/grpc-js';
import { version } from '../package.json';
import { loadOrCreateClusterId } from './cluster-identity';
import { NodeFileSystem } from '@starlane/node-io';

export const controllerOptions = {
  dataDir: stringOption({ help: 'directory for cluster metadata', default: './data/controller', metavar: 'DIR' }),
  controllerId: integerOption({ help: 'id of this controller, unique among the controllers of a cluster', default: 0, min: 0, max: 2 ** 31 - 1 }),
};

/** The controller: cluster metadata, node liveness and partition leadership. */
export const controllerApp: ServiceDescription<typeof controllerOptions> = {
  name: 'controller',
  version,
  options: controllerOptions,
  fileDescriptorSet,
  async start({ config, logger }) {
    const dataDir = await ensureWritableDirectory(config.dataDir, 'metadata directory');
    const clusterId = await loadOrCreateClusterId(new NodeFileSystem(), dataDir);
    logger.info({ clusterId, dataDir }, 'cluster identity loaded');

    const admin: Partial<v1.AdminServiceServer> = {
      describeCluster(_call: grpc.ServerUnaryCall<v1.DescribeClusterRequest, v1.DescribeClusterResponse>, callback) {
        // Nodes appear here once storage-node registration lands; until then the list is honestly empty.
        callback(null, { clusterId, controllerId: config.controllerId, nodes: [], metadataVersion: 0n });
      },
    };
    return {
      services: [
        { definition: v1.AdminServiceService, implementation: withUnimplemented(v1.AdminServiceService, admin) },
        { definition: internalV1.ControllerServiceService, implementation: withUnimplemented(internalV1.ControllerServiceService, {}) },
      ],
    };
  },
};
