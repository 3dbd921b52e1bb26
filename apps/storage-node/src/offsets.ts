/**
 * Offset lookups a leader answers: ListOffsets (by boundary or timestamp) and
 * OffsetsForLeaderEpoch (where an epoch ends in this log, KIP-101/KIP-320).
 */
import { errorCodeToProto } from '@starlane/metadata-rpc';
import type { ErrorCode } from '@starlane/model';
import { v1, type internalV1 } from '@starlane/proto';
import { latestOffset, lookupPartition, offsetNotAvailable, resultCode, type PartitionManager } from '@starlane/replica';

/** Lookups one request may carry. */
export const offsetLookupsMax = 10_000;

function listFailure(lookup: internalV1.OffsetLookup, code: ErrorCode, message: string): v1.ListOffsetsPartitionResult {
  return { topic: lookup.topic, partition: lookup.partition, offset: -1n, timestampMs: -1n, leaderEpoch: -1, errorCode: errorCodeToProto(code), errorMessage: message };
}

/**
 * EARLIEST is the log start offset, LATEST the high watermark (`latestOffset` of
 * `@starlane/replica`, also the last stable offset: there are no transactions yet), MAX_TIMESTAMP the first record with the largest timestamp, a
 * timestamp the first record at or after it (-1 when every record is older). Exact offsets are
 * not a ListOffsets form: INVALID_REQUEST.
 *
 * As Kafka since KIP-207: while this leader's high watermark is still below the start of its
 * epoch, LATEST is OFFSET_NOT_AVAILABLE (retriable), since the high watermark in hand may be
 * lower than one its predecessor already showed, and LATEST must never go backwards; so is a
 * timestamp or MAX_TIMESTAMP lookup whose answer would lie at or past the high watermark.
 * EARLIEST does not depend on the high watermark and is answered.
 */
export async function listOffset(manager: PartitionManager, lookup: internalV1.OffsetLookup): Promise<v1.ListOffsetsPartitionResult> {
  const spec = lookup.spec?.spec;
  const found = lookupPartition(manager, lookup, true);
  if (!found.ok) return listFailure(lookup, found.code, found.message);
  const partition = found.partition;
  const log = partition.onlineLog;
  if (log === undefined) return listFailure(lookup, 'NOT_LEADER_OR_FOLLOWER', `${lookup.topic}-${lookup.partition} is still opening its log`);
  const answer = (offset: bigint, timestampMs: bigint, leaderEpoch: number): v1.ListOffsetsPartitionResult => ({
    topic: lookup.topic,
    partition: lookup.partition,
    offset,
    timestampMs,
    leaderEpoch,
    errorCode: v1.ErrorCode.NONE,
    errorMessage: '',
  });
  const epochStart = partition.epochStartAheadOfHighWatermark;
  /** A lookup whose answer lies at or past the high watermark: nothing while the high watermark is settled, unknown while it is not (KIP-207). */
  const beyondHighWatermark = (): v1.ListOffsetsPartitionResult => {
    if (epochStart === undefined) return answer(-1n, -1n, -1);
    const unavailable = offsetNotAvailable(lookup, partition.highWatermark, epochStart);
    return listFailure(lookup, unavailable.code, unavailable.message);
  };
  try {
    if (spec?.$case === 'boundary') {
      switch (spec.value) {
        case v1.OffsetBoundary.EARLIEST:
          return answer(log.logStartOffset, -1n, log.leaderEpochAt(log.logStartOffset));
        case v1.OffsetBoundary.LATEST: {
          // The replica's own decision (checks included), which the cluster simulator drives too.
          const latest = latestOffset(manager, lookup);
          if ('error' in latest) return listFailure(lookup, latest.error.code, latest.error.message);
          return answer(latest.offset, -1n, latest.leaderEpoch);
        }
        case v1.OffsetBoundary.MAX_TIMESTAMP: {
          const max = await log.offsetForMaxTimestamp();
          if (max === null || max.offset >= partition.highWatermark) return beyondHighWatermark();
          return answer(max.offset, max.timestampMs, log.leaderEpochAt(max.offset));
        }
        case v1.OffsetBoundary.UNSPECIFIED:
        default:
          return listFailure(lookup, 'INVALID_REQUEST', `offset boundary ${String(spec.value)} is not a lookup`);
      }
    }
    if (spec?.$case === 'timestampMs') {
      if (spec.value < 0n) return listFailure(lookup, 'INVALID_REQUEST', `timestamp ${spec.value} is negative; use a boundary`);
      const hit = await log.offsetForTimestamp(spec.value);
      if (hit === null || hit.offset >= partition.highWatermark) return beyondHighWatermark();
      return answer(hit.offset, hit.timestampMs, log.leaderEpochAt(hit.offset));
    }
    return listFailure(lookup, 'INVALID_REQUEST', spec === undefined ? 'no offset spec given' : 'an exact offset is not a ListOffsets lookup');
  } catch (error) {
    const { code, message } = resultCode(error);
    return listFailure(lookup, code, message);
  }
}

/** The end of `leader_epoch` in this leader's log; a gateway (replica -1) never learns of offsets past the high watermark. */
export function offsetForLeaderEpoch(manager: PartitionManager, replicaNodeId: number, request: internalV1.OffsetsForLeaderEpochPartition): internalV1.OffsetsForLeaderEpochPartitionResult {
  const base = { topic: request.topic, topicId: request.topicId, partition: request.partition };
  const refuse = (code: ErrorCode, message: string): internalV1.OffsetsForLeaderEpochPartitionResult => ({ ...base, leaderEpoch: -1, endOffset: -1n, errorCode: errorCodeToProto(code), errorMessage: message });
  const found = lookupPartition(manager, request, true);
  if (!found.ok) return refuse(found.code, found.message);
  const log = found.partition.onlineLog;
  if (log === undefined) return refuse('NOT_LEADER_OR_FOLLOWER', `${request.topic}-${request.partition} is still opening its log`);
  const end = log.endOffsetForEpoch(request.leaderEpoch);
  const highWatermark = found.partition.highWatermark;
  const endOffset = replicaNodeId < 0 && end.endOffset > highWatermark ? highWatermark : end.endOffset;
  return { ...base, leaderEpoch: end.epoch, endOffset, errorCode: v1.ErrorCode.NONE, errorMessage: '' };
}
