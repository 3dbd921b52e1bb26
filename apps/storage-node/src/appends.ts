/**
 * Append requests: the checks made once per request, and the wire form of one partition's
 * append as leader, whose decisions are the replica's (`appendAsLeader` in `@starlane/replica`).
 */
import { errorCodeToProto } from '@starlane/metadata-rpc';
import type { ErrorCode } from '@starlane/model';
import { v1, type internalV1 } from '@starlane/proto';
import { appendAsLeader, appendTimeoutMs, type AckLevel, type PartitionManager } from '@starlane/replica';

/** Partitions one append request may name. */
export const appendPartitionsMax = 10_000;

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
  return { ok: true, acks: level, timeoutMs: appendTimeoutMs(timeoutMs) };
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

/**
 * Appends one partition's batches as leader (the replica's `appendAsLeader`, which the cluster
 * simulator drives too) and answers in the wire's terms; never rejects.
 */
export async function appendPartition(manager: PartitionManager, data: internalV1.AppendPartitionData, acks: AckLevel, timeoutMs: number): Promise<v1.ProducePartitionResult> {
  const outcome = await appendAsLeader(manager, data, data.recordBatches, acks, timeoutMs);
  if ('error' in outcome) {
    const failure = appendFailure(data, outcome.error.code, outcome.error.message);
    // Written here but not committed: the result says where the records went (see `ProduceFailure`).
    return outcome.baseOffset === undefined ? failure : { ...failure, baseOffset: outcome.baseOffset };
  }
  return {
    topic: data.topic,
    partition: data.partition,
    baseOffset: outcome.baseOffset,
    // CreateTime only for now: the producer's timestamps stand.
    logAppendTimeMs: -1n,
    logStartOffset: outcome.logStartOffset,
    recordErrors: [],
    errorCode: v1.ErrorCode.NONE,
    errorMessage: '',
  };
}
