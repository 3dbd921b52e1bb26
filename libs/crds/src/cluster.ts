import { conditionsSchema, type Condition, type CrdDefinition } from './schema';

/** Where the cluster's metadata controllers live: run by the operator, or an external etcd. */
export type ControllersSpec =
  | { mode: 'Embedded'; replicas?: number }
  | { mode: 'Etcd'; etcdEndpoints: string[]; etcdPrefix?: string };

export interface ClusterSpec {
  /** Container image of the Starlane apps; defaults to the operator's own version. */
  image?: string;
  storageNodes: {
    /** Number of storage nodes; the scale subresource points here. */
    replicas: number;
    storageSize?: string;
    storageClassName?: string;
    resources?: ResourceRequirements;
  };
  controllers?: ControllersSpec;
  gateways?: { replicas?: number; kafkaPort?: number; grpcPort?: number; resources?: ResourceRequirements };
  /** Node label whose value is the rack (broker.rack) of a storage node, e.g. topology.kubernetes.io/zone. */
  rackLabel?: string;
  /** Cluster-wide defaults for topics that do not set them. */
  defaults?: { replicationFactor?: number; partitions?: number };
}

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface ClusterStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  clusterId?: string;
  /** host:port of the public gRPC API (admin, produce, consume); what the operator and clients dial. */
  gatewayAddress?: string;
  /** host:port of the Kafka protocol listener. */
  kafkaAddress?: string;
  /** host:port list of the metadata controllers. */
  controllerAddresses?: string[];
  /** Ready storage nodes (the scale subresource's status.replicas). */
  storageNodes?: number;
  selector?: string;
  phase?: 'Pending' | 'Running' | 'Scaling' | 'Degraded';
}

export const clusterReadyReasons = ['Reconciled', 'Reconciling', 'Degraded', 'ScaleDownBlocked', 'InvalidSpec'] as const;
export type ClusterReadyReason = (typeof clusterReadyReasons)[number];

// Bounds on one resource's ask; a larger cluster is a deliberate change of these constants.
export const clusterStorageNodesMax = 256;
export const clusterControllersMax = 7;
export const clusterGatewaysMax = 64;

const quantity = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?([KMGTPE]i?|[munk])?$' } as const;
const resources = {
  type: 'object',
  properties: {
    requests: { type: 'object', additionalProperties: { type: 'string' } },
    limits: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

export const clusterCrd: CrdDefinition = {
  kind: 'Cluster',
  plural: 'clusters',
  singular: 'cluster',
  shortNames: ['slc', 'slcluster'],
  categories: ['starlane'],
  description: 'A Starlane cluster (controllers, storage nodes, gateways) run by the operator.',
  spec: {
    type: 'object',
    required: ['storageNodes'],
    properties: {
      image: { type: 'string' },
      storageNodes: {
        type: 'object',
        required: ['replicas'],
        properties: {
          replicas: { type: 'integer', minimum: 0, maximum: clusterStorageNodesMax },
          storageSize: { ...quantity, default: '10Gi' },
          storageClassName: { type: 'string' },
          resources,
        },
      },
      controllers: {
        type: 'object',
        required: ['mode'],
        properties: {
          mode: { type: 'string', enum: ['Embedded', 'Etcd'], default: 'Embedded' },
          replicas: { type: 'integer', minimum: 1, maximum: clusterControllersMax, default: 3 },
          etcdEndpoints: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 16 },
          etcdPrefix: { type: 'string' },
        },
        'x-kubernetes-validations': [
          {
            rule: "self.mode != 'Etcd' || (has(self.etcdEndpoints) && size(self.etcdEndpoints) > 0)",
            message: 'mode Etcd needs etcdEndpoints',
          },
        ],
      },
      gateways: {
        type: 'object',
        properties: {
          replicas: { type: 'integer', minimum: 0, maximum: clusterGatewaysMax, default: 2 },
          kafkaPort: { type: 'integer', minimum: 1, maximum: 65535, default: 9092 },
          grpcPort: { type: 'integer', minimum: 1, maximum: 65535, default: 7070 },
          resources,
        },
      },
      rackLabel: { type: 'string', maxLength: 317 },
      defaults: {
        type: 'object',
        properties: {
          replicationFactor: { type: 'integer', minimum: 1, maximum: 32 },
          partitions: { type: 'integer', minimum: 1 },
        },
      },
    },
  },
  status: {
    type: 'object',
    properties: {
      conditions: conditionsSchema,
      observedGeneration: { type: 'integer', minimum: 0 },
      clusterId: { type: 'string' },
      gatewayAddress: { type: 'string' },
      kafkaAddress: { type: 'string' },
      controllerAddresses: { type: 'array', items: { type: 'string' } },
      storageNodes: { type: 'integer', minimum: 0 },
      selector: { type: 'string' },
      phase: { type: 'string', enum: ['Pending', 'Running', 'Scaling', 'Degraded'] },
    },
  },
  printerColumns: [
    { name: 'Nodes', type: 'integer', jsonPath: '.spec.storageNodes.replicas' },
    { name: 'Ready Nodes', type: 'integer', jsonPath: '.status.storageNodes' },
    { name: 'Gateway', type: 'string', jsonPath: '.status.gatewayAddress' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  scale: {
    specReplicasPath: '.spec.storageNodes.replicas',
    statusReplicasPath: '.status.storageNodes',
    labelSelectorPath: '.status.selector',
  },
};
