/**
 * Look-ups several commands share: a topic's partitions, and offsets per partition.
 */
import { backoffMs, type BackoffBounds } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { ServerError, itemFailure } from '../errors';
import type { Gateway } from '../gateway';

/**
 * Per-partition answers after which a look-up is asked again: a new leader whose high
 * watermark has not reached the start of its epoch (OFFSET_NOT_AVAILABLE, KIP-207), and a
 * partition without a leader the gateway knows of (LEADER_NOT_AVAILABLE, also a gateway that has
 * no metadata yet). Both clear up on their own; the gateway retries them too, within its own
 * bound, and the CLI goes on within `--timeout-ms`.
 */
export const lookupRetriedCodes: ReadonlySet<string> = new Set(['OFFSET_NOT_AVAILABLE', 'LEADER_NOT_AVAILABLE']);
/** First wait before asking again; doubled per attempt. */
export const lookupRetryBackoffMsInitial = 100;
/** Longest wait between two look-ups. */
export const lookupRetryBackoffMsMax = 2000;
const lookupRetryBackoff: BackoffBounds = { initialMs: lookupRetryBackoffMsInitial, maxMs: lookupRetryBackoffMsMax };

/** Time for look-up retries: the real clock in the CLI, a manual one in tests. */
export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const systemClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

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
 * Looks up offsets with ListOffsets: for each query, one offset per partition, in partition
 * order (-1 where a timestamp is after every record). While every failed partition failed with
 * one of `lookupRetriedCodes`, the call is made again after a bounded back-off, within the
 * gateway's call timeout; any other per-partition error, or one left at the end, fails the
 * whole look-up.
 */
export async function listOffsets(
  gateway: Pick<Gateway, 'listOffsets' | 'callTimeoutMs'>,
  topic: string,
  partitions: readonly number[],
  queries: readonly OffsetQuery[],
  clock: RetryClock = systemClock,
): Promise<bigint[][]> {
  const request: v1.ListOffsetsRequest = {
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    partitions: queries.flatMap((query) => partitions.map((partition) => ({ topic, partition, spec: offsetSpec(query) }))),
  };
  const deadlineMs = clock.now() + gateway.callTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    const response = await gateway.listOffsets(request);
    if (response.partitions.length !== request.partitions.length) {
      throw new ServerError('UNKNOWN_SERVER_ERROR', `ListOffsets answered ${response.partitions.length} results for ${request.partitions.length} partitions`);
    }
    const failures = response.partitions.flatMap((result) => itemFailure(result.errorCode, result.errorMessage, `${topic}/${result.partition}`) ?? []);
    const [first] = failures;
    if (first === undefined) return queries.map((_query, index) => response.partitions.slice(index * partitions.length, (index + 1) * partitions.length).map((result) => result.offset));
    const waitMs = backoffMs(attempt, lookupRetryBackoff);
    if (!failures.every((failure) => lookupRetriedCodes.has(failure.code)) || clock.now() + waitMs >= deadlineMs) throw first;
    await clock.sleep(waitMs);
  }
}
