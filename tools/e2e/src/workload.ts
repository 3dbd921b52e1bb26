/**
 * Produce and read-back helpers for end-to-end tests, written against the public API only.
 */
import type * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { call, type PublicClients } from './clients';

export interface KeyedRecord {
  readonly key: string;
  readonly value: string;
}

export interface StoredRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | undefined;
  readonly value: string | undefined;
}

/** `count` records under one key (so in one partition, in order), valued `<prefix>-<from>`, `<prefix>-<from + 1>`, ... */
export function sameKeyRecords(from: number, count: number, prefix = 'r'): KeyedRecord[] {
  return Array.from({ length: count }, (_, index) => ({ key: 'k', value: `${prefix}-${from + index}` }));
}

/** Error codes worth retrying while a cluster is restarting (leaders moving, metadata catching up). */
const retriableCodes = new Set<v1.ErrorCode>([
  v1.ErrorCode.NOT_LEADER_OR_FOLLOWER,
  v1.ErrorCode.LEADER_NOT_AVAILABLE,
  v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  v1.ErrorCode.REQUEST_TIMED_OUT,
  v1.ErrorCode.FENCED_LEADER_EPOCH,
  v1.ErrorCode.UNKNOWN_LEADER_EPOCH,
  v1.ErrorCode.BROKER_NOT_AVAILABLE,
  v1.ErrorCode.KAFKA_STORAGE_ERROR,
  v1.ErrorCode.OFFSET_NOT_AVAILABLE,
]);

export async function createTopic(clients: PublicClients, name: string, partitionCount: number, configs: Record<string, string> = {}, replicationFactor = 1): Promise<v1.CreateTopicResult> {
  const response = await call(clients.admin, clients.admin.createTopics, {
    topics: [{ name, partitionCount, replicationFactor, replicaAssignments: [], configs }],
    validateOnly: false,
    timeoutMs: 10_000,
  });
  const result = response.results[0];
  if (result === undefined || result.errorCode !== v1.ErrorCode.NONE) throw new Error(`create ${name}: ${result?.errorCode} ${result?.errorMessage}`);
  return result;
}

/** Groups records by key, keeping each key's order: one produce entry per key (partition -1). */
function entriesByKey(topic: string, records: readonly KeyedRecord[]): v1.ProducePartitionData[] {
  const groups = new Map<string, v1.Record[]>();
  for (const record of records) {
    let group = groups.get(record.key);
    if (group === undefined) groups.set(record.key, (group = []));
    group.push({
      nullableKey: { $case: 'key', value: Buffer.from(record.key) },
      nullableValue: { $case: 'value', value: Buffer.from(record.value) },
      headers: [],
      timestampMs: 0n,
      offset: 0n,
      timestampType: v1.TimestampType.UNSPECIFIED,
      leaderEpoch: 0,
    });
  }
  return [...groups.values()].map((group) => ({
    topic,
    partition: -1,
    payload: { $case: 'records', value: { records: group, producer: undefined, baseSequence: 0 } },
  }));
}

export interface ProducedEntry {
  readonly key: string;
  readonly partition: number;
  readonly baseOffset: bigint;
  readonly count: number;
}

/**
 * Produces `records` over one ProduceStream in requests of `recordsPerRequest`, at most
 * `inflightMax` unanswered, letting the gateway choose partitions by key. Every result must
 * succeed; returns where each key group landed.
 */
export async function produceKeyed(
  clients: PublicClients,
  topic: string,
  records: readonly KeyedRecord[],
  options: { recordsPerRequest: number; inflightMax: number; acks: v1.Acks },
): Promise<ProducedEntry[]> {
  const stream = clients.producer.produceStream();
  const produced: ProducedEntry[] = [];
  const pending = new Map<bigint, { entries: v1.ProducePartitionData[]; resolve: () => void; reject: (error: Error) => void }>();
  let failure: Error | undefined;
  stream.on('data', (response: v1.ProduceStreamResponse) => {
    const request = pending.get(response.requestId);
    if (request === undefined) return;
    pending.delete(response.requestId);
    if (response.errorCode !== v1.ErrorCode.NONE) return request.reject(new Error(`request ${response.requestId}: ${response.errorCode} ${response.errorMessage}`));
    for (const [index, result] of response.partitions.entries()) {
      const entry = request.entries[index];
      if (entry === undefined || entry.payload?.$case !== 'records') return request.reject(new Error(`request ${response.requestId}: unexpected result ${index}`));
      if (result.errorCode !== v1.ErrorCode.NONE) return request.reject(new Error(`request ${response.requestId}: ${result.errorCode} ${result.errorMessage}`));
      const first = entry.payload.value.records[0];
      produced.push({
        key: first?.nullableKey?.value.toString() ?? '',
        partition: result.partition,
        baseOffset: result.baseOffset,
        count: entry.payload.value.records.length,
      });
    }
    request.resolve();
  });
  const streamEnded = new Promise<void>((resolve, reject) => {
    stream.on('error', (error: grpc.ServiceError) => {
      failure = error;
      for (const request of pending.values()) request.reject(error);
      reject(error);
    });
    stream.on('end', resolve);
  });
  streamEnded.catch(() => undefined);
  const inflight = new Set<Promise<void>>();
  let requestId = 0n;
  for (let start = 0; start < records.length; start += options.recordsPerRequest) {
    if (failure !== undefined) throw failure;
    const entries = entriesByKey(topic, records.slice(start, start + options.recordsPerRequest));
    requestId += 1n;
    const id = requestId;
    const done = new Promise<void>((resolve, reject) => pending.set(id, { entries, resolve, reject }));
    inflight.add(done);
    void done.finally(() => inflight.delete(done)).catch(() => undefined);
    stream.write({ requestId: id, acks: options.acks, timeoutMs: 30_000, partitions: entries });
    if (inflight.size >= options.inflightMax) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  stream.end();
  await streamEnded;
  return produced;
}

/** Reads a partition from `from` up to its high watermark with Fetch (RECORDS), retrying while the cluster settles. */
export async function readPartition(clients: PublicClients, topic: string, partition: number, options: { deadlineMs: number; from?: bigint }): Promise<StoredRecord[]> {
  const deadline = Date.now() + options.deadlineMs;
  const records: StoredRecord[] = [];
  let offset = options.from ?? 0n;
  for (;;) {
    let response: v1.FetchResponse;
    try {
      response = await call(clients.consumer, clients.consumer.fetch, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 4 * 1024 * 1024,
        isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
        format: v1.RecordFormat.RECORDS,
        partitions: [{ topic, partition, offset, maxBytes: 4 * 1024 * 1024 }],
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const result = response.partitions[0];
    if (result === undefined) throw new Error(`fetch ${topic}/${partition}: no result`);
    if (result.errorCode !== v1.ErrorCode.NONE) {
      if (!retriableCodes.has(result.errorCode) || Date.now() > deadline) throw new Error(`fetch ${topic}/${partition}@${offset}: ${result.errorCode} ${result.errorMessage}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (result.payload?.$case === 'records') {
      for (const record of result.payload.value.records) {
        records.push({
          partition,
          offset: record.offset,
          key: record.nullableKey === undefined ? undefined : record.nullableKey.value.toString(),
          value: record.nullableValue === undefined ? undefined : record.nullableValue.value.toString(),
        });
      }
    }
    if (result.nextOffset <= offset && result.nextOffset < result.highWatermark) throw new Error(`fetch ${topic}/${partition}@${offset} made no progress`);
    offset = result.nextOffset;
    if (offset >= result.highWatermark) return records;
  }
}
