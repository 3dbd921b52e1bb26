/**
 * Look-ups several commands share: a topic's partitions, and offsets per partition.
 */
import { v1 } from '@starlane/proto';
import { ServerError, itemFailure } from '../errors';
import type { Gateway } from '../gateway';

/** The topic's description; a per-topic error becomes a ServerError. */
export async function describeTopic(gateway: Gateway, topic: string): Promise<v1.TopicDescription> {
  const response = await gateway.describeTopics({ topics: [topic], topicIds: [], includeConfigs: false });
  const description = response.topics[0];
  if (description === undefined) throw new ServerError('UNKNOWN_SERVER_ERROR', `the gateway described no topic for ${topic}`);
  const failure = itemFailure(description.errorCode, description.errorMessage, `topic ${topic}`);
  if (failure !== undefined) throw failure;
  return description;
}

/** The partition indexes of a topic, ascending. */
export async function topicPartitions(gateway: Gateway, topic: string): Promise<number[]> {
  const description = await describeTopic(gateway, topic);
  return description.partitions.map((partition) => partition.partition).sort((a, b) => a - b);
}

export type OffsetQuery = { readonly boundary: 'earliest' | 'latest' } | { readonly timestampMs: bigint };

function offsetSpec(query: OffsetQuery): v1.OffsetSpec {
  if ('timestampMs' in query) return { spec: { $case: 'timestampMs', value: query.timestampMs } };
  const boundary = query.boundary === 'earliest' ? v1.OffsetBoundary.EARLIEST : v1.OffsetBoundary.LATEST;
  return { spec: { $case: 'boundary', value: boundary } };
}

/**
 * Looks up offsets in one ListOffsets call: for each query, one offset per partition, in
 * partition order (-1 where a timestamp is after every record). Any per-partition error fails
 * the whole look-up.
 */
export async function listOffsets(gateway: Gateway, topic: string, partitions: readonly number[], queries: readonly OffsetQuery[]): Promise<bigint[][]> {
  const request: v1.ListOffsetsRequest = {
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    partitions: queries.flatMap((query) => partitions.map((partition) => ({ topic, partition, spec: offsetSpec(query) }))),
  };
  const response = await gateway.listOffsets(request);
  if (response.partitions.length !== request.partitions.length) {
    throw new ServerError('UNKNOWN_SERVER_ERROR', `ListOffsets answered ${response.partitions.length} results for ${request.partitions.length} partitions`);
  }
  for (const result of response.partitions) {
    const failure = itemFailure(result.errorCode, result.errorMessage, `${topic}/${result.partition}`);
    if (failure !== undefined) throw failure;
  }
  return queries.map((_query, index) => response.partitions.slice(index * partitions.length, (index + 1) * partitions.length).map((result) => result.offset));
}
