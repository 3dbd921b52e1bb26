/**
 * A producer write as the partition's leader, and LATEST as ListOffsets answers it: the
 * decisions the storage node's Append and ListOffsets handlers make, without their wire types,
 * so the cluster simulator drives the same code.
 *
 * Batches are handed to the log as received: the log checks framing, size and CRC, rewrites
 * baseOffset and the leader epoch in place, and never re-encodes.
 */
import type { AppendResult } from '@starlane/log';
import { lookupPartition, resultCode, type PartitionAddress } from './partition-checks';
import type { PartitionManager } from './partition-manager';
import type { ResultError } from './replica-messages';

/** How long an append may wait (for its log to open, or for acks=all) when the request says 0. */
export const appendTimeoutMsDefault = 30_000;
/** Longest wait a request may ask for. */
export const appendTimeoutMsMax = 300_000;

/** How a write is acknowledged once it reached the leader's log: at once, or once committed. */
export type AckLevel = 'leader' | 'all';

/** A written batch set: where it went, and the epoch it was stamped with. */
export interface ProduceSuccess {
  readonly baseOffset: bigint;
  /** One past the write's last offset: the log end right after it. */
  readonly logEndOffset: bigint;
  readonly leaderEpoch: number;
  readonly logStartOffset: bigint;
}

/**
 * A refused or unconfirmed write. `baseOffset` is set when the records were written here but
 * not confirmed (leadership moved, the ISR shrank, time ran out): they may survive on the new
 * leader, so the sender must not write them again on its own.
 */
export interface ProduceFailure {
  readonly error: ResultError;
  readonly baseOffset?: bigint;
}

export type ProduceOutcome = ProduceSuccess | ProduceFailure;

/** The wait a write gets: the default for 0 or less, at most `appendTimeoutMsMax`. */
export function appendTimeoutMs(requested: number): number {
  return requested <= 0 ? appendTimeoutMsDefault : Math.min(requested, appendTimeoutMsMax);
}

/** Appends one partition's batches as leader; never rejects (failures are in the outcome). */
export async function appendAsLeader(manager: PartitionManager, address: PartitionAddress, records: Buffer, acks: AckLevel, timeoutMs: number): Promise<ProduceOutcome> {
  const lookup = lookupPartition(manager, address, true);
  if (!lookup.ok) return { error: { code: lookup.code, message: lookup.message } };
  const partition = lookup.partition;
  // Kafka refuses a write larger than a whole segment before looking at its batches.
  if (records.length > partition.config.segmentBytes) {
    return { error: { code: 'RECORD_LIST_TOO_LARGE', message: `${records.length} bytes of batches exceed segment.bytes (${partition.config.segmentBytes})` } };
  }
  // Kafka checks the ISR before an acks=all write: with fewer in-sync replicas than the topic
  // asks for, the write is refused rather than left waiting.
  const leader = partition.leaderState;
  if (acks === 'all' && leader !== undefined && !leader.enoughReplicas) {
    return {
      error: {
        code: 'NOT_ENOUGH_REPLICAS',
        message: `${partition.topic}-${partition.partition} has ${leader.isr.length} in-sync replicas, fewer than min.insync.replicas (${partition.replicaSettings.minInsyncReplicas})`,
      },
    };
  }
  let appended: AppendResult | undefined;
  const leaderEpoch = partition.state.leaderEpoch;
  try {
    appended = await partition.append(records, timeoutMs, leaderEpoch);
    if (acks === 'all') await partition.whenCommitted(appended.lastOffset + 1n, timeoutMs);
    return { baseOffset: appended.baseOffset, logEndOffset: appended.lastOffset + 1n, leaderEpoch, logStartOffset: partition.onlineLog?.logStartOffset ?? -1n };
  } catch (error) {
    const failure = resultCode(error);
    return appended === undefined ? { error: failure } : { error: failure, baseOffset: appended.baseOffset };
  }
}

/** The high watermark as LATEST, with the leader epoch of the log's last batch. */
export interface LatestOffset {
  readonly offset: bigint;
  readonly leaderEpoch: number;
}

/**
 * LATEST as this leader answers ListOffsets: the high watermark (also the last stable offset:
 * there are no transactions yet). As Kafka since KIP-207: while this leader's high watermark
 * is still below the start of its epoch it is OFFSET_NOT_AVAILABLE (retriable), since the high
 * watermark in hand may be lower than one its predecessor already showed, and LATEST must
 * never go backwards.
 */
export function latestOffset(manager: PartitionManager, address: PartitionAddress): LatestOffset | { readonly error: ResultError } {
  const found = lookupPartition(manager, address, true);
  if (!found.ok) return { error: { code: found.code, message: found.message } };
  const partition = found.partition;
  const log = partition.onlineLog;
  if (log === undefined) return { error: { code: 'NOT_LEADER_OR_FOLLOWER', message: `${address.topic}-${address.partition} is still opening its log` } };
  const epochStart = partition.epochStartAheadOfHighWatermark;
  if (epochStart !== undefined) return { error: offsetNotAvailable(address, partition.highWatermark, epochStart) };
  return { offset: partition.highWatermark, leaderEpoch: log.latestEpoch };
}

/** Why an offset that depends on the high watermark cannot be given yet (KIP-207). */
export function offsetNotAvailable(address: { readonly topic: string; readonly partition: number }, highWatermark: bigint, epochStart: bigint): ResultError {
  return {
    code: 'OFFSET_NOT_AVAILABLE',
    message: `${address.topic}-${address.partition}: the new leader's high watermark ${highWatermark} has not reached the start of its epoch at offset ${epochStart} yet; retry`,
  };
}
