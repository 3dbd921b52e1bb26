/**
 * The `e2e` suite: produce throughput and produce-to-consume latency through a real cluster
 * (controller, one storage node, gateway as separate processes from the built bundles),
 * against the raw write bandwidth of the same disk measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { buildBatch, scanBatches } from '@starlane/record-batch';
import { startCluster, type TestCluster } from '@starlane/launcher';
import { RunError } from './errors';
import { kibibyte, listRounds, mebibyte, median, megabytesPerSecond, nowMs, secondsSince } from './measure';
import { pairedRounds, pairedWithRawWrites } from './raw-io';
import type { Figure, Suite, SuiteContext, SuiteResult } from './suite';

const recordBytes = kibibyte;
/** Records per produced batch in the throughput phase ("batched", as a Kafka producer's linger would). */
const throughputBatchRecords = 256;
/** Unanswered produce requests the client keeps on its stream. */
const produceInflightMax = 32;
/**
 * Records per batch in the latency phase: a producer that sends as records come (a short
 * linger), so one batch is one latency sample. Its own maximum rate is measured first and the
 * latency is taken at half of it.
 */
const latencyBatchRecords = 16;
/** Seconds of the latency schedule run before samples count (JIT, connection and buffer warm-up). */
const latencyWarmupSeconds = 2;
const topic = 'bench';

export const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * mebibyte,
  'grpc.max_send_message_length': 64 * mebibyte,
  'grpc-node.flow_control_window': 16 * mebibyte,
};

interface Sizes {
  readonly rawBytes: number;
  readonly produceBytes: number;
  readonly latencySeconds: number;
  readonly latencyProbeBytes: number;
}

function sizesFor(scale: number): Sizes {
  return { rawBytes: Math.max(16 * mebibyte, Math.round(1024 * mebibyte * scale)), produceBytes: Math.max(16 * mebibyte, Math.round(512 * mebibyte * scale)), latencySeconds: Math.max(2, 10 * scale), latencyProbeBytes: Math.max(8 * mebibyte, Math.round(256 * mebibyte * scale)) };
}

export async function batchOf(records: number, valueFor: (index: number) => Buffer): Promise<Buffer> {
  const timestamp = BigInt(Date.now());
  return buildBatch(Array.from({ length: records }, (_, index) => ({ key: null, value: valueFor(index), timestamp })));
}

/** A request on the bench's produce streams: one partition, one payload of batches. */
interface ProduceFrame {
  readonly topic: string;
  readonly requestId: bigint;
  readonly acks: v1.Acks;
  readonly batch: Buffer;
}

function produceRequest(requestId: bigint, acks: v1.Acks, batch: Buffer, toTopic = topic): ProduceFrame {
  return { topic: toTopic, requestId, acks, batch };
}

function varint(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return bytes;
}

/**
 * Encodes a starlane.v1.ProduceStreamRequest by hand with one copy of the batch bytes (the
 * generated encoder grows a writer in chunks and copies twice), as an efficient client in
 * any language would; `encoding.test.ts` checks it against the generated decoder.
 */
export function encodeProduceFrame(frame: ProduceFrame): Buffer {
  const topicBytes = Buffer.from(frame.topic);
  // ProducePartitionData: 1 topic, 2 partition (0 is the default, omitted), 3 record_batches.
  const partitionHead = [0x0a, ...varint(BigInt(topicBytes.length)), ...topicBytes, 0x1a, ...varint(BigInt(frame.batch.length))];
  const partitionLength = partitionHead.length + frame.batch.length;
  // ProduceStreamRequest: 1 request_id, 2 acks, 3 timeout_ms, 4 partitions.
  const head = Buffer.from([0x08, ...varint(frame.requestId), 0x10, ...varint(BigInt(frame.acks)), 0x18, ...varint(30_000n), 0x22, ...varint(BigInt(partitionLength)), ...partitionHead]);
  return Buffer.concat([head, frame.batch], head.length + frame.batch.length);
}

/** A ProduceStream call that sends hand-encoded frames and decodes responses with the generated codec. */
function openProduceStream(producer: v1.ProducerServiceClient): grpc.ClientDuplexStream<ProduceFrame, v1.ProduceStreamResponse> {
  return producer.makeBidiStreamRequest('/starlane.v1.ProducerService/ProduceStream', encodeProduceFrame, (bytes: Buffer) => v1.ProduceStreamResponse.decode(bytes));
}

/** Sends `count` batches (cycling through `batches`) over one ProduceStream with `produceInflightMax` in flight; resolves with the seconds taken. */
export async function produceThroughput(producer: v1.ProducerServiceClient, batches: readonly Buffer[], count: number, target: { topic: string; acks: v1.Acks } = { topic, acks: v1.Acks.LEADER }): Promise<number> {
  const stream = openProduceStream(producer);
  let sent = 0;
  let answered = 0;
  const startMs = nowMs();
  await new Promise<void>((resolve, reject) => {
    const sendMore = (): void => {
      while (sent < count && sent - answered < produceInflightMax) {
        sent += 1;
        stream.write(produceRequest(BigInt(sent), target.acks, batches[sent % batches.length]!, target.topic));
      }
    };
    stream.on('data', (response: v1.ProduceStreamResponse) => {
      const failure = response.errorCode !== v1.ErrorCode.NONE ? response : response.partitions.find((partition) => partition.errorCode !== v1.ErrorCode.NONE);
      if (failure !== undefined) return reject(new RunError(`produce failed: ${failure.errorCode} ${failure.errorMessage}`));
      answered += 1;
      if (answered === count) resolve();
      else sendMore();
    });
    stream.on('error', reject);
    sendMore();
  });
  const seconds = secondsSince(startMs);
  stream.end();
  return seconds;
}

/** A Subscribe stream on the bench partition that notes when each batch at or after `startOffset` arrives. */
interface Arrivals {
  /** Arrival times (ms, monotonic) of the batches received so far, in offset order. */
  readonly times: number[];
  /** Resolves once `count` batches have arrived; rejects if the subscription fails. */
  readonly received: Promise<void>;
  cancel(): void;
}

function recordArrivals(consumer: v1.ConsumerServiceClient, startOffset: bigint, count: number): Arrivals {
  const times: number[] = [];
  const subscription = consumer.subscribe({
    partitions: [{ topic, partition: 0, start: { spec: { $case: 'offset', value: startOffset } } }],
    maxBytesPerMessage: 0,
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    format: v1.RecordFormat.BYTES,
  });
  const received = new Promise<void>((resolve, reject) => {
    subscription.on('data', (message: v1.SubscribeResponse) => {
      const at = nowMs();
      for (const partition of message.partitions) {
        if (partition.errorCode !== v1.ErrorCode.NONE) return reject(new RunError(`subscription failed: ${partition.errorCode} ${partition.errorMessage}`));
        if (partition.payload?.$case !== 'recordBatches') continue;
        const { batches } = scanBatches(partition.payload.value, { batchBytesMax: 64 * mebibyte });
        for (const slice of batches) if (slice.header.baseOffset >= startOffset) times.push(at);
      }
      if (times.length >= count) resolve();
    });
    subscription.on('error', (error: grpc.ServiceError) => {
      if (error.code !== grpc.status.CANCELLED) reject(error);
    });
  });
  received.catch(() => undefined);
  return { times, received, cancel: () => subscription.cancel() };
}

/** Lets a new subscription reach its start position before the clock starts. */
const subscriptionSettleMs = 500;

/**
 * The end-to-end maximum of the latency workload: `count` copies of `batch` produced flat out
 * (`produceInflightMax` in flight) while a subscriber on the same partition receives them;
 * the rate counts from the first send to the last arrival, so the consumer has to keep up.
 */
async function endToEndMaximum(clients: { producer: v1.ProducerServiceClient; consumer: v1.ConsumerServiceClient }, batch: Buffer, startOffset: bigint, count: number): Promise<number> {
  const arrivals = recordArrivals(clients.consumer, startOffset, count);
  await new Promise((resolve) => setTimeout(resolve, subscriptionSettleMs));
  const startMs = nowMs();
  try {
    await produceThroughput(clients.producer, [batch], count);
    await arrivals.received;
  } finally {
    arrivals.cancel();
  }
  return megabytesPerSecond(count * batch.length, secondsSince(startMs));
}

/**
 * Produces `batch` at `bytesPerSecond` while a Subscribe stream on the same partition receives
 * it; each batch's latency runs from just before its produce call to the moment its bytes
 * arrive at the subscriber. One partition and one producer stream keep batches in order, so
 * the n-th batch received is the n-th sent. Batches sent during the first `warmupSeconds`
 * are delivered but not counted.
 */
async function measureLatency(
  clients: { producer: v1.ProducerServiceClient; consumer: v1.ConsumerServiceClient },
  batch: Buffer,
  startOffset: bigint,
  bytesPerSecond: number,
  schedule: { warmupSeconds: number; seconds: number },
): Promise<number[]> {
  const intervalMs = (batch.length / bytesPerSecond) * 1000;
  const warmupCount = Math.floor((schedule.warmupSeconds * 1000) / intervalMs);
  const count = warmupCount + Math.max(50, Math.floor((schedule.seconds * 1000) / intervalMs));
  const sentAt: number[] = [];
  const arrivals = recordArrivals(clients.consumer, startOffset, count);
  await new Promise((resolve) => setTimeout(resolve, subscriptionSettleMs));
  const stream = openProduceStream(clients.producer);
  stream.on('data', (response: v1.ProduceStreamResponse) => {
    const failure = response.partitions.find((partition) => partition.errorCode !== v1.ErrorCode.NONE);
    if (failure !== undefined) stream.emit('error', new RunError(`produce failed: ${failure.errorCode} ${failure.errorMessage}`));
  });
  const produced = new Promise<void>((_, reject) => stream.on('error', reject));
  produced.catch(() => undefined);
  try {
    const startMs = nowMs();
    for (let index = 0; index < count; index += 1) {
      const due = startMs + index * intervalMs;
      const wait = due - nowMs();
      if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, Math.floor(wait)));
      sentAt.push(nowMs());
      stream.write(produceRequest(BigInt(index + 1), v1.Acks.LEADER, batch));
    }
    await Promise.race([arrivals.received, produced]);
  } finally {
    stream.end();
    arrivals.cancel();
  }
  if (arrivals.times.length > sentAt.length) throw new RunError('the subscriber received more batches than were sent');
  return arrivals.times.slice(warmupCount, count).map((at, index) => at - (sentAt[warmupCount + index] as number));
}

/** Creates a one-partition topic with `replicationFactor` replicas and `configs`; throws on any error. */
export async function createTopic(admin: v1.AdminServiceClient, name: string, replicationFactor: number, configs: Record<string, string>): Promise<void> {
  const created = await new Promise<v1.CreateTopicsResponse>((resolve, reject) =>
    admin.createTopics({ topics: [{ name, partitionCount: 1, replicationFactor, replicaAssignments: [], configs }], validateOnly: false, timeoutMs: 10_000 }, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
  const result = created.results[0];
  if (result?.errorCode !== v1.ErrorCode.NONE) throw new RunError(`create topic ${name}: ${result?.errorCode} ${result?.errorMessage}`);
}

/** The latest offset of the bench partition (where a subscription to what comes next starts). */
async function latestOffset(admin: v1.AdminServiceClient): Promise<bigint> {
  const offsets = await new Promise<v1.ListOffsetsResponse>((resolve, reject) =>
    admin.listOffsets(
      { isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED, partitions: [{ topic, partition: 0, spec: { spec: { $case: 'boundary', value: v1.OffsetBoundary.LATEST } } }] },
      (error, response) => (error ? reject(error) : resolve(response)),
    ),
  );
  const end = offsets.partitions[0];
  if (end === undefined || end.errorCode !== v1.ErrorCode.NONE) throw new RunError(`list offsets: ${end?.errorCode} ${end?.errorMessage}`);
  return end.offset;
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

async function runE2eSuite(context: SuiteContext): Promise<SuiteResult> {
  const sizes = sizesFor(context.scale);
  context.progress('starting a cluster: controller, 1 storage node, gateway');
  const cluster: TestCluster = await startCluster({ storageNodes: 1, dataDir: join(context.scratchDirectory, 'cluster') });
  const credentials = grpc.credentials.createInsecure();
  const admin = new v1.AdminServiceClient(cluster.gatewayAddress, credentials, channelOptions);
  const producer = new v1.ProducerServiceClient(cluster.gatewayAddress, credentials, channelOptions);
  const consumer = new v1.ConsumerServiceClient(cluster.gatewayAddress, credentials, channelOptions);
  try {
    await createTopic(admin, topic, 1, { 'segment.bytes': String(256 * mebibyte) });
    await cluster.waitForLeaders(topic);

    const batches = await Promise.all(Array.from({ length: 4 }, () => batchOf(throughputBatchRecords, () => randomBytes(recordBytes))));
    const recordsPerBatch = throughputBatchRecords;
    const batchCount = Math.ceil(sizes.produceBytes / (recordsPerBatch * recordBytes));
    context.progress(`warm-up: ${Math.min(64, batchCount)} batches`);
    await produceThroughput(producer, batches, Math.min(64, batchCount));
    const recordPayloadBytes = batchCount * recordsPerBatch * recordBytes;
    context.progress(
      `produce: ${pairedRounds} rounds of ${batchCount} batches of ${recordsPerBatch} × ${recordBytes} B records (acks=leader, ${produceInflightMax} in flight), each next to a raw write of ${sizes.rawBytes / mebibyte} MiB`,
    );
    const paired = await pairedWithRawWrites(
      context.scratchDirectory,
      sizes.rawBytes,
      async () => megabytesPerSecond(recordPayloadBytes, await produceThroughput(producer, batches, batchCount)),
      (round, rawMBps, produced) =>
        context.progress(`round ${round + 1}/${pairedRounds}: produce ${produced.toFixed(1)} MB/s, raw write ${rawMBps.toFixed(1)} MB/s, ratio ${(produced / rawMBps).toFixed(2)}`),
    );
    const produceMBps = median(paired.measured);
    const rawMBps = median(paired.rawMBps);
    const produceRatios = paired.measured.map((produced, round) => produced / (paired.rawMBps[round] as number));

    const latencyBatch = await batchOf(latencyBatchRecords, () => randomBytes(recordBytes));
    const probeCount = Math.ceil(sizes.latencyProbeBytes / latencyBatch.length);
    context.progress(`latency workload maximum: ${probeCount} batches of ${latencyBatchRecords} × ${recordBytes} B records, ${produceInflightMax} in flight, to a subscriber`);
    const latencyMaxMBps = await endToEndMaximum({ producer, consumer }, latencyBatch, await latestOffset(admin), probeCount);
    const halfRate = (latencyMaxMBps * 1_000_000) / 2;
    context.progress(`latency: those batches at ${(halfRate / 1_000_000).toFixed(1)} MB/s (half their maximum) for ${latencyWarmupSeconds} + ${sizes.latencySeconds} s`);
    const latencies = await measureLatency({ producer, consumer }, latencyBatch, await latestOffset(admin), halfRate, {
      warmupSeconds: latencyWarmupSeconds,
      seconds: sizes.latencySeconds,
    });

    const figures: Figure[] = [
      { name: 'produceRatio', value: median(produceRatios), digits: 2, description: 'produce throughput over raw fs write bandwidth', goal: { comparison: 'atLeast', value: 0.4 } },
      { name: 'e2eLatencyMsP50', value: percentile(latencies, 0.5), digits: 2, description: 'produce call to subscriber, median (ms)', goal: { comparison: 'atMost', value: 5 } },
      { name: 'e2eLatencyMsP99', value: percentile(latencies, 0.99), digits: 2, description: 'produce call to subscriber, 99th percentile (ms)', goal: { comparison: 'atMost', value: 20 } },
      { name: 'produceMBps', value: produceMBps, digits: 1, description: 'record bytes produced per second (MB/s)' },
      { name: 'rawWriteMBps', value: rawMBps, digits: 1, description: 'raw fs sequential write, fdatasync at the end (MB/s)' },
      { name: 'latencyWorkloadMaxMBps', value: latencyMaxMBps, digits: 1, description: `end-to-end rate of ${latencyBatchRecords}-record batches to a subscriber, maximum (MB/s)` },
    ];
    const details = {
      produceRatioRounds: listRounds(produceRatios, 2),
      rawWriteMBpsRounds: listRounds(paired.rawMBps, 0),
      latencySamples: latencies.length,
      latencyMsMax: Math.round(Math.max(...latencies) * 100) / 100,
    };
    const method =
      `One run, one machine: a controller, one storage node and a gateway start as separate processes from the built bundles, and this process acts as the client over loopback gRPC. ` +
      `Throughput (${pairedRounds} rounds, each next to a raw write of ${sizes.rawBytes / mebibyte} MiB with plain fs in 1 MiB writes and one fdatasync at the end, alternating which goes first; ` +
      `MB/s figures are medians over rounds and produceRatio is the median of the per-round ratios, listed above in run order, since this machine's raw write rate swings by several times: one that runs while earlier writes are still being flushed (right after a produce measurement) ran near 300 MB/s, one on a clean disk near 1,200; each round's raw file is kept until the rounds are done, as the logs keep theirs, because a file written where a deleted one just was reuses its blocks, which this disk took about three times faster than new space): ${batchCount} RecordBatch v2 batches of ${recordsPerBatch} uncompressed ${recordBytes}-byte records (built once, cycled) sent on one ProduceStream to a one-partition topic, ` +
      `acks=leader, ${produceInflightMax} requests in flight, after an unmeasured warm-up; the figure counts record value bytes only. ` +
      `The client encodes its requests with one copy of the batch bytes (a hand-written encoder checked against the generated decoder), as an efficient client would, and runs with the same memory settings as the cluster's processes (docs/operations.md, "Memory"). ` +
      `The storage node writes to the same disk as the raw measurement; acks=leader answers once the leader has appended (page cache, as Kafka's default flush policy). ` +
      `All three processes and the client share the machine's cores. ` +
      `Latency: a producer sending ${latencyBatchRecords}-record batches (${latencyBatch.length} bytes, as with a short linger) first runs flat out (${produceInflightMax} in flight) while a Subscribe stream on the partition receives the batches, to find that workload's end-to-end maximum (bytes over the time from the first send to the last arrival, so the consumer must keep up, as a latency test's maximum rate is usually found); ` +
      `then it sends them on a schedule at half that rate while a Subscribe stream (BYTES) on the same partition receives them: ${latencyWarmupSeconds} s of warm-up, then ${sizes.latencySeconds} s of samples. ` +
      `Each sample (one batch) runs from just before its produce call to the arrival of that batch at the subscriber, both in this process.`;
    return { suite: 'e2e', figures, details, method };
  } finally {
    admin.close();
    producer.close();
    consumer.close();
    await cluster.stop();
  }
}

export const e2eSuite: Suite = {
  name: 'e2e',
  summary: 'produce throughput (client → gateway → storage node) and produce-to-subscriber latency against raw fs writes',
  run: runE2eSuite,
};
