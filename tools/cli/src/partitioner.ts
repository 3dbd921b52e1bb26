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
  /** Estimated bytes per produce request (see `recordBytes`); sent when reached. */
  readonly requestBytesMax: number;
}

/** One entry of a produce request: records for one partition (-1: the gateway chooses). */
export interface PlannedEntry {
  readonly partition: number;
  readonly records: ProducedRecord[];
}

/** Framing a record costs on the wire beyond its key, value and header bytes (an estimate). */
export const recordOverheadBytes = 16;

/** The estimated size of a record in a request, for `requestBytesMax`. */
export function recordBytes(record: ProducedRecord): number {
  let bytes = recordOverheadBytes + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) bytes += header.key.length + (header.value?.length ?? 0) + 4;
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
