/**
 * Branded identifiers: an offset cannot be passed where a leader epoch is expected, even
 * though both are integers underneath. Construct them only through these functions, which
 * check the value's domain once at the boundary.
 */
import { assert } from './errors';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Position of a record in a partition log. int64: never a JS number. */
export type Offset = Brand<bigint, 'Offset'>;
/** Generation of a partition's leadership; bumped by the controller on every leader change. */
export type LeaderEpoch = Brand<number, 'LeaderEpoch'>;
/** Storage node identifier, stable across restarts. */
export type NodeId = Brand<number, 'NodeId'>;
/** Index of a partition within its topic. */
export type PartitionId = Brand<number, 'PartitionId'>;
/** Idempotent producer identity, allocated by the cluster. */
export type ProducerId = Brand<bigint, 'ProducerId'>;
/** Fencing generation of a producer id. */
export type ProducerEpoch = Brand<number, 'ProducerEpoch'>;

const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;

function int32NonNegative(value: number, what: string): number {
  assert(Number.isInteger(value) && value >= 0 && value <= INT32_MAX, `${what} must be an int32 >= 0, got ${value}`);
  return value;
}

function int64NonNegative(value: bigint, what: string): bigint {
  assert(value >= 0n && value <= INT64_MAX, `${what} must be an int64 >= 0, got ${value}`);
  return value;
}

export const offset = (value: bigint): Offset => int64NonNegative(value, 'offset') as Offset;
export const leaderEpoch = (value: number): LeaderEpoch => int32NonNegative(value, 'leader epoch') as LeaderEpoch;
export const nodeId = (value: number): NodeId => int32NonNegative(value, 'node id') as NodeId;
export const partitionId = (value: number): PartitionId => int32NonNegative(value, 'partition') as PartitionId;
export const producerId = (value: bigint): ProducerId => int64NonNegative(value, 'producer id') as ProducerId;
export const producerEpoch = (value: number): ProducerEpoch => {
  assert(Number.isInteger(value) && value >= 0 && value <= 32767, `producer epoch must be an int16 >= 0, got ${value}`);
  return value as ProducerEpoch;
};
