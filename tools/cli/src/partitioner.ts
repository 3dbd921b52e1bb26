/**
 * Where produced records go, and how they are grouped into requests.
 *
 * When the topic's partition count is known, records are placed here, as Kafka's default
 * partitioner does: murmur2 of the key modulo the partition count, and, for records without a
 * key, one partition per request, moving to the next partition with each request (Kafka's
 * sticky partitioner, KIP-480). Each request then holds one entry per partition, which the
 * gateway turns into one batch each. The gateway places keys with the same hash, so records
 * land where any Kafka client would put them either way.
 *
 * When the count is unknown (the topic does not exist yet and the gateway may create it), the
 * gateway chooses (partition -1), which needs one entry per distinct key: records are grouped
 * by key within each request.
 */
import { partitionForKey } from '@starlane/partitioner';
import { varintBytesMax, varintSize, varlongBytesMax } from '@starlane/record-batch';
import type { ProducedRecord } from './line-format';

export type Placement =
  /** Every record to one partition (`--partition N`). */
  | { readonly kind: 'fixed'; readonly partition: number }
  /** Placed here by key, sticky per request for null keys. */
  | { readonly kind: 'hashed'; readonly partitionCount: number }
  /** The gateway places each entry (partition -1); entries are grouped by key. */
  | { readonly kind: 'gateway' };

export interface RequestBounds {
  /** Records per produce request; the request is sent when it reaches this. */
  readonly requestRecordsMax: number;
  /** Most bytes per produce request, as `recordBytes` counts them: a record that would go past it starts the next request. */
  readonly requestBytesMax: number;
}

/** One entry of a produce request: records for one partition (-1: the gateway chooses). */
export interface PlannedEntry {
  readonly partition: number;
  readonly records: ProducedRecord[];
}

/**
 * Most bytes a record's fixed fields take in a RecordBatch v2 beyond its lengths and contents:
 * its length (a varint), attributes (1), timestamp delta (a varlong) and offset delta (a varint).
 */
export const recordOverheadBytes = varintBytesMax + 1 + varlongBytesMax + varintBytesMax;

/** Bytes a length-prefixed field takes: its varint length (-1 for null) and its bytes. */
function fieldBytes(length: number | null): number {
  return length === null ? varintSize(-1) : varintSize(length) + length;
}

/**
 * The most a record can take in the batch the gateway builds from it, for `requestBytesMax`:
 * exact for its key, value and headers, the largest possible for the rest, so requests kept
 * under a bound make batches under it.
 */
export function recordBytes(record: ProducedRecord): number {
  let bytes = recordOverheadBytes + fieldBytes(record.key?.length ?? null) + fieldBytes(record.value?.length ?? null) + varintSize(record.headers.length);
  for (const header of record.headers) bytes += fieldBytes(Buffer.byteLength(header.key, 'utf8')) + fieldBytes(header.value?.length ?? null);
  return bytes;
}

const nullKeyGroup = '\u0000null';

/** Collects records into the entries of the next produce request. */
export class RequestBuilder {
  private entries = new Map<number | string, PlannedEntry>();
  private recordCount = 0;
  private byteCount = 0;
  private payloadByteCount = 0;
  /** The partition of null-key records in this request (hashed placement). */
  private stickyPartition: number;

  /** `firstStickyPartition` spreads the null-key records of short runs (callers pass a random one). */
  constructor(
    readonly placement: Placement,
    readonly bounds: RequestBounds,
    firstStickyPartition = 0,
  ) {
    this.stickyPartition = placement.kind === 'hashed' ? firstStickyPartition % placement.partitionCount : 0;
  }

  get records(): number {
    return this.recordCount;
  }

  /** Estimated request bytes, for the bound. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Key and value bytes, for reporting (what consume reports for the same records). */
  get payloadBytes(): number {
    return this.payloadByteCount;
  }

  /** True when the request should be sent before another record is added. */
  get full(): boolean {
    return this.recordCount >= this.bounds.requestRecordsMax || this.byteCount >= this.bounds.requestBytesMax;
  }

  /**
   * Whether `record` may join this request without taking it past `requestBytesMax`. A record
   * too large for any request fits an empty one: sent alone, the gateway's answer
   * (MESSAGE_TOO_LARGE) says why it cannot be stored.
   */
  fits(record: ProducedRecord): boolean {
    return this.recordCount === 0 || this.byteCount + recordBytes(record) <= this.bounds.requestBytesMax;
  }

  add(record: ProducedRecord): void {
    const [group, partition] = this.place(record);
    let entry = this.entries.get(group);
    if (entry === undefined) {
      entry = { partition, records: [] };
      this.entries.set(group, entry);
    }
    entry.records.push(record);
    this.recordCount += 1;
    this.byteCount += recordBytes(record);
    this.payloadByteCount += (record.key?.length ?? 0) + (record.value?.length ?? 0);
  }

  /** The request's entries, in order of first appearance; the builder starts a new request. */
  take(): PlannedEntry[] {
    const entries = [...this.entries.values()];
    this.entries = new Map();
    this.recordCount = 0;
    this.byteCount = 0;
    this.payloadByteCount = 0;
    if (this.placement.kind === 'hashed') this.stickyPartition = (this.stickyPartition + 1) % this.placement.partitionCount;
    return entries;
  }

  private place(record: ProducedRecord): [number | string, number] {
    switch (this.placement.kind) {
      case 'fixed':
        return [this.placement.partition, this.placement.partition];
      case 'hashed': {
        const partition = record.key === null ? this.stickyPartition : partitionForKey(record.key, this.placement.partitionCount);
        return [partition, partition];
      }
      case 'gateway':
        // latin1 maps each byte to one char, so distinct keys stay distinct group names.
        return [record.key === null ? nullKeyGroup : `k${record.key.toString('latin1')}`, -1];
    }
  }
}
