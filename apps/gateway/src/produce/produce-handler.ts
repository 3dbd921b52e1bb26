/**
 * One produce request, from validation to per-partition results: checks the request, picks
 * partitions for `partition = -1`, turns structured records into a batch, and hands each
 * partition's data to the PartitionWriter. Shared by Produce and ProduceStream.
 */
import { effectiveConfig, noLeader, type MetadataImage } from '@starlane/metadata';
import { StarlaneError, validateTopicName } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { noAckBytesMax, produceTimeoutMsDefault, produceTimeoutMsMax } from '../limits';
import { partitionForKey } from '@starlane/partitioner';
import type { RoundRobinPartitioner } from '../partitioner';
import { noMetadataError, type MetadataSource } from '../routing';
import { asStarlaneError, errorResult, type PartitionWriter } from './partition-writer';
import { compressionForTopic, isCompacted, maxMessageBytes, recordsToBatch, RecordsRejected, sharedKey, validateProducerIdentity } from './records';

/** Creates topics on first use when auto-creation is on; resolves once the gateway's metadata has them. */
export interface TopicAutoCreator {
  ensure(topics: readonly string[], deadlineMs: number): Promise<void>;
}

export interface ProduceHandlerOptions {
  readonly metadata: MetadataSource;
  readonly writer: PartitionWriter;
  readonly partitioner: RoundRobinPartitioner;
  readonly now: () => number;
  /** Payload bytes one request may carry in all; beyond it every entry fails MESSAGE_TOO_LARGE. */
  readonly requestBytesMax: number;
  readonly autoCreator: TopicAutoCreator | undefined;
}

export interface ProduceInput {
  readonly acks: number;
  readonly timeoutMs: number;
  readonly partitions: readonly v1.ProducePartitionData[];
}

/** A request that passed request-level checks: its writes are queued, results to come. */
export interface QueuedProduce {
  /** Results in request order; for ACKS_NONE already final once queued. */
  readonly results: Promise<v1.ProducePartitionResult[]>;
}

const validAcks: ReadonlySet<number> = new Set([v1.Acks.UNSPECIFIED, v1.Acks.NONE, v1.Acks.LEADER, v1.Acks.ALL]);

/** Request-level checks: acks in range (INVALID_REQUIRED_ACKS), timeout not negative (INVALID_REQUEST). */
export function validateProduceRequest(input: ProduceInput): void {
  if (!validAcks.has(input.acks)) throw new StarlaneError('INVALID_REQUIRED_ACKS', `acks ${input.acks} is not NONE, LEADER or ALL`);
  if (input.timeoutMs < 0) throw new StarlaneError('INVALID_REQUEST', `timeout_ms ${input.timeoutMs} is negative`);
}

type EntryPlan =
  | { readonly kind: 'failed'; readonly result: v1.ProducePartitionResult }
  | { readonly kind: 'write'; readonly topic: string; readonly partition: number; readonly data: Buffer | Promise<Buffer> };

/**
 * Bytes of acks=NONE writes answered but not yet settled. Those answers do not wait for the
 * write, so nothing else would stop a client from queueing without bound behind a slow or
 * missing leader: past the bound, the next acks=NONE write waits (and with it its request's
 * answer, which holds the stream's slot and so its reading) until earlier ones settle.
 */
class NoAckBudget {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly bytesMax: number) {}

  async reserve(bytes: number): Promise<void> {
    // A write larger than the whole budget still goes, alone.
    while (this.used > 0 && this.used + bytes > this.bytesMax) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of this.waiters.splice(0, this.waiters.length)) wake();
  }
}

export class ProduceHandler {
  private readonly noAck = new NoAckBudget(noAckBytesMax);

  constructor(private readonly options: ProduceHandlerOptions) {}

  /**
   * Validates the request and queues its writes, in entry order. Throws StarlaneError for a
   * request-level failure. Callers that need ordering across requests (a stream) call this for
   * one request after the previous call's promise settled.
   */
  async queue(input: ProduceInput): Promise<QueuedProduce> {
    validateProduceRequest(input);
    const { now } = this.options;
    const timeoutMs = Math.min(input.timeoutMs === 0 ? produceTimeoutMsDefault : input.timeoutMs, produceTimeoutMsMax);
    const deadlineMs = now() + timeoutMs;
    const acks = input.acks === v1.Acks.UNSPECIFIED ? v1.Acks.ALL : (input.acks as v1.Acks);

    let totalBytes = 0;
    for (const entry of input.partitions) totalBytes += payloadBytes(entry);
    if (totalBytes > this.options.requestBytesMax) {
      const error = new StarlaneError('MESSAGE_TOO_LARGE', `the request carries ${totalBytes} payload bytes; the gateway accepts at most ${this.options.requestBytesMax}`);
      return { results: Promise.resolve(input.partitions.map((entry) => errorResult(entry, error))) };
    }

    if (!this.options.metadata.ready) {
      const error = noMetadataError(this.options.metadata);
      return { results: Promise.resolve(input.partitions.map((entry) => errorResult(entry, error))) };
    }
    await this.autoCreate(input.partitions, deadlineMs);
    const image = this.options.metadata.current();
    const plans = input.partitions.map((entry) => this.plan(image, entry));
    const results: Promise<v1.ProducePartitionResult>[] = [];
    for (const plan of plans) {
      if (plan.kind === 'failed') {
        results.push(Promise.resolve(plan.result));
        continue;
      }
      let data: Buffer;
      try {
        data = await plan.data;
      } catch (error) {
        results.push(Promise.resolve(rejectedResult(plan, error)));
        continue;
      }
      if (acks === v1.Acks.NONE) {
        await this.noAck.reserve(data.length);
        const written = this.options.writer.write({ topic: plan.topic, partition: plan.partition, recordBatches: data, acks, deadlineMs });
        const bytes = data.length;
        void written.finally(() => this.noAck.release(bytes)).catch(() => undefined);
        results.push(written);
        continue;
      }
      results.push(this.options.writer.write({ topic: plan.topic, partition: plan.partition, recordBatches: data, acks, deadlineMs }));
    }
    if (acks === v1.Acks.NONE) {
      // Answered once validated and queued: offsets unknown, write errors not reported.
      const answered = await Promise.all(plans.map((plan, index) => (plan.kind === 'failed' ? results[index]! : Promise.resolve(noAckResult(plan)))));
      return { results: Promise.resolve(answered) };
    }
    return { results: Promise.all(results) };
  }

  private async autoCreate(entries: readonly v1.ProducePartitionData[], deadlineMs: number): Promise<void> {
    const creator = this.options.autoCreator;
    if (creator === undefined) return;
    const image = this.options.metadata.current();
    const missing = new Set<string>();
    for (const entry of entries) {
      if (image.topics.has(entry.topic) || !isValidTopicName(entry.topic)) continue;
      missing.add(entry.topic);
    }
    // A failed creation leaves the topics unknown: their entries fail UNKNOWN_TOPIC_OR_PARTITION below.
    if (missing.size > 0) await creator.ensure([...missing], deadlineMs).catch(() => undefined);
  }

  private plan(image: MetadataImage, entry: v1.ProducePartitionData): EntryPlan {
    try {
      return this.planOrThrow(image, entry);
    } catch (error) {
      return { kind: 'failed', result: rejectedResult(entry, error) };
    }
  }

  private planOrThrow(image: MetadataImage, entry: v1.ProducePartitionData): EntryPlan {
    validateTopicName(entry.topic);
    const payload = entry.payload;
    if (payload === undefined) throw new StarlaneError('INVALID_REQUEST', 'the entry has neither record_batches nor records');
    if (payload.$case === 'recordBatches' && payload.value.length === 0) throw new StarlaneError('INVALID_REQUEST', 'record_batches is empty');
    if (payload.$case === 'records' && payload.value.records.length === 0) throw new StarlaneError('INVALID_REQUEST', 'records is empty');
    if (entry.partition < -1) throw new StarlaneError('INVALID_REQUEST', `partition ${entry.partition} is neither an index nor -1`);
    if (entry.partition === -1) {
      if (payload.$case === 'recordBatches') throw new StarlaneError('INVALID_REQUEST', 'partition -1 needs a records payload (the gateway does not parse record batches)');
      if (payload.value.producer !== undefined) throw new StarlaneError('INVALID_REQUEST', 'partition -1 cannot be used with an idempotent producer (sequence numbers are per partition)');
    }
    const topic = image.topics.get(entry.topic);
    if (topic === undefined) throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${entry.topic} does not exist`);
    const partitionCount = topic.partitions.length;
    if (partitionCount === 0) throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${entry.topic} has no partitions`);
    let partition = entry.partition;
    if (partition === -1 && payload.$case === 'records') {
      const key = sharedKey(payload.value.records);
      if (key === undefined) throw new StarlaneError('INVALID_REQUEST', 'partition -1 needs records that all share one key (or all have null keys); send one entry per key');
      if (key !== null) {
        partition = partitionForKey(key, partitionCount);
      } else {
        const available = topic.partitions.filter((state) => state.leader !== noLeader && image.nodes.get(state.leader)?.state === 'active').map((state) => state.partition);
        partition = this.options.partitioner.next(entry.topic, partitionCount, available);
      }
    }
    if (partition >= partitionCount) throw new StarlaneError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${entry.topic} has ${partitionCount} partitions, no partition ${partition}`);
    if (payload.$case === 'recordBatches') return { kind: 'write', topic: entry.topic, partition, data: payload.value };
    validateProducerIdentity(payload.value);
    const data = recordsToBatch(payload.value, {
      compression: compressionForTopic(effectiveConfig(image, topic, 'compression.type')),
      nowMs: this.options.now(),
      compacted: isCompacted(effectiveConfig(image, topic, 'cleanup.policy')),
      maxMessageBytes: maxMessageBytes(effectiveConfig(image, topic, 'max.message.bytes')),
    });
    // Awaited in entry order later; a rejection meanwhile must not count as unhandled.
    data.catch(() => undefined);
    return { kind: 'write', topic: entry.topic, partition, data };
  }
}

function payloadBytes(entry: v1.ProducePartitionData): number {
  const payload = entry.payload;
  if (payload === undefined) return 0;
  if (payload.$case === 'recordBatches') return payload.value.length;
  let bytes = 0;
  for (const record of payload.value.records) {
    bytes += (record.nullableKey?.value.length ?? 0) + (record.nullableValue?.value.length ?? 0);
    for (const header of record.headers) bytes += header.key.length + (header.nullableValue?.value.length ?? 0);
  }
  return bytes;
}

function isValidTopicName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

function rejectedResult(at: { topic: string; partition: number }, error: unknown): v1.ProducePartitionResult {
  const starlane = asStarlaneError(error);
  const result = errorResult(at, starlane);
  if (error instanceof RecordsRejected) return { ...result, recordErrors: error.recordErrors.map((recordError) => ({ ...recordError })) };
  return result;
}

function noAckResult(plan: { topic: string; partition: number }): v1.ProducePartitionResult {
  return {
    topic: plan.topic,
    partition: plan.partition,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorCode: v1.ErrorCode.NONE,
    errorMessage: '',
  };
}
