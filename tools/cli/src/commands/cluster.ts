/**
 * `starlane cluster describe`: cluster id, the controllers (active and standbys) and the
 * storage nodes.
 */
import { v1 } from '@starlane/proto';
import { exitCodes } from '../errors';
import { toJson } from '../json';
import { renderTable } from '../table';
import type { CommandSpec } from '../command';

const nodeStateNames: Readonly<Record<number, string>> = {
  [v1.NodeState.ACTIVE]: 'active',
  [v1.NodeState.FENCED]: 'fenced',
  [v1.NodeState.CONTROLLED_SHUTDOWN]: 'controlled-shutdown',
};

export function nodeStateName(state: v1.NodeState): string {
  return nodeStateNames[state] ?? 'unknown';
}

const controllerRoleNames: Readonly<Record<number, string>> = {
  [v1.ControllerRole.ACTIVE]: 'active',
  [v1.ControllerRole.STANDBY]: 'standby',
};

export function controllerRoleName(role: v1.ControllerRole): string {
  return controllerRoleNames[role] ?? 'unknown';
}

export const clusterDescribe: CommandSpec = {
  path: ['cluster', 'describe'],
  summary: 'Show the cluster id, the controllers (active and standby) and the storage nodes',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    json: { type: 'boolean', description: 'Print one JSON object' },
  },
  async run(context, args) {
    const cluster = await context.gateway.describeCluster();
    if (args.flag('json')) {
      context.print(
        toJson({
          clusterId: cluster.clusterId,
          controllerId: cluster.controllerId,
          metadataVersion: cluster.metadataVersion,
          controllers: cluster.controllers.map((controller) => ({ controllerId: controller.controllerId, host: controller.host, port: controller.port, role: controllerRoleName(controller.role) })),
          nodes: cluster.nodes.map((node) => ({ nodeId: node.nodeId, host: node.host, port: node.port, rack: node.rack, state: nodeStateName(node.state) })),
        }),
      );
      return exitCodes.ok;
    }
    context.print(`Cluster ID:        ${cluster.clusterId}`);
    context.print(`Controller:        ${cluster.controllerId < 0 ? 'none' : cluster.controllerId}`);
    context.print(`Metadata version:  ${cluster.metadataVersion}`);
    context.print('');
    // Gateways and controllers older than the controllers field send none: no table then.
    if (cluster.controllers.length > 0) {
      const controllers = cluster.controllers.map((controller) => [String(controller.controllerId), controller.host, String(controller.port), controllerRoleName(controller.role)]);
      for (const line of renderTable(['CONTROLLER', 'HOST', 'PORT', 'ROLE'], controllers)) context.print(line);
      context.print('');
    }
    const rows = cluster.nodes.map((node) => [String(node.nodeId), node.host, String(node.port), node.rack === '' ? '-' : node.rack, nodeStateName(node.state)]);
    for (const line of renderTable(['NODE', 'HOST', 'PORT', 'RACK', 'STATE'], rows)) context.print(line);
    return exitCodes.ok;
  },
};
