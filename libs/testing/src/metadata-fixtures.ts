/**
 * Fixtures for tests of the storage node's code: metadata images and topics built from plain
 * values (as seen by node `thisNode` of cluster `clusterId`), record batches of numbered
 * values and their decoding, and a logger that keeps its lines for assertions.
 */
import { imageFromSnapshot, type MetadataImage, type NodeInfo, type PartitionState, type TopicState } from '@starlane/metadata';
import { buildBatch, readBatch, scanBatches } from '@starlane/record-batch';

export const clusterId = 'cluster-test';
export const thisNode = 1;

export interface TopicSpec {
  readonly name: string;
  readonly topicId: string;
  /** One entry per partition; defaults: led by this node in epoch 0, replicas [this node]. */
  readonly partitions?: readonly Partial<PartitionState>[];
  readonly configs?: Record<string, string>;
}

export function topic(spec: TopicSpec): TopicState {
  const partitions = (spec.partitions ?? [{}]).map(
    (partition, index): PartitionState => ({
      partition: index,
      leader: thisNode,
      leaderEpoch: 0,
      partitionEpoch: 0,
      replicas: [thisNode],
      isr: [thisNode],
      elr: [],
      offlineReplicas: [],
      addingReplicas: [],
      removingReplicas: [],
      ...partition,
    }),
  );
  return { name: spec.name, topicId: spec.topicId, internal: false, partitions, configs: spec.configs ?? {} };
}

export function image(
  version: number,
  topics: readonly TopicState[],
  options: {
    clusterId?: string;
    clusterConfigs?: Record<string, string>;
    otherNodes?: readonly number[];
    ports?: Readonly<Record<number, number>>;
    /** Per node: what differs from an active node of unknown epoch (state, nodeEpoch, ...). */
    nodes?: Readonly<Record<number, Partial<NodeInfo>>>;
  } = {},
): MetadataImage {
  return imageFromSnapshot({
    clusterId: options.clusterId ?? clusterId,
    version,
    controller: undefined,
    nodes: [thisNode, ...(options.otherNodes ?? [])].map(
      (nodeId): NodeInfo => ({ nodeId, host: '127.0.0.1', port: options.ports?.[nodeId] ?? nodeId, rack: '', state: 'active', nodeEpoch: 0, offlineLogDirIds: [], ...options.nodes?.[nodeId] }),
    ),
    topics,
    clusterConfigs: options.clusterConfigs ?? {},
  });
}

/** Log lines, kept for assertions. */
export class RecordingLogger {
  readonly lines: { level: string; message: string; fields: object }[] = [];
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', message, fields });
  }
}

/** A producer batch of `count` records with values `<tag>-<i>`. */
export function batch(tag: string, count = 1, options: { valueBytes?: number; timestamp?: bigint } = {}): Promise<Buffer> {
  const timestamp = options.timestamp ?? 1_700_000_000_000n;
  return buildBatch(
    Array.from({ length: count }, (_, i) => ({
      key: null,
      value: options.valueBytes === undefined ? Buffer.from(`${tag}-${i}`) : Buffer.alloc(options.valueBytes, i),
      timestamp: timestamp + BigInt(i),
    })),
  );
}

/** Records of concatenated batches: offset, value and the leader epoch of their batch. */
export async function recordsOf(batches: Buffer): Promise<{ offset: bigint; value: string; epoch: number }[]> {
  const out: { offset: bigint; value: string; epoch: number }[] = [];
  for (const slice of scanBatches(batches, { batchBytesMax: 1 << 30 }).batches) {
    const decoded = await readBatch(slice.bytes);
    for (const record of decoded.records) out.push({ offset: record.offset, value: record.value?.toString() ?? '<null>', epoch: decoded.header.partitionLeaderEpoch });
  }
  return out;
}
