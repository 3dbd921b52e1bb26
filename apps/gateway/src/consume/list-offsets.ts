/**
 * ListOffsets answered by the partition leaders: lookups are grouped per leader, sent, and
 * those that meet a leader change are sent again once the metadata names a new leader (or
 * after a backoff), until the deadline.
 */
import { StarlaneError, backoffMs, errorCodeFromWire, validateTopicName, wireErrorCode } from '@starlane/model';
import { type internalV1, v1 } from '@starlane/proto';
import { leaderRetryBackoff } from '../backoff';
import { asStarlaneError } from '../produce/partition-writer';
import { isOffsetLookupRetriable, noMetadataError, routeChanged, routePartition, type MetadataSource, type PartitionRoute } from '../routing';
import type { StorageTransport } from '../storage/transport';

export interface OffsetQuery {
  readonly topic: string;
  readonly partition: number;
  readonly spec: v1.OffsetSpec | undefined;
}

export interface OffsetLookupDeps {
  readonly metadata: MetadataSource;
  readonly transport: StorageTransport;
  readonly now: () => number;
}

/** Checks one lookup: a valid topic name and a boundary or timestamp (an exact offset is refused). */
export function validateOffsetQuery(query: OffsetQuery): void {
  validateTopicName(query.topic);
  const spec = query.spec?.spec;
  if (spec === undefined) throw new StarlaneError('INVALID_REQUEST', 'the lookup has no spec');
  if (spec.$case === 'offset') throw new StarlaneError('INVALID_REQUEST', 'ListOffsets looks up boundaries and timestamps, not exact offsets');
  if (spec.$case === 'boundary' && ![v1.OffsetBoundary.EARLIEST, v1.OffsetBoundary.LATEST, v1.OffsetBoundary.MAX_TIMESTAMP].includes(spec.value)) {
    throw new StarlaneError('INVALID_REQUEST', `offset boundary ${spec.value} is not EARLIEST, LATEST or MAX_TIMESTAMP`);
  }
  if (spec.$case === 'timestampMs' && spec.value < 0n) throw new StarlaneError('INVALID_REQUEST', `timestamp ${spec.value} is negative`);
}

export function offsetErrorResult(query: { topic: string; partition: number }, error: StarlaneError): v1.ListOffsetsPartitionResult {
  return {
    topic: query.topic,
    partition: query.partition,
    offset: -1n,
    timestampMs: -1n,
    leaderEpoch: -1,
    errorCode: wireErrorCode(error.code) as v1.ErrorCode,
    errorMessage: error.message,
  };
}

/**
 * Looks up every query at its leader; one result per query, in order. Never rejects. A lookup
 * meeting a leader change, or a leader whose high watermark has not yet reached the start of
 * its epoch (OFFSET_NOT_AVAILABLE, KIP-207), is asked again after a back-off until the deadline.
 */
export async function lookUpOffsets(deps: OffsetLookupDeps, isolationLevel: v1.IsolationLevel, queries: readonly OffsetQuery[], deadlineMs: number): Promise<v1.ListOffsetsPartitionResult[]> {
  const results: (v1.ListOffsetsPartitionResult | undefined)[] = new Array(queries.length).fill(undefined);
  let pending: number[] = [];
  queries.forEach((query, index) => {
    try {
      validateOffsetQuery(query);
      pending.push(index);
    } catch (error) {
      results[index] = offsetErrorResult(query, asStarlaneError(error));
    }
  });
  if (!deps.metadata.ready) {
    const error = noMetadataError(deps.metadata);
    for (const index of pending) results[index] = offsetErrorResult(queries[index]!, error);
    pending = [];
  }
  const lastErrors = new Map<number, StarlaneError>();
  const failedRoutes = new Map<number, PartitionRoute | undefined>();
  for (let attempt = 0; pending.length > 0; attempt++) {
    const image = deps.metadata.current();
    const groups = new Map<number, { route: PartitionRoute; indexes: number[] }[]>();
    const retry: number[] = [];
    for (const index of pending) {
      const query = queries[index]!;
      const routed = routePartition(image, query.topic, query.partition);
      if (!routed.ok) {
        if (routed.error.code === 'LEADER_NOT_AVAILABLE') {
          lastErrors.set(index, routed.error);
          failedRoutes.set(index, undefined);
          retry.push(index);
        } else {
          results[index] = offsetErrorResult(query, routed.error);
        }
        continue;
      }
      const list = groups.get(routed.route.leader.nodeId) ?? [];
      list.push({ route: routed.route, indexes: [index] });
      groups.set(routed.route.leader.nodeId, list);
    }
    await Promise.all(
      [...groups.values()].map(async (entries) => {
        const leader = entries[0]!.route.leader;
        const lookups: internalV1.OffsetLookup[] = entries.map(({ route, indexes }) => ({
          topic: route.topic,
          topicId: route.topicId,
          partition: route.partition,
          currentLeaderEpoch: route.leaderEpoch,
          spec: queries[indexes[0]!]!.spec,
        }));
        let answers: v1.ListOffsetsPartitionResult[];
        try {
          answers = await deps.transport.listOffsets(leader, isolationLevel, lookups);
        } catch (error) {
          const starlane = asStarlaneError(error);
          answers = entries.map(({ route }) => offsetErrorResult(route, starlane));
        }
        entries.forEach(({ route, indexes }, position) => {
          const index = indexes[0]!;
          const query = queries[index]!;
          const answer = answers[position] ?? offsetErrorResult(route, new StarlaneError('UNKNOWN_SERVER_ERROR', 'the leader sent no result'));
          const code = errorCodeFromWire(answer.errorCode);
          if (code !== undefined && isOffsetLookupRetriable(code)) {
            lastErrors.set(index, new StarlaneError(code, answer.errorMessage || code));
            failedRoutes.set(index, route);
            retry.push(index);
          } else {
            results[index] = { ...answer, topic: query.topic, partition: query.partition };
          }
        });
      }),
    );
    pending = retry;
    if (pending.length === 0) break;
    const remainingMs = deadlineMs - deps.now();
    if (remainingMs <= 0) break;
    const waitMs = backoffMs(attempt, leaderRetryBackoff);
    await deps.metadata.waitFor((image) => pending.some((index) => routeChanged(image, queries[index]!.topic, queries[index]!.partition, failedRoutes.get(index))), Math.min(waitMs, remainingMs));
  }
  for (const index of pending) results[index] = offsetErrorResult(queries[index]!, lastErrors.get(index) ?? new StarlaneError('REQUEST_TIMED_OUT', 'no leader answered in time'));
  return results.map((result, index) => result ?? offsetErrorResult(queries[index]!, new StarlaneError('UNKNOWN_SERVER_ERROR', 'no result')));
}
