/**
 * Append requests: the checks made once per request, and the append of one partition's
 * batches as leader. Batches are handed to the log as received: the log checks framing, size
 * and CRC, rewrites baseOffset and the leader epoch in place, and never re-encodes.
 */
import { errorCodeToProto } from '@starlane/metadata-rpc';
import type { ErrorCode } from '@starlane/model';
import { v1, type internalV1 } from '@starlane/proto';
import type { AppendResult } from '@starlane/log';
import { lookupPartition, resultCode } from './partition-checks';
import type { PartitionManager } from './partition-manager';

/** How long an append may wait (for its log to open, or for acks=all) when the request says 0. */
export const appendTimeoutMsDefault = 30_000;
/** Longest wait a request may ask for. */
export const appendTimeoutMsMax = 300_000;
/** Partitions one append request may name. */
export const appendPartitionsMax = 10_000;

/** How a write is acknowledged once it reached the leader's log: at once, or once committed. */
export type AckLevel = 'leader' | 'all';

export type AppendRequestCheck =
  | { readonly ok: true; readonly acks: AckLevel; readonly timeoutMs: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/**
 * Request-level checks: a known acks value (NONE counts as LEADER: the gateway has answered its
 * client already), a bounded number of partitions, each at most once.
 */
export function checkAppendRequest(acks: v1.Acks, timeoutMs: number, partitions: readonly internalV1.AppendPartitionData[]): AppendRequestCheck {
  let level: AckLevel;
  switch (acks) {
    case v1.Acks.UNSPECIFIED:
    case v1.Acks.ALL:
      level = 'all';
      break;
    case v1.Acks.LEADER:
    case v1.Acks.NONE:
      level = 'leader';
      break;
    default:
      return { ok: false, code: 'INVALID_REQUIRED_ACKS', message: `acks ${String(acks)} is not a known level` };
  }
  if (partitions.length > appendPartitionsMax) return { ok: false, code: 'INVALID_REQUEST', message: `an append names at most ${appendPartitionsMax} partitions` };
  if (partitions.length > 1) {
    const seen = new Set<string>();
    for (const data of partitions) {
      const key = `${data.topicId}:${data.topic}:${data.partition}`;
      if (seen.has(key)) return { ok: false, code: 'INVALID_REQUEST', message: `partition ${data.topic}-${data.partition} appears twice in one append` };
      seen.add(key);
    }
  }
  const timeout = timeoutMs <= 0 ? appendTimeoutMsDefault : Math.min(timeoutMs, appendTimeoutMsMax);
  return { ok: true, acks: level, timeoutMs: timeout };
}

export function appendFailure(data: internalV1.AppendPartitionData, code: ErrorCode, message: string): v1.ProducePartitionResult {
  return {
    topic: data.topic,
    partition: data.partition,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorCode: errorCodeToProto(code),
    errorMessage: message,
  };
}

/** Appends one partition's batches as leader; never rejects (failures are in the result). */
export async function appendPartition(manager: PartitionManager, data: internalV1.AppendPartitionData, acks: AckLevel, timeoutMs: number): Promise<v1.ProducePartitionResult> {
  const lookup = lookupPartition(manager, data, true);
  if (!lookup.ok) return appendFailure(data, lookup.code, lookup.message);
  const partition = lookup.partition;
  const batches = data.recordBatches;
  // Kafka refuses a write larger than a whole segment before looking at its batches.
  if (batches.length > partition.config.segmentBytes) {
    return appendFailure(data, 'RECORD_LIST_TOO_LARGE', `${batches.length} bytes of batches exceed segment.bytes (${partition.config.segmentBytes})`);
  }
  // Kafka checks the ISR before an acks=all write: with fewer in-sync replicas than the topic
  // asks for, the write is refused rather than left waiting.
  const leader = partition.leaderState;
  if (acks === 'all' && leader !== undefined && !leader.enoughReplicas) {
    return appendFailure(data, 'NOT_ENOUGH_REPLICAS', `${data.topic}-${data.partition} has ${leader.isr.length} in-sync replicas, fewer than min.insync.replicas (${partition.replicaSettings.minInsyncReplicas})`);
  }
  let appended: AppendResult | undefined;
  try {
    appended = await partition.append(batches, timeoutMs, partition.state.leaderEpoch);
    if (acks === 'all') await partition.whenCommitted(appended.lastOffset + 1n, timeoutMs);
    return {
      topic: data.topic,
      partition: data.partition,
      baseOffset: appended.baseOffset,
      // CreateTime only for now: the producer's timestamps stand.
      logAppendTimeMs: -1n,
      logStartOffset: partition.onlineLog?.logStartOffset ?? -1n,
      recordErrors: [],
      errorCode: v1.ErrorCode.NONE,
      errorMessage: '',
    };
  } catch (error) {
    const { code, message } = resultCode(error);
    // Written here but not committed (leadership moved, the ISR shrank, time ran out): the
    // records may yet survive on the new leader, so the result says where they went. A sender
    // must not write them again on its own, or they could be stored twice.
    if (appended !== undefined) return { ...appendFailure(data, code, message), baseOffset: appended.baseOffset };
    return appendFailure(data, code, message);
  }
}
