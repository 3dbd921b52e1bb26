import { MetadataWatcher } from '@starlane/metadata-rpc';
import { StarlaneError } from '@starlane/model';
import { systemClock } from '@starlane/node-io';
import { v1, fileDescriptorSet } from '@starlane/proto';
import { booleanOption, grpcMessageBytesMax, integerOption, stringOption, withUnimplemented, type ServiceDescription } from '@starlane/service-host';
import { version } from '../package.json';
import { AdminForwarder, TopicAutoCreatorImpl } from './admin/admin-forwarder';
import { adminService } from './admin/admin-service';
import { consumerService } from './consume/consumer-service';
import { FetchHandler } from './consume/fetch-handler';
import { ControllerClient } from './controller/controller-client';
import { produceStreamUnansweredMax } from './limits';
import { RoundRobinPartitioner } from './partitioner';
import type { MetadataSource } from './routing';
import { PartitionWriter } from './produce/partition-writer';
import { ProduceHandler } from './produce/produce-handler';
import { ProducerIdAllocator } from './produce/producer-ids';
import { producerService } from './produce/producer-service';
import { registerGatewayMetrics } from './metrics';
import { GrpcStorageTransport } from './storage/grpc-transport';
import { consumerServiceDefinition, producerServiceDefinition } from './wire/services';

export const gatewayOptions = {
  controllers: stringOption({ help: 'controller addresses (host:port, comma-separated); any of them leads to the active one', default: '127.0.0.1:9091', metavar: 'HOST:PORT,...' }),
  autoCreateTopics: booleanOption({ help: 'create a topic when a producer writes to one that does not exist', default: false }),
  defaultPartitions: integerOption({ help: 'partitions of an auto-created topic', default: 1, min: 1, max: 1_000_000 }),
  defaultReplicationFactor: integerOption({ help: 'replication factor of an auto-created topic', default: 1, min: 1, max: 32767 }),
  produceRequestBytesMax: integerOption({
    help: 'payload bytes one produce request may carry in all; larger requests fail with MESSAGE_TOO_LARGE',
    default: 32 * 1024 * 1024,
    min: 1024,
    max: grpcMessageBytesMax,
  }),
  produceStreamUnansweredMax: integerOption({
    help: 'requests a ProduceStream may have unanswered before the gateway stops reading it',
    default: produceStreamUnansweredMax,
    min: 1,
    max: 10_000,
  }),
};

export function parseControllers(raw: string): string[] {
  const addresses = raw
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address.length > 0);
  if (addresses.length === 0) throw new StarlaneError('CONFIG_INVALID', '--controllers names no address');
  return addresses;
}

/** The watcher as the gateway's MetadataSource: its image, and why there is none yet. */
function followedMetadata(watcher: MetadataWatcher, controllers: readonly string[]): MetadataSource {
  return {
    current: () => watcher.current(),
    get ready() {
      return watcher.ready;
    },
    notReadyReason: () => {
      const problem = watcher.lastProblem;
      return `no snapshot from controllers ${controllers.join(',')}${problem === undefined ? ' so far' : ` (last attempt: ${problem})`}`;
    },
    waitFor: (predicate, timeoutMs) => watcher.waitFor(predicate, timeoutMs),
  };
}

/** The gateway: the stateless client entry point that routes to partition leaders. */
export const gatewayApp: ServiceDescription<typeof gatewayOptions> = {
  name: 'gateway',
  version,
  options: gatewayOptions,
  fileDescriptorSet,
  async start({ config, logger, metrics, rpc }) {
    const controllers = parseControllers(config.controllers);
    const clock = systemClock;
    const now = (): number => clock.nowMs();
    const metadata = new MetadataWatcher({ controllers, nodeId: -1, logger, clock });
    registerGatewayMetrics({ registry: metrics, metadata, nowMs: now });
    metadata.start();
    const followed = followedMetadata(metadata, controllers);
    const transport = new GrpcStorageTransport(clock);
    const controller = new ControllerClient(controllers, followed, clock);
    const writer = new PartitionWriter({ metadata: followed, transport, now });
    const readDeps = { metadata: followed, transport, now };
    const admin = new AdminForwarder({ controller, metadata: followed, offsets: readDeps, now });
    const autoCreator = config.autoCreateTopics
      ? new TopicAutoCreatorImpl(admin, followed, { partitions: config.defaultPartitions, replicationFactor: config.defaultReplicationFactor }, now)
      : undefined;
    const produce = new ProduceHandler({ metadata: followed, writer, partitioner: new RoundRobinPartitioner(), now, requestBytesMax: config.produceRequestBytesMax, autoCreator });
    const producerIds = new ProducerIdAllocator({ allocate: (count) => controller.allocateProducerIds(count, now() + 10_000) });

    // Ready (health SERVING, /readyz 200) once the first snapshot is in: before it the gateway
    // can only refuse requests (at once, LEADER_NOT_AVAILABLE saying why), so it asks for none.
    const ready = new Promise<void>((resolve) => {
      const stop = metadata.onChange((image) => {
        stop();
        logger.info({ event: 'metadata-received', metadataVersion: image.version, topics: image.topics.size, nodes: image.nodes.size }, 'metadata received');
        resolve();
      });
    });

    return {
      services: [
        { definition: v1.AdminServiceService, implementation: withUnimplemented(v1.AdminServiceService, adminService(admin)) },
        { definition: producerServiceDefinition, implementation: withUnimplemented(producerServiceDefinition, producerService(produce, producerIds, config.produceStreamUnansweredMax, rpc)) },
        { definition: consumerServiceDefinition, implementation: withUnimplemented(consumerServiceDefinition, consumerService(new FetchHandler(readDeps), readDeps, rpc)) },
        { definition: v1.ConsumerGroupServiceService, implementation: withUnimplemented(v1.ConsumerGroupServiceService, {}) },
      ],
      ready,
      async stop() {
        metadata.close();
        transport.close();
        controller.close();
      },
    };
  },
};
